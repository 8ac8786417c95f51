//! From near misses to cases: apply each mutation to the minimal pod of a level, evaluate
//! the result as every kind at every version (after API-server defaulting, as the
//! in-process target does), and cut it into cases whose expectation holds throughout:
//! one per run of consecutive versions, and per group of kinds, with the same decision,
//! reasons and detail.

use pss::{Defaulting, Kind, Level, LevelVersion, Version, Workload};
use serde_json::{Value, json};

use super::mutations::{self, Mutation, Target};
use crate::control::Control;
use crate::manifest;
use crate::versions;

/// What a case expects, as the evaluator decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub allowed: bool,
    pub reasons: Vec<String>,
    pub detail: String,
}

/// One generated case.
#[derive(Debug, Clone)]
pub struct GeneratedCase {
    pub level: Level,
    pub control: Control,
    pub name: String,
    /// The changed field, e.g. `initContainers[0].securityContext: {"privileged":true}`.
    pub description: String,
    pub versions: Vec<Version>,
    pub kinds: Vec<Kind>,
    /// Pod shorthand.
    pub pod: Value,
    pub expect: Expected,
}

/// One mutation applied at one place of the minimal pod of a level.
struct Variant {
    level: Level,
    control: Control,
    name: String,
    description: String,
    pod: Value,
}

/// Every generated case, by level, control and mutation.
pub fn cases() -> Result<Vec<GeneratedCase>, String> {
    let mut out = Vec::new();
    for level in [Level::Baseline, Level::Restricted] {
        for mutation in mutations::all() {
            // A baseline check's near misses also run at restricted (on the restricted
            // pod), where restricted checks may override it; restricted ones only there.
            if mutation.check.level() == Level::Restricted && level == Level::Baseline {
                continue;
            }
            for variant in variants(level, &mutation)? {
                out.extend(split(variant)?);
            }
        }
    }
    Ok(out)
}

/// The places a mutation applies to: the regular and the init container for container
/// fields, the pod otherwise.
fn variants(level: Level, mutation: &Mutation) -> Result<Vec<Variant>, String> {
    let control = Control::ALL
        .into_iter()
        .find(|c| c.primary() == Some(mutation.check))
        .ok_or_else(|| format!("no control for check {}", mutation.check))?;
    let base = mutations::minimal_pod(level);
    let per_container = matches!(
        mutation.target,
        Target::Container | Target::ContainerSecurityContext | Target::Annotations
    );
    let places: &[(&str, &str)] = match per_container {
        true => &[("containers", "container"), ("initContainers", "init")],
        false => &[("", "pod")],
    };
    let mut out = Vec::new();
    for (list, prefix) in places {
        let mut pod = base.clone();
        let field = apply(&mut pod, mutation, list)?;
        // `pod-` names already say where they land; others get `container-`, `init-`
        // or `pod-`.
        let name = match mutation.name.starts_with("pod-") {
            true => mutation.name.to_owned(),
            false => format!("{prefix}-{}", mutation.name),
        };
        out.push(Variant {
            level,
            control,
            name,
            description: format!("{field}: {}", mutation.patch),
            pod,
        });
    }
    Ok(out)
}

/// Apply `mutation` to the pod shorthand (`list`: the container list it targets); the
/// path of the changed field, for the description.
fn apply(pod: &mut Value, mutation: &Mutation, list: &str) -> Result<String, String> {
    let missing = || format!("the minimal pod has no {list}[0]");
    let container_name = pod[list][0]["name"].as_str().unwrap_or_default().to_owned();
    let (slot, path): (&mut Value, String) = match mutation.target {
        Target::Spec => (pod, "spec".into()),
        Target::PodSecurityContext => (
            ensure_object(pod, "securityContext"),
            "spec.securityContext".into(),
        ),
        Target::Container => (
            pod[list].get_mut(0).ok_or_else(missing)?,
            format!("spec.{list}[0]"),
        ),
        Target::ContainerSecurityContext => {
            let container = pod[list].get_mut(0).ok_or_else(missing)?;
            (
                ensure_object(container, "securityContext"),
                format!("spec.{list}[0].securityContext"),
            )
        }
        Target::Annotations => {
            let patch = annotations_for(&mutation.patch, &container_name);
            let metadata = ensure_object(pod, "metadata");
            mutations::merge(ensure_object(metadata, "annotations"), &patch);
            return Ok(format!(
                "metadata.annotations (container {container_name:?})"
            ));
        }
        Target::Volume => {
            let mut volume = json!({"name": "data"});
            mutations::merge(&mut volume, &mutation.patch);
            match pod.get_mut("volumes") {
                Some(Value::Array(volumes)) => volumes.push(volume),
                _ => pod["volumes"] = json!([volume]),
            }
            return Ok("spec.volumes[0]".into());
        }
    };
    mutations::merge(slot, &mutation.patch);
    Ok(path)
}

/// The annotation patch with `{container}` in its keys replaced.
fn annotations_for(patch: &Value, container: &str) -> Value {
    match patch {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.replace("{container}", container), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn ensure_object<'a>(parent: &'a mut Value, key: &str) -> &'a mut Value {
    if !parent[key].is_object() {
        parent[key] = json!({});
    }
    &mut parent[key]
}

