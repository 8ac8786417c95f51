//! The run's namespaces: one per distinct label set the scenarios need (created on first
//! use, shared by every scenario with those labels), plus fresh ones for scenarios that
//! write objects (updates, namespace relabels). Every one carries
//! `app.kubernetes.io/managed-by: pss-harness` and the run id, is recorded before it is
//! created (so a lost answer still gets cleaned up), and is deleted at the end.
//!
//! A cluster without a namespace controller (the local control plane) never finishes
//! deleting a namespace, so after a grace period the harness deletes what it created
//! inside (the workload kinds, pods, service accounts) and clears the namespace's
//! finalizer itself.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http::Method;
use serde_json::{Value, json};

use super::api::{Api, ApiError, refusal_text};
use crate::target::{Inexpressible, TargetError};

/// The label every object the harness creates carries.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY_VALUE: &str = "pss-harness";
/// The label naming the run that created an object.
pub const RUN_LABEL: &str = "pss-harness.io/run";

/// A namespace's labels.
pub type Labels = BTreeMap<String, String>;

type Slot = Arc<tokio::sync::OnceCell<Result<String, TargetError>>>;

/// The namespaces of one run on one API server.
pub struct RunNamespaces {
    run_id: String,
    /// A short tag of the API server (several servers of a local control plane share etcd
    /// only under different prefixes, but names stay distinct for readable reports).
    tag: String,
    next: AtomicU64,
    shared: std::sync::Mutex<BTreeMap<Labels, Slot>>,
    created: std::sync::Mutex<Vec<String>>,
    /// Set when the run ends: no namespace may be created after cleanup has started.
    closed: AtomicBool,
    /// Creations in flight (cleanup waits for them, so none lands after it).
    in_flight: Arc<AtomicUsize>,
}

/// One namespace creation in flight; counted until dropped.
struct Creating(Arc<AtomicUsize>);

