//! `capabilities_restricted` (restricted, v1.22+; overrides `capabilities_baseline`; from
//! v1.25 Windows pods are exempt).
//!
//! Containers must drop every capability and may add back only `NET_BIND_SERVICE`.
//!
//! Restricted fields:
//! `spec.{initContainers,containers,ephemeralContainers}[*].securityContext.capabilities.drop`
//! (must contain exactly `ALL`; dropping each capability by name, or `all`, does not count) and
//! `...securityContext.capabilities.add` (absent, empty, or only `NET_BIND_SERVICE`).
//!
//! Both entries override `capabilities_baseline`, so at restricted v1.25+ a Windows pod is not
//! checked for capabilities at all (edge case E16).

use k8s_openapi::api::core::v1::{Capabilities, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::allow_privilege_escalation::is_windows;
use super::{CheckEntry, CheckId};
use crate::containers::{ContainerView, visit};
use crate::format::{capacity, push_containers, push_join_quote, sorted_unique};
use crate::result::{BadValue, CheckOptions, FieldError, Forbidden, Violations};

const OVERRIDES: &[CheckId] = &[CheckId::CapabilitiesBaseline];

pub(crate) const ENTRIES: &[CheckEntry] = &[
    CheckEntry::overriding(22, v1_22, OVERRIDES),
    CheckEntry::overriding(25, v1_25, OVERRIDES),
];

const ALL: &str = "ALL";
const NET_BIND_SERVICE: &str = "NET_BIND_SERVICE";
const DROP_TAIL: &str = " must set securityContext.capabilities.drop=[\"ALL\"]";
const ADD_TAIL: &str = " in securityContext.capabilities.add";

fn v1_25(meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    if is_windows(spec) {
        return None;
    }
    v1_22(meta, spec, opts)
}

fn v1_22(_meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    let mut missing_drop = Violations::new(opts);
    let mut adding = Violations::new(opts);
    let mut forbidden_caps: Vec<&str> = Vec::new();
    for c in visit(spec) {
        let Some(caps) = c.security_context.and_then(|sc| sc.capabilities.as_ref()) else {
            missing_drop.add(c.name, || FieldError::required(cap_path(&c, "drop")));
            continue;
        };
        let drop = caps.drop.as_deref().unwrap_or_default();
        if !drop.iter().any(|d| d == ALL) {
            missing_drop.add(c.name, || drop_error(&c, drop));
        }
        if forbidden_adds(caps).next().is_some() {
            forbidden_caps.extend(forbidden_adds(caps));
            adding.add(c.name, || add_error(&c, caps));
        }
    }
    if missing_drop.is_empty() && adding.is_empty() {
        return None;
    }
    let detail = detail(missing_drop.names(), adding.names(), forbidden_caps);
    let mut field_errors = missing_drop.into_errors();
    field_errors.extend(adding.into_errors());
    Some(Forbidden {
        reason: "unrestricted capabilities",
        detail,
        field_errors,
    })
}

/// The added capabilities other than exactly `NET_BIND_SERVICE`.
fn forbidden_adds(caps: &Capabilities) -> impl Iterator<Item = &str> {
    caps.add
        .iter()
        .flatten()
        .map(String::as_str)
        .filter(|a| *a != NET_BIND_SERVICE)
}

/// `<missing-drop part>; <adding part>`, each present only when it has offenders.
fn detail(missing_drop: &[&str], adding: &[&str], forbidden_caps: Vec<&str>) -> String {
    let caps_len: usize = forbidden_caps.iter().map(|c| c.len() + 4).sum();
    let mut out = String::with_capacity(
        capacity(missing_drop, DROP_TAIL) + capacity(adding, ADD_TAIL) + caps_len,
    );
    if !missing_drop.is_empty() {
        push_containers(&mut out, missing_drop);
        out.push_str(DROP_TAIL);
    }
    if !adding.is_empty() {
        if !out.is_empty() {
            out.push_str("; ");
        }
        push_containers(&mut out, adding);
        out.push_str(" must not include ");
        push_join_quote(&mut out, &sorted_unique(forbidden_caps));
        out.push_str(ADD_TAIL);
    }
    out
}

fn cap_path(c: &ContainerView<'_>, leaf: &str) -> String {
    format!("{}.securityContext.capabilities.{leaf}", c.path())
}

/// The fork reports a missing or empty `drop` as `Required`, and otherwise `Forbidden` with
/// the container's drop list, sorted and deduplicated.
fn drop_error(c: &ContainerView<'_>, drop: &[String]) -> FieldError {
    if drop.is_empty() {
        return FieldError::required(cap_path(c, "drop"));
    }
    FieldError::forbidden(
        cap_path(c, "drop"),
        BadValue::StrList(sorted_unique(drop.to_vec())),
    )
}

/// `Forbidden` with this container's own forbidden adds, sorted and deduplicated (the detail
/// instead lists the forbidden adds of every container).
fn add_error(c: &ContainerView<'_>, caps: &Capabilities) -> FieldError {
    let values = sorted_unique(forbidden_adds(caps).map(str::to_owned).collect());
    FieldError::forbidden(cap_path(c, "add"), BadValue::StrList(values))
}

#[cfg(test)]
mod tests {
    use crate::CheckId;
    use crate::result::{BadValue, FieldError};
    use crate::testing::{TestPod, check_detail, check_field_errors, pod};
    use serde_json::json;

    const ID: CheckId = CheckId::CapabilitiesRestricted;

    fn upstream_pod() -> TestPod {
        pod(json!({"containers": [
            {"name": "a", "securityContext": {"capabilities": {"add": ["FOO", "BAR"]}}},
            {"name": "b", "securityContext": {"capabilities": {"add": ["BAR", "BAZ"]}}},
            {"name": "c", "securityContext": {"capabilities": {
                "add": ["NET_BIND_SERVICE", "CHOWN"], "drop": ["ALL", "FOO"]}}},
        ]}))
    }

    fn one(caps: serde_json::Value) -> TestPod {
        pod(json!({"containers": [{"name": "c", "securityContext": {"capabilities": caps}}]}))
    }

    #[test]
    fn upstream_example_has_both_parts() {
        assert_eq!(
            check_detail(ID, 22, &upstream_pod()).as_deref(),
            Some(
                "unrestricted capabilities (containers \"a\", \"b\" must set \
                 securityContext.capabilities.drop=[\"ALL\"]; containers \"a\", \"b\", \"c\" \
                 must not include \"BAR\", \"BAZ\", \"CHOWN\", \"FOO\" in \
                 securityContext.capabilities.add)"
            )
        );
    }

    #[test]
    fn missing_security_context_or_capabilities_only_needs_drop() {
        let p = pod(json!({"containers": [
            {"name": "a"},
            {"name": "b", "securityContext": {}},
            {"name": "c", "securityContext": {"capabilities":
                {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}},
        ]}));
        assert_eq!(
            check_detail(ID, 37, &p).as_deref(),
            Some(
                "unrestricted capabilities (containers \"a\", \"b\" must set \
                 securityContext.capabilities.drop=[\"ALL\"])"
            )
        );
    }

    #[test]
    fn drop_all_is_case_sensitive_and_individual_drops_do_not_count() {
        // E12
        let want = "unrestricted capabilities (container \"c\" must set \
                    securityContext.capabilities.drop=[\"ALL\"])";
        assert_eq!(
            check_detail(ID, 37, &one(json!({"drop": ["all"]}))).as_deref(),
            Some(want)
        );
        let each = one(json!({"drop": ["CHOWN", "KILL", "SETUID", "NET_RAW"]}));
        assert_eq!(check_detail(ID, 37, &each).as_deref(), Some(want));
        assert_eq!(check_detail(ID, 37, &one(json!({"drop": ["ALL"]}))), None);
    }

    #[test]
    fn cap_prefixed_add_is_forbidden_and_drop_part_comes_first() {
        // E11 at restricted
        assert_eq!(
            check_detail(ID, 22, &one(json!({"add": ["CAP_SYS_ADMIN"]}))).as_deref(),
            Some(
                "unrestricted capabilities (container \"c\" must set \
                 securityContext.capabilities.drop=[\"ALL\"]; container \"c\" must not include \
                 \"CAP_SYS_ADMIN\" in securityContext.capabilities.add)"
            )
        );
        assert_eq!(
            check_detail(
                ID,
                22,
                &one(json!({"drop": ["ALL"], "add": ["CAP_SYS_ADMIN"]}))
            )
            .as_deref(),
            Some(
                "unrestricted capabilities (container \"c\" must not include \"CAP_SYS_ADMIN\" \
                 in securityContext.capabilities.add)"
            )
        );
    }

    #[test]
    fn version_boundaries() {
        assert_eq!(check_detail(ID, 21, &upstream_pod()), None);
        assert!(check_detail(ID, 22, &upstream_pod()).is_some());
        let entries = ID.entries();
        assert_eq!(
            entries.iter().map(|e| e.min_minor).collect::<Vec<_>>(),
            [22, 25]
        );
        assert!(
            entries
                .iter()
                .all(|e| e.overrides == [CheckId::CapabilitiesBaseline])
        );
    }

    #[test]
    fn windows_is_exempt_from_v1_25_only() {
        // E14, E15
        let win = |os: &str| pod(json!({"os": {"name": os}, "containers": [{"name": "c"}]}));
        assert!(check_detail(ID, 24, &win("windows")).is_some());
        assert_eq!(check_detail(ID, 25, &win("windows")), None);
        assert!(check_detail(ID, 25, &win("Windows")).is_some());
        assert!(check_detail(ID, 25, &win("linux")).is_some());
    }

    #[test]
    fn field_errors_match_the_fork() {
        let path = |i: usize, leaf: &str| {
            format!("spec.containers[{i}].securityContext.capabilities.{leaf}")
        };
        let p = pod(json!({"containers": [
            {"name": "a"},
            {"name": "b", "securityContext": {"capabilities": {"drop": []}}},
            {"name": "c", "securityContext": {"capabilities":
                {"drop": ["KILL", "CHOWN", "KILL"], "add": ["B", "A"]}}},
            {"name": "d", "securityContext": {"capabilities":
                {"drop": ["ALL"], "add": ["NET_BIND_SERVICE", "C"]}}},
        ]}));
        let strs = |v: &[&str]| BadValue::StrList(v.iter().map(|s| s.to_string()).collect());
        assert_eq!(
            check_field_errors(ID, 37, &p),
            [
                FieldError::required(path(0, "drop")),
                FieldError::required(path(1, "drop")),
                FieldError::forbidden(path(2, "drop"), strs(&["CHOWN", "KILL"])),
                FieldError::forbidden(path(2, "add"), strs(&["A", "B"])),
                FieldError::forbidden(path(3, "add"), strs(&["C"])),
            ]
        );
        assert!(
            check_detail(ID, 37, &p)
                .unwrap()
                .contains("must not include \"A\", \"B\", \"C\" in")
        );
    }
}
