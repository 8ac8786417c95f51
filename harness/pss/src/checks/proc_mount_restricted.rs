//! `procMount_restricted` (restricted, v1.35+; overrides `procMount`).
//!
//! The default `/proc` masks reduce the attack surface and must be kept. From v1.35 the
//! baseline `procMount` check allows any value in a user namespace (`hostUsers: false`); the
//! restricted level keeps the unconditional rule, so it replaces the baseline check there.
//!
//! Restricted fields: `securityContext.procMount` of every container in
//! `spec.{initContainers,containers,ephemeralContainers}[*]`.
//! Allowed values: absent, `Default`.
//!
//! As upstream does, the check reuses the baseline check's v1.0 (unconditional) entry, so
//! the reason (`procMount`), detail and field errors are exactly the baseline ones.

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{CheckEntry, CheckId};
use crate::result::{CheckOptions, Forbidden};

pub(crate) const ENTRIES: &[CheckEntry] =
    &[CheckEntry::overriding(35, v1_35, &[CheckId::ProcMount])];

fn v1_35(meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    let unconditional = CheckId::ProcMount.entry_at(0)?;
    (unconditional.check)(meta, spec, opts)
}

#[cfg(test)]
mod tests {
    use crate::CheckId;
    use crate::result::{BadValue, FieldError};
    use crate::testing::{TestPod, check_detail, check_field_errors, pod};
    use serde_json::json;

    const ID: CheckId = CheckId::ProcMountRestricted;

    fn unmasked(host_users: Option<bool>) -> TestPod {
        let mut spec = json!({"containers": [
            {"name": "a"},
            {"name": "b", "securityContext": {}},
            {"name": "c", "securityContext": {"procMount": "Default"}},
            {"name": "d", "securityContext": {"procMount": "Unmasked"}},
            {"name": "e", "securityContext": {"procMount": "other"}},
        ]});
        if let Some(h) = host_users {
            spec["hostUsers"] = json!(h);
        }
        pod(spec)
    }

    #[test]
    fn denies_non_default_even_in_a_user_namespace() {
        let want = "procMount (containers \"d\", \"e\" must not set securityContext.procMount \
                    to \"Unmasked\", \"other\")";
        for host_users in [None, Some(true), Some(false)] {
            assert_eq!(
                check_detail(ID, 35, &unmasked(host_users)).as_deref(),
                Some(want)
            );
        }
    }

    #[test]
    fn allows_absent_and_default() {
        let p = pod(json!({"hostUsers": false, "containers": [
            {"name": "c", "securityContext": {"procMount": "Default"}}]}));
        assert_eq!(check_detail(ID, 37, &p), None);
    }

    #[test]
    fn starts_at_v1_35_and_overrides_procmount() {
        assert_eq!(check_detail(ID, 34, &unmasked(Some(false))), None);
        assert_eq!(ID.entries().len(), 1);
        assert_eq!(ID.entries()[0].min_minor, 35);
        assert_eq!(ID.entries()[0].overrides, [CheckId::ProcMount]);
    }

    #[test]
    fn field_errors_carry_the_value() {
        let path = |i: usize| format!("spec.containers[{i}].securityContext.procMount");
        assert_eq!(
            check_field_errors(ID, 35, &unmasked(Some(false))),
            [
                FieldError::forbidden(path(3), BadValue::Str("Unmasked".into())),
                FieldError::forbidden(path(4), BadValue::Str("other".into())),
            ]
        );
    }
}
