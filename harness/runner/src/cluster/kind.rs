//! kind through testcontainers: one `kindest/node` container, started and bootstrapped the
//! way the kind CLI does it (kind has no Go-free library, and testcontainers-rs no kind
//! module), reached from the host through its published API server port.
//!
//! The container: privileged, a private cgroup namespace, seccomp and AppArmor
//! unconfined, tmpfs on `/run` and `/tmp`, a volume of its own on `/var`, the host's
//! `/lib/modules` read-only, `container=docker`, `/usr/local/bin/entrypoint /sbin/init`.
//! testcontainers has no TTY option, so readiness is polled with `exec` (containerd active
//! under systemd) instead of kind's log line. Then: a kubeadm configuration written into
//! the node, `kubeadm init`, kind's CNI (kindnet, its template filled) and storage
//! manifests, no control-plane taint, and the admin kubeconfig copied out and pointed at
//! the published port; the node is ready once the API server answers `/readyz` and the
//! `default` ServiceAccount exists, both seen from the host.
//!
//! Removal: [`KindNode::remove`] removes the container and its volume; a failed start
//! removes what it created before returning; a [`KindNode`] dropped without `remove`
//! removes them on a thread with its own runtime (testcontainers' `ContainerAsync` drop
//! needs a current tokio runtime and panics without one). A node whose start has not
//! returned yet is removed by [`remove_nodes_still_starting`], which the session's signal
//! handler calls. `TESTCONTAINERS_COMMAND=keep` keeps everything and says how to reach
//! and remove it.

pub mod config;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use testcontainers::bollard::Docker;
use testcontainers::bollard::errors::Error as DockerError;
use testcontainers::bollard::models::{PortBinding, VolumeCreateRequest};
use testcontainers::bollard::query_parameters::RemoveContainerOptionsBuilder;
use testcontainers::core::{CgroupnsMode, ExecCommand, IntoContainerPort, Mount};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

use super::api::{Api, Pacing, error_chain, snippet};
use config::{
    API_SERVER_PORT, KubeVersion, NodeConfig, POD_SUBNET, kubeadm_config, point_kubeconfig_at,
    render_cni, split_image,
};

/// What to start.
#[derive(Debug, Clone)]
pub struct KindOptions {
    pub image: String,
    /// How long the node may take from a running container to a ready API server.
    pub startup_timeout: Duration,
}

impl KindOptions {
    /// kind v0.30.0's default node image (Kubernetes 1.34.0), the newest kindest/node tag
    /// known here to be published (no registry access to check later ones); a newer
    /// release is one `--kind-image kindest/node:<tag>` away.
    pub const DEFAULT_IMAGE: &'static str = "kindest/node:v1.34.0";
}

/// A running, bootstrapped kind node.
pub struct KindNode {
    kubeconfig: String,
    version: KubeVersion,
    resources: NodeResources,
    /// `None` once removed (or handed to the removal thread of `Drop`).
    container: Option<Node>,
}

type Node = ContainerAsync<GenericImage>;

/// How long a Docker engine may take to answer a ping before it counts as absent.
const PING_TIMEOUT: Duration = Duration::from_secs(3);
/// How long the container itself may take to start (the image pull comes before).
const CONTAINER_START_TIMEOUT: Duration = Duration::from_secs(60);
/// The node's hostname and Kubernetes node name.
const NODE_NAME: &str = "pss-harness-control-plane";
const ADMIN_CONF: &str = "/etc/kubernetes/admin.conf";
const KUBEADM_CONF: &str = "/kind/kubeadm.conf";
const CNI_TEMPLATE: &str = "/kind/manifests/default-cni.yaml";
const CNI_RENDERED: &str = "/kind/manifests/pss-harness-cni.yaml";
const STORAGE_MANIFEST: &str = "/kind/manifests/default-storage.yaml";
/// How long a dropped node's removal may take.
const DROP_REMOVAL_TIMEOUT: Duration = Duration::from_secs(30);
/// Lines of command output and journal kept in an error.
const TAIL_LINES: usize = 40;

