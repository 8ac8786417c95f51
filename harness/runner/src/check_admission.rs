//! `pss-harness check` in admission mode: every object goes through the PSA admission
//! model ([`InProcessPsa`]) as a CREATE in a namespace, instead of being evaluated at one
//! level, so the output is what the API server would answer: the decision, the status, the
//! warnings and the audit annotations, with exemptions from a configuration file.
//!
//! The namespace starts as given on the command line (`--namespace`, `--namespace-labels`).
//! A Namespace document is itself admitted (its labels validated, §3.5, and the exempt
//! warning, §3.7) and then becomes the namespace of the documents after it in the same
//! input, as when a manifest bundle is applied in order. An object's own
//! `metadata.namespace` names the namespace it is sent to; the labels stay those of the
//! current namespace.

use std::collections::BTreeMap;
use std::path::Path;

use pss::admission::{Admission, AdmissionConfig, NamespaceObject};
use pss::{Defaulting, Workload};

use crate::check::{self, CheckResult, CheckStatus, DocError, Record};
use crate::error::LocatedError;
use crate::manifest::Source;
use crate::namespace_case;
use crate::target::psa::InProcessPsa;
use crate::target::{AdmissionRequest, NamespaceRequest, Outcome};
use crate::yaml::{self, Node};

/// The fixed inputs of an admission-mode check.
#[derive(Debug, Clone, Default)]
pub struct AdmissionCheck {
    pub config: AdmissionConfig,
    /// The namespace of each input until a Namespace document replaces it.
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    pub user: Option<String>,
    /// Evaluate as written, without API-server defaulting.
    pub raw: bool,
}

/// The namespace the next object is sent to.
struct Current {
    name: String,
    labels: BTreeMap<String, String>,
}

/// Admit every object of one file's text. A YAML syntax error fails the whole file.
pub fn check_text(
    file: &Path,
    text: &str,
    opts: &AdmissionCheck,
) -> Result<Vec<Record>, LocatedError> {
    let src = Source::new(file, text);
    let label = file.display().to_string();
    let mut current = Current {
        name: opts.namespace.clone(),
        labels: opts.labels.clone(),
    };
    let mut records = Vec::new();
    check::for_each_object(file, text, |obj| {
        let mut record = check_node(&src, &label, obj.doc, obj.node, opts, &mut current);
        record.item = obj.item;
        records.push(record);
    })?;
    Ok(records)
}

/// Whether a text holds a Namespace document (which puts `check` in admission mode).
/// Unparsable text holds none; the check itself reports the syntax error.
pub fn has_namespace(text: &str) -> bool {
    // Most inputs never spell the kind: skip the second parse of every `check` input
    // (which, for a hostile input, doubled the time to its error).
    if !text.contains("Namespace") {
        return false;
    }
    let Ok(docs) = yaml::parse_documents(text) else {
        return false;
    };
    docs.iter().any(|d| {
        namespace_case::is_namespace(d)
            || check::list_items(d)
                .is_some_and(|items| items.iter().any(namespace_case::is_namespace))
    })
}

/// Parse `k=v,k2=v2` namespace labels. Keys without a `/` get PSA's
/// `pod-security.kubernetes.io/` prefix, so `enforce=baseline` works; an empty string
/// means no labels.
pub fn parse_labels(s: &str) -> Result<BTreeMap<String, String>, String> {
    let mut labels = BTreeMap::new();
    for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("expected key=value, found {pair:?}"))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(format!("empty label key in {pair:?}"));
        }
        let key = match key.contains('/') {
            true => key.to_owned(),
            false => format!("{}{key}", crate::target::psa::LABEL_PREFIX),
        };
        labels.insert(key, value.trim().to_owned());
    }
    Ok(labels)
}

fn check_node(
    src: &Source,
    file: &str,
    doc: usize,
    node: &Node,
    opts: &AdmissionCheck,
    current: &mut Current,
) -> Record {
    if namespace_case::is_namespace(node) {
        return check_namespace(src, file, doc, node, opts, current);
    }
    let mut record = check::base_record(file, doc, node, String::new());
    let workload = match Workload::from_value(node.to_json()) {
        Ok(w) => w,
        Err(e) => {
            record.error = Some(check::doc_error(node, &e));
            return record;
        }
    };
    let namespace = workload
        .namespace()
        .map_or_else(|| current.name.clone(), str::to_owned);
    let mut request = AdmissionRequest::create(&workload, &namespace, &current.labels);
    request.user = opts.user.as_deref();
    request.admission_config = Some(&opts.config);
    request.defaulting = match opts.raw {
        true => Defaulting::NONE,
        false => Defaulting::API_SERVER,
    };
    let outcome = InProcessPsa::default().answer(&request);
    record.policy = enforce_policy(opts, &current.labels);
    fill(&mut record, namespace, outcome);
    record
}

/// A Namespace document: admitted as a CREATE, then the namespace of what follows.
fn check_namespace(
    src: &Source,
    file: &str,
    doc: usize,
    node: &Node,
    opts: &AdmissionCheck,
    current: &mut Current,
) -> Record {
    let mut record = check::base_record(file, doc, node, String::new());
    let ns = match namespace_case::namespace_object(src, node) {
        Ok(ns) => ns,
        Err(e) => {
            record.error = Some(DocError {
                message: e.message.clone(),
                line: e.loc.line,
                column: e.loc.column,
                unsupported: false,
            });
            return record;
        }
    };
    let outcome = admit_namespace(opts, &ns);
    record.policy = enforce_policy(opts, &ns.labels);
    current.name.clone_from(&ns.name);
    current.labels.clone_from(&ns.labels);
    fill(&mut record, ns.name, outcome);
    record
}

