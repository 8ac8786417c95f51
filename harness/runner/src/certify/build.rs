//! Building a [`Report`] from a run: each scenario trial scored for its decision and its
//! message (the message against the harness's reference engine for the same scenario,
//! when the profile has one), each golden trial for the case's messages, cell by cell.

use std::collections::BTreeMap;
use std::sync::Arc;

use pss::Kind;

use super::model::{
    self, Aspect, Cell, Corpus, Engine, Failure, Harness, MessageScores, Report, RunInfo, Tally,
    Verdict,
};
use crate::case::Case;
use crate::control::Control;
use crate::judge;
use crate::run::{self, Item, Targets, TrialResult, TrialStatus};
use crate::scenario::Scenario;

/// What the report says about the run besides its results.
pub struct Context {
    pub corpus: Corpus,
    pub engine: Engine,
    pub run: RunInfo,
}

/// The report of a run's items and their results (in item order).
pub fn report(items: &[Item], results: &[TrialResult], targets: &Targets, ctx: Context) -> Report {
    let mut tally = Tally::default();
    let mut failures = Vec::new();
    for (item, result) in items.iter().zip(results) {
        match item {
            Item::Scenario(s) => scenario(s, result, targets, &mut tally, &mut failures),
            Item::Golden { case, .. } => golden(case, result, &mut tally, &mut failures),
        }
    }
    let recorded = tally.recorded;
    let cells = std::mem::take(&mut tally.cells);
    let (decisions, scenarios, goldens) = tally.finish();
    let messages = MessageScores {
        conforms: scenarios.non_conforming == 0 && goldens.non_conforming == 0,
        scenarios,
        goldens,
        recorded,
    };
    Report {
        schema: model::SCHEMA.to_owned(),
        harness: Harness {
            name: "pss-harness".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        corpus: ctx.corpus,
        engine: ctx.engine,
        run: ctx.run,
        verdict: Verdict {
            // Nothing judged certifies nothing (a target that could express no scenario).
            certified: decisions.non_conforming == 0 && decisions.judged() > 0,
            decisions,
            messages,
        },
        matrix: matrix(cells),
        failures,
        not_applicable: model::not_applicable(results),
    }
}

fn scenario(
    s: &Scenario,
    result: &TrialResult,
    targets: &Targets,
    tally: &mut Tally,
    failures: &mut Vec<Failure>,
) {
    let decision = model::decision_aspect(result);
    let problems = match &result.status {
        TrialStatus::Failed { problems } => problems.as_slice(),
        _ => &[],
    };
    let (decision_problems, message_problems): (Vec<_>, Vec<_>) =
        problems.iter().partition(|p| model::is_decision_problem(p));
    let base = |aspect: &str| Failure {
        trial: result.name(),
        case: s.case.id.clone(),
        control: s.case.control.as_str().to_owned(),
        version: Some(s.version.to_string()),
        kind: Some(s.case.kind_label(s.kind).to_owned()),
        aspect: aspect.to_owned(),
        problems: Vec::new(),
    };
    if !decision_problems.is_empty() {
        failures.push(Failure {
            problems: decision_problems
                .into_iter()
                .map(model::problem_text)
                .collect(),
            ..base("decision")
        });
    }
    let mut message = match decision {
        Aspect::NotApplicable => Aspect::NotApplicable,
        _ if !message_problems.is_empty() => {
            failures.push(Failure {
                problems: message_problems
                    .into_iter()
                    .map(model::problem_text)
                    .collect(),
                ..base("message")
            });
            Aspect::NonConforming
        }
        _ => Aspect::Conforming,
    };
    if message == Aspect::Conforming {
        message = match reference_message(s, targets) {
            None => Aspect::NotApplicable,
            Some(expected) if expected == result.message => Aspect::Conforming,
            Some(expected) => {
                failures.push(Failure {
                    problems: vec![model::ProblemText {
                        problem: "message".into(),
                        summary: "the message differs from the reference engine's".into(),
                        expected: Some(expected.unwrap_or_else(|| "(no message)".into())),
                        actual: Some(
                            result
                                .message
                                .clone()
                                .unwrap_or_else(|| "(no message)".into()),
                        ),
                    }],
                    ..base("message")
                });
                Aspect::NonConforming
            }
        };
    }
    let diverged = matches!(result.status, TrialStatus::KnownDivergence { .. });
    tally.scenario(cell_key(&s.case, s), decision, message, diverged);
}

/// The message the harness's own engine gives for the scenario (`Some(None)`: none);
/// `None` when the profile has no in-process engine or it cannot answer.
fn reference_message(s: &Scenario, targets: &Targets) -> Option<Option<String>> {
    if !s.profile.has_reference() {
        return None;
    }
    let server_minor = targets.get(&s.profile).and_then(|t| t.server_minor());
    let reference = targets
        .reference_for_case(&s.profile, &s.case, server_minor)
        .ok()?;
    let object = run::object_for(&s.case, s.kind).ok()?;
    let outcome = run::admit(reference.get(), &s.case, s.version, &object).ok()?;
    Some(judge::subject_message(&outcome).map(str::to_owned))
}

fn golden(case: &Arc<Case>, result: &TrialResult, tally: &mut Tally, failures: &mut Vec<Failure>) {
    let aspect = match &result.status {
        TrialStatus::Passed | TrialStatus::KnownDivergence { .. } => {
            match result.recorded_golden().is_some() {
                true => {
                    tally.recorded += 1;
                    Aspect::NotApplicable
                }
                false => Aspect::Conforming,
            }
        }
        TrialStatus::Skipped { .. } | TrialStatus::NotApplicable { .. } => Aspect::NotApplicable,
        TrialStatus::Failed { problems } => {
            failures.push(Failure {
                trial: result.name(),
                case: case.id.clone(),
                control: case.control.as_str().to_owned(),
                version: None,
                kind: None,
                aspect: "message".into(),
                problems: problems.iter().map(model::problem_text).collect(),
            });
            Aspect::NonConforming
        }
    };
    tally.golden(aspect);
}

fn cell_key(case: &Case, s: &Scenario) -> (usize, pss::Version, usize) {
    let control = Control::ALL
        .iter()
        .position(|c| *c == case.control)
        .unwrap_or(usize::MAX);
    let kind = Kind::ALL
        .iter()
        .position(|k| *k == s.kind)
        .unwrap_or(usize::MAX);
    (control, s.version, kind)
}

fn matrix(
    cells: BTreeMap<(usize, pss::Version, usize), (model::Counts, model::Counts)>,
) -> Vec<Cell> {
    cells
        .into_iter()
        .map(|((control, version, kind), (decisions, messages))| Cell {
            control: Control::ALL
                .get(control)
                .map_or("unknown", |c| c.as_str())
                .to_owned(),
            version: version.to_string(),
            kind: Kind::ALL
                .get(kind)
                .map_or("unknown", |k| k.as_str())
                .to_owned(),
            decisions,
            messages,
        })
        .collect()
}
