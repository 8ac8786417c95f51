//! Kyverno's `getSpec`: the pod metadata and spec a podSecurity rule evaluates. Controllers
//! are read as if they were Deployments (`spec.template`); a CronJob takes its spec from
//! `spec.jobTemplate.spec.template.spec` but its metadata from `spec.jobTemplate.metadata`,
//! so AppArmor annotations on the CronJob's pod template are never seen.

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use pss::Workload;

/// The message of the rule error for kinds `getSpec` does not know.
pub const UNSUPPORTED_KIND: &str =
    "Error while getting new resource: could not find correct resource type";

/// An owned pod: what the checks and the exclusion probes work on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodView {
    pub meta: ObjectMeta,
    pub spec: PodSpec,
}

/// The pod Kyverno evaluates, or `None` for a kind it cannot read (PodTemplate). Missing
/// templates or specs read as empty, as Go's JSON decoding leaves zero values.
pub fn extract(workload: &Workload) -> Option<PodView> {
    match workload {
        Workload::PodTemplate(_) => None,
        Workload::CronJob(c) => {
            let job_template = &c.spec.job_template;
            Some(PodView {
                meta: job_template.metadata.clone().unwrap_or_default(),
                spec: job_template
                    .spec
                    .as_ref()
                    .and_then(|js| js.template.spec.clone())
                    .unwrap_or_default(),
            })
        }
        other => Some(match other.pod_template() {
            Some(t) => PodView {
                meta: t.metadata.clone(),
                spec: t.spec.clone(),
            },
            None => PodView {
                meta: pod_meta(other),
                spec: PodSpec::default(),
            },
        }),
    }
}

/// A Pod without a spec still has its own metadata; a controller without a template has
/// none.
fn pod_meta(workload: &Workload) -> ObjectMeta {
    match workload {
        Workload::Pod(p) => p.metadata.clone(),
        _ => ObjectMeta::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cron_job_metadata_comes_from_the_job_template() {
        let cj = Workload::from_value(json!({
            "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
            "spec": {"schedule": "* * * * *", "jobTemplate": {
                "metadata": {"annotations": {"where": "jobTemplate"}},
                "spec": {"template": {
                    "metadata": {"annotations": {"where": "pod template"}},
                    "spec": {"containers": [{"name": "x"}]},
                }},
            }},
        }))
        .unwrap();
        let pod = extract(&cj).unwrap();
        assert_eq!(pod.meta.annotations.unwrap()["where"], "jobTemplate");
        assert_eq!(pod.spec.containers[0].name, "x");
    }

    #[test]
    fn controllers_use_the_template_and_pod_templates_are_unsupported() {
        let d = Workload::from_value(json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "d", "labels": {"own": "yes"}},
            "spec": {"selector": {}, "template": {
                "metadata": {"labels": {"tpl": "yes"}},
                "spec": {"containers": [{"name": "c"}]},
            }},
        }))
        .unwrap();
        let pod = extract(&d).unwrap();
        assert!(pod.meta.labels.unwrap().contains_key("tpl"));
        let rc = Workload::from_value(json!({
            "apiVersion": "v1",
            "kind": "ReplicationController",
            "metadata": {"name": "r"},
            "spec": {},
        }))
        .unwrap();
        assert_eq!(extract(&rc), Some(PodView::default()));
        let pt = Workload::from_value(
            json!({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"}}),
        )
        .unwrap();
        assert_eq!(extract(&pt), None);
    }
}
