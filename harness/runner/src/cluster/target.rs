//! The cluster target: every scenario as a request to a real API server, which applies its
//! own defaulting, validation and admission chain (its built-in PodSecurity plugin, and any
//! webhook registered with it) and answers as it would answer `kubectl`.
//!
//! - A CREATE is a server-side dry run (`dryRun=All`) into the run's namespace with the
//!   scenario's labels.
//! - An UPDATE needs the old object stored: it is created for real in a fresh namespace
//!   of the run (labelled `privileged` first, as the old object predates the labels), the
//!   namespace is then labelled as the case says, and the update (the case's change applied
//!   to the object the server stored) is sent as a dry run.
//! - A Namespace CREATE is a dry run; a Namespace UPDATE relabels (dry run) a fresh
//!   namespace holding the case's existing pods, created for real.
//!
//! The run's namespace names are replaced by the case's in every text the server returns,
//! so messages compare with the in-process ones. Warnings the API server adds on its own
//! (field deprecations, `unknown field`) are not the engine's: they go to the outcome's
//! notes. What a cluster cannot express becomes [`TargetError::NotApplicable`] with the
//! server's words: an object its validation rejects before admission, labels PSA refuses
//! to store, a case that asks for no defaulting or for its own PSA configuration.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use http::Method;
use pss::admission::AdmissionConfig;
use pss::{Defaulting, Kind, Workload};
use serde_json::{Value, json};

use super::api::{Api, ApiResponse, refusal_text};
use super::namespaces::{Labels, MANAGED_BY, MANAGED_BY_VALUE, RUN_LABEL, RunNamespaces};
use crate::target::webhook::{Flavour, kyverno_rules, kyverno_violations, psa_violations};
use crate::target::{
    AdmissionRequest, Inexpressible, NamespaceRequest, Operation, Outcome, Status, Target,
    TargetError,
};

/// The prefix of PSA's namespace labels.
const PSA_LABEL_PREFIX: &str = "pod-security.kubernetes.io/";

/// One API server of a cluster and the run's namespaces on it.
pub struct Server {
    pub api: Arc<Api>,
    pub namespaces: Arc<RunNamespaces>,
    /// The PSA configuration the harness started this server with (`None`: the server's
    /// own, assumed to be upstream's defaults).
    pub admission_config: Option<AdmissionConfig>,
}

/// What the server said about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerVersion {
    /// `v1.37.2`.
    pub git_version: String,
    pub minor: u32,
}

impl ServerVersion {
    /// From `/version` (`minor` may carry a suffix, `"37+"`).
    pub fn from_json(info: &Value) -> Result<ServerVersion, String> {
        let minor = info["minor"].as_str().unwrap_or_default();
        let digits: String = minor.chars().take_while(char::is_ascii_digit).collect();
        let minor = digits
            .parse()
            .map_err(|_| format!("/version has no minor version: {info}"))?;
        let git_version = info["gitVersion"].as_str().unwrap_or("unknown").to_owned();
        Ok(ServerVersion { git_version, minor })
    }
}

/// A live cluster behind the [`Target`] trait.
pub struct ClusterTarget {
    servers: Vec<Server>,
    runtime: Arc<tokio::runtime::Runtime>,
    flavour: Flavour,
    version: ServerVersion,
    /// The harness started the cluster (it may create cluster-scoped fixtures there, such
    /// as the RuntimeClasses cases name).
    owned: bool,
    description: String,
    runtime_classes: tokio::sync::Mutex<BTreeSet<String>>,
    /// Answers by request: a case's golden trial sends the very requests its scenario
    /// trials sent, and a server answers them alike within a run, so each goes once.
    answers: std::sync::Mutex<HashMap<u128, Answer>>,
}

type Answer = Arc<tokio::sync::OnceCell<Result<Outcome, TargetError>>>;

/// A request's identity: a 128-bit hash of everything it carries (its `Debug` form is
/// complete and deterministic: maps are ordered). Hashed rather than kept, so the cache
/// does not hold a copy of every object the run sent.
fn request_key(request: &AdmissionRequest<'_>) -> u128 {
    use std::hash::{Hash, Hasher};
    let text = format!("{request:?}");
    let half = |salt: u8| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        salt.hash(&mut h);
        text.hash(&mut h);
        h.finish()
    };
    (u128::from(half(1)) << 64) | u128::from(half(2))
}

impl ClusterTarget {
    pub fn new(
        servers: Vec<Server>,
        runtime: Arc<tokio::runtime::Runtime>,
        flavour: Flavour,
        version: ServerVersion,
        owned: bool,
        description: String,
    ) -> ClusterTarget {
        ClusterTarget {
            servers,
            runtime,
            flavour,
            version,
            owned,
            description,
            runtime_classes: tokio::sync::Mutex::new(BTreeSet::new()),
            answers: std::sync::Mutex::new(HashMap::new()),
        }
    }

