//! `hostPorts` (baseline, v1.0+).
//!
//! Host ports expose the pod on the node's network and should be disallowed (or limited to a
//! known list, which the standard leaves to other policy).
//!
//! Restricted fields: `spec.{initContainers,containers,ephemeralContainers}[*].ports[*].hostPort`.
//! Allowed values: absent, `0`. Any other value, negative included, is forbidden.
//!
//! The ports in the detail are deduplicated and sorted as decimal strings (`10000, 443, 80`)
//! and are not quoted; the verb agrees with the number of containers (`uses` / `use`).

use k8s_openapi::api::core::v1::{ContainerPort, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::CheckEntry;
use crate::containers::visit;
use crate::format::{join_quote, noun, sorted_unique};
use crate::result::{BadValue, CheckOptions, FieldError, Forbidden, Violations};

pub(crate) const ENTRIES: &[CheckEntry] = &[CheckEntry::new(0, v1_0)];

fn v1_0(_meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    let mut bad = Violations::new(opts);
    let mut ports: Vec<i32> = Vec::new();
    for c in visit(spec) {
        let mut container_is_bad = false;
        for (j, port) in host_ports(c.ports) {
            ports.push(port);
            let error = || {
                FieldError::forbidden(
                    format!("{}.ports[{j}].hostPort", c.path()),
                    BadValue::Int(i64::from(port)),
                )
            };
            // One name per container, one field error per bad port.
            if container_is_bad {
                bad.add_error(error);
            } else {
                bad.add(c.name, error);
                container_is_bad = true;
            }
        }
    }
    if bad.is_empty() {
        return None;
    }
    let ports = sorted_unique(ports.iter().map(i32::to_string).collect::<Vec<_>>());
    let detail = format!(
        "{} {} {} {} {}",
        noun(bad.len(), "container", "containers"),
        join_quote(bad.names()),
        noun(bad.len(), "uses", "use"),
        noun(ports.len(), "hostPort", "hostPorts"),
        ports.join(", "),
    );
    Some(Forbidden {
        reason: "hostPort",
        detail,
        field_errors: bad.into_errors(),
    })
}

/// The non-zero host ports of a container with their index in `ports`.
fn host_ports(ports: &[ContainerPort]) -> impl Iterator<Item = (usize, i32)> + '_ {
    ports
        .iter()
        .enumerate()
        .filter_map(|(j, p)| p.host_port.filter(|&h| h != 0).map(|h| (j, h)))
}

#[cfg(test)]
mod tests {
    use crate::CheckId;
    use crate::result::{BadValue, FieldError};
    use crate::testing::{check_detail, check_field_errors, pod};

    fn port(container_port: i32, host_port: Option<i32>) -> serde_json::Value {
        match host_port {
            Some(h) => serde_json::json!({"containerPort": container_port, "hostPort": h}),
            None => serde_json::json!({"containerPort": container_port}),
        }
    }

    #[test]
    fn one_container_one_port() {
        let p = pod(serde_json::json!({"containers": [
            {"name": "a", "ports": [{"containerPort": 80}]},
            {"name": "b", "ports": [{"containerPort": 80, "hostPort": 20}]},
        ]}));
        assert_eq!(
            check_detail(CheckId::HostPorts, 0, &p).as_deref(),
            Some("hostPort (container \"b\" uses hostPort 20)")
        );
    }

    #[test]
    fn many_containers_use_sorted_unique_ports() {
        let p = pod(serde_json::json!({"containers": [
            {"name": "a", "ports": [{"containerPort": 1, "hostPort": 0}]},
            {"name": "b", "ports": [port(1, Some(20)), port(2, Some(10))]},
            {"name": "c", "ports": [port(1, Some(30)), port(2, Some(10))]},
        ]}));
        assert_eq!(
            check_detail(CheckId::HostPorts, 37, &p).as_deref(),
            Some("hostPort (containers \"b\", \"c\" use hostPorts 10, 20, 30)")
        );
    }

    /// E10: `hostPort: 0` is allowed; ports sort as strings.
    #[test]
    fn e10_zero_is_allowed_and_ports_sort_as_strings() {
        let zero = pod(serde_json::json!({"containers": [
            {"name": "a", "ports": [{"containerPort": 80, "hostPort": 0}]},
        ]}));
        assert_eq!(check_detail(CheckId::HostPorts, 37, &zero), None);
        let p = pod(serde_json::json!({"containers": [
            {"name": "web", "ports": [port(80, Some(80)), port(443, Some(443))]},
            {"name": "dbg", "ports": [{"containerPort": 1, "hostPort": 10000}]},
        ]}));
        assert_eq!(
            check_detail(CheckId::HostPorts, 37, &p).as_deref(),
            Some("hostPort (containers \"web\", \"dbg\" use hostPorts 10000, 443, 80)")
        );
    }

    #[test]
    fn negative_port_is_forbidden_and_ephemeral_is_visited_last() {
        let p = pod(serde_json::json!({
            "ephemeralContainers": [{"name": "e", "ports": [{"containerPort": 1, "hostPort": 5}]}],
            "initContainers": [{"name": "i", "ports": [{"containerPort": 1, "hostPort": -1}]}],
        }));
        assert_eq!(
            check_detail(CheckId::HostPorts, 37, &p).as_deref(),
            Some("hostPort (containers \"i\", \"e\" use hostPorts -1, 5)")
        );
    }

    #[test]
    fn one_field_error_per_bad_port() {
        let p = pod(serde_json::json!({"containers": [
            {"name": "a"},
            {"name": "b", "ports": [port(1, Some(20)), port(2, None), port(3, Some(10))]},
        ]}));
        assert_eq!(
            check_field_errors(CheckId::HostPorts, 37, &p),
            vec![
                FieldError::forbidden(
                    "spec.containers[1].ports[0].hostPort".into(),
                    BadValue::Int(20)
                ),
                FieldError::forbidden(
                    "spec.containers[1].ports[2].hostPort".into(),
                    BadValue::Int(10)
                ),
            ]
        );
    }
}
