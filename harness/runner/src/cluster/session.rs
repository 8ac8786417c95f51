//! One run against a cluster: get the cluster (connect through a kubeconfig, start a local
//! control plane, or start a kind node), build the [`ClusterTarget`], and make sure that
//! everything the run wrote is removed at the end: on success, on failure, on panic (the
//! session's drop) and on SIGINT/SIGTERM (a signal task that cleans up, then exits 130 or
//! 143). Only dry runs and the run's own namespaces (and what the run put in them, plus
//! RuntimeClasses and manifests on clusters the harness started or was told to install
//! into) are ever written.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pss::admission::AdmissionConfig;
use serde_json::Value;

use super::api::{Api, Pacing};
use super::engine::{EngineSpec, Engines};
use super::install::{Install, Installed};
use super::kind::{KindNode, KindOptions};
use super::local::{LocalControlPlane, LocalOptions};
use super::namespaces::{self, DeletePolicy, RunNamespaces};
use super::target::{ClusterTarget, Server, ServerVersion};
use crate::target::webhook::Flavour;

/// Where the cluster comes from.
#[derive(Debug, Clone)]
pub enum ClusterSource {
    /// Any cluster a kubeconfig reaches (`None`: `KUBECONFIG`, else `~/.kube/config`).
    Kubeconfig {
        path: Option<PathBuf>,
        context: Option<String>,
    },
    /// A kind node the harness starts through testcontainers.
    Kind(KindOptions),
    /// etcd and kube-apiserver on loopback, from these binaries.
    Local { bin_dir: Option<PathBuf> },
}

/// A PSA configuration a case needs: the validated model (to route requests) and the
/// document (for the server's flag).
#[derive(Debug, Clone)]
pub struct CaseConfig {
    pub config: AdmissionConfig,
    pub document: Value,
}

/// Everything a session needs.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    pub source: ClusterSource,
    pub flavour: Flavour,
    /// The configurations the selected cases carry (a local control plane starts a server
    /// for each; other clusters cannot express them).
    pub case_configs: Vec<CaseConfig>,
    pub pacing: Pacing,
    /// Context-name globs refused unless `force`.
    pub protect: Vec<String>,
    pub force: bool,
    /// Keep the namespaces and installed manifests (not a started cluster).
    pub keep: bool,
    pub install: Vec<PathBuf>,
    pub install_timeout: Duration,
    /// How long the cluster's namespace controller gets before the harness finalizes the
    /// run's namespaces itself (`None`: 30 s, or none for a local control plane).
    pub namespace_grace: Option<Duration>,
    /// A local control plane runs the built-in PodSecurity plugin (off: only webhooks
    /// judge).
    pub builtin_psa: bool,
    /// An engine process to start per API server of a local control plane and register
    /// as its validating webhook.
    pub engine: Option<EngineSpec>,
}

/// A running session.
pub struct Session {
    pub target: Arc<ClusterTarget>,
    pub cleanup: Arc<Cleanup>,
    /// How long getting the cluster took (a local control plane's or kind's start).
    pub started_in: Duration,
    /// What the run was pointed at, for reports: `local control plane (v1.37.2)`.
    pub description: String,
    /// The run id the run's objects are labelled with (`pss-harness.io/run`).
    pub run_id: String,
}

impl Session {
    /// Get the cluster and build the target; on any error what was started is removed.
    pub fn start(options: &SessionOptions) -> Result<Session, String> {
        crate::target::webhook::install_crypto_provider();
        let runtime = Arc::new(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the cluster client runtime: {e}"))?,
        );
        let cleanup = Arc::new(Cleanup::new(Arc::clone(&runtime), options.keep));
        // From the start: a kind node or an install takes minutes, and an interrupt then
        // must still remove what exists so far.
        cleanup.watch_signals();
        let started = Instant::now();
        let run_id = run_id();
        let result = build(options, &runtime, &cleanup, &run_id);
        match result {
            Ok((target, description)) => Ok(Session {
                target,
                cleanup,
                started_in: started.elapsed(),
                description,
                run_id,
            }),
            Err(e) => {
                cleanup.run();
                Err(e)
            }
        }
    }

    /// Remove everything the run wrote; what could not be removed.
    pub fn finish(self) -> CleanupReport {
        self.cleanup.run()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.cleanup.run();
    }
}

