//! `sysctls` (baseline; entries v1.0, v1.27, v1.29, v1.32, v1.37).
//!
//! Sysctls can disable security mechanisms or affect every container on the node, so only a
//! "safe" subset (namespaced per pod and isolated from other pods) is allowed.
//!
//! Restricted field: `spec.securityContext.sysctls[*].name` (the value is never inspected).
//! Allowed values: the safe names below, exact (slash notation is not normalised), growing
//! with the version.
//!
//! The detail is the forbidden names in spec order, not deduplicated and not quoted, joined
//! by `", "`. A forbidden sysctl named `""` therefore yields an empty detail.

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::CheckEntry;
use crate::result::{BadValue, CheckOptions, FieldError, Forbidden, Violations};

pub(crate) const ENTRIES: &[CheckEntry] = &[
    CheckEntry::new(0, v1_0),
    CheckEntry::new(27, v1_27),
    CheckEntry::new(29, v1_29),
    CheckEntry::new(32, v1_32),
    CheckEntry::new(37, v1_37),
];

/// Every safe sysctl, in the order the versions added them. A version allows a prefix.
const SAFE: [&str; 14] = [
    // v1.0
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_unprivileged_port_start",
    // v1.27
    "net.ipv4.ip_local_reserved_ports",
    // v1.29
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    // v1.32
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
    // v1.37
    "net.ipv4.tcp_slow_start_after_idle",
    "net.ipv4.tcp_notsent_lowat",
];

fn v1_0(_meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    check(spec, opts, &SAFE[..5])
}

fn v1_27(_meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    check(spec, opts, &SAFE[..6])
}

fn v1_29(_meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    check(spec, opts, &SAFE[..10])
}

fn v1_32(_meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    check(spec, opts, &SAFE[..12])
}

fn v1_37(_meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    check(spec, opts, &SAFE)
}

fn check(spec: &PodSpec, opts: CheckOptions, safe: &[&str]) -> Option<Forbidden> {
    let sysctls = spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.sysctls.as_deref());
    let mut bad = Violations::new(opts);
    for (i, sysctl) in sysctls.unwrap_or_default().iter().enumerate() {
        if !safe.contains(&sysctl.name.as_str()) {
            bad.add(&sysctl.name, || {
                FieldError::forbidden(
                    format!("spec.securityContext.sysctls[{i}].name"),
                    BadValue::Str(sysctl.name.clone()),
                )
            });
        }
    }
    if bad.is_empty() {
        return None;
    }
    let detail = bad.names().join(", ");
    Some(Forbidden {
        reason: "forbidden sysctls",
        detail,
        field_errors: bad.into_errors(),
    })
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use crate::CheckId;
    use crate::result::{BadValue, FieldError};
    use crate::testing::{TestPod, check_detail, check_field_errors, pod};

    fn with_sysctls(names: &[&str]) -> TestPod {
        let sysctls: Vec<_> = names
            .iter()
            .map(|n| serde_json::json!({"name": n, "value": "0"}))
            .collect();
        pod(serde_json::json!({"securityContext": {"sysctls": sysctls}}))
    }

    #[test]
    fn upstream_example() {
        let p = with_sysctls(&["a", "b"]);
        assert_eq!(
            check_detail(CheckId::Sysctls, 0, &p).as_deref(),
            Some("forbidden sysctls (a, b)")
        );
    }

    /// E22: spec order, no dedup, no quotes; a sysctl named "" leaves a bare reason.
    #[test]
    fn e22_spec_order_no_dedup_and_empty_name() {
        let p = with_sysctls(&["b", "a", "b", "kernel.shm_rmid_forced"]);
        assert_eq!(
            check_detail(CheckId::Sysctls, 37, &p).as_deref(),
            Some("forbidden sysctls (b, a, b)")
        );
        let empty = with_sysctls(&[""]);
        assert_eq!(
            check_detail(CheckId::Sysctls, 37, &empty).as_deref(),
            Some("forbidden sysctls")
        );
    }

    #[test]
    fn slash_notation_is_not_normalised() {
        let p = with_sysctls(&["net/ipv4/tcp_syncookies"]);
        assert_eq!(
            check_detail(CheckId::Sysctls, 37, &p).as_deref(),
            Some("forbidden sysctls (net/ipv4/tcp_syncookies)")
        );
    }

    #[test]
    fn v1_0_names_are_always_safe() {
        let p = with_sysctls(&[
            "kernel.shm_rmid_forced",
            "net.ipv4.ip_local_port_range",
            "net.ipv4.tcp_syncookies",
            "net.ipv4.ping_group_range",
            "net.ipv4.ip_unprivileged_port_start",
        ]);
        assert_eq!(check_detail(CheckId::Sysctls, 0, &p), None);
        assert_eq!(check_detail(CheckId::Sysctls, 37, &p), None);
    }

    /// Each version boundary: forbidden one minor below, allowed from it on.
    #[rstest]
    #[case("net.ipv4.ip_local_reserved_ports", 27)]
    #[case("net.ipv4.tcp_keepalive_time", 29)]
    #[case("net.ipv4.tcp_fin_timeout", 29)]
    #[case("net.ipv4.tcp_keepalive_intvl", 29)]
    #[case("net.ipv4.tcp_keepalive_probes", 29)]
    #[case("net.ipv4.tcp_rmem", 32)]
    #[case("net.ipv4.tcp_wmem", 32)]
    #[case("net.ipv4.tcp_slow_start_after_idle", 37)]
    #[case("net.ipv4.tcp_notsent_lowat", 37)]
    fn safe_from_its_version(#[case] name: &str, #[case] since: u32) {
        let p = with_sysctls(&[name]);
        let denied = format!("forbidden sysctls ({name})");
        assert_eq!(
            check_detail(CheckId::Sysctls, since - 1, &p),
            Some(denied.clone())
        );
        assert_eq!(check_detail(CheckId::Sysctls, 0, &p), Some(denied));
        assert_eq!(check_detail(CheckId::Sysctls, since, &p), None);
        assert_eq!(check_detail(CheckId::Sysctls, 37, &p), None);
    }

    #[test]
    fn field_errors_index_the_sysctl() {
        let p = with_sysctls(&["kernel.shm_rmid_forced", "x", "y"]);
        assert_eq!(
            check_field_errors(CheckId::Sysctls, 37, &p),
            vec![
                FieldError::forbidden(
                    "spec.securityContext.sysctls[1].name".into(),
                    BadValue::Str("x".into())
                ),
                FieldError::forbidden(
                    "spec.securityContext.sysctls[2].name".into(),
                    BadValue::Str("y".into())
                ),
            ]
        );
    }
}
