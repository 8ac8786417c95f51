//! Golden snapshots: the messages of one case for one profile, across its versions and
//! kinds, stored at `golden/<profile>/<case id>.snap` in insta's format.
//!
//! The snapshot stays readable by grouping: kinds whose messages agree share one block,
//! and within a block, consecutive versions whose messages are identical except for the
//! printed version share one entry, shown at the group's newest version with the range:
//!
//! ```text
//! Pod
//!   v1.0..latest
//!     pods "p" is forbidden: violates PodSecurity "baseline:latest": privileged (...)
//! PodTemplate, ReplicationController, ReplicaSet, Deployment, StatefulSet, DaemonSet, Job, CronJob
//!   v1.0..latest
//!     warning: would violate PodSecurity "baseline:latest": privileged (...)
//! ```

use std::path::{Path, PathBuf};

use pss::{Kind, Version};

use crate::case::Case;
use crate::profile::Profile;
use crate::target::Outcome;
use crate::versions;

/// The lines one outcome contributes: the refusal, then each warning.
pub fn outcome_lines(outcome: &Outcome) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(status) = outcome.status.as_ref().filter(|_| !outcome.allowed) {
        lines.push(status.message.clone());
    }
    lines.extend(outcome.warnings.iter().map(|w| format!("warning: {w}")));
    if lines.is_empty() {
        lines.push("(allowed, no message)".to_owned());
    }
    lines
}

/// The lines of one outcome of an admission case: the decision (with the refusal's status
/// and message), each warning, then each audit annotation in key order.
pub fn admission_lines(outcome: &Outcome) -> Vec<String> {
    let mut lines = Vec::new();
    match outcome.status.as_ref().filter(|_| !outcome.allowed) {
        Some(s) => lines.push(format!("denied ({} {}): {}", s.code, s.reason, s.message)),
        None if outcome.allowed => lines.push("allowed".to_owned()),
        None => lines.push("denied".to_owned()),
    }
    lines.extend(outcome.warnings.iter().map(|w| format!("warning: {w}")));
    lines.extend(
        outcome
            .audit_annotations
            .iter()
            .map(|(k, v)| format!("audit {k}: {v}")),
    );
    lines
}

/// One evaluated scenario's text, for rendering.
#[derive(Debug, Clone)]
pub struct Entry {
    pub kind: Kind,
    pub version: Version,
    pub lines: Vec<String>,
}

/// The snapshot body for a case from its entries (any order).
pub fn render(case: &Case, entries: &[Entry]) -> String {
    let blocks = kind_blocks(case, entries);
    let mut out = String::new();
    for (kinds, groups) in blocks {
        let names: Vec<&str> = kinds.iter().map(|k| case.kind_label(*k)).collect();
        out.push_str(&names.join(", "));
        out.push('\n');
        for group in groups {
            out.push_str(&format!("  {}\n", group.label));
            for line in &group.lines {
                push_indented(&mut out, line);
            }
        }
    }
    out
}

/// One message, every physical line indented by four spaces. Kyverno's texts span lines
/// (its denial is YAML, and ends with a newline); they are kept byte for byte, trailing
/// spaces included, so a blank line of a message shows as four spaces.
fn push_indented(out: &mut String, text: &str) {
    for part in text.split('\n') {
        out.push_str("    ");
        out.push_str(part);
        out.push('\n');
    }
}

/// A run of versions with the same (version-normalised) messages.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    label: String,
    /// The messages at the group's newest version.
    lines: Vec<String>,
    normalised: Vec<String>,
}

/// Kinds in the case's order, merged when their version groups are identical.
fn kind_blocks(case: &Case, entries: &[Entry]) -> Vec<(Vec<Kind>, Vec<Group>)> {
    let mut blocks: Vec<(Vec<Kind>, Vec<Group>)> = Vec::new();
    for &kind in &case.kinds {
        let mut of_kind: Vec<&Entry> = entries.iter().filter(|e| e.kind == kind).collect();
        if of_kind.is_empty() {
            continue;
        }
        of_kind.sort_by_key(|e| e.version);
        let groups = version_groups(&of_kind);
        match blocks.iter_mut().find(|(_, g)| same_text(g, &groups)) {
            Some((kinds, _)) => kinds.push(kind),
            None => blocks.push((vec![kind], groups)),
        }
    }
    blocks
}

/// Controllers share a block when only the wrapped kind differs, which PSA's warnings
/// never mention; pods never merge with controllers because their messages differ.
fn same_text(a: &[Group], b: &[Group]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.label == y.label && x.lines == y.lines)
}

fn version_groups(entries: &[&Entry]) -> Vec<Group> {
    let mut groups: Vec<(Vec<Version>, Vec<String>, Vec<String>)> = Vec::new();
    for e in entries {
        let normalised: Vec<String> = e.lines.iter().map(|l| normalise(l, e.version)).collect();
        match groups.last_mut() {
            Some((vs, lines, norm)) if *norm == normalised => {
                vs.push(e.version);
                *lines = e.lines.clone();
            }
            _ => groups.push((vec![e.version], e.lines.clone(), normalised)),
        }
    }
    groups
        .into_iter()
        .map(|(vs, lines, normalised)| Group {
            label: versions::label(&vs),
            lines,
            normalised,
        })
        .collect()
}

/// The message with the printed policy version replaced by a placeholder (quoted, or at
/// the end of the line as in `audit enforce-policy: baseline:v1.30`).
fn normalise(line: &str, version: Version) -> String {
    let line = line.replace(&format!(":{version}\""), ":{VERSION}\"");
    let suffix = format!(":{version}");
    match line.strip_suffix(&suffix) {
        Some(head) => format!("{head}:{{VERSION}}"),
        None => line,
    }
}

