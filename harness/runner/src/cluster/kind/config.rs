//! The pure parts of starting kind: the Kubernetes version a node image carries, the
//! kubeadm configuration the kind CLI would generate for one control-plane node, kind's
//! CNI manifest template, and pointing the node's admin kubeconfig at the host's
//! published port.

/// kind's defaults (`networking.podSubnet` / `serviceSubnet` of a kind cluster).
pub const POD_SUBNET: &str = "10.244.0.0/16";
pub const SERVICE_SUBNET: &str = "10.96.0.0/16";
/// The port kube-apiserver listens on inside the node.
pub const API_SERVER_PORT: u16 = 6443;
pub const CLUSTER_NAME: &str = "pss-harness";
/// Where containerd listens in every kindest/node image.
const CRI_SOCKET: &str = "unix:///run/containerd/containerd.sock";

/// A Kubernetes release as kind names its node images (`v1.34.0`, `v1.35.0-rc.1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    /// The whole version with its `v` (and any pre-release suffix), for kubeadm's
    /// `kubernetesVersion`.
    pub text: String,
}

impl KubeVersion {
    /// `v1.34.0`, `1.34.0` or `v1.35.0-rc.1`; anything else is `None`.
    pub fn parse(text: &str) -> Option<KubeVersion> {
        let text = text.trim();
        let bare = text.strip_prefix('v').unwrap_or(text);
        let mut parts = bare.splitn(3, '.');
        let (major, minor, rest) = (parts.next()?, parts.next()?, parts.next()?);
        let suffix_at = rest.find(['-', '+']).unwrap_or(rest.len());
        let (patch, suffix) = rest.split_at(suffix_at);
        let number = |s: &str| match !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            true => s.parse::<u32>().ok(),
            false => None,
        };
        let suffix_ok = suffix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-+.".contains(&b));
        suffix_ok.then_some(())?;
        Some(KubeVersion {
            major: number(major)?,
            minor: number(minor)?,
            patch: number(patch)?,
            text: format!("v{bare}"),
        })
    }

    /// The version in an image reference's tag: `kindest/node:v1.34.0`,
    /// `registry:5000/kindest/node:v1.34.0@sha256:...`; `None` for `latest` or a digest
    /// without a tag.
    pub fn from_image(image: &str) -> Option<KubeVersion> {
        let last_segment = image.rsplit('/').next()?;
        let without_digest = last_segment.split('@').next()?;
        let (_, tag) = without_digest.split_once(':')?;
        KubeVersion::parse(tag)
    }
}

/// An image reference as testcontainers' `GenericImage::new(name, tag)` puts it back
/// together (`{name}:{tag}`): split at the last `:` after the last `/`, so a registry port
/// stays in the name and a digest reference survives (`repo@sha256` + `<hex>`); no tag is
/// `latest`.
pub fn split_image(image: &str) -> (&str, &str) {
    let path_start = image.rfind('/').map_or(0, |i| i + 1);
    match image[path_start..].rfind(':') {
        Some(i) => (&image[..path_start + i], &image[path_start + i + 1..]),
        None => (image, "latest"),
    }
}

/// The kubeadm configuration API a kubeadm release reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KubeadmApi {
    /// Kubernetes 1.22 to 1.30: `extraArgs` are maps.
    V1beta3,
    /// Kubernetes 1.31 and newer: `extraArgs` are lists of `{name, value}`.
    V1beta4,
}

impl KubeadmApi {
    pub fn for_version(version: &KubeVersion) -> Result<KubeadmApi, String> {
        match (version.major, version.minor) {
            (1, 31..) => Ok(KubeadmApi::V1beta4),
            (1, 22..=30) => Ok(KubeadmApi::V1beta3),
            _ => Err(format!(
                "Kubernetes {} is not supported with --cluster kind (kubeadm.k8s.io/v1beta3 \
                 needs v1.22 or newer)",
                version.text
            )),
        }
    }

    fn api_version(self) -> &'static str {
        match self {
            KubeadmApi::V1beta3 => "kubeadm.k8s.io/v1beta3",
            KubeadmApi::V1beta4 => "kubeadm.k8s.io/v1beta4",
        }
    }

    /// `kubeletExtraArgs` holding one argument, in this API's shape and indentation.
    fn kubelet_args(self, name: &str, value: &str) -> String {
        match self {
            KubeadmApi::V1beta3 => format!("  kubeletExtraArgs:\n    {name}: \"{value}\"\n"),
            KubeadmApi::V1beta4 => {
                format!("  kubeletExtraArgs:\n    - name: {name}\n      value: \"{value}\"\n")
            }
        }
    }
}

