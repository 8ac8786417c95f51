//! `pss-harness serve`: an HTTPS validating admission webhook (AdmissionReview v1 at
//! `/validate`) answered by the in-process target of one profile, so the webhook target
//! (and any API server) can be pointed at the harness's own model.
//!
//! The server is the webhook half of the API-server/webhook split: it applies no
//! defaulting (the caller did), reads the namespace's labels from the
//! [`NAMESPACE_LABELS_HEADER`] header (default: no labels) and a Namespace request's
//! existing pods from [`EXISTING_PODS_HEADER`] (default: none), and answers as the engine's
//! webhook would. PSA: the admission plugin's status, warnings and audit annotations.
//! Kyverno: its denial message alone (the API server adds `admission webhook ... denied
//! the request: `), and the denying webhook's name in the [`WEBHOOK_NAME_HEADER`] header.
//! A request that is not a well-formed review gets HTTP 400 with `{"error": ...}`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use k8s_openapi::api::core::v1::Pod;
use pss::admission::{AdmissionConfig, NamespaceObject};
use pss::{Defaulting, Workload};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::Error;
use crate::policy::PolicySet;
use crate::profile::Profile;
use crate::psa_config;
use crate::target::kyverno::InProcessKyverno;
use crate::target::psa::InProcessPsa;
use crate::target::webhook::{
    API_VERSION, EXISTING_PODS_HEADER, KIND, NAMESPACE_LABELS_HEADER, WEBHOOK_NAME_HEADER,
};
use crate::target::{AdmissionRequest, NamespaceRequest, Operation, Outcome, Target};

/// The profile's in-process engine, as the webhook answers with it.
pub struct Engine {
    target: Box<dyn Target>,
    kyverno: bool,
    config: Option<AdmissionConfig>,
}

impl Engine {
    /// PSA (with `--admission-config`, else the built-in defaults) or Kyverno at a line
    /// with `--policy` files (required, and admitted by that line).
    pub fn for_profile(
        profile: &Profile,
        policies: &[PathBuf],
        admission_config: Option<&Path>,
    ) -> Result<Engine, Error> {
        match profile {
            Profile::Psa => {
                if !policies.is_empty() {
                    return Err(Error::Usage("--policy applies to Kyverno profiles".into()));
                }
                let config = admission_config
                    .map(psa_config::load)
                    .transpose()?
                    .map(|c| c.config);
                Ok(Engine {
                    target: Box::new(InProcessPsa::default()),
                    kyverno: false,
                    config,
                })
            }
            Profile::File(_) => Err(Error::Usage(format!(
                "serve runs the harness's own engines (psa, kyverno@<line>); {profile} is a \
                 profile file describing another engine"
            ))),
            Profile::Kyverno { line } => {
                if policies.is_empty() {
                    return Err(Error::Usage(format!("{profile} needs --policy FILE...")));
                }
                if admission_config.is_some() {
                    return Err(Error::Usage("--admission-config applies to psa".into()));
                }
                let set = PolicySet::load(policies)?;
                if let Some(refusal) = set.refusal(*line) {
                    return Err(Error::Usage(format!(
                        "{profile} does not admit the policy: {refusal}"
                    )));
                }
                Ok(Engine {
                    target: Box::new(InProcessKyverno::new(*line, Arc::new(set))),
                    kyverno: true,
                    config: None,
                })
            }
        }
    }

    pub fn describe(&self) -> String {
        self.target.describe()
    }
}

/// Where the server's certificate comes from.
#[derive(Debug, Clone)]
pub enum Tls {
    /// PEM files (a chain and its key).
    Files { cert: PathBuf, key: PathBuf },
    /// A fresh CA and a certificate for `127.0.0.1`, `localhost` and the listen address.
    SelfSigned,
}

