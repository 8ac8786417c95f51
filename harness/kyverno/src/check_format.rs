//! How a failing rule prints its checks (`pss.FormatChecksPrint`), per release line, and
//! the controller path rewrite applied before printing (`convertChecks`).

use std::fmt::Write as _;

use pss::{BadValue, FieldError, FieldErrorKind, Kind};

use crate::pss_eval::CheckResult;

/// Rewrite field paths for the requested kind, as plain substring replacements: every
/// `spec` of a template controller becomes `spec.template.spec` (CronJob:
/// `spec.jobTemplate.spec.template.spec`), then, for every kind (Pods included), every
/// `metadata` becomes `spec.template.metadata`. Container names or annotation keys that
/// contain these words are rewritten too, as Kyverno does.
pub fn rewrite_paths(results: &mut [CheckResult], kind: Kind) {
    let spec_target = match kind {
        Kind::DaemonSet
        | Kind::Deployment
        | Kind::Job
        | Kind::StatefulSet
        | Kind::ReplicaSet
        | Kind::ReplicationController => Some("spec.template.spec"),
        Kind::CronJob => Some("spec.jobTemplate.spec.template.spec"),
        Kind::Pod | Kind::PodTemplate => None,
    };
    for error in results
        .iter_mut()
        .flat_map(|r| r.forbidden.field_errors.iter_mut())
    {
        if let Some(target) = spec_target {
            error.path = error.path.replace("spec", target);
        }
        error.path = error.path.replace("metadata", "spec.template.metadata");
    }
}

/// The rule message of a failing podSecurity rule, echoing the raw level and version.
pub fn failure_message(
    rule: &str,
    level: &str,
    version: &str,
    results: &[CheckResult],
    legacy: bool,
) -> String {
    format!(
        "Validation rule '{rule}' failed. It violates PodSecurity \"{level}:{version}\": {}",
        format_checks(results, legacy)
    )
}

/// The checks part of a failure message. Legacy (before v1.12): `(%+v)\n` of each upstream
/// `CheckResult`. Otherwise `(Forbidden reason: R, field error list: [..])` per check, with
/// no separator between checks.
pub fn format_checks(results: &[CheckResult], legacy: bool) -> String {
    let mut out = String::new();
    for r in results {
        if legacy {
            let _ = writeln!(
                out,
                "({{Allowed:false ForbiddenReason:{} ForbiddenDetail:{}}})",
                r.forbidden.reason, r.forbidden.detail
            );
        } else {
            let errors: Vec<String> = r
                .forbidden
                .field_errors
                .iter()
                .map(format_field_error)
                .collect();
            let _ = write!(
                out,
                "(Forbidden reason: {}, field error list: [{}])",
                r.forbidden.reason,
                errors.join(", ")
            );
        }
    }
    out
}

/// One field error: `<path> is forbidden, forbidden values found: <%+v>` for a Forbidden
/// error with a non-empty bad value, else apimachinery's `<path>: Required value` /
/// `<path>: Forbidden` (the fork's details are always empty).
fn format_field_error(e: &FieldError) -> String {
    let has_value = !matches!(&e.bad_value, BadValue::Empty)
        && !matches!(&e.bad_value, BadValue::Str(s) if s.is_empty());
    match e.kind {
        FieldErrorKind::Forbidden if has_value => {
            format!(
                "{} is forbidden, forbidden values found: {}",
                e.path,
                go_plus_v(&e.bad_value)
            )
        }
        FieldErrorKind::Forbidden => format!("{}: Forbidden", e.path),
        FieldErrorKind::Required => format!("{}: Required value", e.path),
    }
}

