//! `procMount` (baseline; entries v1.0 and v1.35).
//!
//! The default `/proc` masks reduce the attack surface and should be required.
//!
//! Restricted fields:
//! `spec.{initContainers,containers,ephemeralContainers}[*].securityContext.procMount`.
//! Allowed values: absent, `Default`. Anything else (`Unmasked`, or any other string) is
//! forbidden.
//!
//! Versions:
//! - v1.0: unconditional.
//! - v1.35: a pod in a user namespace (`spec.hostUsers` explicitly `false`) is allowed
//!   whatever it sets; otherwise the v1.0 logic. (The restricted `procMount_restricted`
//!   keeps the unconditional logic at every version.)

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::CheckEntry;
use crate::containers::visit;
use crate::format::{join_quote, noun, sorted_unique};
use crate::result::{BadValue, CheckOptions, FieldError, Forbidden, Violations};

pub(crate) const ENTRIES: &[CheckEntry] = &[CheckEntry::new(0, v1_0), CheckEntry::new(35, v1_35)];

/// The unconditional logic: every container whose `procMount` is set to anything but
/// `Default` is forbidden.
pub(crate) fn v1_0(_meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    let mut bad = Violations::new(opts);
    let mut values: Vec<&str> = Vec::new();
    for c in visit(spec) {
        let Some(value) = c.security_context.and_then(|sc| sc.proc_mount.as_deref()) else {
            continue;
        };
        if value != "Default" {
            values.push(value);
            bad.add(c.name, || {
                FieldError::forbidden(
                    format!("{}.securityContext.procMount", c.path()),
                    BadValue::Str(value.to_owned()),
                )
            });
        }
    }
    if bad.is_empty() {
        return None;
    }
    let detail = format!(
        "{} {} must not set securityContext.procMount to {}",
        noun(bad.len(), "container", "containers"),
        join_quote(bad.names()),
        join_quote(&sorted_unique(values)),
    );
    Some(Forbidden {
        reason: "procMount",
        detail,
        field_errors: bad.into_errors(),
    })
}

/// v1.35: user-namespaced pods (`hostUsers: false`) may set any `procMount`.
fn v1_35(meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    if spec.host_users == Some(false) {
        return None;
    }
    v1_0(meta, spec, opts)
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use crate::CheckId;
    use crate::result::{BadValue, FieldError};
    use crate::testing::{TestPod, check_detail, check_field_errors, pod};

    fn unmasked(host_users: Option<bool>) -> TestPod {
        let mut spec = serde_json::json!({"containers": [
            {"name": "c", "securityContext": {"procMount": "Unmasked"}},
        ]});
        if let Some(h) = host_users {
            spec["hostUsers"] = serde_json::json!(h);
        }
        pod(spec)
    }

    #[test]
    fn upstream_example_sorted_values_and_visit_order_names() {
        let p = pod(serde_json::json!({"containers": [
            {"name": "a"},
            {"name": "b", "securityContext": {}},
            {"name": "c", "securityContext": {"procMount": "Default"}},
            {"name": "d", "securityContext": {"procMount": "Unmasked"}},
            {"name": "e", "securityContext": {"procMount": "other"}},
        ]}));
        assert_eq!(
            check_detail(CheckId::ProcMount, 0, &p).as_deref(),
            Some(
                "procMount (containers \"d\", \"e\" must not set securityContext.procMount to \
                 \"Unmasked\", \"other\")"
            )
        );
    }

    /// The v1.35 boundary: `hostUsers: false` relaxes the check from v1.35 only.
    #[rstest]
    #[case(34, Some(false), true)]
    #[case(35, Some(false), false)]
    #[case(37, Some(false), false)]
    #[case(35, Some(true), true)]
    #[case(35, None, true)] // E18: the relaxation needs an explicit false
    #[case(0, None, true)]
    fn host_users_relaxation(
        #[case] minor: u32,
        #[case] host_users: Option<bool>,
        #[case] denied: bool,
    ) {
        let want = denied.then_some(
            "procMount (container \"c\" must not set securityContext.procMount to \"Unmasked\")",
        );
        assert_eq!(
            check_detail(CheckId::ProcMount, minor, &unmasked(host_users)).as_deref(),
            want
        );
    }

    #[test]
    fn field_errors_name_each_bad_container() {
        let p = pod(serde_json::json!({
            "initContainers": [{"name": "i", "securityContext": {"procMount": "Unmasked"}}],
            "ephemeralContainers": [{"name": "e", "securityContext": {"procMount": "x"}}],
        }));
        assert_eq!(
            check_field_errors(CheckId::ProcMount, 35, &p),
            vec![
                FieldError::forbidden(
                    "spec.initContainers[0].securityContext.procMount".into(),
                    BadValue::Str("Unmasked".into())
                ),
                FieldError::forbidden(
                    "spec.ephemeralContainers[0].securityContext.procMount".into(),
                    BadValue::Str("x".into())
                ),
            ]
        );
    }
}