    pub fn version(&self) -> &ServerVersion {
        &self.version
    }

    /// The (first) API server's URL.
    pub fn endpoint(&self) -> String {
        self.servers
            .first()
            .map(|s| s.api.endpoint().to_owned())
            .unwrap_or_default()
    }

    /// The RuntimeClasses the run created.
    pub async fn created_runtime_classes_async(&self) -> Vec<String> {
        self.runtime_classes.lock().await.iter().cloned().collect()
    }

    fn server_for(&self, config: Option<&AdmissionConfig>) -> Result<&Server, TargetError> {
        self.servers
            .iter()
            .find(|s| s.admission_config.as_ref() == config)
            .ok_or_else(|| {
                TargetError::not_applicable(
                    Inexpressible::EngineConfiguration,
                    match config {
                        Some(_) => {
                            "the case needs its own PSA configuration, which a cluster fixes \
                             when it starts (--cluster local starts one API server per \
                             configuration)"
                        }
                        None => "no API server of this run runs with PSA's default configuration",
                    },
                )
            })
    }

    /// The namespace labels the scenario's engine should see. Under a webhook engine the
    /// built-in PSA labels are left out: the built-in plugin runs before webhooks and
    /// would answer first.
    fn labels_for(&self, labels: &Labels) -> Labels {
        match self.flavour {
            Flavour::Psa => labels.clone(),
            Flavour::Kyverno => labels
                .iter()
                .filter(|(k, _)| !k.starts_with(PSA_LABEL_PREFIX))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    async fn admit_async(
        &self,
        server: &Server,
        request: &AdmissionRequest<'_>,
    ) -> Result<Outcome, TargetError> {
        if let Some(ns) = request.namespace_request {
            return self.admit_namespace(server, request, ns).await;
        }
        match request.operation {
            Operation::Create => self.admit_create(server, request).await,
            Operation::Update => self.admit_update(server, request).await,
        }
    }

    async fn admit_create(
        &self,
        server: &Server,
        request: &AdmissionRequest<'_>,
    ) -> Result<Outcome, TargetError> {
        if has_ephemeral_containers(request.object) {
            return match self.flavour {
                Flavour::Psa => self.admit_create_with_ephemeral(server, request).await,
                // Kyverno's `kinds: [Pod]` does not match the subresource that adds them,
                // so the update would say nothing about the pod as the case wrote it.
                Flavour::Kyverno => Err(TargetError::not_applicable(
                    Inexpressible::InvalidObject,
                    "a Pod cannot be created with ephemeral containers (they are added later \
                     through pods/ephemeralcontainers, which Kyverno's kinds: [Pod] does not \
                     match)",
                )),
            };
        }
        let ns = self.namespace_for(server, request).await?;
        let kind = request.object.kind();
        let body = object_in(request.object, &ns);
        let path = format!("{}?dryRun=All", collection_path(kind, &ns));
        let headers = impersonation(request.user);
        let mut response = self
            .send(server, Method::POST, &path, &body, &headers)
            .await?;
        if let Some(class) = self.missing_runtime_class(&response) {
            self.create_runtime_class(server, &class).await?;
            response = self
                .send(server, Method::POST, &path, &body, &headers)
                .await?;
        }
        self.outcome(response, request, &ns, Subject::Workload)
    }

    /// The namespace a request goes to: the case's own when the server's PSA
    /// configuration exempts that name (the exemption is by name), else the run's
    /// namespace with the case's labels.
    async fn namespace_for(
        &self,
        server: &Server,
        request: &AdmissionRequest<'_>,
    ) -> Result<String, TargetError> {
        if exempts(server, request.namespace) {
            return server
                .namespaces
                .existing_or_new(&server.api, request.namespace)
                .await;
        }
        let labels = self.labels_for(request.namespace_labels);
        server.namespaces.shared(&server.api, &labels).await
    }

    /// A pod cannot carry ephemeral containers on create (the API server's validation
    /// refuses them); they are added to a running pod through the `ephemeralcontainers`
    /// subresource, which PSA evaluates as the whole pod, with the same decision and
    /// message. So the pod is created without them for real (in a fresh namespace
    /// labelled privileged, then labelled as the case says) and the subresource update
    /// that adds them is sent as a dry run.
    async fn admit_create_with_ephemeral(
        &self,
        server: &Server,
        request: &AdmissionRequest<'_>,
    ) -> Result<Outcome, TargetError> {
        let mut without = request.object.clone();
        if let Workload::Pod(pod) = &mut without
            && let Some(spec) = pod.spec.as_mut()
        {
            spec.ephemeral_containers = None;
        }
        let update = AdmissionRequest {
            old_object: Some(&without),
            operation: Operation::Update,
            subresource: Some("ephemeralcontainers"),
            ..*request
        };
        let mut outcome = self.admit_update(server, &update).await?;
        outcome.notes.push(
            "sent as a create without the ephemeral containers and a dry-run update of \
             pods/ephemeralcontainers adding them (a pod cannot be created with them)"
                .into(),
        );
        Ok(outcome)
    }

    async fn admit_update(
        &self,
        server: &Server,
        request: &AdmissionRequest<'_>,
    ) -> Result<Outcome, TargetError> {
        let old = request.old_object.ok_or_else(|| {
            TargetError::failed("an UPDATE needs the old object (the case's `old`)")
        })?;
        let api = &server.api;
        let setup = Labels::from([(format!("{PSA_LABEL_PREFIX}enforce"), "privileged".into())]);
        let ns = server.namespaces.fresh(api, &setup).await?;
        let kind = old.kind();
        let stored = self
            .create_for_real(
                server,
                &collection_path(kind, &ns),
                &object_in(old, &ns),
                "the old object",
            )
            .await?;
        server
            .namespaces
            .relabel(api, &ns, &self.labels_for(request.namespace_labels))
            .await?;
        let mut body = stored;
        apply_change(
            &mut body,
            &object_in(old, &ns),
            &object_in(request.object, &ns),
        );
        if request.subresource == Some("scale") {
            body = scale_of(&body);
        }
        let name = request.object.name();
        if exempts(server, request.namespace) {
            return Err(TargetError::not_applicable(
                Inexpressible::ClusterState,
                "an update in an exempt namespace needs its old object stored there; the run \
                 writes only into its own namespaces",
            ));
        }
        let mut path = format!("{}/{name}", collection_path(kind, &ns));
        if let Some(sub) = request.subresource.filter(|s| !s.is_empty()) {
            path = format!("{path}/{sub}");
        }
        let path = format!("{path}?dryRun=All");
        let headers = impersonation(request.user);
        let response = self
            .send(server, Method::PUT, &path, &body, &headers)
            .await?;
        self.outcome(response, request, &ns, Subject::Workload)
    }

    async fn admit_namespace(
        &self,
        server: &Server,
        request: &AdmissionRequest<'_>,
        ns: &NamespaceRequest,
    ) -> Result<Outcome, TargetError> {
        let api = &server.api;
        let headers = impersonation(request.user);
        let with_run = |labels: &Labels| {
            let mut all = labels.clone();
            all.insert(MANAGED_BY.to_owned(), MANAGED_BY_VALUE.to_owned());
            all.insert(RUN_LABEL.to_owned(), server.namespaces.run_id().to_owned());
            all
        };
        if exempts(server, &ns.object.name) {
            return self.admit_exempt_namespace(server, request, ns).await;
        }
        let (name, response) = match &ns.old {
            None => {
                // A dry run: the name only has to be free, and the run's names are.
                let name = format!("{}-new", server.namespaces.run_id());
                let body = json!({"apiVersion": "v1", "kind": "Namespace",
                                  "metadata": {"name": name, "labels": with_run(&ns.object.labels)}});
                let path = "/api/v1/namespaces?dryRun=All";
                (
                    name,
                    self.send(server, Method::POST, path, &body, &headers)
                        .await?,
                )
            }
            Some(old) => {
                let name = self
                    .namespace_with_pods(server, &old.labels, &ns.existing_pods)
                    .await?;
                let path = format!("/api/v1/namespaces/{name}");
                let mut current: Value = api
                    .get_json(&path)
                    .await
                    .map_err(|e| TargetError::Failed(e.to_string()))?;
                current["metadata"]["labels"] = json!(with_run(&ns.object.labels));
                let path = format!("{path}?dryRun=All");
                (
                    name,
                    self.send(server, Method::PUT, &path, &current, &headers)
                        .await?,
                )
            }
        };
        let mut outcome = self.outcome(response, request, &name, Subject::Namespace)?;
        replace_names(&mut outcome, &name, &ns.object.name);
        Ok(outcome)
    }

    /// A fresh namespace labelled `labels` that holds `pods`, as if they had been created
    /// before it was labelled so (pods that violate the labels exist that way): the pods
    /// are created under `enforce=privileged`, then the namespace is relabelled.
    async fn namespace_with_pods(
        &self,
        server: &Server,
        labels: &Labels,
        pods: &[k8s_openapi::api::core::v1::Pod],
    ) -> Result<String, TargetError> {
        let api = &server.api;
        let setup = Labels::from([(format!("{PSA_LABEL_PREFIX}enforce"), "privileged".into())]);
        let name = server.namespaces.fresh(api, &setup).await?;
        for pod in pods {
            let pod = object_in(&Workload::Pod(pod.clone()), &name);
            self.create_for_real(
                server,
                &collection_path(Kind::Pod, &name),
                &pod,
                "an existing pod",
            )
            .await?;
        }
        if !pods.is_empty() {
            self.sync_pod_cache(server, &name).await?;
        }
        server.namespaces.relabel(api, &name, labels).await?;
        Ok(name)
    }

    /// PSA checks a namespace's pods from its informer cache, which trails the pods just
    /// created. Watch events arrive in order, so a canary pod created after them is seen
    /// only once they are; the canary is then deleted, and its absence awaited the same
    /// way. Its violations (a combination no realistic pod has) make it recognisable in
    /// the warnings of a dry-run relabel even when PSA groups pods.
    async fn sync_pod_cache(&self, server: &Server, namespace: &str) -> Result<(), TargetError> {
        let canary = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": CACHE_CANARY, "namespace": namespace},
            "spec": {"hostPID": true,
                     "securityContext": {"sysctls": [{"name": "kernel.pss_harness_canary", "value": "1"}]},
                     "volumes": [{"name": "host", "hostPath": {"path": "/pss-harness-canary"}}],
                     "containers": [{"name": "canary", "image": "registry.k8s.io/pause",
                                     "securityContext": {"privileged": true}}]}});
        self.create_for_real(
            server,
            &collection_path(Kind::Pod, namespace),
            &canary,
            "the pod-cache canary",
        )
        .await?;
        self.await_canary(server, namespace, true).await?;
        let path = format!("{}/{CACHE_CANARY}", collection_path(Kind::Pod, namespace));
        let response = self.send_empty(server, Method::DELETE, &path).await?;
        if !response.is_success() && response.code != 404 {
            return Err(TargetError::failed(format!(
                "deleting the pod-cache canary: HTTP {}: {}",
                response.code,
                refusal_text(&response)
            )));
        }
        self.await_canary(server, namespace, false).await
    }

