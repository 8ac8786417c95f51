//! Targets: anything that answers an admission request. A target knows nothing about
//! cases, expectations or goldens; it gets one request and returns one [`Outcome`].
//!
//! There are the in-process PSA target ([`psa::InProcessPsa`]), the in-process Kyverno
//! target ([`kyverno::InProcessKyverno`], one per line and policy set) and the webhook
//! target ([`webhook::WebhookTarget`], AdmissionReview v1 over HTTPS to any live webhook);
//! a cluster target (server-side dry run) would implement the same trait.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use pss::admission::{AdmissionConfig, NamespaceObject};
use pss::{Defaulting, Workload};
use serde::Serialize;

pub mod kyverno;
pub mod psa;
pub mod webhook;

/// The admission operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub enum Operation {
    #[default]
    #[serde(rename = "CREATE")]
    Create,
    #[serde(rename = "UPDATE")]
    Update,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
        }
    }
}

/// One admission request, as an API server would send it to PSA (after authentication,
/// before defaulting when `defaulting` asks the target to apply it).
#[derive(Debug, Clone, Copy)]
pub struct AdmissionRequest<'a> {
    pub object: &'a Workload,
    pub old_object: Option<&'a Workload>,
    pub operation: Operation,
    pub subresource: Option<&'a str>,
    pub user: Option<&'a str>,
    pub namespace: &'a str,
    pub namespace_labels: &'a BTreeMap<String, String>,
    /// The API-server defaulting an in-process target applies before admission (a live
    /// target's server always applies its own and ignores this).
    pub defaulting: Defaulting,
    /// PSA's configuration file (default policy and exemptions); `None`: upstream's
    /// built-in defaults (everything privileged, nothing exempt). A live target runs with
    /// its server's own configuration and cannot honour a per-request one.
    pub admission_config: Option<&'a AdmissionConfig>,
    /// A Namespace CREATE or UPDATE: when set, the request is about this namespace and
    /// `object`/`old_object` are not used.
    pub namespace_request: Option<&'a NamespaceRequest>,
}

impl<'a> AdmissionRequest<'a> {
    /// A CREATE of `object` by an anonymous user in namespace `namespace` with `labels`,
    /// defaulted as the API server would, under the built-in PSA configuration.
    pub fn create(
        object: &'a Workload,
        namespace: &'a str,
        labels: &'a BTreeMap<String, String>,
    ) -> Self {
        AdmissionRequest {
            object,
            old_object: None,
            operation: Operation::Create,
            subresource: None,
            user: None,
            namespace,
            namespace_labels: labels,
            defaulting: Defaulting::API_SERVER,
            admission_config: None,
            namespace_request: None,
        }
    }
}

/// A Namespace request: the namespace as sent (its name and labels), the stored one for
/// an UPDATE, and the pods already in it (PSA warns about them when an update tightens
/// the enforce level).
#[derive(Debug, Clone, PartialEq)]
pub struct NamespaceRequest {
    pub object: NamespaceObject,
    pub old: Option<NamespaceObject>,
    pub existing_pods: Vec<Pod>,
}

/// A refusal, as the API server's `Status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub code: u16,
    pub reason: String,
    pub message: String,
}

/// One failing check: its ForbiddenReason and detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub reason: String,
    pub detail: String,
}

/// What a target answered.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Outcome {
    pub allowed: bool,
    /// Present when refused.
    pub status: Option<Status>,
    /// `Warning:` headers, in order.
    pub warnings: Vec<String>,
    /// Audit annotations (keys without the `pod-security.kubernetes.io/` prefix).
    pub audit_annotations: BTreeMap<String, String>,
    /// The target cannot see audit annotations (an API server keeps them in its audit
    /// log): `audit_annotations` is empty for that reason, and is not compared.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub audit_unobserved: bool,
    /// The failing checks behind the message, when the target knows them (in-process).
    /// A live target leaves this empty and the judge parses the message instead.
    pub violations: Vec<Violation>,
    /// Kyverno: its AdmissionResponse message (the status message without the API
    /// server's `admission webhook "<name>" denied the request: ` prefix).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denial: Option<String>,
    /// Kyverno: every evaluated rule's result, in evaluation order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleOutcome>,
    /// What the target does not model for this request (the answer may differ there).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One Kyverno rule's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleOutcome {
    pub policy: String,
    /// The evaluated name (`autogen-<rule>` for controllers).
    pub rule: String,
    /// `pass`, `fail`, `skip` or `error`.
    pub status: String,
    pub message: String,
    /// `Enforce` or `Audit`.
    pub action: String,
}

