//! The webhook target: any live validating admission webhook, spoken to as the API server
//! would (an `admission.k8s.io/v1` AdmissionReview POSTed over HTTPS), so the same cases
//! run against a deployed PSA webhook, Kyverno, or `pss-harness serve`.
//!
//! This target plays the API server's part: it applies the request's defaulting to the
//! object, builds the review (`dryRun: true`, a fresh `uid` per request), checks the answer
//! (apiVersion, kind, uid) and turns it into an [`Outcome`]. A webhook says only what it
//! decided and why in text, so the failing checks the judge compares are parsed back from
//! that text: PSA's detail list ([`psa_violations`]) or Kyverno's denial YAML
//! ([`kyverno_rules`]).
//!
//! What a webhook cannot be told in a review: the namespace's labels and the pods already
//! in it (a real webhook reads them from its cluster), and a per-case PSA configuration
//! (a webhook has its own). The labels and pods travel out of band in the
//! [`NAMESPACE_LABELS_HEADER`] and [`EXISTING_PODS_HEADER`] headers, which
//! `pss-harness serve` reads and other webhooks ignore; a real webhook must be tested in
//! namespaces that carry those labels and pods (the cluster target's job). A per-case
//! configuration is not sent, and the outcome's `notes` say so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{AdmissionRequest, Operation, Outcome, RuleOutcome, Status, Target, TargetError};
use super::{NamespaceRequest, Violation};

/// The API group and version of the reviews.
pub const API_VERSION: &str = "admission.k8s.io/v1";
/// The review kind.
pub const KIND: &str = "AdmissionReview";
/// Request header carrying the scenario's namespace labels as a JSON object (for
/// `pss-harness serve`; a real webhook reads the Namespace from its cluster instead).
pub const NAMESPACE_LABELS_HEADER: &str = "x-pss-harness-namespace-labels";
/// Request header carrying, for a Namespace request, the pods already in the namespace as
/// a JSON list (for `pss-harness serve`; a real PSA webhook lists them in its cluster).
pub const EXISTING_PODS_HEADER: &str = "x-pss-harness-existing-pods";
/// Response header of `pss-harness serve` under a Kyverno profile: the Kyverno webhook that
/// would have denied (`validate.kyverno.svc-fail` or `-ignore`), which the API server names
/// in its text.
pub const WEBHOOK_NAME_HEADER: &str = "x-pss-harness-webhook";
/// The default request timeout (the API server's default webhook timeout).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Make ring the process's rustls crypto provider (the only one compiled in). reqwest is
/// built without a provider and would panic without one; installing twice is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// How to read the webhook's answer: which engine's texts the profile compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// A PSA webhook: its status is the admission plugin's, kept as sent.
    Psa,
    /// Kyverno: its message is the denial YAML; the outcome's status carries the API
    /// server's text around it, naming the denying webhook.
    Kyverno,
}

impl Flavour {
    /// The texts a profile's engine answers with: Kyverno's, else PSA-like (a profile
    /// file's engine is read as PSA's transport, its reasons by the file).
    pub fn of(profile: &crate::profile::Profile) -> Flavour {
        match profile.kyverno_line() {
            Some(_) => Flavour::Kyverno,
            None => Flavour::Psa,
        }
    }
}

/// Where the webhook is and how to trust it.
#[derive(Debug, Clone)]
pub struct WebhookOptions {
    /// `https://host:port/path`.
    pub url: String,
    /// A PEM bundle of CAs to trust instead of the platform roots.
    pub ca_cert: Option<PathBuf>,
    /// Accept any server certificate (testing only).
    pub insecure_skip_tls_verify: bool,
    /// The API server's webhook timeout: the review's `?timeout=` and the client's.
    pub timeout: Duration,
    /// A client certificate chain and its key (PEM files) for a webhook that asks for
    /// one (mTLS).
    pub client_identity: Option<(PathBuf, PathBuf)>,
}

/// A live webhook behind the [`Target`] trait. Requests run on one shared tokio runtime;
/// [`Target::admit`] blocks the calling (trial) thread on its request.
pub struct WebhookTarget {
    url: String,
    /// The URL requests go to: `url` with the API server's `timeout` query.
    request_url: String,
    client: reqwest::Client,
    runtime: Arc<tokio::runtime::Runtime>,
    flavour: Flavour,
    uid_prefix: String,
    next_uid: AtomicU64,
}

