//! The judge: compares a target's [`Outcome`] with a scenario's [`Expectation`]. The
//! decision and the reasons strictly; then the optional matchers (`detail`, `message`,
//! `contains`, `matches`, `warnings`, `audit`). Messages as a whole are pinned by goldens.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::case::Expectation;
use crate::profile::Profile;
use crate::scenario::Scenario;
use crate::target::Outcome;

/// The prefix of PSA's policy warnings.
pub(crate) const WOULD_VIOLATE: &str = "would violate PodSecurity ";

/// One way an outcome differs from the expectation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// The admission decision (or, for PSA controllers, the template's compliance).
    Decision { expected: String, actual: String },
    Reasons {
        expected: Vec<String>,
        actual: Vec<String>,
    },
    /// An exact text matcher (`detail` or `message`).
    Text {
        field: String,
        expected: String,
        actual: Option<String>,
    },
    Contains {
        needle: String,
        actual: Option<String>,
    },
    Matches {
        pattern: String,
        actual: Option<String>,
    },
    Warnings {
        expected: Vec<String>,
        actual: Vec<String>,
    },
    Audit {
        expected: BTreeMap<String, String>,
        actual: BTreeMap<String, String>,
    },
    /// The refusal's status code or reason (`422 Invalid`, `-` for none).
    Status { expected: String, actual: String },
    /// The golden snapshot differs or is missing.
    Golden {
        path: String,
        expected: Option<String>,
        actual: String,
    },
    /// Kyverno: the failing rules (evaluated names, sorted).
    Rules {
        expected: Vec<String>,
        actual: Vec<String>,
    },
    /// The target could not answer.
    Target { error: String },
}

impl Problem {
    /// The expected and actual texts worth a diff, if any.
    pub fn diff_pair(&self) -> Option<(String, String)> {
        match self {
            Problem::Text {
                expected, actual, ..
            } => Some((expected.clone(), actual.clone().unwrap_or_default())),
            Problem::Golden {
                expected, actual, ..
            } => Some((expected.clone().unwrap_or_default(), actual.clone())),
            Problem::Warnings { expected, actual } => {
                Some((expected.join("\n"), actual.join("\n")))
            }
            _ => None,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Decision { expected, actual } => {
                write!(f, "expected {expected}, got {actual}")
            }
            Problem::Reasons { expected, actual } => {
                write!(f, "expected reasons {expected:?}, got {actual:?}")
            }
            Problem::Text { field, .. } => write!(f, "{field} differs"),
            Problem::Contains { needle, actual } => match actual {
                Some(_) => write!(f, "message does not contain {needle:?}"),
                None => write!(f, "no message to contain {needle:?}"),
            },
            Problem::Matches { pattern, actual } => match actual {
                Some(_) => write!(f, "message does not match /{pattern}/"),
                None => write!(f, "no message to match /{pattern}/"),
            },
            Problem::Warnings { .. } => write!(f, "warnings differ"),
            Problem::Audit { expected, actual } => {
                write!(f, "expected audit annotations {expected:?}, got {actual:?}")
            }
            Problem::Status { expected, actual } => {
                write!(f, "expected status {expected}, got {actual}")
            }
            Problem::Rules { expected, actual } => {
                write!(f, "expected failing rules {expected:?}, got {actual:?}")
            }

            Problem::Golden {
                path,
                expected: None,
                ..
            } => {
                write!(
                    f,
                    "no golden snapshot at {path} \
                     (review with `cargo insta review`, or `run --goldens accept`)"
                )
            }
            Problem::Golden { path, .. } => write!(f, "golden snapshot {path} differs"),
            Problem::Target { error } => write!(f, "target error: {error}"),
        }
    }
}

/// The message a scenario's matchers read: the refusal, or PSA's policy warning.
pub fn subject_message(outcome: &Outcome) -> Option<&str> {
    match &outcome.status {
        Some(status) if !outcome.allowed => Some(status.message.as_str()),
        _ => outcome
            .warnings
            .iter()
            .find(|w| w.starts_with(WOULD_VIOLATE))
            .map(String::as_str),
    }
}

/// Whether the outcome means "complies" for this profile and kind: for a kind the engine
/// only warns about (PSA controllers), allowed without a policy warning; otherwise simply
/// allowed.
pub fn complies(profile: &Profile, kind: pss::Kind, outcome: &Outcome) -> bool {
    if profile.denies_kind(kind) {
        return outcome.allowed;
    }
    outcome.allowed
        && !outcome
            .warnings
            .iter()
            .any(|w| profile.is_policy_warning(w))
}

