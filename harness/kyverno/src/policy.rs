//! The Kyverno policy model: `kyverno.io/v1` `ClusterPolicy` and `Policy`, read from JSON
//! (the runner converts YAML). Only what podSecurity evaluation, autogen and blocking need
//! is modelled; other rule types are kept as flags so autogen's skip conditions still see
//! them, and are otherwise not evaluated.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::decode::{field, object, opt_bool, opt_string, typed};
use crate::pod_security::{self, PodSecurity};
use crate::policy_error::{FieldIssue, IssueKind, Location, PolicyError, Stage};
use crate::resource_filter::MatchResources;

/// The annotation listing the controllers autogen generates rules for.
pub const AUTOGEN_ANNOTATION: &str = "pod-policies.kyverno.io/autogen-controllers";

/// `ClusterPolicy` (cluster-wide) or `Policy` (applies in its own namespace only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    ClusterPolicy,
    Policy,
}

impl PolicyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::ClusterPolicy => "ClusterPolicy",
            PolicyKind::Policy => "Policy",
        }
    }
}

/// A decoded policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub kind: PolicyKind,
    pub name: String,
    /// The namespace of a `Policy` (`None` for a `ClusterPolicy`, and for a `Policy` whose
    /// manifest omits it: the runner decides which namespace it is created in).
    pub namespace: Option<String>,
    pub annotations: BTreeMap<String, String>,
    pub spec: Spec,
}

/// `spec` of a policy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spec {
    pub rules: Vec<Rule>,
    /// Deprecated policy-wide action (`Audit`/`Enforce`, legacy lowercase accepted); the CRD
    /// default is Audit.
    pub validation_failure_action: Option<String>,
    pub validation_failure_action_overrides: Vec<FailureActionOverride>,
    /// Background scanning (default `true`); admission evaluation ignores it.
    pub background: Option<bool>,
    /// `Fail` (default) or `Ignore`; chooses the webhook (`-fail` / `-ignore`).
    pub failure_policy: Option<String>,
    /// `webhookConfiguration.failurePolicy`, which wins over `failurePolicy`.
    pub webhook_failure_policy: Option<String>,
    /// `applyRules` (`All` default, or `One`).
    pub apply_rules: Option<String>,
    /// `webhookConfiguration.matchConditions` is set: Kyverno then serves the policy from a
    /// fine-grained webhook named `validate.kyverno.svc-<fail|ignore>-finegrained-<policy>`.
    pub has_webhook_match_conditions: bool,
}

/// `validationFailureActionOverrides[]` / `validate.failureActionOverrides[]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureActionOverride {
    #[serde(default)]
    pub action: String,
    /// `None` and `[]` differ: only `None` lets a lone `namespaceSelector` decide.
    #[serde(default)]
    pub namespaces: Option<Vec<String>>,
    #[serde(default)]
    pub namespace_selector: Option<LabelSelector>,
}

/// One rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rule {
    pub name: String,
    pub match_resources: MatchResources,
    /// `None` when the rule has no `exclude` block (autogen distinguishes it from `{}`).
    pub exclude_resources: Option<MatchResources>,
    pub validate: Option<Validation>,
    pub mutate: Option<Mutation>,
    pub has_generate: bool,
    /// `verifyImages` is present (even empty).
    pub has_verify_images: bool,
    /// `preconditions` / `celPreconditions` are present (not evaluated by this crate).
    pub has_preconditions: bool,
    /// `context` entries are present (not loaded by this crate).
    pub has_context: bool,
}

impl Rule {
    /// The podSecurity block, if this is a podSecurity rule.
    pub fn pod_security(&self) -> Option<&PodSecurity> {
        self.validate.as_ref()?.pod_security.as_ref()
    }

    /// Whether autogen's `generateRule` produces a rule from this one: it handles
    /// strategic-merge or foreach mutations, the validation types, and image verification.
    pub fn autogen_capable(&self) -> bool {
        let mutate = self
            .mutate
            .as_ref()
            .is_some_and(|m| m.has_patch_strategic_merge || m.has_foreach);
        let validate = self
            .validate
            .as_ref()
            .is_some_and(|v| v.pod_security.is_some() || !v.other_kinds.is_empty());
        mutate || validate || self.has_verify_images
    }
}

/// `validate` of a rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Validation {
    pub pod_security: Option<PodSecurity>,
    /// Per-rule action (`Audit`/`Enforce`, since v1.13).
    pub failure_action: Option<String>,
    pub failure_action_overrides: Vec<FailureActionOverride>,
    /// Defaults to `true`.
    pub allow_existing_violations: Option<bool>,
    /// Ignored by podSecurity rules (Kyverno always builds its own message).
    pub message: Option<String>,
    /// Other validation types present (`pattern`, `deny`, `cel`...), not evaluated here.
    pub other_kinds: Vec<String>,
}

