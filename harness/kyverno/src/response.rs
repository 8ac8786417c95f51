//! What evaluation returns: one result per evaluated rule, and the admission outcome with
//! Kyverno's and the API server's texts.

use pss::{CheckId, FieldError};

use crate::failure_action::FailureAction;

/// A rule's status, as in Kyverno's engine responses and policy reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleStatus {
    Pass,
    Fail,
    Skip,
    Error,
}

impl RuleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleStatus::Pass => "pass",
            RuleStatus::Fail => "fail",
            RuleStatus::Skip => "skip",
            RuleStatus::Error => "error",
        }
    }
}

/// A failing check that remained after exclusions (field paths already rewritten for
/// controllers on lines that print them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedCheck {
    pub id: CheckId,
    /// The Kyverno control (`None` for hostProbesAndHostLifecycle).
    pub control: Option<&'static str>,
    pub reason: &'static str,
    pub detail: String,
    pub field_errors: Vec<FieldError>,
}

/// The response of one rule (an unmatched rule has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleResult {
    pub policy: String,
    /// The namespace of a namespaced `Policy`.
    pub policy_namespace: Option<String>,
    /// The evaluated name: `autogen-<rule>` / `autogen-cronjob-<rule>` for controllers.
    pub rule: String,
    pub status: RuleStatus,
    pub message: String,
    /// The action that applies to this rule on the chosen line.
    pub action: FailureAction,
    pub checks: Vec<FailedCheck>,
    /// An exclusion was applied, so Kyverno's check order (and the order of field errors
    /// within a check) is not deterministic: compare checks as a set.
    pub order_is_nondeterministic: bool,
}

/// The admission outcome for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KyvernoResponse {
    pub allowed: bool,
    /// Every rule response, policies in the given order, rules in computed order.
    pub rules: Vec<RuleResult>,
    /// The denying webhook (`validate.kyverno.svc-fail` or `-ignore`).
    pub webhook: Option<String>,
    /// Kyverno's AdmissionResponse message (`\n\nresource ... blocked ...`).
    pub denial_message: Option<String>,
    /// The API server's text: `admission webhook "<webhook>" denied the request: <message>`.
    pub apiserver_text: Option<String>,
    /// Parts of the policies this crate does not evaluate but Kyverno would (other rule
    /// types, preconditions, context, `applyRules: One`...). When not empty the outcome may
    /// differ from Kyverno's.
    pub unmodelled: Vec<String>,
}

impl KyvernoResponse {
    /// An allowed response with no rule results.
    pub fn new_allowed() -> Self {
        KyvernoResponse {
            allowed: true,
            rules: Vec::new(),
            webhook: None,
            denial_message: None,
            apiserver_text: None,
            unmodelled: Vec::new(),
        }
    }

    /// The result of a rule by evaluated name.
    pub fn rule(&self, name: &str) -> Option<&RuleResult> {
        self.rules.iter().find(|r| r.rule == name)
    }
}
