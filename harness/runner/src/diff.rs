//! Differential runs: every scenario sent to two engines (two targets, two profiles, or
//! both), and each one where the answers differ listed with both answers, grouped by
//! control and version. Nothing here needs expectations: the engines are judged against
//! each other.
//!
//! Three aspects are compared, each only when the previous one agrees: the decision
//! (whether the object complies, in each profile's own terms: a PSA controller complies
//! when allowed without a policy warning), the reasons (the failing checks, as a set
//! unless both engines order them), and the message (the refusal and the warnings; audit
//! annotations too when both sides can see them). Scenarios one side cannot express are
//! counted as not comparable, never as agreeing.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use clap::ValueEnum;
use serde::Serialize;

use crate::control::Control;
use crate::golden;
use crate::judge;
use crate::loader::Suite;
use crate::profile::Profile;
use crate::run::{self, Targets};
use crate::scenario::{self, Filter, Scenario};
use crate::target::{Outcome, TargetError};

/// How much of the answers to compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Compare {
    /// Whether the object complies.
    Decisions,
    /// And the failing checks.
    Reasons,
    /// And the texts.
    Messages,
}

/// One engine of the comparison.
pub struct Side<'a> {
    /// For reports: `psa (in-process)`.
    pub label: String,
    pub profile: Profile,
    pub targets: &'a Targets,
}

/// What one engine answered, in comparable terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    pub decision: String,
    pub reasons: Vec<String>,
    pub message: Vec<String>,
}

/// A scenario the engines answered differently.
#[derive(Debug, Clone, Serialize)]
pub struct Difference {
    pub scenario: String,
    pub case: String,
    pub control: String,
    pub version: String,
    pub kind: String,
    /// `decision`, `reasons` or `message`: the first aspect that differs.
    pub aspect: String,
    pub a: Answer,
    pub b: Answer,
}

/// The comparison of two engines.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    pub sides: [String; 2],
    pub compare: Compare,
    pub compared: usize,
    pub differences: Vec<Difference>,
    /// Scenarios a side could not express, by `side: reason`.
    pub not_comparable: BTreeMap<String, usize>,
    /// Scenarios a side failed to answer: `(scenario, side: error)`.
    pub errors: Vec<(String, String)>,
}

impl DiffReport {
    /// Whether the engines agreed on every comparable scenario and answered them all.
    pub fn agrees(&self) -> bool {
        self.differences.is_empty() && self.errors.is_empty()
    }
}

/// The scenarios both profiles run: `a`'s expansion of each selected case, kept when `b`
/// runs the same case at that version as that kind.
pub fn scenarios(suite: &Suite, a: &Profile, b: &Profile, filter: &Filter) -> Vec<Scenario> {
    let mut out = Vec::new();
    for case in suite.cases.iter().filter(|c| filter.case_matches(c)) {
        for s in scenario::expand(case, a).filter(|s| filter.scenario_matches(s)) {
            let runs = |p: &Profile| {
                p.runs_version(s.version)
                    && p.runs_kind(&s.case, s.kind)
                    && s.case.expectation_for(p, s.kind).is_ok()
            };
            if runs(a) && runs(b) && filter.in_shard(&s.full_name()) {
                out.push(s);
            }
        }
    }
    out
}

/// What comparing one scenario gave.
enum Compared {
    Same,
    Differs(Box<Difference>),
    NotComparable(String),
    Error(String),
}

/// Send every scenario to both sides (on `jobs` threads) and compare.
pub fn run(
    scenarios: &[Scenario],
    a: &Side,
    b: &Side,
    compare: Compare,
    jobs: usize,
) -> DiffReport {
    let chunk = scenarios.len().div_ceil(jobs.max(1)).max(1);
    let results: Vec<Compared> = std::thread::scope(|scope| {
        let handles: Vec<_> = scenarios
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|s| one(s, a, b, compare))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|_| vec![Compared::Error("a comparison panicked".into())])
            })
            .collect()
    });
    let mut report = DiffReport {
        sides: [a.label.clone(), b.label.clone()],
        compare,
        compared: 0,
        differences: Vec::new(),
        not_comparable: BTreeMap::new(),
        errors: Vec::new(),
    };
    for (s, result) in scenarios.iter().zip(results) {
        match result {
            Compared::Same => report.compared += 1,
            Compared::Differs(d) => {
                report.compared += 1;
                report.differences.push(*d);
            }
            Compared::NotComparable(why) => *report.not_comparable.entry(why).or_default() += 1,
            Compared::Error(e) => report.errors.push((s.full_name(), e)),
        }
    }
    report
}