/// A run id: six hex digits, different per process and time.
pub fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mixed = (nanos ^ (u128::from(std::process::id()) << 40)) as u64;
    format!("{:06x}", (mixed ^ (mixed >> 24)) & 0xff_ffff)
}

fn build(
    options: &SessionOptions,
    runtime: &Arc<tokio::runtime::Runtime>,
    cleanup: &Arc<Cleanup>,
    id: &str,
) -> Result<(Arc<ClusterTarget>, String), String> {
    let (configs, owned, what, policy) = match &options.source {
        ClusterSource::Kubeconfig { path, context } => {
            let config =
                runtime.block_on(kubeconfig(path.as_deref(), context.as_deref(), options))?;
            (
                vec![(None, config)],
                false,
                "cluster".to_owned(),
                DeletePolicy {
                    grace: Duration::from_secs(30),
                    timeout: Duration::from_secs(90),
                },
            )
        }
        ClusterSource::Local { bin_dir } => {
            let bin_dir = LocalOptions::bin_dir(bin_dir.as_deref())?;
            let mut configs = vec![None];
            configs.extend(
                options
                    .case_configs
                    .iter()
                    .map(|c| Some(c.document.clone())),
            );
            let plane = LocalControlPlane::start(&LocalOptions {
                bin_dir,
                configs,
                start_timeout: Duration::from_secs(90),
                builtin_psa: options.builtin_psa,
            });
            let plane = plane?;
            if let Some(spec) = &options.engine {
                cleanup.set_engines(Engines::start(spec, &plane)?);
            }
            let mut out = Vec::new();
            for (i, server) in plane.servers.iter().enumerate() {
                let config = runtime.block_on(from_kubeconfig_text(&server.kubeconfig))?;
                let case = i
                    .checked_sub(1)
                    .map(|c| options.case_configs[c].config.clone());
                out.push((case, config));
            }
            let took = plane.started_in;
            cleanup.set_local(plane);
            (
                out,
                true,
                format!(
                    "local control plane (started in {:.1} s)",
                    took.as_secs_f64()
                ),
                // No controller manager: nobody else finalizes a namespace.
                DeletePolicy {
                    grace: Duration::ZERO,
                    timeout: Duration::from_secs(30),
                },
            )
        }
        ClusterSource::Kind(kind) => {
            let node = runtime.block_on(KindNode::start(kind))?;
            let text = node.kubeconfig().to_owned();
            let what = format!("kind node {} ({})", node.name(), kind.image);
            cleanup.set_kind(node);
            let config = runtime.block_on(from_kubeconfig_text(&text))?;
            (
                vec![(None, config)],
                true,
                what,
                DeletePolicy {
                    grace: Duration::from_secs(30),
                    timeout: Duration::from_secs(90),
                },
            )
        }
    };
    let policy = match options.namespace_grace {
        Some(grace) => DeletePolicy {
            grace,
            timeout: grace + Duration::from_secs(60),
        },
        None => policy,
    };
    let mut servers = Vec::new();
    // kube's client spawns its buffer task on the current runtime.
    let _entered = runtime.enter();
    for (i, (config, kube_config)) in configs.into_iter().enumerate() {
        let api = Arc::new(Api::new(kube_config, options.pacing).map_err(|e| e.to_string())?);
        let tag = match i {
            0 => String::new(),
            n => format!("c{n}-"),
        };
        let namespaces = Arc::new(RunNamespaces::new(id, &tag));
        cleanup.add_server(Arc::clone(&api), Arc::clone(&namespaces), policy);
        servers.push(Server {
            api,
            namespaces,
            admission_config: config,
        });
    }
    let engine = register_engines(cleanup, &servers, id, options, runtime)?;
    let first = Arc::clone(&servers[0].api);
    let info: Value = runtime
        .block_on(first.get_json("/version"))
        .map_err(|e| e.to_string())?;
    let version = ServerVersion::from_json(&info)?;
    if !options.install.is_empty() {
        let install = Install::load(&options.install)?;
        let installed = runtime.block_on(install.apply(&first, id))?;
        cleanup.set_installed(Arc::clone(&first), installed);
        runtime.block_on(super::install::wait_effective(
            &servers[0],
            options.flavour,
            options.install_timeout,
        ))?;
    }
    let mut description = format!(
        "{what} at {} (Kubernetes {}), {} texts, run {id}",
        first.endpoint(),
        version.git_version,
        match options.flavour {
            Flavour::Psa => "psa",
            Flavour::Kyverno => "kyverno",
        }
    );
    if let Some(engine) = engine {
        description.push_str(&format!(", engine {engine}"));
    }
    let target = Arc::new(ClusterTarget::new(
        servers,
        Arc::clone(runtime),
        options.flavour,
        version,
        owned,
        description.clone(),
    ));
    cleanup.set_target(Arc::clone(&target));
    Ok((target, description))
}