/// Where a case's snapshot lives: `<golden>/<profile>/<case id>.snap`.
pub fn snapshot_path(golden_dir: &Path, profile: &Profile, case: &Case) -> PathBuf {
    let (dir, name) = case.golden_parts();
    golden_dir
        .join(profile.name())
        .join(dir)
        .join(format!("{name}.snap"))
}

/// The body of a stored snapshot (after insta's `---` metadata block), if the file exists.
pub fn read_snapshot(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(snapshot_body(&text))
}

fn snapshot_body(text: &str) -> String {
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) == Some("---") {
        for line in lines.by_ref() {
            if line.trim_end() == "---" {
                break;
            }
        }
        return lines.collect::<Vec<_>>().join("\n");
    }
    text.to_owned()
}

/// insta's comparison: trailing whitespace and CRLF do not matter.
pub fn same_body(a: &str, b: &str) -> bool {
    a.trim_end().replace("\r\n", "\n") == b.trim_end().replace("\r\n", "\n")
}

/// Write a snapshot in insta's format (`cargo insta review` reads `.snap.new` files written
/// this way). `pending` writes `<name>.snap.new` instead of the snapshot itself. The
/// `input_file` header is the case file relative to the directory holding `golden/`.
pub fn write_snapshot(
    path: &Path,
    case: &Case,
    body: &str,
    pending: bool,
) -> std::io::Result<PathBuf> {
    let target = if pending {
        path.with_extension("snap.new")
    } else {
        path.to_path_buf()
    };
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = format!(
        "---\nsource: harness/runner/src/golden.rs\ninput_file: {}\n---\n{}\n",
        input_file(path, &case.file).display(),
        body.trim_end()
    );
    std::fs::write(&target, text)?;
    Ok(target)
}

/// The case file relative to the workspace: the first ancestor of the snapshot that
/// contains the case file (insta records input files relative to the workspace too).
fn input_file(snapshot: &Path, case_file: &Path) -> PathBuf {
    let Ok(file) = case_file.canonicalize() else {
        return case_file.to_path_buf();
    };
    let Some(dir) = snapshot.parent().and_then(|d| d.canonicalize().ok()) else {
        return file;
    };
    dir.ancestors()
        .find_map(|a| file.strip_prefix(a).ok().map(Path::to_path_buf))
        .unwrap_or(file)
}

/// Assert the snapshot with insta (for the test harness): binds the settings for this
/// thread, so it must run on the trial's own thread. Panics on a mismatch, as insta does;
/// under `CI=true` nothing is written, otherwise a `.snap.new` is left for review.
pub fn assert_with_insta(golden_dir: &Path, profile: &Profile, case: &Case, body: &str) {
    let (dir, name) = case.golden_parts();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(golden_dir.join(profile.name()).join(dir));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_input_file(&case.file);
    settings.bind(|| insta::assert_snapshot!(name.to_owned(), body));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loader;
    use std::path::Path;

    fn case(kinds: &str) -> Case {
        let text = format!(
            "control: privileged
cases:
- name: c
  kinds: {kinds}
  pod: {{containers: [{{name: app}}]}}
  expect: {{allowed: false, reasons: [privileged]}}
"
        );
        loader::load_str(Path::new("t.yaml"), &text, "baseline/t")
            .unwrap()
            .remove(0)
    }

    fn entry(kind: Kind, version: Version, line: &str) -> Entry {
        Entry {
            kind,
            version,
            lines: vec![line.replace("{V}", &version.to_string())],
        }
    }

    #[test]
    fn groups_versions_and_merges_kinds() {
        let c = case("[Pod, Deployment, Job]");
        let mut entries = Vec::new();
        for v in [
            Version::V1(0),
            Version::V1(1),
            Version::V1(2),
            Version::Latest,
        ] {
            let detail = if v == Version::V1(2) { "other" } else { "same" };
            entries.push(entry(
                Kind::Pod,
                v,
                &format!("pods \"c\" is forbidden: \"baseline:{{V}}\": {detail}"),
            ));
            entries.push(entry(
                Kind::Deployment,
                v,
                "warning: \"baseline:{V}\": same",
            ));
            entries.push(entry(Kind::Job, v, "warning: \"baseline:{V}\": same"));
        }
        let body = render(&c, &entries);
        assert_eq!(
            body,
            "Pod
  v1.0..v1.1
    pods \"c\" is forbidden: \"baseline:v1.1\": same
  v1.2
    pods \"c\" is forbidden: \"baseline:v1.2\": other
  latest
    pods \"c\" is forbidden: \"baseline:latest\": same
\
             Deployment, Job\n  v1.0..v1.2, latest\n    warning: \"baseline:latest\": same\n"
        );
    }

    #[test]
    fn snapshot_files_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let c = case("[Pod]");
        let path = snapshot_path(dir.path(), &Profile::Psa, &c);
        assert!(
            path.ends_with("psa/baseline/t/c.snap"),
            "{}",
            path.display()
        );
        assert_eq!(read_snapshot(&path), None);
        write_snapshot(&path, &c, "Pod\n  latest\n    x\n", false).unwrap();
        let body = read_snapshot(&path).unwrap();
        assert!(same_body(&body, "Pod\n  latest\n    x"));
        assert!(!same_body(&body, "Pod\n  latest\n    y"));
        let pending = write_snapshot(&path, &c, "y", true).unwrap();
        assert!(pending.to_string_lossy().ends_with("c.snap.new"));
    }
}