/// `mutate` of a rule, reduced to what autogen looks at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mutation {
    pub has_patch_strategic_merge: bool,
    pub has_foreach: bool,
    /// `patchesJson6902` in the rule or in a `foreach` entry (disables autogen).
    pub has_patches_json6902: bool,
}

const OTHER_VALIDATIONS: [&str; 7] = [
    "pattern",
    "anyPattern",
    "deny",
    "foreach",
    "cel",
    "manifests",
    "assert",
];

impl Policy {
    /// Decode a `ClusterPolicy` or `Policy`. Fails with [`Stage::Decode`] issues for
    /// wrong types and for unknown fields inside `validate.podSecurity`. Admission checks
    /// (enums, Kyverno's own rules) are [`Policy::validate`].
    pub fn from_value(value: &Value) -> Result<Policy, PolicyError> {
        let root = Location::root();
        let head =
            Head::read(value).map_err(|issue| decode_error("ClusterPolicy", "", vec![issue]))?;
        let fail = |issues| decode_error(head.kind.as_str(), &head.name, issues);
        let map = object(value, &root).map_err(|e| fail(vec![e]))?;
        let spec = match field(map, "spec") {
            Some(spec) => decode_spec(spec, &root.key("spec")).map_err(fail)?,
            None => Spec::default(),
        };
        Ok(Policy {
            kind: head.kind,
            name: head.name,
            namespace: head.namespace,
            annotations: head.annotations,
            spec,
        })
    }

    /// The effective webhook failure policy: `Ignore` or `Fail` (the default).
    pub fn failure_policy_ignores(&self) -> bool {
        let fp = self
            .spec
            .webhook_failure_policy
            .as_deref()
            .or(self.spec.failure_policy.as_deref());
        fp == Some("Ignore")
    }

    /// The raw autogen annotation, if present.
    pub fn autogen_annotation(&self) -> Option<&str> {
        self.annotations.get(AUTOGEN_ANNOTATION).map(String::as_str)
    }
}

/// The value of `r`, or `None` with its issue recorded.
fn keep<T>(issues: &mut Vec<FieldIssue>, r: Result<T, FieldIssue>) -> Option<T> {
    r.map_err(|e| issues.push(e)).ok()
}

fn decode_error(kind: &str, name: &str, issues: Vec<FieldIssue>) -> PolicyError {
    PolicyError {
        kind: kind.to_owned(),
        name: name.to_owned(),
        stage: Stage::Decode,
        issues,
    }
}

/// apiVersion, kind and metadata.
struct Head {
    kind: PolicyKind,
    name: String,
    namespace: Option<String>,
    annotations: BTreeMap<String, String>,
}

impl Head {
    fn read(value: &Value) -> Result<Head, FieldIssue> {
        let root = Location::root();
        let map = object(value, &root)?;
        let api_version = opt_string(map, "apiVersion", &root)?.unwrap_or_default();
        let kind = match opt_string(map, "kind", &root)?.as_deref() {
            Some("ClusterPolicy") => PolicyKind::ClusterPolicy,
            Some("Policy") => PolicyKind::Policy,
            other => {
                let detail = format!("is {other:?}; expected ClusterPolicy or Policy");
                return Err(FieldIssue::new(
                    root.key("kind"),
                    IssueKind::Unreadable { detail },
                ));
            }
        };
        if !matches!(api_version.as_str(), "kyverno.io/v1" | "kyverno.io/v2beta1") {
            let detail = format!("is {api_version:?}; expected kyverno.io/v1");
            return Err(FieldIssue::new(
                root.key("apiVersion"),
                IssueKind::Unreadable { detail },
            ));
        }
        let meta: ObjectMeta = match field(map, "metadata") {
            Some(m) => typed(m, &root.key("metadata"))?,
            None => ObjectMeta::default(),
        };
        let namespace = match kind {
            PolicyKind::ClusterPolicy => None,
            PolicyKind::Policy => meta.namespace,
        };
        Ok(Head {
            kind,
            name: meta.name.unwrap_or_default(),
            namespace,
            annotations: meta.annotations.unwrap_or_default(),
        })
    }
}