    /// Poll until PSA's view of the namespace's pods shows (or no longer shows) the canary.
    async fn await_canary(
        &self,
        server: &Server,
        namespace: &str,
        present: bool,
    ) -> Result<(), TargetError> {
        let path = format!("/api/v1/namespaces/{namespace}");
        let started = std::time::Instant::now();
        loop {
            let mut current: Value = server
                .api
                .get_json(&path)
                .await
                .map_err(|e| TargetError::Failed(e.to_string()))?;
            current["metadata"]["labels"][format!("{PSA_LABEL_PREFIX}enforce")] = json!("baseline");
            let response = self
                .send(
                    server,
                    Method::PUT,
                    &format!("{path}?dryRun=All"),
                    &current,
                    &[],
                )
                .await?;
            let seen = response.warnings.iter().any(|w| is_canary_warning(w));
            if seen == present {
                return Ok(());
            }
            if started.elapsed() > std::time::Duration::from_secs(15) {
                return Err(TargetError::failed(format!(
                    "API server {}: PSA's pod cache did not {} the canary in 15 s",
                    server.api.endpoint(),
                    if present { "show" } else { "drop" }
                )));
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    async fn send_empty(
        &self,
        server: &Server,
        method: Method,
        path: &str,
    ) -> Result<ApiResponse, TargetError> {
        server
            .api
            .send(method, path, None, &[])
            .await
            .map_err(|e| TargetError::Failed(e.to_string()))
    }

    /// A Namespace request for an exempt name: the namespace must have that name. A CREATE
    /// of one that exists cannot be sent; an UPDATE is sent as a dry run of the stored
    /// namespace with the case's labels (PSA checks no pods in an exempt namespace, so the
    /// old labels and pods do not matter).
    async fn admit_exempt_namespace(
        &self,
        server: &Server,
        request: &AdmissionRequest<'_>,
        ns: &NamespaceRequest,
    ) -> Result<Outcome, TargetError> {
        let api = &server.api;
        let path = format!("/api/v1/namespaces/{}", ns.object.name);
        let headers = impersonation(request.user);
        let existing = api
            .send(Method::GET, &path, None, &[])
            .await
            .map_err(|e| TargetError::Failed(e.to_string()))?;
        let response = match (existing.is_success(), &ns.old) {
            (true, None) => {
                return Err(TargetError::not_applicable(
                    Inexpressible::ClusterState,
                    format!(
                        "namespace {:?} already exists on the cluster, so it cannot be created",
                        ns.object.name
                    ),
                ));
            }
            (false, Some(_)) => {
                return Err(TargetError::not_applicable(
                    Inexpressible::ClusterState,
                    format!(
                        "namespace {:?} does not exist on the cluster, so it cannot be updated",
                        ns.object.name
                    ),
                ));
            }
            (false, None) => {
                let body = json!({"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": ns.object.name, "labels": ns.object.labels}});
                self.send(
                    server,
                    Method::POST,
                    "/api/v1/namespaces?dryRun=All",
                    &body,
                    &headers,
                )
                .await?
            }
            (true, Some(_)) => {
                let mut current: Value = existing.json().map_err(TargetError::Failed)?;
                current["metadata"]["labels"] = json!(ns.object.labels);
                self.send(
                    server,
                    Method::PUT,
                    &format!("{path}?dryRun=All"),
                    &current,
                    &headers,
                )
                .await?
            }
        };
        self.outcome(response, request, &ns.object.name, Subject::Namespace)
    }

    async fn send(
        &self,
        server: &Server,
        method: Method,
        path: &str,
        body: &Value,
        headers: &[(&str, String)],
    ) -> Result<ApiResponse, TargetError> {
        server
            .api
            .send(method, path, Some(body), headers)
            .await
            .map_err(|e| TargetError::Failed(e.to_string()))
    }

    /// Create an object for real (the old side of an update, an existing pod; `what` says
    /// which): the object the server stored. An object the server's validation refuses
    /// cannot be expressed; so cannot one a webhook engine refuses (it judges every
    /// namespace, so there is no place to store what violates its policy).
    async fn create_for_real(
        &self,
        server: &Server,
        path: &str,
        body: &Value,
        what: &str,
    ) -> Result<Value, TargetError> {
        let mut response = self.send(server, Method::POST, path, body, &[]).await?;
        if let Some(class) = self.missing_runtime_class(&response) {
            self.create_runtime_class(server, &class).await?;
            response = self.send(server, Method::POST, path, body, &[]).await?;
        }
        let text = refusal_text(&response);
        match response.code {
            200..=299 => response.json().map_err(TargetError::Failed),
            422 => Err(invalid_object(&format!("{what} cannot be stored: {text}"))),
            400 | 403 if self.flavour == Flavour::Kyverno => Err(TargetError::not_applicable(
                Inexpressible::ClusterState,
                format!("{what} is refused by the engine itself, so it cannot be stored: {text}"),
            )),
            code => Err(TargetError::failed(format!(
                "API server {}: creating {what}: HTTP {code}: {text}",
                server.api.endpoint()
            ))),
        }
    }

    /// The RuntimeClass admission plugin refuses pods naming a class the cluster lacks:
    /// `pod rejected: RuntimeClass "x" not found`.
    fn missing_runtime_class(&self, response: &ApiResponse) -> Option<String> {
        if response.code != 403 {
            return None;
        }
        let message = response.status()?.message;
        let start = message.find("pod rejected: RuntimeClass \"")? + 28;
        let end = message[start..].find("\" not found")?;
        Some(message[start..start + end].to_owned())
    }

    /// Create a RuntimeClass the cases name, on a cluster the harness owns; elsewhere the
    /// scenario is not applicable (the harness writes nothing cluster-wide there).
    async fn create_runtime_class(&self, server: &Server, name: &str) -> Result<(), TargetError> {
        if !self.owned {
            return Err(TargetError::not_applicable(
                Inexpressible::ClusterState,
                format!(
                    "the case names RuntimeClass {name:?}, which this cluster does not have \
                     (the harness creates RuntimeClasses only on clusters it starts)"
                ),
            ));
        }
        let mut created = self.runtime_classes.lock().await;
        let labels = server.namespaces.run_labels();
        let body = json!({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass",
                          "metadata": {"name": name, "labels": labels}, "handler": "runc"});
        let path = "/apis/node.k8s.io/v1/runtimeclasses";
        let response = self.send(server, Method::POST, path, &body, &[]).await?;
        match response.code {
            200..=299 | 409 => {
                created.insert(name.to_owned());
                Ok(())
            }
            code => Err(TargetError::failed(format!(
                "API server {}: creating RuntimeClass {name}: HTTP {code}: {}",
                server.api.endpoint(),
                refusal_text(&response)
            ))),
        }
    }

    /// The server's answer as an outcome, the run's namespace name replaced by the case's.
    fn outcome(
        &self,
        response: ApiResponse,
        request: &AdmissionRequest<'_>,
        run_namespace: &str,
        subject: Subject,
    ) -> Result<Outcome, TargetError> {
        let (engine, server): (Vec<String>, Vec<String>) = response
            .warnings
            .iter()
            .map(|w| w.replace(run_namespace, request.namespace))
            .partition(|w| !is_server_warning(w));
        let mut outcome = Outcome {
            allowed: response.is_success(),
            warnings: engine,
            audit_unobserved: true,
            notes: server
                .into_iter()
                .map(|w| format!("API server warning: {w}"))
                .collect(),
            ..Outcome::default()
        };
        if outcome.allowed {
            if self.flavour == Flavour::Psa {
                outcome.violations = outcome
                    .warnings
                    .iter()
                    .find(|w| w.starts_with("would violate PodSecurity "))
                    .map(|w| psa_violations(w))
                    .unwrap_or_default();
            }
            return Ok(outcome);
        }
        let status = response.status().ok_or_else(|| {
            TargetError::failed(format!(
                "HTTP {} without a Status: {}",
                response.code,
                refusal_text(&response)
            ))
        })?;
        let mut message = status.message.replace(run_namespace, request.namespace);
        if response.code >= 500 {
            return Err(TargetError::failed(format!(
                "HTTP {} {}: {message}",
                response.code, status.reason
            )));
        }
        if response.code == 422 && subject == Subject::Workload {
            return Err(invalid_object(&message));
        }
        match self.flavour {
            Flavour::Psa => {
                // A PSA webhook's own text, without the API server's envelope, is what
                // the plugin's goldens pin.
                if let Some(own) = psa_webhook_denial(&message) {
                    message = own;
                }
                outcome.violations = psa_violations(&message);
            }
            Flavour::Kyverno => {
                let denial = webhook_denial(&message).unwrap_or_default().to_owned();
                outcome.rules = kyverno_rules(&denial);
                outcome.violations = outcome
                    .rules
                    .iter()
                    .filter(|r| r.failed())
                    .flat_map(|r| kyverno_violations(&r.message))
                    .collect();
                outcome.denial = Some(denial);
            }
        }
        outcome.status = Some(Status {
            code: status.code.max(400),
            reason: status.reason,
            message,
        });
        Ok(outcome)
    }
}

/// The pod-cache canary's name.
const CACHE_CANARY: &str = "pss-harness-pod-cache-canary";

/// A namespace warning that names the canary's violations (all four of them, which no
/// case pod combines), whether PSA lists it alone or grouped.
fn is_canary_warning(warning: &str) -> bool {
    [
        "host namespaces",
        "privileged",
        "hostPath volumes",
        "forbidden sysctls",
    ]
    .iter()
    .all(|reason| warning.contains(reason))
}

/// The server's validation refused the object: `Deployment.apps "web" is invalid:
/// <errors>`. The errors say why (the object's name is the scenario's, so it is left out
/// and reports can group the reasons).
fn invalid_object(message: &str) -> TargetError {
    let (context, errors) = match message.split_once(" is invalid: ") {
        Some((head, errors)) => (
            head.split_once(": ").map_or("", |(context, _)| context),
            errors,
        ),
        None => ("", message),
    };
    let why = match errors.contains("ephemeral containers not allowed in pod template") {
        true => Inexpressible::EphemeralContainersInTemplate,
        false => Inexpressible::InvalidObject,
    };
    let detail = match context {
        "" => errors.to_owned(),
        context => format!("{context}: {errors}"),
    };
    TargetError::not_applicable(why, detail)
}

/// What a request is about (a 422 means something else for each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subject {
    Workload,
    Namespace,
}

/// The run keeps the target for its cleanup too, so the suite gets a shared handle.
impl Target for std::sync::Arc<ClusterTarget> {
    fn describe(&self) -> String {
        self.as_ref().describe()
    }

