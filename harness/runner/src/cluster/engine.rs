//! An engine the harness did not write, run next to a local control plane: a validating
//! admission webhook (the upstream PSA webhook, a vendor's) started as a process from a
//! command line, one per API server of the plane (each with that server's PSA
//! configuration), on loopback with a fresh certificate, and registered with its server by
//! a ValidatingWebhookConfiguration (`sideEffects: None`, so dry runs reach it).
//!
//! The command is run by `sh -c "exec <command>"` with these placeholders filled in:
//! `{kubeconfig}` (the server's admin kubeconfig), `{psa-config}` (a
//! PodSecurityConfiguration file), `{cert}`, `{key}` and `{ca}` (PEM files; the CA signed
//! the certificate, which is valid for 127.0.0.1 and localhost), `{port}`, `{host}`
//! (127.0.0.1) and `{dir}` (the engine's own folder, for anything else it writes). For the
//! upstream webhook:
//!
//! ```text
//! pod-security-webhook --kubeconfig {kubeconfig} --config {psa-config} \
//!   --tls-cert-file {cert} --tls-private-key-file {key} --bind-address {host} --secure-port {port}
//! ```
//!
//! Each process gets its own process group and `PR_SET_PDEATHSIG`, and [`Engines::stop`]
//! (also run on drop) ends the group: nothing outlives the run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use super::local::LocalControlPlane;
use super::process::{self, Reach, free_port, log_tail, write_private};

/// The upstream PSA webhook's name in its own manifests; audit annotations and the API
/// server's denial texts carry it.
pub const UPSTREAM_PSA_WEBHOOK: &str = "pod-security-webhook.kubernetes.io";

/// How to start and register the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineSpec {
    /// The command line, with placeholders (see the module documentation).
    pub command: String,
    /// The webhook's name in the ValidatingWebhookConfiguration (a DNS-like name with at
    /// least three segments); the API server names it in denials.
    pub webhook_name: String,
    /// The path the engine validates at.
    pub path: String,
    /// A path answering 200 once the engine is ready (the upstream webhook's `/readyz`
    /// waits for its namespace informer).
    pub ready_path: String,
    /// The webhook configuration's `timeoutSeconds` (1 to 30).
    pub timeout_seconds: u32,
    /// How long to wait for readiness.
    pub start_timeout: Duration,
}

impl EngineSpec {
    /// A spec for `command` with the upstream PSA webhook's name and paths.
    pub fn new(command: impl Into<String>) -> EngineSpec {
        EngineSpec {
            command: command.into(),
            webhook_name: UPSTREAM_PSA_WEBHOOK.to_owned(),
            path: "/".to_owned(),
            ready_path: "/readyz".to_owned(),
            timeout_seconds: 10,
            start_timeout: Duration::from_secs(60),
        }
    }
}

/// One running engine process.
pub struct EngineProcess {
    child: Child,
    /// `https://127.0.0.1:<port>`.
    pub base_url: String,
    /// The CA that signed its certificate (PEM).
    pub ca_pem: String,
    dir: PathBuf,
}

/// The engines of a run, one per API server, in server order.
pub struct Engines {
    pub spec: EngineSpec,
    pub processes: Vec<EngineProcess>,
}

impl Engines {
    /// Start one engine per server of `plane` and wait until each is ready; on error,
    /// what was started is stopped.
    pub fn start(spec: &EngineSpec, plane: &LocalControlPlane) -> Result<Engines, String> {
        validate(spec)?;
        let mut engines = Engines {
            spec: spec.clone(),
            processes: Vec::new(),
        };
        for (i, server) in plane.servers.iter().enumerate() {
            let dir = plane.dir().join(format!("engine-{i}"));
            let process = start_one(spec, &dir, &server.kubeconfig, server.config.as_ref())?;
            engines.processes.push(process);
        }
        for process in &mut engines.processes {
            process.wait_ready(spec)?;
        }
        Ok(engines)
    }

