//! `match` and `exclude` blocks of a Kyverno rule: `any`, `all`, the legacy `resources`,
//! and user information, as Kyverno's `MatchResources` / `ResourceFilter` types.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde::Deserialize;

use crate::decode::null_as_default;

/// `MatchResources`: `any` (one filter suffices), `all` (every filter), or the legacy
/// `resources` plus user information when both lists are empty.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchResources {
    #[serde(default, deserialize_with = "null_as_default")]
    pub any: Vec<ResourceFilter>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub all: Vec<ResourceFilter>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub resources: ResourceDescription,
    #[serde(flatten)]
    pub user_info: UserInfo,
}

impl MatchResources {
    /// Every kind named anywhere in the block (Kyverno's `GetKinds`).
    pub fn kinds(&self) -> Vec<&str> {
        let legacy = self.resources.kinds.iter();
        let filters = self
            .any
            .iter()
            .chain(&self.all)
            .flat_map(|f| f.resources.kinds.iter());
        legacy.chain(filters).map(String::as_str).collect()
    }

    /// Every resource description of the block: legacy, then `any`, then `all`.
    pub fn descriptions(&self) -> impl Iterator<Item = &ResourceDescription> {
        std::iter::once(&self.resources)
            .chain(self.any.iter().map(|f| &f.resources))
            .chain(self.all.iter().map(|f| &f.resources))
    }

    /// Whether user information (roles, cluster roles, subjects) is used anywhere.
    pub fn uses_user_info(&self) -> bool {
        !self.user_info.is_empty()
            || self
                .any
                .iter()
                .chain(&self.all)
                .any(|f| !f.user_info.is_empty())
    }
}

/// One entry of `any` or `all`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceFilter {
    #[serde(default, deserialize_with = "null_as_default")]
    pub resources: ResourceDescription,
    #[serde(flatten)]
    pub user_info: UserInfo,
}

/// What a filter selects. Lists are OR-ed inside, fields AND-ed together. `annotations`
/// and `selector` keep their presence: an empty `{}` still disables autogen.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDescription {
    #[serde(default, deserialize_with = "null_as_default")]
    pub kinds: Vec<String>,
    /// Deprecated single name (wildcards allowed).
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub names: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub namespaces: Vec<String>,
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub selector: Option<LabelSelector>,
    #[serde(default)]
    pub namespace_selector: Option<LabelSelector>,
    /// Admission operations (`CREATE`, `UPDATE`, `DELETE`, `CONNECT`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub operations: Vec<String>,
}

impl ResourceDescription {
    /// Whether nothing is set (an empty legacy block matches nothing and excludes nothing).
    pub fn is_empty(&self) -> bool {
        *self == ResourceDescription::default()
    }
}

/// Who made the request: RBAC roles and subjects.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    #[serde(default, deserialize_with = "null_as_default")]
    pub roles: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub cluster_roles: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub subjects: Vec<Subject>,
}

impl UserInfo {
    pub fn is_empty(&self) -> bool {
        self.roles.is_empty() && self.cluster_roles.is_empty() && self.subjects.is_empty()
    }
}

/// An RBAC subject (`User`, `Group` or `ServiceAccount`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_any_all_legacy_and_user_info() {
        let m: MatchResources = serde_json::from_value(json!({
            "any": [{"resources": {"kinds": ["Pod"], "annotations": {}}}],
            "all": [{
                "resources": {"kinds": ["apps/v1/Deployment"]},
                "subjects": [{"kind": "User", "name": "u"}],
            }],
            "resources": {"kinds": null, "selector": {"matchLabels": {"a": "b"}}},
            "roles": ["r"],
        }))
        .unwrap();
        assert_eq!(m.kinds(), vec!["Pod", "apps/v1/Deployment"]);
        assert_eq!(m.any[0].resources.annotations, Some(BTreeMap::new()));
        assert!(m.resources.selector.is_some());
        assert!(m.uses_user_info());
        assert_eq!(m.descriptions().count(), 3);
        assert!(!m.resources.is_empty());
        assert!(ResourceDescription::default().is_empty());
    }
}