/// The node a configuration is for.
#[derive(Debug, Clone)]
pub struct NodeConfig<'a> {
    pub version: &'a KubeVersion,
    /// The node's name (also the container's hostname).
    pub node_name: &'a str,
    /// The container's address on its Docker network (advertised, and a certificate SAN).
    pub node_ip: &'a str,
    /// Further names clients use (the Docker host's address when it is not loopback).
    pub extra_sans: &'a [String],
}

/// The kubeadm configuration for a single control-plane node, after the kind CLI's
/// template: kind's subnets, certificate SANs for the host's view (127.0.0.1, localhost)
/// and the node address, containerd's socket, the kubelet settings a nested node needs
/// (the `/kubelet` cgroup root kind's entrypoint prepares, no disk-pressure eviction), and
/// kube-proxy without the conntrack sysctl a container may not write.
pub fn kubeadm_config(node: &NodeConfig) -> Result<String, String> {
    let api = KubeadmApi::for_version(node.version)?;
    let api_version = api.api_version();
    let mut sans: Vec<&str> = vec!["127.0.0.1", "localhost", node.node_ip];
    for extra in node.extra_sans {
        if !sans.contains(&extra.as_str()) {
            sans.push(extra);
        }
    }
    let sans = sans
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ");
    // Node images from 1.24 on configure containerd for the systemd cgroup driver.
    let cgroup_driver = match node.version.minor >= 24 {
        true => "systemd",
        false => "cgroupfs",
    };
    let kubelet_args = api.kubelet_args("node-ip", node.node_ip);
    Ok(format!(
        "apiVersion: {api_version}
kind: ClusterConfiguration
clusterName: {CLUSTER_NAME}
kubernetesVersion: {version}
controlPlaneEndpoint: \"{ip}:{API_SERVER_PORT}\"
apiServer:
  certSANs: [{sans}]
networking:
  podSubnet: \"{POD_SUBNET}\"
  serviceSubnet: \"{SERVICE_SUBNET}\"
---
apiVersion: {api_version}
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: \"{ip}\"
  bindPort: {API_SERVER_PORT}
nodeRegistration:
  name: \"{name}\"
  criSocket: \"{CRI_SOCKET}\"
{kubelet_args}---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: {cgroup_driver}
cgroupRoot: /kubelet
failSwapOn: false
imageGCHighThresholdPercent: 100
evictionHard:
  nodefs.available: \"0%\"
  nodefs.inodesFree: \"0%\"
  imagefs.available: \"0%\"
---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
iptables:
  minSyncPeriod: 1s
conntrack:
  maxPerCore: 0
",
        version = node.version.text,
        ip = node.node_ip,
        name = node.node_name,
    ))
}

