//! The kinds Pod Security evaluates, and where their pod template lives.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Pod, PodSpec, PodTemplate, ReplicationController};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Deserialize;

/// A kind PSA knows: a Pod, or a pod controller whose template it evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Pod,
    PodTemplate,
    ReplicationController,
    ReplicaSet,
    Deployment,
    StatefulSet,
    DaemonSet,
    Job,
    CronJob,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Pod,
        Kind::PodTemplate,
        Kind::ReplicationController,
        Kind::ReplicaSet,
        Kind::Deployment,
        Kind::StatefulSet,
        Kind::DaemonSet,
        Kind::Job,
        Kind::CronJob,
    ];

    /// The pod controllers (every kind but Pod).
    pub const CONTROLLERS: [Kind; 8] = [
        Kind::PodTemplate,
        Kind::ReplicationController,
        Kind::ReplicaSet,
        Kind::Deployment,
        Kind::StatefulSet,
        Kind::DaemonSet,
        Kind::Job,
        Kind::CronJob,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Pod => "Pod",
            Kind::PodTemplate => "PodTemplate",
            Kind::ReplicationController => "ReplicationController",
            Kind::ReplicaSet => "ReplicaSet",
            Kind::Deployment => "Deployment",
            Kind::StatefulSet => "StatefulSet",
            Kind::DaemonSet => "DaemonSet",
            Kind::Job => "Job",
            Kind::CronJob => "CronJob",
        }
    }

    pub fn from_kind(kind: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == kind)
    }

    /// The `apiVersion` these kinds are served at.
    pub fn api_version(self) -> &'static str {
        match self {
            Kind::Pod | Kind::PodTemplate | Kind::ReplicationController => "v1",
            Kind::ReplicaSet | Kind::Deployment | Kind::StatefulSet | Kind::DaemonSet => "apps/v1",
            Kind::Job | Kind::CronJob => "batch/v1",
        }
    }

    /// The plural resource name (`pods`, `deployments`, ...).
    pub fn resource(self) -> &'static str {
        match self {
            Kind::Pod => "pods",
            Kind::PodTemplate => "podtemplates",
            Kind::ReplicationController => "replicationcontrollers",
            Kind::ReplicaSet => "replicasets",
            Kind::Deployment => "deployments",
            Kind::StatefulSet => "statefulsets",
            Kind::DaemonSet => "daemonsets",
            Kind::Job => "jobs",
            Kind::CronJob => "cronjobs",
        }
    }

    pub fn is_pod(self) -> bool {
        self == Kind::Pod
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed object of a kind PSA evaluates.
// The variants are k8s-openapi objects of similar size; boxing them would cost an
// allocation per parse for no gain, since workloads are handled one at a time.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Workload {
    Pod(Pod),
    PodTemplate(PodTemplate),
    ReplicationController(ReplicationController),
    ReplicaSet(ReplicaSet),
    Deployment(Deployment),
    StatefulSet(StatefulSet),
    DaemonSet(DaemonSet),
    Job(Job),
    CronJob(CronJob),
}

/// Why a manifest could not be turned into a [`Workload`].
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    #[error("not valid JSON: {0}")]
    Json(#[source] serde_json::Error),
    #[error("the object has no `kind`")]
    MissingKind,
    #[error("kind {kind:?} (apiVersion {api_version:?}) is not a Pod or pod controller")]
    UnsupportedKind { api_version: String, kind: String },
    #[error("apiVersion {api_version:?} does not serve kind {kind}; expected {expected:?}")]
    WrongApiVersion {
        api_version: String,
        kind: Kind,
        expected: &'static str,
    },
    /// A field with the wrong type or shape, as the API server would reject it.
    #[error("invalid {kind}: {source}")]
    Invalid {
        kind: Kind,
        #[source]
        source: serde_json::Error,
    },
}

#[derive(Deserialize)]
pub(crate) struct TypeMeta {
    #[serde(rename = "apiVersion", default)]
    pub(crate) api_version: Option<String>,
    #[serde(default)]
    pub(crate) kind: Option<String>,
}

/// A borrowed pod template: the metadata and spec PSA evaluates.
#[derive(Debug, Clone, Copy)]
pub struct PodTemplateRef<'a> {
    pub metadata: &'a ObjectMeta,
    pub spec: &'a PodSpec,
}

static EMPTY_META: std::sync::LazyLock<ObjectMeta> = std::sync::LazyLock::new(ObjectMeta::default);