impl WebhookTarget {
    /// A target with its own runtime (one per run).
    pub fn new(options: &WebhookOptions, flavour: Flavour) -> Result<Self, TargetError> {
        install_crypto_provider();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| {
                TargetError::Failed(format!("cannot start the webhook client runtime: {e}"))
            })?;
        Self::with_runtime(options, flavour, Arc::new(runtime))
    }

    /// A target on a given runtime (shared with other targets of the run).
    pub fn with_runtime(
        options: &WebhookOptions,
        flavour: Flavour,
        runtime: Arc<tokio::runtime::Runtime>,
    ) -> Result<Self, TargetError> {
        install_crypto_provider();
        let fail = |what: String| TargetError::Failed(format!("webhook {}: {what}", options.url));
        if !options.url.starts_with("https://") {
            return Err(fail("the URL must start with https://".into()));
        }
        let client = client(options).map_err(fail)?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Ok(WebhookTarget {
            url: options.url.clone(),
            request_url: with_timeout(&options.url, options.timeout),
            client,
            runtime,
            flavour,
            uid_prefix: format!("pss-harness-{}-{nanos:x}", std::process::id()),
            next_uid: AtomicU64::new(0),
        })
    }

    fn uid(&self) -> String {
        let n = self.next_uid.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n}", self.uid_prefix)
    }

    /// POST the review and read the body (or say why not).
    async fn post(&self, review: &Value, headers: Vec<(&str, String)>) -> Result<Reply, String> {
        let mut post = self.client.post(&self.request_url);
        for (name, value) in headers {
            post = post.header(name, value);
        }
        let response = post
            .json(review)
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        let status = response.status();
        let webhook = response
            .headers()
            .get(WEBHOOK_NAME_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.bytes().await.map_err(|e| transport_error(&e))?;
        if !status.is_success() {
            return Err(format!("HTTP {status}: {}", snippet(&body)));
        }
        Ok(Reply {
            body: body.to_vec(),
            webhook,
        })
    }
}

/// A successful HTTP answer.
struct Reply {
    body: Vec<u8>,
    webhook: Option<String>,
}

fn client(options: &WebhookOptions) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .https_only(true)
        .no_proxy()
        .timeout(options.timeout);
    if let Some(path) = &options.ca_cert {
        let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("{}: not a PEM certificate bundle: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!("{}: no certificate in the file", path.display()));
        }
        builder = builder.tls_certs_only(certs);
    }
    if options.insecure_skip_tls_verify {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    if let Some((cert, key)) = &options.client_identity {
        builder = builder.identity(identity(cert, key)?);
    }
    builder
        .build()
        .map_err(|e| format!("cannot build the HTTPS client: {}", error_chain(&e)))
}

/// The client certificate and key (PEM) as one identity.
fn identity(cert: &Path, key: &Path) -> Result<reqwest::Identity, String> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let mut pem = read(cert)?;
    pem.push(b'\n');
    pem.extend(read(key)?);
    reqwest::Identity::from_pem(&pem).map_err(|e| {
        format!(
            "{} and {}: not a PEM client certificate and key: {}",
            cert.display(),
            key.display(),
            error_chain(&e)
        )
    })
}

/// The URL with the API server's `timeout` query (`?timeout=10s`), which webhooks may
/// use to bound their own work.
fn with_timeout(url: &str, timeout: Duration) -> String {
    let secs = timeout.as_secs().max(1);
    let sep = match url.contains('?') {
        true => '&',
        false => '?',
    };
    format!("{url}{sep}timeout={secs}s")
}

/// A transport failure in words: timeout, connection (TLS included) or other.
fn transport_error(e: &reqwest::Error) -> String {
    let chain = error_chain(e);
    if e.is_timeout() {
        format!("timed out ({chain})")
    } else if e.is_connect() {
        format!("cannot connect: {chain}")
    } else {
        format!("request failed: {chain}")
    }
}

/// An error and its sources, `a: b: c`.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// The start of a body for an error message.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None if text.is_empty() => "(empty body)".to_owned(),
        None => text.to_owned(),
    }
}

impl Target for WebhookTarget {
    fn describe(&self) -> String {
        let engine = match self.flavour {
            Flavour::Psa => "psa",
            Flavour::Kyverno => "kyverno",
        };
        format!("webhook {} ({engine} texts)", self.url)
    }

    fn admit(&self, request: &AdmissionRequest<'_>) -> Result<Outcome, TargetError> {
        let uid = self.uid();
        let review = review(request, &uid);
        let fail = |what: String| TargetError::Failed(format!("webhook {}: {what}", self.url));
        let reply = self
            .runtime
            .block_on(self.post(&review, side_headers(request)))
            .map_err(fail)?;
        let mut outcome =
            outcome_of_review(&reply.body, &uid, self.flavour, reply.webhook).map_err(fail)?;
        outcome.notes.extend(unsent(request));
        Ok(outcome)
    }
}

