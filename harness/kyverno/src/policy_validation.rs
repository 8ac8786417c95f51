//! Whether a decoded policy is admitted: first the CRD schema (enums, required fields,
//! checked by the API server), then Kyverno's `validate-policy.kyverno.svc` webhook rules
//! for podSecurity exclusions (section 1.2). Each stage reports every issue it finds; the
//! first stage with issues refuses the policy.

use crate::controls::{
    CONTAINER_LEVEL_CONTROLS, CONTROL_NAMES, POD_LEVEL_CONTROLS, RESTRICTED_CONTROLS,
};
use crate::line::KyvernoLine;
use crate::pod_security::{PodSecurity, PodSecurityStandard};
use crate::policy::{FailureActionOverride, Policy};
use crate::policy_error::{FieldIssue, IssueKind, Location, PolicyError, Stage};

const POLICY_ACTIONS: [&str; 4] = ["audit", "enforce", "Audit", "Enforce"];
const RULE_ACTIONS: [&str; 2] = ["Audit", "Enforce"];
const FAILURE_POLICIES: [&str; 2] = ["Ignore", "Fail"];
const LEVELS: [&str; 3] = ["privileged", "baseline", "restricted"];

/// The warning Kyverno returns for a Pod-only policy whose autogen annotation leaves out
/// some standard controllers.
pub const AUTOGEN_WARNING: &str = "Policies that match Pods apply to all Pods including those \
    created and managed by controllers excluded from autogen. Use preconditions to exclude the \
    Pods managed by controllers which are excluded from autogen. Refer to \
    https://kyverno.io/docs/policy-types/cluster-policy/autogen/ for details.";

/// Check a policy as the cluster would when it is created. `Ok` carries Kyverno's
/// admission warnings. The order of webhook issues is code-derived.
pub fn validate(policy: &Policy, line: KyvernoLine) -> Result<Vec<String>, PolicyError> {
    let refuse = |stage, issues| PolicyError {
        kind: policy.kind.as_str().to_owned(),
        name: policy.name.clone(),
        stage,
        issues,
    };
    let schema = schema_issues(policy, line);
    if !schema.is_empty() {
        return Err(refuse(Stage::Schema, schema));
    }
    let webhook = webhook_issues(policy);
    if !webhook.is_empty() {
        return Err(refuse(Stage::Webhook, webhook));
    }
    Ok(warnings(policy))
}

fn not_supported(location: Location, value: &str, supported: &[&str]) -> FieldIssue {
    let supported = supported.iter().map(|s| (*s).to_owned()).collect();
    FieldIssue::new(
        location,
        IssueKind::NotSupported {
            value: value.to_owned(),
            supported,
        },
    )
}

fn check_enum(
    issues: &mut Vec<FieldIssue>,
    location: Location,
    value: Option<&str>,
    allowed: &[&str],
) {
    if let Some(v) = value.filter(|v| !allowed.contains(v)) {
        issues.push(not_supported(location, v, allowed));
    }
}

fn check_overrides(
    issues: &mut Vec<FieldIssue>,
    at: Location,
    overrides: &[FailureActionOverride],
) {
    for (i, o) in overrides.iter().enumerate() {
        check_enum(
            issues,
            at.index(i).key("action"),
            Some(&o.action),
            &POLICY_ACTIONS,
        );
    }
}

/// The CRD schema: enum and required-field violations, with full paths.
fn schema_issues(policy: &Policy, line: KyvernoLine) -> Vec<FieldIssue> {
    let spec_at = Location::root().key("spec");
    let spec = &policy.spec;
    let mut issues = Vec::new();
    check_enum(
        &mut issues,
        spec_at.key("validationFailureAction"),
        spec.validation_failure_action.as_deref(),
        &POLICY_ACTIONS,
    );
    check_overrides(
        &mut issues,
        spec_at.key("validationFailureActionOverrides"),
        &spec.validation_failure_action_overrides,
    );
    check_enum(
        &mut issues,
        spec_at.key("failurePolicy"),
        spec.failure_policy.as_deref(),
        &FAILURE_POLICIES,
    );
    let webhook_at = spec_at.key("webhookConfiguration").key("failurePolicy");
    check_enum(
        &mut issues,
        webhook_at,
        spec.webhook_failure_policy.as_deref(),
        &FAILURE_POLICIES,
    );
    for (i, rule) in spec.rules.iter().enumerate() {
        let Some(validate) = &rule.validate else {
            continue;
        };
        let at = spec_at.key("rules").index(i).key("validate");
        check_enum(
            &mut issues,
            at.key("failureAction"),
            validate.failure_action.as_deref(),
            &RULE_ACTIONS,
        );
        check_overrides(
            &mut issues,
            at.key("failureActionOverrides"),
            &validate.failure_action_overrides,
        );
        if let Some(ps) = &validate.pod_security {
            pod_security_schema(&mut issues, ps, &at.key("podSecurity"), line);
        }
    }
    issues
}