/// A PEM CA certificate, server certificate (signed by it) and server key.
#[derive(Debug, Clone)]
pub struct SelfSigned {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

/// A CA and a server certificate for `hosts` (IP strings become IP SANs).
pub fn self_signed(hosts: &[String]) -> Result<SelfSigned, String> {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    let fail = |e: rcgen::Error| format!("cannot generate a certificate: {e}");
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "pss-harness serve CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().map_err(fail)?).map_err(fail)?;
    let mut leaf = CertificateParams::new(hosts.to_vec()).map_err(fail)?;
    leaf.distinguished_name
        .push(DnType::CommonName, "pss-harness serve");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().map_err(fail)?;
    let cert = leaf.signed_by(&key, &ca).map_err(fail)?;
    Ok(SelfSigned {
        ca_pem: ca.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// A running server: its address, the CA to trust (self-signed), and its runtime.
pub struct Server {
    runtime: tokio::runtime::Runtime,
    handle: axum_server::Handle<SocketAddr>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    addr: SocketAddr,
    ca_pem: Option<String>,
}

impl Server {
    /// Bind `listen` (port 0: any free port) and serve `engine` in the background.
    pub fn start(engine: Engine, listen: SocketAddr, tls: &Tls) -> Result<Server, String> {
        Server::start_with(engine, listen, tls, None)
    }

    /// [`Server::start`], requiring clients to present a certificate signed by a CA in
    /// `client_ca` (a PEM bundle) when given: an API server's admission client
    /// certificate (mTLS).
    pub fn start_with(
        engine: Engine,
        listen: SocketAddr,
        tls: &Tls,
        client_ca: Option<&Path>,
    ) -> Result<Server, String> {
        Server::serve_app(router(Arc::new(engine)), listen, tls, client_ca)
    }

    /// Serve any `app` over HTTPS as [`Server::start_with`] serves the engine (tests use it
    /// for webhooks that misbehave on purpose).
    pub fn serve_app(
        app: axum::Router,
        listen: SocketAddr,
        tls: &Tls,
        client_ca: Option<&Path>,
    ) -> Result<Server, String> {
        crate::target::webhook::install_crypto_provider();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the server runtime: {e}"))?;
        let (cert, key, ca_pem) = match tls {
            Tls::Files { cert, key } => {
                let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
                (read(cert)?, read(key)?, None)
            }
            Tls::SelfSigned => {
                let mut hosts = vec!["127.0.0.1".to_owned(), "localhost".to_owned()];
                let ip = listen.ip().to_string();
                if !hosts.contains(&ip) && !listen.ip().is_unspecified() {
                    hosts.push(ip);
                }
                let s = self_signed(&hosts)?;
                (
                    s.cert_pem.into_bytes(),
                    s.key_pem.into_bytes(),
                    Some(s.ca_pem),
                )
            }
        };
        let handle = axum_server::Handle::<SocketAddr>::new();
        let (task, addr) = runtime.block_on(async {
            let config = match client_ca {
                None => axum_server::tls_rustls::RustlsConfig::from_pem(cert, key)
                    .await
                    .map_err(|e| format!("cannot use the certificate and key: {e}"))?,
                Some(ca) => mutual_tls(&cert, &key, ca)?,
            };
            let server = axum_server::bind_rustls(listen, config).handle(handle.clone());
            let task = tokio::spawn(server.serve(app.into_make_service()));
            match handle.listening().await {
                Some(addr) => Ok((task, addr)),
                None => Err(match task.await {
                    Ok(Err(e)) => format!("cannot listen on {listen}: {e}"),
                    _ => format!("cannot listen on {listen}"),
                }),
            }
        })?;
        Ok(Server {
            runtime,
            handle,
            task,
            addr,
            ca_pem,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The validating endpoint, `https://<addr>/validate`.
    pub fn url(&self) -> String {
        format!("https://{}/validate", self.addr)
    }

    /// The self-signed CA certificate (PEM), if the server made its own.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// Serve until the server stops (an I/O error; it runs until the process is killed).
    pub fn wait(self) -> Result<(), String> {
        match self.runtime.block_on(self.task) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("server stopped: {e}")),
            Err(e) => Err(format!("server stopped: {e}")),
        }
    }

    /// Stop accepting and close connections.
    pub fn shutdown(self) {
        self.handle.shutdown();
        let _ = self.runtime.block_on(self.task);
    }
}

/// A TLS configuration that asks every client for a certificate signed by `client_ca`.
fn mutual_tls(
    cert: &[u8],
    key: &[u8],
    client_ca: &Path,
) -> Result<axum_server::tls_rustls::RustlsConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let shown = client_ca.display();
    let ca_pem = std::fs::read(client_ca).map_err(|e| format!("{shown}: {e}"))?;
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(&ca_pem) {
        let ca = ca.map_err(|e| format!("{shown}: not a PEM certificate: {e}"))?;
        roots
            .add(ca)
            .map_err(|e| format!("{shown}: not a CA certificate: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("{shown}: no certificate in the file"));
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
        .build()
        .map_err(|e| format!("{shown}: {e}"))?;
    let chain = CertificateDer::pem_slice_iter(cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the server certificate: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| format!("the server key: {e}"))?;
    let mut config = rustls::ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| format!("cannot use the certificate and key: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(axum_server::tls_rustls::RustlsConfig::from_config(
        Arc::new(config),
    ))
}

/// The routes: `POST /validate`, and for an API server that registers Kyverno's two
/// webhooks as Kyverno does, `POST /validate/fail` and `/validate/ignore`: each denies only
/// what its webhook (`validate.kyverno.svc-fail` or `-ignore`) would deny, and allows the
/// rest, so the API server names the right webhook.
pub fn router(engine: Arc<Engine>) -> axum::Router {
    axum::Router::new()
        .route("/validate", axum::routing::post(validate))
        .route(
            "/validate/fail",
            axum::routing::post(
                |state: State<Arc<Engine>>, headers: HeaderMap, body: BodyResult| async move {
                    validate_as(state, headers, body, kyverno::blocked::WEBHOOK_FAIL).await
                },
            ),
        )
        .route(
            "/validate/ignore",
            axum::routing::post(
                |state: State<Arc<Engine>>, headers: HeaderMap, body: BodyResult| async move {
                    validate_as(state, headers, body, kyverno::blocked::WEBHOOK_IGNORE).await
                },
            ),
        )
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::limits::MAX_INPUT_BYTES,
        ))
        .with_state(engine)
}

/// A request body, or why it could not be read.
type BodyResult = Result<Bytes, BytesRejection>;

/// `validate`, answering for one of Kyverno's webhooks: a denial another webhook would
/// give becomes an allowed answer (same uid, no message).
async fn validate_as(
    state: State<Arc<Engine>>,
    headers: HeaderMap,
    body: BodyResult,
    webhook: &str,
) -> Response {
    let response = validate(state, headers, body).await;
    let denier = response
        .headers()
        .get(WEBHOOK_NAME_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match denier {
        Some(name) if name != webhook => {
            let (_, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, 8 << 20)
                .await
                .unwrap_or_default();
            let mut review: Value = serde_json::from_slice(&bytes).unwrap_or_default();
            let uid = review["response"]["uid"].clone();
            review["response"] = json!({"uid": uid, "allowed": true});
            Json(review).into_response()
        }
        _ => response,
    }
}

/// A body that could not be read (over [`crate::limits::MAX_INPUT_BYTES`]: HTTP 413).
fn body_rejected(rejection: &BytesRejection) -> Response {
    let status = rejection.status();
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => crate::limits::over_limit("the request body", None),
        _ => rejection.body_text(),
    };
    (status, Json(json!({ "error": message }))).into_response()
}

/// A bad request: HTTP 400 with a JSON error.
fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}

async fn validate(
    State(engine): State<Arc<Engine>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(e) => return body_rejected(&e),
    };
    let side = namespace_labels(&headers).and_then(|l| Ok((l, existing_pods(&headers)?)));
    let (labels, pods) = match side {
        Ok(side) => side,
        Err(e) => return bad_request(e),
    };
    match decode_review(&engine, &body, &labels, pods) {
        Ok((body, webhook)) => {
            let mut response = Json(body).into_response();
            if let Some(value) = webhook.and_then(|w| HeaderValue::from_str(&w).ok()) {
                response.headers_mut().insert(WEBHOOK_NAME_HEADER, value);
            }
            response
        }
        Err(e) => bad_request(e),
    }
}

/// The answer to one request body: the response review and, for Kyverno, the denying
/// webhook; `Err` is the text of an HTTP 400. The pure core of `/validate` (no I/O), also
/// what the `admission_review` fuzz target drives.
pub fn decode_review(
    engine: &Engine,
    body: &[u8],
    labels: &BTreeMap<String, String>,
    existing_pods: Vec<Pod>,
) -> Result<(Value, Option<String>), String> {
    if body.len() > crate::limits::MAX_INPUT_BYTES {
        let size = Some(body.len() as u64);
        return Err(crate::limits::over_limit("the request body", size));
    }
    // JSON is UTF-8; serde_json checks only the strings it keeps, so a bad byte in an
    // ignored field (`resource.version`) would otherwise pass (found by fuzzing).
    let text = std::str::from_utf8(body).map_err(|e| {
        format!(
            "not an AdmissionReview: the body is not UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        )
    })?;
    let review: ReviewIn =
        serde_json::from_str(text).map_err(|e| format!("not an AdmissionReview: {e}"))?;
    answer(engine, review, labels, existing_pods)
}

/// The labels header as a map (absent: none).
fn namespace_labels(headers: &HeaderMap) -> Result<BTreeMap<String, String>, String> {
    header_json(headers, NAMESPACE_LABELS_HEADER, "a JSON object of strings")
}

/// The existing-pods header as pods (absent: none).
fn existing_pods(headers: &HeaderMap) -> Result<Vec<Pod>, String> {
    header_json(headers, EXISTING_PODS_HEADER, "a JSON list of pods")
}

fn header_json<T: serde::de::DeserializeOwned + Default>(
    headers: &HeaderMap,
    name: &str,
    what: &str,
) -> Result<T, String> {
    let Some(value) = headers.get(name) else {
        return Ok(T::default());
    };
    let text = value.to_str().map_err(|_| format!("{name}: not text"))?;
    serde_json::from_str(text).map_err(|e| format!("{name}: not {what}: {e}"))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReviewIn {
    api_version: String,
    kind: String,
    request: Option<RequestIn>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestIn {
    uid: String,
    resource: ResourceIn,
    #[serde(default)]
    sub_resource: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    operation: String,
    #[serde(default)]
    user_info: Option<UserInfoIn>,
    #[serde(default)]
    object: Option<Value>,
    #[serde(default)]
    old_object: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct ResourceIn {
    #[serde(default)]
    group: String,
    resource: String,
}

#[derive(Debug, Default, Deserialize)]
struct UserInfoIn {
    #[serde(default)]
    username: Option<String>,
}

/// The decoded request, owning what the [`AdmissionRequest`] borrows.
enum Decoded {
    /// Not something the engine handles (another resource, DELETE, CONNECT).
    Ignored,
    Workload {
        object: Box<Workload>,
        old: Option<Box<Workload>>,
    },
    Namespace(NamespaceRequest),
}

/// The response review for a request review, and the Kyverno webhook that denied.
fn answer(
    engine: &Engine,
    review: ReviewIn,
    labels: &BTreeMap<String, String>,
    existing_pods: Vec<Pod>,
) -> Result<(Value, Option<String>), String> {
    if review.api_version != API_VERSION || review.kind != KIND {
        return Err(format!(
            "expected apiVersion {API_VERSION} kind {KIND}, got {} {}",
            review.api_version, review.kind
        ));
    }
    let request = review
        .request
        .ok_or_else(|| "the AdmissionReview has no request".to_owned())?;
    let operation = match request.operation.as_str() {
        "CREATE" => Some(Operation::Create),
        "UPDATE" => Some(Operation::Update),
        "DELETE" | "CONNECT" => None,
        other => return Err(format!("unknown operation {other:?}")),
    };
    let decoded = match operation {
        Some(_) => decode(&request, existing_pods)?,
        None => Decoded::Ignored,
    };
    let outcome = match (&decoded, operation) {
        (Decoded::Ignored, _) | (_, None) => allowed(),
        (Decoded::Namespace(_), _) if engine.kyverno => allowed(),
        (_, Some(op)) => admit(engine, &request, &decoded, op, labels)?,
    };
    Ok(response_review(engine, &request.uid, &outcome))
}

fn allowed() -> Outcome {
    Outcome {
        allowed: true,
        ..Outcome::default()
    }
}

/// The objects of a CREATE or UPDATE.
fn decode(request: &RequestIn, existing_pods: Vec<Pod>) -> Result<Decoded, String> {
    let resource = pss::admission::Resource::from_group_resource(
        &request.resource.group,
        &request.resource.resource,
    );
    let object = request
        .object
        .clone()
        .ok_or_else(|| "the request has no object".to_owned())?;
    match resource {
        None => Ok(Decoded::Ignored),
        Some(pss::admission::Resource::Namespaces) => {
            let old = request.old_object.as_ref().map(namespace_object);
            Ok(Decoded::Namespace(NamespaceRequest {
                object: namespace_object(&object),
                old: old.filter(|o| !o.name.is_empty()),
                existing_pods,
            }))
        }
        Some(_) => {
            let parse = |v: Value, what: &str| {
                Workload::from_value(v).map_err(|e| format!("cannot read the {what}: {e}"))
            };
            let old = match request.old_object.clone().filter(|v| !v.is_null()) {
                Some(v) => Some(Box::new(parse(v, "oldObject")?)),
                None => None,
            };
            Ok(Decoded::Workload {
                object: Box::new(parse(object, "object")?),
                old,
            })
        }
    }
}

fn namespace_object(value: &Value) -> NamespaceObject {
    let meta = &value["metadata"];
    NamespaceObject {
        name: meta["name"].as_str().unwrap_or_default().to_owned(),
        labels: serde_json::from_value(meta["labels"].clone()).unwrap_or_default(),
    }
}

/// Ask the engine: the webhook's defaulting already happened at the caller.
fn admit(
    engine: &Engine,
    request: &RequestIn,
    decoded: &Decoded,
    operation: Operation,
    labels: &BTreeMap<String, String>,
) -> Result<Outcome, String> {
    let placeholder = Workload::Pod(Pod::default());
    let (object, old, ns) = match decoded {
        Decoded::Workload { object, old } => (&**object, old.as_deref(), None),
        Decoded::Namespace(ns) => (&placeholder, None, Some(ns)),
        Decoded::Ignored => return Ok(allowed()),
    };
    let user = request
        .user_info
        .as_ref()
        .and_then(|u| u.username.as_deref());
    let admission = AdmissionRequest {
        object,
        old_object: old,
        operation,
        subresource: request.sub_resource.as_deref().filter(|s| !s.is_empty()),
        user: user.filter(|u| !u.is_empty()),
        namespace: request.namespace.as_deref().unwrap_or_default(),
        namespace_labels: labels,
        defaulting: Defaulting::NONE,
        admission_config: engine.config.as_ref(),
        namespace_request: ns,
    };
    engine.target.admit(&admission).map_err(|e| e.to_string())
}

/// The AdmissionReview answer (and, for Kyverno, the denying webhook's name).
fn response_review(engine: &Engine, uid: &str, outcome: &Outcome) -> (Value, Option<String>) {
    let mut response = json!({"uid": uid, "allowed": outcome.allowed});
    let mut webhook = None;
    if let Some(status) = outcome.status.as_ref().filter(|_| !outcome.allowed) {
        response["status"] = match engine.kyverno {
            true => {
                webhook = denying_webhook(&status.message);
                json!({"metadata": {}, "status": "Failure",
                       "message": outcome.denial.clone().unwrap_or_default()})
            }
            false => json!({"metadata": {}, "status": "Failure", "code": status.code,
                            "reason": status.reason, "message": status.message}),
        };
    }
    if !outcome.warnings.is_empty() {
        response["warnings"] = json!(outcome.warnings);
    }
    if !outcome.audit_annotations.is_empty() {
        response["auditAnnotations"] = json!(outcome.audit_annotations);
    }
    let review = json!({"apiVersion": API_VERSION, "kind": KIND, "response": response});
    (review, webhook)
}

/// The webhook named in the API server's text `admission webhook "<name>" denied ...`.
fn denying_webhook(text: &str) -> Option<String> {
    let rest = text.strip_prefix("admission webhook \"")?;
    rest.split_once('"').map(|(name, _)| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        Engine::for_profile(&Profile::Psa, &[], None).unwrap()
    }

    fn review(object: Value) -> ReviewIn {
        serde_json::from_value(json!({
            "apiVersion": API_VERSION, "kind": KIND,
            "request": {"uid": "u1", "resource": {"group": "", "version": "v1", "resource": "pods"},
                        "namespace": "team", "operation": "CREATE", "object": object}
        }))
        .unwrap()
    }

    fn privileged_pod() -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
               "spec": {"containers": [{"name": "c", "securityContext": {"privileged": true}}]}})
    }

    #[test]
    fn psa_answers_with_the_plugin_status_and_the_request_uid() {
        let labels = BTreeMap::from([(
            "pod-security.kubernetes.io/enforce".to_owned(),
            "baseline".to_owned(),
        )]);
        let (body, webhook) = answer(&engine(), review(privileged_pod()), &labels, vec![]).unwrap();
        assert_eq!(webhook, None);
        assert_eq!(body["response"]["uid"], "u1");
        assert_eq!(body["response"]["allowed"], false);
        assert_eq!(body["response"]["status"]["code"], 403);
        assert_eq!(
            body["response"]["status"]["message"],
            "pods \"p\" is forbidden: violates PodSecurity \"baseline:latest\": privileged \
             (container \"c\" must not set securityContext.privileged=true)"
        );
        let (body, _) = answer(
            &engine(),
            review(privileged_pod()),
            &BTreeMap::new(),
            vec![],
        )
        .unwrap();
        assert_eq!(body["response"]["allowed"], true, "no labels: privileged");
    }

    #[test]
    fn malformed_reviews_are_errors_and_other_resources_are_allowed() {
        let mut bad = review(privileged_pod());
        bad.kind = "Review".into();
        assert!(answer(&engine(), bad, &BTreeMap::new(), vec![]).is_err());
        let wrong_type = review(json!({"apiVersion": "v1", "kind": "Pod", "spec": 3}));
        let err = answer(&engine(), wrong_type, &BTreeMap::new(), vec![]).unwrap_err();
        assert!(err.starts_with("cannot read the object"), "{err}");
        let mut service = review(json!({"apiVersion": "v1", "kind": "Service"}));
        if let Some(r) = service.request.as_mut() {
            r.resource.resource = "services".into();
        }
        let (body, _) = answer(&engine(), service, &BTreeMap::new(), vec![]).unwrap();
        assert_eq!(body["response"]["allowed"], true);
    }

    #[test]
    fn the_denying_webhook_is_read_from_the_api_server_text() {
        assert_eq!(
            denying_webhook("admission webhook \"validate.kyverno.svc-ignore\" denied x"),
            Some("validate.kyverno.svc-ignore".to_owned())
        );
        assert_eq!(denying_webhook("denied"), None);
    }

    #[test]
    fn kyverno_needs_policies_and_psa_refuses_them() {
        let k: Profile = "kyverno@v1.19".parse().unwrap();
        assert!(Engine::for_profile(&k, &[], None).is_err());
        assert!(Engine::for_profile(&Profile::Psa, &[PathBuf::from("p.yaml")], None).is_err());
    }

    #[test]
    fn self_signed_certificates_are_pem() {
        let s = self_signed(&["127.0.0.1".to_owned()]).unwrap();
        assert!(s.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(s.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(s.key_pem.contains("PRIVATE KEY-----"));
        assert_ne!(s.ca_pem, s.cert_pem);
    }
}
