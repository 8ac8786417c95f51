//! # kyverno: Kyverno's `validate.podSecurity`, as a pure model
//!
//! Reproduces what Kyverno does with Pod Security policies, byte for byte where it prints
//! text: the policy model and its admission checks, auto-generated rules for pod
//! controllers, Kyverno's own way of running the Pod Security checks (which differs from
//! Pod Security Admission on purpose and by known bugs), exclusions, and the denial texts
//! of each release line. No I/O and no YAML: policies arrive as `serde_json::Value`, objects
//! as [`pss::Workload`].
//!
//! ```
//! use kyverno::{AdmissionRequest, KyvernoLine, Policy};
//!
//! let policy = Policy::from_value(&serde_json::json!({
//!     "apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
//!     "metadata": {"name": "baseline-policy"},
//!     "spec": {"validationFailureAction": "Enforce", "rules": [{
//!         "name": "baseline",
//!         "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
//!         "validate": {"podSecurity": {"level": "baseline", "version": "latest"}},
//!     }]},
//! }))?;
//! policy.validate(KyvernoLine::V1_19)?;
//! let pod = pss::Workload::from_json(r#"{"apiVersion":"v1","kind":"Pod",
//!     "metadata":{"name":"p","namespace":"default"},
//!     "spec":{"containers":[{"name":"c","image":"nginx",
//!         "securityContext":{"privileged":true}}]}}"#)?;
//! let request = AdmissionRequest::create(&pod);
//! let response = kyverno::evaluate(&[policy], &request, KyvernoLine::V1_19);
//! assert!(!response.allowed);
//! assert_eq!(
//!     response.rules[0].message,
//!     "Validation rule 'baseline' failed. It violates PodSecurity \"baseline:latest\": \
//!      (Forbidden reason: privileged, field error list: [spec.containers[0].securityContext\
//!      .privileged is forbidden, forbidden values found: true])"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Layers, lowest first: [`wildcard`], [`line`](mod@line) (release lines); the policy model
//! ([`policy`], [`resource_filter`], [`pod_security`]) with [`policy_error`] and
//! [`policy_validation`]; [`autogen`] and [`matching`]; the evaluation ([`controls`],
//! [`pod_extract`], [`pss_eval`], [`exclusion`]); the texts ([`check_format`],
//! [`yaml_emit`], [`blocked`]); and [`engine`], which ties them together.

pub mod autogen;
pub mod blocked;
pub mod check_format;
pub mod controls;
mod decode;
pub mod engine;
pub mod exclusion;
pub mod failure_action;
pub mod label_selector;
pub mod line;
pub mod matching;
pub mod pod_extract;
pub mod pod_security;
pub mod policy;
pub mod policy_error;
pub mod policy_validation;
pub mod pss_eval;
pub mod request;
pub mod resource_filter;
pub mod response;
pub mod wildcard;
pub mod yaml_emit;

pub use engine::evaluate;
pub use failure_action::FailureAction;
pub use line::{KyvernoLine, UnknownLine};
pub use pod_security::{PodSecurity, PodSecurityStandard};
pub use policy::{AUTOGEN_ANNOTATION, Policy, PolicyKind, Rule};
pub use policy_error::{FieldIssue, IssueKind, Location, PathSegment, PolicyError, Stage};
pub use request::{AdmissionRequest, Operation, RequestUser};
pub use response::{FailedCheck, KyvernoResponse, RuleResult, RuleStatus};

impl Policy {
    /// The admission checks of [`policy_validation::validate`]: `Ok` carries Kyverno's
    /// warnings, `Err` the refusal with the API server's text.
    pub fn validate(&self, line: KyvernoLine) -> Result<Vec<String>, PolicyError> {
        policy_validation::validate(self, line)
    }

    /// Decode and validate in one step, as creating the policy in a cluster would.
    pub fn admit(
        value: &serde_json::Value,
        line: KyvernoLine,
    ) -> Result<(Policy, Vec<String>), PolicyError> {
        let policy = Policy::from_value(value)?;
        let warnings = policy.validate(line)?;
        Ok((policy, warnings))
    }
}
