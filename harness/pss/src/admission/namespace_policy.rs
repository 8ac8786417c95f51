//! Namespace labels → the effective policy (§4.2).
//!
//! Six labels under `pod-security.kubernetes.io/` set the level and version of the three
//! modes; unset ones keep the configured defaults. A label that does not parse is recorded
//! as an error and replaced by a fallback: `restricted` for `enforce` (fail closed),
//! `privileged` for `audit` and `warn` (fail open), `latest` for versions. When no `warn`
//! label is present, a successfully parsed, stricter `enforce` level is inherited by `warn`
//! (and its version too, unless `warn-version` is set), so `enforce: baseline` alone also
//! warns.

use std::collections::BTreeMap;

use super::field_errors::{FieldError, FieldErrors};
use crate::level::Level;
use crate::policy::LevelVersion;
use crate::version::Version;

/// Namespace labels, as the API object carries them.
pub type Labels = BTreeMap<String, String>;

/// The prefix of every Pod Security namespace label.
pub const LABEL_PREFIX: &str = "pod-security.kubernetes.io/";
/// The enforce level label.
pub const ENFORCE_LEVEL_LABEL: &str = "pod-security.kubernetes.io/enforce";
/// The enforce version label.
pub const ENFORCE_VERSION_LABEL: &str = "pod-security.kubernetes.io/enforce-version";
/// The audit level label.
pub const AUDIT_LEVEL_LABEL: &str = "pod-security.kubernetes.io/audit";
/// The audit version label.
pub const AUDIT_VERSION_LABEL: &str = "pod-security.kubernetes.io/audit-version";
/// The warn level label.
pub const WARN_LEVEL_LABEL: &str = "pod-security.kubernetes.io/warn";
/// The warn version label.
pub const WARN_VERSION_LABEL: &str = "pod-security.kubernetes.io/warn-version";

/// The level-version of each mode (upstream `api.Policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Policy {
    /// Pods failing it are denied.
    pub enforce: LevelVersion,
    /// Failures are recorded in the `audit-violations` annotation.
    pub audit: LevelVersion,
    /// Failures add a warning to an allowed request.
    pub warn: LevelVersion,
}

impl Default for Policy {
    fn default() -> Self {
        Policy::PRIVILEGED
    }
}

impl Policy {
    /// Every mode `privileged:latest`: upstream's built-in default.
    pub const PRIVILEGED: Policy = Policy {
        enforce: LevelVersion::PRIVILEGED_LATEST,
        audit: LevelVersion::PRIVILEGED_LATEST,
        warn: LevelVersion::PRIVILEGED_LATEST,
    };

    /// All three levels are `privileged` (versions ignored): nothing can fail.
    pub fn fully_privileged(&self) -> bool {
        [self.enforce, self.audit, self.warn]
            .iter()
            .all(|lv| lv.level == Level::Privileged)
    }

    /// Upstream `Policy.Equivalent` (§1.2): every mode equivalent.
    pub fn is_equivalent(&self, other: &Policy) -> bool {
        self.enforce.is_equivalent(&other.enforce)
            && self.audit.is_equivalent(&other.audit)
            && self.warn.is_equivalent(&other.warn)
    }

    /// Resolve namespace labels against `defaults` (upstream `PolicyToEvaluate`). A usable
    /// policy is always returned, with the label errors beside it.
    pub fn from_labels(labels: &Labels, defaults: &Policy) -> EffectivePolicy {
        let mut resolver = Resolver {
            labels,
            policy: *defaults,
            errors: FieldErrors::default(),
        };
        let enforce_parsed = resolver.level(ENFORCE_LEVEL_LABEL, Level::ENFORCE_FALLBACK, |p| {
            &mut p.enforce
        });
        resolver.version(ENFORCE_VERSION_LABEL, |p| &mut p.enforce);
        resolver.level(AUDIT_LEVEL_LABEL, Level::Privileged, |p| &mut p.audit);
        resolver.version(AUDIT_VERSION_LABEL, |p| &mut p.audit);
        resolver.level(WARN_LEVEL_LABEL, Level::Privileged, |p| &mut p.warn);
        resolver.version(WARN_VERSION_LABEL, |p| &mut p.warn);
        resolver.inherit_warn(enforce_parsed);
        EffectivePolicy {
            policy: resolver.policy,
            errors: resolver.errors,
        }
    }
}

