//! Kyverno release lines: groups of releases whose podSecurity behaviour and denial text
//! are the same for this harness.

use std::fmt;
use std::str::FromStr;

/// A line of Kyverno releases with one message format and one evaluation behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KyvernoLine {
    /// v1.10.0 to v1.11.x: `({Allowed:false ForbiddenReason:... ForbiddenDetail:...})\n` per
    /// check (a yaml.v2 literal block in the denial), skipped rules listed in denials,
    /// every versioned check entry up to a pinned version evaluated, a control excluded as
    /// a whole when its probe pod fails, and all autogen rules computed at once.
    V1_10,
    /// v1.12.0 to v1.18.x: `(Forbidden reason: ..., field error list: [...])`, the denial
    /// YAML single-quoted and folded at 80 columns by yaml.v2, field-level exclusions and
    /// one check entry per control (v1.13 behaviour), rules computed per request kind.
    V1_12,
    /// v1.19.0 and later: as [`KyvernoLine::V1_12`] but the denial YAML comes from yaml v3,
    /// which does not fold, and autogen kinds are group/version qualified.
    V1_19,
}

impl KyvernoLine {
    pub const ALL: [KyvernoLine; 3] = [KyvernoLine::V1_10, KyvernoLine::V1_12, KyvernoLine::V1_19];

    /// The profile-style name, e.g. `v1.12`.
    pub fn as_str(self) -> &'static str {
        match self {
            KyvernoLine::V1_10 => "v1.10",
            KyvernoLine::V1_12 => "v1.12",
            KyvernoLine::V1_19 => "v1.19",
        }
    }

    /// The releases the line stands for, for reports.
    pub fn releases(self) -> &'static str {
        match self {
            KyvernoLine::V1_10 => "v1.10.0-v1.11.x",
            KyvernoLine::V1_12 => "v1.12.0-v1.18.x",
            KyvernoLine::V1_19 => "v1.19.0+",
        }
    }

    /// The line a release such as `v1.16.2` or `1.19.0` belongs to; `None` before v1.10
    /// (whose envelope this crate does not model) or for text that is not a 1.x release.
    pub fn for_release(release: &str) -> Option<KyvernoLine> {
        let rest = release
            .strip_prefix('v')
            .unwrap_or(release)
            .strip_prefix("1.")?;
        let minor: u32 = rest.split(['.', '-']).next()?.parse().ok()?;
        match minor {
            0..=9 => None,
            10 | 11 => Some(KyvernoLine::V1_10),
            12..=18 => Some(KyvernoLine::V1_12),
            _ => Some(KyvernoLine::V1_19),
        }
    }

    /// Before v1.12 checks printed Go's `%+v` of the upstream `CheckResult`.
    pub(crate) fn legacy_check_format(self) -> bool {
        self == KyvernoLine::V1_10
    }

    /// yaml.v2 folds long scalars at 80 columns; yaml v3 (v1.19+) does not.
    pub(crate) fn folds_yaml(self) -> bool {
        self != KyvernoLine::V1_19
    }

    /// Through v1.11 the denial listed every non-pass rule, skipped ones included.
    pub(crate) fn lists_skipped_rules(self) -> bool {
        self == KyvernoLine::V1_10
    }

    /// From v1.13 the engine asks for the rules of the request kind only.
    pub(crate) fn rules_per_request_kind(self) -> bool {
        self != KyvernoLine::V1_10
    }

    /// From v1.18 generated match kinds read `apps/v1/Deployment` instead of `Deployment`.
    pub(crate) fn qualified_autogen_kinds(self) -> bool {
        self == KyvernoLine::V1_19
    }

    /// Before v1.12: no field errors, whole-control exclusions, every entry up to a pinned
    /// version evaluated.
    pub(crate) fn legacy_evaluation(self) -> bool {
        self == KyvernoLine::V1_10
    }

    /// The `validate.podSecurity.version` enum of the line's newest release's CRD.
    pub(crate) fn version_enum(self) -> &'static [&'static str] {
        const ALL: [&str; 15] = [
            "v1.19", "v1.20", "v1.21", "v1.22", "v1.23", "v1.24", "v1.25", "v1.26", "v1.27",
            "v1.28", "v1.29", "v1.30", "v1.31", "v1.32", "latest",
        ];
        const TO_1_26: [&str; 9] = [
            "v1.19", "v1.20", "v1.21", "v1.22", "v1.23", "v1.24", "v1.25", "v1.26", "latest",
        ];
        match self {
            KyvernoLine::V1_10 => &TO_1_26,
            KyvernoLine::V1_12 | KyvernoLine::V1_19 => &ALL,
        }
    }
}

impl fmt::Display for KyvernoLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A line name that is not `v1.10`, `v1.12` or `v1.19`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown Kyverno line {0:?}; expected one of v1.10, v1.12, v1.19 (or a release such as v1.16.2)"
)]
pub struct UnknownLine(pub String);

impl FromStr for KyvernoLine {
    type Err = UnknownLine;

    /// Accepts a line name (`v1.12`) or any release of the line (`v1.16.2`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KyvernoLine::for_release(s).ok_or_else(|| UnknownLine(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("v1.10", Some(KyvernoLine::V1_10))]
    #[case("v1.11.4", Some(KyvernoLine::V1_10))]
    #[case("1.12.0", Some(KyvernoLine::V1_12))]
    #[case("v1.18.1", Some(KyvernoLine::V1_12))]
    #[case("v1.19.0", Some(KyvernoLine::V1_19))]
    #[case("v1.20.0-rc.1", Some(KyvernoLine::V1_19))]
    #[case("v1.9.5", None)]
    #[case("v2.0", None)]
    #[case("latest", None)]
    fn maps_releases_to_lines(#[case] release: &str, #[case] want: Option<KyvernoLine>) {
        assert_eq!(KyvernoLine::for_release(release), want);
    }

    #[test]
    fn names_round_trip() {
        for line in KyvernoLine::ALL {
            assert_eq!(line.as_str().parse::<KyvernoLine>(), Ok(line));
        }
        assert!("v3".parse::<KyvernoLine>().is_err());
    }
}
