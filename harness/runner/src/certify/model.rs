//! The certification report's data: what was certified (harness, corpus, engine, run),
//! the two scores (decisions and messages, kept apart), the control x version x kind
//! matrix, every failure with its expected and actual text, and what could not be
//! expressed on the target. `report.json` is this structure (schema:
//! `schema/certification-report.schema.json`); the Markdown, HTML and badge are views.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::judge::Problem;
use crate::run::{TrialResult, TrialStatus};

/// The report format's identifier; a change that breaks readers bumps the version.
pub const SCHEMA: &str = "https://pss-harness.io/schema/certification-report/v1";

/// A certification report.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub schema: String,
    pub harness: Harness,
    pub corpus: Corpus,
    pub engine: Engine,
    pub run: RunInfo,
    pub verdict: Verdict,
    pub matrix: Vec<Cell>,
    pub failures: Vec<Failure>,
    pub not_applicable: Vec<NotApplicable>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Harness {
    pub name: String,
    pub version: String,
}

/// The corpus the engine was judged by: its SHA-256 (see [`super::corpus`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Corpus {
    pub sha256: String,
    pub files: usize,
    pub cases: usize,
    /// The folders and files hashed, as given to the run.
    pub roots: Vec<String>,
}

/// What was certified.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Engine {
    /// The profile that judged it (`psa`, `kyverno@v1.19`, a profile file's name).
    pub profile: String,
    /// A profile file's path and SHA-256, when the profile was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_file: Option<ProfileFileRef>,
    /// `in-process`, `webhook` or `cluster`.
    pub target: String,
    /// The target's own description.
    pub description: Option<String>,
    /// The webhook URL or the API server's.
    pub endpoint: Option<String>,
    /// The validating webhook's name, when the harness registered it.
    pub webhook: Option<String>,
    /// The API server's version (`v1.37.2`), for a cluster.
    pub server_version: Option<String>,
    /// The vendor's name and version for the engine (`--engine-name`, `--engine-version`).
    pub name: Option<String>,
    pub version: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ProfileFileRef {
    pub path: String,
    pub sha256: String,
}

/// When and how the run was made.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RunInfo {
    /// RFC 3339, UTC.
    pub date: String,
    /// The command line, shell-quoted.
    pub command: String,
    pub duration_seconds: f64,
    pub trials: usize,
}

/// Decisions and messages, scored apart. The engine is certified when every judged
/// decision conforms (and at least one was judged).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub certified: bool,
    pub decisions: Score,
    pub messages: MessageScores,
}

/// Messages, two ways: each scenario's text against the harness's reference engine, and
/// each case's golden snapshot (every kind and version of it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MessageScores {
    pub conforms: bool,
    pub scenarios: Score,
    pub goldens: Score,
    /// Snapshots `--goldens record` wrote (not judged).
    pub recorded: usize,
}

/// Counts of one aspect.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Score {
    pub conforming: usize,
    pub non_conforming: usize,
    /// Not expressible on the target, or not judged for this profile.
    pub not_applicable: usize,
    /// Conforming by an expectation that records a known divergence from upstream PSA.
    pub known_divergences: usize,
    /// `conforming / (conforming + nonConforming)`, in percent (100 when nothing was
    /// judged).
    pub percent: f64,
}

impl Score {
    pub fn judged(&self) -> usize {
        self.conforming + self.non_conforming
    }

    fn finish(mut self) -> Score {
        self.percent = match self.judged() {
            0 => 100.0,
            n => (self.conforming as f64 * 10000.0 / n as f64).floor() / 100.0,
        };
        self
    }
}

/// One cell of the matrix: a control at a version as a kind.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Cell {
    pub control: String,
    pub version: String,
    pub kind: String,
    pub decisions: Counts,
    pub messages: Counts,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub conforming: usize,
    pub non_conforming: usize,
    pub not_applicable: usize,
}

impl Counts {
    fn add(&mut self, status: Aspect) {
        match status {
            Aspect::Conforming => self.conforming += 1,
            Aspect::NonConforming => self.non_conforming += 1,
            Aspect::NotApplicable => self.not_applicable += 1,
        }
    }

