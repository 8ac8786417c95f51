//! A local control plane, envtest-style: etcd and kube-apiserver on loopback, no nodes,
//! from the binaries in `KUBEBUILDER_ASSETS` (controller-runtime's envtest convention) or
//! a given folder (`scripts/build-control-plane.sh` builds both from source).
//!
//! Per run: a fresh folder with certificates, a service-account key and an admin
//! credential; one etcd; one kube-apiserver per PSA configuration the cases need (the
//! built-in defaults, and each case's `admission_config`, written as the server's
//! `--admission-control-config-file`), all sharing the etcd under their own key prefix.
//! [`LocalControlPlane::stop`] (also run on drop) kills them and removes the folder.
//!
//! The processes are started from the calling thread with `PR_SET_PDEATHSIG`, so they die
//! with the harness even when it is killed outright; the caller keeps that thread alive
//! for the run (the CLI's main thread does).

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use super::pki::Pki;
use super::process::{self, Reach, free_port, log_tail, terminate, write_private};

/// What to start.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// The folder holding `etcd` and `kube-apiserver`.
    pub bin_dir: PathBuf,
    /// The PSA configurations to start a server for; `None` is upstream's defaults.
    pub configs: Vec<Option<Value>>,
    /// Give up on readiness after this long.
    pub start_timeout: Duration,
    /// Run the built-in PodSecurity admission plugin. Off when a PSA webhook is the engine
    /// under test: the plugin runs before webhooks and would answer first.
    pub builtin_psa: bool,
}

impl LocalOptions {
    /// The binary folder: `--control-plane-bin`, else `KUBEBUILDER_ASSETS`.
    pub fn bin_dir(given: Option<&Path>) -> Result<PathBuf, String> {
        let dir = match given {
            Some(d) => d.to_path_buf(),
            None => std::env::var_os("KUBEBUILDER_ASSETS")
                .map(PathBuf::from)
                .ok_or_else(|| {
                    "--cluster local needs the etcd and kube-apiserver binaries: set \
                     KUBEBUILDER_ASSETS or pass --control-plane-bin DIR (scripts/\
                     build-control-plane.sh builds them and prints the folder)"
                        .to_owned()
                })?,
        };
        for bin in ["etcd", "kube-apiserver"] {
            let path = dir.join(bin);
            if !path.is_file() {
                return Err(format!("{}: no such file", path.display()));
            }
        }
        Ok(dir)
    }
}

/// One kube-apiserver of the control plane.
pub struct LocalServer {
    /// The PSA configuration it runs with (`None`: the built-in defaults).
    pub config: Option<Value>,
    pub url: String,
    /// A kubeconfig (admin credential embedded) for this server.
    pub kubeconfig: String,
    child: Child,
}

/// A running control plane.
pub struct LocalControlPlane {
    dir: PathBuf,
    etcd: Option<Child>,
    pub servers: Vec<LocalServer>,
    /// How long it took to be ready.
    pub started_in: Duration,
}

impl LocalControlPlane {
    /// Start etcd and the servers and wait until each answers `/readyz`.
    pub fn start(options: &LocalOptions) -> Result<LocalControlPlane, String> {
        let started = Instant::now();
        let dir = run_dir()?;
        let mut plane = LocalControlPlane {
            dir: dir.clone(),
            etcd: None,
            servers: Vec::new(),
            started_in: Duration::ZERO,
        };
        let pki = Pki::generate(&["127.0.0.1".into(), "localhost".into()])?;
        let files = Files::write(&dir, &pki)?;
        let etcd_port = free_port()?;
        let peer_port = free_port()?;
        plane.etcd = Some(start(
            &options.bin_dir.join("etcd"),
            &etcd_args(&dir, etcd_port, peer_port),
            &dir.join("etcd.log"),
        )?);
        wait_for_etcd(&mut plane, etcd_port, options.start_timeout)?;
        for (i, config) in options.configs.iter().enumerate() {
            let port = free_port()?;
            let config_file = match config {
                Some(c) => Some(write_admission_config(&dir, i, c)?),
                None => None,
            };
            let mut args = apiserver_args(&files, etcd_port, port, i, config_file.as_deref());
            if !options.builtin_psa {
                args.push("--disable-admission-plugins=PodSecurity".into());
            }
            let log = dir.join(format!("kube-apiserver-{i}.log"));
            let child = start(&options.bin_dir.join("kube-apiserver"), &args, &log)?;
            let url = format!("https://127.0.0.1:{port}");
            plane.servers.push(LocalServer {
                config: config.clone(),
                kubeconfig: kubeconfig(&url, &pki),
                url,
                child,
            });
        }
        let deadline = started + options.start_timeout;
        for i in 0..plane.servers.len() {
            plane.wait_ready(i, &pki, deadline)?;
        }
        plane.started_in = started.elapsed();
        Ok(plane)
    }

