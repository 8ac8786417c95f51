//! Properties of the evaluator over generated pods (tests/support/pods.rs), at every level
//! and version:
//! - evaluation never panics; privileged allows everything; a message exactly when denied;
//! - restricted-allowed implies baseline-allowed at the same version (but for upstream's
//!   Windows inversion, spec edge case E16);
//! - adding a compliant container to a compliant pod keeps it compliant;
//! - a failing check's detail names every container that offends on its own.
//!
//! Each property also counts the generated inputs that exercise it (e.g. pods that are
//! allowed at restricted) and fails if too few do, so a generator drifting towards
//! trivial pods cannot make a property pass vacuously. The minimums are about half the
//! typical counts (seen: 180/192 denied somewhere, 35/256 allowed at restricted, 58/384 both
//! compliant, 165/256 with an offending container), far enough that a random seed does not
//! flake.

#[path = "support/pods.rs"]
mod pods;

use std::cell::Cell;

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use pss::{CheckId, Defaulting, Level, LevelVersion, Verdict, Version, Workload};

/// Every version, one past the newest, and `latest`.
fn versions() -> Vec<Version> {
    (0..=u64::from(pss::version::NEWEST_MINOR) + 1)
        .map(Version::V1)
        .chain([Version::Latest])
        .collect()
}

fn level() -> impl Strategy<Value = Level> {
    prop::sample::select(vec![Level::Baseline, Level::Restricted])
}

fn version() -> impl Strategy<Value = Version> {
    prop::sample::select(versions())
}

fn eval(pod: &Pod, level: Level, version: Version) -> Verdict {
    pss::evaluate(
        &Workload::Pod(pod.clone()),
        LevelVersion::new(level, version),
    )
}

