//! `seccompProfile_restricted` (restricted, v1.19+; overrides `seccompProfile_baseline`; from
//! v1.25 Windows pods are exempt).
//!
//! A seccomp profile must be set explicitly, and only to the runtime default or a local one.
//!
//! Restricted fields: `spec.securityContext.seccompProfile.type` and
//! `spec.{initContainers,containers,ephemeralContainers}[*].securityContext.seccompProfile.type`.
//! Allowed values: `RuntimeDefault`, `Localhost`; absent at container level when the pod sets
//! a valid type. `localhostProfile` is never inspected.
//!
//! Offenders are explicit (an invalid type on the pod or a container) or implicit (a container
//! without a profile when the pod has no valid one). Only explicit ones are reported when both
//! exist. Both entries override `seccompProfile_baseline`, so a Windows pod at restricted
//! v1.25+ is not checked for seccomp at all (edge case E16).

use k8s_openapi::api::core::v1::{PodSpec, SeccompProfile};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::allow_privilege_escalation::is_windows;
use super::{CheckEntry, CheckId};
use crate::containers::visit;
use crate::format::{pod_or, push_join_quote, setters, sorted_unique};
use crate::result::{BadValue, CheckOptions, FieldError, Forbidden, Violations};

const OVERRIDES: &[CheckId] = &[CheckId::SeccompProfileBaseline];

pub(crate) const ENTRIES: &[CheckEntry] = &[
    CheckEntry::overriding(19, v1_19, OVERRIDES),
    CheckEntry::overriding(25, v1_25, OVERRIDES),
];

const REASON: &str = "seccompProfile";

fn valid(profile: &SeccompProfile) -> bool {
    matches!(profile.type_.as_str(), "RuntimeDefault" | "Localhost")
}

fn v1_25(meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    if is_windows(spec) {
        return None;
    }
    v1_19(meta, spec, opts)
}

fn v1_19(_meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    let pod_profile = spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.seccomp_profile.as_ref());
    let pod_bad = pod_profile.is_some_and(|p| !valid(p));
    let pod_set = pod_profile.is_some_and(valid);
    let mut explicit = Violations::new(opts);
    let mut implicit = Violations::new(opts);
    let mut bad_values: Vec<&str> = Vec::new();
    if let Some(p) = pod_profile.filter(|_| pod_bad) {
        bad_values.push(&p.type_);
        explicit.add_error(|| type_error("spec".to_owned(), p));
    }
    for c in visit(spec) {
        match c
            .security_context
            .and_then(|sc| sc.seccomp_profile.as_ref())
        {
            Some(p) if !valid(p) => {
                bad_values.push(&p.type_);
                explicit.add(c.name, || type_error(c.path(), p));
            }
            Some(_) => {}
            None if !pod_set => implicit.add(c.name, || {
                FieldError::required(format!("{}.securityContext.seccompProfile.type", c.path()))
            }),
            None => {}
        }
    }
    if pod_bad || !explicit.is_empty() {
        let tail = " must not set securityContext.seccompProfile.type to ";
        let mut detail = setters(pod_bad, explicit.names(), tail);
        push_join_quote(&mut detail, &sorted_unique(bad_values));
        return Some(Forbidden {
            reason: REASON,
            detail,
            field_errors: explicit.into_errors(),
        });
    }
    if implicit.is_empty() {
        return None;
    }
    let tail =
        " must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"";
    Some(Forbidden {
        reason: REASON,
        detail: pod_or(implicit.names(), tail),
        field_errors: implicit.into_errors(),
    })
}

/// `Forbidden` at `<prefix>.securityContext.seccompProfile.type` with the type as written.
/// Only the explicit errors are returned when there are any, as in the fork.
fn type_error(prefix: String, profile: &SeccompProfile) -> FieldError {
    FieldError::forbidden(
        format!("{prefix}.securityContext.seccompProfile.type"),
        BadValue::Str(profile.type_.clone()),
    )
}

#[cfg(test)]
mod tests {
    use crate::CheckId;
    use crate::result::{BadValue, FieldError};
    use crate::testing::{TestPod, check_detail, check_field_errors, pod};
    use serde_json::json;