pub(crate) fn decision_name(
    profile: &Profile,
    scenario: &Scenario,
    complies: bool,
) -> &'static str {
    match (profile.denies_kind(scenario.kind), complies) {
        (true, true) => "allowed",
        (true, false) => "denied",
        (false, true) => "allowed without a policy warning",
        (false, false) => "allowed with a policy warning",
    }
}

/// Every problem of `outcome` against `expect` for this scenario (empty: the trial passes).
pub fn judge(scenario: &Scenario, expect: &Expectation, outcome: &Outcome) -> Vec<Problem> {
    let profile = &scenario.profile;
    let mut problems = Vec::new();
    if !profile.denies_kind(scenario.kind) && !outcome.allowed {
        let actual = format!(
            "denied ({})",
            subject_message(outcome).unwrap_or("no message")
        );
        let expected = match profile {
            Profile::File(_) => format!("{profile} to allow a {} (it warns)", scenario.kind),
            _ => "PSA to allow a controller".into(),
        };
        problems.push(Problem::Decision { expected, actual });
        return problems;
    }
    let actual_complies = complies(profile, scenario.kind, outcome);
    if actual_complies != expect.allowed {
        let mut actual = decision_name(profile, scenario, actual_complies).to_owned();
        if let Some(m) = subject_message(outcome) {
            actual = format!("{actual}: {m}");
        }
        let expected = decision_name(profile, scenario, expect.allowed).to_owned();
        problems.push(Problem::Decision { expected, actual });
        return problems;
    }
    if !expect.allowed && profile.compares_reasons() {
        let actual: Vec<String> = outcome.reasons().into_iter().map(str::to_owned).collect();
        if !same_reasons(profile, &actual, &expect.reasons) {
            problems.push(Problem::Reasons {
                expected: expect.reasons.clone(),
                actual,
            });
        }
    }
    if texts_apply(scenario) {
        text_matchers(scenario, expect, outcome, &mut problems);
        admission_matchers(scenario, expect, outcome, &mut problems);
    }
    problems
}

/// PSA's reasons come in its evaluation order; Kyverno's as a set (its fork runs checks in
/// file-name order, and in a Go map order after an exclusion).
fn same_reasons(profile: &Profile, actual: &[String], expected: &[String]) -> bool {
    if profile.ordered_reasons() {
        return actual == expected;
    }
    sorted(actual) == sorted(expected)
}

fn sorted(items: &[String]) -> Vec<String> {
    let mut v = items.to_vec();
    v.sort_unstable();
    v
}

/// The texts of `expect` (detail, message, warnings, ...) are PSA's. A Kyverno profile
/// checks texts only from its own `profiles:` entry; its messages are pinned by goldens.
fn texts_apply(scenario: &Scenario) -> bool {
    match &scenario.profile {
        Profile::Psa => true,
        Profile::Kyverno { .. } => scenario
            .case
            .profile_entry_for(&scenario.profile, scenario.kind)
            .is_some(),
        // The case's texts are PSA's, not the engine's.
        Profile::File(_) => false,
    }
}

/// The rules `autogen` generates from `rule` for `kind` (Kyverno's names, cut to 63).
pub fn autogen_rule(kind: pss::Kind, rule: &str) -> String {
    let prefix = match kind {
        pss::Kind::CronJob => "autogen-cronjob",
        _ => "autogen",
    };
    kyverno::autogen::autogen_rule_name(prefix, rule)
}

/// Whether [`kyverno_rules`] needs the pod's own outcome: a denied expansion whose
/// expectation names no `rules` expects the autogen rules of the rules the pod fails.
pub fn needs_pod_rules(scenario: &Scenario, expect: &Expectation) -> bool {
    !scenario.is_own_kind() && expect.rules.is_none() && !expect.allowed
}

