//! The admission configuration file (§4.1): upstream's `PodSecurityConfiguration`, given
//! either alone or inside the API server's `AdmissionConfiguration` (plugin `PodSecurity`).
//!
//! These are serde types (unknown fields rejected) so the runner can load them from YAML;
//! [`PodSecurityConfiguration::validate`] applies upstream's defaulting and validation and
//! yields the [`AdmissionConfig`] the flows use.

use serde::Deserialize;

use super::dns;
use super::exemptions::Exemptions;
use super::field_errors::{FieldError, FieldErrors};
use super::namespace_policy::Policy;
use crate::level::Level;
use crate::policy::LevelVersion;
use crate::version::Version;

/// The group of `PodSecurityConfiguration`.
pub const POD_SECURITY_GROUP: &str = "pod-security.admission.config.k8s.io";
/// The `apiVersion`s upstream serves `PodSecurityConfiguration` at.
pub const POD_SECURITY_API_VERSIONS: [&str; 3] = [
    "pod-security.admission.config.k8s.io/v1",
    "pod-security.admission.config.k8s.io/v1beta1",
    "pod-security.admission.config.k8s.io/v1alpha1",
];
/// The `apiVersion`s of the API server's `AdmissionConfiguration`.
pub const ADMISSION_API_VERSIONS: [&str; 2] =
    ["apiserver.config.k8s.io/v1", "apiserver.k8s.io/v1alpha1"];
/// The admission plugin name PSA registers.
pub const PLUGIN_NAME: &str = "PodSecurity";

/// `PodSecurityConfiguration` as written (v1, v1beta1 and v1alpha1 have the same fields).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodSecurityConfiguration {
    /// `pod-security.admission.config.k8s.io/v1` (or `v1beta1`, `v1alpha1`).
    pub api_version: String,
    /// `PodSecurityConfiguration`.
    pub kind: String,
    /// The policy of namespaces without PSA labels.
    #[serde(default)]
    pub defaults: PodSecurityDefaults,
    /// Requests let through without evaluation.
    #[serde(default)]
    pub exemptions: PodSecurityExemptions,
}

/// `defaults`: an empty or absent field means `privileged` / `latest`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodSecurityDefaults {
    /// `enforce`: the level that denies pods.
    #[serde(default)]
    pub enforce: String,
    /// `enforce-version`.
    #[serde(default, rename = "enforce-version")]
    pub enforce_version: String,
    /// `audit`: the level recorded in `audit-violations`.
    #[serde(default)]
    pub audit: String,
    /// `audit-version`.
    #[serde(default, rename = "audit-version")]
    pub audit_version: String,
    /// `warn`: the level that adds warnings.
    #[serde(default)]
    pub warn: String,
    /// `warn-version`.
    #[serde(default, rename = "warn-version")]
    pub warn_version: String,
}

/// `exemptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodSecurityExemptions {
    /// Authenticated user names (exact match).
    #[serde(default)]
    pub usernames: Vec<String>,
    /// Namespace names (DNS-1123 labels).
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Runtime class names (DNS-1123 subdomains).
    #[serde(default)]
    pub runtime_classes: Vec<String>,
}

/// The API server's `AdmissionConfiguration`: only the `PodSecurity` plugin is read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AdmissionConfiguration {
    /// `apiserver.config.k8s.io/v1` (or the older `apiserver.k8s.io/v1alpha1`).
    pub api_version: String,
    /// `AdmissionConfiguration`.
    pub kind: String,
    /// The admission plugins' configurations.
    #[serde(default)]
    pub plugins: Vec<AdmissionPluginConfiguration>,
}

/// One `plugins[]` entry. Other plugins' configurations are kept as untyped JSON.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdmissionPluginConfiguration {
    /// The plugin name (`PodSecurity` for PSA).
    pub name: String,
    /// A file holding the configuration instead of `configuration`.
    #[serde(default)]
    pub path: Option<String>,
    /// The inline configuration.
    #[serde(default)]
    pub configuration: Option<serde_json::Value>,
}

/// A validated configuration: the default policy and the exemptions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdmissionConfig {
    /// The policy of namespaces without PSA labels.
    pub defaults: Policy,
    /// The exempt users, namespaces and runtime classes.
    pub exemptions: Exemptions,
}