impl RuleOutcome {
    /// Whether the rule failed or errored (what a denial lists).
    pub fn failed(&self) -> bool {
        self.status == "fail" || self.status == "error"
    }
}

impl Outcome {
    /// The ForbiddenReasons behind the outcome, in order.
    pub fn reasons(&self) -> Vec<&str> {
        self.violations.iter().map(|v| v.reason.as_str()).collect()
    }

    /// PSA's aggregated detail (`reason (detail), reason`) of the violations.
    pub fn detail(&self) -> String {
        let parts: Vec<String> = self
            .violations
            .iter()
            .map(|v| match v.detail.is_empty() {
                true => v.reason.clone(),
                false => format!("{} ({})", v.reason, v.detail),
            })
            .collect();
        parts.join(", ")
    }
}

/// Why a target cannot express a scenario. The list is short on purpose: each cause is
/// something no engine behind that target could ever be shown (docs/cluster.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Inexpressible {
    /// The API server's validation rejects the object (or the old object of an update)
    /// before any admission plugin or webhook sees it.
    InvalidObject,
    /// A pod template with ephemeral containers: only a Pod can have them, added
    /// through its `ephemeralcontainers` subresource.
    EphemeralContainersInTemplate,
    /// The case is evaluated without API-server defaulting (`raw: true`); a server
    /// always defaults.
    Raw,
    /// Namespace labels the cluster refuses to store (PSA validates its own labels).
    NamespaceLabels,
    /// The case needs cluster state outside the run's namespaces (a namespace that
    /// exists or must not exist, a RuntimeClass on a cluster the harness does not own).
    ClusterState,
    /// The scenario is pinned at a version newer than the server, or `latest` there is a
    /// version the case does not cover.
    NewerThanServer,
    /// The case brings its own engine configuration (a PodSecurityConfiguration, Kyverno
    /// policies), which a running cluster fixes when it starts.
    EngineConfiguration,
}

impl Inexpressible {
    /// One line for reports.
    pub fn headline(self) -> &'static str {
        match self {
            Inexpressible::InvalidObject => {
                "the API server's validation rejects the object before admission"
            }
            Inexpressible::EphemeralContainersInTemplate => {
                "a pod template cannot hold ephemeral containers (only a Pod can, through its \
                 ephemeralcontainers subresource)"
            }
            Inexpressible::Raw => {
                "the case is evaluated without API-server defaulting, which a server always applies"
            }
            Inexpressible::NamespaceLabels => "the cluster refuses to store these namespace labels",
            Inexpressible::ClusterState => {
                "the case needs cluster state outside the run's own namespaces"
            }
            Inexpressible::NewerThanServer => "the version is newer than the server's",
            Inexpressible::EngineConfiguration => {
                "the case brings its own engine configuration, which a running cluster fixes"
            }
        }
    }
}

impl std::fmt::Display for Inexpressible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.headline())
    }
}

/// A target did not answer a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// It could not (unreachable, a bad response, an unsupported request): the trial fails.
    #[error("{0}")]
    Failed(String),
    /// It cannot express this request: the trial is reported as not applicable, with
    /// the cause and the target's own words, never as a pass.
    #[error("not applicable: {detail}")]
    NotApplicable { why: Inexpressible, detail: String },
}

impl TargetError {
    /// A failure with this message.
    pub fn failed(message: impl Into<String>) -> Self {
        TargetError::Failed(message.into())
    }

    /// Not applicable, for this cause.
    pub fn not_applicable(why: Inexpressible, detail: impl Into<String>) -> Self {
        TargetError::NotApplicable {
            why,
            detail: detail.into(),
        }
    }

    /// The message without the kind.
    pub fn message(&self) -> &str {
        match self {
            TargetError::Failed(m) | TargetError::NotApplicable { detail: m, .. } => m,
        }
    }
}

/// Anything that answers admission requests.
pub trait Target: Send + Sync {
    /// A short description for reports, e.g. `in-process psa (pss, v1.37)`.
    fn describe(&self) -> String;

    fn admit(&self, request: &AdmissionRequest<'_>) -> Result<Outcome, TargetError>;

    /// A live PSA server's own minor version, when this target is one (a cluster): it
    /// evaluates `latest` at that minor and cannot run newer versions. `None`: the target
    /// knows every version (in-process, or an engine that evaluates at its policy's).
    fn server_minor(&self) -> Option<u32> {
        None
    }

    /// Whether the target's Kyverno engine runs the policies installed in it, whatever a
    /// case names (a live cluster): cases with their own `policies` cannot run there.
    fn fixed_policies(&self) -> bool {
        false
    }
}
