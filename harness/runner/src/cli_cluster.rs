//! The command line's cluster parts: `run --target cluster` (how to get the cluster, what
//! to install, safety and pacing), `clean` (what earlier runs left) and `control-plane`
//! (a local control plane for your own tests).

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use crate::cluster::api::{Api, Pacing};
use crate::cluster::engine::EngineSpec;
use crate::cluster::kind::KindOptions;
use crate::cluster::local::{LocalControlPlane, LocalOptions};
use crate::cluster::session::{self, CaseConfig, ClusterSource, Session, SessionOptions};
use crate::error::Error;
use crate::manifest;
use crate::profile::Profile;
use crate::run::Item;
use crate::serve::{Engine, Server, Tls};
use crate::target::webhook::Flavour;

/// How `--target cluster` gets its cluster, and what it may do there.
#[derive(Debug, Clone, Args)]
pub struct ClusterArgs {
    /// With --target cluster: kubeconfig (any reachable cluster), kind (a kind node the
    /// harness starts through testcontainers; needs Docker), local (etcd and
    /// kube-apiserver on loopback, from KUBEBUILDER_ASSETS or --control-plane-bin).
    #[arg(long, value_enum, default_value_t = ClusterKind::Kubeconfig)]
    pub cluster: ClusterKind,
    /// The kubeconfig file (default: KUBECONFIG, else ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: its current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// --cluster kind: the node image, which pins the Kubernetes version.
    #[arg(long, value_name = "IMAGE", default_value = KindOptions::DEFAULT_IMAGE)]
    pub kind_image: String,
    /// --cluster local: the folder with etcd and kube-apiserver (default: KUBEBUILDER_ASSETS).
    #[arg(long, value_name = "DIR")]
    pub control_plane_bin: Option<PathBuf>,
    /// Manifests to apply before the run (removed after it unless --keep); the run waits
    /// until a privileged probe pod is refused.
    #[arg(long = "install", value_name = "FILE", num_args = 1..)]
    pub install: Vec<PathBuf>,
    /// Seconds to wait for --install to take effect.
    #[arg(long, value_name = "SECS", default_value_t = 180)]
    pub install_timeout: u64,
    /// Register `serve` (this profile's in-process engine) as a validating webhook in the
    /// local control plane (--cluster local), so the API server composes the texts around
    /// it.
    #[arg(long)]
    pub serve_webhook: bool,
    /// Keep the run's namespaces and installed manifests (a cluster the harness started
    /// is removed anyway).
    #[arg(long)]
    pub keep: bool,
    /// Refuse kubeconfig contexts whose name matches this glob (repeatable).
    #[arg(long, value_name = "GLOB", default_value = "*prod*")]
    pub protect: Vec<String>,
    /// Run even against a protected context.
    #[arg(long)]
    pub force: bool,
    /// Requests per second to the API server (default: 100; unlimited for a local
    /// control plane).
    #[arg(long)]
    pub qps: Option<f64>,
    /// Retries of a transient failure (429, 5xx, a reset connection), with backoff.
    #[arg(long, default_value_t = 4)]
    pub retries: u32,
    /// Seconds the cluster's namespace controller gets to delete the run's namespaces
    /// before the harness empties and finalizes them itself (default: 30; 0 for a local
    /// control plane, which has no controller manager; use 0 for envtest-like clusters).
    #[arg(long, value_name = "SECS")]
    pub namespace_grace: Option<u64>,
    /// --cluster local: run the API server's built-in PodSecurity plugin (off when a PSA
    /// webhook is the engine under test: the plugin runs first and would answer).
    #[arg(long, value_enum, default_value_t = BuiltinPsa::On)]
    pub builtin_psa: BuiltinPsa,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// An engine process the harness starts next to a local control plane.
#[derive(Debug, Clone, Args)]
pub struct EngineArgs {
    /// --cluster local: start this admission webhook per API server and register it (run
    /// by `sh -c`; placeholders {kubeconfig} {psa-config} {cert} {key} {ca} {port} {host}
    /// {dir}), e.g. the upstream PSA webhook: `pod-security-webhook --kubeconfig
    /// {kubeconfig} --config {psa-config} --tls-cert-file {cert} --tls-private-key-file
    /// {key} --bind-address {host} --secure-port {port}`.
    #[arg(long, value_name = "COMMAND")]
    pub engine_cmd: Option<String>,
    /// The engine's webhook name (the API server names it in denials).
    #[arg(long, value_name = "NAME", default_value = crate::cluster::engine::UPSTREAM_PSA_WEBHOOK)]
    pub engine_webhook_name: String,
    /// The path the engine validates at.
    #[arg(long, value_name = "PATH", default_value = "/")]
    pub engine_path: String,
    /// A path answering 200 once the engine is ready.
    #[arg(long, value_name = "PATH", default_value = "/readyz")]
    pub engine_ready_path: String,
}

impl EngineArgs {
    /// The engine to start, if any.
    pub fn spec(&self) -> Option<EngineSpec> {
        self.engine_cmd.as_ref().map(|command| EngineSpec {
            webhook_name: self.engine_webhook_name.clone(),
            path: self.engine_path.clone(),
            ready_path: self.engine_ready_path.clone(),
            ..EngineSpec::new(command.clone())
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BuiltinPsa {
    On,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClusterKind {
    Kubeconfig,
    Kind,
    Local,
}

/// A live cluster session for the run, and the `serve` webhook registered in it.
pub struct ClusterRun {
    pub session: Session,
    pub webhook: Option<Server>,
}

impl ClusterRun {
    /// End the run: clean up, then stop the webhook; an error when something was left.
    pub fn finish(self) -> Result<(), String> {
        let run_id = self.session.run_id.clone();
        let report = self.session.finish();
        if let Some(webhook) = self.webhook {
            webhook.shutdown();
        }
        match report.is_clean() {
            true => Ok(()),
            false if report.kept => {
                eprintln!(
                    "kept (--keep): namespaces {}; `pss-harness clean --run {run_id}` removes them",
                    report.namespaces_left.join(", ")
                );
                Ok(())
            }
            false => Err(format!(
                "cleanup incomplete: namespaces left {:?}, errors {:?} (pss-harness clean \
                 removes them)",
                report.namespaces_left, report.errors
            )),
        }
    }
}

/// Start the session `--target cluster` asks for, for one profile and the selected items.
pub fn start(
    args: &ClusterArgs,
    profile: &Profile,
    items: &[Item],
    policy_files: &[PathBuf],
) -> Result<ClusterRun, Error> {
    let flavour = Flavour::of(profile);
    let source = match args.cluster {
        ClusterKind::Kubeconfig => ClusterSource::Kubeconfig {
            path: args.kubeconfig.clone(),
            context: args.context.clone(),
        },
        ClusterKind::Kind => ClusterSource::Kind(KindOptions {
            image: args.kind_image.clone(),
            startup_timeout: Duration::from_secs(300),
        }),
        ClusterKind::Local => ClusterSource::Local {
            bin_dir: args.control_plane_bin.clone(),
        },
    };
    if args.serve_webhook && args.cluster != ClusterKind::Local {
        return Err(Error::Usage(serve_webhook_refusal(args.cluster).into()));
    }
    let engine = args.engine.spec();
    if engine.is_some() && args.cluster != ClusterKind::Local {
        return Err(Error::Usage(
            "--engine-cmd starts the engine next to a local control plane: add --cluster local"
                .into(),
        ));
    }
    let builtin_psa = args.builtin_psa == BuiltinPsa::On;
    if engine.is_some() && builtin_psa && flavour == Flavour::Psa {
        return Err(Error::Usage(
            "the built-in PodSecurity plugin answers before any webhook: add --builtin-psa off \
             so the engine judges"
                .into(),
        ));
    }
    let case_configs = match (args.cluster, profile) {
        (ClusterKind::Local, Profile::Psa) => case_configs(items)?,
        _ => Vec::new(),
    };
    let pacing = Pacing {
        qps: args.qps.unwrap_or(match args.cluster {
            ClusterKind::Local => 0.0,
            _ => 100.0,
        }),
        retries: args.retries,
        ..Pacing::default()
    };
    let (webhook, install) = match args.serve_webhook {
        true => {
            let (server, manifest) = serve_webhook(profile, policy_files)?;
            (Some(server), vec![manifest])
        }
        false => (None, Vec::new()),
    };
    let options = SessionOptions {
        source,
        flavour,
        case_configs,
        pacing,
        protect: args.protect.clone(),
        force: args.force,
        keep: args.keep,
        install: args.install.iter().cloned().chain(install).collect(),
        install_timeout: Duration::from_secs(args.install_timeout),
        namespace_grace: args.namespace_grace.map(Duration::from_secs),
        builtin_psa,
        engine,
    };
    let session = Session::start(&options).map_err(Error::Usage)?;
    Ok(ClusterRun { session, webhook })
}

/// Why `--serve-webhook` cannot run against this cluster: the webhook listens on the
/// harness's loopback, which only a local control plane's API server shares.
fn serve_webhook_refusal(cluster: ClusterKind) -> &'static str {
    match cluster {
        ClusterKind::Kind => {
            "--serve-webhook needs --cluster local: kind's API server runs inside a container \
             and cannot reach the webhook on the harness's loopback"
        }
        _ => {
            "--serve-webhook needs a cluster the harness starts (--cluster local): the API \
             server must reach the harness on loopback"
        }
    }
}

/// The distinct PSA configurations of the selected cases, as models and documents.
fn case_configs(items: &[Item]) -> Result<Vec<CaseConfig>, Error> {
    let mut out: Vec<CaseConfig> = Vec::new();
    for item in items {
        let case = match item {
            Item::Scenario(s) => &s.case,
            Item::Golden { case, .. } => case,
        };
        let Some(file) = &case.admission_config else {
            continue;
        };
        if out.iter().any(|c| c.config == file.config) {
            continue;
        }
        let (_, node) = manifest::single_document(&file.path)?;
        out.push(CaseConfig {
            config: file.config.clone(),
            document: node.to_json(),
        });
    }
    Ok(out)
}

/// Start `serve` for the profile on loopback and write the ValidatingWebhookConfiguration
/// that registers it (Kyverno's two webhooks, or one PSA webhook) with its CA; the
/// server and the manifest's path (in the system temp folder).
fn serve_webhook(profile: &Profile, policy_files: &[PathBuf]) -> Result<(Server, PathBuf), Error> {
    let engine = Engine::for_profile(profile, policy_files, None)?;
    let listen = "127.0.0.1:0"
        .parse()
        .map_err(|_| Error::Usage("bad address".into()))?;
    let server = Server::start(engine, listen, &Tls::SelfSigned).map_err(Error::Usage)?;
    let ca = server.ca_pem().unwrap_or_default();
    let manifest = webhook_configuration(profile, &format!("https://{}", server.addr()), ca);
    let path = std::env::temp_dir().join(format!(
        "pss-harness-webhook-{}-{}.json",
        std::process::id(),
        server.addr().port()
    ));
    std::fs::write(&path, manifest.to_string()).map_err(|e| Error::io(&path, e))?;
    Ok((server, path))
}

/// The ValidatingWebhookConfiguration for `serve` at `base` (its CA in `caBundle`): for
/// Kyverno its two webhooks as Kyverno names them (`-fail` with failurePolicy Fail at
/// `/validate/fail`, `-ignore` at `/validate/ignore`), for PSA one webhook.
pub fn webhook_configuration(profile: &Profile, base: &str, ca_pem: &str) -> Value {
    use base64::Engine as _;
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    let webhook = |name: &str, path: &str, policy: &str| {
        json!({
            "name": name,
            "clientConfig": {"url": format!("{base}{path}"), "caBundle": ca},
            "rules": [{
                "apiGroups": ["", "apps", "batch"],
                "apiVersions": ["v1"],
                "operations": ["CREATE", "UPDATE"],
                "resources": ["pods", "pods/ephemeralcontainers", "replicationcontrollers",
                              "podtemplates", "deployments", "replicasets", "statefulsets",
                              "daemonsets", "jobs", "cronjobs"],
                "scope": "Namespaced",
            }],
            "failurePolicy": policy,
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "timeoutSeconds": 10,
        })
    };
    let webhooks = match profile {
        Profile::Kyverno { .. } => vec![
            webhook(kyverno::blocked::WEBHOOK_FAIL, "/validate/fail", "Fail"),
            webhook(
                kyverno::blocked::WEBHOOK_IGNORE,
                "/validate/ignore",
                "Ignore",
            ),
        ],
        Profile::Psa | Profile::File(_) => vec![webhook(
            "pod-security-webhook.pss-harness.io",
            "/validate",
            "Fail",
        )],
    };
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "pss-harness-serve"},
        "webhooks": webhooks,
    })
}

/// `clean`: what earlier runs left on a cluster.
#[derive(Debug, Args)]
pub struct CleanArgs {
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Only what this run id created (default: every run's).
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,
    #[arg(long, value_name = "GLOB", default_value = "*prod*")]
    pub protect: Vec<String>,
    #[arg(long)]
    pub force: bool,
    /// Seconds the namespace controller gets before the harness finalizes the namespaces
    /// itself (0 for a cluster without a controller manager).
    #[arg(long, value_name = "SECS", default_value_t = 20)]
    pub namespace_grace: u64,
}

/// `clean`: delete the namespaces, RuntimeClasses and webhook configurations labelled as
/// the harness's; prints what it removed.
pub fn cmd_clean(args: &CleanArgs) -> Result<u8, Error> {
    crate::target::webhook::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start a runtime: {e}")))?;
    let _entered = runtime.enter();
    let removed = runtime.block_on(async {
        let config = kube_config(args).await?;
        let api = Api::new(config, Pacing::default()).map_err(|e| e.to_string())?;
        session::clean_labelled(
            &api,
            args.run.as_deref(),
            Duration::from_secs(args.namespace_grace),
        )
        .await
    });
    let removed = removed.map_err(Error::Usage)?;
    let mut out = std::io::stdout();
    for name in &removed {
        let _ = writeln!(out, "removed {name}");
    }
    let _ = writeln!(out, "{} removed", removed.len());
    Ok(0)
}

async fn kube_config(args: &CleanArgs) -> Result<kube::Config, String> {
    let kubeconfig = match &args.kubeconfig {
        Some(p) => {
            kube::config::Kubeconfig::read_from(p).map_err(|e| format!("{}: {e}", p.display()))?
        }
        None => kube::config::Kubeconfig::read().map_err(|e| format!("kubeconfig: {e}"))?,
    };
    let context = args
        .context
        .clone()
        .or_else(|| kubeconfig.current_context.clone())
        .ok_or_else(|| "the kubeconfig names no current context; pass --context".to_owned())?;
    session::protect(&context, &args.protect, args.force)?;
    let options = kube::config::KubeConfigOptions {
        context: Some(context),
        ..Default::default()
    };
    kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| e.to_string())
}

/// `control-plane`: a local control plane until SIGINT/SIGTERM.
#[derive(Debug, Args)]
pub struct ControlPlaneArgs {
    /// The folder with etcd and kube-apiserver (default: KUBEBUILDER_ASSETS).
    #[arg(long, value_name = "DIR")]
    pub control_plane_bin: Option<PathBuf>,
    /// Write the admin kubeconfig here (default: print it).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig_out: Option<PathBuf>,
    /// A PodSecurityConfiguration or AdmissionConfiguration for the server's PSA.
    #[arg(long, value_name = "FILE")]
    pub admission_config: Option<PathBuf>,
    /// Run the built-in PodSecurity plugin (off: register your PSA webhook instead).
    #[arg(long, value_enum, default_value_t = BuiltinPsa::On)]
    pub builtin_psa: BuiltinPsa,
}

/// Start etcd and kube-apiserver, write the kubeconfig, print `ready`, and keep serving
/// until a signal; everything is stopped and removed then.
pub fn cmd_control_plane(args: &ControlPlaneArgs) -> Result<u8, Error> {
    let bin_dir = LocalOptions::bin_dir(args.control_plane_bin.as_deref()).map_err(Error::Usage)?;
    let config = match &args.admission_config {
        Some(path) => {
            crate::psa_config::load(path)?;
            Some(manifest::single_document(path)?.1.to_json())
        }
        None => None,
    };
    let plane = LocalControlPlane::start(&LocalOptions {
        bin_dir,
        configs: vec![config],
        start_timeout: Duration::from_secs(90),
        builtin_psa: args.builtin_psa == BuiltinPsa::On,
    })
    .map_err(Error::Usage)?;
    let plane = Arc::new(std::sync::Mutex::new(plane));
    let kubeconfig = plane
        .lock()
        .map(|p| p.servers[0].kubeconfig.clone())
        .unwrap_or_default();
    match &args.kubeconfig_out {
        Some(path) => crate::cluster::process::write_private(path, &kubeconfig)
            .map_err(|e| Error::io(path, e))?,
        None => print!("{kubeconfig}"),
    }
    let took = plane.lock().map(|p| p.started_in).unwrap_or_default();
    eprintln!("control plane ready in {:.2} s", took.as_secs_f64());
    let _ = std::io::stdout().flush();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Usage(format!("cannot start a runtime: {e}")))?;
    runtime.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        if let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            tokio::select! { _ = int.recv() => {}, _ = term.recv() => {} }
        }
    });
    if let Ok(mut p) = plane.lock() {
        p.stop();
    }
    eprintln!("control plane stopped");
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_webhook_is_refused_where_the_api_server_cannot_reach_loopback() {
        assert!(serve_webhook_refusal(ClusterKind::Kind).contains("inside a container"));
        assert!(serve_webhook_refusal(ClusterKind::Kubeconfig).starts_with("--serve-webhook"));
    }

    #[test]
    fn kyverno_is_registered_as_its_two_webhooks() {
        let profile: Profile = "kyverno@v1.19".parse().unwrap();
        let config = webhook_configuration(&profile, "https://127.0.0.1:1", "PEM");
        let hooks = config["webhooks"].as_array().unwrap();
        assert_eq!(hooks.len(), 2);
        assert_eq!(hooks[0]["name"], "validate.kyverno.svc-fail");
        assert_eq!(
            hooks[0]["clientConfig"]["url"],
            "https://127.0.0.1:1/validate/fail"
        );
        assert_eq!(hooks[1]["failurePolicy"], "Ignore");
        assert_eq!(
            hooks[0]["sideEffects"], "None",
            "dry runs reach only side-effect-free webhooks"
        );
        assert_eq!(hooks[0]["clientConfig"]["caBundle"], "UEVN");
    }
}
