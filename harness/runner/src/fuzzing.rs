//! The four fuzzed entry points, shared by the cargo-fuzz targets (`fuzz/`) and the
//! `cargo test` smoke run (`tests/fuzz_smoke.rs`), so both drive exactly the same code.
//!
//! Each takes arbitrary bytes, goes through the path a user's input takes (bounded UTF-8
//! text, YAML or JSON, the strict readers, evaluation, error rendering) and checks
//! invariants that hold for any input. A panic is a finding; so is `Err`, which names the
//! invariant an input broke.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, LazyLock};

use kyverno::KyvernoLine;
use pss::{Defaulting, Level, LevelVersion, Version, Workload};
use serde_json::Value;

use crate::error::LocatedError;
use crate::manifest::Source;
use crate::profile::Profile;
use crate::run::{self, Targets};
use crate::serve::{self, Engine};
use crate::{check, input, loader, manifest, policy, scenario, yaml};

/// A path no referenced file can be relative to (`file:`, `policies:` resolve nowhere).
const CASE_PATH: &str = "/nonexistent/pss-harness-fuzz/case.yaml";
const MANIFEST_PATH: &str = "/nonexistent/pss-harness-fuzz/manifest.yaml";
const POLICY_PATH: &str = "/nonexistent/pss-harness-fuzz/policy.yaml";

/// At most this many scenarios of a loaded input are run (a case expands into hundreds).
const MAX_SCENARIOS: usize = 16;

/// A broken invariant, or `Ok`.
pub type Outcome = Result<(), String>;

/// A fuzz target's entry point.
pub type Entry = fn(&[u8]) -> Outcome;

/// The entry points by cargo-fuzz target name (fuzz/fuzz_targets/<name>.rs calls each):
/// the smoke run and the reproducer replay in `cargo test` go through this table.
pub const ENTRIES: [(&str, Entry); 4] = [
    ("case_loader", case_loader),
    ("manifest_eval", manifest_eval),
    ("admission_review", admission_review),
    ("kyverno_policy", kyverno_policy),
];

/// Case files: load, then run the first scenarios of every loaded case in-process.
pub fn case_loader(data: &[u8]) -> Outcome {
    let path = Path::new(CASE_PATH);
    let text = match input::text(path, data.to_vec()) {
        Ok(text) => text,
        Err(e) => return located_error_is_sound(&e),
    };
    let cases = match loader::load_str(path, &text, "fuzz") {
        Ok(cases) => cases,
        Err(e) => return located_error_is_sound(&e),
    };
    static TARGETS: LazyLock<Option<Targets>> = LazyLock::new(|| {
        let profiles = [
            Profile::Psa,
            Profile::Kyverno {
                line: KyvernoLine::V1_19,
            },
        ];
        Targets::in_process(&profiles).ok()
    });
    let targets = TARGETS.as_ref().ok_or("no in-process targets")?;
    let mut budget = MAX_SCENARIOS;
    for case in cases.into_iter().map(Arc::new) {
        for profile in targets.profiles() {
            for s in scenario::expand(&case, &profile).take(budget) {
                budget -= 1;
                let object = run::object_for(&s.case, s.kind).ok();
                run::run_scenario(targets, &s, object.as_ref());
            }
        }
    }
    Ok(())
}

/// Manifests: `check`'s reader, the strict reader of case manifests, JSON's one-pass
/// reader, and evaluation of every object at every level and version.
pub fn manifest_eval(data: &[u8]) -> Outcome {
    let path = Path::new(MANIFEST_PATH);
    let text = match input::text(path, data.to_vec()) {
        Ok(text) => text,
        Err(e) => return located_error_is_sound(&e),
    };
    let baseline = LevelVersion::new(Level::Baseline, Version::Latest);
    if let Err(e) = check::check_text(path, &text, baseline, false) {
        return located_error_is_sound(&e);
    }
    json_readers_agree(&text)?;
    let Ok(docs) = yaml::parse_documents(&text) else {
        return Err("check read the text but the YAML parser did not".into());
    };
    let src = Source::new(path, &text);
    for node in docs.iter().filter(|d| !d.is_null()) {
        let lenient = Workload::from_value(node.to_json());
        located_reader_agrees(node, &lenient)?;
        match (manifest::manifest(&src, node), &lenient) {
            (Ok(strict), Ok(lenient)) if strict != *lenient => {
                return Err("the strict and lenient readers read different objects".into());
            }
            (Ok(_), Err(e)) => {
                return Err(format!(
                    "the strict reader accepted what serde refused: {e}"
                ));
            }
            (Err(e), _) => located_error_is_sound(&e)?,
            _ => {}
        }
        if let Ok(mut workload) = lenient {
            Defaulting::API_SERVER.apply(&mut workload);
            evaluation_is_sound(&workload)?;
        }
    }
    Ok(())
}

