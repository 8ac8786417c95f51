//! Selecting the checks for a level and version and running them (upstream
//! `policy.Evaluator`), and aggregating their results into PSA's detail string.

use std::sync::LazyLock;

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::checks::{CheckFn, CheckId};
use crate::level::Level;
use crate::result::{CheckOptions, Forbidden};
use crate::version::{NEWEST_MINOR, Version};

/// The checks active at one level and minor, in evaluation order.
type ActiveChecks = Vec<(CheckId, CheckFn)>;

/// Runs the checks upstream PSA runs. Build once (tables for every minor are
/// pre-computed) and share; [`Evaluator::standard`] is a process-wide instance.
#[derive(Debug)]
pub struct Evaluator {
    max_minor: u32,
    /// `[minor][0]` = baseline, `[minor][1]` = restricted.
    table: Vec<[ActiveChecks; 2]>,
}

impl Default for Evaluator {
    fn default() -> Self {
        Evaluator::new()
    }
}

static STANDARD: LazyLock<Evaluator> = LazyLock::new(Evaluator::new);

impl Evaluator {
    /// An evaluator for the newest known version (v1.37).
    pub fn new() -> Self {
        Evaluator::with_max_minor(NEWEST_MINOR)
    }

    /// The shared evaluator for the newest known version.
    pub fn standard() -> &'static Evaluator {
        &STANDARD
    }

    /// An evaluator emulating an older API server (upstream's emulation version): `latest`
    /// and every newer version evaluate at `v1.<minor>`.
    pub fn emulating(minor: u32) -> Self {
        Evaluator::with_max_minor(minor.min(NEWEST_MINOR))
    }

    fn with_max_minor(max_minor: u32) -> Self {
        let table =
            (0..=max_minor).map(|m| [active(Level::Baseline, m), active(Level::Restricted, m)]);
        Evaluator {
            max_minor,
            table: table.collect(),
        }
    }

    /// The newest minor this evaluator applies (upstream `maxVersion`).
    pub fn max_minor(&self) -> u32 {
        self.max_minor
    }

    /// The checks run for `level` at `version`, in order (empty for privileged).
    pub fn checks(&self, level: Level, version: Version) -> impl Iterator<Item = CheckId> + '_ {
        self.active(level, version).iter().map(|(id, _)| *id)
    }

    fn active(&self, level: Level, version: Version) -> &[(CheckId, CheckFn)] {
        let row = &self.table[version.evaluated_minor(self.max_minor) as usize];
        match level {
            Level::Privileged => &[],
            Level::Baseline => &row[0],
            Level::Restricted => &row[1],
        }
    }

    /// Evaluate a pod's metadata and spec (for controllers: the template's).
    pub fn evaluate(
        &self,
        level: Level,
        version: Version,
        meta: &ObjectMeta,
        spec: &PodSpec,
    ) -> Evaluation {
        self.evaluate_with(level, version, meta, spec, CheckOptions::default())
    }

    /// [`Evaluator::evaluate`] with check options (e.g. field errors for Kyverno).
    pub fn evaluate_with(
        &self,
        level: Level,
        version: Version,
        meta: &ObjectMeta,
        spec: &PodSpec,
        opts: CheckOptions,
    ) -> Evaluation {
        let active = self.active(level, version);
        let mut failures = Vec::new();
        for (i, (id, check)) in active.iter().enumerate() {
            if let Some(forbidden) = check(meta, spec, opts) {
                // Room for every remaining check at the first failure: one allocation for a
                // denied pod, none for an allowed one.
                if failures.capacity() == 0 {
                    failures.reserve_exact(active.len() - i);
                }
                failures.push(CheckFailure {
                    check: *id,
                    forbidden,
                });
            }
        }
        Evaluation { failures }
    }
}

/// Baseline: every baseline check existing at `minor`. Restricted: the restricted ones plus
/// the baseline ones not overridden by an active restricted entry.
fn active(level: Level, minor: u32) -> ActiveChecks {
    let entries: Vec<_> = CheckId::ALL
        .iter()
        .filter_map(|id| id.entry_at(minor).map(|e| (*id, e)))
        .collect();
    let overridden: Vec<CheckId> = match level {
        Level::Restricted => entries
            .iter()
            .flat_map(|(_, e)| e.overrides.iter().copied())
            .collect(),
        _ => Vec::new(),
    };
    entries
        .into_iter()
        .filter(|(id, _)| id.level() <= level && !overridden.contains(id))
        .map(|(id, e)| (id, e.check))
        .collect()
}

/// One failing check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFailure {
    pub check: CheckId,
    pub forbidden: Forbidden,
}