    /// The ValidatingWebhookConfiguration registering engine `index` with its server.
    pub fn webhook_configuration(&self, index: usize) -> Option<Value> {
        let process = self.processes.get(index)?;
        Some(webhook_configuration(
            &self.spec,
            &format!("{}{}", process.base_url, self.spec.path),
            &process.ca_pem,
        ))
    }

    /// Write engine `index`'s webhook configuration into its folder; the file.
    pub fn write_webhook_configuration(&self, index: usize) -> Result<PathBuf, String> {
        let (Some(process), Some(config)) =
            (self.processes.get(index), self.webhook_configuration(index))
        else {
            return Err(format!("no engine for API server {index}"));
        };
        let path = process.dir.join("webhook-configuration.json");
        std::fs::write(&path, config.to_string())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    }

    /// For reports: the webhook's name and where it listens.
    pub fn describe(&self) -> String {
        let urls: Vec<String> = self
            .processes
            .iter()
            .map(|p| format!("{}{}", p.base_url, self.spec.path))
            .collect();
        format!(
            "webhook {:?} at {}",
            self.spec.webhook_name,
            urls.join(", ")
        )
    }

    /// End every engine (idempotent).
    pub fn stop(&mut self) {
        for process in &mut self.processes {
            process::terminate(&mut process.child, Reach::Group);
        }
        self.processes.clear();
    }
}

impl Drop for Engines {
    fn drop(&mut self) {
        self.stop();
    }
}

fn validate(spec: &EngineSpec) -> Result<(), String> {
    if spec.command.trim().is_empty() {
        return Err("--engine-cmd: empty command".into());
    }
    if !(1..=30).contains(&spec.timeout_seconds) {
        return Err(format!(
            "the webhook timeout must be 1 to 30 seconds (the API server's limit), not {}",
            spec.timeout_seconds
        ));
    }
    if spec
        .webhook_name
        .split('.')
        .filter(|s| !s.is_empty())
        .count()
        < 3
    {
        return Err(format!(
            "--engine-webhook-name {:?}: the API server wants a fully qualified name with at \
             least three segments (e.g. {UPSTREAM_PSA_WEBHOOK})",
            spec.webhook_name
        ));
    }
    for path in [&spec.path, &spec.ready_path] {
        if !path.starts_with('/') {
            return Err(format!("engine path {path:?} must start with /"));
        }
    }
    Ok(())
}

/// The files an engine reads, and its port.
struct EngineFiles {
    kubeconfig: PathBuf,
    psa_config: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    ca: PathBuf,
    port: u16,
}

fn start_one(
    spec: &EngineSpec,
    dir: &Path,
    kubeconfig: &str,
    config: Option<&Value>,
) -> Result<EngineProcess, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tls = crate::serve::self_signed(&["127.0.0.1".into(), "localhost".into()])?;
    let write = |name: &str, text: &str| -> Result<PathBuf, String> {
        let path = dir.join(name);
        write_private(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    };
    let psa = pod_security_configuration(config);
    let files = EngineFiles {
        kubeconfig: write("kubeconfig", kubeconfig)?,
        psa_config: write("pod-security-configuration.json", &psa.to_string())?,
        cert: write("tls.crt", &tls.cert_pem)?,
        key: write("tls.key", &tls.key_pem)?,
        ca: write("ca.crt", &tls.ca_pem)?,
        port: free_port()?,
    };
    let command = fill(&spec.command, &files, dir)?;
    let log = dir.join("engine.log");
    let child = spawn(&command, &log)?;
    Ok(EngineProcess {
        child,
        base_url: format!("https://127.0.0.1:{}", files.port),
        ca_pem: tls.ca_pem,
        dir: dir.to_path_buf(),
    })
}