/// Whether a Docker engine answers (through testcontainers' own client, so the same
/// `DOCKER_HOST` or socket the start would use); the reason when it does not.
pub async fn docker_available() -> Result<(), String> {
    engine().await.map(|_| ())
}

async fn engine() -> Result<Docker, String> {
    let docker = testcontainers::core::client::docker_client_instance()
        .await
        .map_err(|e| format!("{}: {}", engine_address(), error_chain(&e)))?;
    match tokio::time::timeout(PING_TIMEOUT, docker.ping()).await {
        Ok(Ok(_)) => Ok(docker),
        Ok(Err(e)) => Err(format!("{}: {}", engine_address(), error_chain(&e))),
        Err(_) => Err(format!(
            "{} did not answer within {} s",
            engine_address(),
            PING_TIMEOUT.as_secs()
        )),
    }
}

/// The engine testcontainers talks to: `DOCKER_HOST`, else the first of its socket
/// candidates that exists, else its default.
fn engine_address() -> String {
    if let Some(host) = std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()) {
        return host;
    }
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").map(std::path::PathBuf::from);
    let candidates = [
        Some(std::path::PathBuf::from("/var/run/docker.sock")),
        runtime.map(|d| d.join(".docker/run/docker.sock")),
        home.as_ref().map(|d| d.join(".docker/run/docker.sock")),
        home.map(|d| d.join(".docker/desktop/docker.sock")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.exists())
        .map_or_else(
            || "unix:///var/run/docker.sock (no such socket)".to_owned(),
            |p| format!("unix://{}", p.display()),
        )
}

/// The error of a start without a reachable engine.
fn needs_docker(reason: &str) -> String {
    format!("--cluster kind needs a Docker engine: {reason} (DOCKER_HOST / /var/run/docker.sock)")
}

/// `TESTCONTAINERS_COMMAND=keep`, testcontainers' switch for keeping containers.
fn keep_requested() -> bool {
    std::env::var("TESTCONTAINERS_COMMAND").is_ok_and(|v| v.trim() == "keep")
}

/// Publish the API server on the host's loopback only (as kind does), unless the engine
/// is remote or the harness itself runs in a container, where testcontainers reaches
/// published ports through another address.
fn publish_on_loopback(docker_host: Option<&str>, in_container: bool) -> bool {
    let local = docker_host.is_none_or(|h| h.is_empty() || h.starts_with("unix://"));
    local && !in_container
}

impl KindNode {
    /// Start a node from `options.image` and bootstrap it; on any failure everything
    /// created is removed (unless kept) and the error carries the tail of the failing
    /// command's output and of the node's journal.
    pub async fn start(options: &KindOptions) -> Result<KindNode, String> {
        let docker = engine().await.map_err(|reason| needs_docker(&reason))?;
        let resources = NodeResources::named(docker, &super::session::run_id());
        eprintln!(
            "pss-harness: starting kind node {} from {} (the first start pulls the image)",
            resources.container, options.image
        );
        resources.register();
        if let Err(e) = resources.create_volume().await {
            let _ = resources.remove(None, None).await;
            return Err(e);
        }
        let container = match request(options, &resources).start().await {
            Ok(container) => container,
            Err(e) => {
                let removal = resources.remove(None, None).await;
                return Err(format!(
                    "cannot start {} as {}: {}{}",
                    options.image,
                    resources.container,
                    error_chain(&e),
                    removal_note(&removal)
                ));
            }
        };
        let deadline = Instant::now() + options.startup_timeout;
        match bootstrap(&container, &resources, options, deadline).await {
            Ok((kubeconfig, version)) => Ok(KindNode {
                kubeconfig,
                version,
                resources,
                container: Some(container),
            }),
            Err(e) => {
                let journal = diagnostics(&container).await;
                let removal = resources.remove(Some(container), None).await;
                Err(format!(
                    "kind node {} ({}): {e}\n{journal}{}",
                    resources.container,
                    options.image,
                    removal_note(&removal)
                ))
            }
        }
    }

