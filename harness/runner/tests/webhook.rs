//! The webhook target against `serve` on loopback: the bundled suite sent as AdmissionReview
//! v1 over HTTPS (a self-signed CA, an ephemeral port on 127.0.0.1) must be judged exactly
//! as in-process, trial for trial.
//!
//! Bounded for a debug build (a few seconds): PSA runs every case at `latest` (scenario
//! trials; goldens are left out when versions are narrowed), plus every version and the
//! golden trials of the privileged cases and of the exemption cases (the latter against a
//! server started with their PodSecurityConfiguration); Kyverno runs the baseline cases at
//! v1.19 with the bundled baseline policy. The whole PSA suite through `serve` also passes
//! (`pss-harness run --target webhook`, about a minute in a debug build).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pss_harness::harness::Layout;
use pss_harness::loader::{self, Suite};
use pss_harness::policy::DefaultPolicies;
use pss_harness::profile::Profile;
use pss_harness::run::{self, GoldenMode, RunOptions, Summary, Targets};
use pss_harness::scenario::{Filter, NameMatcher};
use pss_harness::serve::{Engine, Server, Tls};
use pss_harness::target::webhook::{Flavour, WebhookOptions, WebhookTarget};

fn layout() -> Layout {
    Layout::under(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

fn suite(layout: &Layout) -> Suite {
    loader::load(std::slice::from_ref(&layout.cases), Some(&layout.cases)).unwrap()
}

/// `serve` for a profile on 127.0.0.1, any free port, with a fresh CA written to `dir`.
fn serve(profile: &Profile, policies: &[PathBuf], config: Option<&Path>, dir: &Path) -> Server {
    let engine = Engine::for_profile(profile, policies, config).unwrap();
    let server = Server::start(
        engine,
        SocketAddr::from(([127, 0, 0, 1], 0)),
        &Tls::SelfSigned,
    )
    .unwrap();
    assert!(server.addr().ip().is_loopback());
    std::fs::write(dir.join("ca.pem"), server.ca_pem().unwrap()).unwrap();
    server
}

fn webhook(server: &Server, profile: &Profile, dir: &Path) -> WebhookTarget {
    let options = WebhookOptions {
        url: server.url(),
        ca_cert: Some(dir.join("ca.pem")),
        insecure_skip_tls_verify: false,
        timeout: Duration::from_secs(10),
        client_identity: None,
    };
    let flavour = Flavour::of(profile);
    WebhookTarget::new(&options, flavour).unwrap()
}

/// Run the selection in-process and through the webhook; both summaries.
fn both(
    suite: &Suite,
    profile: &Profile,
    filter: &Filter,
    target: WebhookTarget,
) -> (Summary, Summary) {
    let layout = layout();
    let profiles = [profile.clone()];
    let policies = DefaultPolicies::bundled(&layout.cases).unwrap();
    let in_process = Targets::in_process(&profiles)
        .unwrap()
        .with_policies(policies.clone());
    let live = Targets::in_process(&profiles)
        .unwrap()
        .with_policies(policies)
        .with(profile.clone(), Box::new(target));
    let items = run::select(suite, &profiles, filter, true);
    assert!(!items.is_empty());
    let opts = RunOptions {
        jobs: 2,
        golden_dir: layout.golden.clone(),
        golden_mode: GoldenMode::Check,
        progress: None,
    };
    let expected = Summary::of(&run::run_items(&items, &in_process, &opts));
    let results = run::run_items(&items, &live, &opts);
    let failures: Vec<String> = results
        .iter()
        .filter(|r| matches!(r.status, run::TrialStatus::Failed { .. }))
        .take(5)
        .map(|r| format!("{}: {:?}", r.name(), r.status))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
    (expected, Summary::of(&results))
}

fn names(patterns: &[&str]) -> Vec<NameMatcher> {
    patterns
        .iter()
        .map(|p| NameMatcher::parse(p).unwrap())
        .collect()
}

#[test]
fn the_psa_suite_through_serve_is_judged_as_in_process() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let layout = layout();
    let mut all = suite(&layout);
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&Profile::Psa, &[], None, dir.path());
    // The exemption cases need their own PSA configuration: a webhook has one of its own.
    let (exemptions, rest): (Vec<_>, Vec<_>) = all
        .cases
        .drain(..)
        .partition(|c| c.id.starts_with("admission/exemptions/"));
    let rest = Suite { cases: rest };
    let latest = Filter {
        versions: Some(vec![pss::Version::Latest]),
        ..Filter::default()
    };
    let target = webhook(&server, &Profile::Psa, dir.path());
    let (expected, actual) = both(&rest, &Profile::Psa, &latest, target);
    assert_eq!(actual, expected);
    assert!(actual.passed > 1000, "{actual}");

    let every_version = Filter {
        names: names(&["baseline/privileged/*", "admission/namespaces/*"]),
        ..Filter::default()
    };
    let target = webhook(&server, &Profile::Psa, dir.path());
    let (expected, actual) = both(&rest, &Profile::Psa, &every_version, target);
    assert_eq!(actual, expected);
    assert!(actual.passed > 100, "{actual}");
    server.shutdown();

    let config = layout
        .cases
        .join("admission/_config/pod-security-config.yaml");
    let configured = serve(&Profile::Psa, &[], Some(&config), dir.path());
    let target = webhook(&configured, &Profile::Psa, dir.path());
    let exemptions = Suite { cases: exemptions };
    let (expected, actual) = both(&exemptions, &Profile::Psa, &Filter::default(), target);
    assert_eq!(actual, expected);
    assert!(actual.passed >= 20, "{actual}");
    configured.shutdown();
}

