//! `pss-harness check`: evaluate every object of YAML/JSON streams at one policy, as the
//! API server would (defaulting first, unless raw). One record per non-empty document.

use std::collections::BTreeMap;
use std::path::Path;

use pss::{Defaulting, LevelVersion, Workload, WorkloadError};
use serde::Serialize;

use crate::error::LocatedError;
use crate::manifest::Source;
use crate::yaml::{self, Node};

/// One failing check of an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    pub reason: String,
    pub detail: String,
}

/// Why a document could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocError {
    pub message: String,
    pub line: u32,
    pub column: u32,
    /// A kind PSA does not evaluate (e.g. a Service): reported, but not an input error.
    #[serde(skip)]
    pub unsupported: bool,
}

/// The verdict on one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    pub file: String,
    /// 0-based index among the file's non-empty documents.
    pub doc: usize,
    /// For a `kind: List` document (as `kubectl get -o yaml` prints), the item's index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<usize>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub policy: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results: Option<Vec<CheckResult>>,
    /// Pods: the forbidden message; controllers: the `would violate` warning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<DocError>,
    /// Admission mode ([`crate::check_admission`]): the request's namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Admission mode: the refusal's status (code and reason), when refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<CheckStatus>,
    /// Admission mode: every warning of the response, in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
    /// Admission mode: the audit annotations (keys without the `pod-security.kubernetes.io/`
    /// prefix).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_annotations: Option<BTreeMap<String, String>>,
}

/// A refusal's HTTP code and apimachinery reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckStatus {
    pub code: u16,
    pub reason: String,
}

/// Evaluate every object of one file's text. A YAML syntax error fails the whole file.
pub fn check_text(
    file: &Path,
    text: &str,
    policy: LevelVersion,
    raw: bool,
) -> Result<Vec<Record>, LocatedError> {
    let label = file.display().to_string();
    let mut records = Vec::new();
    for_each_object(file, text, |obj| {
        let mut record = check_doc(&label, obj.doc, obj.node, policy, raw);
        record.item = obj.item;
        records.push(record);
    })?;
    Ok(records)
}

/// One object of a checked file.
pub(crate) struct FileObject<'a> {
    /// 0-based index among the file's non-empty documents.
    pub doc: usize,
    /// For an item of a `kind: List` document, its index.
    pub item: Option<usize>,
    pub node: &'a Node,
}

/// Parse a file's text and hand each object to `visit`, in order; the items of a
/// `kind: List` document (as `kubectl get -o yaml` prints) one by one. A YAML syntax error
/// fails the whole file.
pub(crate) fn for_each_object(
    file: &Path,
    text: &str,
    mut visit: impl FnMut(FileObject<'_>),
) -> Result<(), LocatedError> {
    let docs = yaml::parse_documents(text)
        .map_err(|e| LocatedError::from_yaml(file, &Source::new(file, text).text, &e))?;
    for (doc, node) in docs.iter().filter(|d| !d.is_null()).enumerate() {
        match list_items(node) {
            Some(items) => items.iter().enumerate().for_each(|(i, item)| {
                visit(FileObject {
                    doc,
                    item: Some(i),
                    node: item,
                })
            }),
            None => visit(FileObject {
                doc,
                item: None,
                node,
            }),
        }
    }
    Ok(())
}

/// An object's `kind` and `metadata.name`, when they are strings.
pub(crate) fn kind_and_name(node: &Node) -> (Option<String>, Option<String>) {
    let kind = node.get("kind").and_then(Node::as_str).map(str::to_owned);
    let name = node
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Node::as_str)
        .map(str::to_owned);
    (kind, name)
}

/// The items of a `kind: List` document.
pub(crate) fn list_items(node: &Node) -> Option<&[Node]> {
    if node.get("kind").and_then(Node::as_str) != Some("List") {
        return None;
    }
    match &node.get("items")?.value {
        yaml::Value::Seq(items) => Some(items),
        _ => None,
    }
}