/// The pod a case named `name` with this shorthand becomes (as the loader builds it).
fn pod_workload(shorthand: &Value, name: &str) -> Result<Workload, String> {
    let mut spec = shorthand.clone();
    let mut metadata = spec
        .as_object_mut()
        .and_then(|o| o.remove("metadata"))
        .unwrap_or_else(|| json!({}));
    metadata["name"] = json!(name);
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec});
    Workload::from_value(pod).map_err(|e| format!("a generated pod does not parse: {e}"))
}

/// `pod` as `kind`, defaulted as the in-process target defaults it (like the API server).
fn as_admitted(pod: &Workload, kind: Kind) -> Option<Workload> {
    let mut object = manifest::as_kind(pod, kind)?;
    Defaulting::API_SERVER.apply(&mut object);
    Some(object)
}

/// The evaluator's expectation for an admitted object at `level` and `version`.
fn expected(object: &Workload, level: Level, version: Version) -> Expected {
    let verdict = pss::evaluate(object, LevelVersion::new(level, version));
    Expected {
        allowed: verdict.allowed(),
        reasons: verdict
            .evaluation
            .failures
            .iter()
            .map(|f| f.forbidden.reason.to_owned())
            .collect(),
        detail: verdict.evaluation.detail(),
    }
}

/// Cut a variant into cases: kinds with the same answers at every version form a group;
/// each group's versions split into runs of the same answer.
fn split(variant: Variant) -> Result<Vec<GeneratedCase>, String> {
    let pod = pod_workload(&variant.pod, &variant.name)?;
    let known = versions::known_versions();
    let mut groups: Vec<(Vec<Kind>, Vec<Expected>)> = Vec::new();
    for kind in Kind::ALL {
        let object = as_admitted(&pod, kind)
            .ok_or_else(|| format!("a pod cannot be wrapped as a {kind}"))?;
        let answers: Vec<Expected> = known
            .iter()
            .map(|v| expected(&object, variant.level, *v))
            .collect();
        match groups.iter_mut().find(|(_, a)| *a == answers) {
            Some((kinds, _)) => kinds.push(kind),
            None => groups.push((vec![kind], answers)),
        }
    }
    let several_groups = groups.len() > 1;
    let mut out = Vec::new();
    for (kinds, answers) in groups {
        let runs = runs(&known, &answers);
        let several_runs = runs.len() > 1;
        for (versions, expect) in runs {
            let mut name = variant.name.clone();
            if several_groups {
                name.push_str(if kinds.contains(&Kind::Pod) {
                    "-pod"
                } else {
                    "-controllers"
                });
            }
            if several_runs {
                name.push('-');
                name.push_str(&version_suffix(&versions));
            }
            out.push(GeneratedCase {
                level: variant.level,
                control: variant.control,
                name,
                description: variant.description.clone(),
                versions,
                kinds: kinds.clone(),
                pod: variant.pod.clone(),
                expect,
            });
        }
    }
    Ok(out)
}

/// Consecutive versions with equal answers.
fn runs(versions: &[Version], answers: &[Expected]) -> Vec<(Vec<Version>, Expected)> {
    let mut out: Vec<(Vec<Version>, Expected)> = Vec::new();
    for (v, a) in versions.iter().zip(answers) {
        match out.last_mut() {
            Some((vs, last)) if last == a => vs.push(*v),
            _ => out.push((vec![*v], a.clone())),
        }
    }
    out
}

/// `v1-19-to-v1-24`, `v1-25-to-latest`, `v1-3`: a version range as a name part.
fn version_suffix(versions: &[Version]) -> String {
    versions::label(versions)
        .replace("..", "-to-")
        .replace('.', "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_pods_are_allowed_everywhere() {
        for level in [Level::Baseline, Level::Restricted] {
            let pod = pod_workload(&mutations::minimal_pod(level), "minimal").unwrap();
            for kind in Kind::ALL {
                let object = as_admitted(&pod, kind).unwrap();
                for v in versions::known_versions() {
                    let e = expected(&object, level, v);
                    assert!(e.allowed, "{level} {kind} {v}: {}", e.detail);
                }
            }
        }
    }

    #[test]
    fn near_misses_split_by_version_and_kind() {
        let cases = cases().unwrap();
        let find = |level: Level, name: &str| {
            cases
                .iter()
                .filter(|c| c.level == level && c.name.starts_with(name))
                .collect::<Vec<_>>()
        };
        let privileged = find(Level::Baseline, "container-privileged-true");
        assert_eq!(privileged.len(), 1);
        assert_eq!(privileged[0].expect.reasons, ["privileged"]);
        assert_eq!(privileged[0].versions.len(), 39);
        assert_eq!(privileged[0].kinds.len(), 9);
        // container_engine_t became allowed at v1.31.
        let engine = find(Level::Baseline, "container-selinux-type-container-engine-t");
        let labels: Vec<_> = engine
            .iter()
            .map(|c| versions::label(&c.versions))
            .collect();
        assert_eq!(labels, ["v1.0..v1.30", "v1.31..latest"], "{engine:#?}");
        assert_eq!(
            (engine[0].expect.allowed, engine[1].expect.allowed),
            (false, true)
        );
        // Every case has both allowed and denied neighbours somewhere.
        assert!(cases.iter().any(|c| c.expect.allowed));
        assert!(cases.iter().filter(|c| !c.expect.allowed).count() > 100);
    }
}