/// `check` locates a type error by reading the YAML tree again (`yaml::lenient`): that
/// reading must refuse exactly what serde_json refused, and say where.
fn located_reader_agrees(
    node: &yaml::Node,
    read: &Result<Workload, pss::WorkloadError>,
) -> Outcome {
    let (kind, refused) = match read {
        Ok(w) => (w.kind(), false),
        Err(pss::WorkloadError::Invalid { kind, .. }) => (*kind, true),
        Err(_) => return Ok(()),
    };
    match (manifest::locate_invalid(kind, node), refused) {
        (Some(e), false) => Err(format!("the located reader refused what serde read: {e}")),
        (None, true) => Err("serde refused what the located reader read".into()),
        (Some(e), true) if e.loc.is_none() => Err(format!("a type error without a place: {e}")),
        _ => Ok(()),
    }
}

/// `Workload::from_json` (one pass) and `from_value` (through a JSON value) must agree
/// whenever both accept a text.
fn json_readers_agree(text: &str) -> Outcome {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Ok(());
    };
    match (Workload::from_json(text), Workload::from_value(value)) {
        (Ok(a), Ok(b)) if a != b => Err("from_json and from_value read different objects".into()),
        _ => Ok(()),
    }
}

/// Every level and version (and one far-future version): privileged allows everything,
/// restricted-allowed implies baseline-allowed (but for Windows pods from v1.25, spec edge
/// case E16), a message exactly when denied, and each check fails at most once.
pub fn evaluation_is_sound(workload: &Workload) -> Outcome {
    let versions = (0..=pss::version::NEWEST_MINOR as u64 + 1)
        .map(Version::V1)
        .chain([Version::V1(u64::MAX), Version::Latest]);
    for version in versions {
        let at = |level| pss::evaluate(workload, LevelVersion::new(level, version));
        let privileged = at(Level::Privileged);
        let baseline = at(Level::Baseline);
        let restricted = at(Level::Restricted);
        if !privileged.allowed() {
            return Err(format!("privileged denies at {version}"));
        }
        if restricted.allowed() && !baseline.allowed() && !windows_inversion(workload, version) {
            return Err(format!(
                "restricted allows but baseline denies at {version}"
            ));
        }
        for verdict in [&privileged, &baseline, &restricted] {
            if verdict.message.is_some() == verdict.allowed() {
                return Err(format!(
                    "message and decision disagree at {}",
                    verdict.policy
                ));
            }
            let mut checks: Vec<_> = verdict
                .evaluation
                .failures
                .iter()
                .map(|f| f.check)
                .collect();
            checks.sort_unstable();
            if checks.windows(2).any(|w| w[0] == w[1]) {
                return Err(format!("a check failed twice at {}", verdict.policy));
            }
        }
    }
    Ok(())
}

/// Upstream's one level inversion (spec edge case E16): from v1.25 the restricted seccomp
/// and capabilities checks exempt Windows pods while still replacing their baseline checks.
fn windows_inversion(workload: &Workload, version: Version) -> bool {
    let windows = workload
        .pod_template()
        .and_then(|t| t.spec.os.as_ref())
        .is_some_and(|os| os.name == "windows");
    windows && version >= Version::V1(25)
}

/// One engine and namespace setup `serve` may run with.
struct ServeSetup {
    engine: Engine,
    labels: BTreeMap<String, String>,
}

