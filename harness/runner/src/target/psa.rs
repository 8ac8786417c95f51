//! The in-process PSA target: [`pss::admission`] answers each request exactly as upstream
//! Pod Security Admission would (namespace policy, exemptions, update rules, subresources,
//! label errors, namespace tightening), and its response becomes the runner's [`Outcome`].
//!
//! What this module adds is only the API server's part: the request is built from the
//! scenario, API-server defaulting is applied to the object, the old object and a
//! namespace's existing pods (unless the request is raw), and the failing checks behind a
//! denial or a policy warning are listed as [`Violation`]s so the judge can compare
//! reasons without parsing messages.

use k8s_openapi::api::core::v1::Pod;
use pss::admission::{
    Admission, Object, Operation as PsaOperation, Request, Resource, Response, StatusReason,
};
use pss::{Defaulting, Evaluator, LevelVersion, Workload};

use super::{
    AdmissionRequest, NamespaceRequest, Operation, Outcome, Status, Target, TargetError, Violation,
};

pub use pss::admission::namespace_policy::LABEL_PREFIX;

/// The prefix of PSA's policy warnings (and of `audit-violations` values).
const WOULD_VIOLATE: &str = "would violate PodSecurity ";

/// Upstream PSA, evaluated in this process.
#[derive(Debug, Clone, Copy)]
pub struct InProcessPsa {
    evaluator: &'static Evaluator,
}

impl Default for InProcessPsa {
    fn default() -> Self {
        InProcessPsa {
            evaluator: Evaluator::standard(),
        }
    }
}

/// One evaluator per emulated minor, built on first use and kept for the process.
static EMULATED: [std::sync::OnceLock<Evaluator>; pss::version::NEWEST_MINOR as usize + 1] =
    [const { std::sync::OnceLock::new() }; pss::version::NEWEST_MINOR as usize + 1];

impl InProcessPsa {
    /// PSA as an API server of minor `minor` runs it: `latest` (and every newer version)
    /// evaluates at `v1.<minor>`; the newest known minor at most.
    pub fn emulating(minor: u32) -> Self {
        let minor = minor.min(pss::version::NEWEST_MINOR);
        InProcessPsa {
            evaluator: EMULATED[minor as usize].get_or_init(|| Evaluator::emulating(minor)),
        }
    }
}

impl Target for InProcessPsa {
    fn describe(&self) -> String {
        format!(
            "in-process psa (pss, newest v1.{})",
            self.evaluator.max_minor()
        )
    }

    fn admit(&self, request: &AdmissionRequest<'_>) -> Result<Outcome, TargetError> {
        Ok(self.answer(request))
    }
}

impl InProcessPsa {
    /// Answer one request (infallible: every failure PSA knows is part of its response).
    pub fn answer(&self, request: &AdmissionRequest<'_>) -> Outcome {
        let config = request.admission_config.cloned().unwrap_or_default();
        let admission = Admission::with_evaluator(config, self.evaluator);
        if let Some(ns) = request.namespace_request {
            let response = admission.validate(&namespace_request(request, ns));
            return outcome(response, Vec::new());
        }
        let object = defaulted(request.object, request.defaulting);
        let response = admission.validate(&workload_request(request, &object));
        let violations = self.violations(&admission, request, &object, &response);
        outcome(response, violations)
    }

    /// The failing checks behind a denial (at the enforce level) or a policy warning (at
    /// the warn level); empty otherwise (allowed, exempt, or refused for another reason).
    fn violations(
        &self,
        admission: &Admission<'_>,
        request: &AdmissionRequest<'_>,
        object: &Workload,
        response: &Response,
    ) -> Vec<Violation> {
        let forbidden = response
            .status
            .as_ref()
            .is_some_and(|s| s.reason == StatusReason::Forbidden);
        let warned = response
            .warnings
            .iter()
            .any(|w| w.starts_with(WOULD_VIOLATE));
        if !forbidden && !warned {
            return Vec::new();
        }
        let policy = admission.policy_for(request.namespace_labels).policy;
        let level = if forbidden {
            policy.enforce
        } else {
            policy.warn
        };
        self.failures(object, level)
    }

    fn failures(&self, object: &Workload, policy: LevelVersion) -> Vec<Violation> {
        let Some(t) = object.pod_template() else {
            return Vec::new();
        };
        let evaluation = self
            .evaluator
            .evaluate(policy.level, policy.version, t.metadata, t.spec);
        evaluation
            .failures
            .iter()
            .map(|f| Violation {
                reason: f.forbidden.reason.to_owned(),
                detail: f.forbidden.detail.clone(),
            })
            .collect()
    }
}

/// The object the API server hands to admission: defaulted unless the request is raw.
fn defaulted(object: &Workload, defaulting: Defaulting) -> Workload {
    let mut object = object.clone();
    defaulting.apply(&mut object);
    object
}