/// Why a configuration file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The document does not have the configuration's shape.
    #[error("not a configuration object: {0}")]
    Json(#[source] serde_json::Error),
    /// Neither configuration kind.
    #[error(
        "unsupported kind {kind:?}: expected PodSecurityConfiguration or AdmissionConfiguration"
    )]
    Kind {
        /// The `kind` given.
        kind: String,
    },
    /// An `apiVersion` the kind is not served at.
    #[error("unsupported apiVersion {api_version:?} for {kind}; expected one of {expected:?}")]
    ApiVersion {
        /// The `apiVersion` given.
        api_version: String,
        /// The kind it was given for.
        kind: &'static str,
        /// The accepted `apiVersion`s.
        expected: &'static [&'static str],
    },
    /// No `plugins[]` entry is named `PodSecurity`.
    #[error("AdmissionConfiguration has no {PLUGIN_NAME} plugin")]
    NoPlugin,
    /// The `PodSecurity` entry has neither `configuration` nor `path`.
    #[error("the {PLUGIN_NAME} plugin has no inline configuration")]
    NoPluginConfiguration,
    /// The plugin points at another file; the caller reads it and passes it in instead.
    #[error("the {PLUGIN_NAME} plugin configuration is in a separate file: {path}")]
    ExternalPath {
        /// The plugin's `path`.
        path: String,
    },
    /// Upstream validation failed (defaults or exemptions).
    #[error("invalid PodSecurityConfiguration: {0}")]
    Invalid(FieldErrors),
}

impl AdmissionConfig {
    /// Load either file kind from an already-parsed document (e.g. YAML turned into JSON).
    pub fn from_value(value: serde_json::Value) -> Result<AdmissionConfig, ConfigError> {
        let kind = value
            .get("kind")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        match kind {
            "PodSecurityConfiguration" => PodSecurityConfiguration::from_value(value)?.validate(),
            "AdmissionConfiguration" => {
                let wrapper: AdmissionConfiguration =
                    serde_json::from_value(value).map_err(ConfigError::Json)?;
                wrapper.pod_security()?.validate()
            }
            other => Err(ConfigError::Kind {
                kind: other.to_owned(),
            }),
        }
    }
}

impl PodSecurityConfiguration {
    /// Deserialize and check `apiVersion` and `kind`.
    pub fn from_value(value: serde_json::Value) -> Result<Self, ConfigError> {
        let config: PodSecurityConfiguration =
            serde_json::from_value(value).map_err(ConfigError::Json)?;
        config.check_type()?;
        Ok(config)
    }

    fn check_type(&self) -> Result<(), ConfigError> {
        if self.kind != "PodSecurityConfiguration" {
            return Err(ConfigError::Kind {
                kind: self.kind.clone(),
            });
        }
        if !POD_SECURITY_API_VERSIONS.contains(&self.api_version.as_str()) {
            return Err(ConfigError::ApiVersion {
                api_version: self.api_version.clone(),
                kind: "PodSecurityConfiguration",
                expected: &POD_SECURITY_API_VERSIONS,
            });
        }
        Ok(())
    }

    /// Default, then validate as upstream (defaults first, in the order enforce, warn,
    /// audit; then exempt namespaces, runtime classes, usernames).
    pub fn validate(&self) -> Result<AdmissionConfig, ConfigError> {
        self.check_type()?;
        let mut errors = FieldErrors::default();
        let d = &self.defaults;
        let enforce = mode(&mut errors, "enforce", &d.enforce, &d.enforce_version);
        let warn = mode(&mut errors, "warn", &d.warn, &d.warn_version);
        let audit = mode(&mut errors, "audit", &d.audit, &d.audit_version);
        let ex = &self.exemptions;
        check_list(
            &mut errors,
            "namespaces",
            &ex.namespaces,
            dns::namespace_name_errors,
        );
        check_list(
            &mut errors,
            "runtimeClasses",
            &ex.runtime_classes,
            dns::subdomain_errors,
        );
        check_list(&mut errors, "usernames", &ex.usernames, username_errors);
        if !errors.is_empty() {
            return Err(ConfigError::Invalid(errors));
        }
        Ok(AdmissionConfig {
            defaults: Policy {
                enforce,
                audit,
                warn,
            },
            exemptions: Exemptions {
                usernames: ex.usernames.clone(),
                namespaces: ex.namespaces.clone(),
                runtime_classes: ex.runtime_classes.clone(),
            },
        })
    }
}

