//! Embedded objects: the pod shorthand, whole manifests and manifest files, read strictly
//! (unknown fields and wrong types are located errors), and the controller wrappers that
//! turn a pod into the other eight kinds PSA evaluates.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{
    DaemonSet, DaemonSetSpec, Deployment, DeploymentSpec, ReplicaSet, ReplicaSetSpec, StatefulSet,
    StatefulSetSpec,
};
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, Job, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    Pod, PodTemplate, PodTemplateSpec, ReplicationController, ReplicationControllerSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use pss::{Kind, Workload, WorkloadError};
use serde::de::DeserializeOwned;

use crate::error::LocatedError;
use crate::yaml::{self, Key, Loc, Node, Value};

/// Where a node came from: the file and its text, for located errors.
#[derive(Debug, Clone)]
pub struct Source {
    pub file: std::path::PathBuf,
    pub text: Arc<str>,
}

impl Source {
    pub fn new(file: &Path, text: &str) -> Self {
        Source {
            file: file.to_path_buf(),
            text: Arc::from(text),
        }
    }

    pub fn error(&self, loc: Loc, message: impl Into<String>) -> LocatedError {
        LocatedError::new(&self.file, &self.text, loc, message)
    }
}

/// The pod shorthand: `{metadata?, <PodSpec fields>}` becomes a Pod named `default_name`
/// unless the metadata names it.
pub fn pod_shorthand(
    src: &Source,
    node: &Node,
    default_name: &str,
) -> Result<Workload, LocatedError> {
    let Value::Map(entries) = &node.value else {
        return Err(src.error(
            node.loc,
            format!(
                "`pod` must be a mapping (a PodSpec), found {}",
                node.type_name()
            ),
        ));
    };
    let at = node.loc;
    let (meta, spec): (Vec<_>, Vec<_>) = entries
        .iter()
        .cloned()
        .partition(|(k, _)| k.name == "metadata");
    let mut metadata = meta
        .into_iter()
        .next()
        .map_or(Node::synthetic(Value::Map(Vec::new()), at), |(_, v)| v);
    if let Value::Map(fields) = &mut metadata.value
        && !fields.iter().any(|(k, _)| k.name == "name")
    {
        fields.push((
            synthetic_key("name", at),
            Node::synthetic(Value::Str(default_name.to_owned()), at),
        ));
    }
    let pod = Node::synthetic(
        Value::Map(vec![
            (
                synthetic_key("apiVersion", at),
                Node::synthetic(Value::Str("v1".into()), at),
            ),
            (
                synthetic_key("kind", at),
                Node::synthetic(Value::Str("Pod".into()), at),
            ),
            (synthetic_key("metadata", at), metadata),
            (
                synthetic_key("spec", at),
                Node::synthetic(Value::Map(spec), at),
            ),
        ]),
        at,
    );
    manifest(src, &pod)
}

fn synthetic_key(name: &str, loc: Loc) -> Key {
    Key {
        name: name.to_owned(),
        loc,
    }
}

/// A whole object of a kind PSA evaluates, through `pss::Workload::from_value`, with
/// unknown fields and wrong types reported where they are.
pub fn manifest(src: &Source, node: &Node) -> Result<Workload, LocatedError> {
    if !matches!(node.value, Value::Map(_)) {
        return Err(src.error(
            node.loc,
            format!("a manifest must be a mapping, found {}", node.type_name()),
        ));
    }
    match Workload::from_value(node.to_json()) {
        Ok(workload) => {
            strict_check(workload.kind(), node)
                .map_err(|e| LocatedError::from_strict(&src.file, &src.text, e, node.loc))?;
            Ok(workload)
        }
        Err(WorkloadError::Invalid { kind, source }) => {
            let located = strict_check(kind, node).err();
            let fallback = yaml::StrictError {
                message: source.to_string(),
                loc: None,
                help: None,
            };
            Err(LocatedError::from_strict(
                &src.file,
                &src.text,
                located.unwrap_or(fallback),
                node.loc,
            ))
        }
        Err(
            e @ (WorkloadError::UnsupportedKind { .. } | WorkloadError::WrongApiVersion { .. }),
        ) => {
            let at = node.get("kind").map_or(node.loc, |n| n.loc);
            Err(src.error(at, e.to_string()))
        }
        Err(e) => Err(src.error(node.loc, e.to_string())),
    }
}

/// Strictly deserialize `node` as the k8s-openapi type of `kind`, for its errors only.
fn strict_check(kind: Kind, node: &Node) -> Result<(), yaml::StrictError> {
    typed_check(kind, node, true)
}

