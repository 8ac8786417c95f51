//! `hostPathVolumes` (baseline, v1.0+; never run at restricted, where `restrictedVolumes`
//! overrides it).
//!
//! HostPath volumes give access to the node's filesystem and must be forbidden.
//!
//! Restricted field: `spec.volumes[*].hostPath`.
//! Allowed values: absent. A volume is bad whenever `hostPath` is present, whatever other
//! source it also has.

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::CheckEntry;
use crate::format::{join_quote, noun};
use crate::result::{BadValue, CheckOptions, FieldError, Forbidden, Violations};

pub(crate) const ENTRIES: &[CheckEntry] = &[CheckEntry::new(0, v1_0)];

fn v1_0(_meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    let mut bad = Violations::new(opts);
    for (i, volume) in spec.volumes.iter().flatten().enumerate() {
        if let Some(host_path) = &volume.host_path {
            bad.add(&volume.name, || {
                FieldError::forbidden(
                    format!("spec.volumes[{i}].hostPath"),
                    BadValue::Str(host_path.path.clone()),
                )
            });
        }
    }
    if bad.is_empty() {
        return None;
    }
    let detail = format!(
        "{} {}",
        noun(bad.len(), "volume", "volumes"),
        join_quote(bad.names())
    );
    Some(Forbidden {
        reason: "hostPath volumes",
        detail,
        field_errors: bad.into_errors(),
    })
}

#[cfg(test)]
mod tests {
    use crate::CheckId;
    use crate::result::{BadValue, FieldError};
    use crate::testing::{check_detail, check_field_errors, pod};

    #[test]
    fn lists_host_path_volumes_in_spec_order() {
        let p = pod(serde_json::json!({"volumes": [
            {"name": "a", "hostPath": {"path": "/a"}},
            {"name": "e", "emptyDir": {}},
            {"name": "b", "hostPath": {"path": "/b"}, "emptyDir": {}},
        ]}));
        assert_eq!(
            check_detail(CheckId::HostPathVolumes, 0, &p).as_deref(),
            Some("hostPath volumes (volumes \"a\", \"b\")")
        );
        assert_eq!(
            check_field_errors(CheckId::HostPathVolumes, 37, &p),
            vec![
                FieldError::forbidden(
                    "spec.volumes[0].hostPath".into(),
                    BadValue::Str("/a".into())
                ),
                FieldError::forbidden(
                    "spec.volumes[2].hostPath".into(),
                    BadValue::Str("/b".into())
                ),
            ]
        );
    }

    #[test]
    fn single_volume_is_singular() {
        let p = pod(serde_json::json!({"volumes": [{"name": "h", "hostPath": {"path": "/"}}]}));
        assert_eq!(
            check_detail(CheckId::HostPathVolumes, 37, &p).as_deref(),
            Some("hostPath volumes (volume \"h\")")
        );
    }

    #[test]
    fn allows_other_sources() {
        let p = pod(
            serde_json::json!({"volumes": [{"name": "n", "nfs": {"server": "s", "path": "/"}}]}),
        );
        assert_eq!(check_detail(CheckId::HostPathVolumes, 37, &p), None);
    }
}