/// A record for a document, with its kind and name and nothing decided yet.
pub(crate) fn base_record(file: &str, doc: usize, node: &Node, policy: String) -> Record {
    let (kind, name) = kind_and_name(node);
    Record {
        file: file.to_owned(),
        doc,
        item: None,
        kind,
        name,
        policy,
        allowed: None,
        results: None,
        message: None,
        error: None,
        namespace: None,
        status: None,
        warnings: None,
        audit_annotations: None,
    }
}

/// Why a document is not an object the checker evaluates, located at its `kind` for kind
/// problems.
pub(crate) fn doc_error(node: &Node, e: &WorkloadError) -> DocError {
    // A wrong type somewhere in the object: read it again, located, to say where.
    if let WorkloadError::Invalid { kind, .. } = e
        && let Some(located) = crate::manifest::locate_invalid(*kind, node)
        && let Some(at) = located.loc
    {
        return DocError {
            message: format!("invalid {kind}: {}", located.message),
            line: at.line,
            column: at.column,
            unsupported: false,
        };
    }
    if let WorkloadError::Json(_) = e
        && let Some(error) = type_meta_error(node)
    {
        return error;
    }
    let unsupported = matches!(e, WorkloadError::UnsupportedKind { .. });
    let at = match e {
        WorkloadError::UnsupportedKind { .. } | WorkloadError::WrongApiVersion { .. } => {
            node.get("kind").map_or(node.loc, |k| k.loc)
        }
        _ => node.loc,
    };
    DocError {
        message: e.to_string(),
        line: at.line,
        column: at.column,
        unsupported,
    }
}

/// Why `apiVersion` and `kind` could not be read: the document is no mapping, or one of
/// them is no string (located there).
fn type_meta_error(node: &Node) -> Option<DocError> {
    let error = |at: &Node, message: String| DocError {
        message,
        line: at.loc.line,
        column: at.loc.column,
        unsupported: false,
    };
    if !matches!(node.value, yaml::Value::Map(_)) {
        let message = format!("a manifest must be a mapping, found {}", node.type_name());
        return Some(error(node, message));
    }
    ["apiVersion", "kind"].into_iter().find_map(|field| {
        let value = node
            .get(field)
            .filter(|v| v.as_str().is_none() && !v.is_null())?;
        let message = format!("`{field}` must be a string, found {}", value.type_name());
        Some(error(value, message))
    })
}

fn check_doc(file: &str, doc: usize, node: &Node, policy: LevelVersion, raw: bool) -> Record {
    let mut record = base_record(file, doc, node, policy.to_string());
    match Workload::from_value(node.to_json()) {
        Ok(mut workload) => {
            if !raw {
                Defaulting::API_SERVER.apply(&mut workload);
            }
            let verdict = pss::evaluate(&workload, policy);
            record.allowed = Some(verdict.allowed());
            record.results = Some(
                verdict
                    .evaluation
                    .failures
                    .iter()
                    .map(|f| CheckResult {
                        reason: f.forbidden.reason.to_owned(),
                        detail: f.forbidden.detail.clone(),
                    })
                    .collect(),
            );
            record.message = verdict.message;
        }
        Err(e) => record.error = Some(doc_error(node, &e)),
    }
    record
}

/// The exit code for a set of records: 2 if a document could not be evaluated (other than
/// an unsupported kind), else 1 if an object is denied or would violate (in admission mode:
/// has a `would violate` warning), else 0.
pub fn exit_code(records: &[Record]) -> u8 {
    if records
        .iter()
        .any(|r| r.error.as_ref().is_some_and(|e| !e.unsupported))
    {
        return 2;
    }
    let violates = |r: &Record| {
        r.allowed == Some(false)
            || r.warnings
                .iter()
                .flatten()
                .any(|w| w.starts_with(crate::judge::WOULD_VIOLATE))
    };
    u8::from(records.iter().any(violates))
}