/// The out-of-band headers: the namespace's labels, and a Namespace request's existing
/// pods (defaulted as the API server stored them).
fn side_headers(request: &AdmissionRequest<'_>) -> Vec<(&'static str, String)> {
    let mut headers = vec![(NAMESPACE_LABELS_HEADER, compact(request.namespace_labels))];
    if let Some(ns) = request
        .namespace_request
        .filter(|ns| !ns.existing_pods.is_empty())
    {
        let pods: Vec<Value> = ns
            .existing_pods
            .iter()
            .map(|p| defaulted(&pss::Workload::Pod(p.clone()), request.defaulting).to_value())
            .collect();
        headers.push((EXISTING_PODS_HEADER, compact(&pods)));
    }
    headers
}

/// Compact JSON for a header value.
fn compact<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// What the request asks for that a review cannot carry.
fn unsent(request: &AdmissionRequest<'_>) -> Vec<String> {
    match request.admission_config {
        Some(_) => {
            vec!["the case's PSA configuration is not sent: the webhook uses its own".into()]
        }
        None => Vec::new(),
    }
}

/// A group/version/kind and group/version/resource of a request.
struct Gvk {
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    resource: &'static str,
}

impl Gvk {
    fn of_workload(kind: pss::Kind) -> Gvk {
        let (group, version) = kind.api_version().rsplit_once('/').unwrap_or(("", "v1"));
        Gvk {
            group,
            version,
            kind: kind.as_str(),
            resource: kind.resource(),
        }
    }

    const NAMESPACE: Gvk = Gvk {
        group: "",
        version: "v1",
        kind: "Namespace",
        resource: "namespaces",
    };

    fn kind_json(&self) -> Value {
        json!({"group": self.group, "version": self.version, "kind": self.kind})
    }

    fn resource_json(&self) -> Value {
        json!({"group": self.group, "version": self.version, "resource": self.resource})
    }
}

/// The `admission.k8s.io/v1` AdmissionReview the API server would send for `request`:
/// the object defaulted per `request.defaulting`, a server-side dry run.
pub fn review(request: &AdmissionRequest<'_>, uid: &str) -> Value {
    let (gvk, name, namespace, object, old) = match request.namespace_request {
        Some(ns) => namespace_parts(ns),
        None => {
            let object = defaulted(request.object, request.defaulting);
            let old = request
                .old_object
                .map(|o| defaulted(o, request.defaulting).to_value());
            (
                Gvk::of_workload(object.kind()),
                object.name().to_owned(),
                request.namespace.to_owned(),
                object.to_value(),
                old,
            )
        }
    };
    let options_kind = match request.operation {
        Operation::Create => "CreateOptions",
        Operation::Update => "UpdateOptions",
    };
    let mut body = json!({
        "uid": uid,
        "kind": gvk.kind_json(),
        "resource": gvk.resource_json(),
        "requestKind": gvk.kind_json(),
        "requestResource": gvk.resource_json(),
        "name": name,
        "namespace": namespace,
        "operation": request.operation.as_str(),
        "userInfo": user_info(request.user),
        "object": object,
        "oldObject": old,
        "dryRun": true,
        "options": {"apiVersion": "meta.k8s.io/v1", "kind": options_kind, "dryRun": ["All"]},
    });
    if let Some(sub) = request.subresource.filter(|s| !s.is_empty()) {
        body["subResource"] = sub.into();
        body["requestSubResource"] = sub.into();
    }
    json!({"apiVersion": API_VERSION, "kind": KIND, "request": body})
}

/// The requesting user as the API server authenticated it: a case's user (impersonated,
/// so only `system:authenticated`), else the harness's admin credential.
fn user_info(user: Option<&str>) -> Value {
    match user.filter(|u| !u.is_empty()) {
        Some(user) => json!({"username": user, "groups": ["system:authenticated"]}),
        None => json!({
            "username": crate::cluster::pki::ADMIN_USER,
            "groups": ["system:masters", "system:authenticated"],
        }),
    }
}