/// Where a manifest that serde refused as `kind` goes wrong (unknown fields allowed, as
/// `check` reads objects): the located error, or `None` if the located reading agrees.
pub fn locate_invalid(kind: Kind, node: &Node) -> Option<yaml::StrictError> {
    typed_check(kind, node, false).err()
}

fn typed_check(kind: Kind, node: &Node, strict: bool) -> Result<(), yaml::StrictError> {
    fn read<T: DeserializeOwned>(node: &Node, strict: bool) -> Result<(), yaml::StrictError> {
        match strict {
            true => yaml::strict::<T>(node).map(drop),
            false => yaml::lenient::<T>(node).map(drop),
        }
    }
    match kind {
        Kind::Pod => read::<Pod>(node, strict),
        Kind::PodTemplate => read::<PodTemplate>(node, strict),
        Kind::ReplicationController => read::<ReplicationController>(node, strict),
        Kind::ReplicaSet => read::<ReplicaSet>(node, strict),
        Kind::Deployment => read::<Deployment>(node, strict),
        Kind::StatefulSet => read::<StatefulSet>(node, strict),
        Kind::DaemonSet => read::<DaemonSet>(node, strict),
        Kind::Job => read::<Job>(node, strict),
        Kind::CronJob => read::<CronJob>(node, strict),
    }
}

/// A manifest file (one non-empty document), relative paths resolved by the caller.
pub fn manifest_file(path: &Path) -> Result<Workload, crate::error::Error> {
    let (src, node) = single_document(path)?;
    manifest(&src, &node).map_err(crate::error::Error::located)
}

/// The one non-empty document of a file, located (for manifests and configuration files).
pub fn single_document(path: &Path) -> Result<(Source, Node), crate::error::Error> {
    let text = crate::input::read_file(path)?;
    let src = Source::new(path, &text);
    let docs = yaml::parse_documents(&text)
        .map_err(|e| crate::error::Error::located(LocatedError::from_yaml(path, &src.text, &e)))?;
    let mut objects = docs.iter().filter(|d| !d.is_null());
    let first = objects.next().ok_or_else(|| {
        crate::error::Error::located(src.error(
            Loc {
                line: 1,
                column: 1,
                ..Loc::default()
            },
            "the file holds no object",
        ))
    })?;
    if let Some(second) = objects.next() {
        let msg = "a manifest file must hold exactly one object; this is a second document";
        return Err(crate::error::Error::located(src.error(second.loc, msg)));
    }
    let first = first.clone();
    Ok((src, first))
}

/// The pod wrapped as `kind`: its metadata and spec become the template (CronJob: through
/// the job template); the controller takes the pod's name, and a selector matching the
/// template's labels (an `app: <name>` label is added when the pod has none). Jobs get
/// `restartPolicy: Never` when the pod has `Always` or none, as the API requires.
pub fn wrap_pod(pod: &Pod, kind: Kind) -> Workload {
    let name = pod
        .metadata
        .name
        .clone()
        .unwrap_or_else(|| "pod".to_owned());
    let mut labels = pod.metadata.labels.clone().unwrap_or_default();
    if labels.is_empty() {
        labels.insert("app".to_owned(), name.clone());
    }
    let template = PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels.clone()),
            annotations: pod.metadata.annotations.clone(),
            ..ObjectMeta::default()
        }),
        spec: pod.spec.clone(),
    };
    let meta = ObjectMeta {
        name: Some(name.clone()),
        namespace: pod.metadata.namespace.clone(),
        ..ObjectMeta::default()
    };
    let selector = LabelSelector {
        match_labels: Some(labels.clone()),
        ..LabelSelector::default()
    };
    wrap(kind, meta, template, selector, labels, name)
}