/// kind's `/kind/manifests/default-cni.yaml` (kindnet) is a Go template whose one field is
/// the pod subnet (`{{ .PodSubnet }}`); the kind CLI executes it before applying. Any other
/// template action means a node image this code does not know: refuse it rather than
/// apply a broken manifest.
pub fn render_cni(template: &str, pod_subnet: &str) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open..].find("}}").map(|c| open + c) else {
            break;
        };
        let action = rest[open + 2..close].trim_matches('-').trim();
        if action != ".PodSubnet" {
            let line_start = rest[..open].rfind('\n').map_or(0, |i| i + 1);
            let line_end = rest[open..].find('\n').map_or(rest.len(), |i| open + i);
            return Err(format!(
                "the node's CNI manifest (/kind/manifests/default-cni.yaml) has a template \
                 field this harness does not fill: {}",
                rest[line_start..line_end].trim()
            ));
        }
        out.push_str(&rest[..open]);
        out.push_str(pod_subnet);
        rest = &rest[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The node's `admin.conf` with every cluster's `server` replaced: inside the node it
/// names the container's address, which the host may not route to.
pub fn point_kubeconfig_at(kubeconfig: &str, server: &str) -> Result<String, String> {
    let mut replaced = 0;
    let mut out = String::with_capacity(kubeconfig.len());
    for line in kubeconfig.lines() {
        let indent = &line[..line.len() - line.trim_start().len()];
        match line.trim_start().strip_prefix("server:") {
            Some(_) => {
                replaced += 1;
                out.push_str(&format!("{indent}server: {server}"));
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    match replaced {
        0 => Err("the node's /etc/kubernetes/admin.conf names no server".to_owned()),
        _ => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn version(text: &str) -> KubeVersion {
        KubeVersion::parse(text).unwrap()
    }

    #[rstest]
    #[case::plain("kindest/node:v1.34.0", Some((1, 34, 0)))]
    #[case::digest("kindest/node:v1.35.1@sha256:0123abcd", Some((1, 35, 1)))]
    #[case::registry_port("localhost:5000/kindest/node:v1.30.13", Some((1, 30, 13)))]
    #[case::pre_release("kindest/node:v1.36.0-rc.1", Some((1, 36, 0)))]
    #[case::no_v("example.com/node:1.31.2", Some((1, 31, 2)))]
    #[case::latest("kindest/node:latest", None)]
    #[case::no_tag("kindest/node", None)]
    #[case::registry_port_no_tag("localhost:5000/kindest/node", None)]
    #[case::digest_only("kindest/node@sha256:0123abcd", None)]
    #[case::two_parts("kindest/node:v1.34", None)]
    fn image_tags_give_the_kubernetes_version(
        #[case] image: &str,
        #[case] expected: Option<(u32, u32, u32)>,
    ) {
        let parsed = KubeVersion::from_image(image).map(|v| (v.major, v.minor, v.patch));
        assert_eq!(parsed, expected, "{image}");
    }

    #[test]
    fn versions_keep_their_text_with_a_v() {
        assert_eq!(version("1.31.2").text, "v1.31.2");
        assert_eq!(version(" v1.36.0-rc.1\n").text, "v1.36.0-rc.1");
        assert_eq!(KubeVersion::parse("v1.34.0 extra"), None);
    }

    #[rstest]
    #[case("kindest/node:v1.34.0", "kindest/node", "v1.34.0")]
    #[case("kindest/node", "kindest/node", "latest")]
    #[case("localhost:5000/kindest/node", "localhost:5000/kindest/node", "latest")]
    #[case(
        "localhost:5000/kindest/node:v1.34.0",
        "localhost:5000/kindest/node",
        "v1.34.0"
    )]
    #[case("kindest/node@sha256:ab12", "kindest/node@sha256", "ab12")]
    #[case(
        "kindest/node:v1.34.0@sha256:ab12",
        "kindest/node:v1.34.0@sha256",
        "ab12"
    )]
    fn image_references_split_so_that_name_colon_tag_rebuilds_them(
        #[case] image: &str,
        #[case] name: &str,
        #[case] tag: &str,
    ) {
        assert_eq!(split_image(image), (name, tag));
        if tag != "latest" {
            assert_eq!(format!("{name}:{tag}"), image);
        }
    }

    #[rstest]
    #[case::oldest_v1beta3("v1.22.0", Some(KubeadmApi::V1beta3))]
    #[case::last_v1beta3("v1.30.13", Some(KubeadmApi::V1beta3))]
    #[case::first_v1beta4("v1.31.0", Some(KubeadmApi::V1beta4))]
    #[case::recent("v1.37.1", Some(KubeadmApi::V1beta4))]
    #[case::too_old("v1.21.14", None)]
    #[case::other_major("v2.0.0", None)]
    fn the_kubeadm_api_follows_the_minor(#[case] text: &str, #[case] expected: Option<KubeadmApi>) {
        assert_eq!(KubeadmApi::for_version(&version(text)).ok(), expected);
    }

    fn render(text: &str, extra_sans: &[String]) -> String {
        kubeadm_config(&NodeConfig {
            version: &version(text),
            node_name: "pss-harness-control-plane",
            node_ip: "172.17.0.2",
            extra_sans,
        })
        .unwrap()
    }

    /// Each document of a rendered configuration, parsed.
    fn documents(text: &str) -> Vec<serde_json::Value> {
        serde_saphyr::from_multiple(text).unwrap()
    }

    #[rstest]
    #[case::v1_34("v1.34.0", "kubeadm.k8s.io/v1beta4", "systemd")]
    #[case::v1_31("v1.31.4", "kubeadm.k8s.io/v1beta4", "systemd")]
    #[case::v1_30("v1.30.13", "kubeadm.k8s.io/v1beta3", "systemd")]
    #[case::v1_23("v1.23.17", "kubeadm.k8s.io/v1beta3", "cgroupfs")]
    fn kubeadm_configs_follow_the_minor(
        #[case] text: &str,
        #[case] api_version: &str,
        #[case] cgroup_driver: &str,
    ) {
        let docs = documents(&render(text, &[]));
        let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "ClusterConfiguration",
                "InitConfiguration",
                "KubeletConfiguration",
                "KubeProxyConfiguration"
            ]
        );
        let (cluster, init, kubelet, proxy) = (&docs[0], &docs[1], &docs[2], &docs[3]);
        assert_eq!(cluster["apiVersion"], api_version);
        assert_eq!(init["apiVersion"], api_version);
        assert_eq!(cluster["kubernetesVersion"], text);
        assert_eq!(cluster["controlPlaneEndpoint"], "172.17.0.2:6443");
        assert_eq!(
            cluster["apiServer"]["certSANs"],
            serde_json::json!(["127.0.0.1", "localhost", "172.17.0.2"])
        );
        assert_eq!(cluster["networking"]["podSubnet"], "10.244.0.0/16");
        assert_eq!(cluster["networking"]["serviceSubnet"], "10.96.0.0/16");
        assert_eq!(init["localAPIEndpoint"]["advertiseAddress"], "172.17.0.2");
        assert_eq!(init["localAPIEndpoint"]["bindPort"], 6443);
        assert_eq!(
            init["nodeRegistration"]["name"],
            "pss-harness-control-plane"
        );
        assert_eq!(
            init["nodeRegistration"]["criSocket"],
            "unix:///run/containerd/containerd.sock"
        );
        assert_eq!(kubelet["cgroupDriver"], cgroup_driver);
        assert_eq!(kubelet["cgroupRoot"], "/kubelet");
        assert_eq!(proxy["conntrack"]["maxPerCore"], 0);
        // The one shape difference between the two APIs: extra arguments.
        let node_ip = &init["nodeRegistration"]["kubeletExtraArgs"];
        match api_version {
            "kubeadm.k8s.io/v1beta4" => assert_eq!(
                *node_ip,
                serde_json::json!([{"name": "node-ip", "value": "172.17.0.2"}])
            ),
            _ => assert_eq!(*node_ip, serde_json::json!({"node-ip": "172.17.0.2"})),
        }
    }

    #[test]
    fn a_remote_docker_host_becomes_a_san_once() {
        let extra = ["10.0.0.7".to_owned(), "localhost".to_owned()];
        let docs = documents(&render("v1.34.0", &extra));
        assert_eq!(
            docs[0]["apiServer"]["certSANs"],
            serde_json::json!(["127.0.0.1", "localhost", "172.17.0.2", "10.0.0.7"])
        );
    }

    #[test]
    fn versions_kubeadm_cannot_configure_are_refused() {
        let err = kubeadm_config(&NodeConfig {
            version: &version("v1.20.7"),
            node_name: "n",
            node_ip: "172.17.0.2",
            extra_sans: &[],
        })
        .unwrap_err();
        assert!(err.contains("Kubernetes v1.20.7 is not supported"), "{err}");
    }

    const KINDNET: &str = "        env:
        - name: POD_SUBNET
          value: {{ .PodSubnet }}
        - name: OTHER
          value: \"{{.PodSubnet}}\"
