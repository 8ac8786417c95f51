//! `runAsNonRoot` (restricted, v1.0+; from v1.35 pods in a user namespace are exempt).
//!
//! Containers must be required to run as non-root users.
//!
//! Restricted fields: `spec.securityContext.runAsNonRoot` and
//! `spec.{initContainers,containers,ephemeralContainers}[*].securityContext.runAsNonRoot`.
//! Allowed values: `true`; absent at container level when the pod level is `true`.
//!
//! Offenders are explicit (`false` set on the pod or a container) or implicit (a container
//! leaves it unset and the pod does not opt in). Upstream reports only the explicit ones when
//! both exist. Entries: v1.0, and v1.35 which allows `hostUsers: false` (root in a user
//! namespace is not root on the node); older policy versions never relax.

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::CheckEntry;
use crate::containers::visit;
use crate::format::{pod_or, setters};
use crate::result::{BadValue, CheckOptions, FieldError, Forbidden, Violations};

pub(crate) const ENTRIES: &[CheckEntry] = &[CheckEntry::new(0, v1_0), CheckEntry::new(35, v1_35)];

const REASON: &str = "runAsNonRoot != true";

/// Whether `spec.hostUsers` is explicitly `false` (the pod runs in a user namespace), the
/// condition of the v1.35 relaxations. Absent means host users.
pub(super) fn in_user_namespace(spec: &PodSpec) -> bool {
    spec.host_users == Some(false)
}

fn v1_35(meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    if in_user_namespace(spec) {
        return None;
    }
    v1_0(meta, spec, opts)
}

fn v1_0(_meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    let pod_value = spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.run_as_non_root);
    let pod_bad = pod_value == Some(false);
    let pod_opts_in = pod_value == Some(true);
    let mut explicit = Violations::new(opts);
    let mut implicit = Violations::new(opts);
    for c in visit(spec) {
        let path = || format!("{}.securityContext.runAsNonRoot", c.path());
        match c.security_context.and_then(|sc| sc.run_as_non_root) {
            Some(false) => explicit.add(c.name, || {
                FieldError::forbidden(path(), BadValue::Bool(false))
            }),
            None if !pod_opts_in => implicit.add(c.name, || FieldError::required(path())),
            _ => {}
        }
    }
    let detail = if pod_bad || !explicit.is_empty() {
        let tail = " must not set securityContext.runAsNonRoot=false";
        setters(pod_bad, explicit.names(), tail)
    } else if !implicit.is_empty() {
        pod_or(
            implicit.names(),
            " must set securityContext.runAsNonRoot=true",
        )
    } else {
        return None;
    };
    let field_errors = field_errors(pod_bad, explicit, implicit);
    Some(Forbidden {
        reason: REASON,
        detail,
        field_errors,
    })
}

/// Kyverno's fork (`kyverno/pod-security-admission`, `policy/check_runAsNonRoot.go` as
/// indexed) lists every error: the pod's, the explicit containers', then the implicit
/// containers' `Required` ones, even though the detail names only the explicit offenders.
fn field_errors(
    pod_bad: bool,
    explicit: Violations<'_>,
    implicit: Violations<'_>,
) -> Vec<FieldError> {
    if !explicit.wants_errors() {
        return Vec::new();
    }
    let mut errors = Vec::new();
    if pod_bad {
        errors.push(FieldError::forbidden(
            "spec.securityContext.runAsNonRoot".to_owned(),
            BadValue::Bool(false),
        ));
    }
    errors.extend(explicit.into_errors());
    errors.extend(implicit.into_errors());
    errors
}

#[cfg(test)]
mod tests {
    use crate::CheckId;
    use crate::result::{BadValue, FieldError};
    use crate::testing::{TestPod, check_detail, check_field_errors, pod};
    use serde_json::json;

    const ID: CheckId = CheckId::RunAsNonRoot;

    fn detail(minor: u32, p: &TestPod) -> Option<String> {
        check_detail(ID, minor, p)
    }

