//! Test helpers for the admission model: a fake clock, label and object builders, and the
//! fake evaluator of upstream's namespace tests.

use std::cell::Cell;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Value, json};

use super::namespace_policy::{LABEL_PREFIX, Labels};
use super::request::Object;
use super::tightening::Clock;
use crate::policy::LevelVersion;
use crate::workload::Workload;

/// A clock that moves only when told to.
#[derive(Default)]
pub(crate) struct FakeClock(pub Cell<Duration>);

impl FakeClock {
    pub fn advance(&self, by: Duration) {
        self.0.set(self.0.get() + by);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Duration {
        self.0.get()
    }
}

/// Labels from `(suffix, value)` pairs under `pod-security.kubernetes.io/`.
pub(crate) fn psa_labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (format!("{LABEL_PREFIX}{k}"), (*v).to_owned()))
        .collect()
}

pub(crate) fn lv(s: &str) -> LevelVersion {
    s.parse().unwrap()
}

/// A Pod named `name` with the given spec.
pub(crate) fn pod_value(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec})
}

pub(crate) fn workload(value: Value) -> Workload {
    Workload::from_value(value).unwrap()
}

pub(crate) fn object(value: Value) -> Object {
    workload(value).into()
}

pub(crate) fn pod(value: Value) -> Pod {
    serde_json::from_value(value).unwrap()
}

/// A Deployment whose template is `spec`.
pub(crate) fn deployment_value(name: &str, spec: Value) -> Value {
    let template = json!({"metadata": {"labels": {"app": name}}, "spec": spec});
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
           "spec": {"selector": {}, "template": template}})
}

/// Upstream's fake evaluator: a pod fails with the reason list in its `error` annotation.
pub(crate) fn annotation_reasons(
    _: &LevelVersion,
    meta: &ObjectMeta,
    _: &PodSpec,
) -> Option<String> {
    meta.annotations
        .as_ref()?
        .get("error")
        .filter(|e| !e.is_empty())
        .cloned()
}
