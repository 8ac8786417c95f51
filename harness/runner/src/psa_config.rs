//! PSA configuration files: a `PodSecurityConfiguration`, or the API server's
//! `AdmissionConfiguration` holding one for the `PodSecurity` plugin (inline, or in a file
//! named by the plugin's `path`, resolved against the configuration file as the API server
//! does).
//!
//! The file is read as YAML into a located tree, turned into JSON and handed to
//! [`AdmissionConfig::from_value`], so the rules (defaults, exemptions, validation) are the
//! pss crate's. What this module adds is the location: every error points at the field
//! that caused it (an unknown key, a bad level, a duplicate exempt namespace).

use std::path::{Path, PathBuf};

use pss::admission::{
    AdmissionConfig, AdmissionConfiguration, ConfigError, PodSecurityConfiguration,
};

use crate::error::{Error, LocatedError};
use crate::manifest::{self, Source};
use crate::yaml::{self, Node, Value};

/// A loaded, validated configuration and the file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub config: AdmissionConfig,
}

/// Read and validate a configuration file.
pub fn load(path: &Path) -> Result<ConfigFile, Error> {
    let (src, node) = manifest::single_document(path)?;
    let config = match AdmissionConfig::from_value(node.to_json()) {
        Ok(config) => config,
        Err(ConfigError::ExternalPath { path: external }) => {
            load_external(path, &src, &node, &external)?
        }
        Err(e) => return Err(Error::located(locate(&src, &node, &e))),
    };
    Ok(ConfigFile {
        path: path.to_path_buf(),
        config,
    })
}

/// The `PodSecurity` plugin's `path:` file, which must hold a `PodSecurityConfiguration`.
fn load_external(
    path: &Path,
    src: &Source,
    node: &Node,
    external: &str,
) -> Result<AdmissionConfig, Error> {
    let at = plugin_node(node)
        .and_then(|p| p.get("path"))
        .map_or(node.loc, |n| n.loc);
    let file = path.parent().unwrap_or(Path::new(".")).join(external);
    if !file.is_file() {
        let msg = format!(
            "the PodSecurity plugin's file not found: {external} (resolved to {})",
            file.display()
        );
        return Err(Error::located(src.error(at, msg)));
    }
    let (inner_src, inner) = manifest::single_document(&file)?;
    let kind = inner.get("kind").and_then(Node::as_str).unwrap_or_default();
    if kind != "PodSecurityConfiguration" {
        let msg = format!("expected a PodSecurityConfiguration, found kind {kind:?}");
        let at = inner.get("kind").map_or(inner.loc, |n| n.loc);
        return Err(Error::located(inner_src.error(at, msg)));
    }
    AdmissionConfig::from_value(inner.to_json())
        .map_err(|e| Error::located(locate(&inner_src, &inner, &e)))
}

/// Place a configuration error at the field it is about.
fn locate(src: &Source, node: &Node, err: &ConfigError) -> LocatedError {
    let message = err.to_string();
    match err {
        ConfigError::Json(_) => {
            strict_error(src, node).unwrap_or_else(|| src.error(node.loc, message))
        }
        ConfigError::Kind { .. } => src.error(field_loc(node, "kind"), message),
        ConfigError::ApiVersion { kind, .. } => {
            let owner = match *kind {
                "PodSecurityConfiguration" => pod_security_node(node),
                _ => node,
            };
            src.error(field_loc(owner, "apiVersion"), message)
        }
        ConfigError::NoPlugin => src.error(field_loc(node, "plugins"), message),
        ConfigError::NoPluginConfiguration | ConfigError::ExternalPath { .. } => {
            src.error(plugin_node(node).map_or(node.loc, |p| p.loc), message)
        }
        ConfigError::Invalid(errors) => {
            let at = errors
                .iter()
                .next()
                .and_then(|e| path_node(pod_security_node(node), &e.path))
                .map_or(node.loc, |n| n.loc);
            src.error(at, message)
        }
    }
}