/// Register each started engine with its API server and wait until it judges pods; a
/// description of the engines.
fn register_engines(
    cleanup: &Cleanup,
    servers: &[Server],
    run_id: &str,
    options: &SessionOptions,
    runtime: &tokio::runtime::Runtime,
) -> Result<Option<String>, String> {
    // The table is locked only to read it: a signal's cleanup locks it too, and must not
    // wait behind the installs below.
    let (manifests, description) = {
        let Ok(engines) = cleanup.engines.lock() else {
            return Err("engine table poisoned".into());
        };
        let Some(engines) = engines.as_ref() else {
            return Ok(None);
        };
        let manifests = (0..servers.len())
            .map(|i| engines.write_webhook_configuration(i))
            .collect::<Result<Vec<_>, String>>()?;
        (manifests, engines.describe())
    };
    for (server, manifest) in servers.iter().zip(manifests) {
        let install = Install::load(&[manifest])?;
        runtime.block_on(install.apply(&server.api, run_id))?;
        runtime.block_on(super::install::wait_effective(
            server,
            Flavour::Psa,
            options.install_timeout,
        ))?;
    }
    Ok(Some(description))
}

/// A client configuration from a kubeconfig file and context, refusing protected contexts.
async fn kubeconfig(
    path: Option<&std::path::Path>,
    context: Option<&str>,
    options: &SessionOptions,
) -> Result<kube::Config, String> {
    let kubeconfig = match path {
        Some(p) => kube::config::Kubeconfig::read_from(p)
            .map_err(|e| format!("{}: {}", p.display(), super::api::error_chain(&e)))?,
        None => kube::config::Kubeconfig::read()
            .map_err(|e| format!("kubeconfig: {}", super::api::error_chain(&e)))?,
    };
    let name = context
        .map(str::to_owned)
        .or_else(|| kubeconfig.current_context.clone())
        .ok_or_else(|| "the kubeconfig names no current context; pass --context".to_owned())?;
    protect(&name, &options.protect, options.force)?;
    let kube_options = kube::config::KubeConfigOptions {
        context: Some(name.clone()),
        ..Default::default()
    };
    kube::Config::from_custom_kubeconfig(kubeconfig, &kube_options)
        .await
        .map_err(|e| format!("context {name}: {}", super::api::error_chain(&e)))
}

/// A client configuration from a kubeconfig's text (a cluster the harness started).
pub async fn from_kubeconfig_text(text: &str) -> Result<kube::Config, String> {
    let kubeconfig = kube::config::Kubeconfig::from_yaml(text)
        .map_err(|e| format!("the started cluster's kubeconfig: {e}"))?;
    kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .map_err(|e| format!("the started cluster's kubeconfig: {e}"))
}

/// Refuse a context whose name matches a protected glob, unless forced.
pub fn protect(context: &str, globs: &[String], force: bool) -> Result<(), String> {
    for glob in globs {
        let pattern = glob::Pattern::new(glob).map_err(|e| format!("--protect {glob:?}: {e}"))?;
        if pattern.matches(context) && !force {
            return Err(format!(
                "refusing to run against context {context:?}: it matches --protect {glob:?} \
                 (pass --force if this cluster is meant for it)"
            ));
        }
    }
    Ok(())
}

/// What cleaning up left behind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanupReport {
    /// Namespaces still present (or not deleted because of `--keep`).
    pub namespaces_left: Vec<String>,
    pub errors: Vec<String>,
    pub kept: bool,
}

impl CleanupReport {
    pub fn is_clean(&self) -> bool {
        self.namespaces_left.is_empty() && self.errors.is_empty()
    }
}