fn wrap(
    kind: Kind,
    metadata: ObjectMeta,
    template: PodTemplateSpec,
    selector: LabelSelector,
    labels: BTreeMap<String, String>,
    name: String,
) -> Workload {
    match kind {
        Kind::Pod => Workload::Pod(Pod {
            metadata: template_meta_as_pod(&metadata, &template),
            spec: template.spec,
            status: None,
        }),
        Kind::PodTemplate => Workload::PodTemplate(PodTemplate {
            metadata,
            template: Some(template),
        }),
        Kind::ReplicationController => Workload::ReplicationController(ReplicationController {
            metadata,
            spec: Some(ReplicationControllerSpec {
                selector: Some(labels),
                template: Some(template),
                ..Default::default()
            }),
            status: None,
        }),
        Kind::ReplicaSet => Workload::ReplicaSet(ReplicaSet {
            metadata,
            spec: ReplicaSetSpec {
                selector,
                template: Some(template),
                ..Default::default()
            },
            status: None,
        }),
        Kind::Deployment => Workload::Deployment(Deployment {
            metadata,
            spec: DeploymentSpec {
                selector,
                template,
                ..Default::default()
            },
            status: None,
        }),
        Kind::StatefulSet => Workload::StatefulSet(StatefulSet {
            metadata,
            spec: StatefulSetSpec {
                selector,
                template,
                service_name: Some(name),
                ..Default::default()
            },
            status: None,
        }),
        Kind::DaemonSet => Workload::DaemonSet(DaemonSet {
            metadata,
            spec: DaemonSetSpec {
                selector,
                template,
                ..Default::default()
            },
            status: None,
        }),
        Kind::Job => Workload::Job(Job {
            metadata,
            spec: Some(job_spec(template)),
            status: None,
        }),
        Kind::CronJob => Workload::CronJob(CronJob {
            metadata,
            spec: CronJobSpec {
                schedule: "0 0 * * *".to_owned(),
                job_template: JobTemplateSpec {
                    metadata: None,
                    spec: Some(job_spec(template)),
                },
                ..Default::default()
            },
            status: None,
        }),
    }
}

fn template_meta_as_pod(metadata: &ObjectMeta, template: &PodTemplateSpec) -> ObjectMeta {
    let t = template.metadata.clone().unwrap_or_default();
    ObjectMeta {
        name: metadata.name.clone(),
        namespace: metadata.namespace.clone(),
        ..t
    }
}

fn job_spec(mut template: PodTemplateSpec) -> JobSpec {
    if let Some(spec) = template.spec.as_mut()
        && spec.restart_policy.as_deref().is_none_or(|p| p == "Always")
    {
        spec.restart_policy = Some("Never".to_owned());
    }
    JobSpec {
        template,
        ..Default::default()
    }
}

/// The object a case is evaluated as, for one kind: the object itself for its own kind, or
/// the pod wrapped into a controller.
pub fn as_kind(object: &Workload, kind: Kind) -> Option<Workload> {
    if object.kind() == kind {
        return Some(object.clone());
    }
    match object {
        Workload::Pod(pod) => Some(wrap_pod(pod, kind)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> (Source, Node) {
        let node = yaml::parse_documents(text).unwrap().remove(0);
        (Source::new(Path::new("x.yaml"), text), node)
    }

    #[test]
    fn shorthand_becomes_a_named_pod() {
        let (s, n) =
            src("containers: [{name: c, securityContext: {privileged: true}}]\nhostPID: true\n");
        let w = pod_shorthand(&s, &n, "my-case").unwrap();
        assert_eq!((w.kind(), w.name()), (Kind::Pod, "my-case"));
        assert_eq!(w.pod_template().unwrap().spec.host_pid, Some(true));
    }

    #[test]
    fn shorthand_typos_are_located() {
        let (s, n) = src("containers: [{name: c}]\nhostPid: true\n");
        let err = pod_shorthand(&s, &n, "c").unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.yaml:2:1: unknown field `hostPid` in PodSpec"
        );
        assert_eq!(err.help.as_deref(), Some("did you mean `hostPID`?"));
    }

    #[test]
    fn manifest_kind_errors_point_at_kind() {
        let (s, n) = src("apiVersion: v1\nkind: Service\nmetadata: {name: x}\n");
        let err = manifest(&s, &n).unwrap_err();
        assert!(
            err.to_string().starts_with("x.yaml:2:7: kind \"Service\""),
            "{err}"
        );
    }

    #[test]
    fn every_kind_wraps_and_keeps_the_template() {
        let (s, n) = src("metadata: {annotations: {a: b}}\ncontainers: [{name: c}]\n");
        let Workload::Pod(pod) = pod_shorthand(&s, &n, "p").unwrap() else {
            panic!("not a pod")
        };
        for kind in Kind::ALL {
            let w = wrap_pod(&pod, kind);
            assert_eq!((w.kind(), w.name()), (kind, "p"));
            let t = w.pod_template().unwrap();
            assert_eq!(t.spec.containers[0].name, "c");
            assert_eq!(t.metadata.annotations.as_ref().unwrap()["a"], "b");
            // The wrapped object is valid input for the API types again.
            assert_eq!(Workload::from_value(w.to_value()).unwrap(), w);
        }
        let Workload::Job(job) = wrap_pod(&pod, Kind::Job) else {
            panic!("not a job")
        };
        assert_eq!(
            job.spec
                .unwrap()
                .template
                .spec
                .unwrap()
                .restart_policy
                .as_deref(),
            Some("Never")
        );
    }
}
