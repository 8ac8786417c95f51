//! Reports: views over `[TrialResult]`. Human (failures with coloured diffs, then the
//! summary line `N passed, N failed, N skipped`), JSON, and JUnit XML.

use std::fmt::Write as _;

use owo_colors::OwoColorize;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use similar::{ChangeTag, TextDiff};

use crate::judge::Problem;
use crate::run::{Summary, TrialResult, TrialStatus};
use crate::target::Inexpressible;

/// The human report. `color` adds ANSI styles (the caller strips them for non-terminals);
/// `target` names what answered (a live target: its endpoint and server version).
pub fn human(results: &[TrialResult], color: bool, target: Option<&str>) -> String {
    let mut out = String::new();
    if let Some(target) = target {
        let _ = writeln!(out, "target: {target}");
    }
    let mut i = 0;
    while i < results.len() {
        let r = &results[i];
        match &r.status {
            TrialStatus::Failed { problems } => failure(&mut out, r, problems, color),
            TrialStatus::KnownDivergence { divergence } => {
                let run = divergence_run(&results[i..], divergence);
                divergences(&mut out, &results[i..i + run], divergence, color);
                i += run;
                continue;
            }
            TrialStatus::Passed
            | TrialStatus::Skipped { .. }
            | TrialStatus::NotApplicable { .. } => {}
        }
        i += 1;
    }
    not_applicable(&mut out, results);
    let _ = writeln!(out, "{}", Summary::of(results));
    out
}

/// The scenarios the target could not express, grouped by cause (a short fixed list,
/// see [`Inexpressible`]), then by case: its kinds, how many versions, and the target's
/// own words (a validation error is shown with the pod-template path folded, so it reads
/// alike for every controller kind).
fn not_applicable(out: &mut String, results: &[TrialResult]) {
    let groups = not_applicable_groups(results);
    if groups.is_empty() {
        return;
    }
    let trials: usize = groups
        .values()
        .flat_map(|c| c.values())
        .map(|c| c.trials)
        .sum();
    let cases: usize = groups.values().map(|c| c.len()).sum();
    let _ = writeln!(
        out,
        "not applicable on this target: {trials} trials of {cases} cases, {} causes \
         (docs/cluster.md says why each is inexpressible):",
        groups.len()
    );
    for (why, cases) in &groups {
        let trials: usize = cases.values().map(|c| c.trials).sum();
        let _ = writeln!(out, "  {why}: {trials} trials of {} cases", cases.len());
        for (case, c) in cases.iter().take(MAX_CASES_PER_CAUSE) {
            let kinds: Vec<&str> = c.kinds.iter().map(|k| k.as_str()).collect();
            let _ = writeln!(
                out,
                "    {case} ({}, {} version{}): {}",
                match kinds.is_empty() {
                    true => "golden".to_owned(),
                    false => kinds.join(", "),
                },
                c.versions.len(),
                if c.versions.len() == 1 { "" } else { "s" },
                shorten(&c.detail, 160)
            );
        }
        if cases.len() > MAX_CASES_PER_CAUSE {
            let _ = writeln!(
                out,
                "    ... and {} more cases (the JSON report lists every trial)",
                cases.len() - MAX_CASES_PER_CAUSE
            );
        }
    }
}

const MAX_CASES_PER_CAUSE: usize = 8;

/// The not-applicable trials of one case under one cause.
#[derive(Debug, Default)]
struct NotApplicableCase {
    kinds: std::collections::BTreeSet<pss::Kind>,
    versions: std::collections::BTreeSet<String>,
    trials: usize,
    /// The first trial's words (folded).
    detail: String,
}

type NotApplicableGroups = std::collections::BTreeMap<
    Inexpressible,
    std::collections::BTreeMap<String, NotApplicableCase>,
>;

fn not_applicable_groups(results: &[TrialResult]) -> NotApplicableGroups {
    let mut groups = NotApplicableGroups::new();
    for r in results {
        let TrialStatus::NotApplicable { why, reason } = &r.status else {
            continue;
        };
        let entry = groups
            .entry(*why)
            .or_default()
            .entry(format!("[{}] {}", r.profile, r.case))
            .or_default();
        if entry.trials == 0 {
            entry.detail = fold_template_paths(reason);
        }
        entry.kinds.extend(r.kind);
        entry.versions.insert(
            r.version
                .map_or_else(|| "all".to_owned(), |v| v.to_string()),
        );
        entry.trials += 1;
    }
    groups
}

