//! Helpers for unit tests of checks.

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::CheckId;
use crate::result::{CheckOptions, FieldError};

/// A pod's metadata and spec, as checks take them.
pub struct TestPod {
    pub meta: ObjectMeta,
    pub spec: PodSpec,
}

/// A pod from a JSON spec (panics on bad test data).
pub fn pod(spec: serde_json::Value) -> TestPod {
    pod_with_meta(serde_json::json!({}), spec)
}

/// A pod from JSON metadata and spec. A spec without `containers` gets an empty list.
pub fn pod_with_meta(meta: serde_json::Value, mut spec: serde_json::Value) -> TestPod {
    if spec.get("containers").is_none() {
        spec["containers"] = serde_json::json!([]);
    }
    TestPod {
        meta: serde_json::from_value(meta).expect("test metadata"),
        spec: serde_json::from_value(spec).expect("test spec"),
    }
}

/// Run the entry of `check` upstream applies at `v1.<minor>` and render `reason (detail)`
/// as it appears in the aggregated message. `None` when allowed or not yet defined.
pub fn check_detail(check: CheckId, minor: u32, pod: &TestPod) -> Option<String> {
    let entry = check.entry_at(minor)?;
    let f = (entry.check)(&pod.meta, &pod.spec, CheckOptions::default())?;
    Some(if f.detail.is_empty() {
        f.reason.to_owned()
    } else {
        format!("{} ({})", f.reason, f.detail)
    })
}

/// The field errors of the entry at `v1.<minor>` (empty when allowed).
pub fn check_field_errors(check: CheckId, minor: u32, pod: &TestPod) -> Vec<FieldError> {
    let Some(entry) = check.entry_at(minor) else {
        return Vec::new();
    };
    (entry.check)(&pod.meta, &pod.spec, CheckOptions { field_errors: true })
        .map(|f| f.field_errors)
        .unwrap_or_default()
}
