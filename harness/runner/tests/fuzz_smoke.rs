//! The fuzz targets' smoke run for CI (no nightly, no libFuzzer): the four entry points of
//! `pss_harness::fuzzing`, which the cargo-fuzz targets in `fuzz/` call too, each fed a
//! bounded number of proptest-generated inputs. Inputs are bundled files (cases, policies,
//! manifests, and AdmissionReviews built from the manifests) mutated by a few hostile
//! edits: truncations, inserted YAML tokens, tabs, aliases, huge numbers, bad bytes.
//! Every input must be answered without a panic and without breaking an invariant.
//!
//! The real fuzzing runs (`fuzz/run.sh`) and their counts are in docs/robustness.md.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use pss_harness::fuzzing;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

fn read_all(paths: &[PathBuf]) -> Vec<Vec<u8>> {
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// The bundled case files (no policies or manifests).
static CASES: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let mut paths = Vec::new();
    files(&root().join("cases"), &mut paths);
    paths.retain(|p| {
        !p.components()
            .any(|c| c.as_os_str().to_string_lossy().starts_with('_'))
    });
    paths.retain(|p| !p.starts_with(root().join("cases/policies")));
    read_all(&paths)
});

static POLICIES: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let mut paths = Vec::new();
    files(&root().join("cases/policies"), &mut paths);
    files(&root().join("cases/autogen/_policies"), &mut paths);
    read_all(&paths)
});

const INLINE_MANIFESTS: [&str; 4] = [
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p, annotations: {a: b}}\nspec:\n  hostPID: true\n  \
     securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}\n  containers:\n  \
     - name: c\n    image: nginx\n    ports: [{containerPort: 80, hostPort: 8080}]\n    \
     securityContext: {capabilities: {add: [NET_RAW], drop: [ALL]}, privileged: false}\n",
    "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: cj}\nspec:\n  schedule: '* * * * *'\n  \
     jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          \
     volumes: [{name: v, hostPath: {path: /}}]\n          containers: [{name: c, image: x}]\n",
    "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: a}, spec: \
     {containers: [{name: c, securityContext: {seLinuxOptions: {type: spc_t}}}]}}\n",
    r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"selector":{},
     "template":{"metadata":{"annotations":{"container.apparmor.security.beta.kubernetes.io/c":
     "unconfined"}},"spec":{"containers":[{"name":"c","securityContext":{"procMount":"Unmasked"}}]}}}}"#,
];

static MANIFESTS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let mut paths = Vec::new();
    files(&root().join("cases/autogen/_manifests"), &mut paths);
    files(&root().join("cases/examples/_manifests"), &mut paths);
    let mut out = read_all(&paths);
    out.extend(INLINE_MANIFESTS.iter().map(|m| m.as_bytes().to_vec()));
    out
});

/// An AdmissionReview v1 request for each inline manifest (JSON), CREATE and UPDATE.
static REVIEWS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let mut out = Vec::new();
    for text in INLINE_MANIFESTS {
        let Ok(docs) = pss_harness::yaml::parse_documents(text) else {
            continue;
        };
        let object = docs[0].to_json();
        let resource = match object["kind"].as_str() {
            Some("Deployment") => ("apps", "deployments"),
            Some("CronJob") => ("batch", "cronjobs"),
            _ => ("", "pods"),
        };
        for operation in ["CREATE", "UPDATE"] {
            let review = serde_json::json!({
                "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                "request": {"uid": "0f1e", "operation": operation, "namespace": "team",
                    "resource": {"group": resource.0, "version": "v1", "resource": resource.1},
                    "userInfo": {"username": "alice"}, "object": object,
                    "oldObject": if operation == "UPDATE" { object.clone() } else { serde_json::Value::Null }}
            });
            out.push(review.to_string().into_bytes());
        }
    }
    out
});

