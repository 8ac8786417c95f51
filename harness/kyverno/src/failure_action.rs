//! Audit or Enforce: how Kyverno decides whether a failing rule blocks, per release line.
//!
//! - v1.10-v1.11: policy-wide; the first `validationFailureActionOverrides` entry matching
//!   the namespace, else `validationFailureAction` (default Audit).
//! - v1.13-v1.18 (line v1.12): still policy-wide, but the first spec rule that sets a
//!   matching `validate.failureActionOverrides` entry or a `validate.failureAction` decides
//!   for the whole policy.
//! - v1.19+: per failing rule, resolved against the rule's own settings first.
//!
//! `Enforce` and the legacy `enforce` block; anything else audits.

use std::collections::BTreeMap;

use crate::label_selector::selects;
use crate::line::KyvernoLine;
use crate::policy::{FailureActionOverride, Rule, Spec};
use crate::wildcard;

/// What a failing rule does to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FailureAction {
    /// Allow and report.
    #[default]
    Audit,
    /// Deny.
    Enforce,
}

impl FailureAction {
    /// Parse a raw action; only `Enforce` and `enforce` enforce.
    pub fn from_raw(raw: &str) -> FailureAction {
        if raw == "Enforce" || raw == "enforce" {
            FailureAction::Enforce
        } else {
            FailureAction::Audit
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FailureAction::Audit => "Audit",
            FailureAction::Enforce => "Enforce",
        }
    }
}

/// Where the resource lives, for overrides.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub namespace: &'a str,
    pub namespace_labels: &'a BTreeMap<String, String>,
}

fn valid(action: &str) -> bool {
    matches!(action, "audit" | "enforce" | "Audit" | "Enforce")
}

/// An override applies with a valid action and either no namespace list and a selecting
/// `namespaceSelector`, or a namespace pattern matching (and the selector, if any).
fn override_applies(o: &FailureActionOverride, scope: Scope<'_>) -> bool {
    if !valid(&o.action) {
        return false;
    }
    let selector_ok = || selects(o.namespace_selector.as_ref(), scope.namespace_labels);
    match &o.namespaces {
        None => selector_ok(),
        Some(list) => list.iter().any(|ns| {
            wildcard::matches(ns, scope.namespace)
                && (o.namespace_selector.is_none() || selector_ok())
        }),
    }
}

fn first_override(overrides: &[FailureActionOverride], scope: Scope<'_>) -> Option<FailureAction> {
    overrides
        .iter()
        .find(|o| override_applies(o, scope))
        .map(|o| FailureAction::from_raw(&o.action))
}

/// The spec-level action: overrides, then `validationFailureAction`.
pub fn policy_level(spec: &Spec, scope: Scope<'_>) -> FailureAction {
    first_override(&spec.validation_failure_action_overrides, scope).unwrap_or_else(|| {
        FailureAction::from_raw(spec.validation_failure_action.as_deref().unwrap_or("Audit"))
    })
}

/// A rule's own action, if it sets one that applies here.
fn rule_level(rule: &Rule, scope: Scope<'_>) -> Option<FailureAction> {
    let v = rule.validate.as_ref()?;
    first_override(&v.failure_action_overrides, scope)
        .or_else(|| v.failure_action.as_deref().map(FailureAction::from_raw))
}

/// The action that decides whether `rule` blocks, on `line`.
pub fn effective(rule: &Rule, spec: &Spec, scope: Scope<'_>, line: KyvernoLine) -> FailureAction {
    match line {
        KyvernoLine::V1_10 => policy_level(spec, scope),
        KyvernoLine::V1_12 => spec
            .rules
            .iter()
            .find_map(|r| rule_level(r, scope))
            .unwrap_or_else(|| policy_level(spec, scope)),
        KyvernoLine::V1_19 => rule_level(rule, scope).unwrap_or_else(|| policy_level(spec, scope)),
    }
}

/// The action the pre-existing-violation check uses: the rule's `failureAction`, else the
/// raw `validationFailureAction` (overrides are not consulted there).
pub fn for_existing_violations(rule: &Rule, spec: &Spec) -> FailureAction {
    let rule_action = rule
        .validate
        .as_ref()
        .and_then(|v| v.failure_action.as_deref());
    FailureAction::from_raw(
        rule_action
            .or(spec.validation_failure_action.as_deref())
            .unwrap_or(""),
    )
}