fn decode_spec(value: &Value, at: &Location) -> Result<Spec, Vec<FieldIssue>> {
    let map = object(value, at).map_err(|e| vec![e])?;
    let mut issues = Vec::new();
    let validation_failure_action =
        keep(&mut issues, opt_string(map, "validationFailureAction", at)).flatten();
    let background = keep(&mut issues, opt_bool(map, "background", at)).flatten();
    let failure_policy = keep(&mut issues, opt_string(map, "failurePolicy", at)).flatten();
    let apply_rules = keep(&mut issues, opt_string(map, "applyRules", at)).flatten();
    let overrides_at = at.key("validationFailureActionOverrides");
    let validation_failure_action_overrides = keep(
        &mut issues,
        field(map, "validationFailureActionOverrides")
            .map_or(Ok(Vec::new()), |v| typed(v, &overrides_at)),
    )
    .unwrap_or_default();
    let webhook = field(map, "webhookConfiguration");
    let wc_at = at.key("webhookConfiguration");
    let webhook_failure_policy = webhook.and_then(|wc| {
        keep(
            &mut issues,
            object(wc, &wc_at).and_then(|m| opt_string(m, "failurePolicy", &wc_at)),
        )
        .flatten()
    });
    let has_webhook_match_conditions = webhook
        .and_then(Value::as_object)
        .and_then(|m| field(m, "matchConditions"))
        .is_some_and(|c| c.as_array().is_none_or(|a| !a.is_empty()));
    let rules = match field(map, "rules") {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            let rules_at = at.key("rules");
            let mut rules = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                match decode_rule(item, &rules_at.index(i)) {
                    Ok(rule) => rules.push(rule),
                    Err(mut errs) => issues.append(&mut errs),
                }
            }
            rules
        }
        Some(other) => {
            let got = crate::decode::type_name(other);
            issues.push(FieldIssue::new(
                at.key("rules"),
                IssueKind::WrongType {
                    expected: "array",
                    got,
                },
            ));
            Vec::new()
        }
    };
    if !issues.is_empty() {
        return Err(issues);
    }
    Ok(Spec {
        rules,
        validation_failure_action,
        validation_failure_action_overrides,
        background,
        failure_policy,
        webhook_failure_policy,
        apply_rules,
        has_webhook_match_conditions,
    })
}

fn decode_rule(value: &Value, at: &Location) -> Result<Rule, Vec<FieldIssue>> {
    let map = object(value, at).map_err(|e| vec![e])?;
    let mut issues = Vec::new();
    let name = opt_string(map, "name", at)
        .map_err(|e| issues.push(e))
        .ok()
        .flatten()
        .unwrap_or_default();
    let match_resources = match field(map, "match") {
        Some(m) => typed(m, &at.key("match"))
            .map_err(|e| issues.push(e))
            .unwrap_or_default(),
        None => MatchResources::default(),
    };
    let exclude_resources = field(map, "exclude").and_then(|m| {
        typed(m, &at.key("exclude"))
            .map_err(|e| issues.push(e))
            .ok()
    });
    let validate = match field(map, "validate") {
        Some(v) => decode_validation(v, &at.key("validate"))
            .map_err(|mut e| issues.append(&mut e))
            .ok(),
        None => None,
    };
    let mutate = field(map, "mutate").map(decode_mutation);
    let has_generate =
        field(map, "generate").is_some_and(|g| g.as_object().is_some_and(|m| !m.is_empty()));
    if !issues.is_empty() {
        return Err(issues);
    }
    Ok(Rule {
        name,
        match_resources,
        exclude_resources,
        validate,
        mutate,
        has_generate,
        has_verify_images: field(map, "verifyImages").is_some(),
        has_preconditions: field(map, "preconditions").is_some()
            || field(map, "celPreconditions").is_some(),
        has_context: field(map, "context")
            .is_some_and(|c| c.as_array().is_none_or(|a| !a.is_empty())),
    })
}

fn decode_validation(value: &Value, at: &Location) -> Result<Validation, Vec<FieldIssue>> {
    let map = object(value, at).map_err(|e| vec![e])?;
    let mut issues = Vec::new();
    let failure_action = keep(&mut issues, opt_string(map, "failureAction", at)).flatten();
    let allow_existing_violations =
        keep(&mut issues, opt_bool(map, "allowExistingViolations", at)).flatten();
    let message = keep(&mut issues, opt_string(map, "message", at)).flatten();
    let overrides_at = at.key("failureActionOverrides");
    let failure_action_overrides = keep(
        &mut issues,
        field(map, "failureActionOverrides").map_or(Ok(Vec::new()), |v| typed(v, &overrides_at)),
    )
    .unwrap_or_default();
    let pod_security = match field(map, "podSecurity") {
        Some(ps) => match pod_security::decode(ps, &at.key("podSecurity")) {
            Ok(ps) => Some(ps),
            Err(mut errs) => {
                issues.append(&mut errs);
                None
            }
        },
        None => None,
    };
    let other_kinds = OTHER_VALIDATIONS
        .iter()
        .filter(|k| field(map, k).is_some())
        .map(|k| (*k).to_owned())
        .collect();
    if !issues.is_empty() {
        return Err(issues);
    }
    Ok(Validation {
        pod_security,
        failure_action,
        failure_action_overrides,
        allow_existing_violations,
        message,
        other_kinds,
    })
}