/// Run `test` on `cases` inputs; it returns whether the input was relevant to the property.
/// Fails on the first (shrunk) counterexample, or when fewer than `min_relevant` were.
fn check<S: Strategy>(
    cases: u32,
    min_relevant: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<bool, TestCaseError>,
) {
    let relevant = Cell::new(0u32);
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let result = TestRunner::new(config).run(&strategy, |input| {
        if test(input)? {
            relevant.set(relevant.get() + 1);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!(
        "{} of {cases} generated inputs were relevant",
        relevant.get()
    );
    assert!(
        relevant.get() >= min_relevant,
        "only {} of {cases} generated inputs were relevant (want {min_relevant})",
        relevant.get()
    );
}

#[test]
fn evaluation_never_panics_privileged_allows_and_messages_match_decisions() {
    check(
        192,
        120,
        (pods::pod(), any::<bool>()),
        |(pod, defaulted)| {
            let mut workload = Workload::Pod(pod);
            if defaulted {
                Defaulting::API_SERVER.apply(&mut workload);
            }
            let mut denied_somewhere = false;
            for version in versions() {
                for level in [Level::Privileged, Level::Baseline, Level::Restricted] {
                    let v = pss::evaluate(&workload, LevelVersion::new(level, version));
                    prop_assert!(level != Level::Privileged || v.allowed());
                    prop_assert_eq!(v.message.is_some(), !v.allowed(), "{:?}", v);
                    denied_somewhere |= !v.allowed();
                }
            }
            Ok(denied_somewhere)
        },
    );
}

/// Upstream's one inversion (spec edge case E16, pinned in tests/spec_examples.rs): from
/// v1.25 the restricted seccomp and capabilities checks exempt Windows pods while still
/// replacing their baseline checks, so restricted can allow what baseline denies.
fn windows_inversion(pod: &Pod, version: Version) -> bool {
    let windows = pod
        .spec
        .as_ref()
        .and_then(|s| s.os.as_ref())
        .is_some_and(|os| os.name == "windows");
    windows && version >= Version::V1(25)
}

#[test]
fn restricted_allowed_implies_baseline_allowed() {
    check(256, 15, pods::pod(), |pod| {
        let mut relevant = false;
        for version in versions() {
            let restricted = eval(&pod, Level::Restricted, version);
            if restricted.allowed() && !windows_inversion(&pod, version) {
                relevant = true;
                let baseline = eval(&pod, Level::Baseline, version);
                prop_assert!(
                    baseline.allowed(),
                    "baseline denies what restricted allows at {}: {:?}",
                    version,
                    baseline.message
                );
            }
        }
        Ok(relevant)
    });
}

/// `pod` with `containers` as its only containers (no init or ephemeral ones).
fn with_only(pod: &Pod, containers: Vec<Container>) -> Pod {
    let mut out = pod.clone();
    let spec = out.spec.get_or_insert_with(PodSpec::default);
    spec.containers = containers;
    spec.init_containers = None;
    spec.ephemeral_containers = None;
    out
}

#[test]
fn a_compliant_container_keeps_a_compliant_pod_compliant() {
    let strategy = (pods::pod(), pods::added_container(), level(), version());
    check(384, 25, strategy, |(pod, added, level, version)| {
        let added: Container = serde_json::from_value(added).expect("a container");
        let alone = with_only(&pod, vec![added.clone()]);
        if !eval(&pod, level, version).allowed() || !eval(&alone, level, version).allowed() {
            return Ok(false);
        }
        let mut both = pod.clone();
        if let Some(spec) = both.spec.as_mut() {
            spec.containers.push(added);
        }
        let verdict = eval(&both, level, version);
        prop_assert!(verdict.allowed(), "{:?}", verdict.message);
        Ok(true)
    });
}

/// Every container of a pod: its list, its name, and the pod with that container alone.
fn each_container_alone(pod: &Pod) -> Vec<(String, Pod)> {
    let Some(spec) = pod.spec.as_ref() else {
        return Vec::new();
    };
    let bare = {
        let mut bare = with_only(pod, Vec::new());
        bare.spec.get_or_insert_with(PodSpec::default);
        bare
    };
    let mut out = Vec::new();
    for c in &spec.containers {
        out.push((c.name.clone(), with_only(pod, vec![c.clone()])));
    }
    for c in spec.init_containers.iter().flatten() {
        let mut alone = bare.clone();
        alone.spec.as_mut().expect("spec").init_containers = Some(vec![c.clone()]);
        out.push((c.name.clone(), alone));
    }
    for c in spec.ephemeral_containers.iter().flatten() {
        let mut alone = bare.clone();
        alone.spec.as_mut().expect("spec").ephemeral_containers = Some(vec![c.clone()]);
        out.push((c.name.clone(), alone));
    }
    out
}

/// Upstream reports only the explicit offenders of `runAsNonRoot` and
/// `seccompProfile_restricted` when there are any (a field set to a bad value on the pod or
/// a container), leaving out the containers that are bad only by leaving it unset.
fn explicit_offender_hides(check: CheckId, pod: &Pod) -> bool {
    let Some(spec) = pod.spec.as_ref() else {
        return false;
    };
    let contexts = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .map(|c| c.security_context.as_ref())
        .chain(
            spec.ephemeral_containers
                .iter()
                .flatten()
                .map(|c| c.security_context.as_ref()),
        );
    let pod_sc = spec.security_context.as_ref();
    match check {
        CheckId::RunAsNonRoot => {
            pod_sc.and_then(|s| s.run_as_non_root) == Some(false)
                || contexts.flatten().any(|s| s.run_as_non_root == Some(false))
        }
        CheckId::SeccompProfileRestricted => {
            let bad = |t: &str| t != "RuntimeDefault" && t != "Localhost";
            pod_sc
                .and_then(|s| s.seccomp_profile.as_ref())
                .is_some_and(|p| bad(&p.type_))
                || contexts
                    .flatten()
                    .filter_map(|s| s.seccomp_profile.as_ref())
                    .any(|p| bad(&p.type_))
        }
        _ => false,
    }
}

/// Whether a detail names a container: `"c0"` (`container "c0" must ...`), or at the end of
/// an annotation key (`container.seccomp.security.alpha.kubernetes.io/c0="unconfined"`, the
/// seccomp annotations of v1.0-v1.18).
fn names(detail: &str, container: &str) -> bool {
    detail.contains(&format!("\"{container}\"")) || detail.contains(&format!("/{container}="))
}

#[test]
fn a_failing_checks_detail_names_every_offending_container() {
    let strategy = (pods::pod(), level(), version());
    check(256, 80, strategy, |(pod, level, version)| {
        let verdict = eval(&pod, level, version);
        let bare = eval(&with_only(&pod, Vec::new()), level, version);
        let alone: Vec<(String, Verdict)> = each_container_alone(&pod)
            .into_iter()
            .map(|(name, p)| (name, eval(&p, level, version)))
            .collect();
        let mut relevant = false;
        for failure in &verdict.evaluation.failures {
            let fails = |v: &Verdict| {
                v.evaluation
                    .failures
                    .iter()
                    .any(|f| f.check == failure.check)
            };
            if fails(&bare) {
                continue;
            }
            for (name, _) in alone.iter().filter(|(_, v)| fails(v)) {
                relevant = true;
                let named = names(&failure.forbidden.detail, name);
                prop_assert!(
                    named || explicit_offender_hides(failure.check, &pod),
                    "{} at {}:{}: detail {:?} does not name container {:?}",
                    failure.check,
                    level,
                    version,
                    failure.forbidden.detail,
                    name
                );
            }
        }
        Ok(relevant)
    });
}