/// One API server's client, the run's namespaces there, and how to delete them.
type ServerCleanup = (Arc<Api>, Arc<RunNamespaces>, DeletePolicy);

/// Everything a run must remove, and the one place that removes it (once).
pub struct Cleanup {
    runtime: Arc<tokio::runtime::Runtime>,
    keep: bool,
    done: tokio::sync::Mutex<Option<CleanupReport>>,
    servers: std::sync::Mutex<Vec<ServerCleanup>>,
    target: std::sync::Mutex<Option<Arc<ClusterTarget>>>,
    installed: std::sync::Mutex<Option<(Arc<Api>, Installed)>>,
    local: std::sync::Mutex<Option<LocalControlPlane>>,
    engines: std::sync::Mutex<Option<Engines>>,
    kind: std::sync::Mutex<Option<KindNode>>,
}

impl Cleanup {
    fn new(runtime: Arc<tokio::runtime::Runtime>, keep: bool) -> Self {
        Cleanup {
            runtime,
            keep,
            done: tokio::sync::Mutex::new(None),
            servers: std::sync::Mutex::new(Vec::new()),
            target: std::sync::Mutex::new(None),
            installed: std::sync::Mutex::new(None),
            local: std::sync::Mutex::new(None),
            engines: std::sync::Mutex::new(None),
            kind: std::sync::Mutex::new(None),
        }
    }

    fn add_server(&self, api: Arc<Api>, ns: Arc<RunNamespaces>, policy: DeletePolicy) {
        if let Ok(mut s) = self.servers.lock() {
            s.push((api, ns, policy));
        }
    }

    fn set_target(&self, target: Arc<ClusterTarget>) {
        if let Ok(mut t) = self.target.lock() {
            *t = Some(target);
        }
    }

    fn set_installed(&self, api: Arc<Api>, installed: Installed) {
        if let Ok(mut i) = self.installed.lock() {
            *i = Some((api, installed));
        }
    }

    fn set_local(&self, plane: LocalControlPlane) {
        if let Ok(mut l) = self.local.lock() {
            *l = Some(plane);
        }
    }

    fn set_engines(&self, engines: Engines) {
        if let Ok(mut e) = self.engines.lock() {
            *e = Some(engines);
        }
    }

    fn set_kind(&self, node: KindNode) {
        if let Ok(mut k) = self.kind.lock() {
            *k = Some(node);
        }
    }

    /// Clean up, blocking (from any thread outside the runtime).
    pub fn run(&self) -> CleanupReport {
        self.runtime.block_on(self.run_async())
    }

    /// Clean up: the first call does the work, later ones wait for it and get its report.
    pub async fn run_async(&self) -> CleanupReport {
        let mut done = self.done.lock().await;
        if let Some(report) = done.as_ref() {
            return report.clone();
        }
        let report = self.clean().await;
        *done = Some(report.clone());
        report
    }

    async fn clean(&self) -> CleanupReport {
        let mut report = CleanupReport {
            kept: self.keep,
            ..CleanupReport::default()
        };
        let owned_cluster = self.local.lock().is_ok_and(|l| l.is_some())
            || self.kind.lock().is_ok_and(|k| k.is_some());
        // A cluster the harness started goes away whole; --keep keeps only what lives
        // in a cluster that outlives the run.
        if !self.keep || owned_cluster {
            self.remove_written(&mut report).await;
        } else {
            report.namespaces_left = self.all_namespaces();
        }
        // The engines outlive the namespaces' removal (they judge namespace updates) and
        // stop before their API servers.
        let engines = self.engines.lock().ok().and_then(|mut e| e.take());
        if let Some(mut engines) = engines {
            engines.stop();
        }
        let plane = self.local.lock().ok().and_then(|mut l| l.take());
        if let Some(mut plane) = plane {
            plane.stop();
        }
        let node = self.kind.lock().ok().and_then(|mut k| k.take());
        if let Some(node) = node
            && let Err(e) = node.remove().await
        {
            report.errors.push(e);
        }
        report
    }

    fn all_namespaces(&self) -> Vec<String> {
        self.servers
            .lock()
            .map(|s| s.iter().flat_map(|(_, ns, _)| ns.created()).collect())
            .unwrap_or_default()
    }