/// The located error of a strict read of the document as its own kind, if there is one.
fn strict_error(src: &Source, node: &Node) -> Option<LocatedError> {
    let err = match node.get("kind").and_then(Node::as_str) {
        Some("AdmissionConfiguration") => yaml::strict::<AdmissionConfiguration>(node)
            .err()
            .or_else(|| {
                let inner = pod_security_node(node);
                yaml::strict::<PodSecurityConfiguration>(inner).err()
            }),
        _ => yaml::strict::<PodSecurityConfiguration>(node).err(),
    }?;
    Some(LocatedError::from_strict(
        &src.file, &src.text, err, node.loc,
    ))
}

fn field_loc(node: &Node, field: &str) -> crate::yaml::Loc {
    node.get(field).map_or(node.loc, |n| n.loc)
}

/// The `plugins[]` entry named `PodSecurity` of an `AdmissionConfiguration`.
fn plugin_node(node: &Node) -> Option<&Node> {
    let Value::Seq(plugins) = &node.get("plugins")?.value else {
        return None;
    };
    plugins
        .iter()
        .find(|p| p.get("name").and_then(Node::as_str) == Some("PodSecurity"))
}

/// The `PodSecurityConfiguration` inside an `AdmissionConfiguration`, or the document.
fn pod_security_node(node: &Node) -> &Node {
    plugin_node(node)
        .and_then(|p| p.get("configuration"))
        .unwrap_or(node)
}

/// The node at a field-error path such as `defaults.enforce` or `exemptions.usernames[2]`.
fn path_node<'n>(node: &'n Node, path: &str) -> Option<&'n Node> {
    let mut current = node;
    for part in path.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        current = current.get(name)?;
        if let Some(i) = index {
            let Value::Seq(items) = &current.value else {
                return None;
            };
            current = items.get(i)?;
        }
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn err(text: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "c.yaml", text);
        let e = load(&path).unwrap_err().to_string();
        e.replace(&dir.path().display().to_string(), "<dir>")
    }

    const HEAD: &str = "apiVersion: pod-security.admission.config.k8s.io/v1
kind: PodSecurityConfiguration
";

    #[test]
    fn loads_both_file_kinds_and_external_plugin_files() {
        let dir = tempfile::tempdir().unwrap();
        let text =
            format!("{HEAD}defaults: {{enforce: baseline}}\nexemptions: {{usernames: [admin]}}\n");
        let direct = load(&write(dir.path(), "psc.yaml", &text)).unwrap();
        assert_eq!(
            direct.config.defaults.enforce.to_string(),
            "baseline:latest"
        );
        assert!(direct.config.exemptions.user("admin"));
        let wrapper = load(&write(
            dir.path(),
            "ac.yaml",
            "apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- {name: PodSecurity, path: psc.yaml}
",
        ))
        .unwrap();
        assert_eq!(wrapper.config, direct.config);
    }

    #[test]
    fn errors_point_at_the_offending_field() {
        assert_eq!(
            err(&format!("{HEAD}defaults: {{enforce: Baseline}}\n")),
            "<dir>/c.yaml:3:21: invalid PodSecurityConfiguration: defaults.enforce: Invalid \
             value: \"Baseline\": must be one of privileged, baseline, restricted"
        );
        assert_eq!(
            err(&format!("{HEAD}exemptions:\n  namespaces: [a, a]\n")),
            "<dir>/c.yaml:4:19: invalid PodSecurityConfiguration: exemptions.namespaces[1]: \
             Duplicate value: \"a\""
        );
        assert!(
            err(&format!("{HEAD}defaults: {{enforced: baseline}}\n"))
                .starts_with("<dir>/c.yaml:3:12: unknown field `enforced`"),
            "{}",
            err(&format!("{HEAD}defaults: {{enforced: baseline}}\n"))
        );
        assert!(
            err("apiVersion: v1\nkind: ConfigMap\n")
                .starts_with("<dir>/c.yaml:2:7: unsupported kind")
        );
        assert!(
            err("apiVersion: apiserver.config.k8s.io/v1\nkind: AdmissionConfiguration\nplugins: []\n")
                .starts_with("<dir>/c.yaml:3:10: AdmissionConfiguration has no PodSecurity plugin")
        );
        assert!(
            err("apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- {name: PodSecurity, path: missing.yaml}
")
            .starts_with(
                "<dir>/c.yaml:4:29: the PodSecurity plugin's file not found: missing.yaml"
            )
        );
    }
}
