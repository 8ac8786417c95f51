//! `validate.podSecurity`: the level, version and control exclusions of a rule. Decoded
//! strictly (unknown fields are refused, as kubectl's strict field validation does), with
//! raw strings kept: enum checks belong to the policy validation, and messages echo the
//! raw `level` and `version`.

use serde_json::Value;

use crate::decode::{field, object, opt_string, string_list};
use crate::policy_error::{FieldIssue, IssueKind, Location};

/// `validate.podSecurity`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodSecurity {
    /// `privileged`, `baseline` or `restricted` once validated; absent stays `None` and
    /// prints as the empty string.
    pub level: Option<String>,
    /// `latest`, `v1.19`...; absent stays `None` (the CRD sets no default) and evaluates
    /// as `latest` but prints as the empty string (`"baseline:"`).
    pub version: Option<String>,
    pub exclude: Vec<PodSecurityStandard>,
}

impl PodSecurity {
    /// The level as Kyverno prints and compares it.
    pub fn level_str(&self) -> &str {
        self.level.as_deref().unwrap_or("")
    }

    /// The version as Kyverno prints it.
    pub fn version_str(&self) -> &str {
        self.version.as_deref().unwrap_or("")
    }
}

/// One `exclude` entry (`PodSecurityStandard`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodSecurityStandard {
    /// Required by the CRD; `None` only in a policy that would be refused.
    pub control_name: Option<String>,
    /// Image patterns (`*`, `?`); empty means a pod-level exclusion.
    pub images: Vec<String>,
    /// A pod-relative field path with `*` for indexes; empty means every field.
    pub restricted_field: String,
    /// Value patterns; empty means every value.
    pub values: Vec<String>,
}

impl PodSecurityStandard {
    pub fn control_name_str(&self) -> &str {
        self.control_name.as_deref().unwrap_or("")
    }
}

const POD_SECURITY_FIELDS: [&str; 3] = ["level", "version", "exclude"];
const EXCLUDE_FIELDS: [&str; 4] = ["controlName", "images", "restrictedField", "values"];

/// Decode `validate.podSecurity` at `at`; every issue is returned.
pub(crate) fn decode(value: &Value, at: &Location) -> Result<PodSecurity, Vec<FieldIssue>> {
    let map = object(value, at).map_err(|e| vec![e])?;
    let mut issues = unknown_fields(map, &POD_SECURITY_FIELDS, at);
    let level = opt_string(map, "level", at)
        .map_err(|e| issues.push(e))
        .ok()
        .flatten();
    let version = opt_string(map, "version", at)
        .map_err(|e| issues.push(e))
        .ok()
        .flatten();
    let exclude = match field(map, "exclude") {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            let here = at.key("exclude");
            let decoded: Vec<_> = items
                .iter()
                .enumerate()
                .map(|(i, v)| decode_exclude(v, &here.index(i)))
                .collect();
            let mut ok = Vec::new();
            for d in decoded {
                match d {
                    Ok(e) => ok.push(e),
                    Err(mut errs) => issues.append(&mut errs),
                }
            }
            ok
        }
        Some(other) => {
            issues.push(FieldIssue::new(
                at.key("exclude"),
                IssueKind::WrongType {
                    expected: "array",
                    got: crate::decode::type_name(other),
                },
            ));
            Vec::new()
        }
    };
    if issues.is_empty() {
        Ok(PodSecurity {
            level,
            version,
            exclude,
        })
    } else {
        Err(issues)
    }
}

fn decode_exclude(value: &Value, at: &Location) -> Result<PodSecurityStandard, Vec<FieldIssue>> {
    let map = object(value, at).map_err(|e| vec![e])?;
    let mut issues = unknown_fields(map, &EXCLUDE_FIELDS, at);
    let control_name = opt_string(map, "controlName", at)
        .map_err(|e| issues.push(e))
        .ok()
        .flatten();
    let images = string_list(map, "images", at)
        .map_err(|e| issues.push(e))
        .unwrap_or_default();
    let restricted_field = opt_string(map, "restrictedField", at)
        .map_err(|e| issues.push(e))
        .ok()
        .flatten()
        .unwrap_or_default();
    let values = string_list(map, "values", at)
        .map_err(|e| issues.push(e))
        .unwrap_or_default();
    if issues.is_empty() {
        Ok(PodSecurityStandard {
            control_name,
            images,
            restricted_field,
            values,
        })
    } else {
        Err(issues)
    }
}

fn unknown_fields(
    map: &serde_json::Map<String, Value>,
    known: &[&str],
    at: &Location,
) -> Vec<FieldIssue> {
    map.keys()
        .filter(|k| !known.contains(&k.as_str()))
        .map(|k| FieldIssue::new(at.key(k), IssueKind::UnknownField))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at() -> Location {
        Location::root()
            .key("spec")
            .key("rules")
            .index(0)
            .key("validate")
            .key("podSecurity")
    }

    #[test]
    fn decodes_every_field() {
        let ps = decode(
            &json!({"level": "baseline", "version": "v1.29", "exclude": [
                {
                    "controlName": "Host Ports",
                    "images": ["nginx*"],
                    "restrictedField": "spec.containers[*].ports[*].hostPort",
                    "values": ["80"],
                },
                {"controlName": "Sysctls"},
            ]}),
            &at(),
        )
        .unwrap();
        assert_eq!(ps.level_str(), "baseline");
        assert_eq!(ps.version_str(), "v1.29");
        assert_eq!(ps.exclude.len(), 2);
        assert_eq!(ps.exclude[0].images, vec!["nginx*"]);
        assert_eq!(ps.exclude[1].control_name_str(), "Sysctls");
        assert_eq!(ps.exclude[1].restricted_field, "");
    }

    #[test]
    fn absent_version_stays_empty() {
        let ps = decode(&json!({"level": "baseline"}), &at()).unwrap();
        assert_eq!(ps.version, None);
        assert_eq!(ps.version_str(), "");
    }

    #[test]
    fn refuses_unknown_fields_and_wrong_types() {
        let doc = json!({
            "level": 3,
            "levle": "x",
            "exclude": [{"controlName": "Sysctls", "image": []}],
        });
        let errs = decode(&doc, &at()).unwrap_err();
        let texts: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(
            texts,
            vec![
                "unknown field \"spec.rules[0].validate.podSecurity.levle\"",
                "spec.rules[0].validate.podSecurity.level: Invalid value: \"integer\": \
                 spec.rules[0].validate.podSecurity.level in body must be of type string: \
                 \"integer\"",
                "unknown field \"spec.rules[0].validate.podSecurity.exclude[0].image\"",
            ]
        );
    }
}
