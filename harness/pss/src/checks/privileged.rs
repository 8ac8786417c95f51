//! `privileged` (baseline, v1.0+).
//!
//! Privileged pods disable most security mechanisms and must be disallowed.
//!
//! Restricted fields: `spec.{initContainers,containers,ephemeralContainers}[*].securityContext.privileged`.
//! Allowed values: absent, `false`.

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::CheckEntry;
use crate::containers::visit;
use crate::format::{join_quote, noun};
use crate::result::{BadValue, CheckOptions, FieldError, Forbidden, Violations};

pub(crate) const ENTRIES: &[CheckEntry] = &[CheckEntry::new(0, v1_0)];

fn v1_0(_meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    let mut bad = Violations::new(opts);
    for c in visit(spec) {
        if c.security_context.and_then(|sc| sc.privileged) == Some(true) {
            bad.add(c.name, || {
                FieldError::forbidden(
                    format!("{}.securityContext.privileged", c.path()),
                    BadValue::Bool(true),
                )
            });
        }
    }
    if bad.is_empty() {
        return None;
    }
    let detail = format!(
        "{} {} must not set securityContext.privileged=true",
        noun(bad.len(), "container", "containers"),
        join_quote(bad.names()),
    );
    Some(Forbidden {
        reason: "privileged",
        detail,
        field_errors: bad.into_errors(),
    })
}

#[cfg(test)]
mod tests {
    use crate::CheckId;
    use crate::testing::{check_detail, pod};

    #[test]
    fn lists_privileged_containers_in_visit_order() {
        let p = pod(serde_json::json!({
            "containers": [
                {"name": "a"},
                {"name": "b", "securityContext": {}},
                {"name": "c", "securityContext": {"privileged": false}},
                {"name": "d", "securityContext": {"privileged": true}},
                {"name": "e", "securityContext": {"privileged": true}},
            ]
        }));
        assert_eq!(
            check_detail(CheckId::Privileged, 37, &p).as_deref(),
            Some(
                "privileged (containers \"d\", \"e\" must not set securityContext.privileged=true)"
            )
        );
    }

    #[test]
    fn allows_absent_and_false() {
        let p = pod(
            serde_json::json!({"containers": [{"name": "a", "securityContext": {"privileged": false}}]}),
        );
        assert_eq!(check_detail(CheckId::Privileged, 37, &p), None);
    }
}