    async fn remove_written(&self, report: &mut CleanupReport) {
        let installed = self.installed.lock().ok().and_then(|mut i| i.take());
        if let Some((api, installed)) = installed
            && let Err(e) = installed.remove(&api).await
        {
            report.errors.push(e);
        }
        let target = self.target.lock().ok().and_then(|t| t.clone());
        let servers = self.servers.lock().map(|s| s.clone()).unwrap_or_default();
        if let (Some(target), Some((api, _, _))) = (target, servers.first()) {
            for class in target.created_runtime_classes_async().await {
                let path = format!("/apis/node.k8s.io/v1/runtimeclasses/{class}");
                if let Err(e) = api.send(http::Method::DELETE, &path, None, &[]).await {
                    report.errors.push(e.to_string());
                }
            }
        }
        for (api, ns, policy) in servers {
            ns.close(Duration::from_secs(15)).await;
            // What the run recorded, and what the server has under the run's label (a
            // creation whose answer was lost is still found).
            let mut names = ns.created();
            if let Ok(labelled) = namespaces::labelled_namespaces(&api, Some(ns.run_id())).await {
                names.extend(labelled);
            }
            names.sort();
            names.dedup();
            match namespaces::delete_namespaces(&api, &names, policy).await {
                Ok(left) => report.namespaces_left.extend(left),
                Err(e) => {
                    report.namespaces_left.extend(names);
                    report.errors.push(e.to_string());
                }
            }
        }
    }

    /// On SIGINT or SIGTERM: clean up, say so, and exit (130 or 143).
    fn watch_signals(self: &Arc<Self>) {
        let cleanup = Arc::clone(self);
        self.runtime.spawn(async move {
            let code = wait_for_signal().await;
            eprintln!("pss-harness: interrupted; removing what the run created");
            let report = cleanup.run_async().await;
            if !report.is_clean() {
                eprintln!("pss-harness: cleanup incomplete: {report:?}");
            }
            // A kind node still starting is not the session's yet.
            for error in super::kind::remove_nodes_still_starting().await {
                eprintln!("pss-harness: {error}");
            }
            std::process::exit(code);
        });
    }
}

#[cfg(unix)]
async fn wait_for_signal() -> i32 {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => 130,
        _ = term.recv() => 143,
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> i32 {
    let _ = tokio::signal::ctrl_c().await;
    130
}

/// `pss-harness clean`: delete the namespaces (and RuntimeClasses, webhook
/// configurations) earlier runs left, by label; the names removed.
pub async fn clean_labelled(
    api: &Api,
    run: Option<&str>,
    grace: Duration,
) -> Result<Vec<String>, String> {
    let names = namespaces::labelled_namespaces(api, run)
        .await
        .map_err(|e| e.to_string())?;
    let left = namespaces::delete_namespaces(
        api,
        &names,
        DeletePolicy {
            grace,
            timeout: grace + Duration::from_secs(60),
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    if !left.is_empty() {
        return Err(format!("still terminating: {}", left.join(", ")));
    }
    let mut removed = names;
    for collection in [
        "/apis/node.k8s.io/v1/runtimeclasses",
        "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
    ] {
        let selector = match run {
            Some(id) => format!("{}={id}", namespaces::RUN_LABEL),
            None => namespaces::RUN_LABEL.to_owned(),
        };
        let path = format!(
            "{collection}?labelSelector={}",
            namespaces::encode(&selector)
        );
        let list: Value = api.get_json(&path).await.map_err(|e| e.to_string())?;
        for name in namespaces::names_of(&list) {
            api.send(
                http::Method::DELETE,
                &format!("{collection}/{name}"),
                None,
                &[],
            )
            .await
            .map_err(|e| e.to_string())?;
            removed.push(name);
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protected_contexts_are_refused_unless_forced() {
        let globs = vec!["*prod*".to_owned()];
        let err = protect("gke-prod-eu", &globs, false).unwrap_err();
        assert!(err.contains("matches --protect \"*prod*\""), "{err}");
        assert!(protect("gke-prod-eu", &globs, true).is_ok());
        assert!(protect("kind-dev", &globs, false).is_ok());
        assert!(protect("x", &["[".to_owned()], false).is_err());
    }

    #[test]
    fn run_ids_are_six_hex_digits() {
        let id = run_id();
        assert_eq!(id.len(), 6);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