    /// The admin kubeconfig, its server at the published port on the host.
    pub fn kubeconfig(&self) -> &str {
        &self.kubeconfig
    }

    /// The container's name (`pss-harness-kind-<run id>`).
    pub fn name(&self) -> &str {
        &self.resources.container
    }

    /// The Kubernetes version the node runs.
    pub fn version(&self) -> &KubeVersion {
        &self.version
    }

    /// Remove the container and its volume (or keep them under
    /// `TESTCONTAINERS_COMMAND=keep`, saying how to reach and remove them).
    pub async fn remove(mut self) -> Result<(), String> {
        let container = self.container.take();
        self.resources
            .remove(container, Some(&self.kubeconfig))
            .await
    }
}

impl Drop for KindNode {
    /// The backstop for a node never given to [`KindNode::remove`]. The container handle
    /// is not dropped: its drop needs a current tokio runtime (and panics without one).
    /// The node is removed by name instead, on a thread with a runtime of its own, within
    /// a bound (its client's pooled connections may belong to a runtime that is blocked).
    fn drop(&mut self) {
        let Some(container) = self.container.take() else {
            return;
        };
        std::mem::forget(container);
        let resources = self.resources.clone();
        let worker = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("no runtime: {e}"))?;
            let removal = tokio::time::timeout(DROP_REMOVAL_TIMEOUT, resources.remove(None, None));
            runtime.block_on(removal).map_err(|_| {
                format!(
                    "not removed within {} s; docker rm -f -v {} && docker volume rm {}",
                    DROP_REMOVAL_TIMEOUT.as_secs(),
                    resources.container,
                    resources.volume
                )
            })?
        });
        match worker.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("pss-harness: kind node: {e}"),
            Err(_) => eprintln!("pss-harness: kind node: the removal thread panicked"),
        }
    }
}

fn removal_note(removal: &Result<(), String>) -> String {
    match (removal, keep_requested()) {
        (_, true) => String::new(),
        (Ok(()), false) => "\n(the container and its volume were removed; \
                            TESTCONTAINERS_COMMAND=keep keeps them for debugging)"
            .to_owned(),
        (Err(e), false) => format!("\n(removing it failed too: {e})"),
    }
}

/// Nodes of this process whose start has begun and whose removal has not happened.
static STARTED: Mutex<Vec<NodeResources>> = Mutex::new(Vec::new());

/// Remove every node of this process not removed yet (a start still running, or a node
/// not yet handed to its session): for a signal handler about to exit. The errors.
pub async fn remove_nodes_still_starting() -> Vec<String> {
    let pending: Vec<NodeResources> = STARTED.lock().map(|s| s.clone()).unwrap_or_default();
    let mut errors = Vec::new();
    for resources in pending {
        if let Err(e) = resources.remove(None, None).await {
            errors.push(e);
        }
    }
    errors
}

/// What a node owns in the Docker engine, by name.
#[derive(Clone)]
struct NodeResources {
    docker: Docker,
    container: String,
    volume: String,
}

impl NodeResources {
    fn named(docker: Docker, run_id: &str) -> NodeResources {
        let container = format!("pss-harness-kind-{run_id}");
        NodeResources {
            docker,
            volume: format!("{container}-var"),
            container,
        }
    }

    fn register(&self) {
        if let Ok(mut started) = STARTED.lock() {
            started.push(self.clone());
        }
    }

    fn unregister(&self) {
        if let Ok(mut started) = STARTED.lock() {
            started.retain(|r| r.container != self.container);
        }
    }

    async fn create_volume(&self) -> Result<(), String> {
        let request = VolumeCreateRequest {
            name: Some(self.volume.clone()),
            labels: Some(
                [(
                    super::namespaces::MANAGED_BY.to_owned(),
                    super::namespaces::MANAGED_BY_VALUE.to_owned(),
                )]
                .into(),
            ),
            ..Default::default()
        };
        self.docker
            .create_volume(request)
            .await
            .map(|_| ())
            .map_err(|e| format!("cannot create volume {}: {}", self.volume, error_chain(&e)))
    }

