//! `pss-harness generate` output fed back through `run`: it loads as ordinary cases, agrees
//! with itself in-process at every version and kind, and the served webhook (`serve`,
//! AdmissionReview over HTTPS on loopback) is judged exactly as in-process.
//!
//! The webhook leg is bounded for a debug build: three versions (v1.0, v1.25 where several
//! checks change, latest), every kind. The whole generation through `serve` also passes
//! (`pss-harness run --generated DIR --target webhook ...`, see docs/robustness.md).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use pss::Version;
use pss_harness::generate;
use pss_harness::loader;
use pss_harness::profile::Profile;
use pss_harness::run::{self, GoldenMode, RunOptions, Summary, Targets, TrialStatus};
use pss_harness::scenario::Filter;
use pss_harness::serve::{Engine, Server, Tls};
use pss_harness::target::webhook::{Flavour, WebhookOptions, WebhookTarget};

fn run_all(suite: &loader::Suite, targets: &Targets, filter: &Filter) -> Summary {
    let items = run::select(suite, &[Profile::Psa], filter, false);
    assert!(!items.is_empty());
    let opts = RunOptions {
        jobs: 2,
        golden_dir: Path::new("no-goldens").to_path_buf(),
        golden_mode: GoldenMode::Check,
        progress: None,
    };
    let results = run::run_items(&items, targets, &opts);
    let failures: Vec<String> = results
        .iter()
        .filter(|r| matches!(r.status, TrialStatus::Failed { .. }))
        .take(5)
        .map(|r| format!("{}: {:?}", r.name(), r.status))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
    Summary::of(&results)
}

#[test]
fn generated_cases_agree_in_process_and_through_the_served_webhook() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("generated");
    let written = generate::generate(&dir).unwrap();
    let suite = loader::load(std::slice::from_ref(&dir), Some(&dir)).unwrap();
    assert_eq!(suite.len(), written.cases);

    let in_process = Targets::in_process(&[Profile::Psa]).unwrap();
    let everything = run_all(&suite, &in_process, &Filter::default());
    assert_eq!(everything.failed, 0);
    assert!(everything.passed > 50_000, "{everything}");

    let server = Server::start(
        Engine::for_profile(&Profile::Psa, &[], None).unwrap(),
        SocketAddr::from(([127, 0, 0, 1], 0)),
        &Tls::SelfSigned,
    )
    .unwrap();
    std::fs::write(tmp.path().join("ca.pem"), server.ca_pem().unwrap()).unwrap();
    let webhook = WebhookTarget::new(
        &WebhookOptions {
            url: server.url(),
            ca_cert: Some(tmp.path().join("ca.pem")),
            insecure_skip_tls_verify: false,
            timeout: Duration::from_secs(10),
            client_identity: None,
        },
        Flavour::Psa,
    )
    .unwrap();
    let live = Targets::in_process(&[Profile::Psa])
        .unwrap()
        .with(Profile::Psa, Box::new(webhook));
    let some_versions = Filter {
        versions: Some(
            [0, 25]
                .map(Version::V1)
                .into_iter()
                .chain([Version::Latest])
                .collect(),
        ),
        ..Filter::default()
    };
    let expected = run_all(&suite, &in_process, &some_versions);
    let actual = run_all(&suite, &live, &some_versions);
    assert_eq!(actual, expected);
    assert!(actual.passed > 3_000, "{actual}");
    server.shutdown();
}

const BIN: &str = env!("CARGO_BIN_EXE_pss-harness");

#[test]
fn the_binary_generates_and_runs_what_it_generated() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("gen");
    let dir_arg = dir.to_str().unwrap();
    let out = std::process::Command::new(BIN)
        .args(["generate", dir_arg])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.starts_with("wrote ") && said.contains(" cases ("),
        "{said}"
    );
    let run = |extra: &[&str]| {
        std::process::Command::new(BIN)
            .args(["run", "--generated", dir_arg])
            .args(extra)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let latest = run(&["--version", "latest"]);
    let text = String::from_utf8_lossy(&latest.stdout);
    assert_eq!(latest.status.code(), Some(0), "{text}");
    assert!(text.ends_with(" failed, 0 skipped\n") && text.contains(" passed, 0 failed"));
    // No goldens to accept, and only a generation is accepted as --generated.
    assert_eq!(run(&["--goldens", "accept"]).status.code(), Some(2));
    let elsewhere = tmp.path().join("empty");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let refused = std::process::Command::new(BIN)
        .args(["run", "--generated", elsewhere.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no generated cases here"));
}