    fn admit(&self, request: &AdmissionRequest<'_>) -> Result<Outcome, TargetError> {
        self.as_ref().admit(request)
    }

    fn server_minor(&self) -> Option<u32> {
        self.as_ref().server_minor()
    }

    fn fixed_policies(&self) -> bool {
        self.as_ref().fixed_policies()
    }
}

impl Target for ClusterTarget {
    fn describe(&self) -> String {
        self.description.clone()
    }

    fn admit(&self, request: &AdmissionRequest<'_>) -> Result<Outcome, TargetError> {
        if request.defaulting != Defaulting::API_SERVER {
            return Err(TargetError::not_applicable(
                Inexpressible::Raw,
                "the case asks for no API-server defaulting (raw: true)",
            ));
        }
        let server = self.server_for(request.admission_config)?;
        let answer: Answer = match self.answers.lock() {
            Ok(mut answers) => Arc::clone(answers.entry(request_key(request)).or_default()),
            Err(_) => return Err(TargetError::failed("the answer table is poisoned")),
        };
        self.runtime
            .block_on(answer.get_or_init(|| self.admit_async(server, request)))
            .clone()
    }

    fn server_minor(&self) -> Option<u32> {
        (self.flavour == Flavour::Psa).then_some(self.version.minor)
    }