/// One line per record: `file#doc Kind/name: allowed | denied: message | error`.
pub fn human_line(r: &Record) -> String {
    let item = r.item.map_or_else(String::new, |i| format!(".{i}"));
    let what = format!(
        "{}#{}{item} {}/{}",
        r.file,
        r.doc,
        r.kind.as_deref().unwrap_or("?"),
        r.name.as_deref().unwrap_or("")
    );
    if r.error.is_none()
        && let Some(warnings) = &r.warnings
    {
        return admission_lines(&what, r, warnings);
    }
    match (&r.error, r.allowed, &r.message) {
        (Some(e), _, _) if e.unsupported => {
            format!("{what}: skipped ({}:{}: {})", e.line, e.column, e.message)
        }
        (Some(e), _, _) => format!("{what}: error at {}:{}: {}", e.line, e.column, e.message),
        (None, Some(false), Some(m)) => format!(
            "{what}: {}: {m}",
            if r.kind.as_deref() == Some("Pod") {
                "denied"
            } else {
                "warning"
            }
        ),
        _ => format!("{what}: allowed at {}", r.policy),
    }
}

/// An admission-mode record: the decision (with the status and message when refused),
/// then one indented line per warning and per audit annotation.
fn admission_lines(what: &str, r: &Record, warnings: &[String]) -> String {
    let mut out = match (&r.status, &r.message, r.allowed) {
        (Some(s), Some(m), _) => format!("{what}: denied ({} {}): {m}", s.code, s.reason),
        (_, _, Some(false)) => format!("{what}: denied"),
        _ => format!("{what}: allowed"),
    };
    for w in warnings {
        out.push_str(&format!("\n  warning: {w}"));
    }
    for (k, v) in r.audit_annotations.iter().flatten() {
        out.push_str(&format!("\n  audit {k}: {v}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = "\
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: c, securityContext: {privileged: true}}]
---
---
{\"apiVersion\": \"apps/v1\", \"kind\": \"Deployment\", \"metadata\": {\"name\": \"d\"},
 \"spec\": {\"selector\": {}, \"template\": {\"spec\": {\"containers\": [{\"name\": \"c\"}]}}}}
---
apiVersion: v1
kind: Service
metadata: {name: s}
";

    #[test]
    fn list_documents_yield_one_record_per_item() {
        let list = "apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Pod, metadata: {name: a}, spec: {containers: [{name: c}]}}
- {apiVersion: v1, kind: Pod, metadata: {name: b}, spec: {hostPID: true, containers: [{name: c}]}}
";
        let policy: LevelVersion = "baseline:latest".parse().unwrap();
        let records = check_text(Path::new("l.yaml"), list, policy, false).unwrap();
        let summary: Vec<_> = records.iter().map(|r| (r.doc, r.item, r.allowed)).collect();
        assert_eq!(
            summary,
            [(0, Some(0), Some(true)), (0, Some(1), Some(false))]
        );
        assert!(human_line(&records[1]).starts_with("l.yaml#0.1 Pod/b: denied: "));
    }

    #[test]
    fn one_record_per_non_empty_document() {
        let policy: LevelVersion = "baseline:latest".parse().unwrap();
        let records = check_text(Path::new("m.yaml"), STREAM, policy, false).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(records[0].allowed, Some(false));
        assert_eq!(records[0].results.as_ref().unwrap()[0].reason, "privileged");
        assert!(
            records[0]
                .message
                .as_deref()
                .unwrap()
                .starts_with("pods \"p\" is forbidden")
        );
        assert_eq!(
            (
                records[1].doc,
                records[1].allowed,
                records[1].message.as_deref()
            ),
            (1, Some(true), None)
        );
        let err = records[2].error.as_ref().unwrap();
        assert!(
            err.unsupported && err.line == 12 && err.column == 7,
            "{err:?}"
        );
        assert_eq!(exit_code(&records), 1);
        assert_eq!(exit_code(&records[1..]), 0);
        let json = serde_json::to_value(&records[1]).unwrap();
        assert!(json.get("message").is_none() && json.get("error").is_none());
        assert_eq!(
            human_line(&records[1]),
            "m.yaml#1 Deployment/d: allowed at baseline:latest"
        );
    }
}
