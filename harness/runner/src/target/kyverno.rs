//! The in-process Kyverno target: `kyverno::evaluate` with a set of policies at one release
//! line, behind the same [`Target`] trait as PSA. The outcome carries the decision,
//! Kyverno's denial message, the API server's text (the status message) and every rule's
//! result.
//!
//! Not modelled here: subresource requests (Kyverno's `kinds: [Pod]` does not match
//! `Pod/ephemeralcontainers`, so they are allowed with no rule evaluated) and whatever the
//! `kyverno` crate lists as unmodelled (reported in the outcome's `notes`).

use std::borrow::Cow;
use std::sync::Arc;

use kyverno::{KyvernoLine, KyvernoResponse, RequestUser, RuleStatus};
use pss::Workload;

use super::Violation;
use super::{AdmissionRequest, Operation, Outcome, RuleOutcome, Status, Target, TargetError};
use crate::policy::PolicySet;

/// The status code the API server gives a webhook denial that carries none (Kyverno sets
/// none), and its reason (none: kubectl prints `Error from server: ...`).
const DENIED_CODE: u16 = 400;

/// Kyverno at one release line with a set of policies installed.
#[derive(Debug, Clone)]
pub struct InProcessKyverno {
    line: KyvernoLine,
    policies: Arc<PolicySet>,
}

impl InProcessKyverno {
    pub fn new(line: KyvernoLine, policies: Arc<PolicySet>) -> Self {
        InProcessKyverno { line, policies }
    }

    pub fn line(&self) -> KyvernoLine {
        self.line
    }
}

impl Target for InProcessKyverno {
    fn describe(&self) -> String {
        format!(
            "in-process kyverno@{} ({}; {})",
            self.line,
            self.line.releases(),
            self.policies.label()
        )
    }

    fn admit(&self, request: &AdmissionRequest<'_>) -> Result<Outcome, TargetError> {
        if let Some(refusal) = self.policies.refusal(self.line) {
            return Err(TargetError::Failed(format!(
                "kyverno@{} does not admit the policy ({}): {refusal}",
                self.line,
                self.policies.label()
            )));
        }
        if request.subresource.is_some() {
            return Ok(Outcome {
                allowed: true,
                ..Outcome::default()
            });
        }
        let object = defaulted(request);
        let user = request.user.map(|u| RequestUser {
            username: u.to_owned(),
            ..RequestUser::default()
        });
        let kyverno_request = kyverno::AdmissionRequest {
            object: &object,
            old_object: request.old_object,
            operation: match request.operation {
                Operation::Create => kyverno::Operation::Create,
                Operation::Update => kyverno::Operation::Update,
            },
            namespace: Some(request.namespace),
            namespace_labels: Some(request.namespace_labels),
            user: user.as_ref(),
        };
        let response = kyverno::evaluate(&self.policies.policies, &kyverno_request, self.line);
        Ok(outcome_of(response))
    }
}

/// Evaluate one object with no admission context beyond its namespace (for `check`).
pub fn evaluate_object(
    line: KyvernoLine,
    policies: &PolicySet,
    object: &Workload,
    namespace: &str,
) -> KyvernoResponse {
    let mut request = kyverno::AdmissionRequest::create(object);
    request.namespace = Some(namespace);
    kyverno::evaluate(&policies.policies, &request, line)
}

/// The runner's view of Kyverno's response.
pub fn outcome_of(response: KyvernoResponse) -> Outcome {
    let violations = response
        .rules
        .iter()
        .filter(|r| r.status == RuleStatus::Fail)
        .flat_map(|r| &r.checks)
        .map(|c| Violation {
            reason: c.reason.to_owned(),
            detail: c.detail.clone(),
        })
        .collect();
    let status = match (&response.apiserver_text, response.allowed) {
        (Some(text), false) => Some(Status {
            code: DENIED_CODE,
            reason: String::new(),
            message: text.clone(),
        }),
        _ => None,
    };
    let rules = response
        .rules
        .iter()
        .map(|r| RuleOutcome {
            policy: r.policy.clone(),
            rule: r.rule.clone(),
            status: r.status.as_str().to_owned(),
            message: r.message.clone(),
            action: r.action.as_str().to_owned(),
        })
        .collect();
    Outcome {
        allowed: response.allowed,
        status,
        violations,
        denial: response.denial_message,
        rules,
        notes: response.unmodelled,
        ..Outcome::default()
    }
}

/// The object the API server hands to validating webhooks: defaulted unless the request
/// is raw (mutating admission, which Kyverno's podSecurity does not take part in, is not
/// modelled).
fn defaulted<'a>(request: &AdmissionRequest<'a>) -> Cow<'a, Workload> {
    if request.defaulting == pss::Defaulting::NONE {
        return Cow::Borrowed(request.object);
    }
    let mut object = request.object.clone();
    request.defaulting.apply(&mut object);
    Cow::Owned(object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::Path;

    const SEED_POLICY: &str = "apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: baseline-policy}
spec:
  validationFailureAction: Enforce
  background: true
  rules:
  - name: baseline
    match:
      any:
      - resources: {kinds: [Pod]}
    validate:
      podSecurity: {level: baseline, version: latest}
";

    fn policies() -> Arc<PolicySet> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.yaml");
        std::fs::write(&file, SEED_POLICY).unwrap();
        Arc::new(PolicySet::load(&[file]).unwrap())
    }

    fn pod() -> Workload {
        Workload::from_json(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},
            "spec":{"containers":[{"name":"c","image":"nginx",
            "securityContext":{"privileged":true}}]}}"#,
        )
        .unwrap()
    }

    fn request<'a>(
        object: &'a Workload,
        labels: &'a BTreeMap<String, String>,
    ) -> AdmissionRequest<'a> {
        AdmissionRequest::create(object, "default", labels)
    }

    #[test]
    fn denies_with_the_api_server_text_and_rule_results() {
        let target = InProcessKyverno::new(KyvernoLine::V1_19, policies());
        let labels = BTreeMap::new();
        let object = pod();
        let outcome = target.admit(&request(&object, &labels)).unwrap();
        assert!(!outcome.allowed);
        let status = outcome.status.as_ref().unwrap();
        assert_eq!(status.code, 400);
        assert!(
            status.message.starts_with(
                "admission webhook \"validate.kyverno.svc-fail\" denied the request: \n\n\
                 resource Pod/default/p was blocked"
            ),
            "{}",
            status.message
        );
        assert!(status.message.ends_with(outcome.denial.as_deref().unwrap()));
        assert_eq!(outcome.reasons(), ["privileged"]);
        assert_eq!(
            (
                outcome.rules[0].rule.as_str(),
                outcome.rules[0].status.as_str()
            ),
            ("baseline", "fail")
        );
        assert!(target.describe().contains("kyverno@v1.19"));
        assert!(
            target
                .describe()
                .contains(&Path::new("p.yaml").display().to_string())
        );
    }

    #[test]
    fn no_policy_allows_and_subresources_are_not_matched() {
        let none = InProcessKyverno::new(KyvernoLine::V1_10, Arc::new(PolicySet::empty()));
        let labels = BTreeMap::new();
        let object = pod();
        let outcome = none.admit(&request(&object, &labels)).unwrap();
        assert!(outcome.allowed && outcome.rules.is_empty());
        let target = InProcessKyverno::new(KyvernoLine::V1_10, policies());
        let mut req = request(&object, &labels);
        req.subresource = Some("ephemeralcontainers");
        assert!(target.admit(&req).unwrap().allowed);
    }
}