    /// Remove the container (through its handle when there is one) and the volume; a
    /// missing one counts as removed. Under `keep`, only say what was kept.
    async fn remove(
        &self,
        container: Option<Node>,
        kubeconfig: Option<&str>,
    ) -> Result<(), String> {
        if keep_requested() {
            // Its drop would remove nothing under keep, but needs a runtime: skip it.
            std::mem::forget(container);
            self.report_kept(kubeconfig);
            self.unregister();
            return Ok(());
        }
        let mut errors = Vec::new();
        let removed_through_handle = match container {
            Some(c) => c.rm().await.is_ok(),
            None => false,
        };
        if !removed_through_handle {
            let options = RemoveContainerOptionsBuilder::new()
                .force(true)
                .v(true)
                .build();
            let result = self
                .docker
                .remove_container(&self.container, Some(options))
                .await;
            if let Err(e) = result.or_else(missing_is_fine) {
                errors.push(format!("container {}: {}", self.container, error_chain(&e)));
            }
        }
        let result = self
            .docker
            .remove_volume(&self.volume, None::<RemoveVolume>)
            .await;
        if let Err(e) = result.or_else(missing_is_fine) {
            errors.push(format!("volume {}: {}", self.volume, error_chain(&e)));
        }
        self.unregister();
        match errors.is_empty() {
            true => Ok(()),
            false => Err(format!("cannot remove kind node: {}", errors.join("; "))),
        }
    }

    fn report_kept(&self, kubeconfig: Option<&str>) {
        let path = std::env::temp_dir().join(format!("{}.kubeconfig", self.container));
        let written = kubeconfig.map(|text| {
            super::process::write_private(&path, text)
                .map_err(|e| format!("{}: {e}", path.display()))
        });
        let reach = match written {
            Some(Ok(())) => format!("; its kubeconfig: {}", path.display()),
            Some(Err(e)) => format!("; cannot write its kubeconfig: {e}"),
            None => String::new(),
        };
        eprintln!(
            "pss-harness: kept kind node {} and volume {} (TESTCONTAINERS_COMMAND=keep){reach}; \
             remove them with: docker rm -f {} && docker volume rm {}",
            self.container, self.volume, self.container, self.volume
        );
    }
}

type RemoveVolume = testcontainers::bollard::query_parameters::RemoveVolumeOptions;

fn missing_is_fine(e: DockerError) -> Result<(), DockerError> {
    match e {
        DockerError::DockerResponseServerError {
            status_code: 404, ..
        } => Ok(()),
        e => Err(e),
    }
}

/// The container request, as `kind create cluster` runs a control-plane node.
fn request(
    options: &KindOptions,
    resources: &NodeResources,
) -> testcontainers::ContainerRequest<GenericImage> {
    let (name, tag) = split_image(&options.image);
    let loopback = publish_on_loopback(
        std::env::var("DOCKER_HOST").ok().as_deref(),
        std::path::Path::new("/.dockerenv").exists(),
    );
    GenericImage::new(name, tag)
        .with_entrypoint("/usr/local/bin/entrypoint")
        .with_exposed_port(API_SERVER_PORT.tcp())
        .with_cmd(["/sbin/init"])
        .with_container_name(&resources.container)
        .with_hostname(NODE_NAME)
        .with_label(
            super::namespaces::MANAGED_BY,
            super::namespaces::MANAGED_BY_VALUE,
        )
        .with_privileged(true)
        .with_cgroupns_mode(CgroupnsMode::Private)
        .with_security_opt("seccomp=unconfined")
        .with_security_opt("apparmor=unconfined")
        .with_mount(Mount::tmpfs_mount("/run"))
        .with_mount(Mount::tmpfs_mount("/tmp"))
        .with_mount(Mount::volume_mount(&resources.volume, "/var"))
        .with_env_var("container", "docker")
        .with_startup_timeout(CONTAINER_START_TIMEOUT)
        .with_host_config_modifier(move |host| {
            // A bind in `Binds` form, as kind's `--volume`: the engine creates a missing
            // source instead of failing (Docker Desktop's VM may have no /lib/modules).
            host.binds
                .get_or_insert_with(Vec::new)
                .push("/lib/modules:/lib/modules:ro".to_owned());
            if loopback {
                let binding = PortBinding {
                    host_ip: Some("127.0.0.1".to_owned()),
                    host_port: Some(String::new()),
                };
                host.publish_all_ports = Some(false);
                host.port_bindings =
                    Some([(format!("{API_SERVER_PORT}/tcp"), Some(vec![binding]))].into());
            }
        })
}