    /// `conforming`, `non-conforming`, `not-applicable` or `mixed` for colouring.
    pub fn state(&self) -> &'static str {
        match (self.conforming, self.non_conforming) {
            (0, 0) => "not-applicable",
            (_, 0) => "conforming",
            (0, _) => "non-conforming",
            _ => "mixed",
        }
    }
}

/// One trial's failure in one aspect, with the texts to compare.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// The trial name (`[psa] <scenario id>` or `<case>/golden/<profile>`).
    pub trial: String,
    pub case: String,
    pub control: String,
    pub version: Option<String>,
    pub kind: Option<String>,
    /// `decision` or `message`.
    pub aspect: String,
    pub problems: Vec<ProblemText>,
}

/// A problem in words, with the expected and actual texts when it has them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ProblemText {
    /// The judge's problem kind (`decision`, `reasons`, `golden`, `message`, ...).
    pub problem: String,
    pub summary: String,
    pub expected: Option<String>,
    pub actual: Option<String>,
}

/// Scenarios the target could not express, by reason.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NotApplicable {
    pub reason: String,
    pub count: usize,
    /// The first few trial names.
    pub examples: Vec<String>,
}

/// How one trial scored in one aspect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aspect {
    Conforming,
    NonConforming,
    NotApplicable,
}

/// Whether a problem is about the decision (allowed or not, why, the refusal's status, or
/// no answer at all) rather than the wording.
pub fn is_decision_problem(problem: &Problem) -> bool {
    matches!(
        problem,
        Problem::Decision { .. }
            | Problem::Reasons { .. }
            | Problem::Rules { .. }
            | Problem::Status { .. }
            | Problem::Target { .. }
    )
}

