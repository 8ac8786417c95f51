//! `hostProbesAndHostLifecycle` (baseline, v1.34+).
//!
//! A probe or lifecycle handler with a `host` makes the kubelet connect to an arbitrary
//! address on the pod's behalf, so the field must stay unset.
//!
//! Restricted fields, for every init, regular and ephemeral container:
//! `{livenessProbe,readinessProbe,startupProbe}.{httpGet,tcpSocket}.host` and
//! `lifecycle.{postStart,preStop}.{httpGet,tcpSocket}.host`.
//! Allowed values: absent, `""`. gRPC, exec and sleep handlers are not inspected.
//!
//! Unlike every other check, both the container names and the hosts in the detail are
//! deduplicated and sorted. Kyverno's fork builds no field errors for this check.

use k8s_openapi::api::core::v1::{HTTPGetAction, PodSpec, TCPSocketAction};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::CheckEntry;
use crate::containers::{ContainerView, visit};
use crate::format::{join_quote, noun, sorted_unique};
use crate::result::{CheckOptions, Forbidden};

pub(crate) const ENTRIES: &[CheckEntry] = &[CheckEntry::new(34, v1_34)];

fn v1_34(_meta: &ObjectMeta, spec: &PodSpec, _opts: CheckOptions) -> Option<Forbidden> {
    let mut names: Vec<&str> = Vec::new();
    let mut hosts: Vec<&str> = Vec::new();
    for c in visit(spec) {
        let before = hosts.len();
        hosts.extend(handler_hosts(&c));
        if hosts.len() > before {
            names.push(c.name);
        }
    }
    if names.is_empty() {
        return None;
    }
    let names = sorted_unique(names);
    let hosts = sorted_unique(hosts);
    let detail = format!(
        "{} {} {} {} {}",
        noun(names.len(), "container", "containers"),
        join_quote(&names),
        noun(names.len(), "uses", "use"),
        noun(
            hosts.len(),
            "probe or lifecycle host",
            "probe or lifecycle hosts"
        ),
        join_quote(&hosts),
    );
    Some(Forbidden {
        reason: "probe or lifecycle host",
        detail,
        field_errors: Vec::new(),
    })
}

/// Every non-empty `host` of the container's probes and lifecycle handlers.
fn handler_hosts<'a>(c: &ContainerView<'a>) -> impl Iterator<Item = &'a str> {
    let probes = [c.liveness_probe, c.readiness_probe, c.startup_probe]
        .into_iter()
        .flatten()
        .map(|p| (p.http_get.as_ref(), p.tcp_socket.as_ref()));
    let handlers = c
        .lifecycle
        .into_iter()
        .flat_map(|l| [l.post_start.as_ref(), l.pre_stop.as_ref()])
        .flatten()
        .map(|h| (h.http_get.as_ref(), h.tcp_socket.as_ref()));
    probes
        .chain(handlers)
        .flat_map(|(http, tcp)| [http_host(http), tcp_host(tcp)])
        .flatten()
}

fn http_host(a: Option<&HTTPGetAction>) -> Option<&str> {
    a.and_then(|a| a.host.as_deref()).filter(|h| !h.is_empty())
}

fn tcp_host(a: Option<&TCPSocketAction>) -> Option<&str> {
    a.and_then(|a| a.host.as_deref()).filter(|h| !h.is_empty())
}

#[cfg(test)]
mod tests {
    use crate::CheckId;
    use crate::testing::{check_detail, check_field_errors, pod};

    fn http(host: &str) -> serde_json::Value {
        serde_json::json!({"httpGet": {"port": 80, "host": host}})
    }

    fn tcp(host: &str) -> serde_json::Value {
        serde_json::json!({"tcpSocket": {"port": 80, "host": host}})
    }

    #[test]
    fn upstream_one_container_many_hosts() {
        let p = pod(serde_json::json!({"containers": [{
            "name": "a",
            "livenessProbe": http("localhost"),
            "readinessProbe": tcp("127.0.0.1"),
            "startupProbe": http("::1"),
            "lifecycle": {"postStart": http("localhost"), "preStop": tcp("")},
        }]}));
        assert_eq!(
            check_detail(CheckId::HostProbesAndHostLifecycle, 34, &p).as_deref(),
            Some(
                "probe or lifecycle host (container \"a\" uses probe or lifecycle hosts \
                 \"127.0.0.1\", \
                 \"::1\", \"localhost\")"
            )
        );
    }

    #[test]
    fn upstream_two_containers() {
        let p = pod(serde_json::json!({"containers": [
            {"name": "invalid2", "lifecycle": {"preStop": tcp("b.com")}},
            {"name": "valid", "livenessProbe": http("")},
            {"name": "invalid1", "readinessProbe": http("a.com")},
        ]}));
        assert_eq!(
            check_detail(CheckId::HostProbesAndHostLifecycle, 37, &p).as_deref(),
            Some(
                "probe or lifecycle host (containers \"invalid1\", \"invalid2\" use \
                 probe or lifecycle \
                 hosts \"a.com\", \"b.com\")"
            )
        );
    }

    #[test]
    fn upstream_init_container() {
        let p = pod(serde_json::json!({"initContainers": [
            {"name": "init", "startupProbe": tcp("invalid.init.host")},
        ]}));
        assert_eq!(
            check_detail(CheckId::HostProbesAndHostLifecycle, 37, &p).as_deref(),
            Some(
                "probe or lifecycle host (container \"init\" uses probe or lifecycle host \
                 \"invalid.init.host\")"
            )
        );
    }

    /// E23: names and hosts are sorted and deduplicated.
    #[test]
    fn e23_sorted_and_deduplicated() {
        let p = pod(serde_json::json!({
            "containers": [{"name": "z", "livenessProbe": http("h")}],
            "ephemeralContainers": [
                {"name": "a", "readinessProbe": tcp("h")},
                {"name": "z", "startupProbe": tcp("h")},
            ],
        }));
        assert_eq!(
            check_detail(CheckId::HostProbesAndHostLifecycle, 37, &p).as_deref(),
            Some(
                "probe or lifecycle host (containers \"a\", \"z\" use probe or lifecycle \
                 host \"h\")"
            )
        );
    }

    #[test]
    fn starts_at_v1_34_and_builds_no_field_errors() {
        let p = pod(serde_json::json!({"containers": [{"name": "c", "livenessProbe": http("x")}]}));
        assert_eq!(
            check_detail(CheckId::HostProbesAndHostLifecycle, 33, &p),
            None
        );
        assert_eq!(
            check_detail(CheckId::HostProbesAndHostLifecycle, 0, &p),
            None
        );
        assert!(check_detail(CheckId::HostProbesAndHostLifecycle, 34, &p).is_some());
        assert!(check_field_errors(CheckId::HostProbesAndHostLifecycle, 37, &p).is_empty());
        assert_eq!(CheckId::HostProbesAndHostLifecycle.introduced_in(), 34);
    }

    #[test]
    fn grpc_exec_and_absent_hosts_are_allowed() {
        let p = pod(serde_json::json!({"containers": [{
            "name": "c",
            "livenessProbe": {"grpc": {"port": 9000}},
            "readinessProbe": {"exec": {"command": ["true"]}},
            "startupProbe": {"httpGet": {"port": 80}},
            "lifecycle": {
                "preStop": {"sleep": {"seconds": 1}},
                "postStart": {"exec": {"command": ["x"]}},
            },
        }]}));
        assert_eq!(
            check_detail(CheckId::HostProbesAndHostLifecycle, 37, &p),
            None
        );
    }
}
