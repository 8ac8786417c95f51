//! `capabilities_baseline` (baseline, v1.0+; at restricted only for v1.0–v1.21, where
//! `capabilities_restricted` takes over).
//!
//! Adding capabilities beyond the container runtime's default set must be disallowed.
//!
//! Restricted fields:
//! `spec.{initContainers,containers,ephemeralContainers}[*].securityContext.capabilities.add`.
//! Allowed values: absent, empty, or only names from the default set below (exact and
//! case-sensitive, no `CAP_` prefix). `drop` is not looked at.
//!
//! The detail lists the bad containers in visit order and the forbidden capabilities of all
//! of them, deduplicated and sorted.

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::CheckEntry;
use crate::containers::visit;
use crate::format::{join_quote, noun, sorted_unique};
use crate::result::{BadValue, CheckOptions, FieldError, Forbidden, Violations};

pub(crate) const ENTRIES: &[CheckEntry] = &[CheckEntry::new(0, v1_0)];

/// The container runtime's default capabilities, which baseline allows to be added.
const ALLOWED: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

fn is_allowed(cap: &str) -> bool {
    ALLOWED.contains(&cap)
}

fn v1_0(_meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    let mut bad = Violations::new(opts);
    let mut caps: Vec<&str> = Vec::new();
    for c in visit(spec) {
        let added = c
            .security_context
            .and_then(|sc| sc.capabilities.as_ref())
            .and_then(|cap| cap.add.as_deref());
        let before = caps.len();
        caps.extend(
            added
                .unwrap_or_default()
                .iter()
                .map(String::as_str)
                .filter(|cap| !is_allowed(cap)),
        );
        if caps.len() > before {
            let own = &caps[before..];
            // The fork reports the container's own forbidden capabilities as a sorted set.
            bad.add(c.name, || {
                FieldError::forbidden(
                    format!("{}.securityContext.capabilities.add", c.path()),
                    BadValue::StrList(sorted_unique(own.iter().map(|s| (*s).to_owned()).collect())),
                )
            });
        }
    }
    if bad.is_empty() {
        return None;
    }
    let detail = format!(
        "{} {} must not include {} in securityContext.capabilities.add",
        noun(bad.len(), "container", "containers"),
        join_quote(bad.names()),
        join_quote(&sorted_unique(caps)),
    );
    Some(Forbidden {
        reason: "non-default capabilities",
        detail,
        field_errors: bad.into_errors(),
    })
}

#[cfg(test)]
mod tests {
    use crate::CheckId;
    use crate::result::{BadValue, FieldError};
    use crate::testing::{check_detail, check_field_errors, pod};

    fn adds(name: &str, caps: &[&str]) -> serde_json::Value {
        serde_json::json!({"name": name, "securityContext": {"capabilities": {"add": caps}}})
    }

    #[test]
    fn upstream_example_sorts_and_merges_caps() {
        let p = pod(serde_json::json!({"containers": [
            adds("a", &["FOO", "BAR"]),
            adds("b", &["BAR", "BAZ"]),
        ]}));
        assert_eq!(
            check_detail(CheckId::CapabilitiesBaseline, 0, &p).as_deref(),
            Some(
                "non-default capabilities (containers \"a\", \"b\" must not include \
                 \"BAR\", \"BAZ\", \"FOO\" \
                 in securityContext.capabilities.add)"
            )
        );
    }

    /// E11 (baseline part): the `CAP_` prefix is not stripped.
    #[test]
    fn e11_cap_prefix_is_forbidden() {
        let p = pod(serde_json::json!({"containers": [adds("c", &["CAP_SYS_ADMIN"])]}));
        assert_eq!(
            check_detail(CheckId::CapabilitiesBaseline, 37, &p).as_deref(),
            Some(
                "non-default capabilities (container \"c\" must not include \"CAP_SYS_ADMIN\" in \
                 securityContext.capabilities.add)"
            )
        );
    }

    /// E16 (baseline part): Windows pods get no exemption at baseline.
    #[test]
    fn e16_windows_pod_is_not_exempt_at_baseline() {
        let p = pod(serde_json::json!({
            "os": {"name": "windows"},
            "containers": [adds("c", &["NET_RAW"])],
        }));
        assert_eq!(
            check_detail(CheckId::CapabilitiesBaseline, 25, &p).as_deref(),
            Some(
                "non-default capabilities (container \"c\" must not include \"NET_RAW\" in \
                 securityContext.capabilities.add)"
            )
        );
    }

    #[test]
    fn allows_default_set_and_ignores_drop() {
        let all = [
            "AUDIT_WRITE",
            "CHOWN",
            "DAC_OVERRIDE",
            "FOWNER",
            "FSETID",
            "KILL",
            "MKNOD",
            "NET_BIND_SERVICE",
            "SETFCAP",
            "SETGID",
            "SETPCAP",
            "SETUID",
            "SYS_CHROOT",
        ];
        let p = pod(serde_json::json!({"containers": [
            adds("a", &all),
            {"name": "b", "securityContext": {"capabilities": {"drop": ["ALL"]}}},
            {"name": "c", "securityContext": {}},
        ]}));
        assert_eq!(check_detail(CheckId::CapabilitiesBaseline, 37, &p), None);
    }

    #[test]
    fn lowercase_is_forbidden() {
        let p = pod(serde_json::json!({"initContainers": [adds("i", &["chown"])]}));
        assert_eq!(
            check_detail(CheckId::CapabilitiesBaseline, 37, &p).as_deref(),
            Some(
                "non-default capabilities (container \"i\" must not include \"chown\" in \
                 securityContext.capabilities.add)"
            )
        );
    }

    #[test]
    fn field_error_carries_the_containers_own_sorted_caps() {
        let p = pod(serde_json::json!({"containers": [
            adds("a", &["NET_RAW", "CHOWN", "BPF", "NET_RAW"]),
            adds("b", &["X"]),
        ]}));
        assert_eq!(
            check_field_errors(CheckId::CapabilitiesBaseline, 37, &p),
            vec![
                FieldError::forbidden(
                    "spec.containers[0].securityContext.capabilities.add".into(),
                    BadValue::StrList(vec!["BPF".into(), "NET_RAW".into()])
                ),
                FieldError::forbidden(
                    "spec.containers[1].securityContext.capabilities.add".into(),
                    BadValue::StrList(vec!["X".into()])
                ),
            ]
        );
    }
}
