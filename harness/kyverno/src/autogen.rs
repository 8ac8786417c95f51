//! Auto-generation of rules for pod controllers (Kyverno's `pkg/autogen/v1`): a rule
//! matching Pods also gets `autogen-<rule>` for Deployments, DaemonSets and the other
//! template controllers, and `autogen-cronjob-<rule>` for CronJobs.
//!
//! Which controllers: all by default; none with the annotation
//! `pod-policies.kyverno.io/autogen-controllers: none` or when the policy cannot be
//! auto-generated (section 3.4); otherwise the comma list of the annotation, compared
//! without trimming. From v1.13 the engine asks per request kind, so a Deployment gets
//! `autogen-<rule>` only, a CronJob `autogen-cronjob-<rule>` only, and the legacy value
//! `all` generates nothing; before, every generated rule was computed at once.

use crate::matching::is_version;
use crate::policy::{Policy, Rule, Spec};
use crate::resource_filter::{MatchResources, ResourceDescription, ResourceFilter};

/// The default controllers (v1.9+).
pub const DEFAULT_CONTROLLERS: [&str; 7] = [
    "DaemonSet",
    "Deployment",
    "Job",
    "StatefulSet",
    "ReplicaSet",
    "ReplicationController",
    "CronJob",
];

/// The controllers of `autogen-<rule>` (all but CronJob).
const TEMPLATE_CONTROLLERS: [&str; 6] = [
    "DaemonSet",
    "Deployment",
    "Job",
    "StatefulSet",
    "ReplicaSet",
    "ReplicationController",
];

const AUTOGEN_PREFIX: &str = "autogen-";

/// The rules the engine evaluates for a request of `request_kind` (`None`: every generated
/// rule, as before v1.13 and for `status.autogen`). `qualified` writes generated kinds as
/// `apps/v1/Deployment` (v1.18+).
pub fn compute_rules(policy: &Policy, request_kind: Option<&str>, qualified: bool) -> Vec<Rule> {
    let spec = &policy.spec;
    let applicable = can_auto_gen(spec);
    let actual: Vec<String> = match policy.autogen_annotation() {
        Some(annotation) if applicable => annotation.split(',').map(str::to_owned).collect(),
        _ if applicable => DEFAULT_CONTROLLERS
            .iter()
            .map(|c| (*c).to_owned())
            .collect(),
        _ => vec!["none".to_owned()],
    };
    let controllers = match request_kind {
        Some(kind) if actual.iter().any(|c| c == kind) => kind.to_owned(),
        Some(_) => return spec.rules.clone(),
        None => actual.join(","),
    };
    if controllers == "none" {
        return spec.rules.clone();
    }
    let generated = generate_rules(spec, &controllers, qualified);
    if generated.is_empty() {
        return spec.rules.clone();
    }
    spec.rules
        .iter()
        .filter(|r| !is_autogen_name(&r.name))
        .cloned()
        .chain(generated)
        .collect()
}

/// The generated rules only (what `status.autogen.rules` shows), computed for every
/// controller at once.
pub fn generated_rules(policy: &Policy, qualified: bool) -> Vec<Rule> {
    compute_rules(policy, None, qualified)
        .into_iter()
        .filter(|r| is_autogen_name(&r.name))
        .collect()
}

/// `<prefix>-<name>` cut to 63 bytes (at a character boundary).
pub fn autogen_rule_name(prefix: &str, name: &str) -> String {
    let mut full = format!("{prefix}-{name}");
    if full.len() > 63 {
        let mut cut = 63;
        while !full.is_char_boundary(cut) {
            cut -= 1;
        }
        full.truncate(cut);
    }
    full
}

fn is_autogen_name(name: &str) -> bool {
    name.starts_with(AUTOGEN_PREFIX)
}

