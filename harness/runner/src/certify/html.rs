//! `report.html`: the Markdown report's content as one self-contained page (inline CSS, no
//! scripts, no external assets), readable offline. The control x version matrix is a grid
//! of coloured cells (a tooltip gives each cell's counts), the control x kind matrix a
//! coloured table; failures fold open with their expected and actual texts.

use std::fmt::Write as _;

use super::model::{Counts, Failure, Report, Score};
use super::{markdown, views};

const STYLE: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:80em;
  padding:0 1em;color:#1f2328;background:#fff}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;margin:.6em 0}
th,td{border:1px solid #d0d7de;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f6f8fa}
.facts td:first-child{font-weight:600;white-space:nowrap}
.facts td{word-break:break-all}
.verdict{padding:.6em 1em;border-radius:6px;font-size:1.1em}
.verdict.yes{background:#dafbe1;border:1px solid #2da44e}
.verdict.no{background:#ffebe9;border:1px solid #cf222e}
.num{text-align:right;font-variant-numeric:tabular-nums}
.grid td{padding:0;width:1.3em;height:1.3em;text-align:center;font-size:11px}
.grid th.v{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:400;font-size:11px;padding:.3em 0}
.conforming{background:#2da44e;color:#fff}
.non-conforming{background:#cf222e;color:#fff}
.mixed{background:#bf8700;color:#fff}
.not-applicable{background:#eaeef2;color:#57606a}
.legend span{display:inline-block;padding:0 .5em;margin-right:.5em;border-radius:3px}
details{margin:.3em 0}summary{cursor:pointer}
pre{background:#f6f8fa;padding:.5em;overflow-x:auto;white-space:pre-wrap;margin:.3em 0}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
";

/// The HTML report.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let title = views::title(report);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>PSS certification: {}</title><style>{STYLE}</style></head><body>\n",
        esc(title)
    );
    let _ = writeln!(
        out,
        "<h1>Pod Security Standards certification: {}</h1>",
        esc(title)
    );
    let class = match report.verdict.certified {
        true => "yes",
        false => "no",
    };
    let verdict = markdown::verdict_line(report).replace("**", "");
    let _ = writeln!(
        out,
        "<p id=\"verdict\" class=\"verdict {class}\">{}</p>",
        esc(&verdict)
    );
    facts(&mut out, report);
    scores(&mut out, report);
    legend(&mut out);
    by_version(&mut out, report);
    by_kind(&mut out, report);
    failures(&mut out, &report.failures);
    not_applicable(&mut out, report);
    let _ = writeln!(
        out,
        "<h2>Reproduce</h2><p>With pss-harness {} and a corpus whose SHA-256 is \
         <code>{}</code>:</p><pre><code>{}</code></pre>",
        esc(&report.harness.version),
        esc(&report.corpus.sha256),
        esc(&report.run.command)
    );
    out.push_str("</body></html>\n");
    out
}

fn facts(out: &mut String, report: &Report) {
    out.push_str("<table class=\"facts\" id=\"facts\">\n");
    for (label, value) in views::facts(report) {
        let _ = writeln!(out, "<tr><td>{label}</td><td>{}</td></tr>", esc(&value));
    }
    out.push_str("</table>\n");
}

fn scores(out: &mut String, report: &Report) {
    out.push_str(
        "<h2>Scores</h2><table id=\"scores\"><tr><th>Aspect</th><th>Conforming</th>\
         <th>Not conforming</th><th>Not applicable</th><th>Score</th></tr>\n",
    );
    for (label, score) in views::score_rows(report) {
        score_row(out, label, score);
    }
    out.push_str("</table>\n");
}

fn score_row(out: &mut String, label: &str, s: &Score) {
    let class = match (s.judged(), s.non_conforming) {
        (0, _) => "not-applicable",
        (_, 0) => "conforming",
        _ => "non-conforming",
    };
    let _ = writeln!(
        out,
        "<tr><td>{label}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td><td class=\"num {class}\">{}</td></tr>",
        s.conforming,
        s.non_conforming,
        s.not_applicable,
        markdown::percent(s)
    );
}

fn legend(out: &mut String) {
    out.push_str(
        "<p class=\"legend\"><span class=\"conforming\">every decision conforms</span>\
         <span class=\"mixed\">some do not</span><span class=\"non-conforming\">none do</span>\
         <span class=\"not-applicable\">not applicable</span> ✓ / ✗ mark the messages.</p>\n",
    );
}

fn by_version(out: &mut String, report: &Report) {
    let versions = views::versions(report);
    out.push_str(
        "<h2>Matrix: control x version</h2><p>All kinds; hover a cell for its counts.</p>\
         <table class=\"grid\" id=\"matrix-version\"><tr><th>Control</th>",
    );
    for v in &versions {
        let _ = write!(out, "<th class=\"v\">{v}</th>");
    }
    out.push_str("</tr>\n");
    for (control, row) in views::by_version(report) {
        let name = views::control_name(control);
        let _ = write!(out, "<tr><th>{name}</th>");
        for v in &versions {
            match row.get(v) {
                Some((d, m)) => grid_cell(out, &format!("{name} {v}"), d, m),
                None => out.push_str("<td></td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

fn grid_cell(out: &mut String, label: &str, d: &Counts, m: &Counts) {
    let mark = match (m.non_conforming, m.conforming) {
        (0, 0) => "",
        (0, _) => "✓",
        _ => "✗",
    };
    let _ = write!(
        out,
        "<td class=\"{state}\" data-state=\"{state}\" title=\"{}: decisions {}, messages {}, \
         not applicable {}\">{mark}</td>",
        esc(label),
        views::ratio(d),
        views::ratio(m),
        d.not_applicable,
        state = d.state(),
    );
}

fn by_kind(out: &mut String, report: &Report) {
    let kinds = views::kinds(report);
    out.push_str(
        "<h2>Matrix: control x kind</h2><p>Conforming of judged decisions (all versions); \
         messages after the slash mark.</p><table id=\"matrix-kind\"><tr><th>Control</th>",
    );
    for k in &kinds {
        let _ = write!(out, "<th>{}</th>", views::kind_name(*k));
    }
    out.push_str("</tr>\n");
    for (control, row) in views::by_kind(report) {
        let _ = write!(out, "<tr><th>{}</th>", views::control_name(control));
        for k in &kinds {
            match row.get(k) {
                Some((d, m)) => {
                    let _ = write!(
                        out,
                        "<td class=\"num {state}\" data-state=\"{state}\" title=\"messages {}\">{}</td>",
                        views::ratio(m),
                        views::ratio(d),
                        state = d.state()
                    );
                }
                None => out.push_str("<td></td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

fn failures(out: &mut String, failures: &[Failure]) {
    let decisions = failures.iter().filter(|f| f.aspect == "decision").count();
    let _ = writeln!(
        out,
        "<h2>Failures</h2><p id=\"failure-count\">{decisions} decision failures, {} message \
         failures.</p>",
        failures.len() - decisions
    );
    for f in failures {
        let _ = write!(
            out,
            "<details class=\"failure {}\"><summary><b>{}</b> <code>{}</code></summary>",
            esc(&f.aspect),
            esc(&f.aspect),
            esc(&f.trial)
        );
        for p in &f.problems {
            let _ = write!(out, "<p>{}</p>", esc(&p.summary));
            for (label, text) in [("expected", &p.expected), ("actual", &p.actual)] {
                if let Some(text) = text {
                    let _ = write!(
                        out,
                        "<div>{label}:</div><pre><code>{}</code></pre>",
                        esc(text)
                    );
                }
            }
        }
        out.push_str("</details>\n");
    }
}

fn not_applicable(out: &mut String, report: &Report) {
    if report.not_applicable.is_empty() {
        return;
    }
    out.push_str(
        "<h2>Not applicable on this target</h2><p>Never counted as passes.</p><table>\
         <tr><th>Trials</th><th>Reason</th><th>For example</th></tr>\n",
    );
    for n in &report.not_applicable {
        let _ = writeln!(
            out,
            "<tr><td class=\"num\">{}</td><td>{}</td><td><code>{}</code></td></tr>",
            n.count,
            esc(&n.reason),
            esc(n.examples.first().map_or("", String::as_str))
        );
    }
    out.push_str("</table>\n");
}

/// HTML-escape text for element content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("pods \"a\" <b> & 'c'"),
            "pods &quot;a&quot; &lt;b&gt; &amp; &#39;c&#39;"
        );
    }
}
