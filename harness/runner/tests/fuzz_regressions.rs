//! Inputs the fuzzers crashed on, minimized and kept (fuzz/README.md): each file under
//! `tests/fuzz_regressions/<target>/` goes through the same entry point as the cargo-fuzz
//! target `<target>` and must now hold every invariant. The findings are described in
//! docs/robustness.md.

use std::path::{Path, PathBuf};

use pss_harness::fuzzing;

fn reproducers(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files
}

fn replay(target: &str, entry: fuzzing::Entry) -> usize {
    let files = reproducers(target);
    for file in &files {
        let data = std::fs::read(file).unwrap();
        assert_eq!(entry(&data), Ok(()), "{}", file.display());
    }
    files.len()
}

#[test]
fn every_reproducer_holds_the_invariants() {
    let replayed: usize = fuzzing::ENTRIES
        .iter()
        .map(|(t, entry)| replay(t, *entry))
        .sum();
    assert!(replayed >= 1, "no reproducers found");
    // A reproducer in a folder no target reads would never run.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    for entry in std::fs::read_dir(root).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            fuzzing::ENTRIES.iter().any(|(t, _)| *t == name),
            "unknown target folder {name}"
        );
    }
}
