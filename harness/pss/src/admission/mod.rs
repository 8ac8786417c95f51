//! The Pod Security Admission model: what upstream PSA answers to an admission request.
//!
//! Pure and synchronous: everything PSA would ask the API server for (the namespace's
//! labels, the existing pods, the time left) comes with the [`Request`], and the
//! [`Response`] carries the decision, the status, the warnings and the audit annotations
//! with upstream's exact texts.
//!
//! ```
//! use pss::admission::{Admission, AdmissionConfig, Labels, Request};
//!
//! let pod = pss::Workload::from_json(r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},
//!     "spec":{"containers":[{"name":"c","securityContext":{"privileged":true}}]}}"#)?;
//! let labels: Labels = [("pod-security.kubernetes.io/enforce".into(), "baseline".into())].into();
//! let response = Admission::new(AdmissionConfig::default())
//!     .validate(&Request::create_workload(pod, "team-a", labels));
//! assert!(!response.allowed);
//! assert_eq!(response.message(), Some("pods \"p\" is forbidden: violates PodSecurity \
//!     \"baseline:latest\": privileged (container \"c\" must not set \
//!     securityContext.privileged=true)"));
//! assert_eq!(response.annotation("enforce-policy"), Some("baseline:latest"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Parts, lowest first: [`config`] (the configuration file and its validation),
//! [`exemptions`], [`namespace_policy`] (labels → [`Policy`]), [`request`] and
//! [`response`], then the flows for pods, pod controllers and namespaces, with
//! [`pod_update`] (which updates are evaluated) and [`tightening`] (warnings about existing
//! pods when a namespace's enforce level is raised).

#![warn(missing_docs)]
pub mod config;
mod controller_flow;
mod dns;
pub mod exemptions;
pub mod field_errors;
mod modes;
mod namespace_flow;
pub mod namespace_policy;
mod plugin;
mod pod_flow;
pub mod pod_update;
pub mod request;
pub mod response;
pub mod tightening;

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;

pub use config::{
    AdmissionConfig, AdmissionConfiguration, AdmissionPluginConfiguration, ConfigError,
    PodSecurityConfiguration, PodSecurityDefaults, PodSecurityExemptions,
};
pub use exemptions::{Exemption, Exemptions};
pub use field_errors::{FieldError, FieldErrorType, FieldErrors};
pub use namespace_flow::exempt_warning;
pub use namespace_policy::{EffectivePolicy, Labels, Policy};
pub use plugin::Admission;
pub use pod_flow::IGNORED_POD_SUBRESOURCES;
pub use pod_update::is_significant_update;
pub use request::{
    NamespaceObject, Object, Operation, PodListing, Request, RequestNamespace, Resource,
};
pub use response::{Response, Status, StatusReason};
pub use tightening::{
    Clock, LIST_FAILED_WARNING, MonotonicClock, ReasonFn, Tightening, TighteningLimits,
    evaluator_reasons,
};