fn one(s: &Scenario, a: &Side, b: &Side, compare: Compare) -> Compared {
    let outcomes = (answer(a, s), answer(b, s));
    let (mut oa, mut ob) = match outcomes {
        (Ok(oa), Ok(ob)) => (oa, ob),
        (Err(TargetError::NotApplicable { why, .. }), _) => {
            return Compared::NotComparable(format!("{}: {why}", a.label));
        }
        (_, Err(TargetError::NotApplicable { why, .. })) => {
            return Compared::NotComparable(format!("{}: {why}", b.label));
        }
        (Err(e), _) => return Compared::Error(format!("{}: {e}", a.label)),
        (_, Err(e)) => return Compared::Error(format!("{}: {e}", b.label)),
    };
    if oa.audit_unobserved || ob.audit_unobserved {
        oa.audit_annotations.clear();
        ob.audit_annotations.clear();
    }
    let ca = judge::complies(&a.profile, s.kind, &oa);
    let cb = judge::complies(&b.profile, s.kind, &ob);
    let ordered = a.profile.ordered_reasons() && b.profile.ordered_reasons();
    let (ra, rb) = (reasons(&oa, ordered), reasons(&ob, ordered));
    let (ma, mb) = (message(s, &oa), message(s, &ob));
    let aspect = if ca != cb {
        "decision"
    } else if compare >= Compare::Reasons
        && !ca
        && a.profile.compares_reasons()
        && b.profile.compares_reasons()
        && ra != rb
    {
        "reasons"
    } else if compare >= Compare::Messages && ma != mb {
        "message"
    } else {
        return Compared::Same;
    };
    Compared::Differs(Box::new(Difference {
        scenario: s.id(),
        case: s.case.id.clone(),
        control: s.case.control.as_str().to_owned(),
        version: s.version.to_string(),
        kind: s.case.kind_label(s.kind).to_owned(),
        aspect: aspect.to_owned(),
        a: Answer {
            decision: judge::decision_name(&a.profile, s, ca).to_owned(),
            reasons: ra,
            message: ma,
        },
        b: Answer {
            decision: judge::decision_name(&b.profile, s, cb).to_owned(),
            reasons: rb,
            message: mb,
        },
    }))
}

/// One side's outcome for the scenario (its reasons read as its profile says).
fn answer(side: &Side, s: &Scenario) -> Result<Outcome, TargetError> {
    let target = side.targets.for_case(&side.profile, &s.case)?;
    run::outcome(target.get(), s, &side.profile, None)
}

fn reasons(outcome: &Outcome, ordered: bool) -> Vec<String> {
    let mut r: Vec<String> = outcome.reasons().into_iter().map(str::to_owned).collect();
    if !ordered {
        r.sort_unstable();
    }
    r
}

fn message(s: &Scenario, outcome: &Outcome) -> Vec<String> {
    match s.case.control {
        Control::Admission => golden::admission_lines(outcome),
        _ => golden::outcome_lines(outcome),
    }
}

/// Multi-line texts (Kyverno's YAML) on one line, their line breaks shown as `\n`.
fn one_line(text: &str) -> String {
    text.trim_end().replace('\n', "\\n")
}