/// Go's `%+v` of the bad values the fork stores.
fn go_plus_v(bad: &BadValue) -> String {
    match bad {
        BadValue::Empty => String::new(),
        BadValue::Str(s) => s.clone(),
        BadValue::Bool(b) => b.to_string(),
        BadValue::Int(i) => i.to_string(),
        BadValue::StrList(items) => format!("[{}]", items.join(" ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pss::{CheckId, Forbidden};
    use rstest::rstest;

    fn privileged(path: &str) -> CheckResult {
        CheckResult {
            id: CheckId::Privileged,
            forbidden: Forbidden {
                reason: "privileged",
                detail: "container \"privileged-pod\" must not set securityContext.privileged=true"
                    .into(),
                field_errors: vec![FieldError::forbidden(path.into(), BadValue::Bool(true))],
            },
        }
    }

    fn check(id: CheckId, reason: &'static str, errors: Vec<FieldError>) -> CheckResult {
        CheckResult {
            id,
            forbidden: Forbidden {
                reason,
                detail: String::new(),
                field_errors: errors,
            },
        }
    }

    /// The examples of section 2.2 taken from Kyverno's tests and reports.
    #[test]
    fn documented_messages() {
        let drop = check(
            CheckId::CapabilitiesRestricted,
            "unrestricted capabilities",
            vec![FieldError::required(
                "spec.containers[0].securityContext.capabilities.drop".into(),
            )],
        );
        assert_eq!(
            failure_message("restricted", "restricted", "latest", &[drop], false),
            "Validation rule 'restricted' failed. It violates PodSecurity \"restricted:latest\": \
             (Forbidden reason: unrestricted capabilities, field error list: \
             [spec.containers[0].securityContext.capabilities.drop: Required value])"
        );
        let add = check(
            CheckId::CapabilitiesBaseline,
            "non-default capabilities",
            vec![FieldError::forbidden(
                "spec.initContainers[0].securityContext.capabilities.add".into(),
                BadValue::StrList(vec!["NET_ADMIN".into(), "NET_RAW".into()]),
            )],
        );
        assert_eq!(
            failure_message("baseline", "baseline", "v1.29", &[add], false),
            "Validation rule 'baseline' failed. It violates PodSecurity \"baseline:v1.29\": \
             (Forbidden reason: non-default capabilities, field error list: \
             [spec.initContainers[0].securityContext.capabilities.add is forbidden, \
             forbidden values found: [NET_ADMIN NET_RAW]])"
        );
        let mut daemonset = vec![
            check(
                CheckId::CapabilitiesBaseline,
                "non-default capabilities",
                vec![FieldError::forbidden(
                    "spec.containers[0].securityContext.capabilities.add".into(),
                    BadValue::StrList(vec!["SYS_ADMIN".into()]),
                )],
            ),
            check(
                CheckId::HostNamespaces,
                "host namespaces",
                vec![
                    FieldError::forbidden("spec.hostNetwork".into(), BadValue::Bool(true)),
                    FieldError::forbidden("spec.hostPID".into(), BadValue::Bool(true)),
                ],
            ),
        ];
        rewrite_paths(&mut daemonset, Kind::DaemonSet);
        assert_eq!(
            failure_message("autogen-baseline", "baseline", "latest", &daemonset, false),
            "Validation rule 'autogen-baseline' failed. \
             It violates PodSecurity \"baseline:latest\": \
             (Forbidden reason: non-default capabilities, field error list: \
             [spec.template.spec.containers[0].securityContext.capabilities.add is forbidden, \
             forbidden values found: [SYS_ADMIN]])(Forbidden reason: host namespaces, field error \
             list: [spec.template.spec.hostNetwork is forbidden, forbidden values found: true, \
             spec.template.spec.hostPID is forbidden, forbidden values found: true])"
        );
    }

    #[test]
    fn field_error_format() {
        let r = privileged("spec.containers[0].securityContext.privileged");
        assert_eq!(
            format_checks(&[r], false),
            "(Forbidden reason: privileged, field error list: \
             [spec.containers[0].securityContext.privileged is forbidden, forbidden values found: \
             true])"
        );
    }

    #[test]
    fn legacy_format_ends_each_check_with_a_newline() {
        let r = privileged("spec.containers[0].securityContext.privileged");
        let one = "({Allowed:false ForbiddenReason:privileged ForbiddenDetail:container \
                   \"privileged-pod\" must not set securityContext.privileged=true})\n";
        assert_eq!(format_checks(&[r.clone(), r], true), format!("{one}{one}"));
    }

    fn caps(names: &[&str]) -> BadValue {
        BadValue::StrList(names.iter().map(|n| (*n).to_owned()).collect())
    }

    #[rstest]
    #[case(FieldError::required("p".into()), "p: Required value")]
    #[case(FieldError::forbidden("p".into(), BadValue::Empty), "p: Forbidden")]
    #[case(FieldError::forbidden("p".into(), BadValue::Str(String::new())), "p: Forbidden")]
    #[case(
        FieldError::forbidden("p".into(), BadValue::Str("Unconfined".into())),
        "p is forbidden, forbidden values found: Unconfined"
    )]
    #[case(
        FieldError::forbidden("p".into(), BadValue::Int(80)),
        "p is forbidden, forbidden values found: 80"
    )]
    #[case(
        FieldError::forbidden("p".into(), caps(&["NET_ADMIN", "NET_RAW"])),
        "p is forbidden, forbidden values found: [NET_ADMIN NET_RAW]"
    )]
    #[case(
        FieldError::forbidden("p".into(), BadValue::StrList(vec![])),
        "p is forbidden, forbidden values found: []"
    )]
    fn field_errors(#[case] e: FieldError, #[case] want: &str) {
        assert_eq!(format_field_error(&e), want);
    }

    #[test]
    fn checks_without_errors_print_an_empty_list_and_concatenate() {
        let probes = CheckResult {
            id: CheckId::HostProbesAndHostLifecycle,
            forbidden: Forbidden {
                reason: "probe or lifecycle host",
                detail: String::new(),
                field_errors: vec![],
            },
        };
        let one = "(Forbidden reason: probe or lifecycle host, field error list: [])";
        assert_eq!(
            format_checks(&[probes.clone(), probes], false),
            format!("{one}{one}")
        );
    }

    #[rstest]
    #[case(
        Kind::Pod,
        "spec.containers[0].securityContext.privileged",
        "spec.containers[0].securityContext.privileged"
    )]
    #[case(
        Kind::Deployment,
        "spec.containers[0].securityContext.privileged",
        "spec.template.spec.containers[0].securityContext.privileged"
    )]
    #[case(
        Kind::CronJob,
        "spec.containers[0].securityContext.privileged",
        "spec.jobTemplate.spec.template.spec.containers[0].securityContext.privileged"
    )]
    #[case(
        Kind::Pod,
        "metadata.annotations[a]",
        "spec.template.metadata.annotations[a]"
    )]
    #[case(
        Kind::CronJob,
        "metadata.annotations[a]",
        "spec.template.metadata.annotations[a]"
    )]
    #[case(
        Kind::Deployment,
        "metadata.annotations[container.apparmor.security.beta.kubernetes.io/inspector]",
        "spec.template.metadata.annotations[container.apparmor.security.beta.kubernetes.io/\
         inspec.template.spector]"
    )]
    fn rewrites_paths_for_controllers(#[case] kind: Kind, #[case] path: &str, #[case] want: &str) {
        let mut results = vec![privileged(path)];
        rewrite_paths(&mut results, kind);
        assert_eq!(results[0].forbidden.field_errors[0].path, want);
    }
}