impl AdmissionConfiguration {
    /// The `PodSecurity` plugin's inline configuration.
    pub fn pod_security(&self) -> Result<PodSecurityConfiguration, ConfigError> {
        if !ADMISSION_API_VERSIONS.contains(&self.api_version.as_str()) {
            return Err(ConfigError::ApiVersion {
                api_version: self.api_version.clone(),
                kind: "AdmissionConfiguration",
                expected: &ADMISSION_API_VERSIONS,
            });
        }
        if self.kind != "AdmissionConfiguration" {
            return Err(ConfigError::Kind {
                kind: self.kind.clone(),
            });
        }
        let plugin = self
            .plugins
            .iter()
            .find(|p| p.name == PLUGIN_NAME)
            .ok_or(ConfigError::NoPlugin)?;
        match (&plugin.configuration, &plugin.path) {
            (Some(value), _) => PodSecurityConfiguration::from_value(value.clone()),
            (None, Some(path)) => Err(ConfigError::ExternalPath { path: path.clone() }),
            (None, None) => Err(ConfigError::NoPluginConfiguration),
        }
    }
}

/// One mode of `defaults`: empty strings default to `privileged` / `latest`.
fn mode(errors: &mut FieldErrors, name: &str, level: &str, version: &str) -> LevelVersion {
    let level_str = if level.is_empty() {
        "privileged"
    } else {
        level
    };
    let version_str = if version.is_empty() {
        "latest"
    } else {
        version
    };
    let level = level_str.parse::<Level>().unwrap_or_else(|e| {
        errors.push(FieldError::invalid(
            format!("defaults.{name}"),
            level_str,
            e.to_string(),
        ));
        Level::ENFORCE_FALLBACK
    });
    let version = version_str.parse::<Version>().unwrap_or_else(|e| {
        let path = format!("defaults.{name}-version");
        errors.push(FieldError::invalid(path, version_str, e.to_string()));
        Version::Latest
    });
    LevelVersion::new(level, version)
}

/// Each item must be valid (per `check`) and not repeat an earlier valid item.
fn check_list(
    errors: &mut FieldErrors,
    field: &str,
    items: &[String],
    check: fn(&str) -> Vec<String>,
) {
    let mut seen: Vec<&str> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("exemptions.{field}[{i}]");
        let problems = check(item);
        if !problems.is_empty() {
            errors.push(FieldError::invalid(path, item, problems.join(", ")));
        } else if seen.contains(&item.as_str()) {
            errors.push(FieldError::duplicate(path, item));
        } else {
            seen.push(item);
        }
    }
}

