//! `pss-harness check --profile kyverno@<line> --policy FILE...`: evaluate every object of
//! YAML/JSON streams with Kyverno policies, as Kyverno's validating webhook would after
//! API-server defaulting (unless raw). One record per document and evaluated rule (one
//! with no rule when none applies); a blocking failure carries Kyverno's denial and the
//! API server's text.

use std::path::Path;

use kyverno::{FailureAction, KyvernoLine, KyvernoResponse, RuleResult, RuleStatus};
use pss::{Defaulting, Workload, WorkloadError};
use serde::Serialize;

use crate::check::{self, DocError};
use crate::error::LocatedError;
use crate::policy::PolicySet;
use crate::target::kyverno::evaluate_object;
use crate::yaml::Node;

/// How to evaluate: the line, the policies, defaulting, and the namespace objects without
/// one are created in.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    pub line: KyvernoLine,
    pub policies: &'a PolicySet,
    pub raw: bool,
    pub namespace: &'a str,
}

/// One evaluated rule of one document (or the document alone when no rule applies or it
/// cannot be evaluated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    pub file: String,
    /// 0-based index among the file's non-empty documents.
    pub doc: usize,
    /// For a `kind: List` document, the item's index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<usize>,
    pub kind: Option<String>,
    pub name: Option<String>,
    /// `kyverno@v1.19`.
    pub profile: String,
    /// The policy and the evaluated rule name (`autogen-baseline` for a Deployment).
    pub policy: Option<String>,
    pub rule: Option<String>,
    /// `pass`, `fail`, `skip` or `error`.
    pub status: Option<String>,
    pub rule_message: Option<String>,
    /// `Enforce` or `Audit`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The document's admission decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<bool>,
    /// For a rule whose failure blocks the request: Kyverno's AdmissionResponse message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denial: Option<String>,
    /// For a rule whose failure blocks the request: the API server's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apiserver_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<DocError>,
}

/// Evaluate every object of one file's text. A YAML syntax error fails the whole file.
pub fn check_text(file: &Path, text: &str, opts: Options<'_>) -> Result<Vec<Record>, LocatedError> {
    let label = file.display().to_string();
    let mut records = Vec::new();
    check::for_each_object(file, text, |obj| {
        let base = Record::base(&label, obj.doc, obj.item, obj.node, opts.line);
        records.extend(check_doc(base, obj.node, opts));
    })?;
    Ok(records)
}

impl Record {
    fn base(file: &str, doc: usize, item: Option<usize>, node: &Node, line: KyvernoLine) -> Record {
        let (kind, name) = check::kind_and_name(node);
        Record {
            file: file.to_owned(),
            doc,
            item,
            kind,
            name,
            profile: format!("kyverno@{line}"),
            policy: None,
            rule: None,
            status: None,
            rule_message: None,
            action: None,
            allowed: None,
            denial: None,
            apiserver_text: None,
            error: None,
        }
    }
}

/// The records of one object: one per evaluated rule, or the object alone.
fn check_doc(base: Record, node: &Node, opts: Options<'_>) -> Vec<Record> {
    let mut workload = match Workload::from_value(node.to_json()) {
        Ok(w) => w,
        Err(e) => return vec![with_error(base, node, &e)],
    };
    if !opts.raw {
        Defaulting::API_SERVER.apply(&mut workload);
    }
    let namespace = workload.namespace().unwrap_or(opts.namespace).to_owned();
    let response = evaluate_object(opts.line, opts.policies, &workload, &namespace);
    if response.rules.is_empty() {
        return vec![Record {
            allowed: Some(response.allowed),
            ..base
        }];
    }
    response
        .rules
        .iter()
        .map(|rule| rule_record(&base, rule, &response))
        .collect()
}

fn rule_record(base: &Record, rule: &RuleResult, response: &KyvernoResponse) -> Record {
    let blocking = !response.allowed && blocks(rule);
    Record {
        policy: Some(rule.policy.clone()),
        rule: Some(rule.rule.clone()),
        status: Some(rule.status.as_str().to_owned()),
        rule_message: Some(rule.message.clone()),
        action: Some(rule.action.as_str().to_owned()),
        allowed: Some(response.allowed),
        denial: response.denial_message.clone().filter(|_| blocking),
        apiserver_text: response.apiserver_text.clone().filter(|_| blocking),
        ..base.clone()
    }
}

/// A failure of an Enforce rule, or an error: what a denial is made of.
fn blocks(rule: &RuleResult) -> bool {
    match rule.status {
        RuleStatus::Fail => rule.action == FailureAction::Enforce,
        RuleStatus::Error => true,
        RuleStatus::Pass | RuleStatus::Skip => false,
    }
}

fn with_error(base: Record, node: &Node, e: &WorkloadError) -> Record {
    let unsupported = matches!(e, WorkloadError::UnsupportedKind { .. });
    let at = match e {
        WorkloadError::UnsupportedKind { .. } | WorkloadError::WrongApiVersion { .. } => {
            node.get("kind").map_or(node.loc, |k| k.loc)
        }
        _ => node.loc,
    };
    Record {
        error: Some(DocError {
            message: e.to_string(),
            line: at.line,
            column: at.column,
            unsupported,
        }),
        ..base
    }
}