    fn fixed_policies(&self) -> bool {
        self.flavour == Flavour::Kyverno
    }
}

/// The `scale` subresource takes an `autoscaling/v1` Scale, not the object.
fn scale_of(object: &Value) -> Value {
    json!({
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": {
            "name": object["metadata"]["name"],
            "namespace": object["metadata"]["namespace"],
            "resourceVersion": object["metadata"]["resourceVersion"],
        },
        "spec": {"replicas": object["spec"]["replicas"].as_i64().unwrap_or(1)},
    })
}

/// Whether the server's PSA configuration exempts a namespace by name.
fn exempts(server: &Server, namespace: &str) -> bool {
    server
        .admission_config
        .as_ref()
        .is_some_and(|c| c.exemptions.namespace(namespace))
}

/// A pod with ephemeral containers.
fn has_ephemeral_containers(object: &Workload) -> bool {
    match object {
        Workload::Pod(pod) => pod
            .spec
            .as_ref()
            .and_then(|s| s.ephemeral_containers.as_ref())
            .is_some_and(|e| !e.is_empty()),
        _ => false,
    }
}

/// The collection URL of a kind in a namespace.
pub fn collection_path(kind: Kind, namespace: &str) -> String {
    let api_version = kind.api_version();
    let prefix = match api_version.contains('/') {
        true => format!("/apis/{api_version}"),
        false => format!("/api/{api_version}"),
    };
    format!("{prefix}/namespaces/{namespace}/{}", kind.resource())
}

