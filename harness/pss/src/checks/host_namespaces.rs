//! `hostNamespaces` (baseline, v1.0+).
//!
//! Sharing the host's network, PID or IPC namespace breaks the pod's isolation from the node
//! and must be disallowed.
//!
//! Restricted fields: `spec.hostNetwork`, `spec.hostPID`, `spec.hostIPC`.
//! Allowed values: absent, `false`.
//!
//! The detail lists the offending fields in that fixed order, unquoted, joined by `", "`.

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::CheckEntry;
use crate::result::{BadValue, CheckOptions, FieldError, Forbidden, Violations};

pub(crate) const ENTRIES: &[CheckEntry] = &[CheckEntry::new(0, v1_0)];

/// The three fields in upstream's fixed order: detail item and field path.
const FIELDS: [(&str, &str); 3] = [
    ("hostNetwork=true", "spec.hostNetwork"),
    ("hostPID=true", "spec.hostPID"),
    ("hostIPC=true", "spec.hostIPC"),
];

fn v1_0(_meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    let set = [spec.host_network, spec.host_pid, spec.host_ipc].map(|f| f == Some(true));
    if !set.contains(&true) {
        return None;
    }
    let mut bad = Violations::new(opts);
    for ((item, path), _) in FIELDS.into_iter().zip(set).filter(|(_, on)| *on) {
        bad.add(item, || {
            FieldError::forbidden(path.to_owned(), BadValue::Bool(true))
        });
    }
    let detail = bad.names().join(", ");
    Some(Forbidden {
        reason: "host namespaces",
        detail,
        field_errors: bad.into_errors(),
    })
}

#[cfg(test)]
mod tests {
    use crate::CheckId;
    use crate::result::{BadValue, FieldError};
    use crate::testing::{check_detail, check_field_errors, pod};

    #[test]
    fn lists_all_three_in_fixed_order() {
        let p = pod(serde_json::json!({"hostIPC": true, "hostPID": true, "hostNetwork": true}));
        assert_eq!(
            check_detail(CheckId::HostNamespaces, 0, &p).as_deref(),
            Some("host namespaces (hostNetwork=true, hostPID=true, hostIPC=true)")
        );
    }

    #[test]
    fn lists_only_the_set_ones() {
        let p = pod(serde_json::json!({"hostNetwork": false, "hostPID": true, "hostIPC": true}));
        assert_eq!(
            check_detail(CheckId::HostNamespaces, 37, &p).as_deref(),
            Some("host namespaces (hostPID=true, hostIPC=true)")
        );
    }

    #[test]
    fn allows_absent_and_false() {
        let p = pod(serde_json::json!({"hostNetwork": false, "hostPID": false}));
        assert_eq!(check_detail(CheckId::HostNamespaces, 37, &p), None);
        assert!(check_field_errors(CheckId::HostNamespaces, 37, &p).is_empty());
    }

    #[test]
    fn field_errors_per_namespace() {
        let p = pod(serde_json::json!({"hostNetwork": true, "hostIPC": true}));
        assert_eq!(
            check_field_errors(CheckId::HostNamespaces, 37, &p),
            vec![
                FieldError::forbidden("spec.hostNetwork".into(), BadValue::Bool(true)),
                FieldError::forbidden("spec.hostIPC".into(), BadValue::Bool(true)),
            ]
        );
    }
}