/// The command with its placeholders filled in; an unknown `{name}` is an error (a
/// shell's `${name}` is left alone).
fn fill(command: &str, files: &EngineFiles, dir: &Path) -> Result<String, String> {
    let show = |p: &Path| shell_quote(&p.display().to_string());
    let pairs = [
        ("{kubeconfig}", show(&files.kubeconfig)),
        ("{psa-config}", show(&files.psa_config)),
        ("{cert}", show(&files.cert)),
        ("{key}", show(&files.key)),
        ("{ca}", show(&files.ca)),
        ("{port}", files.port.to_string()),
        ("{host}", "127.0.0.1".to_owned()),
        ("{dir}", show(dir)),
    ];
    let mut out = command.to_owned();
    for (name, value) in &pairs {
        out = out.replace(name, value);
    }
    let unknown = regex::Regex::new(r"(^|[^$])(\{[a-z][a-z-]*\})")
        .ok()
        .and_then(|re| re.captures(&out).map(|c| c[2].to_owned()));
    match unknown {
        Some(name) => Err(format!(
            "--engine-cmd: unknown placeholder {name} (known: {})",
            pairs.map(|(n, _)| n).join(" ")
        )),
        None => Ok(out),
    }
}

/// `'text'` for sh, unless it needs no quotes.
fn shell_quote(text: &str) -> String {
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:=@".contains(c));
    match plain && !text.is_empty() {
        true => text.to_owned(),
        false => format!("'{}'", text.replace('\'', r"'\''")),
    }
}

/// The PodSecurityConfiguration a webhook reads (`--config`): the server's (unwrapped
/// from an AdmissionConfiguration), else upstream's defaults made explicit.
pub fn pod_security_configuration(config: Option<&Value>) -> Value {
    let default = || {
        json!({
            "apiVersion": "pod-security.admission.config.k8s.io/v1",
            "kind": "PodSecurityConfiguration",
            "defaults": {
                "enforce": "privileged", "enforce-version": "latest",
                "audit": "privileged", "audit-version": "latest",
                "warn": "privileged", "warn-version": "latest",
            },
            "exemptions": {"usernames": [], "namespaces": [], "runtimeClasses": []},
        })
    };
    let Some(config) = config else {
        return default();
    };
    if config["kind"] != "AdmissionConfiguration" {
        return config.clone();
    }
    config["plugins"]
        .as_array()
        .and_then(|plugins| plugins.iter().find(|p| p["name"] == "PodSecurity"))
        .map(|p| p["configuration"].clone())
        .filter(|c| c.is_object())
        .unwrap_or_else(default)
}

/// The ValidatingWebhookConfiguration for an engine at `url` (its CA in `caBundle`):
/// PSA's resources (the pods, their controllers and templates, namespaces), CREATE and
/// UPDATE, failing closed, side-effect free.
pub fn webhook_configuration(spec: &EngineSpec, url: &str, ca_pem: &str) -> Value {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "pss-harness-engine"},
        "webhooks": [{
            "name": spec.webhook_name,
            "clientConfig": {"url": url, "caBundle": ca},
            "rules": [{
                "apiGroups": ["", "apps", "batch"],
                "apiVersions": ["v1"],
                "operations": ["CREATE", "UPDATE"],
                "resources": ["pods", "pods/ephemeralcontainers", "namespaces",
                              "replicationcontrollers", "podtemplates", "deployments",
                              "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs"],
            }],
            "failurePolicy": "Fail",
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "timeoutSeconds": spec.timeout_seconds,
        }],
    })
}

impl EngineProcess {
    /// Poll the ready path until it answers 200; the engine's exit or the timeout is an
    /// error with the end of its log.
    fn wait_ready(&mut self, spec: &EngineSpec) -> Result<(), String> {
        crate::target::webhook::install_crypto_provider();
        let log = self.dir.join("engine.log");
        let url = format!("{}{}", self.base_url, spec.ready_path);
        let client = ready_client(&self.ca_pem)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a runtime: {e}"))?;
        let deadline = Instant::now() + spec.start_timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "the engine exited ({status}) before it was ready; its log ends:\n{}",
                    log_tail(&log)
                ));
            }
            let ready = runtime.block_on(async {
                client
                    .get(&url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            });
            if ready {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "the engine at {url} was not ready in {} s; its log ends:\n{}",
                    spec.start_timeout.as_secs(),
                    log_tail(&log)
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn ready_client(ca_pem: &str) -> Result<reqwest::Client, String> {
    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes())
        .map_err(|e| format!("the engine's CA: {e}"))?;
    reqwest::Client::builder()
        .tls_certs_only([ca])
        .no_proxy()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| format!("cannot build an HTTPS client: {e}"))
}