/// `CanAutoGen`: no generate rule, no JSON6902 patch, no name, names, selector or
/// annotations filter, no Pod mixed with other kinds, and some Pod or controller kind.
pub fn can_auto_gen(spec: &Spec) -> bool {
    let mut needed = false;
    for rule in &spec.rules {
        if rule.has_generate || rule.mutate.as_ref().is_some_and(|m| m.has_patches_json6902) {
            return false;
        }
        let blocks = std::iter::once(&rule.match_resources).chain(rule.exclude_resources.as_ref());
        for description in blocks.flat_map(MatchResources::descriptions) {
            if !supports_autogen(description, &mut needed) {
                return false;
            }
        }
    }
    needed
}

fn supports_autogen(d: &ResourceDescription, needed: &mut bool) -> bool {
    let mixed = d.kinds.len() > 1 && contains_kind(&d.kinds, "Pod");
    if !d.name.is_empty()
        || !d.names.is_empty()
        || d.selector.is_some()
        || d.annotations.is_some()
        || mixed
    {
        return false;
    }
    let known = |k: &String| k == "Pod" || DEFAULT_CONTROLLERS.contains(&k.as_str());
    *needed = *needed || d.kinds.iter().any(known);
    true
}

/// Kyverno's `ContainsKind`: the kind part of each selector (`GetKindFromGVK`, then the
/// subresource split off) equals `kind`.
pub(crate) fn contains_kind<S: AsRef<str>>(kinds: &[S], kind: &str) -> bool {
    kinds.iter().any(|k| kind_of_selector(k.as_ref()) == kind)
}

fn kind_of_selector(selector: &str) -> String {
    let dotted = |s: &str| s.replacen('.', "/", 1);
    let parts: Vec<&str> = selector.split('/').collect();
    let kind = match parts.as_slice() {
        [only] => dotted(only),
        ["*", "*"] => "*/*".to_owned(),
        [v, k] if is_version(v) => dotted(k),
        [a, b] => format!("{a}/{b}"),
        [v, k, sub] if is_version(v) => format!("{k}/{sub}"),
        [_, _, k] => dotted(k),
        [_, _, k, sub] => format!("{k}/{sub}"),
        _ => String::new(),
    };
    match kind.split_once('/') {
        Some((k, rest)) if !rest.contains('/') => k.to_owned(),
        _ => kind,
    }
}

/// `generateRules`: per source rule, `autogen-<rule>` then `autogen-cronjob-<rule>`.
fn generate_rules(spec: &Spec, controllers: &str, qualified: bool) -> Vec<Rule> {
    let mut out = Vec::new();
    for rule in &spec.rules {
        out.extend(rule_for_controllers(
            rule,
            &strip_cron_job(controllers),
            qualified,
        ));
        out.extend(cron_job_rule(rule, controllers, qualified));
    }
    out
}

fn split_kinds(controllers: &str) -> Vec<String> {
    let mut kinds: Vec<String> = controllers.split(',').map(str::to_owned).collect();
    kinds.sort();
    kinds
}

fn strip_cron_job(controllers: &str) -> String {
    split_kinds(controllers)
        .into_iter()
        .filter(|c| c != "CronJob")
        .collect::<Vec<_>>()
        .join(",")
}

/// `generateRuleForControllers`: only for non-autogen rules matching Pods (and, with
/// exclude kinds, excluding Pods). Standard controller names are kept; when none is
/// standard the names are used as they are (custom controllers).
fn rule_for_controllers(rule: &Rule, controllers: &str, qualified: bool) -> Option<Rule> {
    if is_autogen_name(&rule.name) || controllers.is_empty() {
        return None;
    }
    let exclude_kinds = rule
        .exclude_resources
        .as_ref()
        .map(MatchResources::kinds)
        .unwrap_or_default();
    if !contains_kind(&rule.match_resources.kinds(), "Pod")
        || (!exclude_kinds.is_empty() && !contains_kind(&exclude_kinds, "Pod"))
    {
        return None;
    }
    let kinds = if controllers == "all" {
        split_kinds(&TEMPLATE_CONTROLLERS.join(","))
    } else {
        let validated: Vec<String> = split_kinds(controllers)
            .into_iter()
            .filter(|c| TEMPLATE_CONTROLLERS.contains(&c.as_str()))
            .collect();
        if validated.is_empty() {
            split_kinds(controllers)
        } else {
            validated
        }
    };
    let name = autogen_rule_name("autogen", &rule.name);
    generate_rule(name, rule, &kinds, qualified, |filter| {
        contains_kind(&filter.resources.kinds, "Pod")
    })
}