fn psa_operation(operation: Operation) -> PsaOperation {
    match operation {
        Operation::Create => PsaOperation::Create,
        Operation::Update => PsaOperation::Update,
    }
}

/// A Pod or pod-controller request, named after the object.
fn workload_request(request: &AdmissionRequest<'_>, object: &Workload) -> Request {
    let labels = request.namespace_labels.clone();
    let mut req = Request::new(
        psa_operation(request.operation),
        Resource::of_kind(object.kind()),
        object.clone().into(),
    )
    .named(object.name())
    .in_namespace(request.namespace, Ok(labels))
    .by_user(request.user.unwrap_or_default())
    .with_subresource(request.subresource.unwrap_or_default());
    req.old_object = request
        .old_object
        .map(|old| Object::from(defaulted(old, request.defaulting)));
    req
}

/// A Namespace request, with the namespace's existing pods as the API server stores them.
fn namespace_request(request: &AdmissionRequest<'_>, ns: &NamespaceRequest) -> Request {
    let pods = ns
        .existing_pods
        .iter()
        .map(|p| defaulted_pod(p, request.defaulting))
        .collect();
    let mut req = Request::namespace(ns.object.clone(), ns.old.clone())
        .by_user(request.user.unwrap_or_default())
        .with_subresource(request.subresource.unwrap_or_default())
        .with_existing_pods(Ok(pods));
    req.operation = psa_operation(request.operation);
    req
}

fn defaulted_pod(pod: &Pod, defaulting: Defaulting) -> Pod {
    let mut workload = Workload::Pod(pod.clone());
    defaulting.apply(&mut workload);
    match workload {
        Workload::Pod(pod) => pod,
        _ => pod.clone(),
    }
}