fn pod_security_schema(
    issues: &mut Vec<FieldIssue>,
    ps: &PodSecurity,
    at: &Location,
    line: KyvernoLine,
) {
    check_enum(issues, at.key("level"), ps.level.as_deref(), &LEVELS);
    check_enum(
        issues,
        at.key("version"),
        ps.version.as_deref(),
        line.version_enum(),
    );
    for (j, exclude) in ps.exclude.iter().enumerate() {
        let control_at = at.key("exclude").index(j).key("controlName");
        match exclude.control_name.as_deref() {
            None => issues.push(FieldIssue::new(control_at, IssueKind::Required)),
            Some(name) => check_enum(issues, control_at, Some(name), &CONTROL_NAMES),
        }
    }
}

/// Kyverno's webhook: the exclusion rules of section 1.2. Paths leave out `validate`.
fn webhook_issues(policy: &Policy) -> Vec<FieldIssue> {
    let mut issues = Vec::new();
    for (i, rule) in policy.spec.rules.iter().enumerate() {
        let Some(ps) = rule.pod_security() else {
            continue;
        };
        let at = Location::root()
            .key("spec")
            .key("rules")
            .index(i)
            .json_key("validate")
            .key("podSecurity");
        for (j, exclude) in ps.exclude.iter().enumerate() {
            exclude_issues(
                &mut issues,
                exclude,
                &at.key("exclude").index(j),
                ps.level_str() == "baseline",
            );
        }
    }
    issues
}

fn exclude_issues(
    issues: &mut Vec<FieldIssue>,
    exclude: &PodSecurityStandard,
    at: &Location,
    baseline: bool,
) {
    let name = exclude.control_name_str();
    let invalid = |detail: &str| {
        FieldIssue::new(
            at.key("controlName"),
            IssueKind::Invalid {
                value: name.to_owned(),
                detail: detail.to_owned(),
            },
        )
    };
    if CONTAINER_LEVEL_CONTROLS.contains(&name) && exclude.images.is_empty() {
        issues.push(invalid(
            "exclude.images must be specified for the container level control",
        ));
    } else if POD_LEVEL_CONTROLS.contains(&name) && !exclude.images.is_empty() {
        issues.push(invalid(
            "exclude.images must not be specified for the pod level control",
        ));
    }
    if !exclude.restricted_field.is_empty() && exclude.values.is_empty() {
        issues.push(FieldIssue::new(
            at.key("values"),
            IssueKind::Forbidden {
                detail: "values is required".into(),
            },
        ));
    }
    if exclude.restricted_field.is_empty() && !exclude.values.is_empty() {
        let detail = "restrictedField is required".into();
        issues.push(FieldIssue::new(
            at.key("restrictedField"),
            IssueKind::Forbidden { detail },
        ));
    }
    if baseline && RESTRICTED_CONTROLS.contains(&name) {
        issues.push(invalid("Invalid control name defined at the given level"));
    }
}