/// One line of at most `max` characters (whitespace runs folded), with an ellipsis when
/// cut.
fn shorten(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &line[..at]),
        None => line,
    }
}

/// `spec.jobTemplate.spec.template.spec.x` and `spec.template.spec.x` (a controller's pod
/// template) read as the pod's `spec.x`, so one validation reason reads alike per kind.
pub fn fold_template_paths(reason: &str) -> String {
    reason
        .replace("spec.jobTemplate.spec.template.spec.", "spec.")
        .replace("spec.template.spec.", "spec.")
        .replace("template.spec.", "spec.")
}

/// How many results from the first share its profile, case, version and divergence.
fn divergence_run(results: &[TrialResult], divergence: &str) -> usize {
    let first = &results[0];
    results
        .iter()
        .take_while(|r| {
            r.profile == first.profile
                && r.case == first.case
                && r.version == first.version
                && matches!(&r.status, TrialStatus::KnownDivergence { divergence: d } if d == divergence)
        })
        .count()
}

/// One line for a run of known divergences: the first trial's name, or the case at its
/// version with the kinds in parentheses when several kinds diverge alike.
fn divergences(out: &mut String, run: &[TrialResult], divergence: &str, color: bool) {
    let head = paint(color, "DIVERGENCE", |s| s.yellow().bold().to_string());
    let name = match (run, run.first().and_then(|r| r.version)) {
        ([one], _) | ([one, ..], None) => one.name(),
        ([first, ..], Some(version)) => {
            let kinds: Vec<&str> = run
                .iter()
                .filter_map(|r| r.kind)
                .map(|k| k.as_str())
                .collect();
            format!(
                "[{}] {}@{version} ({})",
                first.profile,
                first.case,
                kinds.join(", ")
            )
        }
        ([], _) => return,
    };
    let _ = writeln!(out, "{head} {name}: {divergence}");
}

fn failure(out: &mut String, r: &TrialResult, problems: &[Problem], color: bool) {
    let summary: Vec<String> = problems.iter().map(Problem::to_string).collect();
    let head = paint(color, "FAIL", |s| s.red().bold().to_string());
    let _ = writeln!(out, "{head} {}: {}", r.name(), summary.join("; "));
    for p in problems {
        if let Some((expected, actual)) = p.diff_pair() {
            out.push_str(&diff(&expected, &actual, color));
        }
    }
}

fn paint(color: bool, text: &str, style: impl Fn(&str) -> String) -> String {
    if color { style(text) } else { text.to_owned() }
}

/// A line diff of expected (`-`) against actual (`+`), indented; changed words are
/// emphasised when colour is on.
pub fn diff(expected: &str, actual: &str, color: bool) -> String {
    let diff = TextDiff::from_lines(expected, actual);
    let mut out = String::new();
    for op in diff.ops() {
        for change in diff.iter_inline_changes(op) {
            let (sign, tag) = match change.tag() {
                ChangeTag::Equal => (" ", ChangeTag::Equal),
                ChangeTag::Delete => ("-", ChangeTag::Delete),
                ChangeTag::Insert => ("+", ChangeTag::Insert),
            };
            let mut line = String::new();
            for (emphasised, text) in change.iter_strings_lossy() {
                let text = text.trim_end_matches(['\n', '\r']);
                line.push_str(&style_segment(color, tag, emphasised, text));
            }
            let sign = style_segment(color, tag, false, sign);
            let _ = writeln!(out, "    {sign} {line}");
        }
    }
    out
}

fn style_segment(color: bool, tag: ChangeTag, emphasised: bool, text: &str) -> String {
    if !color {
        return text.to_owned();
    }
    match (tag, emphasised) {
        (ChangeTag::Equal, _) => text.dimmed().to_string(),
        (ChangeTag::Delete, false) => text.red().to_string(),
        (ChangeTag::Delete, true) => text.red().bold().underline().to_string(),
        (ChangeTag::Insert, false) => text.green().to_string(),
        (ChangeTag::Insert, true) => text.green().bold().underline().to_string(),
    }
}

