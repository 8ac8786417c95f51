//! Engines for the certify, diff and profile-file tests: HTTPS webhooks in the test process
//! that ask `pss-harness serve` (the in-process PSA) and then change its answer: pass it on,
//! allow everything, drop one check, or say it in their own words. The mode can change
//! while the engine runs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use pss_harness::profile::Profile;
use pss_harness::serve::{Engine, Server, Tls};
use pss_harness::target::Violation;
use pss_harness::target::webhook::psa_violations;
use serde_json::{Value, json};

/// How the engine changes PSA's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// As PSA answered.
    Faithful,
    /// Allowed, no warning.
    AllowAll,
    /// PSA without this check.
    DropCheck(&'static str),
    /// PSA's decisions in ACME Guard's words (`brand` names it).
    Acme { brand: &'static str },
}

struct Shared {
    mode: Mutex<Mode>,
    upstream: String,
    client: reqwest::Client,
}

/// A running test engine.
pub struct TestEngine {
    pub url: String,
    /// The CA of its certificate (PEM file).
    pub ca: PathBuf,
    shared: Arc<Shared>,
    /// Dropped first: the engine stops before the `serve` it forwards to.
    _engine: Server,
    _serve: Server,
    _dir: tempfile::TempDir,
}

impl TestEngine {
    pub fn start(mode: Mode) -> TestEngine {
        pss_harness::target::webhook::install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::for_profile(&Profile::Psa, &[], None).unwrap();
        let serve = Server::start(
            engine,
            SocketAddr::from(([127, 0, 0, 1], 0)),
            &Tls::SelfSigned,
        )
        .unwrap();
        let serve_ca = reqwest::Certificate::from_pem(serve.ca_pem().unwrap().as_bytes()).unwrap();
        let client = reqwest::Client::builder()
            .tls_certs_only([serve_ca])
            .no_proxy()
            .build()
            .unwrap();
        let shared = Arc::new(Shared {
            mode: Mutex::new(mode),
            upstream: serve.url(),
            client,
        });
        let app = axum::Router::new()
            .route("/validate", axum::routing::post(validate))
            .with_state(Arc::clone(&shared));
        let listen = SocketAddr::from(([127, 0, 0, 1], 0));
        let engine = Server::serve_app(app, listen, &Tls::SelfSigned, None).unwrap();
        let ca = dir.path().join("engine-ca.pem");
        std::fs::write(&ca, engine.ca_pem().unwrap()).unwrap();
        TestEngine {
            url: engine.url(),
            ca,
            shared,
            _engine: engine,
            _serve: serve,
            _dir: dir,
        }
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }
}

async fn validate(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Json<Value> {
    let mut forward = shared
        .client
        .post(&shared.upstream)
        .header("content-type", "application/json");
    for (name, value) in &headers {
        if name.as_str().starts_with("x-pss-harness-") {
            forward = forward.header(name, value);
        }
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or_default();
    let mut review: Value = match forward.body(body).send().await {
        Ok(r) => r.json().await.unwrap_or_default(),
        Err(e) => json!({"error": e.to_string()}),
    };
    let mode = shared.mode.lock().unwrap().clone();
    let kind = request["request"]["kind"]["kind"].as_str().unwrap_or("?");
    let name = request["request"]["name"].as_str().unwrap_or("?");
    rewrite(&mut review["response"], &mode, kind, name);
    Json(review)
}

fn rewrite(response: &mut Value, mode: &Mode, kind: &str, name: &str) {
    match mode {
        Mode::Faithful => {}
        Mode::AllowAll => {
            response["allowed"] = json!(true);
            remove(response, "status");
            remove(response, "warnings");
        }
        Mode::DropCheck(check) => {
            if let Some(message) = response["status"]["message"].as_str().map(str::to_owned) {
                match without(&message, check) {
                    Some(kept) => response["status"]["message"] = json!(kept),
                    None => {
                        response["allowed"] = json!(true);
                        remove(response, "status");
                    }
                }
            }
            map_warnings(response, |w| without(w, check));
        }
        Mode::Acme { brand } => {
            if let Some(message) = response["status"]["message"].as_str().map(str::to_owned) {
                response["status"]["message"] =
                    json!(format!("{brand} refused {kind} {name}: {}", tags(&message)));
            }
            map_warnings(response, |w| {
                match w.starts_with("would violate PodSecurity") {
                    true => Some(format!(
                        "{brand}: {kind} {name} would be refused: {}",
                        tags(w)
                    )),
                    false => Some(w.to_owned()),
                }
            });
        }
    }
}

/// `[privileged] [hostPath]`: the checks of a PSA text.
fn tags(text: &str) -> String {
    let tags: Vec<String> = psa_violations(text)
        .into_iter()
        .map(|v| format!("[{}]", v.reason))
        .collect();
    tags.join(" ")
}

/// A PSA text without one check; `None` when it named no other.
fn without(text: &str, check: &str) -> Option<String> {
    let violations = psa_violations(text);
    if violations.is_empty() {
        return Some(text.to_owned());
    }
    let kept: Vec<&Violation> = violations.iter().filter(|v| v.reason != check).collect();
    if kept.is_empty() {
        return None;
    }
    let head_end = text.find("\": ").map_or(0, |i| i + 3);
    let detail: Vec<String> = kept
        .iter()
        .map(|v| match v.detail.is_empty() {
            true => v.reason.clone(),
            false => format!("{} ({})", v.reason, v.detail),
        })
        .collect();
    Some(format!("{}{}", &text[..head_end], detail.join(", ")))
}

fn map_warnings(response: &mut Value, f: impl Fn(&str) -> Option<String>) {
    let Some(warnings) = response["warnings"].as_array() else {
        return;
    };
    let kept: Vec<Value> = warnings
        .iter()
        .filter_map(|w| w.as_str().and_then(&f))
        .map(Value::from)
        .collect();
    match kept.is_empty() {
        true => remove(response, "warnings"),
        false => response["warnings"] = json!(kept),
    }
}

fn remove(response: &mut Value, key: &str) {
    if let Some(map) = response.as_object_mut() {
        map.remove(key);
    }
}
