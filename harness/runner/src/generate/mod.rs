//! `pss-harness generate DIR`: cases nobody wrote. Each check's near misses
//! ([`mutations`]) change one field of a minimal valid pod; [`derive`] evaluates them at
//! every version and kind and cuts them into cases whose expectation (decision, reasons
//! and the exact detail) comes from the in-process evaluator; [`write`] writes them as
//! ordinary case files, `DIR/<level>/<control>.yaml`.
//!
//! `run --generated DIR` runs them like any cases, against any target: in-process they
//! must agree with themselves (a check of the loader, the expansion and the judge), and
//! against a webhook or a cluster they are a differential run. Generated cases have no
//! goldens: the `detail` in each expectation pins the message body at the case's newest
//! version for every kind, and the envelopes around it are pinned by the bundled goldens.
//! So `--generated` runs with `--goldens skip`.

pub mod derive;
pub mod mutations;
mod write;

use std::path::{Path, PathBuf};

use crate::error::Error;

/// The file that marks a directory as written by `generate` (discovery skips dot files).
pub const MARKER: &str = ".pss-generated";

/// What `generate` wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub files: usize,
    pub cases: usize,
    pub denied: usize,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} cases ({} denied, {} allowed) in {} files",
            self.cases,
            self.denied,
            self.cases - self.denied,
            self.files
        )
    }
}

/// Write the generated cases into `dir` (created if needed; a directory that holds
/// anything else than an earlier generation is refused, and an earlier generation is
/// replaced).
pub fn generate(dir: &Path) -> Result<Summary, Error> {
    prepare(dir)?;
    let cases = derive::cases().map_err(|e| Error::Usage(format!("generate: {e}")))?;
    let files = write::files(&cases);
    for (rel, text) in &files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
    }
    let summary = Summary {
        files: files.len(),
        cases: cases.len(),
        denied: cases.iter().filter(|c| !c.expect.allowed).count(),
    };
    let marker = dir.join(MARKER);
    let note = format!("written by pss-harness generate: {summary}\n");
    std::fs::write(&marker, note).map_err(|e| Error::io(&marker, e))?;
    Ok(summary)
}

/// Make `dir` ready: new, empty, or an earlier generation (whose files are removed).
fn prepare(dir: &Path) -> Result<(), Error> {
    if !dir.exists() {
        return std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e));
    }
    if !dir.is_dir() {
        return Err(Error::Usage(format!("{}: not a directory", dir.display())));
    }
    let entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    if entries.is_empty() {
        return Ok(());
    }
    if !dir.join(MARKER).is_file() {
        return Err(Error::Usage(format!(
            "{}: not empty and not written by `pss-harness generate`; give a new or empty \
             directory",
            dir.display()
        )));
    }
    for entry in entries.iter().filter(|p| p.is_dir()) {
        std::fs::remove_dir_all(entry).map_err(|e| Error::io(entry, e))?;
    }
    Ok(())
}

/// `run --generated DIR`: the directory must hold a generation.
pub fn check_generated(dir: &Path) -> Result<(), Error> {
    match dir.join(MARKER).is_file() {
        true => Ok(()),
        false => Err(Error::Usage(format!(
            "{}: no generated cases here; write them with `pss-harness generate {}`",
            dir.display(),
            dir.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_into_new_dirs_and_replaces_only_its_own() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("gen");
        let summary = generate(&dir).unwrap();
        assert!(summary.cases > 200 && summary.denied > 100, "{summary}");
        assert!(dir.join("baseline/privileged.yaml").is_file());
        assert!(dir.join("restricted/run-as-user.yaml").is_file());
        check_generated(&dir).unwrap();
        assert_eq!(generate(&dir).unwrap(), summary, "regenerating is stable");
        let other = tmp.path().join("other");
        std::fs::create_dir_all(&other).unwrap();
        std::fs::write(other.join("mine.yaml"), "x").unwrap();
        let err = generate(&other).unwrap_err().to_string();
        assert!(
            err.contains("not written by `pss-harness generate`"),
            "{err}"
        );
        assert!(check_generated(&other).is_err());
    }
}