/// The object as JSON, in `namespace`.
fn object_in(object: &Workload, namespace: &str) -> Value {
    let mut value = object.to_value();
    value["metadata"]["namespace"] = json!(namespace);
    value
}

/// Requests as another user go through impersonation (the run's credential may; the
/// user's own rights then decide, as for that user's request).
fn impersonation(user: Option<&str>) -> Vec<(&'static str, String)> {
    match user.filter(|u| !u.is_empty()) {
        Some(user) => vec![("Impersonate-User", user.to_owned())],
        None => Vec::new(),
    }
}

/// Warnings the API server adds on its own, not its admission engine: a field path and a
/// note (`spec.containers[0].image: ...`, `metadata.annotations[...]: deprecated ...`), or
/// an `unknown field`.
pub fn is_server_warning(warning: &str) -> bool {
    if warning.starts_with("unknown field ") {
        return true;
    }
    let Some((path, _)) = warning.split_once(": ") else {
        return false;
    };
    let root = path.split(['.', '[']).next().unwrap_or_default();
    matches!(root, "metadata" | "spec" | "template")
        && path.len() > root.len()
        && !path.contains(' ')
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-[]/\"".contains(c))
}

/// Kyverno's message inside the API server's `admission webhook "<name>" denied the
/// request: <message>`.
pub fn webhook_denial(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("admission webhook \"")?;
    let (_, rest) = rest.split_once('"')?;
    rest.strip_prefix(" denied the request: ").or_else(|| {
        rest.strip_prefix(" denied the request without explanation")
            .map(|_| "")
    })
}