    /// The folder of the run (logs, certificates).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn wait_ready(&mut self, i: usize, pki: &Pki, deadline: Instant) -> Result<(), String> {
        let addr: SocketAddr = self.servers[i]
            .url
            .trim_start_matches("https://")
            .parse()
            .map_err(|e| format!("bad server address: {e}"))?;
        let log = self.dir.join(format!("kube-apiserver-{i}.log"));
        loop {
            if let Ok(Some(status)) = self.servers[i].child.try_wait() {
                return Err(format!(
                    "kube-apiserver exited ({status}) before it was ready; its log ends:\n{}",
                    log_tail(&log)
                ));
            }
            if readyz(addr, pki) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "kube-apiserver at {addr} was not ready in time; its log ends:\n{}",
                    log_tail(&log)
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kill every process and remove the folder (idempotent).
    pub fn stop(&mut self) {
        for server in &mut self.servers {
            terminate(&mut server.child, Reach::Process);
        }
        if let Some(mut etcd) = self.etcd.take() {
            terminate(&mut etcd, Reach::Process);
        }
        self.servers.clear();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for LocalControlPlane {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The run's files on disk.
struct Files {
    ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    sa_key: PathBuf,
    sa_pub: PathBuf,
}

impl Files {
    fn write(dir: &Path, pki: &Pki) -> Result<Files, String> {
        let write = |name: &str, text: &str| -> Result<PathBuf, String> {
            let path = dir.join(name);
            write_private(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(path)
        };
        Ok(Files {
            ca: write("ca.crt", &pki.ca.cert)?,
            server_cert: write("server.crt", &pki.server.cert)?,
            server_key: write("server.key", &pki.server.key)?,
            sa_key: write("sa.key", &pki.service_account_key)?,
            sa_pub: write("sa.pub", &pki.service_account_pub)?,
        })
    }
}

fn run_dir() -> Result<PathBuf, String> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir =
        std::env::temp_dir().join(format!("pss-harness-cp-{}-{nanos:08x}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// A free loopback port (bound and released; the OS does not hand it out again at once).
fn etcd_args(dir: &Path, port: u16, peer: u16) -> Vec<String> {
    let client = format!("http://127.0.0.1:{port}");
    vec![
        format!("--data-dir={}", dir.join("etcd").display()),
        format!("--listen-client-urls={client}"),
        format!("--advertise-client-urls={client}"),
        format!("--listen-peer-urls=http://127.0.0.1:{peer}"),
        format!("--initial-advertise-peer-urls=http://127.0.0.1:{peer}"),
        format!("--initial-cluster=default=http://127.0.0.1:{peer}"),
        // A throwaway store: durability costs time and buys nothing here.
        "--unsafe-no-fsync".into(),
        "--log-level=warn".into(),
    ]
}

fn apiserver_args(
    files: &Files,
    etcd_port: u16,
    port: u16,
    index: usize,
    admission_config: Option<&Path>,
) -> Vec<String> {
    let path = |p: &Path| p.display().to_string();
    let mut args = vec![
        format!("--etcd-servers=http://127.0.0.1:{etcd_port}"),
        format!("--etcd-prefix=/registry-{index}"),
        format!("--secure-port={port}"),
        "--bind-address=127.0.0.1".into(),
        "--advertise-address=127.0.0.1".into(),
        // No kubernetes Service endpoints to keep for a loopback address.
        "--endpoint-reconciler-type=none".into(),
        format!("--tls-cert-file={}", path(&files.server_cert)),
        format!("--tls-private-key-file={}", path(&files.server_key)),
        format!("--client-ca-file={}", path(&files.ca)),
        format!("--service-account-key-file={}", path(&files.sa_pub)),
        format!("--service-account-signing-key-file={}", path(&files.sa_key)),
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
        "--service-cluster-ip-range=10.0.0.0/24".into(),
        // Privileged containers are what half the cases are about; without this the
        // server's validation refuses them before PSA sees them.
        "--allow-privileged=true".into(),
        "--authorization-mode=AlwaysAllow".into(),
        format!("--cert-dir={}", path(&files.ca.with_file_name("certs"))),
    ];
    if let Some(file) = admission_config {
        args.push(format!("--admission-control-config-file={}", path(file)));
    }
    args
}

/// kube-apiserver reads an `AdmissionConfiguration`; a bare `PodSecurityConfiguration`
/// is wrapped in one.
pub fn admission_configuration(config: &Value) -> Value {
    if config["kind"] == "AdmissionConfiguration" {
        return config.clone();
    }
    json!({
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "AdmissionConfiguration",
        "plugins": [{"name": "PodSecurity", "configuration": config}],
    })
}

fn write_admission_config(dir: &Path, index: usize, config: &Value) -> Result<PathBuf, String> {
    let path = dir.join(format!("admission-config-{index}.json"));
    let text = serde_json::to_string_pretty(&admission_configuration(config))
        .map_err(|e| format!("cannot write the admission configuration: {e}"))?;
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// Start a control-plane binary with its output in `log`.
fn start(bin: &Path, args: &[String], log: &Path) -> Result<Child, String> {
    let mut command = Command::new(bin);
    command.args(args);
    process::spawn(command, log, Reach::Process, &bin.display().to_string())
}

fn wait_for_etcd(
    plane: &mut LocalControlPlane,
    port: u16,
    timeout: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let log = plane.dir.join("etcd.log");
    loop {
        if let Some(etcd) = plane.etcd.as_mut()
            && let Ok(Some(status)) = etcd.try_wait()
        {
            return Err(format!(
                "etcd exited ({status}); its log ends:\n{}",
                log_tail(&log)
            ));
        }
        if http_get_ok(port, "/health") {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "etcd was not healthy in time; its log ends:\n{}",
                log_tail(&log)
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A plain HTTP GET on loopback answering 200 (etcd's health endpoint).
fn http_get_ok(port: u16, path: &str) -> bool {
    use std::io::Read as _;
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200")
}

/// `GET /readyz` over TLS with the admin credential answers `ok`.
fn readyz(addr: SocketAddr, pki: &Pki) -> bool {
    crate::target::webhook::install_crypto_provider();
    let Ok(identity) =
        reqwest::Identity::from_pem(format!("{}{}", pki.admin.cert, pki.admin.key).as_bytes())
    else {
        return false;
    };
    let Ok(ca) = reqwest::Certificate::from_pem(pki.ca.cert.as_bytes()) else {
        return false;
    };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return false;
    };
    runtime.block_on(async {
        let Ok(client) = reqwest::Client::builder()
            .tls_certs_only([ca])
            .identity(identity)
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()
        else {
            return false;
        };
        match client.get(format!("https://{addr}/readyz")).send().await {
            Ok(r) if r.status().is_success() => r.text().await.is_ok_and(|t| t.trim() == "ok"),
            _ => false,
        }
    })
}

/// The last lines of a log, for an error message.
/// A kubeconfig for `url` with the CA and the admin credential embedded.
pub fn kubeconfig(url: &str, pki: &Pki) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: pss-harness-local\n  cluster:\n    \
         server: {url}\n    certificate-authority-data: {}\nusers:\n- name: {user}\n  user:\n    \
         client-certificate-data: {}\n    client-key-data: {}\ncontexts:\n- name: \
         pss-harness-local\n  context:\n    cluster: pss-harness-local\n    user: {user}\n\
         current-context: pss-harness-local\n",
        b64(&pki.ca.cert),
        b64(&pki.admin.cert),
        b64(&pki.admin.key),
        user = super::pki::ADMIN_USER,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pod_security_configuration_is_wrapped() {
        let psc = json!({"apiVersion": "pod-security.admission.config.k8s.io/v1",
                         "kind": "PodSecurityConfiguration", "defaults": {"enforce": "baseline"}});
        let wrapped = admission_configuration(&psc);
        assert_eq!(wrapped["kind"], "AdmissionConfiguration");
        assert_eq!(wrapped["plugins"][0]["name"], "PodSecurity");
        assert_eq!(wrapped["plugins"][0]["configuration"], psc);
        assert_eq!(admission_configuration(&wrapped), wrapped);
    }

    #[test]
    fn the_kubeconfig_parses_and_names_the_server() {
        let pki = Pki::generate(&["127.0.0.1".into()]).unwrap();
        let text = kubeconfig("https://127.0.0.1:6443", &pki);
        let config = kube::config::Kubeconfig::from_yaml(&text).unwrap();
        let cluster = config.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(cluster.server.as_deref(), Some("https://127.0.0.1:6443"));
        assert_eq!(config.current_context.as_deref(), Some("pss-harness-local"));
    }

    #[test]
    fn missing_binaries_are_named() {
        let err = LocalOptions::bin_dir(Some(Path::new("/nonexistent"))).unwrap_err();
        assert_eq!(err, "/nonexistent/etcd: no such file");
    }

    #[test]
    fn every_server_gets_its_own_etcd_prefix_and_config() {
        let files = Files {
            ca: "/d/ca.crt".into(),
            server_cert: "/d/s.crt".into(),
            server_key: "/d/s.key".into(),
            sa_key: "/d/sa.key".into(),
            sa_pub: "/d/sa.pub".into(),
        };
        let args = apiserver_args(&files, 1, 2, 3, Some(Path::new("/d/ac.json")));
        assert!(args.contains(&"--etcd-prefix=/registry-3".to_owned()));
        assert!(args.contains(&"--admission-control-config-file=/d/ac.json".to_owned()));
        assert!(args.contains(&"--allow-privileged=true".to_owned()));
        let plain = apiserver_args(&files, 1, 2, 0, None);
        assert!(
            !plain
                .iter()
                .any(|a| a.starts_with("--admission-control-config-file"))
        );
    }
}