/// Kyverno: which rules failed. On the case's own kind, the expectation's `rules` (when
/// given). On a kind a pod is expanded into, the autogen rules (`autogen-<rule>`, CronJob
/// `autogen-cronjob-<rule>`) of `rules`, else of the rules that failed on the pod (`pod`,
/// see [`needs_pod_rules`]). The failing checks themselves are the expectation's
/// `reasons`, checked for every kind by [`judge`].
pub fn kyverno_rules(
    scenario: &Scenario,
    expect: &Expectation,
    outcome: &Outcome,
    pod: Option<&Outcome>,
) -> Option<Problem> {
    let own = match (&expect.rules, pod) {
        (Some(rules), _) => rules.clone(),
        (None, Some(pod)) if needs_pod_rules(scenario, expect) => failing_rules(pod),
        (None, _) => return None,
    };
    let expected: Vec<String> = match scenario.is_own_kind() {
        true => sorted(&own),
        false => sorted(
            &own.iter()
                .map(|r| autogen_rule(scenario.kind, r))
                .collect::<Vec<_>>(),
        ),
    };
    let actual = failing_rules(outcome);
    (expected != actual).then_some(Problem::Rules { expected, actual })
}

/// The failed (or errored) rules of an outcome, sorted.
fn failing_rules(outcome: &Outcome) -> Vec<String> {
    let names: Vec<String> = outcome
        .rules
        .iter()
        .filter(|r| r.failed())
        .map(|r| r.rule.clone())
        .collect();
    sorted(&names)
}

fn text_matchers(
    scenario: &Scenario,
    expect: &Expectation,
    outcome: &Outcome,
    problems: &mut Vec<Problem>,
) {
    let message = subject_message(outcome).map(str::to_owned);
    if scenario.is_newest_version() {
        if let Some(detail) = &expect.detail {
            let actual = (!outcome.violations.is_empty()).then(|| outcome.detail());
            if actual.as_deref() != Some(detail.as_str()) {
                problems.push(Problem::Text {
                    field: "detail".into(),
                    expected: detail.clone(),
                    actual,
                });
            }
        }
        if let Some(m) = expect.message.as_ref().filter(|_| scenario.is_own_kind())
            && message.as_deref() != Some(fill(m, scenario).as_str())
        {
            problems.push(Problem::Text {
                field: "message".into(),
                expected: fill(m, scenario),
                actual: message.clone(),
            });
        }
    }
    for needle in &expect.contains {
        if !message
            .as_deref()
            .is_some_and(|m| m.contains(needle.as_str()))
        {
            problems.push(Problem::Contains {
                needle: needle.clone(),
                actual: message.clone(),
            });
        }
    }
    if let Some(re) = &expect.matches
        && !message.as_deref().is_some_and(|m| re.is_match(m))
    {
        problems.push(Problem::Matches {
            pattern: re.as_str().to_owned(),
            actual: message.clone(),
        });
    }
}

fn admission_matchers(
    scenario: &Scenario,
    expect: &Expectation,
    outcome: &Outcome,
    problems: &mut Vec<Problem>,
) {
    if !scenario.is_own_kind() {
        return;
    }
    if let Some(w) = &expect.warnings {
        let expected: Vec<String> = w.iter().map(|t| fill(t, scenario)).collect();
        if expected != outcome.warnings {
            problems.push(Problem::Warnings {
                expected,
                actual: outcome.warnings.clone(),
            });
        }
    }
    if let Some(a) = expect.audit.as_ref().filter(|_| !outcome.audit_unobserved) {
        let expected: BTreeMap<String, String> = a
            .iter()
            .map(|(k, v)| (k.clone(), fill(v, scenario)))
            .collect();
        if expected != outcome.audit_annotations {
            problems.push(Problem::Audit {
                expected,
                actual: outcome.audit_annotations.clone(),
            });
        }
    }
    if let Some(expected) = &expect.status {
        let actual = outcome.status.as_ref();
        let code_ok = expected
            .code
            .is_none_or(|c| actual.is_some_and(|s| s.code == c));
        let reason_ok = expected
            .reason
            .as_deref()
            .is_none_or(|r| actual.is_some_and(|s| s.reason == r));
        if !code_ok || !reason_ok {
            problems.push(Problem::Status {
                expected: status_text(expected.code, expected.reason.as_deref()),
                actual: actual.map_or_else(
                    || "none".to_owned(),
                    |s| status_text(Some(s.code), Some(&s.reason)),
                ),
            });
        }
    }
}

/// `422 Invalid`, or the half that is given.
fn status_text(code: Option<u16>, reason: Option<&str>) -> String {
    match (code, reason) {
        (Some(c), Some(r)) => format!("{c} {r}"),
        (Some(c), None) => c.to_string(),
        (None, Some(r)) => r.to_owned(),
        (None, None) => "any".to_owned(),
    }
}

