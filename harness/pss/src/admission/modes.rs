//! Evaluating one pod or template against the three modes (§4.4 steps 9–12; upstream
//! `EvaluatePod`), shared by the pod and controller flows.
//!
//! Enforce (pods only) decides; audit records `audit-violations` even when enforce denies;
//! warn adds one warning only to an allowed request. Results are cached by level-version
//! for the request, so a mode equal to an earlier one reuses its evaluation and text.

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::field_errors::FieldErrors;
use super::namespace_policy::Policy;
use super::response::{
    AUDIT_VIOLATIONS_ANNOTATION, ENFORCE_POLICY_ANNOTATION, ERROR_ANNOTATION, Response,
    StatusReason,
};
use crate::evaluator::{Evaluation, Evaluator};
use crate::messages::{forbidden_message, violation_warning};
use crate::policy::LevelVersion;

/// The pod or template under evaluation, and whether enforce applies (pods only).
pub(crate) struct Subject<'a> {
    pub meta: &'a ObjectMeta,
    pub spec: &'a PodSpec,
    /// `Some(request name)` for pods: enforce is evaluated and may deny.
    pub enforce_name: Option<&'a str>,
}

/// Evaluate `subject` under `policy`; `label_errors` become the `error` annotation.
pub(crate) fn evaluate_modes(
    evaluator: &Evaluator,
    policy: &Policy,
    label_errors: &FieldErrors,
    subject: &Subject<'_>,
) -> Response {
    let mut cache = Cache {
        evaluator,
        subject,
        entries: Vec::new(),
    };
    let mut response = Response::allow();
    if !label_errors.is_empty() {
        let error = format!("Failed to parse policy: {label_errors}");
        response = response.with_annotation(ERROR_ANNOTATION, error);
    }
    if let Some(name) = subject.enforce_name {
        response = enforce(&mut cache, &policy.enforce, name, response);
    }
    let audit = cache.get(&policy.audit);
    if !audit.allowed() {
        let text = violation_warning(&policy.audit, &audit.detail());
        response = response.with_annotation(AUDIT_VIOLATIONS_ANNOTATION, text);
    }
    if response.allowed {
        let warn = cache.get(&policy.warn);
        if !warn.allowed() {
            response = response.with_warning(violation_warning(&policy.warn, &warn.detail()));
        }
    }
    response
}

/// Record `enforce-policy` and deny (keeping the annotations) when the pod fails.
fn enforce(cache: &mut Cache<'_>, lv: &LevelVersion, name: &str, response: Response) -> Response {
    let mut response = response.with_annotation(ENFORCE_POLICY_ANNOTATION, lv.to_string());
    let result = cache.get(lv);
    if !result.allowed() {
        let message = forbidden_message("pods", name, lv, &result.detail());
        let denied = Response::refuse(StatusReason::Forbidden, message);
        response.allowed = false;
        response.status = denied.status;
    }
    response
}

/// Per-request results by level-version (structural equality: `latest` ≠ `v1.37`).
struct Cache<'a> {
    evaluator: &'a Evaluator,
    subject: &'a Subject<'a>,
    entries: Vec<(LevelVersion, Evaluation)>,
}

impl Cache<'_> {
    fn get(&mut self, lv: &LevelVersion) -> &Evaluation {
        let index = match self.entries.iter().position(|(k, _)| k == lv) {
            Some(i) => i,
            None => {
                let s = self.subject;
                let result = self
                    .evaluator
                    .evaluate(lv.level, lv.version, s.meta, s.spec);
                self.entries.push((*lv, result));
                self.entries.len() - 1
            }
        };
        &self.entries[index].1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn privileged_spec() -> PodSpec {
        serde_json::from_value(serde_json::json!({
            "containers": [{"name": "c", "securityContext": {"privileged": true}}]
        }))
        .unwrap()
    }

    fn lv(s: &str) -> LevelVersion {
        s.parse().unwrap()
    }

    #[test]
    fn cache_evaluates_each_level_version_once() {
        let spec = privileged_spec();
        let meta = ObjectMeta::default();
        let subject = Subject {
            meta: &meta,
            spec: &spec,
            enforce_name: None,
        };
        let mut cache = Cache {
            evaluator: Evaluator::standard(),
            subject: &subject,
            entries: vec![],
        };
        cache.get(&lv("baseline:latest"));
        cache.get(&lv("baseline:latest"));
        cache.get(&lv("baseline:v1.37"));
        assert_eq!(cache.entries.len(), 2);
    }

    #[test]
    fn denial_keeps_enforce_and_audit_annotations_but_no_warning() {
        let spec = privileged_spec();
        let meta = ObjectMeta::default();
        let subject = Subject {
            meta: &meta,
            spec: &spec,
            enforce_name: Some("p"),
        };
        let policy = Policy {
            enforce: lv("baseline:latest"),
            audit: lv("baseline:latest"),
            warn: lv("restricted:latest"),
        };
        let r = evaluate_modes(
            Evaluator::standard(),
            &policy,
            &FieldErrors::default(),
            &subject,
        );
        assert!(!r.allowed);
        assert!(r.warnings.is_empty());
        assert_eq!(r.annotation("enforce-policy"), Some("baseline:latest"));
        let detail = "privileged (container \"c\" must not set securityContext.privileged=true)";
        assert_eq!(
            r.message(),
            Some(
                format!(
                    "pods \"p\" is forbidden: violates PodSecurity \"baseline:latest\": {detail}"
                )
                .as_str()
            )
        );
        assert_eq!(
            r.annotation("audit-violations"),
            Some(format!("would violate PodSecurity \"baseline:latest\": {detail}").as_str())
        );
    }
}