/// The policy a namespace's labels give, and the label errors (empty when all parse).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectivePolicy {
    /// The policy to evaluate (fallbacks in place of invalid labels).
    pub policy: Policy,
    /// The label errors, in label order.
    pub errors: FieldErrors,
}

/// The `metadata.labels[<key>]` path apimachinery prints for a label error.
fn label_path(key: &str) -> String {
    format!("metadata.labels[{key}]")
}

struct Resolver<'a> {
    labels: &'a Labels,
    policy: Policy,
    errors: FieldErrors,
}

impl Resolver<'_> {
    /// Apply a level label if present; `true` when present and valid.
    fn level(
        &mut self,
        key: &str,
        fallback: Level,
        mode: fn(&mut Policy) -> &mut LevelVersion,
    ) -> bool {
        let Some(value) = self.labels.get(key) else {
            return false;
        };
        let (level, ok) = match value.parse::<Level>() {
            Ok(level) => (level, true),
            Err(e) => {
                self.errors
                    .push(FieldError::invalid(label_path(key), value, e.to_string()));
                (fallback, false)
            }
        };
        mode(&mut self.policy).level = level;
        ok
    }

    /// Apply a version label if present (`latest` when it does not parse).
    fn version(&mut self, key: &str, mode: fn(&mut Policy) -> &mut LevelVersion) {
        let Some(value) = self.labels.get(key) else {
            return;
        };
        let version = value.parse::<Version>().unwrap_or_else(|e| {
            self.errors
                .push(FieldError::invalid(label_path(key), value, e.to_string()));
            Version::Latest
        });
        mode(&mut self.policy).version = version;
    }

    /// Warn follows a stricter, valid `enforce` label when no `warn` label is given.
    fn inherit_warn(&mut self, enforce_parsed: bool) {
        let p = &mut self.policy;
        if !enforce_parsed || self.labels.contains_key(WARN_LEVEL_LABEL) {
            return;
        }
        if p.enforce.level > p.warn.level {
            p.warn.level = p.enforce.level;
            if !self.labels.contains_key(WARN_VERSION_LABEL) {
                p.warn.version = p.enforce.version;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (format!("{LABEL_PREFIX}{k}"), (*v).to_owned()))
            .collect()
    }

    fn lv(s: &str) -> LevelVersion {
        s.parse().unwrap()
    }

    /// The upstream table of §4.2 (defaults all `privileged:latest`).
    #[rstest]
    #[case(
        &[("enforce", "baseline")],
        "baseline:latest", "baseline:latest", "privileged:latest", 0
    )]
    #[case(
        &[("enforce", "baseline"), ("enforce-version", "v1.22")],
        "baseline:v1.22", "baseline:v1.22", "privileged:latest", 0
    )]
    #[case(
        &[("enforce", "baseline"), ("enforce-version", "v1.22"), ("warn-version", "latest")],
        "baseline:v1.22", "baseline:latest", "privileged:latest", 0
    )]
    #[case(
        &[("enforce", "baseline"), ("warn-version", "v1.23")],
        "baseline:latest", "baseline:v1.23", "privileged:latest", 0
    )]
    #[case(
        &[("enforce", "baseline"), ("warn", "privileged")],
        "baseline:latest", "privileged:latest", "privileged:latest", 0
    )]
    #[case(
        &[("enforce", "baseline"), ("warn", "foo")],
        "baseline:latest", "privileged:latest", "privileged:latest", 1
    )]
    #[case(
        &[("enforce", "foo")],
        "restricted:latest", "privileged:latest", "privileged:latest", 1
    )]
    fn upstream_label_table(
        #[case] pairs: &[(&str, &str)],
        #[case] enforce: &str,
        #[case] warn: &str,
        #[case] audit: &str,
        #[case] n_errors: usize,
    ) {
        let got = Policy::from_labels(&labels(pairs), &Policy::PRIVILEGED);
        assert_eq!(got.policy.enforce, lv(enforce));
        assert_eq!(got.policy.warn, lv(warn));
        assert_eq!(got.policy.audit, lv(audit));
        assert_eq!(got.errors.len(), n_errors, "{}", got.errors);
    }

    #[test]
    fn audit_fails_open_and_versions_fall_back_to_latest() {
        let got = Policy::from_labels(
            &labels(&[
                ("audit", "Restricted"),
                ("audit-version", "v1.01"),
                ("warn-version", "x"),
            ]),
            &Policy::PRIVILEGED,
        );
        assert_eq!(got.policy.audit, lv("privileged:latest"));
        assert_eq!(
            got.errors.to_string(),
            "[metadata.labels[pod-security.kubernetes.io/audit]: Invalid value: \"Restricted\": \
             must be one of privileged, baseline, restricted, \
             metadata.labels[pod-security.kubernetes.io/audit-version]: Invalid value: \"v1.01\": \
             must be \"latest\" or \"v1.x\", \
             metadata.labels[pod-security.kubernetes.io/warn-version]: Invalid value: \"x\": \
             must be \"latest\" or \"v1.x\"]"
        );
    }

    #[test]
    fn errors_come_in_label_order_enforce_first() {
        let got = Policy::from_labels(
            &labels(&[("warn", "w"), ("enforce-version", "v"), ("enforce", "e")]),
            &Policy::PRIVILEGED,
        );
        let paths: Vec<_> = got.errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "metadata.labels[pod-security.kubernetes.io/enforce]",
                "metadata.labels[pod-security.kubernetes.io/enforce-version]",
                "metadata.labels[pod-security.kubernetes.io/warn]",
            ]
        );
    }

    #[test]
    fn defaults_apply_and_warn_inherits_only_when_stricter() {
        let defaults = Policy {
            enforce: lv("baseline:v1.20"),
            audit: lv("restricted:latest"),
            warn: lv("restricted:v1.25"),
        };
        let none = Policy::from_labels(&Labels::new(), &defaults);
        assert_eq!(none.policy, defaults);
        let got = Policy::from_labels(&labels(&[("enforce", "baseline")]), &defaults);
        assert_eq!(got.policy.enforce, lv("baseline:v1.20"));
        assert_eq!(got.policy.warn, lv("restricted:v1.25"));
        let unrelated = Policy::from_labels(&labels(&[("other", "x")]), &Policy::PRIVILEGED);
        assert_eq!(unrelated.policy, Policy::PRIVILEGED);
        assert!(unrelated.errors.is_empty());
    }

    #[test]
    fn invalid_enforce_is_not_inherited_by_warn() {
        let got = Policy::from_labels(&labels(&[("enforce", "Baseline")]), &Policy::PRIVILEGED);
        assert_eq!(got.policy.enforce, lv("restricted:latest"));
        assert_eq!(got.policy.warn, lv("privileged:latest"));
    }

    #[test]
    fn fully_privileged_and_equivalence() {
        let mut p = Policy::PRIVILEGED;
        p.enforce = lv("privileged:v1.20");
        assert!(p.fully_privileged());
        assert!(p.is_equivalent(&Policy::PRIVILEGED));
        assert_ne!(p, Policy::PRIVILEGED);
        p.warn = lv("baseline:latest");
        assert!(!p.fully_privileged());
        assert!(!p.is_equivalent(&Policy::PRIVILEGED));
    }
}