/// Whether the policy is served by the synchronous (enforce) path of the webhook, whose
/// responses make up the denial message; others are evaluated in the background only.
pub fn in_enforce_path(spec: &Spec, line: KyvernoLine) -> bool {
    let enforce = |raw: &str| FailureAction::from_raw(raw) == FailureAction::Enforce;
    let spec_level = spec
        .validation_failure_action
        .as_deref()
        .is_some_and(enforce)
        || spec
            .validation_failure_action_overrides
            .iter()
            .any(|o| enforce(&o.action));
    let rule_level = line != KyvernoLine::V1_10
        && spec
            .rules
            .iter()
            .filter_map(|r| r.validate.as_ref())
            .any(|v| {
                v.failure_action.as_deref().is_some_and(enforce)
                    || v.failure_action_overrides
                        .iter()
                        .any(|o| enforce(&o.action))
            });
    spec_level || rule_level
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;
    use serde_json::{Value, json};

    fn spec(v: Value) -> Spec {
        Policy::from_value(&json!({
            "apiVersion": "kyverno.io/v1",
            "kind": "ClusterPolicy",
            "metadata": {"name": "p"},
            "spec": v,
        }))
        .unwrap()
        .spec
    }

    fn scope<'a>(ns: &'a str, labels: &'a BTreeMap<String, String>) -> Scope<'a> {
        Scope {
            namespace: ns,
            namespace_labels: labels,
        }
    }

    #[test]
    fn policy_level_with_overrides() {
        let none = BTreeMap::new();
        let s = spec(
            json!({"validationFailureAction": "enforce", "validationFailureActionOverrides": [
                {"action": "Audit", "namespaces": ["dev-*"]},
                {"action": "bogus", "namespaces": ["*"]},
            ]}),
        );
        assert_eq!(
            policy_level(&s, scope("prod", &none)),
            FailureAction::Enforce
        );
        assert_eq!(
            policy_level(&s, scope("dev-1", &none)),
            FailureAction::Audit
        );
        assert_eq!(
            policy_level(&spec(json!({})), scope("x", &none)),
            FailureAction::Audit
        );
        let by_label = spec(
            json!({"validationFailureAction": "Audit", "validationFailureActionOverrides": [
                {"action": "Enforce", "namespaceSelector": {"matchLabels": {"env": "prod"}}},
            ]}),
        );
        let prod: BTreeMap<String, String> = [("env".to_owned(), "prod".to_owned())].into();
        assert_eq!(
            policy_level(&by_label, scope("x", &prod)),
            FailureAction::Enforce
        );
        assert_eq!(
            policy_level(&by_label, scope("x", &none)),
            FailureAction::Audit
        );
    }

    #[test]
    fn rule_actions_per_line() {
        let none = BTreeMap::new();
        let s = spec(json!({"validationFailureAction": "Audit", "rules": [
            {"name": "a", "validate": {"failureAction": "Audit", "podSecurity": {}}},
            {"name": "e", "validate": {"failureAction": "Enforce", "podSecurity": {}}},
        ]}));
        let (a, e) = (&s.rules[0], &s.rules[1]);
        let sc = scope("ns", &none);
        assert_eq!(
            effective(e, &s, sc, KyvernoLine::V1_19),
            FailureAction::Enforce
        );
        assert_eq!(
            effective(a, &s, sc, KyvernoLine::V1_19),
            FailureAction::Audit
        );
        assert_eq!(
            effective(e, &s, sc, KyvernoLine::V1_12),
            FailureAction::Audit,
            "the first rule decides"
        );
        assert_eq!(
            effective(e, &s, sc, KyvernoLine::V1_10),
            FailureAction::Audit,
            "rule actions did not exist"
        );
        assert!(in_enforce_path(&s, KyvernoLine::V1_19));
        assert!(!in_enforce_path(&s, KyvernoLine::V1_10));
        assert_eq!(for_existing_violations(e, &s), FailureAction::Enforce);
    }
}