/// The autogen warning: a Pod-only policy whose annotation is neither `none` nor exactly
/// the five historical controllers (case-insensitive, any order).
fn warnings(policy: &Policy) -> Vec<String> {
    let Some(annotation) = policy.autogen_annotation() else {
        return Vec::new();
    };
    let only_pods = policy
        .spec
        .rules
        .iter()
        .all(|r| r.match_resources.kinds().iter().all(|k| *k == "Pod"));
    let mut requested: Vec<String> = annotation.split(',').map(str::to_lowercase).collect();
    requested.sort();
    let standard = ["cronjob", "daemonset", "deployment", "job", "statefulset"];
    if only_pods && annotation != "none" && requested != standard {
        vec![AUTOGEN_WARNING.to_owned()]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn policy(pod_security: Value) -> Policy {
        Policy::from_value(&json!({
            "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": {"name": "psa"},
            "spec": {"validationFailureAction": "Enforce", "rules": [{
                "name": "r", "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                "validate": {"podSecurity": pod_security},
            }]},
        }))
        .unwrap()
    }

    fn refusal(pod_security: Value, line: KyvernoLine) -> PolicyError {
        validate(&policy(pod_security), line).unwrap_err()
    }

    #[test]
    fn accepts_valid_exclusions() {
        let ok = policy(
            json!({"level": "restricted", "version": "v1.29", "exclude": [
                {"controlName": "Privilege Escalation", "images": ["nginx"]},
                {
                    "controlName": "HostPath Volumes",
                    "restrictedField": "spec.volumes[*].hostPath",
                    "values": ["/data"],
                },
                {"controlName": "Seccomp"},
            ]}),
        );
        assert_eq!(validate(&ok, KyvernoLine::V1_19), Ok(Vec::new()));
    }

    #[test]
    fn values_and_restricted_field_come_in_pairs() {
        let err = refusal(
            json!({"level": "baseline", "exclude": [{
                "controlName": "Sysctls",
                "restrictedField": "spec.securityContext.sysctls[*].name",
            }]}),
            KyvernoLine::V1_19,
        );
        assert_eq!(err.stage, Stage::Webhook);
        assert_eq!(
            err.to_string(),
            "admission webhook \"validate-policy.kyverno.svc\" denied the request: \
             spec.rules[0].podSecurity.exclude[0].values: Forbidden: values is required"
        );
        let json_path: Vec<String> = err.issues[0]
            .location
            .json
            .iter()
            .map(|s| match s {
                crate::policy_error::PathSegment::Key(k) => k.clone(),
                crate::policy_error::PathSegment::Index(i) => i.to_string(),
            })
            .collect();
        assert_eq!(
            json_path,
            [
                "spec",
                "rules",
                "0",
                "validate",
                "podSecurity",
                "exclude",
                "0",
                "values"
            ]
        );
        let err = refusal(
            json!({"level": "baseline", "exclude": [{"controlName": "Sysctls", "values": ["a"]}]}),
            KyvernoLine::V1_19,
        );
        assert_eq!(
            err.aggregate(),
            "spec.rules[0].podSecurity.exclude[0].restrictedField: Forbidden: \
             restrictedField is required"
        );
    }

    #[test]
    fn images_rules_and_level_rules() {
        let err = refusal(
            json!({"level": "baseline", "exclude": [
                {"controlName": "Privileged Containers"},
                {"controlName": "Host Namespaces", "images": ["x"]},
                {"controlName": "Running as Non-root", "images": ["nginx"]},
                {"controlName": "Capabilities", "images": ["nginx"]},
            ]}),
            KyvernoLine::V1_12,
        );
        assert_eq!(
            err.aggregate(),
            "[spec.rules[0].podSecurity.exclude[0].controlName: Invalid value: \
             \"Privileged Containers\": \
             exclude.images must be specified for the container level control, \
             spec.rules[0].podSecurity.exclude[1].controlName: Invalid value: \"Host Namespaces\": \
             exclude.images must not be specified for the pod level control, \
             spec.rules[0].podSecurity.exclude[2].controlName: Invalid value: \
             \"Running as Non-root\": Invalid control name defined at the given level]"
        );
    }

    #[test]
    fn schema_enums_and_required_fields() {
        let err = refusal(
            json!({
                "level": "strict",
                "version": "v1.33",
                "exclude": [{"images": ["a"]}, {"controlName": "Foo"}],
            }),
            KyvernoLine::V1_19,
        );
        assert_eq!(err.stage, Stage::Schema);
        let texts: Vec<String> = err.issues.iter().map(ToString::to_string).collect();
        assert_eq!(
            texts[0],
            "spec.rules[0].validate.podSecurity.level: Unsupported value: \"strict\": \
             supported values: \
             \"privileged\", \"baseline\", \"restricted\""
        );
        assert!(texts[1].starts_with(
            "spec.rules[0].validate.podSecurity.version: Unsupported value: \"v1.33\": \
             supported values: \"v1.19\""
        ));
        assert!(texts[1].ends_with("\"v1.32\", \"latest\""), "{}", texts[1]);
        assert_eq!(
            texts[2],
            "spec.rules[0].validate.podSecurity.exclude[0].controlName: Required value"
        );
        assert!(texts[3].starts_with(
            "spec.rules[0].validate.podSecurity.exclude[1].controlName: \
             Unsupported value: \"Foo\": \
             supported values: \"HostProcess\", \"Host Namespaces\""
        ));
        assert!(
            err.to_string()
                .starts_with("ClusterPolicy.kyverno.io \"psa\" is invalid: [spec.rules[0]")
        );
    }

    #[test]
    fn version_enum_depends_on_the_line() {
        let ps = json!({"level": "baseline", "version": "v1.29"});
        assert!(validate(&policy(ps.clone()), KyvernoLine::V1_12).is_ok());
        assert_eq!(refusal(ps, KyvernoLine::V1_10).stage, Stage::Schema);
    }

    #[test]
    fn warns_about_partial_autogen_annotations() {
        let mut p = policy(json!({"level": "baseline"}));
        p.annotations.insert(
            crate::policy::AUTOGEN_ANNOTATION.into(),
            "Deployment".into(),
        );
        assert_eq!(
            validate(&p, KyvernoLine::V1_19),
            Ok(vec![AUTOGEN_WARNING.to_owned()])
        );
        p.annotations.insert(
            crate::policy::AUTOGEN_ANNOTATION.into(),
            "StatefulSet,Job,Deployment,DaemonSet,cronjob".into(),
        );
        assert_eq!(validate(&p, KyvernoLine::V1_19), Ok(Vec::new()));
        p.annotations
            .insert(crate::policy::AUTOGEN_ANNOTATION.into(), "none".into());
        assert_eq!(validate(&p, KyvernoLine::V1_19), Ok(Vec::new()));
    }
}