fn decode_mutation(value: &Value) -> Mutation {
    let empty = Map::new();
    let map = value.as_object().unwrap_or(&empty);
    let foreach: &[Value] = field(map, "foreach")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let json6902 = |m: &Map<String, Value>| {
        field(m, "patchesJson6902")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    Mutation {
        has_patch_strategic_merge: field(map, "patchStrategicMerge").is_some(),
        has_foreach: !foreach.is_empty(),
        has_patches_json6902: json6902(map)
            || foreach.iter().filter_map(Value::as_object).any(json6902),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn baseline_policy() -> Value {
        json!({
            "apiVersion": "kyverno.io/v1",
            "kind": "ClusterPolicy",
            "metadata": {"name": "baseline-policy"},
            "spec": {
                "background": true,
                "validationFailureAction": "Enforce",
                "rules": [{
                    "name": "baseline",
                    "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                    "validate": {"podSecurity": {"level": "baseline", "version": "latest"}},
                }],
            },
        })
    }

    #[test]
    fn decodes_the_seed_policy() {
        let p = Policy::from_value(&baseline_policy()).unwrap();
        assert_eq!(p.kind, PolicyKind::ClusterPolicy);
        assert_eq!(p.name, "baseline-policy");
        assert_eq!(p.spec.validation_failure_action.as_deref(), Some("Enforce"));
        assert_eq!(p.spec.background, Some(true));
        let rule = &p.spec.rules[0];
        assert_eq!(rule.name, "baseline");
        assert_eq!(rule.match_resources.kinds(), vec!["Pod"]);
        assert_eq!(rule.pod_security().unwrap().level_str(), "baseline");
        assert!(rule.autogen_capable());
        assert!(!p.failure_policy_ignores());
    }

    #[test]
    fn reads_other_rule_types_as_flags() {
        let p = Policy::from_value(&json!({
            "apiVersion": "kyverno.io/v1", "kind": "Policy",
            "metadata": {
                "name": "p",
                "namespace": "ns",
                "annotations": {AUTOGEN_ANNOTATION: "none"},
            },
            "spec": {
                "failurePolicy": "Fail",
                "webhookConfiguration": {"failurePolicy": "Ignore"},
                "rules": [
                    {
                        "name": "m",
                        "match": {"resources": {"kinds": ["Pod"]}},
                        "mutate": {"foreach": [{"patchesJson6902": "- op: add"}]},
                    },
                    {
                        "name": "g",
                        "match": {"resources": {"kinds": ["Pod"]}},
                        "generate": {"kind": "ConfigMap"},
                        "preconditions": {"all": []},
                    },
                    {
                        "name": "v",
                        "match": {"resources": {"kinds": ["Pod"]}},
                        "validate": {"pattern": {}, "failureAction": "Audit"},
                    },
                ],
            },
        }))
        .unwrap();
        assert_eq!(p.namespace.as_deref(), Some("ns"));
        assert_eq!(p.autogen_annotation(), Some("none"));
        assert!(p.failure_policy_ignores());
        assert!(
            p.spec.rules[0]
                .mutate
                .as_ref()
                .unwrap()
                .has_patches_json6902
        );
        assert!(p.spec.rules[1].has_generate && p.spec.rules[1].has_preconditions);
        let v = p.spec.rules[2].validate.as_ref().unwrap();
        assert_eq!(v.other_kinds, vec!["pattern"]);
        assert_eq!(v.failure_action.as_deref(), Some("Audit"));
    }

    #[test]
    fn refuses_unknown_pod_security_fields_with_their_path() {
        let mut doc = baseline_policy();
        doc["spec"]["rules"][0]["validate"]["podSecurity"]["exclude"] =
            json!([{"controlName": "Sysctls", "foo": 1}]);
        let err = Policy::from_value(&doc).unwrap_err();
        assert_eq!(err.stage, Stage::Decode);
        assert_eq!(
            err.to_string(),
            "ClusterPolicy in version \"v1\" cannot be handled as a ClusterPolicy: \
             strict decoding error: \
             unknown field \"spec.rules[0].validate.podSecurity.exclude[0].foo\""
        );
    }

    #[test]
    fn refuses_other_documents() {
        let err = Policy::from_value(&json!({"apiVersion": "v1", "kind": "Pod"})).unwrap_err();
        assert!(
            err.issues[0]
                .to_string()
                .contains("expected ClusterPolicy or Policy"),
            "{err}"
        );
        let err =
            Policy::from_value(&json!({"apiVersion": "v1", "kind": "ClusterPolicy"})).unwrap_err();
        assert!(
            err.issues[0].to_string().contains("expected kyverno.io/v1"),
            "{err}"
        );
    }
}