/// A Namespace request's parts: the namespace is its own request namespace.
fn namespace_parts(ns: &NamespaceRequest) -> (Gvk, String, String, Value, Option<Value>) {
    let as_json = |o: &pss::admission::NamespaceObject| {
        json!({"apiVersion": "v1", "kind": "Namespace",
               "metadata": {"name": o.name, "labels": o.labels}})
    };
    (
        Gvk::NAMESPACE,
        ns.object.name.clone(),
        ns.object.name.clone(),
        as_json(&ns.object),
        ns.old.as_ref().map(as_json),
    )
}

fn defaulted(object: &pss::Workload, defaulting: pss::Defaulting) -> pss::Workload {
    let mut object = object.clone();
    defaulting.apply(&mut object);
    object
}

/// The review a webhook answers with (only what the outcome needs).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReviewIn {
    api_version: Option<String>,
    kind: Option<String>,
    response: Option<ResponseIn>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResponseIn {
    #[serde(default)]
    uid: String,
    allowed: bool,
    status: Option<StatusIn>,
    warnings: Option<Vec<String>>,
    audit_annotations: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
struct StatusIn {
    code: Option<i64>,
    reason: Option<String>,
    message: Option<String>,
}

/// Read a webhook's AdmissionReview answer to the request `uid` as an outcome; the error
/// says what is wrong with it. `webhook` names the denying Kyverno webhook (from `serve`'s
/// response header), default `validate.kyverno.svc-fail`.
pub fn outcome_of_review(
    body: &[u8],
    uid: &str,
    flavour: Flavour,
    webhook: Option<String>,
) -> Result<Outcome, String> {
    let review: ReviewIn = serde_json::from_slice(body)
        .map_err(|e| format!("not an AdmissionReview ({e}): {}", snippet(body)))?;
    if review.api_version.as_deref() != Some(API_VERSION) || review.kind.as_deref() != Some(KIND) {
        return Err(format!(
            "expected apiVersion {API_VERSION} kind {KIND}, got apiVersion {} kind {}",
            review.api_version.as_deref().unwrap_or("(none)"),
            review.kind.as_deref().unwrap_or("(none)")
        ));
    }
    let response = review
        .response
        .ok_or_else(|| "the AdmissionReview has no response".to_owned())?;
    if response.uid != uid {
        return Err(format!(
            "response uid {:?} does not match request uid {uid:?}",
            response.uid
        ));
    }
    let mut outcome = Outcome {
        allowed: response.allowed,
        warnings: response.warnings.unwrap_or_default(),
        audit_annotations: response.audit_annotations.unwrap_or_default(),
        ..Outcome::default()
    };
    let status = response.status.unwrap_or_default();
    match flavour {
        Flavour::Psa => read_psa(&mut outcome, status),
        Flavour::Kyverno => read_kyverno(&mut outcome, status, webhook),
    }
    Ok(outcome)
}

/// The API server never reports a denial with a code below 400.
fn denial_code(code: Option<i64>) -> u16 {
    code.and_then(|c| u16::try_from(c).ok())
        .filter(|c| *c >= 400)
        .unwrap_or(400)
}

/// PSA: the status as sent; the violations from the denial, else from the policy warning.
fn read_psa(outcome: &mut Outcome, status: StatusIn) {
    if !outcome.allowed {
        let reason = status.reason.unwrap_or_default();
        let message = status.message.unwrap_or_else(|| reason.clone());
        outcome.violations = psa_violations(&message);
        outcome.status = Some(Status {
            code: denial_code(status.code),
            reason,
            message,
        });
        return;
    }
    if let Some(w) = outcome
        .warnings
        .iter()
        .find(|w| w.starts_with("would violate PodSecurity "))
    {
        outcome.violations = psa_violations(w);
    }
}

/// Kyverno: the denial is its message; the status is the API server's text around it;
/// the failing rules and checks are read from the denial.
fn read_kyverno(outcome: &mut Outcome, status: StatusIn, webhook: Option<String>) {
    if outcome.allowed {
        return;
    }
    let message = status.message.unwrap_or_default();
    let webhook = webhook.unwrap_or_else(|| kyverno::blocked::WEBHOOK_FAIL.to_owned());
    outcome.rules = kyverno_rules(&message);
    outcome.violations = outcome
        .rules
        .iter()
        .filter(|r| r.failed())
        .flat_map(|r| kyverno_violations(&r.message))
        .collect();
    outcome.status = Some(Status {
        code: denial_code(status.code),
        reason: status.reason.unwrap_or_default(),
        message: kyverno::blocked::apiserver_text(&webhook, &message),
    });
    outcome.denial = Some(message);
}

/// The failing checks of a PSA denial or warning: the detail after
/// `violates PodSecurity "<level:version>": ` (also `would violate ...`), in PSA's format
/// `reason (detail), reason (detail), reason`. Empty when the text has no such part.
pub fn psa_violations(text: &str) -> Vec<Violation> {
    const MARKS: [&str; 2] = ["violates PodSecurity \"", "would violate PodSecurity \""];
    let start = MARKS
        .iter()
        .filter_map(|m| text.find(m).map(|i| i + m.len()))
        .min();
    let Some(start) = start else {
        return Vec::new();
    };
    match text[start..].find("\": ") {
        Some(end) => parse_detail(&text[start + end + 3..]),
        None => Vec::new(),
    }
}

/// PSA's aggregated detail, `reason (detail), reason`, back into its parts. A detail may
/// hold parentheses and `, ` (inside or outside quoted strings); parentheses outside quotes
/// are balanced. Parsing stops at anything else.
pub fn parse_detail(text: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let end = [rest.find(" ("), rest.find(", ")]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(rest.len());
        let reason = rest[..end].to_owned();
        rest = &rest[end..];
        let detail = match rest.strip_prefix(" (") {
            Some(open) => {
                let (inner, after) = balanced(open);
                rest = after;
                inner.to_owned()
            }
            None => String::new(),
        };
        out.push(Violation { reason, detail });
        match rest.strip_prefix(", ") {
            Some(next) => rest = next,
            None => break,
        }
    }
    out
}

