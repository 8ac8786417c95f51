//! `windowsHostProcess` (baseline, v1.0+).
//!
//! Windows HostProcess containers get privileged access to the Windows node and must be
//! disallowed. This is the Windows control itself, so Windows pods are not exempt.
//!
//! Restricted fields: `spec.securityContext.windowsOptions.hostProcess` and the same field of
//! every init, regular and ephemeral container
//! (`spec.containers[*].securityContext.windowsOptions.hostProcess`, …).
//! Allowed values: absent, `false`.

use k8s_openapi::api::core::v1::{PodSpec, WindowsSecurityContextOptions};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::CheckEntry;
use crate::containers::visit;
use crate::format::setters;
use crate::result::{BadValue, CheckOptions, FieldError, Forbidden, Violations};

pub(crate) const ENTRIES: &[CheckEntry] = &[CheckEntry::new(0, v1_0)];

fn host_process(options: Option<&WindowsSecurityContextOptions>) -> bool {
    options.and_then(|o| o.host_process) == Some(true)
}

fn v1_0(_meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    let pod_bad = host_process(
        spec.security_context
            .as_ref()
            .and_then(|sc| sc.windows_options.as_ref()),
    );
    let mut containers = Violations::new(opts);
    for c in visit(spec) {
        if host_process(
            c.security_context
                .and_then(|sc| sc.windows_options.as_ref()),
        ) {
            containers.add(c.name, || {
                FieldError::forbidden(
                    format!("{}.securityContext.windowsOptions.hostProcess", c.path()),
                    BadValue::Bool(true),
                )
            });
        }
    }
    if !pod_bad && containers.is_empty() {
        return None;
    }
    let mut field_errors = Vec::new();
    if pod_bad && opts.field_errors {
        field_errors.push(FieldError::forbidden(
            "spec.securityContext.windowsOptions.hostProcess".to_owned(),
            BadValue::Bool(true),
        ));
    }
    let detail = setters(
        pod_bad,
        containers.names(),
        " must not set securityContext.windowsOptions.hostProcess=true",
    );
    field_errors.extend(containers.into_errors());
    Some(Forbidden {
        reason: "hostProcess",
        detail,
        field_errors,
    })
}

#[cfg(test)]
mod tests {
    use crate::CheckId;
    use crate::result::{BadValue, FieldError};
    use crate::testing::{check_detail, check_field_errors, pod};

    fn hp(name: &str, value: Option<bool>) -> serde_json::Value {
        let options = match value {
            Some(v) => serde_json::json!({"hostProcess": v}),
            None => serde_json::json!({}),
        };
        serde_json::json!({"name": name, "securityContext": {"windowsOptions": options}})
    }

    #[test]
    fn upstream_pod_and_containers() {
        let p = pod(serde_json::json!({
            "securityContext": {"windowsOptions": {"hostProcess": true}},
            "containers": [
                {"name": "a"},
                {"name": "b", "securityContext": {}},
                hp("c", None),
                hp("d", Some(false)),
                hp("e", Some(true)),
                hp("f", Some(true)),
            ],
        }));
        assert_eq!(
            check_detail(CheckId::WindowsHostProcess, 0, &p).as_deref(),
            Some(
                "hostProcess (pod and containers \"e\", \"f\" must not set \
                 securityContext.windowsOptions.hostProcess=true)"
            )
        );
    }

    #[test]
    fn pod_only_and_container_only() {
        let p =
            pod(serde_json::json!({"securityContext": {"windowsOptions": {"hostProcess": true}}}));
        assert_eq!(
            check_detail(CheckId::WindowsHostProcess, 37, &p).as_deref(),
            Some("hostProcess (pod must not set securityContext.windowsOptions.hostProcess=true)")
        );
        let c = pod(serde_json::json!({"ephemeralContainers": [hp("e", Some(true))]}));
        assert_eq!(
            check_detail(CheckId::WindowsHostProcess, 37, &c).as_deref(),
            Some(
                "hostProcess (container \"e\" must not set \
                 securityContext.windowsOptions.hostProcess=true)"
            )
        );
    }

    #[test]
    fn windows_pods_are_not_exempt_and_false_is_allowed() {
        let p = pod(
            serde_json::json!({"os": {"name": "windows"}, "containers": [hp("c", Some(true))]}),
        );
        assert!(check_detail(CheckId::WindowsHostProcess, 37, &p).is_some());
        let ok =
            pod(serde_json::json!({"securityContext": {"windowsOptions": {"hostProcess": false}}}));
        assert_eq!(check_detail(CheckId::WindowsHostProcess, 37, &ok), None);
    }

    #[test]
    fn field_errors_pod_then_containers() {
        let p = pod(serde_json::json!({
            "securityContext": {"windowsOptions": {"hostProcess": true}},
            "initContainers": [hp("i", Some(true))],
            "containers": [hp("c", Some(false)), hp("d", Some(true))],
        }));
        let f = |p: &str| FieldError::forbidden(p.into(), BadValue::Bool(true));
        assert_eq!(
            check_field_errors(CheckId::WindowsHostProcess, 37, &p),
            vec![
                f("spec.securityContext.windowsOptions.hostProcess"),
                f("spec.initContainers[0].securityContext.windowsOptions.hostProcess"),
                f("spec.containers[1].securityContext.windowsOptions.hostProcess"),
            ]
        );
    }
}
