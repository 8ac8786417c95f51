//! The bundled suite's trial list (what `cargo test -p pss-harness -- --list` shows): every
//! baseline control is expanded into each pod controller under PSA and every Kyverno line.

use std::path::Path;

use pss_harness::control::Control;
use pss_harness::harness::{self, Layout};
use pss_harness::loader;
use pss_harness::profile::Profile;

const CONTROLLERS: [&str; 7] = [
    "Deployment",
    "DaemonSet",
    "StatefulSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
];

#[test]
fn every_baseline_control_runs_as_each_controller_in_both_families() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let layout = Layout::under(&root);
    let suite = loader::load(std::slice::from_ref(&layout.cases), Some(&layout.cases)).unwrap();
    let trials = harness::trials(&suite, &layout, &Profile::all());
    let listed: Vec<(String, String)> = trials
        .iter()
        .map(|t| (t.kind().to_owned(), t.name().to_owned()))
        .collect();
    let baseline = Control::ALL
        .into_iter()
        .filter(|c| c.level() == pss::Level::Baseline);
    let mut checked = 0;
    for control in baseline {
        let prefix = format!("baseline/{}/", control.as_str());
        for profile in Profile::all() {
            for kind in CONTROLLERS {
                let suffix = format!("/{kind}");
                let found = listed.iter().any(|(k, name)| {
                    *k == profile.name() && name.starts_with(&prefix) && name.ends_with(&suffix)
                });
                assert!(found, "no [{profile}] {prefix}...{suffix} trial");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 12 * 4 * 7);
    // Kyverno runs at latest only, and does not expand a pod into a PodTemplate.
    let pod_cases = |n: &str| n.starts_with("baseline/") || n.starts_with("restricted/");
    assert!(listed.iter().all(|(k, n)| {
        !k.starts_with("kyverno@")
            || (n.contains("@latest/") && !(pod_cases(n) && n.ends_with("/PodTemplate")))
    }));
}