macro_rules! each_kind {
    ($self:expr, $obj:ident => $body:expr) => {
        match $self {
            Workload::Pod($obj) => $body,
            Workload::PodTemplate($obj) => $body,
            Workload::ReplicationController($obj) => $body,
            Workload::ReplicaSet($obj) => $body,
            Workload::Deployment($obj) => $body,
            Workload::StatefulSet($obj) => $body,
            Workload::DaemonSet($obj) => $body,
            Workload::Job($obj) => $body,
            Workload::CronJob($obj) => $body,
        }
    };
}

impl Workload {
    /// Parse one JSON object. Fields of the wrong type are errors; unknown fields are
    /// dropped, as the API server does without strict field validation.
    pub fn from_json(json: &str) -> Result<Workload, WorkloadError> {
        crate::workload_json::parse(json)
    }

    /// Convert an already-parsed JSON value (e.g. from YAML) into a workload.
    pub fn from_value(value: serde_json::Value) -> Result<Workload, WorkloadError> {
        let meta = TypeMeta::deserialize(&value).map_err(WorkloadError::Json)?;
        let kind = resolve_kind(meta)?;
        parse_as(kind, |k| match k {
            Kind::Pod => serde_json::from_value(value).map(Workload::Pod),
            Kind::PodTemplate => serde_json::from_value(value).map(Workload::PodTemplate),
            Kind::ReplicationController => {
                serde_json::from_value(value).map(Workload::ReplicationController)
            }
            Kind::ReplicaSet => serde_json::from_value(value).map(Workload::ReplicaSet),
            Kind::Deployment => serde_json::from_value(value).map(Workload::Deployment),
            Kind::StatefulSet => serde_json::from_value(value).map(Workload::StatefulSet),
            Kind::DaemonSet => serde_json::from_value(value).map(Workload::DaemonSet),
            Kind::Job => serde_json::from_value(value).map(Workload::Job),
            Kind::CronJob => serde_json::from_value(value).map(Workload::CronJob),
        })
    }

    /// Serialize back to a JSON value (with `apiVersion` and `kind`).
    pub fn to_value(&self) -> serde_json::Value {
        let value = each_kind!(self, o => serde_json::to_value(o));
        // Serializing k8s-openapi types cannot fail: they hold only JSON-representable data.
        value.unwrap_or(serde_json::Value::Null)
    }

    pub fn kind(&self) -> Kind {
        match self {
            Workload::Pod(_) => Kind::Pod,
            Workload::PodTemplate(_) => Kind::PodTemplate,
            Workload::ReplicationController(_) => Kind::ReplicationController,
            Workload::ReplicaSet(_) => Kind::ReplicaSet,
            Workload::Deployment(_) => Kind::Deployment,
            Workload::StatefulSet(_) => Kind::StatefulSet,
            Workload::DaemonSet(_) => Kind::DaemonSet,
            Workload::Job(_) => Kind::Job,
            Workload::CronJob(_) => Kind::CronJob,
        }
    }

    /// The object's own metadata (not the template's).
    pub fn metadata(&self) -> &ObjectMeta {
        each_kind!(self, o => &o.metadata)
    }

    pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
        each_kind!(self, o => &mut o.metadata)
    }

    /// `metadata.name`, or `""`.
    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or("")
    }

    /// `metadata.namespace`, if set.
    pub fn namespace(&self) -> Option<&str> {
        self.metadata().namespace.as_deref()
    }

    /// The pod metadata and spec PSA evaluates: the pod itself, or the controller's
    /// template (CronJob: `spec.jobTemplate.spec.template`). `None` when the object has no
    /// template (e.g. a ReplicationController without one, or a pod without a spec), which
    /// upstream allows without evaluation.
    pub fn pod_template(&self) -> Option<PodTemplateRef<'_>> {
        fn tpl(t: &k8s_openapi::api::core::v1::PodTemplateSpec) -> Option<PodTemplateRef<'_>> {
            Some(PodTemplateRef {
                metadata: t.metadata.as_ref().unwrap_or(&EMPTY_META),
                spec: t.spec.as_ref()?,
            })
        }
        match self {
            Workload::Pod(p) => Some(PodTemplateRef {
                metadata: &p.metadata,
                spec: p.spec.as_ref()?,
            }),
            Workload::PodTemplate(t) => tpl(t.template.as_ref()?),
            Workload::ReplicationController(r) => tpl(r.spec.as_ref()?.template.as_ref()?),
            Workload::ReplicaSet(r) => tpl(r.spec.template.as_ref()?),
            Workload::Deployment(d) => tpl(&d.spec.template),
            Workload::StatefulSet(s) => tpl(&s.spec.template),
            Workload::DaemonSet(d) => tpl(&d.spec.template),
            Workload::Job(j) => tpl(&j.spec.as_ref()?.template),
            Workload::CronJob(c) => tpl(&c.spec.job_template.spec.as_ref()?.template),
        }
    }

    /// The pod spec to evaluate, mutably (for API-server defaulting).
    pub fn pod_spec_mut(&mut self) -> Option<&mut PodSpec> {
        fn tpl(t: &mut k8s_openapi::api::core::v1::PodTemplateSpec) -> Option<&mut PodSpec> {
            t.spec.as_mut()
        }
        match self {
            Workload::Pod(p) => p.spec.as_mut(),
            Workload::PodTemplate(t) => tpl(t.template.as_mut()?),
            Workload::ReplicationController(r) => tpl(r.spec.as_mut()?.template.as_mut()?),
            Workload::ReplicaSet(r) => tpl(r.spec.template.as_mut()?),
            Workload::Deployment(d) => tpl(&mut d.spec.template),
            Workload::StatefulSet(s) => tpl(&mut s.spec.template),
            Workload::DaemonSet(d) => tpl(&mut d.spec.template),
            Workload::Job(j) => tpl(&mut j.spec.as_mut()?.template),
            Workload::CronJob(c) => tpl(&mut c.spec.job_template.spec.as_mut()?.template),
        }
    }
}

