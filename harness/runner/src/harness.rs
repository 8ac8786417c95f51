//! The suite as libtest-mimic trials, for `cargo test` and `cargo nextest run`.
//!
//! Every scenario is a trial named by its id with the profile as its kind
//! (`[psa] baseline/privileged/privileged-container@v1.37/Deployment`); every denied case,
//! and every admission case, has a golden trial per profile
//! (`baseline/privileged/privileged-container/golden/psa`) that asserts its snapshot with
//! insta. Building the list loads the cases but evaluates
//! nothing, so `--list` is cheap; nextest runs each trial in its own process.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use libtest_mimic::{Completion, Failed, Trial};

use crate::case::Case;
use crate::golden;
use crate::judge::Problem;
use crate::loader::Suite;
use crate::policy::DefaultPolicies;
use crate::profile::Profile;
use crate::run::{self, Targets, TrialStatus};
use crate::scenario::{self, Scenario};

/// Where the workspace keeps its cases and goldens.
#[derive(Debug, Clone)]
pub struct Layout {
    pub cases: PathBuf,
    pub golden: PathBuf,
}

impl Layout {
    /// `<root>/cases` and `<root>/golden`.
    pub fn under(root: &Path) -> Layout {
        Layout {
            cases: root.join("cases"),
            golden: root.join("golden"),
        }
    }

    /// The nearest directory holding `cases/`: from the working directory up, then from
    /// the binary's location up (`target/release/pss-harness` in a workspace), then the
    /// workspace this crate was built in.
    pub fn discover() -> Option<Layout> {
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Ok(cwd) = std::env::current_dir() {
            candidates.extend(cwd.ancestors().map(Path::to_path_buf));
        }
        if let Ok(exe) = std::env::current_exe() {
            candidates.extend(exe.ancestors().map(Path::to_path_buf));
        }
        candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
        candidates
            .into_iter()
            .find(|d| d.join("cases").is_dir())
            .map(|root| Layout::under(&root))
    }
}

/// The case file a trial name comes from (`[psa] a/b/c@v1.37/Pod` and `a/b/c/golden/psa`
/// come from `<cases>/a/b.yaml`), when it exists. Lets `--exact NAME` runs (nextest runs
/// every trial that way, one process each) load one file instead of the whole suite.
pub fn case_file_for_trial(cases_dir: &Path, trial_name: &str) -> Option<PathBuf> {
    let name = match trial_name.strip_prefix('[') {
        Some(rest) => rest.split_once("] ")?.1,
        None => trial_name,
    };
    let case_id = match name.split_once("/golden/") {
        Some((id, _)) => id,
        None => name.split_once('@')?.0,
    };
    let (stem, _) = case_id.rsplit_once('/')?;
    ["yaml", "yml"]
        .into_iter()
        .map(|ext| cases_dir.join(format!("{stem}.{ext}")))
        .find(|p| p.is_file())
}

/// Every trial of the suite for the profiles. Kyverno cases that name no policy use the
/// bundled policy of their level (`<cases>/policies/<level>-policy.yaml`).
pub fn trials(suite: &Suite, layout: &Layout, profiles: &[Profile]) -> Vec<Trial> {
    let bundled = DefaultPolicies::bundled(&layout.cases).map_err(|e| e.to_string());
    let built = bundled.and_then(|p| Targets::in_process(profiles).map(|t| t.with_policies(p)));
    let targets = match built {
        Ok(t) => Arc::new(t),
        Err(e) => {
            return vec![Trial::test("harness/profiles", move || {
                Err(Failed::from(e.clone()))
            })];
        }
    };
    let golden_dir = Arc::new(layout.golden.clone());
    let mut out = Vec::new();
    for case in &suite.cases {
        for profile in profiles {
            for s in scenario::expand(case, profile) {
                let skipped = case.expectation_for(profile, s.kind).is_err();
                out.push(scenario_trial(s, Arc::clone(&targets), skipped));
            }
            if case.has_golden(profile) {
                out.push(golden_trial(
                    Arc::clone(case),
                    profile.clone(),
                    Arc::clone(&targets),
                    Arc::clone(&golden_dir),
                ));
            }
        }
    }
    out
}

fn scenario_trial(s: Scenario, targets: Arc<Targets>, skipped: bool) -> Trial {
    let name = s.id();
    let kind = s.profile.name();
    Trial::ignorable_test(name, move || {
        let result = run::run_scenario(&targets, &s, None);
        match result.status {
            TrialStatus::Failed { problems } => Err(Failed::from(describe(&problems))),
            TrialStatus::Passed | TrialStatus::KnownDivergence { .. } => Ok(Completion::Completed),
            TrialStatus::Skipped { reason } | TrialStatus::NotApplicable { reason, .. } => {
                Ok(Completion::ignored_with(reason))
            }
        }
    })
    .with_kind(kind)
    .with_ignored_flag(skipped)
}

fn golden_trial(
    case: Arc<Case>,
    profile: Profile,
    targets: Arc<Targets>,
    golden_dir: Arc<PathBuf>,
) -> Trial {
    let name = scenario::golden_id(&case.id, &profile);
    Trial::test(name, move || {
        let target = targets
            .for_case(&profile, &case)
            .map_err(|e| Failed::from(e.to_string()))?;
        let body = run::golden_body(target.get(), &case, &profile)
            .map_err(|e| Failed::from(e.to_string()))?;
        if !body.is_complete() {
            return Err(Failed::from(format!(
                "the in-process target left scenarios out: {}",
                body.omitted_summary()
            )));
        }
        golden::assert_with_insta(&golden_dir, &profile, &case, &body.text);
        Ok(())
    })
}

/// A failure message: each problem, with a plain diff for text problems.
fn describe(problems: &[Problem]) -> String {
    let mut out = String::new();
    for p in problems {
        out.push_str(&p.to_string());
        out.push('\n');
        if let Some((expected, actual)) = p.diff_pair() {
            out.push_str(&crate::report::diff(&expected, &actual, false));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trial_names_map_to_their_case_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("baseline")).unwrap();
        std::fs::write(dir.path().join("baseline/privileged.yaml"), "cases: []\n").unwrap();
        let want = Some(dir.path().join("baseline/privileged.yaml"));
        assert_eq!(
            case_file_for_trial(dir.path(), "[psa] baseline/privileged/x@v1.37/Pod"),
            want
        );
        assert_eq!(
            case_file_for_trial(dir.path(), "baseline/privileged/x@latest/CronJob"),
            want
        );
        assert_eq!(
            case_file_for_trial(dir.path(), "baseline/privileged/x/golden/psa"),
            want
        );
        assert_eq!(
            case_file_for_trial(dir.path(), "baseline/other/x/golden/psa"),
            None
        );
        assert_eq!(case_file_for_trial(dir.path(), "privileged"), None);
    }
}