fn admit_namespace(opts: &AdmissionCheck, ns: &NamespaceObject) -> Outcome {
    let change = NamespaceRequest {
        object: ns.clone(),
        old: None,
        existing_pods: Vec::new(),
    };
    let placeholder = namespace_case::placeholder(&ns.name);
    let mut request = AdmissionRequest::create(&placeholder, &ns.name, &ns.labels);
    request.user = opts.user.as_deref();
    request.admission_config = Some(&opts.config);
    request.namespace_request = Some(&change);
    InProcessPsa::default().answer(&request)
}

/// The enforce level-version the namespace's labels give under the configuration.
fn enforce_policy(opts: &AdmissionCheck, labels: &BTreeMap<String, String>) -> String {
    let admission = Admission::new(opts.config.clone());
    admission.policy_for(labels).policy.enforce.to_string()
}

/// Copy an outcome into a record: the decision, the failing checks, the message (the
/// refusal, else the first policy warning), the status, warnings and annotations.
fn fill(record: &mut Record, namespace: String, outcome: Outcome) {
    record.namespace = Some(namespace);
    record.allowed = Some(outcome.allowed);
    record.results = Some(
        outcome
            .violations
            .iter()
            .map(|v| CheckResult {
                reason: v.reason.clone(),
                detail: v.detail.clone(),
            })
            .collect(),
    );
    record.message = crate::judge::subject_message(&outcome).map(str::to_owned);
    record.status = outcome.status.map(|s| CheckStatus {
        code: s.code,
        reason: s.reason,
    });
    record.warnings = Some(outcome.warnings);
    record.audit_annotations = Some(outcome.audit_annotations);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse_with_the_psa_prefix_by_default() {
        let labels = parse_labels("enforce=baseline, warn=restricted,team=a,x.io/y=z").unwrap();
        assert_eq!(
            labels,
            BTreeMap::from([
                (
                    "pod-security.kubernetes.io/enforce".to_owned(),
                    "baseline".to_owned()
                ),
                ("pod-security.kubernetes.io/team".to_owned(), "a".to_owned()),
                (
                    "pod-security.kubernetes.io/warn".to_owned(),
                    "restricted".to_owned()
                ),
                ("x.io/y".to_owned(), "z".to_owned()),
            ])
        );
        assert!(parse_labels("").unwrap().is_empty());
        assert_eq!(
            parse_labels("enforce").unwrap_err(),
            "expected key=value, found \"enforce\""
        );
        assert!(parse_labels("=x").is_err());
    }

    const STREAM: &str = "apiVersion: v1
kind: Pod
metadata: {name: before}
spec: {containers: [{name: c, securityContext: {privileged: true}}]}
---
apiVersion: v1
kind: Namespace
metadata: {name: team-a, labels: {pod-security.kubernetes.io/enforce: baseline}}
---
apiVersion: v1
kind: Pod
metadata: {name: after}
spec: {containers: [{name: c, securityContext: {privileged: true}}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  selector: {}
  template: {spec: {containers: [{name: c, securityContext: {privileged: true}}]}}
";

    #[test]
    fn a_namespace_document_applies_to_the_documents_after_it() {
        assert!(has_namespace(STREAM));
        assert!(!has_namespace("apiVersion: v1\nkind: Pod\n"));
        let opts = AdmissionCheck {
            namespace: "default".into(),
            ..AdmissionCheck::default()
        };
        let records = check_text(Path::new("s.yaml"), STREAM, &opts).unwrap();
        let summary: Vec<_> = records
            .iter()
            .map(|r| {
                (
                    r.name.as_deref(),
                    r.namespace.as_deref(),
                    r.allowed,
                    r.policy.as_str(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    Some("before"),
                    Some("default"),
                    Some(true),
                    "privileged:latest"
                ),
                (
                    Some("team-a"),
                    Some("team-a"),
                    Some(true),
                    "baseline:latest"
                ),
                (
                    Some("after"),
                    Some("team-a"),
                    Some(false),
                    "baseline:latest"
                ),
                (Some("d"), Some("team-a"), Some(true), "baseline:latest"),
            ]
        );
        let detail = "privileged (container \"c\" must not set securityContext.privileged=true)";
        assert_eq!(
            records[3].warnings.as_deref(),
            Some(
                &[format!(
                    "would violate PodSecurity \"baseline:latest\": {detail}"
                )][..]
            )
        );
        assert_eq!(records[2].status.as_ref().map(|s| s.code), Some(403));
        assert_eq!(
            check::human_line(&records[2]),
            format!(
                "s.yaml#2 Pod/after: denied (403 Forbidden): pods \"after\" is forbidden: \
                 violates PodSecurity \"baseline:latest\": {detail}\n  \
                 audit enforce-policy: baseline:latest"
            )
        );
        assert_eq!(
            check::exit_code(&records[3..]),
            1,
            "a warning is a violation"
        );
        assert_eq!(check::exit_code(&records[..2]), 0);
    }

    #[test]
    fn invalid_namespace_documents_are_refused_and_located() {
        let text = "apiVersion: v1
kind: Namespace
metadata: {name: bad, labels: {pod-security.kubernetes.io/enforce: Baseline}}
---
apiVersion: v1
kind: Namespace
metadata: {name: typo, labls: {}}
";
        let records = check_text(Path::new("n.yaml"), text, &AdmissionCheck::default()).unwrap();
        assert_eq!(records[0].allowed, Some(false));
        assert_eq!(
            records[0].status,
            Some(CheckStatus {
                code: 422,
                reason: "Invalid".into()
            })
        );
        let err = records[1].error.as_ref().unwrap();
        assert_eq!((err.line, err.column), (7, 24));
        assert!(err.message.contains("unknown field `labls`"), "{err:?}");
    }
}