/// The JSON report: `{"summary": {...}, "trials": [...]}`.
pub fn json(results: &[TrialResult], target: Option<&str>) -> String {
    let value =
        serde_json::json!({ "target": target, "summary": Summary::of(results), "trials": results });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// The JUnit report: one suite per profile, one test case per trial (class = case id).
pub fn junit(
    results: &[TrialResult],
    target: Option<&str>,
) -> Result<String, quick_junit::SerializeError> {
    let mut report = Report::new("pss-harness");
    let mut profiles: Vec<&str> = results.iter().map(|r| r.profile.as_str()).collect();
    profiles.sort_unstable();
    profiles.dedup();
    for profile in profiles {
        let mut suite = TestSuite::new(profile);
        if let Some(target) = target {
            suite.add_property(quick_junit::Property::new("target", target));
        }
        for r in results.iter().filter(|r| r.profile == profile) {
            let mut tc = TestCase::new(r.id.clone(), junit_status(r));
            tc.set_classname(r.case.clone());
            if let TrialStatus::KnownDivergence { divergence } = &r.status {
                tc.set_system_out(format!("known divergence: {divergence}"));
            }
            suite.add_test_case(tc);
        }
        report.add_test_suite(suite);
    }
    report.to_string()
}

fn junit_status(r: &TrialResult) -> TestCaseStatus {
    match &r.status {
        TrialStatus::Passed | TrialStatus::KnownDivergence { .. } => TestCaseStatus::success(),
        TrialStatus::Skipped { reason } => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(reason.clone());
            s
        }
        TrialStatus::NotApplicable { why, reason } => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(format!("not applicable: {why}: {reason}"));
            s
        }
        TrialStatus::Failed { problems } => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let summary: Vec<String> = problems.iter().map(Problem::to_string).collect();
            s.set_message(summary.join("; "));
            let details: String = problems
                .iter()
                .filter_map(Problem::diff_pair)
                .map(|(e, a)| diff(&e, &a, false))
                .collect();
            if !details.is_empty() {
                s.set_description(details);
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(status: TrialStatus) -> TrialResult {
        TrialResult {
            id: "baseline/p/c@latest/Pod".into(),
            profile: "psa".into(),
            case: "baseline/p/c".into(),
            kind: Some(pss::Kind::Pod),
            version: Some(pss::Version::Latest),
            status,
            message: None,
        }
    }

    fn text_problem() -> Problem {
        Problem::Text {
            field: "message".into(),
            expected: "pods \"a\" is forbidden".into(),
            actual: Some("pods \"b\" is forbidden".into()),
        }
    }

    #[test]
    fn human_lists_failures_with_a_diff_and_ends_with_the_summary() {
        let results = [
            result(TrialStatus::Passed),
            result(TrialStatus::Failed {
                problems: vec![text_problem()],
            }),
            result(TrialStatus::Skipped {
                reason: "n/a".into(),
            }),
        ];
        let text = human(&results, false, None);
        assert_eq!(
            text,
            "FAIL [psa] baseline/p/c@latest/Pod: message differs
    - pods \"a\" is forbidden
    + pods \"b\" is forbidden
1 passed, 1 failed, 1 skipped
"
        );
        assert!(human(&results, true, None).contains("\u{1b}["));
    }

    #[test]
    fn divergences_of_one_case_share_a_line() {
        let diverged = |kind| TrialResult {
            id: format!("baseline/p/c@latest/{kind}"),
            profile: "kyverno@v1.19".into(),
            kind: pss::Kind::from_kind(kind),
            status: TrialStatus::KnownDivergence {
                divergence: "why".into(),
            },
            ..result(TrialStatus::Passed)
        };
        let results = [
            diverged("Pod"),
            diverged("Job"),
            result(TrialStatus::Passed),
            diverged("CronJob"),
        ];
        assert_eq!(
            human(&results, false, None),
            "DIVERGENCE [kyverno@v1.19] baseline/p/c@latest (Pod, Job): why
DIVERGENCE [kyverno@v1.19] baseline/p/c@latest/CronJob: why
1 passed, 0 failed, 0 skipped, 3 known divergences
"
        );
        let xml = junit(&results, None).unwrap();
        assert!(xml.contains("known divergence: why"), "{xml}");
    }

    #[test]
    fn junit_and_json_shapes() {
        let results = [
            result(TrialStatus::Passed),
            result(TrialStatus::Failed {
                problems: vec![text_problem()],
            }),
        ];
        let xml = junit(&results, None).unwrap();
        assert!(xml.contains("<testsuite name=\"psa\" tests=\"2\""), "{xml}");
        assert!(
            xml.contains("<failure message=\"message differs\""),
            "{xml}"
        );
        let v: serde_json::Value = serde_json::from_str(&json(&results, None)).unwrap();
        assert_eq!(v["summary"]["failed"], 1);
        assert_eq!(v["trials"][1]["status"], "failed");
        assert_eq!(v["trials"][1]["problems"][0]["problem"], "text");
        assert_eq!(v["trials"][0]["kind"], "Pod");
    }
}