static SERVE_SETUPS: LazyLock<Vec<ServeSetup>> = LazyLock::new(|| {
    let labels = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (format!("pod-security.kubernetes.io/{k}"), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>()
    };
    let mut setups = Vec::new();
    if let Ok(engine) = Engine::for_profile(&Profile::Psa, &[], None) {
        setups.push(ServeSetup {
            engine,
            labels: labels(&[
                ("enforce", "baseline"),
                ("warn", "restricted"),
                ("audit", "restricted"),
                ("audit-version", "v1.25"),
            ]),
        });
    }
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../cases/policies");
    let kyverno = Profile::Kyverno {
        line: KyvernoLine::V1_12,
    };
    let policies = [bundled.join("baseline-policy.yaml")];
    if let Ok(engine) = Engine::for_profile(&kyverno, &policies, None) {
        setups.push(ServeSetup {
            engine,
            labels: BTreeMap::new(),
        });
    }
    setups
});

/// `serve`'s request decoding: every engine answers a well-formed review for the request's
/// `uid`, and refuses anything else with an error text.
pub fn admission_review(data: &[u8]) -> Outcome {
    if SERVE_SETUPS.len() < 2 {
        return Err("the serve engines did not start".into());
    }
    let uid = serde_json::from_slice::<Value>(data)
        .ok()
        .and_then(|v| v["request"]["uid"].as_str().map(str::to_owned));
    for setup in SERVE_SETUPS.iter() {
        let Ok((review, _)) = serve::decode_review(&setup.engine, data, &setup.labels, vec![])
        else {
            continue;
        };
        let response = &review["response"];
        if uid.is_none() || response["uid"].as_str() != uid.as_deref() {
            return Err(format!("the answer's uid is not the request's: {review}"));
        }
        let Some(allowed) = response["allowed"].as_bool() else {
            return Err(format!("the answer has no decision: {review}"));
        };
        if !allowed && response["status"]["message"].as_str().is_none() {
            return Err(format!("a denial without a message: {review}"));
        }
    }
    Ok(())
}

/// Kyverno policy files: load and admit, then evaluate sample objects with every admitted
/// policy at every line.
pub fn kyverno_policy(data: &[u8]) -> Outcome {
    let path = Path::new(POLICY_PATH);
    let text = match input::text(path, data.to_vec()) {
        Ok(text) => text,
        Err(e) => return located_error_is_sound(&e),
    };
    let policies = match policy::load_text(&Source::new(path, &text)) {
        Ok(policies) => policies,
        Err(e) => return located_error_is_sound(&e),
    };
    let policies: Vec<kyverno::Policy> = policies.into_iter().map(|(p, _)| p).collect();
    for object in SAMPLES.iter() {
        let request = kyverno::AdmissionRequest::create(object);
        for line in KyvernoLine::ALL {
            let response = kyverno::evaluate(&policies, &request, line);
            if response.allowed == response.denial_message.is_some() {
                return Err(format!("decision and denial text disagree at {line}"));
            }
        }
    }
    Ok(())
}

/// A privileged pod and a restricted Deployment, in a namespace.
static SAMPLES: LazyLock<Vec<Workload>> = LazyLock::new(|| {
    let pod = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"team"},
        "spec":{"hostPID":true,"containers":[{"name":"c","image":"nginx",
        "securityContext":{"privileged":true}}]}}"#;
    let deployment = r#"{"apiVersion":"apps/v1","kind":"Deployment",
        "metadata":{"name":"d","namespace":"team"},"spec":{"selector":{},"template":{"spec":{
        "securityContext":{"runAsNonRoot":true,"seccompProfile":{"type":"RuntimeDefault"}},
        "containers":[{"name":"c","image":"nginx","securityContext":{
        "allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]}}}]}}}}"#;
    [pod, deployment]
        .into_iter()
        .filter_map(|json| Workload::from_json(json).ok())
        .collect()
});

/// A located error points into its source (on a character boundary) and renders.
fn located_error_is_sound(err: &LocatedError) -> Outcome {
    let text = &err.source_text;
    let end = err.loc.offset.checked_add(err.loc.len);
    if err.loc.line == 0 || err.loc.column == 0 {
        return Err(format!("an error at line or column 0: {err}"));
    }
    if end.is_none_or(|end| end > text.len()) {
        return Err(format!("an error span outside its source: {err}"));
    }
    if !text.is_char_boundary(err.loc.offset) {
        return Err(format!("an error span inside a character: {err}"));
    }
    // The terminal report draws the snippet: it must not panic either.
    let _ = format!("{:?}", err.report());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_policy_sample_parses() {
        // `kyverno_policy` checks admitted policies on these; a sample that stopped parsing
        // would silently shrink what it checks.
        assert_eq!(SAMPLES.len(), 2);
    }
}