fn username_errors(name: &str) -> Vec<String> {
    if name.is_empty() {
        vec!["username must not be empty".to_owned()]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lv(s: &str) -> LevelVersion {
        s.parse().unwrap()
    }

    #[test]
    fn defaults_fill_empty_fields() {
        for api_version in POD_SECURITY_API_VERSIONS {
            let value = json!({"apiVersion": api_version, "kind": "PodSecurityConfiguration"});
            let config = AdmissionConfig::from_value(value).unwrap();
            assert_eq!(config, AdmissionConfig::default());
        }
    }

    #[test]
    fn reads_all_fields() {
        let value = json!({
            "apiVersion": "pod-security.admission.config.k8s.io/v1",
            "kind": "PodSecurityConfiguration",
            "defaults": {"enforce": "baseline", "enforce-version": "v1.30", "audit": "restricted",
                         "audit-version": "latest", "warn": "restricted", "warn-version": ""},
            "exemptions": {"usernames": ["admin"], "namespaces": ["kube-system"],
                           "runtimeClasses": ["kata.io"]},
        });
        let config = AdmissionConfig::from_value(value).unwrap();
        assert_eq!(config.defaults.enforce, lv("baseline:v1.30"));
        assert_eq!(config.defaults.audit, lv("restricted:latest"));
        assert_eq!(config.defaults.warn, lv("restricted:latest"));
        assert_eq!(config.exemptions.usernames, ["admin"]);
        assert_eq!(config.exemptions.namespaces, ["kube-system"]);
        assert_eq!(config.exemptions.runtime_classes, ["kata.io"]);
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_rejected() {
        let value = json!({"apiVersion": "pod-security.admission.config.k8s.io/v1",
            "kind": "PodSecurityConfiguration", "defaults": {"enforced": "baseline"}});
        let err = AdmissionConfig::from_value(value).unwrap_err();
        assert!(
            err.to_string().contains("unknown field `enforced`"),
            "{err}"
        );
        let value = json!({"apiVersion": "pod-security.admission.config.k8s.io/v2",
            "kind": "PodSecurityConfiguration"});
        assert!(matches!(
            AdmissionConfig::from_value(value),
            Err(ConfigError::ApiVersion { .. })
        ));
        let value = json!({"apiVersion": "v1", "kind": "ConfigMap"});
        assert!(matches!(
            AdmissionConfig::from_value(value),
            Err(ConfigError::Kind { .. })
        ));
    }

    #[test]
    fn validation_errors_in_upstream_order_and_text() {
        let value = json!({
            "apiVersion": "pod-security.admission.config.k8s.io/v1beta1",
            "kind": "PodSecurityConfiguration",
            "defaults": {"enforce": "Baseline", "audit-version": "v1.01"},
            "exemptions": {"usernames": ["", "a", "a"], "namespaces": ["ns", "ns", "Bad_NS"],
                           "runtimeClasses": ["a.b", "a.b"]},
        });
        let Err(ConfigError::Invalid(errors)) = AdmissionConfig::from_value(value) else {
            panic!("expected validation errors");
        };
        let got: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            [
                "defaults.enforce: Invalid value: \"Baseline\": must be one of privileged, \
                 baseline, restricted",
                "defaults.audit-version: Invalid value: \"v1.01\": must be \"latest\" or \"v1.x\"",
                "exemptions.namespaces[1]: Duplicate value: \"ns\"",
                "exemptions.namespaces[2]: Invalid value: \"Bad_NS\": a lowercase RFC 1123 label \
                 must consist of lower case alphanumeric characters or '-', and must start and \
                 end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used \
                 for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                "exemptions.runtimeClasses[1]: Duplicate value: \"a.b\"",
                "exemptions.usernames[0]: Invalid value: \"\": username must not be empty",
                "exemptions.usernames[2]: Duplicate value: \"a\"",
            ]
        );
    }

    #[test]
    fn admission_configuration_wrapper() {
        let value = json!({
            "apiVersion": "apiserver.config.k8s.io/v1",
            "kind": "AdmissionConfiguration",
            "plugins": [
                {"name": "EventRateLimit", "path": "erl.yaml"},
                {"name": "PodSecurity", "configuration": {
                    "apiVersion": "pod-security.admission.config.k8s.io/v1",
                    "kind": "PodSecurityConfiguration",
                    "defaults": {"enforce": "baseline"},
                    "exemptions": {"namespaces": ["kube-system"]}}},
            ],
        });
        let config = AdmissionConfig::from_value(value).unwrap();
        assert_eq!(config.defaults.enforce, lv("baseline:latest"));
        assert!(config.exemptions.namespace("kube-system"));

        let external = json!({"apiVersion": "apiserver.config.k8s.io/v1",
            "kind": "AdmissionConfiguration",
            "plugins": [{"name": "PodSecurity", "path": "/etc/psa.yaml"}]});
        let err = AdmissionConfig::from_value(external).unwrap_err();
        assert!(matches!(&err, ConfigError::ExternalPath { path } if path == "/etc/psa.yaml"));
        let none = json!({"apiVersion": "apiserver.config.k8s.io/v1",
            "kind": "AdmissionConfiguration", "plugins": []});
        assert!(matches!(
            AdmissionConfig::from_value(none),
            Err(ConfigError::NoPlugin)
        ));
    }

    #[test]
    fn loads_from_yaml_through_serde() {
        let yaml = "apiVersion: pod-security.admission.config.k8s.io/v1\n\
                    kind: PodSecurityConfiguration\n\
                    defaults:\n  warn: restricted\n  warn-version: v1.25\n";
        let config: PodSecurityConfiguration = serde_saphyr::from_str(yaml).unwrap();
        let config = config.validate().unwrap();
        assert_eq!(config.defaults.warn, lv("restricted:v1.25"));
    }
}