/// The failing checks of one evaluation, in check order. Allowed when empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evaluation {
    pub failures: Vec<CheckFailure>,
}

impl Evaluation {
    pub fn allowed(&self) -> bool {
        self.failures.is_empty()
    }

    /// The reasons joined with `, ` (used in namespace-tightening warnings).
    pub fn reasons(&self) -> String {
        self.failures
            .iter()
            .map(|f| reason_of(&f.forbidden))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// PSA's aggregated detail: `reason (detail), reason (detail)`; an empty detail prints
    /// the bare reason.
    pub fn detail(&self) -> String {
        // The longest reason is 33 bytes; with ` (`, `)` and `, ` an entry adds at most 38.
        let len: usize = self
            .failures
            .iter()
            .map(|f| f.forbidden.detail.len() + 40)
            .sum();
        let mut out = String::with_capacity(len);
        for (i, f) in self.failures.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(reason_of(&f.forbidden));
            if !f.forbidden.detail.is_empty() {
                out.push_str(" (");
                out.push_str(&f.forbidden.detail);
                out.push(')');
            }
        }
        out
    }
}

/// Upstream substitutes this for an empty reason (no real check produces one).
pub const UNKNOWN_FORBIDDEN_REASON: &str = "unknown forbidden reason";

fn reason_of(f: &Forbidden) -> &'static str {
    if f.reason.is_empty() {
        UNKNOWN_FORBIDDEN_REASON
    } else {
        f.reason
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn ids(level: Level, minor: u64) -> Vec<&'static str> {
        Evaluator::standard()
            .checks(level, Version::V1(minor))
            .map(CheckId::as_str)
            .collect()
    }

    #[rstest]
    #[case(Level::Baseline, 0, 11)]
    #[case(Level::Baseline, 33, 11)]
    #[case(Level::Baseline, 34, 12)]
    #[case(Level::Restricted, 0, 12)]
    #[case(Level::Restricted, 8, 13)]
    #[case(Level::Restricted, 19, 13)]
    #[case(Level::Restricted, 22, 13)]
    #[case(Level::Restricted, 23, 14)]
    #[case(Level::Restricted, 34, 15)]
    #[case(Level::Restricted, 35, 15)]
    fn active_set_sizes_match_upstream_table(
        #[case] level: Level,
        #[case] minor: u64,
        #[case] n: usize,
    ) {
        assert_eq!(
            ids(level, minor).len(),
            n,
            "{level} v1.{minor}: {:?}",
            ids(level, minor)
        );
    }

    #[test]
    fn restricted_newest_order() {
        assert_eq!(
            ids(Level::Restricted, 37),
            [
                "appArmorProfile",
                "hostNamespaces",
                "hostPorts",
                "hostProbesAndHostLifecycle",
                "privileged",
                "seLinuxOptions",
                "sysctls",
                "windowsHostProcess",
                "allowPrivilegeEscalation",
                "capabilities_restricted",
                "procMount_restricted",
                "restrictedVolumes",
                "runAsNonRoot",
                "runAsUser",
                "seccompProfile_restricted",
            ]
        );
    }

    #[test]
    fn overrides_follow_restricted_entries() {
        assert!(ids(Level::Restricted, 18).contains(&"seccompProfile_baseline"));
        assert!(!ids(Level::Restricted, 19).contains(&"seccompProfile_baseline"));
        assert!(ids(Level::Restricted, 21).contains(&"capabilities_baseline"));
        assert!(!ids(Level::Restricted, 22).contains(&"capabilities_baseline"));
        assert!(ids(Level::Restricted, 34).contains(&"procMount"));
        assert!(!ids(Level::Restricted, 35).contains(&"procMount"));
        assert!(!ids(Level::Restricted, 0).contains(&"hostPathVolumes"));
        assert!(ids(Level::Baseline, 37).contains(&"hostPathVolumes"));
    }

    #[test]
    fn privileged_runs_nothing_and_latest_clamps() {
        assert!(ids(Level::Privileged, 37).is_empty());
        let latest: Vec<_> = Evaluator::standard()
            .checks(Level::Baseline, Version::Latest)
            .collect();
        let v99: Vec<_> = Evaluator::standard()
            .checks(Level::Baseline, Version::V1(99))
            .collect();
        assert_eq!(latest, v99);
        let emulated: Vec<_> = Evaluator::emulating(33)
            .checks(Level::Baseline, Version::Latest)
            .collect();
        assert!(!emulated.contains(&CheckId::HostProbesAndHostLifecycle));
    }
}
