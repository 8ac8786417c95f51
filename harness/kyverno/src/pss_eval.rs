//! Running the Pod Security checks the way Kyverno does (pkg/pss/evaluate.go), not the way
//! PSA does: every check in file-name order, `baseline` filtering out restricted checks,
//! any other level (privileged included) running them all, and Kyverno's own choice of
//! versioned entry. The fork behind Kyverno is the PSA 1.34 state, so entries newer than
//! 1.34 are ignored.

use pss::checks::CheckEntry;
use pss::{CheckId, CheckOptions, Forbidden, Level};

use crate::controls::CHECK_ORDER;
use crate::line::KyvernoLine;
use crate::pod_extract::PodView;

/// The PSA minor whose checks Kyverno's fork carries (release-1.34).
pub const KYVERNO_PSA_MINOR: u32 = 34;

/// A parsed `podSecurity.version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestedVersion {
    Latest,
    Minor(u64),
}

impl RequestedVersion {
    /// Kyverno's `ParseVersion`: empty or `latest` is latest; anything else goes through
    /// PSA's parser, whose error text the rule error repeats.
    pub fn parse(raw: &str) -> Result<RequestedVersion, String> {
        if raw.is_empty() || raw == "latest" {
            return Ok(RequestedVersion::Latest);
        }
        match raw.parse::<pss::Version>() {
            Ok(pss::Version::V1(minor)) => Ok(RequestedVersion::Minor(minor)),
            Ok(pss::Version::Latest) => Ok(RequestedVersion::Latest),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// One failing check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    pub id: CheckId,
    pub forbidden: Forbidden,
}

/// What to evaluate: only baseline checks, or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    pub baseline_only: bool,
    pub version: RequestedVersion,
}

impl Selection {
    pub fn new(level: &str, version: RequestedVersion) -> Self {
        Selection {
            baseline_only: level == "baseline",
            version,
        }
    }
}

/// The failing checks of `pod`, in Kyverno's order (with field errors).
pub fn evaluate(selection: Selection, pod: &PodView, line: KyvernoLine) -> Vec<CheckResult> {
    let opts = CheckOptions { field_errors: true };
    let mut out = Vec::new();
    for id in CHECK_ORDER {
        if selection.baseline_only && id.level() != Level::Baseline {
            continue;
        }
        for entry in entries(id, selection.version, line) {
            if let Some(forbidden) = (entry.check)(&pod.meta, &pod.spec, opts) {
                out.push(CheckResult { id, forbidden });
            }
        }
    }
    out
}

/// The entries Kyverno runs for one check. v1.13+: one entry, starting from the oldest and
/// moving to a newer one only when it is not newer than the request, so a check not yet
/// defined at a pinned version still runs its first entry. Before v1.12 with a pinned
/// version: every entry up to it (so a failure can repeat), none if the check is newer.
fn entries(id: CheckId, version: RequestedVersion, line: KyvernoLine) -> Vec<&'static CheckEntry> {
    let known: Vec<&'static CheckEntry> = id
        .entries()
        .iter()
        .filter(|e| e.min_minor <= KYVERNO_PSA_MINOR)
        .collect();
    let requested = match version {
        RequestedVersion::Latest => u64::MAX,
        RequestedVersion::Minor(m) => m,
    };
    if line.legacy_evaluation() {
        return match version {
            RequestedVersion::Latest => known.last().copied().into_iter().collect(),
            RequestedVersion::Minor(_) => known
                .into_iter()
                .filter(|e| u64::from(e.min_minor) <= requested)
                .collect(),
        };
    }
    let Some(mut pick) = known.first().copied() else {
        return Vec::new();
    };
    for e in known.iter().skip(1) {
        if u64::from(e.min_minor) <= requested && e.min_minor > pick.min_minor {
            pick = e;
        }
    }
    vec![pick]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(spec: serde_json::Value) -> PodView {
        PodView {
            meta: Default::default(),
            spec: serde_json::from_value(spec).unwrap(),
        }
    }

    #[test]
    fn parses_versions_like_kyverno() {
        assert_eq!(RequestedVersion::parse(""), Ok(RequestedVersion::Latest));
        assert_eq!(
            RequestedVersion::parse("latest"),
            Ok(RequestedVersion::Latest)
        );
        assert_eq!(
            RequestedVersion::parse("v1.24"),
            Ok(RequestedVersion::Minor(24))
        );
        assert_eq!(
            RequestedVersion::parse("1.24"),
            Err("must be \"latest\" or \"v1.x\"".to_owned())
        );
    }

    #[test]
    fn privileged_container_fails_the_privileged_check_with_field_errors() {
        let p =
            pod(json!({"containers": [{"name": "c", "securityContext": {"privileged": true}}]}));
        let results = evaluate(
            Selection::new("baseline", RequestedVersion::Latest),
            &p,
            KyvernoLine::V1_19,
        );
        let privileged: Vec<_> = results
            .iter()
            .filter(|r| r.id == CheckId::Privileged)
            .collect();
        assert_eq!(privileged.len(), 1);
        assert_eq!(privileged[0].forbidden.reason, "privileged");
        assert_eq!(
            privileged[0].forbidden.field_errors[0].path,
            "spec.containers[0].securityContext.privileged"
        );
    }

    #[test]
    fn baseline_skips_restricted_checks_and_other_levels_run_everything() {
        let ran = |level: &str| {
            let mut ids = Vec::new();
            for id in CHECK_ORDER {
                if Selection::new(level, RequestedVersion::Latest).baseline_only
                    && id.level() != Level::Baseline
                {
                    continue;
                }
                ids.push(id);
            }
            ids
        };
        assert_eq!(ran("baseline").len(), 12);
        assert_eq!(ran("privileged").len(), 18);
        assert_eq!(ran("restricted").len(), 18);
        assert_eq!(ran("").len(), 18);
    }

    #[test]
    fn entry_choice_per_line() {
        // A check with entries at 0 and later: v1.13+ picks one entry; the legacy line
        // runs every entry up to a pinned version.
        let id = CheckId::Privileged;
        assert_eq!(
            entries(id, RequestedVersion::Minor(5), KyvernoLine::V1_19).len(),
            1
        );
        assert_eq!(
            entries(id, RequestedVersion::Latest, KyvernoLine::V1_10).len(),
            1
        );
        for id in CHECK_ORDER {
            assert_eq!(
                entries(id, RequestedVersion::Minor(0), KyvernoLine::V1_12).len(),
                1,
                "{id} always runs one entry"
            );
            let legacy = entries(id, RequestedVersion::Minor(34), KyvernoLine::V1_10).len();
            let known = id
                .entries()
                .iter()
                .filter(|e| e.min_minor <= KYVERNO_PSA_MINOR)
                .count();
            assert_eq!(legacy, known, "{id}");
        }
    }
}