/// A PSA webhook's own denial inside the API server's `admission webhook "<name>" denied
/// the request: <message>`; `None` when the text is not such an envelope around a PSA text
/// (a policy violation, or PSA's refusal of its own namespace labels): another webhook's
/// denial stays as the server said it.
pub fn psa_webhook_denial(text: &str) -> Option<String> {
    webhook_denial(text)
        .filter(|own| own.contains("PodSecurity") || own.contains("[pod-security.kubernetes.io/"))
        .map(str::to_owned)
}

/// Put the case's namespace name back where the server named the run's.
fn replace_names(outcome: &mut Outcome, from: &str, to: &str) {
    for w in &mut outcome.warnings {
        *w = w.replace(from, to);
    }
    if let Some(s) = &mut outcome.status {
        s.message = s.message.replace(from, to);
    }
    for v in &mut outcome.violations {
        v.detail = v.detail.replace(from, to);
    }
}

/// Apply the change from `from` to `to` onto `stored` (the object as the server stored
/// `from`, with its own defaults and additions): changed values are set, added keys
/// added, removed keys removed; lists of named items (containers, volumes) are matched
/// by name, so what the server added to an item survives.
pub fn apply_change(stored: &mut Value, from: &Value, to: &Value) {
    match (from, to) {
        (Value::Object(f), Value::Object(t)) if stored.is_object() => {
            for (key, new) in t {
                match (f.get(key), stored.get_mut(key)) {
                    (Some(old), _) if old == new => {}
                    (Some(old), Some(slot)) => apply_change(slot, old, new),
                    _ => {
                        stored[key] = new.clone();
                    }
                }
            }
            if let Some(map) = stored.as_object_mut() {
                for key in f.keys().filter(|k| !t.contains_key(*k)) {
                    map.remove(key);
                }
            }
        }
        (Value::Array(f), Value::Array(t))
            if named_items(f)
                && named_items(t)
                && stored.as_array().is_some_and(|s| named_items(s)) =>
        {
            let Some(items) = stored.as_array_mut() else {
                return;
            };
            let name = |v: &Value| v["name"].as_str().map(str::to_owned);
            items.retain(|item| {
                let n = name(item);
                t.iter().any(|x| name(x) == n) || !f.iter().any(|x| name(x) == n)
            });
            for new in t {
                let old = f.iter().find(|x| name(x) == name(new));
                match items.iter_mut().find(|x| name(x) == name(new)) {
                    Some(slot) => apply_change(slot, old.unwrap_or(&json!({})), new),
                    None => items.push(new.clone()),
                }
            }
        }
        _ => *stored = to.clone(),
    }
}