#[test]
fn a_kyverno_line_through_serve_is_judged_as_in_process() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let layout = layout();
    let all = suite(&layout);
    let dir = tempfile::tempdir().unwrap();
    let profile: Profile = "kyverno@v1.19".parse().unwrap();
    let policy = layout.cases.join("policies/baseline-policy.yaml");
    let server = serve(&profile, &[policy], None, dir.path());
    let baseline = Filter {
        levels: vec![pss::Level::Baseline],
        names: names(&["baseline/*"]),
        ..Filter::default()
    };
    let target = webhook(&server, &profile, dir.path());
    let (expected, actual) = both(&all, &profile, &baseline, target);
    assert_eq!(actual, expected);
    assert!(actual.passed > 500, "{actual}");
    server.shutdown();
}

#[test]
fn serve_answers_bad_requests_with_400_and_json() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&Profile::Psa, &[], None, dir.path());
    let url = server.url();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ca = std::fs::read(dir.path().join("ca.pem")).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
        .no_proxy()
        .build()
        .unwrap();
    let post = |body: &'static str, labels: Option<&'static str>| {
        let mut request = client.post(&url).body(body);
        if let Some(l) = labels {
            request = request.header("X-Pss-Harness-Namespace-Labels", l);
        }
        runtime.block_on(async {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let json: serde_json::Value = response.json().await.unwrap();
            (status, json)
        })
    };
    let (status, json) = post("not json", None);
    assert_eq!(status, 400);
    assert!(
        json["error"]
            .as_str()
            .unwrap()
            .starts_with("not an AdmissionReview")
    );
    let (status, json) = post(
        r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#,
        None,
    );
    assert_eq!(
        (status, json["error"].as_str()),
        (400, Some("the AdmissionReview has no request"))
    );
    let (status, json) = post("{}", Some("[1]"));
    assert_eq!(status, 400);
    assert!(
        json["error"]
            .as_str()
            .unwrap()
            .contains("x-pss-harness-namespace-labels")
    );
    // A body over the input limit: 413 with a JSON error, before any decoding.
    let (status, json) = runtime.block_on(async {
        let response = client
            .post(&url)
            .body(vec![b' '; 5 << 20])
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json::<serde_json::Value>().await.unwrap(),
        )
    });
    assert_eq!(
        (status, json["error"].as_str()),
        (413, Some("the request body is over the 4 MiB limit"))
    );
    drop(runtime);
    server.shutdown();
}

const BIN: &str = env!("CARGO_BIN_EXE_pss-harness");

const DENIED: &str = "control: privileged
cases:
- name: priv
  versions: '>=v1.30'
  pod: {containers: [{name: app, securityContext: {privileged: true}}]}
  expect: {allowed: false, reasons: [privileged]}
";