/// Fragments a fuzzer would splice in: YAML structure, aliases, tabs, numbers past every
/// integer type, nulls, bad bytes.
const TOKENS: &[&[u8]] = &[
    b"\n",
    b"\t",
    b": ",
    b"- ",
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b"'",
    b"&a ",
    b"*a",
    b"<<: *a\n",
    b"null",
    b"~",
    b"99999999999999999999999",
    b"-1",
    b"1e400",
    b"!!binary ",
    b"---\n",
    b"...\n",
    b"\xff",
    b"\xc3",
    b"\0",
    b"#",
    b"|\n",
    b">-\n",
    b"? ",
    b"%YAML 1.2\n",
    b"yes",
];

#[derive(Debug, Clone)]
enum Edit {
    Truncate(usize),
    Insert(usize, usize),
    Flip(usize, u8),
    DuplicateLine(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, t)| Edit::Insert(at, t)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Flip(at, b)),
        any::<usize>().prop_map(Edit::DuplicateLine),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = bytes.len().max(1);
        match *e {
            Edit::Truncate(at) => bytes.truncate(at % len),
            Edit::Insert(at, t) => {
                let at = at % len.min(bytes.len() + 1);
                bytes.splice(at..at, TOKENS[t].iter().copied());
            }
            Edit::Flip(at, b) => {
                if let Some(byte) = bytes.get_mut(at % len) {
                    *byte ^= b;
                }
            }
            Edit::DuplicateLine(at) => {
                let at = at % len;
                let start = bytes[..at.min(bytes.len())]
                    .iter()
                    .rposition(|b| *b == b'\n')
                    .map_or(0, |i| i + 1);
                let end = bytes[start..]
                    .iter()
                    .position(|b| *b == b'\n')
                    .map_or(bytes.len(), |i| start + i + 1);
                let line = bytes[start..end].to_vec();
                bytes.splice(start..start, line);
            }
        }
    }
    bytes
}

/// `cases` mutated inputs from `seeds` (plus, for a tenth of them, the seed as is), each
/// through `entry`; the first broken invariant or panic fails with the shrunk input.
fn smoke(seeds: &[Vec<u8>], cases: u32, entry: fn(&[u8]) -> fuzzing::Outcome) {
    assert!(!seeds.is_empty(), "no seed inputs found");
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let strategy = (0..seeds.len(), prop::collection::vec(edit(), 0..4));
    let result = TestRunner::new(config).run(&strategy, |(seed, edits)| {
        let input = apply(seeds[seed].clone(), &edits);
        let outcome = entry(&input);
        prop_assert!(
            outcome.is_ok(),
            "{:?} on {:?}",
            outcome,
            String::from_utf8_lossy(&input)
        );
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn case_loader() {
    smoke(&CASES, 64, fuzzing::case_loader);
}

#[test]
fn manifest_eval() {
    smoke(&MANIFESTS, 128, fuzzing::manifest_eval);
}

#[test]
fn admission_review() {
    smoke(&REVIEWS, 256, fuzzing::admission_review);
}

#[test]
fn kyverno_policy() {
    smoke(&POLICIES, 256, fuzzing::kyverno_policy);
}

/// The unmutated seeds hold the invariants too (most of them get all the way through:
/// evaluated, answered, admitted).
#[test]
fn seeds_pass_unchanged() {
    for (target, entry) in fuzzing::ENTRIES {
        let seeds: &[Vec<u8>] = match target {
            "case_loader" => &CASES,
            "manifest_eval" => &MANIFESTS,
            "admission_review" => &REVIEWS,
            "kyverno_policy" => &POLICIES,
            other => panic!("no seeds for the fuzz target {other}"),
        };
        for seed in seeds {
            assert_eq!(entry(seed), Ok(()), "{}", String::from_utf8_lossy(seed));
        }
    }
    // The bundled files were found (not only the inline seeds).
    assert!(CASES.len() > 20 && POLICIES.len() > 10 && REVIEWS.len() == 8);
    assert!(MANIFESTS.len() > INLINE_MANIFESTS.len());
}