/// `sh -c "exec <command>"` in its own process group (the engine may start helpers).
fn spawn(command: &str, log: &Path) -> Result<Child, String> {
    let mut sh = Command::new("sh");
    sh.arg("-c").arg(format!("exec {command}"));
    process::spawn(sh, log, Reach::Group, &format!("the engine ({command})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> EngineFiles {
        EngineFiles {
            kubeconfig: "/r/kube config".into(),
            psa_config: "/r/psa.json".into(),
            cert: "/r/tls.crt".into(),
            key: "/r/tls.key".into(),
            ca: "/r/ca.crt".into(),
            port: 9443,
        }
    }

    #[test]
    fn placeholders_are_filled_and_quoted() {
        let cmd = "w --kubeconfig {kubeconfig} --config {psa-config} --tls-cert-file {cert} \
                   --tls-private-key-file {key} --bind-address {host} --secure-port {port} \
                   --ca {ca} --dir {dir} --home ${HOME}";
        let filled = fill(cmd, &files(), Path::new("/r")).unwrap();
        assert_eq!(
            filled,
            "w --kubeconfig '/r/kube config' --config /r/psa.json --tls-cert-file /r/tls.crt \
             --tls-private-key-file /r/tls.key --bind-address 127.0.0.1 --secure-port 9443 \
             --ca /r/ca.crt --dir /r --home ${HOME}"
        );
        let err = fill("w --cfg {config}", &files(), Path::new("/r")).unwrap_err();
        assert!(err.contains("unknown placeholder {config}"), "{err}");
    }

    #[test]
    fn admission_configurations_are_unwrapped_for_the_webhook() {
        let psa = json!({"apiVersion": "pod-security.admission.config.k8s.io/v1",
                         "kind": "PodSecurityConfiguration", "defaults": {"enforce": "baseline"}});
        let wrapped = json!({"apiVersion": "apiserver.config.k8s.io/v1",
            "kind": "AdmissionConfiguration",
            "plugins": [{"name": "PodSecurity", "configuration": psa}]});
        assert_eq!(pod_security_configuration(Some(&wrapped)), psa);
        assert_eq!(pod_security_configuration(Some(&psa)), psa);
        let default = pod_security_configuration(None);
        assert_eq!(default["defaults"]["enforce"], "privileged");
        assert_eq!(default["kind"], "PodSecurityConfiguration");
    }

    #[test]
    fn the_registration_reaches_dry_runs_and_namespaces() {
        let spec = EngineSpec::new("w");
        let config = webhook_configuration(&spec, "https://127.0.0.1:1/", "PEM");
        let hook = &config["webhooks"][0];
        assert_eq!(hook["name"], UPSTREAM_PSA_WEBHOOK);
        assert_eq!(hook["sideEffects"], "None");
        assert_eq!(hook["clientConfig"]["caBundle"], "UEVN");
        let resources = hook["rules"][0]["resources"].as_array().unwrap();
        for r in [
            "namespaces",
            "pods/ephemeralcontainers",
            "cronjobs",
            "podtemplates",
        ] {
            assert!(resources.contains(&json!(r)), "{r}");
        }
    }

    #[test]
    fn specs_are_checked_before_anything_starts() {
        let mut spec = EngineSpec::new("w");
        assert!(validate(&spec).is_ok());
        spec.timeout_seconds = 31;
        assert!(validate(&spec).unwrap_err().contains("1 to 30 seconds"));
        spec.timeout_seconds = 10;
        spec.webhook_name = "psa.local".into();
        assert!(validate(&spec).unwrap_err().contains("three segments"));
        spec.webhook_name = UPSTREAM_PSA_WEBHOOK.into();
        spec.command = " ".into();
        assert!(validate(&spec).is_err());
    }
}
