//! What the Markdown and HTML views share: the report's facts as label/value rows, the
//! matrix folded to control x kind and to control x version, and version runs.

use std::collections::BTreeMap;

use super::model::{Counts, Report, Score};

/// What the report certifies: the engine's name, else its profile.
pub fn title(report: &Report) -> &str {
    report
        .engine
        .name
        .as_deref()
        .unwrap_or(&report.engine.profile)
}

/// The score table's rows, in order: decisions, then the two message scores.
pub fn score_rows(report: &Report) -> [(&'static str, &Score); 3] {
    let m = &report.verdict.messages;
    [
        ("Decisions", &report.verdict.decisions),
        (
            "Messages, per scenario (vs the reference engine)",
            &m.scenarios,
        ),
        ("Messages, golden snapshots (per case)", &m.goldens),
    ]
}

/// The facts that make a report reproducible, as rows.
pub fn facts(report: &Report) -> Vec<(&'static str, String)> {
    let e = &report.engine;
    let mut rows = Vec::new();
    if let Some(name) = &e.name {
        let version = e.version.as_deref().unwrap_or("");
        rows.push(("Engine", format!("{name} {version}").trim().to_owned()));
    } else if let Some(version) = &e.version {
        rows.push(("Engine version", version.clone()));
    }
    rows.push(("Profile", e.profile.clone()));
    if let Some(file) = &e.profile_file {
        rows.push((
            "Profile file",
            format!("{} (sha256 {})", file.path, file.sha256),
        ));
    }
    rows.push(("Target", e.target.clone()));
    if let Some(d) = &e.description {
        rows.push(("Target description", d.clone()));
    }
    if let Some(v) = &e.endpoint {
        rows.push(("Endpoint", v.clone()));
    }
    if let Some(v) = &e.webhook {
        rows.push(("Webhook", v.clone()));
    }
    if let Some(v) = &e.server_version {
        rows.push(("API server", v.clone()));
    }
    rows.push((
        "Harness",
        format!("{} {}", report.harness.name, report.harness.version),
    ));
    rows.push((
        "Corpus",
        format!(
            "sha256 {} ({} files, {} cases; {})",
            report.corpus.sha256,
            report.corpus.files,
            report.corpus.cases,
            report.corpus.roots.join(", ")
        ),
    ));
    rows.push(("Date", report.run.date.clone()));
    rows.push((
        "Trials",
        format!(
            "{} in {:.0} s",
            report.run.trials, report.run.duration_seconds
        ),
    ));
    rows.push(("Command", report.run.command.clone()));
    rows
}

/// The matrix folded over versions: control -> kind -> decision and message counts.
pub fn by_kind(report: &Report) -> BTreeMap<usize, BTreeMap<usize, (Counts, Counts)>> {
    let mut out: BTreeMap<usize, BTreeMap<usize, (Counts, Counts)>> = BTreeMap::new();
    for cell in &report.matrix {
        let slot = out
            .entry(control_index(&cell.control))
            .or_default()
            .entry(kind_index(&cell.kind))
            .or_default();
        merge(&mut slot.0, &cell.decisions);
        merge(&mut slot.1, &cell.messages);
    }
    out
}

/// The matrix folded over kinds: control -> version -> decision and message counts.
pub fn by_version(report: &Report) -> BTreeMap<usize, BTreeMap<pss::Version, (Counts, Counts)>> {
    let mut out: BTreeMap<usize, BTreeMap<pss::Version, (Counts, Counts)>> = BTreeMap::new();
    for cell in &report.matrix {
        let Ok(version) = cell.version.parse::<pss::Version>() else {
            continue;
        };
        let slot = out
            .entry(control_index(&cell.control))
            .or_default()
            .entry(version)
            .or_default();
        merge(&mut slot.0, &cell.decisions);
        merge(&mut slot.1, &cell.messages);
    }
    out
}

/// Every version the matrix has, oldest first.
pub fn versions(report: &Report) -> Vec<pss::Version> {
    let mut v: Vec<pss::Version> = report
        .matrix
        .iter()
        .filter_map(|c| c.version.parse().ok())
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Every kind the matrix has, in the harness's kind order.
pub fn kinds(report: &Report) -> Vec<usize> {
    let mut k: Vec<usize> = report.matrix.iter().map(|c| kind_index(&c.kind)).collect();
    k.sort_unstable();
    k.dedup();
    k
}

/// Consecutive versions whose cells read the same, with their summed counts:
/// `(first, last, decisions, messages)`.
pub fn version_runs(
    versions: &BTreeMap<pss::Version, (Counts, Counts)>,
) -> Vec<(pss::Version, pss::Version, Counts, Counts)> {
    let mut runs: Vec<(pss::Version, pss::Version, Counts, Counts)> = Vec::new();
    for (&v, (d, m)) in versions {
        match runs.last_mut() {
            Some(last) if last.2.state() == d.state() && last.3.state() == m.state() => {
                last.1 = v;
                merge(&mut last.2, d);
                merge(&mut last.3, m);
            }
            _ => runs.push((v, v, *d, *m)),
        }
    }
    runs
}

/// `v1.0..v1.37` or `latest`.
pub fn range(first: pss::Version, last: pss::Version) -> String {
    match first == last {
        true => first.to_string(),
        false => format!("{first}..{last}"),
    }
}

/// `39/39` (conforming of judged), or `n/a`.
pub fn ratio(c: &Counts) -> String {
    match c.conforming + c.non_conforming {
        0 => "n/a".to_owned(),
        n => format!("{}/{n}", c.conforming),
    }
}

pub fn control_name(index: usize) -> &'static str {
    crate::control::Control::ALL
        .get(index)
        .map_or("unknown", |c| c.as_str())
}

pub fn kind_name(index: usize) -> &'static str {
    pss::Kind::ALL.get(index).map_or("unknown", |k| k.as_str())
}

fn control_index(name: &str) -> usize {
    crate::control::Control::ALL
        .iter()
        .position(|c| c.as_str() == name)
        .unwrap_or(usize::MAX)
}

fn kind_index(name: &str) -> usize {
    pss::Kind::ALL
        .iter()
        .position(|k| k.as_str() == name)
        .unwrap_or(usize::MAX)
}

fn merge(into: &mut Counts, from: &Counts) {
    into.conforming += from.conforming;
    into.non_conforming += from.non_conforming;
    into.not_applicable += from.not_applicable;
}

#[cfg(test)]
mod tests {
    use super::*;
    use pss::Version;

    fn counts(conforming: usize, non_conforming: usize) -> Counts {
        Counts {
            conforming,
            non_conforming,
            not_applicable: 0,
        }
    }

    #[test]
    fn versions_that_read_alike_form_one_run() {
        let ok = (counts(2, 0), counts(2, 0));
        let bad = (counts(1, 1), counts(2, 0));
        let versions = BTreeMap::from([
            (Version::V1(0), ok),
            (Version::V1(1), ok),
            (Version::V1(2), bad),
            (Version::Latest, ok),
        ]);
        let runs = version_runs(&versions);
        let shown: Vec<(String, String)> = runs
            .iter()
            .map(|(f, l, d, _)| (range(*f, *l), ratio(d)))
            .collect();
        assert_eq!(
            shown,
            [
                ("v1.0..v1.1".to_owned(), "4/4".to_owned()),
                ("v1.2".to_owned(), "1/2".to_owned()),
                ("latest".to_owned(), "2/2".to_owned()),
            ]
        );
        assert_eq!(ratio(&Counts::default()), "n/a");
    }
}