impl Drop for Creating {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl RunNamespaces {
    pub fn new(run_id: &str, tag: &str) -> Self {
        RunNamespaces {
            run_id: run_id.to_owned(),
            tag: tag.to_owned(),
            next: AtomicU64::new(0),
            shared: std::sync::Mutex::new(BTreeMap::new()),
            created: std::sync::Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
            in_flight: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Refuse new namespaces from now on and wait (up to `patience`) for creations in
    /// flight to be answered, so that [`Self::created`] then names every namespace the
    /// run can have made.
    pub async fn close(&self, patience: Duration) {
        self.closed.store(true, Ordering::SeqCst);
        let started = Instant::now();
        while self.in_flight.load(Ordering::SeqCst) > 0 && started.elapsed() < patience {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Count a creation, unless the run is ending.
    fn begin_create(&self) -> Result<Creating, TargetError> {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let guard = Creating(Arc::clone(&self.in_flight));
        match self.closed.load(Ordering::SeqCst) {
            true => Err(TargetError::failed(
                "the run is ending: no new namespace is created",
            )),
            false => Ok(guard),
        }
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The labels every namespace of the run carries besides its own.
    pub fn run_labels(&self) -> Labels {
        Labels::from([
            (MANAGED_BY.to_owned(), MANAGED_BY_VALUE.to_owned()),
            (RUN_LABEL.to_owned(), self.run_id.clone()),
        ])
    }

    /// Every namespace created (or attempted) so far.
    pub fn created(&self) -> Vec<String> {
        self.created.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// The run's namespace with exactly these (PSA) labels, created on first use.
    pub async fn shared(&self, api: &Api, labels: &Labels) -> Result<String, TargetError> {
        let slot = {
            let mut shared = self
                .shared
                .lock()
                .map_err(|_| TargetError::failed("namespace table poisoned"))?;
            Arc::clone(shared.entry(labels.clone()).or_default())
        };
        slot.get_or_init(|| self.create(api, labels)).await.clone()
    }

    /// The namespace `name` itself: used as it is when it exists (nothing is changed or
    /// deleted), else created with the run's labels (and deleted with the run's).
    pub async fn existing_or_new(&self, api: &Api, name: &str) -> Result<String, TargetError> {
        let path = format!("/api/v1/namespaces/{name}");
        let found = api
            .send(Method::GET, &path, None, &[])
            .await
            .map_err(failed)?;
        if !found.is_success() {
            let _creating = self.begin_create()?;
            if let Ok(mut created) = self.created.lock() {
                created.push(name.to_owned());
            }
            let body = json!({"apiVersion": "v1", "kind": "Namespace",
                              "metadata": {"name": name, "labels": self.run_labels()}});
            let response = api
                .send(Method::POST, "/api/v1/namespaces", Some(&body), &[])
                .await
                .map_err(failed)?;
            if !matches!(response.code, 200..=299 | 409) {
                return Err(TargetError::failed(format!(
                    "API server {}: creating namespace {name}: HTTP {}: {}",
                    api.endpoint(),
                    response.code,
                    refusal_text(&response)
                )));
            }
        }
        ensure_default_service_account(api, name).await?;
        Ok(name.to_owned())
    }

    /// A new namespace of the run with these labels, for one scenario.
    pub async fn fresh(&self, api: &Api, labels: &Labels) -> Result<String, TargetError> {
        self.create(api, labels).await
    }

    fn new_name(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("pss-{}-{}{n}", self.run_id, self.tag)
    }

    async fn create(&self, api: &Api, labels: &Labels) -> Result<String, TargetError> {
        let _creating = self.begin_create()?;
        let name = self.new_name();
        if let Ok(mut created) = self.created.lock() {
            created.push(name.clone());
        }
        let mut all = labels.clone();
        all.extend(self.run_labels());
        let body = json!({"apiVersion": "v1", "kind": "Namespace",
                          "metadata": {"name": name, "labels": all}});
        let response = api
            .send(Method::POST, "/api/v1/namespaces", Some(&body), &[])
            .await
            .map_err(failed)?;
        match response.code {
            200..=299 => {}
            // PSA refuses label values it cannot parse: such a namespace cannot exist on a
            // cluster (only one labelled before PSA was enabled could).
            403 | 422 => {
                return Err(TargetError::not_applicable(
                    Inexpressible::NamespaceLabels,
                    validation_errors(&refusal_text(&response)),
                ));
            }
            code => {
                return Err(TargetError::failed(format!(
                    "API server {}: creating namespace {name}: HTTP {code}: {}",
                    api.endpoint(),
                    refusal_text(&response)
                )));
            }
        }
        ensure_default_service_account(api, &name).await?;
        Ok(name)
    }

    /// Set a namespace's labels (the run's labels are kept).
    pub async fn relabel(
        &self,
        api: &Api,
        name: &str,
        labels: &Labels,
    ) -> Result<Vec<String>, TargetError> {
        let mut all = labels.clone();
        all.extend(self.run_labels());
        let path = format!("/api/v1/namespaces/{name}");
        let mut current: Value = api.get_json(&path).await.map_err(failed)?;
        current["metadata"]["labels"] = json!(all);
        let response = api
            .send(Method::PUT, &path, Some(&current), &[])
            .await
            .map_err(failed)?;
        if !response.is_success() {
            return Err(TargetError::not_applicable(
                Inexpressible::NamespaceLabels,
                validation_errors(&refusal_text(&response)),
            ));
        }
        wait_until_labels_apply(api, name, labels).await?;
        Ok(response.warnings)
    }
}

/// What a privileged canary pod gets in a namespace once its labels apply: PSA reads
/// namespaces from an informer cache, so a relabel takes a moment to reach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Canary {
    /// Enforce is baseline, restricted or unparseable: the canary is refused.
    Refused,
    /// Only warn is baseline or restricted: the canary is allowed with a policy warning.
    Warned,
    /// Nothing a canary could see differs from a privileged namespace.
    Unobservable,
}

impl Canary {
    /// What the canary gets under `labels` (coming from a namespace labelled
    /// `enforce=privileged` and nothing else).
    pub fn for_labels(labels: &Labels) -> Canary {
        let level = |mode: &str| {
            labels
                .get(&format!("pod-security.kubernetes.io/{mode}"))
                .filter(|v| v.as_str() != "privileged")
        };
        match (level("enforce"), level("warn")) {
            (Some(_), _) => Canary::Refused,
            (None, Some(_)) => Canary::Warned,
            (None, None) => Canary::Unobservable,
        }
    }

    fn seen_in(self, response: &super::api::ApiResponse) -> bool {
        match self {
            Canary::Refused => matches!(response.code, 400..=499),
            Canary::Warned => {
                response.is_success()
                    && response
                        .warnings
                        .iter()
                        .any(|w| w.starts_with("would violate PodSecurity"))
            }
            Canary::Unobservable => true,
        }
    }
}

/// Poll with a dry-run privileged canary pod until the namespace's new labels apply.
async fn wait_until_labels_apply(
    api: &Api,
    name: &str,
    labels: &Labels,
) -> Result<(), TargetError> {
    let canary = Canary::for_labels(labels);
    if canary == Canary::Unobservable {
        return Ok(());
    }
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "pss-harness-canary", "namespace": name},
        "spec": {"containers": [{"name": "canary", "image": "registry.k8s.io/pause",
                                 "securityContext": {"privileged": true}}]}});
    let path = format!("/api/v1/namespaces/{name}/pods?dryRun=All");
    let started = Instant::now();
    loop {
        let response = api
            .send(Method::POST, &path, Some(&pod), &[])
            .await
            .map_err(failed)?;
        if canary.seen_in(&response) {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(15) {
            return Err(TargetError::failed(format!(
                "API server {}: the new labels of namespace {name} did not take effect in 15 s",
                api.endpoint()
            )));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The errors of `Namespace "pss-1a2b3c-4" is invalid: <errors>` (the run's generated
/// name would only make equal reasons look different).
fn validation_errors(message: &str) -> String {
    message
        .split_once(" is invalid: ")
        .map_or(message, |(_, errors)| errors)
        .to_owned()
}

fn failed(e: ApiError) -> TargetError {
    TargetError::Failed(e.to_string())
}

/// The ServiceAccount admission plugin refuses pods in a namespace without a `default`
/// service account, which only the controller manager creates; create it (a cluster with
/// that controller may win the race: 409 is fine).
async fn ensure_default_service_account(api: &Api, namespace: &str) -> Result<(), TargetError> {
    let body = json!({"apiVersion": "v1", "kind": "ServiceAccount",
                      "metadata": {"name": "default", "namespace": namespace}});
    let path = format!("/api/v1/namespaces/{namespace}/serviceaccounts");
    let response = api
        .send(Method::POST, &path, Some(&body), &[])
        .await
        .map_err(failed)?;
    match response.code {
        200..=299 | 409 => Ok(()),
        code => Err(TargetError::failed(format!(
            "API server {}: creating the default service account in {namespace}: HTTP {code}: {}",
            api.endpoint(),
            refusal_text(&response)
        ))),
    }
}

/// The collections a run writes into its namespaces (deleted before a forced finalize).
const WRITTEN_COLLECTIONS: [&str; 10] = [
    "/apis/batch/v1/namespaces/{ns}/cronjobs",
    "/apis/batch/v1/namespaces/{ns}/jobs",
    "/apis/apps/v1/namespaces/{ns}/daemonsets",
    "/apis/apps/v1/namespaces/{ns}/statefulsets",
    "/apis/apps/v1/namespaces/{ns}/deployments",
    "/apis/apps/v1/namespaces/{ns}/replicasets",
    "/api/v1/namespaces/{ns}/replicationcontrollers",
    "/api/v1/namespaces/{ns}/podtemplates",
    "/api/v1/namespaces/{ns}/pods",
    "/api/v1/namespaces/{ns}/serviceaccounts",
];

/// How long a namespace controller gets before the harness finalizes a namespace itself.
#[derive(Debug, Clone, Copy)]
pub struct DeletePolicy {
    /// Wait this long for the cluster's namespace controller (zero: there is none).
    pub grace: Duration,
    /// Give up waiting for the namespaces to disappear after this long.
    pub timeout: Duration,
}

/// Delete namespaces and wait until they are gone; the names still present at the end.
pub async fn delete_namespaces(
    api: &Api,
    names: &[String],
    policy: DeletePolicy,
) -> Result<Vec<String>, ApiError> {
    for name in names {
        let path = format!("/api/v1/namespaces/{name}");
        let response = api.send(Method::DELETE, &path, None, &[]).await?;
        if !matches!(response.code, 200..=299 | 404 | 409) {
            return Err(ApiError {
                endpoint: api.endpoint().to_owned(),
                message: format!(
                    "DELETE {path}: HTTP {}: {}",
                    response.code,
                    refusal_text(&response)
                ),
            });
        }
    }
    let started = Instant::now();
    let mut left: Vec<String> = names.to_vec();
    let mut finalized = false;
    loop {
        left = still_present(api, &left).await?;
        if left.is_empty() || started.elapsed() >= policy.timeout {
            return Ok(left);
        }
        if !finalized && started.elapsed() >= policy.grace {
            for name in &left {
                force_finalize(api, name).await?;
            }
            finalized = true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn still_present(api: &Api, names: &[String]) -> Result<Vec<String>, ApiError> {
    let mut left = Vec::new();
    for name in names {
        let path = format!("/api/v1/namespaces/{name}");
        let response = api.send(Method::GET, &path, None, &[]).await?;
        if response.code != 404 {
            left.push(name.clone());
        }
    }
    Ok(left)
}

/// Delete what the run wrote into a terminating namespace, then clear its finalizers.
async fn force_finalize(api: &Api, name: &str) -> Result<(), ApiError> {
    for collection in WRITTEN_COLLECTIONS {
        let path = collection.replace("{ns}", name);
        // A kind the server does not serve (404) or a namespace already gone is fine.
        api.send(Method::DELETE, &path, None, &[]).await?;
    }
    let path = format!("/api/v1/namespaces/{name}");
    let response = api.send(Method::GET, &path, None, &[]).await?;
    if response.code == 404 {
        return Ok(());
    }
    let mut namespace: Value = response.json().map_err(|message| ApiError {
        endpoint: api.endpoint().to_owned(),
        message,
    })?;
    namespace["spec"]["finalizers"] = json!([]);
    api.send(
        Method::PUT,
        &format!("{path}/finalize"),
        Some(&namespace),
        &[],
    )
    .await?;
    Ok(())
}

/// The names of the namespaces labelled as the harness's (of one run, or of any).
pub async fn labelled_namespaces(api: &Api, run: Option<&str>) -> Result<Vec<String>, ApiError> {
    let selector = match run {
        Some(id) => format!("{MANAGED_BY}={MANAGED_BY_VALUE},{RUN_LABEL}={id}"),
        None => format!("{MANAGED_BY}={MANAGED_BY_VALUE}"),
    };
    let path = format!("/api/v1/namespaces?labelSelector={}", encode(&selector));
    let list: Value = api.get_json(&path).await?;
    Ok(names_of(&list))
}

/// The `metadata.name`s of a list.
pub fn names_of(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["metadata"]["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Percent-encode a query value (label selectors hold `=`, `,` and `/`).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_run_and_the_server_tag() {
        let ns = RunNamespaces::new("a1b2c3", "s");
        assert_eq!(ns.new_name(), "pss-a1b2c3-s0");
        assert_eq!(ns.new_name(), "pss-a1b2c3-s1");
        let labels = ns.run_labels();
        assert_eq!(labels[MANAGED_BY], "pss-harness");
        assert_eq!(labels[RUN_LABEL], "a1b2c3");
    }

    #[test]
    fn the_canary_follows_enforce_then_warn() {
        let labels = |pairs: &[(&str, &str)]| -> Labels {
            pairs
                .iter()
                .map(|(k, v)| (format!("pod-security.kubernetes.io/{k}"), v.to_string()))
                .collect()
        };
        assert_eq!(
            Canary::for_labels(&labels(&[("enforce", "baseline")])),
            Canary::Refused
        );
        assert_eq!(
            Canary::for_labels(&labels(&[("enforce", "bogus")])),
            Canary::Refused
        );
        assert_eq!(
            Canary::for_labels(&labels(&[
                ("enforce", "privileged"),
                ("warn", "restricted")
            ])),
            Canary::Warned
        );
        assert_eq!(
            Canary::for_labels(&labels(&[("audit", "restricted")])),
            Canary::Unobservable
        );
    }

    #[test]
    fn selectors_are_encoded() {
        assert_eq!(
            encode("app.kubernetes.io/managed-by=pss-harness,pss-harness.io/run=x"),
            "app.kubernetes.io%2Fmanaged-by%3Dpss-harness%2Cpss-harness.io%2Frun%3Dx"
        );
    }

    #[test]
    fn list_names_are_read() {
        let list = json!({"items": [{"metadata": {"name": "a"}}, {"metadata": {}}, {"metadata": {"name": "b"}}]});
        assert_eq!(names_of(&list), ["a", "b"]);
        assert!(names_of(&json!({})).is_empty());
    }
}