/// `generateCronJobRule`: when the controllers mention `CronJob` (or `all`), derived from
/// the controller rule with every filter's kinds set to CronJob.
fn cron_job_rule(rule: &Rule, controllers: &str, qualified: bool) -> Option<Rule> {
    if !controllers.contains("CronJob") && !controllers.contains("all") {
        return None;
    }
    let base = rule_for_controllers(rule, controllers, qualified)?;
    let name = autogen_rule_name("autogen-cronjob", &rule.name);
    generate_rule(name, &base, &["CronJob".to_owned()], qualified, |_| true)
}

/// `generateRule`: rename and rewrite kinds in `match` and `exclude` (`any`, else `all`,
/// else the legacy kinds; legacy exclude kinds only when set). `None` for rule types
/// autogen does not handle.
fn generate_rule(
    name: String,
    rule: &Rule,
    kinds: &[String],
    qualified: bool,
    rewrite: impl Fn(&ResourceFilter) -> bool,
) -> Option<Rule> {
    if !rule.autogen_capable() {
        return None;
    }
    let converted: Vec<String> = kinds
        .iter()
        .map(|k| if qualified { qualify(k) } else { k.clone() })
        .collect();
    let rewrite_filters = |filters: &mut Vec<ResourceFilter>| {
        for f in filters.iter_mut().filter(|f| rewrite(f)) {
            f.resources.kinds = converted.clone();
        }
    };
    let mut out = rule.clone();
    out.name = name;
    let m = &mut out.match_resources;
    if !m.any.is_empty() {
        rewrite_filters(&mut m.any);
    } else if !m.all.is_empty() {
        rewrite_filters(&mut m.all);
    } else {
        m.resources.kinds = converted.clone();
    }
    if let Some(e) = out.exclude_resources.as_mut() {
        if !e.any.is_empty() {
            rewrite_filters(&mut e.any);
        } else if !e.all.is_empty() {
            rewrite_filters(&mut e.all);
        } else if !e.resources.kinds.is_empty() {
            e.resources.kinds = converted.clone();
        }
    }
    Some(out)
}