pub(crate) fn resolve_kind(meta: TypeMeta) -> Result<Kind, WorkloadError> {
    let kind_str = meta.kind.ok_or(WorkloadError::MissingKind)?;
    let api_version = meta.api_version.unwrap_or_default();
    let kind = Kind::from_kind(&kind_str).ok_or_else(|| WorkloadError::UnsupportedKind {
        api_version: api_version.clone(),
        kind: kind_str,
    })?;
    if !api_version.is_empty() && api_version != kind.api_version() {
        return Err(WorkloadError::WrongApiVersion {
            api_version,
            kind,
            expected: kind.api_version(),
        });
    }
    Ok(kind)
}

fn parse_as(
    kind: Kind,
    parse: impl FnOnce(Kind) -> Result<Workload, serde_json::Error>,
) -> Result<Workload, WorkloadError> {
    parse(kind).map_err(|source| WorkloadError::Invalid { kind, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_templates_for_every_kind() {
        let template = serde_json::json!({"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c"}]}});
        for kind in Kind::ALL {
            let body = match kind {
                Kind::Pod => serde_json::json!({"spec": {"containers": [{"name": "c"}]}}),
                Kind::PodTemplate => serde_json::json!({"template": template}),
                Kind::CronJob => {
                    serde_json::json!({"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}})
                }
                _ => serde_json::json!({"spec": {"selector": {}, "template": template}}),
            };
            let mut value = body;
            value["apiVersion"] = kind.api_version().into();
            value["kind"] = kind.as_str().into();
            let w = Workload::from_value(value.clone()).unwrap();
            assert_eq!(w.kind(), kind);
            let t = w.pod_template().unwrap();
            assert_eq!(t.spec.containers[0].name, "c");
            assert_eq!(Workload::from_json(&value.to_string()).unwrap(), w);
        }
    }

    #[test]
    fn wrong_types_are_errors() {
        let err = Workload::from_json(
            r#"{"apiVersion":"v1","kind":"Pod","spec":{"hostPID":"yes","containers":[]}}"#,
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                WorkloadError::Invalid {
                    kind: Kind::Pod,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("invalid type"), "{err}");
    }

    #[test]
    fn unsupported_kinds_and_versions_are_errors() {
        assert!(matches!(
            Workload::from_json(r#"{"apiVersion":"v1","kind":"Service"}"#),
            Err(WorkloadError::UnsupportedKind { .. })
        ));
        assert!(matches!(
            Workload::from_json(r#"{"apiVersion":"apps/v1","kind":"Pod"}"#),
            Err(WorkloadError::WrongApiVersion { .. })
        ));
        assert!(matches!(
            Workload::from_json("{}"),
            Err(WorkloadError::MissingKind)
        ));
        assert!(matches!(
            Workload::from_json("{"),
            Err(WorkloadError::Json(_))
        ));
    }

    #[test]
    fn replication_controller_without_template_has_none() {
        let w =
            Workload::from_json(r#"{"apiVersion":"v1","kind":"ReplicationController","spec":{}}"#)
                .unwrap();
        assert!(w.pod_template().is_none());
    }
}
