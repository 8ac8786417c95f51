//! Throughput of the evaluator, in pods per second.
//!
//! Corpus: the upstream v1.37 fixtures of both levels (pass and fail, so most pods are
//! denied and messages are built), from `$PSS_UPSTREAM_FIXTURES` or
//! `<workspace root>/../shared/upstream-psa-fixtures`. Without that folder a few built-in
//! pods are used instead, and the bench says so.
//!
//! Benchmarks:
//! - `evaluate/{baseline,restricted}:latest`: [`pss::evaluate`] on parsed workloads (checks,
//!   aggregation and the denial message);
//! - `json_parse_evaluate/restricted:latest`: [`Workload::from_json`] then evaluate;
//! - `yaml_parse_evaluate/restricted:latest`: serde-saphyr to a JSON value, then
//!   [`Workload::from_value`], then evaluate.
//!
//! Run with `cargo bench -p pss`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pss::{Defaulting, LevelVersion, Workload};

/// One pod of the corpus in every form the benchmarks start from.
struct Sample {
    yaml: String,
    json: String,
    workload: Workload,
}

fn fixtures_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("PSS_UPSTREAM_FIXTURES") {
        return PathBuf::from(dir);
    }
    // CARGO_MANIFEST_DIR is <workspace root>/harness/pss.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/upstream-psa-fixtures")
}

/// The v1.37 fixtures of both levels, or `None` when the folder is absent.
fn fixture_yaml() -> Option<Vec<String>> {
    let root = fixtures_root();
    let mut texts = Vec::new();
    for level in ["baseline", "restricted"] {
        for outcome in ["pass", "fail"] {
            let dir = root.join(level).join("v1.37").join(outcome);
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .ok()?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            files.sort();
            texts.extend(files.iter().filter_map(|f| std::fs::read_to_string(f).ok()));
        }
    }
    (!texts.is_empty()).then_some(texts)
}

/// A few pods covering the common shapes (JSON is valid YAML, so they serve both parsers).
fn builtin_yaml() -> Vec<String> {
    let pod = |name: &str, spec: serde_json::Value| {
        serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": spec})
        .to_string()
    };
    let init = serde_json::json!([{"name": "init", "image": "pause"}]);
    let compliant = serde_json::json!({"name": "app", "image": "pause", "securityContext": {
        "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}});
    vec![
        pod(
            "bare",
            serde_json::json!({"initContainers": init,
            "containers": [{"name": "app", "image": "pause"}]}),
        ),
        pod(
            "ok",
            serde_json::json!({"securityContext": {"runAsNonRoot": true,
            "seccompProfile": {"type": "RuntimeDefault"}}, "containers": [compliant]}),
        ),
        pod(
            "priv",
            serde_json::json!({"hostPID": true, "initContainers": init, "containers": [
            {"name": "app", "image": "pause", "securityContext": {"privileged": true}}]}),
        ),
        pod(
            "vol",
            serde_json::json!({"volumes": [{"name": "data", "hostPath": {"path": "/"}}],
            "initContainers": init, "containers": [{"name": "app", "image": "pause"}]}),
        ),
    ]
}

fn parse_yaml(text: &str) -> Workload {
    let value: serde_json::Value = serde_saphyr::from_str(text).expect("benchmark YAML");
    Workload::from_value(value).expect("benchmark workload")
}

fn corpus() -> Vec<Sample> {
    let texts = fixture_yaml().unwrap_or_else(|| {
        println!(
            "upstream fixtures not found at {}; benchmarking {} built-in pods instead",
            fixtures_root().display(),
            builtin_yaml().len()
        );
        builtin_yaml()
    });
    texts
        .into_iter()
        .map(|yaml| {
            let mut workload = parse_yaml(&yaml);
            Defaulting::API_SERVER.apply(&mut workload);
            let json = workload.to_value().to_string();
            Sample {
                yaml,
                json,
                workload,
            }
        })
        .collect()
}

fn policy(s: &str) -> LevelVersion {
    s.parse().expect("benchmark policy")
}

fn benches(c: &mut Criterion) {
    let samples = corpus();
    let pods = samples.len() as u64;
    println!("corpus: {pods} pods");

    let mut group = c.benchmark_group("evaluate");
    group.throughput(Throughput::Elements(pods));
    for p in ["baseline:latest", "restricted:latest"] {
        let lv = policy(p);
        group.bench_function(p, |b| {
            b.iter(|| {
                for s in &samples {
                    black_box(pss::evaluate(black_box(&s.workload), lv));
                }
            })
        });
    }
    group.finish();

    let lv = policy("restricted:latest");
    let mut group = c.benchmark_group("json_parse_evaluate");
    group.throughput(Throughput::Elements(pods));
    group.bench_function("restricted:latest", |b| {
        b.iter(|| {
            for s in &samples {
                let w = Workload::from_json(black_box(&s.json)).expect("benchmark JSON");
                black_box(pss::evaluate(&w, lv));
            }
        })
    });
    group.finish();

    let mut group = c.benchmark_group("yaml_parse_evaluate");
    group.throughput(Throughput::Elements(pods));
    group.bench_function("restricted:latest", |b| {
        b.iter(|| {
            for s in &samples {
                black_box(pss::evaluate(&parse_yaml(black_box(&s.yaml)), lv));
            }
        })
    });
    group.finish();
}

criterion_group! {
    name = evaluate;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = benches
}
criterion_main!(evaluate);
