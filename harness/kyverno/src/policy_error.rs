//! Why a policy would not be admitted, with the API server's and Kyverno's exact texts and
//! the JSON location of every offending field (so a runner can point at file:line:column).

use std::fmt;

use pss::format::go_quote;

/// One step of a JSON path into the policy document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathSegment {
    Key(String),
    Index(usize),
}

/// A field location, kept twice: where it is in the document (`json`) and how Kyverno or
/// the API server names it in messages (`field`). They differ because Kyverno's policy
/// webhook leaves out the `validate` segment (`spec.rules[0].podSecurity...`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    pub json: Vec<PathSegment>,
    pub field: String,
}

impl Location {
    /// The document root.
    pub fn root() -> Self {
        Location::default()
    }

    /// A key present in both the document path and the message path.
    pub fn key(&self, key: &str) -> Self {
        let mut next = self.json_key(key);
        if !next.field.is_empty() {
            next.field.push('.');
        }
        next.field.push_str(key);
        next
    }

    /// A key present in the document but not in the message path.
    pub fn json_key(&self, key: &str) -> Self {
        let mut json = self.json.clone();
        json.push(PathSegment::Key(key.to_owned()));
        Location {
            json,
            field: self.field.clone(),
        }
    }

    /// A list index (`[i]` in messages).
    pub fn index(&self, i: usize) -> Self {
        let mut json = self.json.clone();
        json.push(PathSegment::Index(i));
        Location {
            json,
            field: format!("{}[{i}]", self.field),
        }
    }
}

/// What is wrong with a field, in apimachinery's `field.Error` terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueKind {
    /// `field.Invalid`: `<field>: Invalid value: "<value>": <detail>`.
    Invalid { value: String, detail: String },
    /// `field.Forbidden`: `<field>: Forbidden: <detail>`.
    Forbidden { detail: String },
    /// `field.Required`: `<field>: Required value`.
    Required,
    /// `field.NotSupported` (a CRD enum):
    /// `<field>: Unsupported value: "<v>": supported values: "<a>", "<b>"`.
    NotSupported {
        value: String,
        supported: Vec<String>,
    },
    /// A CRD type mismatch:
    /// `<field>: Invalid value: "<got>": <field> in body must be of type <want>: "<got>"`.
    WrongType {
        expected: &'static str,
        got: &'static str,
    },
    /// Strict decoding: `unknown field "<field>"`.
    UnknownField,
    /// A shape this harness cannot read (no Kyverno text exists for it).
    Unreadable { detail: String },
}

/// One offending field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldIssue {
    pub location: Location,
    pub kind: IssueKind,
}

impl FieldIssue {
    pub fn new(location: Location, kind: IssueKind) -> Self {
        FieldIssue { location, kind }
    }
}

impl fmt::Display for FieldIssue {
    /// apimachinery's `(*field.Error).Error()` (or strict decoding's `unknown field`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = &self.location.field;
        match &self.kind {
            IssueKind::Invalid { value, detail } => {
                write!(f, "{field}: Invalid value: {}: {detail}", go_quote(value))
            }
            IssueKind::Forbidden { detail } if detail.is_empty() => write!(f, "{field}: Forbidden"),
            IssueKind::Forbidden { detail } => write!(f, "{field}: Forbidden: {detail}"),
            IssueKind::Required => write!(f, "{field}: Required value"),
            IssueKind::NotSupported { value, supported } => {
                let quoted: Vec<String> = supported.iter().map(|s| go_quote(s)).collect();
                write!(
                    f,
                    "{field}: Unsupported value: {}: supported values: {}",
                    go_quote(value),
                    quoted.join(", ")
                )
            }
            IssueKind::WrongType { expected, got } => write!(
                f,
                "{field}: Invalid value: \"{got}\": \
                 {field} in body must be of type {expected}: \"{got}\""
            ),
            IssueKind::UnknownField => write!(f, "unknown field {}", go_quote(field)),
            IssueKind::Unreadable { detail } => write!(f, "{field}: {detail}"),
        }
    }
}

/// Which layer refuses the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The API server cannot decode the object (strict field validation, wrong types).
    Decode,
    /// The CRD's OpenAPI schema (enums, required fields).
    Schema,
    /// Kyverno's `validate-policy.kyverno.svc` webhook.
    Webhook,
}

/// A policy the cluster would refuse: the stage that refuses it and every issue found at
/// that stage, in Kyverno's order. `Display` gives the text the API server returns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct PolicyError {
    /// `ClusterPolicy` or `Policy`.
    pub kind: String,
    pub name: String,
    pub stage: Stage,
    pub issues: Vec<FieldIssue>,
}