fn named_items(items: &[Value]) -> bool {
    items.iter().all(|i| i["name"].is_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("spec.containers[0].image: non-functional", true)]
    #[case(
        "metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]: deprecated since v1.30",
        true
    )]
    #[case("unknown field \"spec.foo\"", true)]
    #[case(
        "template.spec.volumes[0].gitRepo: deprecated in v1.11, and disabled by default in v1.33+",
        true
    )]
    #[case(
        "spec.template.metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]: deprecated since v1.30; use the \"appArmorProfile\" field instead",
        true
    )]
    #[case("template: not a path", false)]
    #[case(
        "would violate PodSecurity \"baseline:latest\": privileged (container \"app\" must not set securityContext.privileged=true)",
        false
    )]
    #[case(
        "existing pods in namespace \"ns\" violate the new PodSecurity enforce level \"restricted:latest\"",
        false
    )]
    #[case("web: privileged", false)]
    fn server_warnings_are_told_from_the_engines(#[case] warning: &str, #[case] server: bool) {
        assert_eq!(is_server_warning(warning), server);
    }

    #[test]
    fn webhook_denials_are_unwrapped() {
        assert_eq!(
            webhook_denial(
                "admission webhook \"validate.kyverno.svc-fail\" denied the request: \n\nresource ..."
            ),
            Some("\n\nresource ...")
        );
        assert_eq!(
            webhook_denial("admission webhook \"w\" denied the request without explanation"),
            Some("")
        );
        assert_eq!(webhook_denial("pods \"p\" is forbidden: ..."), None);
        let psa = "admission webhook \"pod-security-webhook.kubernetes.io\" denied the request: \
                   pods \"p\" is forbidden: violates PodSecurity \"baseline:latest\": privileged";
        assert_eq!(
            psa_webhook_denial(psa).as_deref(),
            Some("pods \"p\" is forbidden: violates PodSecurity \"baseline:latest\": privileged")
        );
        assert_eq!(
            psa_webhook_denial("admission webhook \"w\" denied the request: no"),
            None
        );
        let labels = "admission webhook \"p.k8s.io\" denied the request: Namespace \"a\" is \
                      invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value";
        assert!(psa_webhook_denial(labels).is_some_and(|m| m.starts_with("Namespace \"a\"")));
    }

    #[test]
    fn collection_paths_follow_the_group() {
        assert_eq!(collection_path(Kind::Pod, "n"), "/api/v1/namespaces/n/pods");
        assert_eq!(
            collection_path(Kind::CronJob, "n"),
            "/apis/batch/v1/namespaces/n/cronjobs"
        );
        assert_eq!(
            collection_path(Kind::Deployment, "n"),
            "/apis/apps/v1/namespaces/n/deployments"
        );
    }

    #[test]
    fn a_change_lands_on_the_stored_object_and_keeps_server_additions() {
        let from = json!({"metadata": {"name": "web"},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}});
        let to = json!({"metadata": {"name": "web", "labels": {"tier": "front"}},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.28"}],
                     "ephemeralContainers": [{"name": "debug", "image": "busybox"}]}});
        let mut stored = json!({"metadata": {"name": "web", "resourceVersion": "7"},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.27",
                                     "volumeMounts": [{"name": "token"}]}],
                     "volumes": [{"name": "token"}], "dnsPolicy": "ClusterFirst"}});
        apply_change(&mut stored, &from, &to);
        assert_eq!(
            stored,
            json!({"metadata": {"name": "web", "resourceVersion": "7", "labels": {"tier": "front"}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.28",
                                         "volumeMounts": [{"name": "token"}]}],
                         "volumes": [{"name": "token"}], "dnsPolicy": "ClusterFirst",
                         "ephemeralContainers": [{"name": "debug", "image": "busybox"}]}})
        );
    }

    #[test]
    fn removed_keys_and_items_are_removed() {
        let from = json!({"a": 1, "list": [{"name": "x"}, {"name": "y"}]});
        let to = json!({"list": [{"name": "y"}]});
        let mut stored = json!({"a": 1, "b": 2, "list": [{"name": "x"}, {"name": "y", "z": 1}, {"name": "server"}]});
        apply_change(&mut stored, &from, &to);
        assert_eq!(
            stored,
            json!({"b": 2, "list": [{"name": "y", "z": 1}, {"name": "server"}]})
        );
    }

    #[test]
    fn server_versions_parse_with_suffixes() {
        let v = ServerVersion::from_json(&json!({"minor": "33+", "gitVersion": "v1.33.1-gke.1"}))
            .unwrap();
        assert_eq!((v.minor, v.git_version.as_str()), (33, "v1.33.1-gke.1"));
        assert!(ServerVersion::from_json(&json!({"minor": ""})).is_err());
    }
}