    #[test]
    fn upstream_examples() {
        let p = pod(json!({"containers": [{"name": "a"}]}));
        assert_eq!(
            detail(0, &p).as_deref(),
            Some(
                "runAsNonRoot != true (pod or container \"a\" must set \
                 securityContext.runAsNonRoot=true)"
            )
        );
        let p =
            pod(json!({"securityContext": {"runAsNonRoot": false}, "containers": [{"name": "a"}]}));
        assert_eq!(
            detail(0, &p).as_deref(),
            Some("runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false)")
        );
        let p = pod(
            json!({"securityContext": {"runAsNonRoot": true}, "containers": [
                {"name": "a"},
                {"name": "b", "securityContext": {}},
                {"name": "c", "securityContext": {"runAsNonRoot": false}},
                {"name": "d", "securityContext": {"runAsNonRoot": false}},
                {"name": "e", "securityContext": {"runAsNonRoot": true}},
            ]}),
        );
        assert_eq!(
            detail(0, &p).as_deref(),
            Some(
                "runAsNonRoot != true (containers \"c\", \"d\" must not set \
                 securityContext.runAsNonRoot=false)"
            )
        );
        let p = pod(json!({"containers": [
            {"name": "a"},
            {"name": "b", "securityContext": {}},
            {"name": "d", "securityContext": {"runAsNonRoot": true}},
        ]}));
        assert_eq!(
            detail(0, &p).as_deref(),
            Some(
                "runAsNonRoot != true (pod or containers \"a\", \"b\" must set \
                 securityContext.runAsNonRoot=true)"
            )
        );
    }

    #[test]
    fn pod_false_wins_over_containers_true() {
        // E4
        let p = pod(
            json!({"securityContext": {"runAsNonRoot": false}, "containers": [
                {"name": "a", "securityContext": {"runAsNonRoot": true}},
                {"name": "b", "securityContext": {"runAsNonRoot": true}},
            ]}),
        );
        assert_eq!(
            detail(37, &p).as_deref(),
            Some("runAsNonRoot != true (pod must not set securityContext.runAsNonRoot=false)")
        );
    }

    #[test]
    fn pod_true_covers_unset_containers() {
        // E5
        let p = pod(
            json!({"securityContext": {"runAsNonRoot": true}, "containers": [
                {"name": "c", "securityContext": {"runAsNonRoot": false}},
                {"name": "d"},
            ]}),
        );
        assert_eq!(
            detail(37, &p).as_deref(),
            Some(
                "runAsNonRoot != true (container \"c\" must not set \
                 securityContext.runAsNonRoot=false)"
            )
        );
    }

    #[test]
    fn explicit_offenders_hide_implicit_ones() {
        // E6
        let p = pod(json!({"containers": [
            {"name": "a", "securityContext": {"runAsNonRoot": false}},
            {"name": "b"},
        ]}));
        assert_eq!(
            detail(37, &p).as_deref(),
            Some(
                "runAsNonRoot != true (container \"a\" must not set \
                 securityContext.runAsNonRoot=false)"
            )
        );
    }

    #[test]
    fn pod_and_containers_join_with_and() {
        let p = pod(
            json!({"securityContext": {"runAsNonRoot": false}, "initContainers": [
            {"name": "i", "securityContext": {"runAsNonRoot": false}}], "containers": [
            {"name": "c", "securityContext": {"runAsNonRoot": false}}]}),
        );
        assert_eq!(
            detail(37, &p).as_deref(),
            Some(
                "runAsNonRoot != true (pod and containers \"i\", \"c\" must not set \
                 securityContext.runAsNonRoot=false)"
            )
        );
    }

    #[test]
    fn zero_containers_are_allowed() {
        // E33
        assert_eq!(detail(37, &pod(json!({}))), None);
    }

    #[test]
    fn user_namespaces_relax_only_from_v1_35() {
        let p =
            |host_users: bool| pod(json!({"hostUsers": host_users, "containers": [{"name": "a"}]}));
        assert!(detail(34, &p(false)).is_some());
        assert_eq!(detail(35, &p(false)), None);
        assert!(detail(35, &p(true)).is_some());
        assert!(detail(37, &pod(json!({"containers": [{"name": "a"}]}))).is_some());
    }

    #[test]
    fn windows_is_not_exempt() {
        let p = pod(json!({"os": {"name": "windows"}, "containers": [{"name": "a"}]}));
        assert!(detail(37, &p).is_some());
    }

    #[test]
    fn field_errors_list_explicit_then_implicit() {
        let p = pod(
            json!({"securityContext": {"runAsNonRoot": false}, "containers": [
                {"name": "a"},
                {"name": "b", "securityContext": {"runAsNonRoot": false}},
            ]}),
        );
        assert_eq!(
            check_field_errors(ID, 37, &p),
            [
                FieldError::forbidden(
                    "spec.securityContext.runAsNonRoot".into(),
                    BadValue::Bool(false)
                ),
                FieldError::forbidden(
                    "spec.containers[1].securityContext.runAsNonRoot".into(),
                    BadValue::Bool(false)
                ),
                FieldError::required("spec.containers[0].securityContext.runAsNonRoot".into()),
            ]
        );
        let p = pod(json!({"containers": [{"name": "a"}]}));
        assert_eq!(
            check_field_errors(ID, 0, &p),
            [FieldError::required(
                "spec.containers[0].securityContext.runAsNonRoot".into()
            )]
        );
    }
}
