//! End-to-end tests of the admission model: the exact texts of §3.2–§3.8, the flows of
//! §4.3–§4.7, and edge cases E1–E3 and E24–E30 of the specification.

mod edge_cases;
mod equivalence;
mod errors_and_flows;
mod messages;
mod namespace_warnings;

pub(super) use std::time::Duration;

pub(super) use serde_json::{Value, json};

pub(super) use super::test_support::{
    FakeClock, annotation_reasons, deployment_value, lv, object, pod, pod_value, psa_labels,
    workload,
};
pub(super) use super::*;
use crate::evaluator::Evaluator;
pub(super) use crate::messages::{forbidden_message, violation_warning};
pub(super) use crate::workload::Kind;

pub(super) const PRIVILEGED_DETAIL: &str =
    "privileged (container \"c\" must not set securityContext.privileged=true)";

pub(super) fn admission() -> Admission<'static> {
    Admission::new(AdmissionConfig::default())
}

pub(super) fn exempting(exemptions: Exemptions) -> Admission<'static> {
    Admission::new(AdmissionConfig {
        exemptions,
        ..AdmissionConfig::default()
    })
}

pub(super) fn privileged_spec() -> Value {
    json!({"containers": [
        {"name": "c", "image": "nginx", "securityContext": {"privileged": true}}
    ]})
}

pub(super) fn plain_spec() -> Value {
    json!({"containers": [{"name": "c", "image": "nginx"}]})
}

/// A CREATE of pod `name` with `spec` in namespace `ns` labelled `labels`.
pub(super) fn pod_create(name: &str, spec: Value, labels: &[(&str, &str)]) -> Request {
    Request::create_workload(workload(pod_value(name, spec)), "ns", psa_labels(labels))
}

pub(super) fn deployment_create(spec: Value, labels: &[(&str, &str)]) -> Request {
    Request::create_workload(
        workload(deployment_value("d", spec)),
        "ns",
        psa_labels(labels),
    )
}

pub(super) fn ns_object(name: &str, labels: &[(&str, &str)]) -> NamespaceObject {
    NamespaceObject {
        name: name.into(),
        labels: psa_labels(labels),
    }
}

pub(super) fn keys(r: &Response) -> Vec<&str> {
    r.audit_annotations.keys().map(String::as_str).collect()
}

pub(super) fn status(r: &Response) -> (u16, &str, &str) {
    let s = r.status.as_ref().expect("a refused response has a status");
    (s.code, s.reason.as_str(), s.message.as_str())
}

pub(super) fn detail_at(level_version: &str, spec: Value) -> String {
    let lv = lv(level_version);
    let w = workload(pod_value("x", spec));
    let t = w.pod_template().unwrap();
    Evaluator::standard()
        .evaluate(lv.level, lv.version, t.metadata, t.spec)
        .detail()
}

/// The denial of pod `p`: `pods "p" is forbidden: violates PodSecurity "<policy>": <detail>`.
pub(super) fn denial(policy: &str, detail: &str) -> String {
    format!("pods \"p\" is forbidden: violates PodSecurity \"{policy}\": {detail}")
}