/// The human report: differences grouped by control and version, then the counts.
pub fn human(report: &DiffReport) -> String {
    let mut out = String::new();
    let [a, b] = &report.sides;
    let mut groups: BTreeMap<(usize, pss::Version), Vec<&Difference>> = BTreeMap::new();
    for d in &report.differences {
        let control = Control::ALL
            .iter()
            .position(|c| c.as_str() == d.control)
            .unwrap_or(usize::MAX);
        let version = d.version.parse().unwrap_or(pss::Version::Latest);
        groups.entry((control, version)).or_default().push(d);
    }
    let width = a.len().max(b.len());
    for ((control, version), diffs) in &groups {
        let name = Control::ALL.get(*control).map_or("unknown", |c| c.as_str());
        let _ = writeln!(out, "{name} @ {version}: {} differ", diffs.len());
        for d in diffs {
            let _ = writeln!(out, "  {} ({} differs)", d.scenario, d.aspect);
            for (label, answer) in [(a, &d.a), (b, &d.b)] {
                let what = one_line(&match d.aspect.as_str() {
                    "reasons" => format!("{} [{}]", answer.decision, answer.reasons.join(", ")),
                    "message" => answer.message.join(" | "),
                    _ => match answer.message.first() {
                        Some(m) if answer.decision != "allowed" => {
                            format!("{}: {m}", answer.decision)
                        }
                        _ => answer.decision.clone(),
                    },
                });
                let _ = writeln!(out, "    {label:width$}  {what}");
            }
        }
    }
    for (scenario, error) in &report.errors {
        let _ = writeln!(out, "ERROR {scenario}: {error}");
    }
    let na: usize = report.not_comparable.values().sum();
    if na > 0 {
        let _ = writeln!(out, "{na} not comparable:");
        for (why, n) in &report.not_comparable {
            let _ = writeln!(out, "  {n} x {why}");
        }
    }
    let _ = writeln!(
        out,
        "{a} vs {b}: {} scenarios compared ({}), {} differ, {na} not comparable, {} errors",
        report.compared,
        match report.compare {
            Compare::Decisions => "decisions",
            Compare::Reasons => "decisions and reasons",
            Compare::Messages => "decisions, reasons and messages",
        },
        report.differences.len(),
        report.errors.len()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::Arc;

    fn suite() -> Suite {
        let text = "control: privileged
cases:
- name: denied
  versions: [v1.0, latest]
  pod: {containers: [{name: c, securityContext: {privileged: true}}]}
  expect: {allowed: false, reasons: [privileged]}
- name: allowed
  versions: latest
  pod: {containers: [{name: c}]}
  expect: {allowed: true}
";
        let cases = crate::loader::load_str(Path::new("t.yaml"), text, "baseline/t").unwrap();
        Suite {
            cases: cases.into_iter().map(Arc::new).collect(),
        }
    }

    #[test]
    fn an_engine_agrees_with_itself_and_scenarios_are_shared() {
        let s = suite();
        let psa = Profile::Psa;
        let scenarios = scenarios(&s, &psa, &psa, &Filter::default());
        // The denied pod at two versions as its nine kinds; the allowed one as a Pod.
        assert_eq!(scenarios.len(), 2 * 9 + 1);
        let targets = Targets::in_process(std::slice::from_ref(&psa)).unwrap();
        let side = |label: &str| Side {
            label: label.into(),
            profile: psa.clone(),
            targets: &targets,
        };
        let report = run(&scenarios, &side("a"), &side("b"), Compare::Messages, 2);
        assert!(report.agrees(), "{}", human(&report));
        assert_eq!(report.compared, 19);
        assert!(human(&report).ends_with("19 scenarios compared (decisions, reasons and messages), 0 differ, 0 not comparable, 0 errors\n"));
        // Kyverno runs only `latest` and no PodTemplate: the shared scenarios shrink.
        let kyverno: Profile = "kyverno@v1.19".parse().unwrap();
        assert_eq!(scenarios_of(&s, &psa, &kyverno), 8 + 1);
    }

    /// PSA and Kyverno decide the bundled baseline case alike but word it differently:
    /// the messages differ, the decisions do not.
    #[test]
    fn engines_that_word_it_differently_differ_in_messages_only() {
        let s = suite();
        let psa = Profile::Psa;
        let kyverno: Profile = "kyverno@v1.19".parse().unwrap();
        let cases_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../cases");
        let policies = crate::policy::DefaultPolicies::for_run(&[], Some(&cases_dir)).unwrap();
        let targets = Targets::in_process(&[psa.clone(), kyverno.clone()])
            .unwrap()
            .with_policies(policies);
        let side = |profile: &Profile| Side {
            label: profile.to_string(),
            profile: profile.clone(),
            targets: &targets,
        };
        let shared = scenarios(&s, &psa, &kyverno, &Filter::default());
        let (a, b) = (side(&psa), side(&kyverno));
        let messages = run(&shared, &a, &b, Compare::Messages, 2);
        assert!(messages.errors.is_empty(), "{}", human(&messages));
        // Every denied scenario is worded differently; the allowed Pod has no text.
        assert_eq!(messages.differences.len(), 8, "{}", human(&messages));
        assert!(human(&messages).contains("message"), "{}", human(&messages));
        let decisions = run(&shared, &a, &b, Compare::Decisions, 2);
        assert!(decisions.agrees(), "{}", human(&decisions));
        assert_eq!(decisions.compared, 9);
    }

    fn scenarios_of(s: &Suite, a: &Profile, b: &Profile) -> usize {
        scenarios(s, a, b, &Filter::default()).len()
    }
}
