//! `allowPrivilegeEscalation` (restricted, v1.8+; from v1.25 Windows pods are exempt).
//!
//! Privilege escalation (for example through set-user-ID binaries) must be disallowed, so
//! every container has to opt out explicitly.
//!
//! Restricted fields: `securityContext.allowPrivilegeEscalation` of every container in
//! `spec.{initContainers,containers,ephemeralContainers}[*]`.
//! Allowed value: `false`. Absent (or no `securityContext`) is forbidden.
//!
//! Entries: v1.8 (every pod), v1.25 (the same, but `spec.os.name: windows` is allowed,
//! because the field cannot be set on Windows).

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::CheckEntry;
use crate::containers::{ContainerView, visit};
use crate::format::setters;
use crate::result::{BadValue, CheckOptions, FieldError, Forbidden, Violations};

pub(crate) const ENTRIES: &[CheckEntry] = &[CheckEntry::new(8, v1_8), CheckEntry::new(25, v1_25)];

/// Whether `spec.os.name` is exactly `windows` (upstream compares case-sensitively, so
/// `Windows` is not Windows). Shared by the three restricted checks with the v1.25 exemption.
pub(super) fn is_windows(spec: &PodSpec) -> bool {
    spec.os.as_ref().is_some_and(|os| os.name == "windows")
}

fn v1_25(meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    if is_windows(spec) {
        return None;
    }
    v1_8(meta, spec, opts)
}

fn v1_8(_meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    let mut bad = Violations::new(opts);
    for c in visit(spec) {
        let value = c.security_context.map(|sc| sc.allow_privilege_escalation);
        if value != Some(Some(false)) {
            bad.add(c.name, || field_error(&c, value));
        }
    }
    if bad.is_empty() {
        return None;
    }
    let tail = " must set securityContext.allowPrivilegeEscalation=false";
    let detail = setters(false, bad.names(), tail);
    Some(Forbidden {
        reason: "allowPrivilegeEscalation != false",
        detail,
        field_errors: bad.into_errors(),
    })
}

/// The fork's error for one offender: `Required` without a securityContext, `Forbidden`
/// with the Go string `"nil"` when the field is unset, `Forbidden` with `true` when set.
/// The fork's check source is not in the reference index; this follows its unit test
/// (`check_allowPrivilegeEscalation_test.go`) and the Kyverno spec's table (section 1.4).
fn field_error(c: &ContainerView<'_>, value: Option<Option<bool>>) -> FieldError {
    let path = format!("{}.securityContext.allowPrivilegeEscalation", c.path());
    match value {
        None => FieldError::required(path),
        Some(None) => FieldError::forbidden(path, BadValue::Str("nil".to_owned())),
        Some(Some(v)) => FieldError::forbidden(path, BadValue::Bool(v)),
    }
}

#[cfg(test)]
mod tests {
    use crate::CheckId;
    use crate::result::{BadValue, FieldError};
    use crate::testing::{check_detail, check_field_errors, pod};
    use serde_json::json;

    const ID: CheckId = CheckId::AllowPrivilegeEscalation;

    fn upstream_pod(os: Option<&str>) -> crate::testing::TestPod {
        let mut spec = json!({"containers": [
            {"name": "a"},
            {"name": "b", "securityContext": {}},
            {"name": "c", "securityContext": {"allowPrivilegeEscalation": true}},
            {"name": "d", "securityContext": {"allowPrivilegeEscalation": false}},
        ]});
        if let Some(os) = os {
            spec["os"] = json!({"name": os});
        }
        pod(spec)
    }

    #[test]
    fn upstream_example_lists_unset_and_true() {
        let want = "allowPrivilegeEscalation != false (containers \"a\", \"b\", \"c\" must set \
                    securityContext.allowPrivilegeEscalation=false)";
        for minor in [8, 24, 25, 37] {
            assert_eq!(
                check_detail(ID, minor, &upstream_pod(None)).as_deref(),
                Some(want)
            );
        }
    }

    #[test]
    fn linux_pod_without_security_context_is_singular() {
        let p = pod(json!({"os": {"name": "linux"}, "containers": [{"name": "a"}]}));
        assert_eq!(
            check_detail(ID, 25, &p).as_deref(),
            Some(
                "allowPrivilegeEscalation != false (container \"a\" must set \
                 securityContext.allowPrivilegeEscalation=false)"
            )
        );
    }

    #[test]
    fn starts_at_v1_8() {
        assert_eq!(check_detail(ID, 7, &upstream_pod(None)), None);
        assert!(check_detail(ID, 8, &upstream_pod(None)).is_some());
    }

    #[test]
    fn windows_is_exempt_from_v1_25_only() {
        // E14: still required at v1.24; E15: `Windows` is not Windows.
        assert!(check_detail(ID, 24, &upstream_pod(Some("windows"))).is_some());
        assert_eq!(check_detail(ID, 25, &upstream_pod(Some("windows"))), None);
        assert!(check_detail(ID, 37, &upstream_pod(Some("Windows"))).is_some());
    }

    #[test]
    fn visits_init_regular_then_ephemeral() {
        let p = pod(json!({
            "ephemeralContainers": [{"name": "e"}],
            "containers": [{"name": "c"}],
            "initContainers": [{"name": "i"}],
        }));
        let detail = check_detail(ID, 37, &p).unwrap();
        assert!(
            detail.contains("containers \"i\", \"c\", \"e\" must"),
            "{detail}"
        );
        let errors = check_field_errors(ID, 37, &p);
        let paths: Vec<_> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.initContainers[0].securityContext.allowPrivilegeEscalation",
                "spec.containers[0].securityContext.allowPrivilegeEscalation",
                "spec.ephemeralContainers[0].securityContext.allowPrivilegeEscalation",
            ]
        );
    }

    #[test]
    fn field_errors_match_the_fork() {
        let path =
            |i: usize| format!("spec.containers[{i}].securityContext.allowPrivilegeEscalation");
        assert_eq!(
            check_field_errors(ID, 8, &upstream_pod(None)),
            [
                FieldError::required(path(0)),
                FieldError::forbidden(path(1), BadValue::Str("nil".into())),
                FieldError::forbidden(path(2), BadValue::Bool(true)),
            ]
        );
    }

    #[test]
    fn no_field_errors_unless_asked() {
        let entry = ID.entry_at(37).unwrap();
        let p = upstream_pod(None);
        let f = (entry.check)(&p.meta, &p.spec, Default::default()).unwrap();
        assert!(f.field_errors.is_empty());
    }
}