/// PSA's response as the runner's outcome.
fn outcome(response: Response, violations: Vec<Violation>) -> Outcome {
    Outcome {
        allowed: response.allowed,
        status: response.status.map(|s| Status {
            code: s.code,
            reason: s.reason.as_str().to_owned(),
            message: s.message,
        }),
        warnings: response.warnings,
        audit_annotations: response.audit_annotations,
        violations,
        ..Outcome::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pss::admission::{NamespaceObject, PodSecurityExemptions};
    use std::collections::BTreeMap;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (format!("{LABEL_PREFIX}{k}"), (*v).to_owned()))
            .collect()
    }

    fn admit(object: &Workload, labels: &BTreeMap<String, String>) -> Outcome {
        InProcessPsa::default().answer(&AdmissionRequest::create(object, "default", labels))
    }

    fn workload(kind: &str, api_version: &str, spec: serde_json::Value) -> Workload {
        let body = match kind {
            "Pod" => serde_json::json!({"metadata": {"name": "p"}, "spec": spec}),
            _ => {
                let template = serde_json::json!({"spec": spec});
                let spec = serde_json::json!({"selector": {}, "template": template});
                serde_json::json!({"metadata": {"name": "d"}, "spec": spec})
            }
        };
        let mut value = body;
        value["apiVersion"] = api_version.into();
        value["kind"] = kind.into();
        Workload::from_value(value).unwrap()
    }

    fn privileged(kind: &str, api_version: &str) -> Workload {
        let container = serde_json::json!({"name": "c", "securityContext": {"privileged": true}});
        workload(
            kind,
            api_version,
            serde_json::json!({"containers": [container]}),
        )
    }

    const PRIVILEGED_DETAIL: &str =
        "privileged (container \"c\" must not set securityContext.privileged=true)";

    #[test]
    fn pods_are_denied_with_the_enforce_message_and_audit() {
        let out = admit(
            &privileged("Pod", "v1"),
            &labels(&[
                ("enforce", "baseline"),
                ("enforce-version", "v1.30"),
                ("warn", "restricted"),
                ("audit", "baseline"),
            ]),
        );
        assert!(!out.allowed);
        let status = out.status.unwrap();
        assert_eq!((status.code, status.reason.as_str()), (403, "Forbidden"));
        assert_eq!(
            status.message,
            format!(
                "pods \"p\" is forbidden: violates PodSecurity \"baseline:v1.30\": {PRIVILEGED_DETAIL}"
            )
        );
        assert!(out.warnings.is_empty(), "no warning accompanies a denial");
        assert_eq!(out.violations[0].reason, "privileged");
        assert_eq!(
            out.audit_annotations,
            BTreeMap::from([
                ("enforce-policy".to_owned(), "baseline:v1.30".to_owned()),
                (
                    "audit-violations".to_owned(),
                    format!("would violate PodSecurity \"baseline:latest\": {PRIVILEGED_DETAIL}")
                ),
            ])
        );
    }

    #[test]
    fn controllers_are_allowed_with_the_inherited_warning_and_its_violations() {
        let out = admit(
            &privileged("Deployment", "apps/v1"),
            &labels(&[("enforce", "baseline")]),
        );
        assert!(out.allowed && out.status.is_none());
        assert_eq!(
            out.warnings,
            [format!(
                "would violate PodSecurity \"baseline:latest\": {PRIVILEGED_DETAIL}"
            )]
        );
        assert_eq!(out.detail(), PRIVILEGED_DETAIL);
        assert!(out.audit_annotations.is_empty());
    }

    #[test]
    fn privileged_namespaces_allow_everything_quietly() {
        let out = admit(&privileged("Pod", "v1"), &BTreeMap::new());
        assert!(out.allowed && out.warnings.is_empty());
        assert_eq!(out.audit_annotations["enforce-policy"], "privileged:latest");
        let out = admit(&privileged("Deployment", "apps/v1"), &BTreeMap::new());
        assert_eq!(
            out,
            Outcome {
                allowed: true,
                ..Outcome::default()
            }
        );
    }

    #[test]
    fn invalid_enforce_label_fails_closed_with_the_error_annotation() {
        let ok = workload(
            "Pod",
            "v1",
            serde_json::json!({"containers": [{"name": "c"}]}),
        );
        let out = admit(&ok, &labels(&[("enforce", "Baseline")]));
        assert!(!out.allowed);
        assert!(
            out.status
                .as_ref()
                .unwrap()
                .message
                .contains("\"restricted:latest\""),
            "{out:?}"
        );
        assert_eq!(
            out.audit_annotations["error"],
            "Failed to parse policy: metadata.labels[pod-security.kubernetes.io/enforce]: \
             Invalid value: \"Baseline\": must be one of privileged, baseline, restricted"
        );
        assert_eq!(
            out.violations[0].reason,
            "allowPrivilegeEscalation != false"
        );
    }

    #[test]
    fn exemptions_come_from_the_configuration() {
        let config = pss::admission::PodSecurityConfiguration {
            api_version: "pod-security.admission.config.k8s.io/v1".into(),
            kind: "PodSecurityConfiguration".into(),
            exemptions: PodSecurityExemptions {
                usernames: vec!["admin".into()],
                ..PodSecurityExemptions::default()
            },
            ..Default::default()
        }
        .validate()
        .unwrap();
        let pod = privileged("Pod", "v1");
        let labels = labels(&[("enforce", "baseline")]);
        let mut req = AdmissionRequest::create(&pod, "default", &labels);
        req.user = Some("admin");
        req.admission_config = Some(&config);
        let out = InProcessPsa::default().answer(&req);
        assert!(out.allowed && out.violations.is_empty());
        assert_eq!(out.audit_annotations["exempt"], "user");
    }

    #[test]
    fn pod_updates_and_subresources() {
        let old = workload(
            "Pod",
            "v1",
            serde_json::json!({"containers": [{"name": "c", "image": "a",
                "securityContext": {"privileged": true}}]}),
        );
        let labels = labels(&[("enforce", "baseline")]);
        let mut req = AdmissionRequest::create(&old, "default", &labels);
        req.operation = Operation::Update;
        req.old_object = Some(&old);
        let out = InProcessPsa::default().answer(&req);
        assert_eq!(
            out,
            Outcome {
                allowed: true,
                ..Outcome::default()
            },
            "unchanged images"
        );
        req.subresource = Some("status");
        assert!(InProcessPsa::default().answer(&req).allowed);
        let new = workload(
            "Pod",
            "v1",
            serde_json::json!({"containers": [{"name": "c", "image": "b",
                "securityContext": {"privileged": true}}]}),
        );
        req.object = &new;
        req.subresource = None;
        assert!(
            !InProcessPsa::default().answer(&req).allowed,
            "image change"
        );
    }

    #[test]
    fn namespace_tightening_warns_about_existing_pods() {
        let ns = |enforce: &str| NamespaceObject {
            name: "team".into(),
            labels: labels(&[("enforce", enforce)]),
        };
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web"},
            "spec": {"hostNetwork": true, "containers": [{"name": "c"}]}
        }))
        .unwrap();
        let change = NamespaceRequest {
            object: ns("baseline"),
            old: Some(ns("privileged")),
            existing_pods: vec![pod],
        };
        let placeholder = privileged("Pod", "v1");
        let empty = BTreeMap::new();
        let mut req = AdmissionRequest::create(&placeholder, "team", &empty);
        req.operation = Operation::Update;
        req.namespace_request = Some(&change);
        let out = InProcessPsa::default().answer(&req);
        assert!(out.allowed && out.violations.is_empty());
        assert_eq!(
            out.warnings,
            [
                "existing pods in namespace \"team\" violate the new PodSecurity enforce level \
                 \"baseline:latest\"",
                "web: host namespaces",
            ]
        );
    }
}
