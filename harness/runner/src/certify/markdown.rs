//! `report.md`: the verdict, the facts to reproduce it, the scores, the matrix (control x
//! kind, and control x version in runs of equal results), every failure with its expected
//! and actual text, and what the target could not express.

use std::fmt::Write as _;

use super::model::{Failure, Report, Score};
use super::views;

/// The Markdown report.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let title = views::title(report);
    let _ = writeln!(out, "# Pod Security Standards certification: {title}\n");
    let _ = writeln!(out, "{}\n", verdict_line(report));
    facts(&mut out, report);
    scores(&mut out, report);
    by_kind(&mut out, report);
    by_version(&mut out, report);
    failures(&mut out, &report.failures);
    not_applicable(&mut out, report);
    let _ = writeln!(
        out,
        "## Reproduce\n\nWith pss-harness {} and a corpus whose SHA-256 is `{}`:\n\n```sh\n{}\n```",
        report.harness.version, report.corpus.sha256, report.run.command
    );
    out
}

/// One line: certified or not, and the two scores.
pub fn verdict_line(report: &Report) -> String {
    let v = &report.verdict;
    let head = match v.certified {
        true => "**Certified**: every decision conforms.".to_owned(),
        false if v.decisions.judged() == 0 => {
            "**Not certified**: no decision could be judged on this target.".to_owned()
        }
        false => format!(
            "**Not certified**: {} of {} decisions do not conform.",
            v.decisions.non_conforming,
            v.decisions.judged()
        ),
    };
    let messages = match v.messages.conforms {
        true => "every judged message conforms".to_owned(),
        false => format!(
            "{} scenario messages and {} golden snapshots do not conform",
            v.messages.scenarios.non_conforming, v.messages.goldens.non_conforming
        ),
    };
    format!("{head} Messages: {messages}.")
}

fn facts(out: &mut String, report: &Report) {
    let _ = writeln!(out, "| | |\n|---|---|");
    for (label, value) in views::facts(report) {
        let value = match label {
            "Command" | "Corpus" | "Endpoint" => format!("`{}`", cell(&value)),
            _ => cell(&value),
        };
        let _ = writeln!(out, "| {label} | {value} |");
    }
    out.push('\n');
}

fn scores(out: &mut String, report: &Report) {
    let m = &report.verdict.messages;
    let _ = writeln!(
        out,
        "## Scores\n\nDecisions (allowed or refused, and the failing checks) and messages \
         (the exact texts) are scored apart; certification needs every decision.\n"
    );
    let _ = writeln!(
        out,
        "| Aspect | Conforming | Not conforming | Not applicable | Score |\n|---|---:|---:|---:|---:|"
    );
    for (label, score) in views::score_rows(report) {
        score_row(out, label, score);
    }
    if report.verdict.decisions.known_divergences > 0 {
        let _ = writeln!(
            out,
            "\n{} conforming decisions follow a known divergence from upstream PSA that the \
             cases record.",
            report.verdict.decisions.known_divergences
        );
    }
    if m.recorded > 0 {
        let _ = writeln!(
            out,
            "\n{} golden snapshots were recorded by this run (`--goldens record`), not judged.",
            m.recorded
        );
    }
    out.push('\n');
}

fn score_row(out: &mut String, label: &str, s: &Score) {
    let _ = writeln!(
        out,
        "| {label} | {} | {} | {} | {} |",
        s.conforming,
        s.non_conforming,
        s.not_applicable,
        percent(s)
    );
}

/// `99.50%`, or `n/a` when nothing was judged.
pub fn percent(s: &Score) -> String {
    match s.judged() {
        0 => "n/a".to_owned(),
        _ => format!("{:.2}%", s.percent),
    }
}

fn by_kind(out: &mut String, report: &Report) {
    let kinds = views::kinds(report);
    let _ = writeln!(
        out,
        "## Matrix: control x kind\n\nConforming of judged decisions (all versions); a \
         `msg` note counts messages that differ.\n"
    );
    let names: Vec<&str> = kinds.iter().map(|k| views::kind_name(*k)).collect();
    let _ = writeln!(out, "| Control | {} |", names.join(" | "));
    let _ = writeln!(out, "|---|{}", "---:|".repeat(kinds.len()));
    for (control, row) in views::by_kind(report) {
        let cells: Vec<String> = kinds
            .iter()
            .map(|k| match row.get(k) {
                None => "".to_owned(),
                Some((d, m)) => {
                    let mark = match d.non_conforming {
                        0 => String::new(),
                        _ => " ✗".to_owned(),
                    };
                    let msg = match m.non_conforming {
                        0 => String::new(),
                        n => format!(" (msg {n} ✗)"),
                    };
                    format!("{}{mark}{msg}", views::ratio(d))
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} |",
            views::control_name(control),
            cells.join(" | ")
        );
    }
    out.push('\n');
}

fn by_version(out: &mut String, report: &Report) {
    let _ = writeln!(
        out,
        "## Matrix: control x version\n\nAll kinds; consecutive versions that read alike are \
         one run.\n\n| Control | Versions | Decisions | Messages |\n|---|---|---:|---:|"
    );
    for (control, versions) in views::by_version(report) {
        for (first, last, d, m) in views::version_runs(&versions) {
            let _ = writeln!(
                out,
                "| {} | {} | {}{} | {} |",
                views::control_name(control),
                views::range(first, last),
                views::ratio(&d),
                if d.non_conforming > 0 { " ✗" } else { "" },
                views::ratio(&m),
            );
        }
    }
    out.push('\n');
}

fn failures(out: &mut String, failures: &[Failure]) {
    let _ = writeln!(out, "## Failures\n");
    if failures.is_empty() {
        let _ = writeln!(out, "None.\n");
        return;
    }
    let decisions = failures.iter().filter(|f| f.aspect == "decision").count();
    let _ = writeln!(
        out,
        "{decisions} decision failures, {} message failures.\n",
        failures.len() - decisions
    );
    for f in failures {
        let _ = writeln!(out, "### {}: `{}`\n", f.aspect, f.trial);
        for p in &f.problems {
            let _ = writeln!(out, "- {}", p.summary);
            for (label, text) in [("expected", &p.expected), ("actual", &p.actual)] {
                if let Some(text) = text {
                    let fence = fence_for(text);
                    let _ = writeln!(out, "\n  {label}:\n\n  {fence}text");
                    for line in text.lines() {
                        let _ = writeln!(out, "  {line}");
                    }
                    let _ = writeln!(out, "  {fence}");
                }
            }
        }
        out.push('\n');
    }
}

fn not_applicable(out: &mut String, report: &Report) {
    if report.not_applicable.is_empty() {
        return;
    }
    let total: usize = report.not_applicable.iter().map(|n| n.count).sum();
    let _ = writeln!(
        out,
        "## Not applicable on this target\n\n{total} trials could not be expressed here (never \
         counted as passes):\n"
    );
    for n in &report.not_applicable {
        let _ = writeln!(
            out,
            "- {} x {} (e.g. `{}`)",
            n.count,
            cell(&n.reason),
            n.examples.first().map_or("", String::as_str)
        );
    }
    out.push('\n');
}

/// A table cell's text: no line breaks, pipes escaped.
fn cell(text: &str) -> String {
    text.replace('\n', " ").replace('|', "\\|")
}

/// A code fence longer than any run of backticks in the text.
fn fence_for(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat((longest + 1).max(3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_outgrow_the_text_and_cells_stay_on_one_line() {
        assert_eq!(fence_for("a ``` b"), "````");
        assert_eq!(fence_for("plain"), "```");
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