/// 2 if a document could not be evaluated (other than an unsupported kind), else 1 if an
/// object is denied, else 0.
pub fn exit_code(records: &[Record]) -> u8 {
    if records
        .iter()
        .any(|r| r.error.as_ref().is_some_and(|e| !e.unsupported))
    {
        return 2;
    }
    u8::from(records.iter().any(|r| r.allowed == Some(false)))
}

/// The human report: one line per record (`file#doc Kind/name policy/rule: status:
/// message`), and after the first blocking rule of a denied object the API server's text,
/// indented.
pub fn human(records: &[Record]) -> String {
    let mut out = String::new();
    for r in records {
        out.push_str(&human_line(r));
        out.push('\n');
        if let Some(text) = &r.apiserver_text {
            out.push_str("  denied: ");
            out.push_str(&text.replace('\n', "\n    "));
            out.push('\n');
        }
    }
    out
}

fn human_line(r: &Record) -> String {
    let item = r.item.map_or_else(String::new, |i| format!(".{i}"));
    let what = format!(
        "{}#{}{item} {}/{}",
        r.file,
        r.doc,
        r.kind.as_deref().unwrap_or("?"),
        r.name.as_deref().unwrap_or("")
    );
    if let Some(e) = &r.error {
        return match e.unsupported {
            true => format!("{what}: skipped ({}:{}: {})", e.line, e.column, e.message),
            false => format!("{what}: error at {}:{}: {}", e.line, e.column, e.message),
        };
    }
    match (&r.policy, &r.rule, &r.status) {
        (Some(policy), Some(rule), Some(status)) => format!(
            "{what} {policy}/{rule}: {status}: {}",
            r.rule_message.as_deref().unwrap_or("").trim_end()
        ),
        _ => format!("{what}: allowed (no rule applies)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = "apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: baseline-policy}
spec:
  validationFailureAction: Enforce
  rules:
  - name: baseline
    match: {any: [{resources: {kinds: [Pod]}}]}
    validate: {podSecurity: {level: baseline, version: latest}}
";

    const STREAM: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: d}}
    spec: {containers: [{name: c, securityContext: {privileged: true}}]}
---
apiVersion: v1
kind: Pod
metadata: {name: ok, namespace: team}
spec: {containers: [{name: c}]}
---
apiVersion: v1
kind: Service
metadata: {name: s}
";

    fn policies() -> PolicySet {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.yaml");
        std::fs::write(&file, POLICY).unwrap();
        PolicySet::load(&[file]).unwrap()
    }

    #[test]
    fn one_record_per_document_and_rule() {
        let set = policies();
        let opts = Options {
            line: KyvernoLine::V1_19,
            policies: &set,
            raw: false,
            namespace: "default",
        };
        let records = check_text(Path::new("m.yaml"), STREAM, opts).unwrap();
        assert_eq!(records.len(), 3);
        let d = &records[0];
        assert_eq!(
            (d.rule.as_deref(), d.status.as_deref(), d.allowed),
            (Some("autogen-baseline"), Some("fail"), Some(false))
        );
        assert!(
            d.apiserver_text
                .as_deref()
                .unwrap()
                .contains("resource Deployment/default/d was blocked"),
            "{d:?}"
        );
        assert!(d.denial.as_deref().unwrap().starts_with("\n\nresource "));
        let ok = &records[1];
        assert_eq!(
            (
                ok.rule.as_deref(),
                ok.status.as_deref(),
                ok.denial.as_deref()
            ),
            (Some("baseline"), Some("pass"), None)
        );
        assert!(records[2].error.as_ref().unwrap().unsupported);
        assert_eq!(exit_code(&records), 1);
        assert_eq!(exit_code(&records[1..]), 0);
        let text = human(&records);
        assert!(
            text.starts_with(
                "m.yaml#0 Deployment/d baseline-policy/autogen-baseline: fail: Validation rule \
                 'autogen-baseline' failed."
            ),
            "{text}"
        );
        assert!(text.contains("\n  denied: admission webhook \"validate.kyverno.svc-fail\""));
        assert!(text.contains("m.yaml#1 Pod/ok baseline-policy/baseline: pass: "));
    }

    #[test]
    fn no_applicable_rule_gives_one_allowed_record() {
        let set = PolicySet::empty();
        let opts = Options {
            line: KyvernoLine::V1_10,
            policies: &set,
            raw: true,
            namespace: "default",
        };
        let records = check_text(Path::new("m.yaml"), STREAM, opts).unwrap();
        assert_eq!(records[0].allowed, Some(true));
        assert_eq!(records[0].rule, None);
        let json = serde_json::to_value(&records[0]).unwrap();
        assert_eq!(json["profile"], "kyverno@v1.10");
        assert!(json["rule"].is_null() && json.get("denial").is_none());
        assert_eq!(
            human_line(&records[0]),
            "m.yaml#0 Deployment/d: allowed (no rule applies)"
        );
    }
}
