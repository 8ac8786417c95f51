//! Bad input must give an error value, never a panic: every bundled case file, policy and
//! manifest is fed to the loaders truncated at many points and with single lines removed or
//! re-indented. Each call must return (Ok or Err) without unwinding.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use pss::{Level, LevelVersion, Version};
use pss_harness::{check, loader, manifest::Source, policy};

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

/// Truncations at ~30 points, plus ~30 evenly spread lines each deleted or shifted by one
/// space (bounded so the test stays quick in a debug build).
fn mangled(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let step = (text.len() / 30).max(1);
    for cut in (0..text.len()).step_by(step) {
        if text.is_char_boundary(cut) {
            out.push(text[..cut].to_owned());
        }
    }
    let lines: Vec<&str> = text.lines().collect();
    let line_step = (lines.len() / 30).max(1);
    for i in (0..lines.len()).step_by(line_step) {
        let mut dropped = lines.clone();
        dropped.remove(i);
        out.push(dropped.join("\n"));
        let mut shifted: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
        shifted[i] = format!(" {}", shifted[i]);
        out.push(shifted.join("\n"));
    }
    out
}

#[test]
fn loaders_never_panic_on_mangled_bundled_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../cases");
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    assert!(
        files.len() > 20,
        "bundled cases not found under {}",
        root.display()
    );
    let policy_lv = LevelVersion::new(Level::Baseline, Version::Latest);
    let mut inputs = 0usize;
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for variant in mangled(&text) {
            inputs += 1;
            let result = catch_unwind(AssertUnwindSafe(|| {
                let _ = loader::load_str(file, &variant, "fuzz/case");
                let _ = check::check_text(file, &variant, policy_lv, false);
                let _ = policy::load_text(&Source::new(file, &variant));
            }));
            assert!(
                result.is_ok(),
                "panic on a mangled {}:\n{variant}",
                file.display()
            );
        }
    }
    assert!(inputs > 1000, "only {inputs} inputs were tried");
}