impl PolicyError {
    /// The text the API server returns for this refusal (kubectl prefixes it with
    /// `Error from server (...): `). Webhook texts are code-derived.
    pub fn message(&self) -> String {
        match self.stage {
            Stage::Decode => format!(
                "{kind} in version \"v1\" cannot be handled as a {kind}: strict decoding error: {}",
                self.issue_list(", "),
                kind = self.kind
            ),
            Stage::Schema => format!(
                "{}.kyverno.io {} is invalid: {}",
                self.kind,
                go_quote(&self.name),
                self.aggregate()
            ),
            Stage::Webhook => format!(
                "admission webhook \"validate-policy.kyverno.svc\" denied the request: {}",
                self.aggregate()
            ),
        }
    }

    /// apimachinery's aggregate: one error as is, several deduplicated in `[a, b]`.
    pub fn aggregate(&self) -> String {
        let mut seen: Vec<String> = Vec::new();
        for issue in &self.issues {
            let text = issue.to_string();
            if !seen.contains(&text) {
                seen.push(text);
            }
        }
        match seen.len() {
            1 => seen.remove(0),
            _ => format!("[{}]", seen.join(", ")),
        }
    }

    fn issue_list(&self, sep: &str) -> String {
        self.issues
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(sep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exclude_loc() -> Location {
        Location::root()
            .key("spec")
            .key("rules")
            .index(0)
            .json_key("validate")
            .key("podSecurity")
            .key("exclude")
            .index(0)
    }

    #[test]
    fn renders_apimachinery_field_errors() {
        let values = FieldIssue::new(
            exclude_loc().key("values"),
            IssueKind::Forbidden {
                detail: "values is required".into(),
            },
        );
        assert_eq!(
            values.to_string(),
            "spec.rules[0].podSecurity.exclude[0].values: Forbidden: values is required"
        );
        assert_eq!(
            values.location.json,
            vec![
                PathSegment::Key("spec".into()),
                PathSegment::Key("rules".into()),
                PathSegment::Index(0),
                PathSegment::Key("validate".into()),
                PathSegment::Key("podSecurity".into()),
                PathSegment::Key("exclude".into()),
                PathSegment::Index(0),
                PathSegment::Key("values".into()),
            ]
        );
        let dummy = Location {
            json: vec![],
            field: "dummy".into(),
        };
        let invalid = FieldIssue::new(
            dummy
                .key("podSecurity")
                .key("exclude")
                .index(0)
                .key("controlName"),
            IssueKind::Invalid {
                value: "Running as Non-root".into(),
                detail: "Invalid control name defined at the given level".into(),
            },
        );
        assert_eq!(
            invalid.to_string(),
            "dummy.podSecurity.exclude[0].controlName: Invalid value: \"Running as Non-root\": \
             Invalid control name defined at the given level"
        );
    }

    #[test]
    fn renders_schema_and_webhook_envelopes() {
        let level = FieldIssue::new(
            Location::root()
                .key("spec")
                .key("rules")
                .index(0)
                .key("validate")
                .key("podSecurity")
                .key("level"),
            IssueKind::NotSupported {
                value: "strict".into(),
                supported: vec!["privileged".into(), "baseline".into(), "restricted".into()],
            },
        );
        let err = PolicyError {
            kind: "ClusterPolicy".into(),
            name: "p".into(),
            stage: Stage::Schema,
            issues: vec![level],
        };
        assert_eq!(
            err.to_string(),
            "ClusterPolicy.kyverno.io \"p\" is invalid: spec.rules[0].validate.podSecurity.level: \
             Unsupported value: \"strict\": supported values: \"privileged\", \"baseline\", \
             \"restricted\""
        );
        let required = FieldIssue::new(Location::root().key("a"), IssueKind::Required);
        let two = PolicyError {
            kind: "Policy".into(),
            name: "p".into(),
            stage: Stage::Webhook,
            issues: vec![
                required.clone(),
                required.clone(),
                FieldIssue::new(Location::root().key("b"), IssueKind::Required),
            ],
        };
        assert_eq!(
            two.to_string(),
            "admission webhook \"validate-policy.kyverno.svc\" denied the request: \
             [a: Required value, b: Required value]"
        );
    }

    #[test]
    fn renders_decode_errors() {
        let unknown = FieldIssue::new(
            Location::root().key("spec").key("x"),
            IssueKind::UnknownField,
        );
        let err = PolicyError {
            kind: "ClusterPolicy".into(),
            name: "p".into(),
            stage: Stage::Decode,
            issues: vec![unknown],
        };
        assert_eq!(
            err.to_string(),
            "ClusterPolicy in version \"v1\" cannot be handled as a ClusterPolicy: \
             strict decoding error: unknown field \"spec.x\""
        );
        let wrong = FieldIssue::new(
            Location::root().key("lvl"),
            IssueKind::WrongType {
                expected: "string",
                got: "integer",
            },
        );
        assert_eq!(
            wrong.to_string(),
            "lvl: Invalid value: \"integer\": lvl in body must be of type string: \"integer\""
        );
    }
}