/// A problem in words.
pub fn problem_text(problem: &Problem) -> ProblemText {
    let kind = serde_json::to_value(problem)
        .ok()
        .and_then(|v| v["problem"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "problem".to_owned());
    let (expected, actual) = match problem {
        Problem::Decision { expected, actual } | Problem::Status { expected, actual } => {
            (Some(expected.clone()), Some(actual.clone()))
        }
        Problem::Reasons { expected, actual } | Problem::Rules { expected, actual } => {
            (Some(expected.join(", ")), Some(actual.join(", ")))
        }
        Problem::Contains { needle, actual } => (Some(needle.clone()), actual.clone()),
        Problem::Matches { pattern, actual } => (Some(pattern.clone()), actual.clone()),
        Problem::Audit { expected, actual } => {
            (Some(format!("{expected:?}")), Some(format!("{actual:?}")))
        }
        Problem::Target { error } => (None, Some(error.clone())),
        other => match other.diff_pair() {
            Some((e, a)) => (Some(e), Some(a)),
            None => (None, None),
        },
    };
    ProblemText {
        problem: kind,
        summary: problem.to_string(),
        expected,
        actual,
    }
}

/// A scenario trial's decision aspect.
pub fn decision_aspect(result: &TrialResult) -> Aspect {
    match &result.status {
        TrialStatus::Passed | TrialStatus::KnownDivergence { .. } => Aspect::Conforming,
        TrialStatus::Skipped { .. } | TrialStatus::NotApplicable { .. } => Aspect::NotApplicable,
        TrialStatus::Failed { problems } => match problems.iter().any(is_decision_problem) {
            true => Aspect::NonConforming,
            false => Aspect::Conforming,
        },
    }
}

/// Not-applicable scenarios grouped by cause and the target's words (most frequent
/// first), a controller's pod-template paths folded so one reason covers every kind.
pub fn not_applicable(results: &[TrialResult]) -> Vec<NotApplicable> {
    let mut by_reason: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in results {
        if let TrialStatus::NotApplicable { why, reason } = &r.status {
            let key = format!("{why}: {}", crate::report::fold_template_paths(reason));
            by_reason.entry(key).or_default().push(r.name());
        }
    }
    let mut out: Vec<NotApplicable> = by_reason
        .into_iter()
        .map(|(reason, names)| NotApplicable {
            reason,
            count: names.len(),
            examples: names.into_iter().take(3).collect(),
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
    out
}

/// Accumulates per-cell counts and per-aspect scores.
#[derive(Debug, Default)]
pub struct Tally {
    pub cells: BTreeMap<(usize, pss::Version, usize), (Counts, Counts)>,
    pub decisions: Score,
    pub scenario_messages: Score,
    pub goldens: Score,
    pub recorded: usize,
}

impl Tally {
    /// Count a scenario trial in its cell (control and kind by their order).
    pub fn scenario(
        &mut self,
        key: (usize, pss::Version, usize),
        decision: Aspect,
        message: Aspect,
        diverged: bool,
    ) {
        let cell = self.cells.entry(key).or_default();
        cell.0.add(decision);
        cell.1.add(message);
        add(&mut self.decisions, decision);
        if diverged {
            self.decisions.known_divergences += 1;
        }
        add(&mut self.scenario_messages, message);
    }

    pub fn golden(&mut self, aspect: Aspect) {
        add(&mut self.goldens, aspect);
    }

    pub fn finish(self) -> (Score, Score, Score) {
        (
            self.decisions.finish(),
            self.scenario_messages.finish(),
            self.goldens.finish(),
        )
    }
}

fn add(score: &mut Score, aspect: Aspect) {
    match aspect {
        Aspect::Conforming => score.conforming += 1,
        Aspect::NonConforming => score.non_conforming += 1,
        Aspect::NotApplicable => score.not_applicable += 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_is_floored_to_hundredths_and_full_when_nothing_was_judged() {
        let s = Score {
            conforming: 2,
            non_conforming: 1,
            ..Score::default()
        }
        .finish();
        assert_eq!(s.percent, 66.66);
        assert_eq!(Score::default().finish().percent, 100.0);
    }

    #[test]
    fn problems_are_sorted_into_decisions_and_messages() {
        let d = Problem::Decision {
            expected: "denied".into(),
            actual: "allowed".into(),
        };
        let m = Problem::Text {
            field: "message".into(),
            expected: "a".into(),
            actual: Some("b".into()),
        };
        assert!(is_decision_problem(&d) && !is_decision_problem(&m));
        let t = problem_text(&m);
        assert_eq!(t.problem, "text");
        assert_eq!(
            (t.expected.as_deref(), t.actual.as_deref()),
            (Some("a"), Some("b"))
        );
        assert_eq!(problem_text(&d).summary, "expected denied, got allowed");
    }

    #[test]
    fn not_applicable_trials_group_by_cause_and_folded_reason() {
        let inexpressible = |id: &str, kind: pss::Kind, path: &str| TrialResult {
            id: id.into(),
            profile: "psa".into(),
            case: "c".into(),
            kind: Some(kind),
            version: Some(pss::Version::Latest),
            status: TrialStatus::NotApplicable {
                why: crate::target::Inexpressible::InvalidObject,
                reason: format!("{path}x: Forbidden"),
            },
            message: None,
        };
        let groups = not_applicable(&[
            inexpressible("a", pss::Kind::Job, "spec.template.spec."),
            inexpressible(
                "b",
                pss::Kind::CronJob,
                "spec.jobTemplate.spec.template.spec.",
            ),
            inexpressible("c", pss::Kind::Pod, "spec."),
        ]);
        assert_eq!(groups.len(), 1, "{groups:?}");
        assert_eq!(groups[0].count, 3);
        assert_eq!(
            groups[0].reason,
            "the API server's validation rejects the object before admission: spec.x: Forbidden"
        );
    }

    #[test]
    fn cells_say_how_to_colour_them() {
        let mut c = Counts::default();
        assert_eq!(c.state(), "not-applicable");
        c.add(Aspect::Conforming);
        assert_eq!(c.state(), "conforming");
        c.add(Aspect::NonConforming);
        assert_eq!(c.state(), "mixed");
    }
}
