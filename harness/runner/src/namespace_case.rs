//! Namespaces in case files: Namespace manifests (the resource of a namespace case, and its
//! old object), a namespace's existing pods, and the `{level}`/`{version}` templates of
//! namespace label values.
//!
//! A namespace case has no workload, but the rest of the runner expands, runs and reports
//! workloads. So the case keeps a placeholder Pod named after the namespace as its object
//! and runs as that one kind; its scenarios are shown as `Namespace`, and the target is
//! handed the [`NamespaceRequest`] instead of the placeholder.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use pss::admission::NamespaceObject;
use pss::{Level, Version, Workload};

use crate::error::LocatedError;
use crate::manifest::Source;
use crate::yaml::{self, Node};

/// What a case's resource (or old object) turned out to be.
#[derive(Debug, Clone)]
pub enum Loaded {
    Workload(Box<Workload>),
    Namespace(NamespaceObject),
}

/// Whether a manifest node is a Namespace.
pub fn is_namespace(node: &Node) -> bool {
    node.get("kind").and_then(Node::as_str) == Some("Namespace")
}

/// A Namespace manifest, read strictly: only its name and labels matter to PSA.
pub fn namespace_object(src: &Source, node: &Node) -> Result<NamespaceObject, LocatedError> {
    let api_version = node.get("apiVersion");
    if api_version.and_then(Node::as_str) != Some("v1") {
        let at = api_version.map_or(node.loc, |n| n.loc);
        return Err(src.error(at, "a Namespace must have `apiVersion: v1`"));
    }
    let ns: Namespace = yaml::strict(node)
        .map_err(|e| LocatedError::from_strict(&src.file, &src.text, e, node.loc))?;
    let name = ns.metadata.name.filter(|n| !n.is_empty()).ok_or_else(|| {
        let at = node.get("metadata").map_or(node.loc, |n| n.loc);
        src.error(at, "a Namespace needs `metadata.name`")
    })?;
    Ok(NamespaceObject {
        name,
        labels: ns.metadata.labels.unwrap_or_default(),
    })
}

/// The placeholder object of a namespace case: an empty Pod named after the namespace.
pub fn placeholder(namespace: &str) -> Workload {
    Workload::Pod(Pod {
        metadata: ObjectMeta {
            name: Some(namespace.to_owned()),
            ..ObjectMeta::default()
        },
        spec: None,
        status: None,
    })
}

/// A label value with `{level}` (the case's level) and `{version}` (the scenario's version,
/// `v1.N` or `latest`) filled in.
pub fn fill(value: &str, level: Level, version: Version) -> String {
    if !value.contains('{') {
        return value.to_owned();
    }
    value
        .replace("{level}", level.as_str())
        .replace("{version}", &version.to_string())
}

/// Every label value filled in (keys are kept as written).
pub fn fill_labels(
    labels: &BTreeMap<String, String>,
    level: Level,
    version: Version,
) -> BTreeMap<String, String> {
    labels
        .iter()
        .map(|(k, v)| (k.clone(), fill(v, level, version)))
        .collect()
}

/// A namespace object with its label values filled in.
pub fn fill_namespace(ns: &NamespaceObject, level: Level, version: Version) -> NamespaceObject {
    NamespaceObject {
        name: ns.name.clone(),
        labels: fill_labels(&ns.labels, level, version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn read(text: &str) -> Result<NamespaceObject, String> {
        let node = yaml::parse_documents(text).unwrap().remove(0);
        namespace_object(&Source::new(Path::new("n.yaml"), text), &node).map_err(|e| e.to_string())
    }

    #[test]
    fn namespaces_are_read_strictly() {
        let ns = read("apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {x: z}}\n");
        assert_eq!(ns.unwrap().labels["x"], "z");
        assert_eq!(
            read("apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labls: {}}\n").unwrap_err(),
            "n.yaml:3:21: unknown field `labls` in ObjectMeta"
        );
        assert_eq!(
            read("apiVersion: v1\nkind: Namespace\nmetadata: {labels: {}}\n").unwrap_err(),
            "n.yaml:3:11: a Namespace needs `metadata.name`"
        );
        assert_eq!(
            read("apiVersion: apps/v1\nkind: Namespace\nmetadata: {name: a}\n").unwrap_err(),
            "n.yaml:1:13: a Namespace must have `apiVersion: v1`"
        );
    }

    #[test]
    fn templates_fill_level_and_version() {
        assert_eq!(fill("{version}", Level::Baseline, Version::V1(30)), "v1.30");
        assert_eq!(
            fill("{level}", Level::Restricted, Version::Latest),
            "restricted"
        );
        assert_eq!(fill("v1.{x}", Level::Baseline, Version::Latest), "v1.{x}");
        assert_eq!(fill("plain", Level::Baseline, Version::Latest), "plain");
    }
}