/// An expected text with `{version}` replaced by the scenario's version (`v1.N` or
/// `latest`), so one expectation can state the exact text at every version.
fn fill(text: &str, scenario: &Scenario) -> String {
    text.replace("{version}", &scenario.version.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loader;
    use crate::target::{Status, Violation};
    use pss::{Kind, Version};
    use std::path::Path;
    use std::sync::Arc;

    fn scenario(expect_yaml: &str, kind: Kind, version: Version) -> (Scenario, Expectation) {
        let text = format!(
            "control: privileged
cases:
- name: c
  pod: {{containers: [{{name: app}}]}}
  expect: {expect_yaml}
"
        );
        let case = loader::load_str(Path::new("t.yaml"), &text, "t")
            .unwrap()
            .remove(0);
        let expect = case.expect.clone();
        let s = Scenario {
            case: Arc::new(case),
            version,
            kind,
            profile: Profile::Psa,
        };
        (s, expect)
    }

    fn denied(message: &str) -> Outcome {
        Outcome {
            allowed: false,
            status: Some(Status {
                code: 403,
                reason: "Forbidden".into(),
                message: message.into(),
            }),
            violations: vec![Violation {
                reason: "privileged".into(),
                detail: "container \"app\" must not".into(),
            }],
            ..Outcome::default()
        }
    }

    const MSG: &str = "pods \"c\" is forbidden: violates PodSecurity \"baseline:latest\": \
                       privileged (container \"app\" must not)";

    #[test]
    fn decision_and_reasons_are_strict() {
        let (s, e) = scenario(
            "{allowed: false, reasons: [privileged]}",
            Kind::Pod,
            Version::Latest,
        );
        assert!(judge(&s, &e, &denied(MSG)).is_empty());
        let allowed = Outcome {
            allowed: true,
            ..Outcome::default()
        };
        assert_eq!(
            judge(&s, &e, &allowed),
            [Problem::Decision {
                expected: "denied".into(),
                actual: "allowed".into()
            }]
        );
        let (s, e) = scenario(
            "{allowed: false, reasons: [privileged, sysctls]}",
            Kind::Pod,
            Version::Latest,
        );
        assert!(matches!(
            judge(&s, &e, &denied(MSG))[..],
            [Problem::Reasons { .. }]
        ));
    }

    #[test]
    fn psa_controllers_must_be_allowed_with_the_warning() {
        let (s, e) = scenario(
            "{allowed: false, reasons: [privileged]}",
            Kind::Deployment,
            Version::Latest,
        );
        let warned = Outcome {
            allowed: true,
            warnings: vec!["would violate PodSecurity \"baseline:latest\": privileged (x)".into()],
            violations: vec![Violation {
                reason: "privileged".into(),
                detail: "x".into(),
            }],
            ..Outcome::default()
        };
        assert!(judge(&s, &e, &warned).is_empty());
        let quiet = Outcome {
            allowed: true,
            ..Outcome::default()
        };
        assert_eq!(
            judge(&s, &e, &quiet)[0].to_string(),
            "expected allowed with a policy warning, got allowed without a policy warning"
        );
        assert!(
            judge(&s, &e, &denied(MSG))[0]
                .to_string()
                .starts_with("expected PSA to allow a controller")
        );
    }

    #[test]
    fn matchers() {
        let y = "{allowed: false, reasons: [privileged], \
                 detail: 'privileged (container \"app\" must not)', \
                 contains: [forbidden], matches: '^pods '}";
        let (s, e) = scenario(y, Kind::Pod, Version::Latest);
        assert!(judge(&s, &e, &denied(MSG)).is_empty());
        let other = denied("nope");
        let problems = judge(&s, &e, &other);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(
            problems[0].to_string(),
            "message does not contain \"forbidden\""
        );
        assert_eq!(problems[1].to_string(), "message does not match /^pods /");
        let y = "{allowed: false, reasons: [privileged], detail: 'something else'}";
        let (s, e) = scenario(y, Kind::Pod, Version::Latest);
        assert_eq!(judge(&s, &e, &denied(MSG))[0].to_string(), "detail differs");
        // `detail` is checked only at the case's newest version.
        let (s, e) = scenario(y, Kind::Pod, Version::V1(3));
        assert!(judge(&s, &e, &denied(MSG)).is_empty());
    }

    /// A Kyverno scenario of a pod case with `expect` and `profiles`.
    fn kyverno(expect_yaml: &str, profiles: &str, kind: Kind) -> Scenario {
        let text = format!(
            "control: privileged
cases:
- name: c
  pod: {{containers: [{{name: app}}]}}
  expect: {expect_yaml}
  profiles: {profiles}
"
        );
        let case = loader::load_str(Path::new("t.yaml"), &text, "t")
            .unwrap()
            .remove(0);
        Scenario {
            case: Arc::new(case),
            version: Version::Latest,
            kind,
            profile: "kyverno@v1.19".parse().unwrap(),
        }
    }

    /// A Kyverno denial with these checks and failing rules.
    fn kyverno_denied(reasons: &[&str], rules: &[&str]) -> Outcome {
        Outcome {
            violations: reasons
                .iter()
                .map(|r| Violation {
                    reason: (*r).into(),
                    detail: String::new(),
                })
                .collect(),
            rules: rules
                .iter()
                .map(|r| crate::target::RuleOutcome {
                    policy: "p".into(),
                    rule: (*r).into(),
                    status: "fail".into(),
                    message: String::new(),
                    action: "Enforce".into(),
                })
                .collect(),
            ..denied("admission webhook \"validate.kyverno.svc-fail\" denied the request: x")
        }
    }

    #[test]
    fn kyverno_reasons_are_a_set_and_psa_texts_do_not_apply() {
        let s = kyverno(
            "{allowed: false, reasons: [a, b], contains: 'pods \"c\" is forbidden'}",
            "{psa: {allowed: false, reasons: [a, b]}}",
            Kind::Pod,
        );
        let e = s.case.expectation_for(&s.profile, s.kind).unwrap().clone();
        assert!(judge(&s, &e, &kyverno_denied(&["b", "a"], &["r"])).is_empty());
        assert!(matches!(
            judge(&s, &e, &kyverno_denied(&["a", "a"], &["r"]))[..],
            [Problem::Reasons { .. }]
        ));
        // A Kyverno entry's own texts do apply.
        let s = kyverno(
            "{allowed: false, reasons: [a]}",
            "{kyverno: {allowed: false, reasons: [a], contains: nope}}",
            Kind::Pod,
        );
        let e = s.case.expectation_for(&s.profile, s.kind).unwrap().clone();
        assert_eq!(
            judge(&s, &e, &kyverno_denied(&["a"], &["r"]))[0].to_string(),
            "message does not contain \"nope\""
        );
    }

    #[test]
    fn kyverno_controllers_fail_the_autogen_rules_of_the_pod() {
        let expect = "{allowed: false, reasons: [a]}";
        let cron = kyverno(expect, "{}", Kind::CronJob);
        let e = cron.case.expect.clone();
        let pod = kyverno_denied(&["a"], &["baseline"]);
        let good = kyverno_denied(&["a"], &["autogen-cronjob-baseline"]);
        assert!(needs_pod_rules(&cron, &e));
        assert_eq!(kyverno_rules(&cron, &e, &good, Some(&pod)), None);
        let wrong = kyverno_denied(&["a"], &["autogen-baseline"]);
        assert_eq!(
            kyverno_rules(&cron, &e, &wrong, Some(&pod)).map(|p| p.to_string()),
            Some(
                "expected failing rules [\"autogen-cronjob-baseline\"], got [\"autogen-baseline\"]"
                    .to_owned()
            )
        );
        // Named rules: checked on the own kind, mapped (and cut to 63) on expansions.
        let long = "a-rule-name-long-enough-to-be-cut-when-autogen-adds-its-prefix-x";
        let named = format!("{{allowed: false, reasons: [a], rules: [{long}]}}");
        let pod_s = kyverno(&named, "{}", Kind::Pod);
        let e = pod_s.case.expect.clone();
        assert!(!needs_pod_rules(&pod_s, &e));
        assert_eq!(
            kyverno_rules(&pod_s, &e, &kyverno_denied(&["a"], &[long]), None),
            None
        );
        let deploy = kyverno(&named, "{}", Kind::Deployment);
        let cut = &format!("autogen-{long}")[..63];
        assert_eq!(
            kyverno_rules(&deploy, &e, &kyverno_denied(&["a"], &[cut]), None),
            None
        );
        // An allowed expectation without `rules` checks none.
        let allowed = kyverno("{allowed: true}", "{}", Kind::Pod);
        let e = allowed.case.expect.clone();
        assert_eq!(
            kyverno_rules(&allowed, &e, &kyverno_denied(&[], &["x"]), None),
            None
        );
    }
}
