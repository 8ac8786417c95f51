//! The bundled case suite (`cases/` at the workspace root) as one trial per scenario and
//! one golden trial per denied case and profile. Run with `cargo test -p pss-harness` or
//! `cargo nextest run -p pss-harness`; filters work as usual
//! (`cargo test -p pss-harness --test cases -- privileged-container@v1.37`).

use std::path::Path;
use std::process::ExitCode;

use pss_harness::harness::{self, Layout};
use pss_harness::loader;
use pss_harness::profile::Profile;

fn main() -> ExitCode {
    let args = libtest_mimic::Arguments::from_args();
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .join("../..")
        .canonicalize()
        .unwrap_or_else(|_| manifest_dir.join("../.."));
    // insta would otherwise run `cargo metadata` in every process (nextest: every trial).
    if std::env::var_os("INSTA_WORKSPACE_ROOT").is_none() {
        // SAFETY: single-threaded here; no trial has started yet.
        unsafe { std::env::set_var("INSTA_WORKSPACE_ROOT", &root) };
    }
    let layout = Layout::under(&root);
    // `--exact NAME` (how nextest runs each trial) needs only the trial's own case file.
    let exact_file = args
        .filter
        .as_deref()
        .filter(|_| args.exact)
        .and_then(|n| harness::case_file_for_trial(&layout.cases, n));
    let paths = exact_file.map_or_else(|| vec![layout.cases.clone()], |f| vec![f]);
    let suite = match loader::load(&paths, Some(&layout.cases)) {
        Ok(suite) => suite,
        Err(e) => {
            eprintln!("{:?}", e.report());
            return ExitCode::from(2);
        }
    };
    // PSA and every Kyverno line (cases naming no policy use cases/policies/<level>-policy.yaml).
    let trials = harness::trials(&suite, &layout, &Profile::all());
    libtest_mimic::run(&args, trials).exit_code()
}