";

    #[test]
    fn the_cni_template_gets_the_pod_subnet() {
        let rendered = render_cni(KINDNET, POD_SUBNET).unwrap();
        assert_eq!(
            rendered,
            "        env:
        - name: POD_SUBNET
          value: 10.244.0.0/16
        - name: OTHER
          value: \"10.244.0.0/16\"
"
        );
        assert_eq!(
            render_cni("kind: DaemonSet\n", POD_SUBNET).unwrap(),
            "kind: DaemonSet\n"
        );
    }

    #[test]
    fn unknown_cni_template_fields_are_refused() {
        let err = render_cni("a: {{ .PodSubnet }}\nb: {{ .Unknown }}\n", POD_SUBNET).unwrap_err();
        assert!(err.ends_with("does not fill: b: {{ .Unknown }}"), "{err}");
    }

    const ADMIN_CONF: &str = "apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0t
    server: https://172.17.0.2:6443
  name: pss-harness
contexts:
- context:
    cluster: pss-harness
    user: kubernetes-admin
  name: kubernetes-admin@pss-harness
current-context: kubernetes-admin@pss-harness
kind: Config
users:
- name: kubernetes-admin
  user:
    client-certificate-data: LS0t
";

    #[test]
    fn the_kubeconfig_points_at_the_published_port() {
        let rewritten = point_kubeconfig_at(ADMIN_CONF, "https://127.0.0.1:40123").unwrap();
        assert_eq!(
            rewritten,
            ADMIN_CONF.replace("https://172.17.0.2:6443", "https://127.0.0.1:40123")
        );
        let parsed = kube::config::Kubeconfig::from_yaml(&rewritten).unwrap();
        let cluster = parsed.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(cluster.server.as_deref(), Some("https://127.0.0.1:40123"));
    }

    #[test]
    fn a_kubeconfig_without_a_server_is_an_error() {
        let err = point_kubeconfig_at("apiVersion: v1\nkind: Config\n", "https://x").unwrap_err();
        assert!(err.contains("names no server"), "{err}");
    }
}