/// A point in time the whole bootstrap must finish by.
#[derive(Debug, Clone, Copy)]
struct Deadline(Instant);

impl Deadline {
    fn left(self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    fn passed(self) -> bool {
        self.left().is_zero()
    }
}

/// Bring the started container to a ready cluster: the host's kubeconfig and the node's
/// Kubernetes version.
async fn bootstrap(
    node: &Node,
    resources: &NodeResources,
    options: &KindOptions,
    deadline: Instant,
) -> Result<(String, KubeVersion), String> {
    let deadline = Deadline(deadline);
    let (host, port) = published_api_server(node).await?;
    wait_for_containerd(node, deadline).await?;
    let node_ip = container_ip(&resources.docker, &resources.container).await?;
    let version = node_version(node, &options.image).await?;
    let extra_sans: Vec<String> = match host.as_str() {
        "127.0.0.1" => Vec::new(),
        other => vec![other.to_owned()],
    };
    let config = kubeadm_config(&NodeConfig {
        version: &version,
        node_name: NODE_NAME,
        node_ip: &node_ip,
        extra_sans: &extra_sans,
    })?;
    write_file(node, KUBEADM_CONF, &config).await?;
    run_ok(
        node,
        "kubeadm init",
        &[
            "kubeadm",
            "init",
            "--skip-phases=preflight",
            &format!("--config={KUBEADM_CONF}"),
            "--skip-token-print",
            "--v=6",
        ],
        deadline.left(),
    )
    .await?;
    install_cni(node, deadline).await?;
    install_storage(node, deadline).await?;
    remove_control_plane_taints(node, deadline).await?;
    let admin = node
        .copy_file_from(ADMIN_CONF, Vec::<u8>::new())
        .await
        .map_err(|e| format!("cannot copy {ADMIN_CONF} out: {}", error_chain(&e)))?;
    let admin = String::from_utf8(admin).map_err(|_| format!("{ADMIN_CONF} is not UTF-8 text"))?;
    let kubeconfig = point_kubeconfig_at(&admin, &format!("https://{host}:{port}"))?;
    wait_until_serving(&kubeconfig, deadline).await?;
    Ok((kubeconfig, version))
}

/// Where the host reaches the API server: testcontainers' host for the engine (loopback
/// spelled `127.0.0.1`, the address the certificate names) and the published port.
async fn published_api_server(node: &Node) -> Result<(String, u16), String> {
    let host = node
        .get_host()
        .await
        .map_err(|e| format!("cannot tell the Docker host's address: {}", error_chain(&e)))?
        .to_string();
    let port = node
        .get_host_port_ipv4(API_SERVER_PORT.tcp())
        .await
        .map_err(|e| {
            format!(
                "port {API_SERVER_PORT} is not published: {}",
                error_chain(&e)
            )
        })?;
    let host = match host.as_str() {
        "localhost" => "127.0.0.1".to_owned(),
        _ => host,
    };
    Ok((host, port))
}

/// systemd is up once it reports containerd active (kind waits for a log line that
/// needs a TTY to be printed).
async fn wait_for_containerd(node: &Node, deadline: Deadline) -> Result<(), String> {
    loop {
        let probe = ["systemctl", "is-active", "containerd"];
        let last = match exec(node, &probe, deadline.left().min(Duration::from_secs(10))).await {
            Ok(ran) if ran.code == Some(0) => return Ok(()),
            Ok(ran) => ran.tail(),
            Err(e) => {
                if let Ok(false) = node.is_running().await {
                    return Err(format!("the node container exited: {e}"));
                }
                e
            }
        };
        if deadline.passed() {
            return Err(format!(
                "systemd did not bring containerd up in time (last: {})",
                last.trim()
            ));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The container's address on its Docker network.
async fn container_ip(docker: &Docker, container: &str) -> Result<String, String> {
    let inspected = docker
        .inspect_container(container, None)
        .await
        .map_err(|e| format!("cannot inspect {container}: {}", error_chain(&e)))?;
    inspected
        .network_settings
        .and_then(|s| s.networks)
        .into_iter()
        .flat_map(|networks| networks.into_values())
        .filter_map(|endpoint| endpoint.ip_address)
        .find(|ip| !ip.is_empty())
        .ok_or_else(|| format!("{container} has no IPv4 address on any Docker network"))
}

/// The Kubernetes version: the node image's own `/kind/version`, else the image tag's.
async fn node_version(node: &Node, image: &str) -> Result<KubeVersion, String> {
    let from_node = exec(node, &["cat", "/kind/version"], Duration::from_secs(10))
        .await
        .ok()
        .filter(|ran| ran.code == Some(0))
        .and_then(|ran| KubeVersion::parse(&ran.stdout));
    from_node
        .or_else(|| KubeVersion::from_image(image))
        .ok_or_else(|| {
            format!(
                "cannot tell the Kubernetes version: no /kind/version and no vX.Y.Z tag in {image}"
            )
        })
}

/// kindnet from the node image, its pod-subnet field filled.
async fn install_cni(node: &Node, deadline: Deadline) -> Result<(), String> {
    let template = run_ok(
        node,
        "reading the CNI manifest",
        &["cat", CNI_TEMPLATE],
        deadline.left(),
    )
    .await?;
    let manifest = render_cni(&template, POD_SUBNET)?;
    write_file(node, CNI_RENDERED, &manifest).await?;
    kubectl(
        node,
        "applying the CNI manifest",
        &["apply", "-f", CNI_RENDERED],
        deadline,
    )
    .await?;
    Ok(())
}

/// kind's local-path StorageClass, when the image has one (Kyverno and other installs may
/// claim volumes).
async fn install_storage(node: &Node, deadline: Deadline) -> Result<(), String> {
    let present = exec(
        node,
        &["test", "-f", STORAGE_MANIFEST],
        Duration::from_secs(10),
    )
    .await?;
    if present.code != Some(0) {
        return Ok(());
    }
    kubectl(
        node,
        "applying the storage manifest",
        &["apply", "-f", STORAGE_MANIFEST],
        deadline,
    )
    .await
    .map(|_| ())
}

/// A single node must run workloads: remove the control-plane taint (and the `master`
/// one of releases before 1.25); a taint the node does not have is fine.
async fn remove_control_plane_taints(node: &Node, deadline: Deadline) -> Result<(), String> {
    for taint in [
        "node-role.kubernetes.io/control-plane:NoSchedule-",
        "node-role.kubernetes.io/master:NoSchedule-",
    ] {
        let args = kubectl_args(&["taint", "nodes", "--all", taint]);
        let ran = exec(node, &args, deadline.left()).await?;
        if ran.code != Some(0) && !ran.tail().contains("not found") {
            return Err(format!(
                "removing the taint {taint} failed:\n{}",
                ran.tail()
            ));
        }
    }
    Ok(())
}

/// From the host, through the rewritten kubeconfig: the API server is ready and the
/// `default` ServiceAccount exists (pods, even dry-run ones, need it).
async fn wait_until_serving(kubeconfig: &str, deadline: Deadline) -> Result<(), String> {
    let mut config = super::session::from_kubeconfig_text(kubeconfig).await?;
    config.connect_timeout = Some(Duration::from_secs(5));
    config.read_timeout = Some(Duration::from_secs(10));
    let pacing = Pacing {
        retries: 0,
        ..Pacing::default()
    };
    let api = Api::new(config, pacing).map_err(|e| e.to_string())?;
    loop {
        let last = match serving(&api).await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if deadline.passed() {
            return Err(format!(
                "the API server at {} did not become ready in time: {last}",
                api.endpoint()
            ));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn serving(api: &Api) -> Result<(), String> {
    let get = |path: &'static str| api.send(http::Method::GET, path, None, &[]);
    let ready = get("/readyz").await.map_err(|e| e.to_string())?;
    if !ready.is_success() {
        return Err(format!(
            "/readyz: HTTP {}: {}",
            ready.code,
            snippet(&ready.body)
        ));
    }
    let account = get("/api/v1/namespaces/default/serviceaccounts/default")
        .await
        .map_err(|e| e.to_string())?;
    match account.is_success() {
        true => Ok(()),
        false => Err(format!(
            "no ServiceAccount default/default yet (HTTP {})",
            account.code
        )),
    }
}

/// The node's journal for kubelet and containerd, else the container's own output: the
/// context an error needs.
async fn diagnostics(node: &Node) -> String {
    let journal = [
        "journalctl",
        "--no-pager",
        "-n",
        "40",
        "-u",
        "kubelet",
        "-u",
        "containerd",
    ];
    if let Ok(ran) = exec(node, &journal, Duration::from_secs(15)).await
        && ran.code == Some(0)
        && !ran.stdout.trim().is_empty()
    {
        return format!(
            "--- journalctl -u kubelet -u containerd (last {TAIL_LINES} lines) ---\n{}",
            ran.tail()
        );
    }
    let mut logs = node.stdout_to_vec().await.unwrap_or_default();
    logs.extend(node.stderr_to_vec().await.unwrap_or_default());
    format!(
        "--- container output (last {TAIL_LINES} lines) ---\n{}",
        tail(&String::from_utf8_lossy(&logs))
    )
}

/// How a command in the node ended, and what it printed.
#[derive(Debug)]
struct Ran {
    code: Option<i64>,
    stdout: String,
    stderr: String,
}

impl Ran {
    /// The last lines of stdout then stderr (kubeadm and kubectl report on stderr).
    fn tail(&self) -> String {
        tail(&format!("{}{}", self.stdout, self.stderr))
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
}

/// Run a command in the node and collect its output and exit code, within `limit`.
async fn exec(node: &Node, args: &[&str], limit: Duration) -> Result<Ran, String> {
    let program = args.first().copied().unwrap_or_default();
    let work = async {
        let fail = |e: testcontainers::TestcontainersError| {
            format!("exec {program} in the node: {}", error_chain(&e))
        };
        let mut result = node
            .exec(ExecCommand::new(args.iter().copied()))
            .await
            .map_err(fail)?;
        // Both streams end when the command does; its exit code may lag a moment.
        let stdout = result.stdout_to_vec().await.map_err(fail)?;
        let stderr = result.stderr_to_vec().await.map_err(fail)?;
        let mut code = result.exit_code().await.map_err(fail)?;
        for _ in 0..50 {
            if code.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            code = result.exit_code().await.map_err(fail)?;
        }
        Ok(Ran {
            code,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        })
    };
    tokio::time::timeout(limit, work)
        .await
        .map_err(|_| format!("{program} did not finish within {} s", limit.as_secs()))?
}

/// Run a command that must succeed; its stdout, or an error with its output's tail.
async fn run_ok(node: &Node, what: &str, args: &[&str], limit: Duration) -> Result<String, String> {
    let ran = exec(node, args, limit)
        .await
        .map_err(|e| format!("{what}: {e}"))?;
    match ran.code {
        Some(0) => Ok(ran.stdout),
        code => Err(format!(
            "{what} failed (exit {}):\n{}",
            code.map_or_else(|| "unknown".to_owned(), |c| c.to_string()),
            ran.tail()
        )),
    }
}

fn kubectl_args<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["kubectl", "--kubeconfig=/etc/kubernetes/admin.conf"];
    all.extend_from_slice(args);
    all
}

async fn kubectl(
    node: &Node,
    what: &str,
    args: &[&str],
    deadline: Deadline,
) -> Result<String, String> {
    run_ok(node, what, &kubectl_args(args), deadline.left()).await
}

/// Write a file in the node. The text travels as an argument (no shell parsing of it):
/// testcontainers has no copy into a running container.
async fn write_file(node: &Node, path: &str, text: &str) -> Result<(), String> {
    let args = ["sh", "-c", "printf '%s' \"$2\" > \"$1\"", "sh", path, text];
    run_ok(
        node,
        &format!("writing {path}"),
        &args,
        Duration::from_secs(30),
    )
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::default_socket(None, false, true)]
    #[case::unix_socket(Some("unix:///run/user/1000/docker.sock"), false, true)]
    #[case::empty(Some(""), false, true)]
    #[case::remote(Some("tcp://10.0.0.7:2376"), false, false)]
    #[case::in_a_container(None, true, false)]
    fn the_api_server_is_published_on_loopback_when_the_engine_is_local(
        #[case] docker_host: Option<&str>,
        #[case] in_container: bool,
        #[case] expected: bool,
    ) {
        assert_eq!(publish_on_loopback(docker_host, in_container), expected);
    }

    #[test]
    fn the_docker_error_says_what_is_missing() {
        assert_eq!(
            needs_docker("unix:///var/run/docker.sock: No such file or directory"),
            "--cluster kind needs a Docker engine: unix:///var/run/docker.sock: No such file \
             or directory (DOCKER_HOST / /var/run/docker.sock)"
        );
    }

    /// A node whose engine is gone: the removal names what is left, and the node is no
    /// longer pending (a later signal does not try again).
    #[test]
    fn a_failed_removal_names_the_container_and_the_volume() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let docker = Docker::connect_with_http(
            "http://127.0.0.1:1",
            2,
            testcontainers::bollard::API_DEFAULT_VERSION,
        )
        .unwrap();
        let resources = NodeResources::named(docker, "test01");
        resources.register();
        let pending = |name: &str| STARTED.lock().unwrap().iter().any(|r| r.container == name);
        assert!(pending("pss-harness-kind-test01"));
        let err = runtime.block_on(resources.remove(None, None)).unwrap_err();
        assert!(
            err.starts_with("cannot remove kind node: container pss-harness-kind-test01: ")
                && err.contains("; volume pss-harness-kind-test01-var: "),
            "{err}"
        );
        assert!(!pending("pss-harness-kind-test01"));
    }

    #[test]
    fn tails_keep_the_last_lines() {
        let text: String = (1..=50).map(|i| format!("line {i}\n")).collect();
        let kept = tail(&text);
        assert_eq!(kept.lines().count(), TAIL_LINES);
        assert!(kept.starts_with("line 11\n") && kept.ends_with("line 50"));
        assert_eq!(tail("one\ntwo"), "one\ntwo");
    }

    #[test]
    fn the_default_image_names_its_kubernetes_version() {
        let version = KubeVersion::from_image(KindOptions::DEFAULT_IMAGE).unwrap();
        assert!(config::KubeadmApi::for_version(&version).is_ok());
    }

    /// Without an engine, `start` fails within the ping timeout and says why. With one
    /// (a developer machine), the same path is covered by tests/kind.rs, which points
    /// DOCKER_HOST at a missing socket in a child process.
    #[test]
    fn start_without_docker_fails_fast_with_the_docker_error() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        if runtime.block_on(docker_available()).is_ok() {
            eprintln!("a Docker engine answers here: covered by tests/kind.rs instead");
            return;
        }
        let started = Instant::now();
        let options = KindOptions {
            image: KindOptions::DEFAULT_IMAGE.to_owned(),
            startup_timeout: Duration::from_secs(300),
        };
        let err = match runtime.block_on(KindNode::start(&options)) {
            Ok(_) => panic!("a kind node started without a Docker engine"),
            Err(e) => e,
        };
        assert!(
            started.elapsed() < PING_TIMEOUT + Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
        assert!(
            err.starts_with("--cluster kind needs a Docker engine: ")
                && err.ends_with(" (DOCKER_HOST / /var/run/docker.sock)"),
            "{err}"
        );
    }
}
