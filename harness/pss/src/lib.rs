//! # pss: the Pod Security Standards, as upstream Pod Security Admission decides them
//!
//! A pure, synchronous evaluator that reproduces `k8s.io/pod-security-admission`: the same
//! checks at every policy version from `v1.0` to the newest, the same decisions and the
//! same messages, byte for byte. No I/O, no async, no YAML: it takes typed objects
//! (k8s-openapi) and returns typed results.
//!
//! ```
//! let pod = pss::Workload::from_json(r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},
//!     "spec":{"containers":[{"name":"c","securityContext":{"privileged":true}}]}}"#)?;
//! let verdict = pss::evaluate(&pod, "baseline:latest".parse()?);
//! assert!(!verdict.allowed());
//! assert_eq!(verdict.message.as_deref(), Some("pods \"p\" is forbidden: violates PodSecurity \"baseline:latest\": \
//!     privileged (container \"c\" must not set securityContext.privileged=true)"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Layers, lowest first: [`Level`], [`Version`] and [`LevelVersion`]; the checks
//! ([`CheckId`], one module each); the [`Evaluator`] that selects and runs them; the
//! [`messages`] envelopes; [`Workload`] for pod-template extraction; [`Defaulting`] for the
//! API-server steps that precede admission.

pub mod admission;
mod app_armor_skew;
pub mod checks;
pub mod containers;
pub mod defaulting;
pub mod evaluator;
pub mod format;
pub mod level;
pub mod messages;
pub mod policy;
pub mod result;
pub mod version;
pub mod workload;
mod workload_json;

#[cfg(test)]
pub(crate) mod testing;

pub use checks::{CheckEntry, CheckFn, CheckId};
pub use defaulting::Defaulting;
pub use evaluator::{CheckFailure, Evaluation, Evaluator};
pub use level::{InvalidLevel, Level};
pub use policy::{InvalidLevelVersion, LevelVersion};
pub use result::{BadValue, CheckOptions, FieldError, FieldErrorKind, Forbidden};
pub use version::{InvalidVersion, Version};
pub use workload::{Kind, PodTemplateRef, Workload, WorkloadError};

/// The outcome of evaluating one object at one level and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The policy as given (printed in messages).
    pub policy: LevelVersion,
    pub kind: Kind,
    /// The failing checks, in order (empty when allowed).
    pub evaluation: Evaluation,
    /// For a denied Pod, the API server's `pods "NAME" is forbidden: violates PodSecurity ...`;
    /// for a failing controller, the `would violate PodSecurity ...` warning; else `None`.
    pub message: Option<String>,
}

impl Verdict {
    /// Whether admission allows the object. Controllers are never denied by PSA, so this
    /// is about the template's compliance: `false` means the pods would be refused.
    pub fn allowed(&self) -> bool {
        self.evaluation.allowed()
    }
}

/// Evaluate an object as written (no defaulting) with the standard evaluator. Apply
/// [`Defaulting::apply`] first to see what a live API server would evaluate.
pub fn evaluate(workload: &Workload, policy: LevelVersion) -> Verdict {
    evaluate_with(Evaluator::standard(), workload, policy)
}

/// [`evaluate`] with a given evaluator (e.g. one emulating an older version).
pub fn evaluate_with(evaluator: &Evaluator, workload: &Workload, policy: LevelVersion) -> Verdict {
    let evaluation = match workload.pod_template() {
        Some(t) => evaluator.evaluate(policy.level, policy.version, t.metadata, t.spec),
        None => Evaluation::default(),
    };
    let kind = workload.kind();
    let message = (!evaluation.allowed()).then(|| {
        let detail = evaluation.detail();
        if kind.is_pod() {
            messages::forbidden_message("pods", workload.name(), &policy, &detail)
        } else {
            messages::violation_warning(&policy, &detail)
        }
    });
    Verdict {
        policy,
        kind,
        evaluation,
        message,
    }
}