/// `ConvertKindsToGVK` (v1.18+); unknown kinds pass through.
fn qualify(kind: &str) -> String {
    match kind {
        "DaemonSet" | "Deployment" | "StatefulSet" | "ReplicaSet" => format!("apps/v1/{kind}"),
        "Job" | "CronJob" => format!("batch/v1/{kind}"),
        "ReplicationController" => "v1/ReplicationController".to_owned(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::AUTOGEN_ANNOTATION;
    use serde_json::{Value, json};

    fn policy(rules: Value, annotation: Option<&str>) -> Policy {
        let mut meta = json!({"name": "psa"});
        if let Some(a) = annotation {
            meta["annotations"] = json!({AUTOGEN_ANNOTATION: a});
        }
        Policy::from_value(&json!({
            "apiVersion": "kyverno.io/v1",
            "kind": "ClusterPolicy",
            "metadata": meta,
            "spec": {"rules": rules},
        }))
        .unwrap()
    }

    fn pod_rule(name: &str) -> Value {
        json!({
            "name": name,
            "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
            "validate": {"podSecurity": {"level": "baseline", "version": "latest"}},
        })
    }

    fn names(rules: &[Rule]) -> Vec<&str> {
        rules.iter().map(|r| r.name.as_str()).collect()
    }

    #[test]
    fn rule_names_truncate_to_63() {
        let long = "too-long-this-rule-name-will-be-truncated-to-63-characters";
        assert_eq!(
            autogen_rule_name("autogen", long),
            "autogen-too-long-this-rule-name-will-be-truncated-to-63-charact"
        );
        assert_eq!(
            autogen_rule_name("autogen-cronjob", long),
            "autogen-cronjob-too-long-this-rule-name-will-be-truncated-to-63"
        );
        assert_eq!(autogen_rule_name("autogen", "baseline"), "autogen-baseline");
    }

    #[test]
    fn per_kind_rules() {
        let p = policy(json!([pod_rule("baseline")]), None);
        assert_eq!(
            names(&compute_rules(&p, Some("Deployment"), true)),
            ["baseline", "autogen-baseline"]
        );
        assert_eq!(
            names(&compute_rules(&p, Some("CronJob"), true)),
            ["baseline", "autogen-cronjob-baseline"]
        );
        assert_eq!(names(&compute_rules(&p, Some("Pod"), true)), ["baseline"]);
        let d = &compute_rules(&p, Some("Deployment"), true)[1];
        assert_eq!(
            d.match_resources.any[0].resources.kinds,
            ["apps/v1/Deployment"]
        );
        let d = &compute_rules(&p, Some("Deployment"), false)[1];
        assert_eq!(d.match_resources.any[0].resources.kinds, ["Deployment"]);
        let c = &compute_rules(&p, Some("CronJob"), true)[1];
        assert_eq!(
            c.match_resources.any[0].resources.kinds,
            ["batch/v1/CronJob"]
        );
        assert_eq!(c.pod_security(), p.spec.rules[0].pod_security());
    }

    #[test]
    fn all_at_once_rules_and_status_view() {
        let p = policy(json!([pod_rule("a"), pod_rule("b")]), None);
        let rules = compute_rules(&p, None, true);
        assert_eq!(
            names(&rules),
            [
                "a",
                "b",
                "autogen-a",
                "autogen-cronjob-a",
                "autogen-b",
                "autogen-cronjob-b"
            ]
        );
        assert_eq!(
            rules[2].match_resources.any[0].resources.kinds,
            [
                "apps/v1/DaemonSet",
                "apps/v1/Deployment",
                "batch/v1/Job",
                "apps/v1/ReplicaSet",
                "v1/ReplicationController",
                "apps/v1/StatefulSet"
            ]
        );
        assert_eq!(
            names(&generated_rules(&p, false)),
            [
                "autogen-a",
                "autogen-cronjob-a",
                "autogen-b",
                "autogen-cronjob-b"
            ]
        );
    }

    #[test]
    fn annotation_controls_the_controllers() {
        let none = policy(json!([pod_rule("r")]), Some("none"));
        assert_eq!(
            names(&compute_rules(&none, Some("Deployment"), true)),
            ["r"]
        );
        assert!(generated_rules(&none, true).is_empty());

        let subset = policy(json!([pod_rule("r")]), Some("Deployment,CronJob"));
        assert_eq!(
            names(&compute_rules(&subset, Some("Deployment"), true)),
            ["r", "autogen-r"]
        );
        assert_eq!(
            names(&compute_rules(&subset, Some("StatefulSet"), true)),
            ["r"]
        );
        assert_eq!(
            names(&compute_rules(&subset, Some("CronJob"), true)),
            ["r", "autogen-cronjob-r"]
        );
        let all_at_once = generated_rules(&subset, false);
        assert_eq!(
            all_at_once[0].match_resources.any[0].resources.kinds,
            ["Deployment"]
        );

        let spaced = policy(json!([pod_rule("r")]), Some("Deployment, CronJob"));
        assert_eq!(
            names(&compute_rules(&spaced, Some("CronJob"), true)),
            ["r"],
            "no trimming"
        );

        let all = policy(json!([pod_rule("r")]), Some("all"));
        assert_eq!(
            names(&compute_rules(&all, Some("Deployment"), true)),
            ["r"],
            "`all` is ignored per kind"
        );
        assert_eq!(
            names(&generated_rules(&all, true)),
            ["autogen-r", "autogen-cronjob-r"],
            "but expands all at once"
        );
    }

    #[test]
    fn skip_conditions() {
        let skipped = |rule: Value| generated_rules(&policy(json!([rule]), None), true).is_empty();
        let with = |key: &str, value: Value| {
            let mut r = pod_rule("r");
            r["match"]["any"][0]["resources"][key] = value;
            r
        };
        assert!(skipped(with("names", json!(["a"]))));
        assert!(skipped(with("name", json!("a"))));
        assert!(skipped(with("selector", json!({}))));
        assert!(skipped(with("annotations", json!({}))));
        assert!(skipped(with("kinds", json!(["Pod", "Deployment"]))));
        assert!(skipped(with("kinds", json!(["Service"]))));
        assert!(!skipped(with("namespaces", json!(["a"]))));
        assert!(!skipped(with("namespaceSelector", json!({}))));
        let mut excluded = pod_rule("r");
        excluded["exclude"] = json!({"any": [{"resources": {"kinds": ["Deployment"]}}]});
        assert!(skipped(excluded), "exclude kinds without Pod");
        let mut excluded_pod = pod_rule("r");
        excluded_pod["exclude"] =
            json!({"any": [{"resources": {"kinds": ["Pod"], "namespaces": ["kube-system"]}}]});
        let generated = generated_rules(&policy(json!([excluded_pod]), None), false);
        assert_eq!(
            generated[0].exclude_resources.as_ref().unwrap().any[0]
                .resources
                .kinds
                .len(),
            6
        );
        assert_eq!(
            generated[1].exclude_resources.as_ref().unwrap().any[0]
                .resources
                .kinds,
            ["CronJob"]
        );
        let hand_written = policy(
            json!([{
                "name": "autogen-x",
                "match": {"resources": {"kinds": ["Pod"]}},
                "validate": {"podSecurity": {}},
            }]),
            None,
        );
        assert_eq!(
            names(&compute_rules(&hand_written, None, true)),
            ["autogen-x"],
            "no rule is generated from autogen-*"
        );
        let generate = json!({
            "name": "g",
            "match": {"resources": {"kinds": ["Pod"]}},
            "generate": {"kind": "ConfigMap"},
        });
        assert!(
            generated_rules(&policy(json!([pod_rule("r"), generate]), None), true).is_empty(),
            "a generate rule disables all"
        );
        let v1_pod = json!({
            "name": "r",
            "match": {"resources": {"kinds": ["v1/Pod"]}},
            "validate": {"podSecurity": {}},
        });
        assert!(skipped(v1_pod), "needed compares exact names");
    }

    #[test]
    fn hand_written_autogen_rules_are_dropped_when_generating() {
        let p = policy(json!([pod_rule("r"), pod_rule("autogen-mine")]), None);
        assert_eq!(
            names(&compute_rules(&p, Some("Deployment"), true)),
            ["r", "autogen-r"]
        );
        assert_eq!(
            names(&compute_rules(&p, Some("Pod"), true)),
            ["r", "autogen-mine"]
        );
    }

    #[test]
    fn kind_selectors() {
        assert!(contains_kind(&["v1/Pod"], "Pod"));
        assert!(contains_kind(&["Pod/ephemeralcontainers"], "Pod"));
        assert!(contains_kind(&["Pod.status"], "Pod"));
        assert!(contains_kind(&["apps/v1/Deployment"], "Deployment"));
        assert!(!contains_kind(&["Deployment"], "Pod"));
    }
}