    const ID: CheckId = CheckId::SeccompProfileRestricted;

    fn detail(minor: u32, p: &TestPod) -> Option<String> {
        check_detail(ID, minor, p)
    }

    #[test]
    fn upstream_examples() {
        let p = pod(json!({"containers": [{"name": "a"}]}));
        assert_eq!(
            detail(19, &p).as_deref(),
            Some(
                "seccompProfile (pod or container \"a\" must set \
                 securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")"
            )
        );
        let p = pod(json!({"containers": [{"name": "a"}, {"name": "b", "securityContext": {}}]}));
        assert_eq!(
            detail(19, &p).as_deref(),
            Some(
                "seccompProfile (pod or containers \"a\", \"b\" must set \
                 securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")"
            )
        );
        let p = pod(
            json!({"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {"name": "a"},
                {"name": "b", "securityContext": {"seccompProfile":
                {"type": "Localhost", "localhostProfile": "x"}}},
                {"name": "c", "securityContext": {"seccompProfile": {"type": "Unconfined"}}},
                {"name": "d", "securityContext": {"seccompProfile": {"type": "Unconfined"}}},
            ]}),
        );
        assert_eq!(
            detail(19, &p).as_deref(),
            Some(
                "seccompProfile (containers \"c\", \"d\" must not set \
                 securityContext.seccompProfile.type to \"Unconfined\")"
            )
        );
    }

    #[test]
    fn invalid_pod_profile_does_not_cover_containers_but_hides_them() {
        let p = pod(
            json!({"securityContext": {"seccompProfile": {"type": "Unconfined"}}, "containers": [
                {"name": "a"},
                {"name": "b", "securityContext": {"seccompProfile": {"type": ""}}},
            ]}),
        );
        assert_eq!(
            detail(37, &p).as_deref(),
            Some(
                "seccompProfile (pod and container \"b\" must not set \
                 securityContext.seccompProfile.type to \"\", \"Unconfined\")"
            )
        );
        assert_eq!(
            check_field_errors(ID, 37, &p),
            [
                FieldError::forbidden(
                    "spec.securityContext.seccompProfile.type".into(),
                    BadValue::Str("Unconfined".into())
                ),
                FieldError::forbidden(
                    "spec.containers[1].securityContext.seccompProfile.type".into(),
                    BadValue::Str("".into())
                ),
            ]
        );
    }

    #[test]
    fn implicit_field_errors_are_required() {
        let p = pod(json!({"initContainers": [{"name": "i"}], "containers": [
            {"name": "c", "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}]}));
        assert_eq!(
            check_field_errors(ID, 37, &p),
            [FieldError::required(
                "spec.initContainers[0].securityContext.seccompProfile.type".into()
            )]
        );
    }

    #[test]
    fn valid_pod_profile_covers_containers() {
        for t in ["RuntimeDefault", "Localhost"] {
            let p = pod(json!({"securityContext": {"seccompProfile": {"type": t}},
                "containers": [{"name": "a"}]}));
            assert_eq!(detail(37, &p), None, "{t}");
        }
    }

    #[test]
    fn version_boundaries_and_windows() {
        // E13, E14, E15
        let p = pod(json!({"containers": [{"name": "a"}]}));
        assert_eq!(detail(18, &p), None);
        assert!(detail(19, &p).is_some());
        let win = |os: &str| pod(json!({"os": {"name": os}, "containers": [{"name": "a"}]}));
        assert!(detail(24, &win("windows")).is_some());
        assert_eq!(detail(25, &win("windows")), None);
        assert!(detail(25, &win("Windows")).is_some());
        let entries = ID.entries();
        assert_eq!(
            entries.iter().map(|e| e.min_minor).collect::<Vec<_>>(),
            [19, 25]
        );
        assert!(
            entries
                .iter()
                .all(|e| e.overrides == [CheckId::SeccompProfileBaseline])
        );
    }

    #[test]
    fn zero_containers_are_allowed() {
        assert_eq!(detail(37, &pod(json!({}))), None);
    }
}