fn pss(args: &[&str]) -> std::process::Output {
    std::process::Command::new(BIN)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// Kills the `serve` child (by its own handle) however the test ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_binary_serves_and_runs_against_itself() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases");
    std::fs::create_dir_all(cases.join("baseline")).unwrap();
    std::fs::write(cases.join("baseline/p.yaml"), DENIED).unwrap();
    let ca = dir.path().join("ca.pem");
    let mut child = Child(
        std::process::Command::new(BIN)
            .args([
                "serve",
                "--profile",
                "psa",
                "--listen",
                "127.0.0.1:0",
                "--write-ca",
            ])
            .arg(&ca)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let mut url = String::new();
    std::io::BufReader::new(stdout).read_line(&mut url).unwrap();
    let url = url.trim();
    assert!(
        url.starts_with("https://127.0.0.1:") && url.ends_with("/validate"),
        "{url}"
    );
    let cases = cases.to_str().unwrap();
    let accept = pss(&["run", "--cases", cases, "--goldens", "accept"]);
    assert_eq!(accept.status.code(), Some(0));
    let ca = ca.to_str().unwrap();
    let live = pss(&[
        "run",
        "--cases",
        cases,
        "--target",
        "webhook",
        "--webhook-url",
        url,
        "--ca-cert",
        ca,
    ]);
    let text = String::from_utf8_lossy(&live.stdout);
    assert_eq!(live.status.code(), Some(0), "{text}");
    let in_process = pss(&["run", "--cases", cases]);
    let summary = "82 passed, 0 failed, 0 skipped\n";
    assert_eq!(
        String::from_utf8_lossy(&in_process.stdout),
        summary,
        "9 kinds x 9 versions, 1 golden"
    );
    // A live report names what it ran against, then says exactly what in-process says.
    assert_eq!(
        text,
        format!("target: webhook {url} (psa texts)\n{summary}")
    );
    let untrusted = pss(&[
        "run",
        "--cases",
        cases,
        "--target",
        "webhook",
        "--webhook-url",
        url,
    ]);
    assert_eq!(untrusted.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&untrusted.stdout).contains("cannot connect"));
    let usage = pss(&["run", "--cases", cases, "--target", "webhook"]);
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("--webhook-url"));
    let two = pss(&[
        "run",
        "--cases",
        cases,
        "--target",
        "webhook",
        "--webhook-url",
        url,
        "--profile",
        "psa",
        "--profile",
        "kyverno@v1.19",
    ]);
    assert_eq!(two.status.code(), Some(2));
}

/// A client CA (PEM), and a client certificate and key it signed (PEM): a control plane's
/// CA and admin credential, as the cluster target makes them.
fn client_pki() -> (String, String, String) {
    let pki = pss_harness::cluster::pki::Pki::generate(&[]).unwrap();
    (pki.ca.cert, pki.admin.cert, pki.admin.key)
}

#[test]
fn a_webhook_that_asks_for_a_client_certificate_gets_one() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = client_pki();
    let (ca_path, cert_path, key_path) = (
        dir.path().join("client-ca.pem"),
        dir.path().join("client.pem"),
        dir.path().join("client-key.pem"),
    );
    std::fs::write(&ca_path, ca).unwrap();
    std::fs::write(&cert_path, cert).unwrap();
    std::fs::write(&key_path, key).unwrap();
    let engine = Engine::for_profile(&Profile::Psa, &[], None).unwrap();
    let listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let server = Server::start_with(engine, listen, &Tls::SelfSigned, Some(&ca_path)).unwrap();
    std::fs::write(dir.path().join("ca.pem"), server.ca_pem().unwrap()).unwrap();
    let options = |identity: Option<(PathBuf, PathBuf)>| WebhookOptions {
        url: server.url(),
        ca_cert: Some(dir.path().join("ca.pem")),
        insecure_skip_tls_verify: false,
        timeout: Duration::from_secs(10),
        client_identity: identity,
    };
    let object = pss::Workload::from_value(serde_json::json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "securityContext": {"privileged": true}}]}}))
    .unwrap();
    let labels = std::collections::BTreeMap::from([(
        "pod-security.kubernetes.io/enforce".to_owned(),
        "baseline".to_owned(),
    )]);
    let request = pss_harness::target::AdmissionRequest::create(&object, "team", &labels);
    use pss_harness::target::Target as _;
    let with =
        WebhookTarget::new(&options(Some((cert_path, key_path.clone()))), Flavour::Psa).unwrap();
    let outcome = with.admit(&request).unwrap();
    assert!(!outcome.allowed, "the engine answered: {outcome:?}");
    let without = WebhookTarget::new(&options(None), Flavour::Psa).unwrap();
    let err = without.admit(&request).unwrap_err();
    assert!(
        err.message().contains("request failed") || err.message().contains("cannot connect"),
        "{err}"
    );
    let bad = WebhookTarget::new(&options(Some((key_path.clone(), key_path))), Flavour::Psa);
    assert!(
        bad.err()
            .unwrap()
            .message()
            .contains("not a PEM client certificate"),
        "a key is not a certificate"
    );
    server.shutdown();
}
