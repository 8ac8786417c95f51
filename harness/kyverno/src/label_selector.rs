//! Label selectors as Kyverno evaluates them (`CheckSelector`): `matchLabels` entries may
//! use wildcards in keys and values; `matchExpressions` use the usual operators. A missing
//! selector selects nothing, an empty one everything.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

use crate::wildcard;

/// Whether `selector` selects an object with `labels`. A malformed expression (unknown
/// operator, values where none are allowed) selects nothing, as Kyverno treats the parse
/// error as a mismatch.
pub fn selects(selector: Option<&LabelSelector>, labels: &BTreeMap<String, String>) -> bool {
    let Some(selector) = selector else {
        return false;
    };
    let match_labels = selector.match_labels.iter().flatten();
    let label_ok = |(k, v): (&String, &String)| {
        labels
            .iter()
            .any(|(lk, lv)| wildcard::matches(k, lk) && wildcard::matches(v, lv))
    };
    let expressions = selector.match_expressions.iter().flatten();
    match_labels.into_iter().all(label_ok)
        && expressions
            .into_iter()
            .all(|e| requirement_holds(e, labels))
}

fn requirement_holds(req: &LabelSelectorRequirement, labels: &BTreeMap<String, String>) -> bool {
    let values = req.values.as_deref().unwrap_or_default();
    let value = labels.get(&req.key);
    match req.operator.as_str() {
        "In" => !values.is_empty() && value.is_some_and(|v| values.contains(v)),
        "NotIn" => !values.is_empty() && value.is_none_or(|v| !values.contains(v)),
        "Exists" => values.is_empty() && value.is_some(),
        "DoesNotExist" => values.is_empty() && value.is_none(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sel(v: serde_json::Value) -> LabelSelector {
        serde_json::from_value(v).unwrap()
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn none_selects_nothing_and_empty_everything() {
        assert!(!selects(None, &labels(&[])));
        assert!(selects(Some(&sel(json!({}))), &labels(&[("a", "b")])));
    }

    #[test]
    fn match_labels_accept_wildcards() {
        let l = labels(&[("app", "web-1"), ("tier", "front")]);
        assert!(selects(
            Some(&sel(json!({"matchLabels": {"app": "web-*"}}))),
            &l
        ));
        assert!(selects(
            Some(&sel(json!({"matchLabels": {"ti?r": "front"}}))),
            &l
        ));
        assert!(!selects(
            Some(&sel(json!({"matchLabels": {"app": "db"}}))),
            &l
        ));
    }

    #[test]
    fn match_expressions() {
        let l = labels(&[("env", "prod")]);
        let expr = |op: &str, values: serde_json::Value| {
            sel(json!({"matchExpressions": [{"key": "env", "operator": op, "values": values}]}))
        };
        assert!(selects(Some(&expr("In", json!(["prod", "dev"]))), &l));
        assert!(!selects(Some(&expr("NotIn", json!(["prod"]))), &l));
        assert!(selects(Some(&expr("Exists", json!(null))), &l));
        assert!(!selects(Some(&expr("DoesNotExist", json!(null))), &l));
        assert!(!selects(Some(&expr("Exists", json!(["x"]))), &l));
        assert!(!selects(Some(&expr("Gt", json!(["1"]))), &l));
    }
}
