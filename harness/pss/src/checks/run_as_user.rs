//! `runAsUser` (restricted, v1.23+; from v1.35 pods in a user namespace are exempt).
//!
//! Containers must not set the user ID to 0 (root).
//!
//! Restricted fields: `spec.securityContext.runAsUser` and
//! `spec.{initContainers,containers,ephemeralContainers}[*].securityContext.runAsUser`.
//! Allowed values: absent, any non-zero value. A pod-level 0 is reported even when every
//! container overrides it.

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::CheckEntry;
use super::run_as_non_root::in_user_namespace;
use crate::containers::visit;
use crate::format::setters;
use crate::result::{BadValue, CheckOptions, FieldError, Forbidden, Violations};

pub(crate) const ENTRIES: &[CheckEntry] = &[CheckEntry::new(23, v1_23), CheckEntry::new(35, v1_35)];

fn v1_35(meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    if in_user_namespace(spec) {
        return None;
    }
    v1_23(meta, spec, opts)
}

fn v1_23(_meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    let pod_bad = spec.security_context.as_ref().and_then(|sc| sc.run_as_user) == Some(0);
    let mut bad = Violations::new(opts);
    if pod_bad {
        bad.add_error(|| root_error("spec.securityContext.runAsUser".to_owned()));
    }
    for c in visit(spec) {
        if c.security_context.and_then(|sc| sc.run_as_user) == Some(0) {
            bad.add(c.name, || {
                root_error(format!("{}.securityContext.runAsUser", c.path()))
            });
        }
    }
    if !pod_bad && bad.is_empty() {
        return None;
    }
    let detail = setters(pod_bad, bad.names(), " must not set runAsUser=0");
    Some(Forbidden {
        reason: "runAsUser=0",
        detail,
        field_errors: bad.into_errors(),
    })
}

fn root_error(path: String) -> FieldError {
    FieldError::forbidden(path, BadValue::Int(0))
}

#[cfg(test)]
mod tests {
    use crate::CheckId;
    use crate::result::{BadValue, FieldError};
    use crate::testing::{TestPod, check_detail, check_field_errors, pod};
    use serde_json::json;

    const ID: CheckId = CheckId::RunAsUser;

    fn containers_pod() -> TestPod {
        pod(
            json!({"securityContext": {"runAsUser": 1000}, "containers": [
                {"name": "a"},
                {"name": "b", "securityContext": {}},
                {"name": "c", "securityContext": {"runAsUser": 0}},
                {"name": "d", "securityContext": {"runAsUser": 0}},
                {"name": "e", "securityContext": {"runAsUser": 1}},
            ]}),
        )
    }

    #[test]
    fn upstream_examples() {
        let p = pod(json!({"securityContext": {"runAsUser": 0}, "containers": [{"name": "a"}]}));
        assert_eq!(
            check_detail(ID, 23, &p).as_deref(),
            Some("runAsUser=0 (pod must not set runAsUser=0)")
        );
        assert_eq!(
            check_detail(ID, 23, &containers_pod()).as_deref(),
            Some("runAsUser=0 (containers \"c\", \"d\" must not set runAsUser=0)")
        );
    }

    #[test]
    fn pod_zero_is_reported_even_when_containers_override() {
        let p = pod(json!({"securityContext": {"runAsUser": 0}, "containers": [
            {"name": "a", "securityContext": {"runAsUser": 1}},
            {"name": "b", "securityContext": {"runAsUser": 0}},
        ]}));
        assert_eq!(
            check_detail(ID, 37, &p).as_deref(),
            Some("runAsUser=0 (pod and container \"b\" must not set runAsUser=0)")
        );
    }

    #[test]
    fn absent_and_non_zero_are_allowed() {
        let p = pod(
            json!({"securityContext": {"runAsUser": 1000}, "containers": [
            {"name": "a"}, {"name": "b", "securityContext": {"runAsUser": -1}}]}),
        );
        assert_eq!(check_detail(ID, 37, &p), None);
    }

    #[test]
    fn version_boundaries() {
        assert_eq!(check_detail(ID, 22, &containers_pod()), None);
        assert!(check_detail(ID, 23, &containers_pod()).is_some());
        let ns = |host_users: bool| {
            pod(json!({"hostUsers": host_users, "containers": [
                {"name": "c", "securityContext": {"runAsUser": 0}}]}))
        };
        assert!(check_detail(ID, 34, &ns(false)).is_some());
        assert_eq!(check_detail(ID, 35, &ns(false)), None);
        assert!(check_detail(ID, 35, &ns(true)).is_some());
    }

    #[test]
    fn field_errors_are_pod_then_containers_with_int_zero() {
        let p = pod(
            json!({"securityContext": {"runAsUser": 0}, "initContainers": [
            {"name": "i", "securityContext": {"runAsUser": 0}}], "containers": [{"name": "c"}]}),
        );
        assert_eq!(
            check_field_errors(ID, 37, &p),
            [
                FieldError::forbidden("spec.securityContext.runAsUser".into(), BadValue::Int(0)),
                FieldError::forbidden(
                    "spec.initContainers[0].securityContext.runAsUser".into(),
                    BadValue::Int(0)
                ),
            ]
        );
        assert_eq!(check_field_errors(ID, 37, &containers_pod()).len(), 2);
    }
}
