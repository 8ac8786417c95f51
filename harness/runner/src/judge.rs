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
const WOULD_VIOLATE: &str = "would violate PodSecurity ";

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
    /// The golden snapshot differs or is missing.
    Golden {
        path: String,
        expected: Option<String>,
        actual: String,
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

/// Whether the outcome means "complies" for this profile and kind: for PSA controllers,
/// allowed without a policy warning; otherwise simply allowed.
fn complies(profile: &Profile, scenario: &Scenario, outcome: &Outcome) -> bool {
    if scenario.kind.is_pod() || profile.denies_controllers() {
        return outcome.allowed;
    }
    outcome.allowed
        && !outcome
            .warnings
            .iter()
            .any(|w| w.starts_with(WOULD_VIOLATE))
}

fn decision_name(profile: &Profile, scenario: &Scenario, complies: bool) -> &'static str {
    match (
        scenario.kind.is_pod() || profile.denies_controllers(),
        complies,
    ) {
        (true, true) => "allowed",
        (true, false) => "denied",
        (false, true) => "allowed without warning",
        (false, false) => "allowed with a policy warning",
    }
}

/// Every problem of `outcome` against `expect` for this scenario (empty: the trial passes).
pub fn judge(scenario: &Scenario, expect: &Expectation, outcome: &Outcome) -> Vec<Problem> {
    let profile = &scenario.profile;
    let mut problems = Vec::new();
    if !scenario.kind.is_pod() && !profile.denies_controllers() && !outcome.allowed {
        let actual = format!(
            "denied ({})",
            subject_message(outcome).unwrap_or("no message")
        );
        problems.push(Problem::Decision {
            expected: "PSA to allow a controller".into(),
            actual,
        });
        return problems;
    }
    let actual_complies = complies(profile, scenario, outcome);
    if actual_complies != expect.allowed {
        let mut actual = decision_name(profile, scenario, actual_complies).to_owned();
        if let Some(m) = subject_message(outcome) {
            actual = format!("{actual}: {m}");
        }
        let expected = decision_name(profile, scenario, expect.allowed).to_owned();
        problems.push(Problem::Decision { expected, actual });
        return problems;
    }
    if !expect.allowed {
        let actual: Vec<String> = outcome.reasons().into_iter().map(str::to_owned).collect();
        if actual != expect.reasons {
            problems.push(Problem::Reasons {
                expected: expect.reasons.clone(),
                actual,
            });
        }
    }
    text_matchers(scenario, expect, outcome, &mut problems);
    admission_matchers(scenario, expect, outcome, &mut problems);
    problems
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
            && message.as_deref() != Some(m.as_str())
        {
            problems.push(Problem::Text {
                field: "message".into(),
                expected: m.clone(),
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
    if let Some(w) = &expect.warnings
        && *w != outcome.warnings
    {
        problems.push(Problem::Warnings {
            expected: w.clone(),
            actual: outcome.warnings.clone(),
        });
    }
    if let Some(a) = &expect.audit
        && *a != outcome.audit_annotations
    {
        problems.push(Problem::Audit {
            expected: a.clone(),
            actual: outcome.audit_annotations.clone(),
        });
    }
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
            "expected allowed with a policy warning, got allowed without warning"
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
}