/// Split `inner) rest` at the parenthesis closing an already opened one, skipping quoted
/// strings (with backslash escapes); unclosed: everything is inside.
fn balanced(text: &str) -> (&str, &str) {
    let mut depth = 1usize;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match (quoted, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => quoted = false,
            (true, false, _) => {}
            (false, _, '"') => quoted = true,
            (false, _, '(') => depth += 1,
            (false, _, ')') => {
                depth -= 1;
                if depth == 0 {
                    return (&text[..i], &text[i + 1..]);
                }
            }
            (false, _, _) => {}
        }
    }
    (text, "")
}

/// The rules in Kyverno's denial (`\n\nresource K/ns/n was blocked due to the following
/// policies \n\n` + YAML `{policy: {rule: message}}`), sorted by policy and rule. A rule
/// skipped for a pre-existing violation (listed before v1.12) is `skip`; any other listed
/// rule `fail`. Kyverno does not say which failures were errors, nor list passes.
pub fn kyverno_rules(denial: &str) -> Vec<RuleOutcome> {
    const HEADER: &str = " was blocked due to the following policies \n\n";
    let Some(yaml) = denial.find(HEADER).map(|i| &denial[i + HEADER.len()..]) else {
        return Vec::new();
    };
    let Ok(policies) = serde_saphyr::from_str::<BTreeMap<String, BTreeMap<String, String>>>(yaml)
    else {
        return Vec::new();
    };
    let mut rules = Vec::new();
    for (policy, entries) in policies {
        for (rule, message) in entries {
            let status = match message == kyverno::engine::PRE_EXISTING_VIOLATION {
                true => "skip",
                false => "fail",
            };
            rules.push(RuleOutcome {
                policy: policy.clone(),
                rule,
                status: status.to_owned(),
                message,
                action: "Enforce".to_owned(),
            });
        }
    }
    rules
}

/// The checks in a failing podSecurity rule's message: `(Forbidden reason: R, field error
/// list: [...])` per check (v1.12 on; no detail), or the legacy
/// `({Allowed:false ForbiddenReason:R ForbiddenDetail:D})` lines (v1.10).
pub fn kyverno_violations(message: &str) -> Vec<Violation> {
    const MODERN: &str = "(Forbidden reason: ";
    const LEGACY: &str = "({Allowed:false ForbiddenReason:";
    const LEGACY_DETAIL: &str = " ForbiddenDetail:";
    let mut out = Vec::new();
    for (i, _) in message.match_indices(MODERN) {
        let rest = &message[i + MODERN.len()..];
        if let Some(end) = rest.find(", field error list: [") {
            out.push(Violation {
                reason: rest[..end].to_owned(),
                detail: String::new(),
            });
        }
    }
    for (i, _) in message.match_indices(LEGACY) {
        let rest = &message[i + LEGACY.len()..];
        let check = rest.find("})").map_or(rest, |end| &rest[..end]);
        if let Some((reason, detail)) = check.split_once(LEGACY_DETAIL) {
            out.push(Violation {
                reason: reason.to_owned(),
                detail: detail.to_owned(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests;
