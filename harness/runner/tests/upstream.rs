//! The CLI and the strict manifest reader over the real upstream PSA fixtures, when they
//! are present (`$PSS_UPSTREAM_FIXTURES`, else `../shared/upstream-psa-fixtures` beside the
//! workspace; never copied into the repository). Without them both trials are reported as
//! ignored with the reason, after a `SKIPPED:` line.

use std::path::{Path, PathBuf};
use std::process::Command;

use libtest_mimic::{Arguments, Completion, Failed, Trial};

fn fixtures_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("PSS_UPSTREAM_FIXTURES") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/upstream-psa-fixtures")
}

/// `pss-harness upstream DIR` reports every fixture agreeing and exits 0.
fn cli_reports_full_agreement(dir: &Path) -> Result<(), Failed> {
    let out = Command::new(env!("CARGO_BIN_EXE_pss-harness"))
        .arg("upstream")
        .arg(dir)
        .env("NO_COLOR", "1")
        .output()
        .map_err(|e| format!("cannot run pss-harness: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().unwrap_or_default();
    let (agreeing, total) = last
        .trim_end_matches(" agreeing")
        .split_once('/')
        .ok_or_else(|| format!("no `N/N agreeing` line in:\n{text}"))?;
    if agreeing != total || total.parse::<u32>().unwrap_or(0) < 4000 {
        return Err(format!("expected full agreement over 4000+ fixtures:\n{text}").into());
    }
    if out.status.code() != Some(0) {
        return Err(format!("exit {:?}:\n{text}", out.status.code()).into());
    }
    Ok(())
}

/// The strict reader has no false positives: every fixture reads without an unknown-field
/// or type error.
fn strict_reading_accepts_every_fixture(dir: &Path) -> Result<(), Failed> {
    let mut stack = vec![dir.to_owned()];
    let mut n = 0;
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                pss_harness::manifest::manifest_file(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                n += 1;
            }
        }
    }
    if n < 4000 {
        return Err(format!("only {n} fixtures under {}", dir.display()).into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let dir = fixtures_root();
    let missing = (!dir.is_dir()).then(|| {
        format!(
            "upstream fixtures not found at {} (set PSS_UPSTREAM_FIXTURES)",
            dir.display()
        )
    });
    if let Some(reason) = &missing {
        println!("SKIPPED: {reason}");
    }
    type Check = fn(&Path) -> Result<(), Failed>;
    let checks: [(&str, Check); 2] = [
        (
            "upstream::cli_reports_full_agreement",
            cli_reports_full_agreement,
        ),
        (
            "upstream::strict_reading_accepts_every_fixture",
            strict_reading_accepts_every_fixture,
        ),
    ];
    let trials = checks
        .into_iter()
        .map(|(name, check)| {
            let (dir, missing) = (dir.clone(), missing.clone());
            Trial::ignorable_test(name, move || match missing {
                Some(reason) => Ok(Completion::ignored_with(reason)),
                None => check(&dir).map(|()| Completion::Completed),
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
