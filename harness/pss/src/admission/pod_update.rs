//! Which pod UPDATEs are evaluated (§4.7).
//!
//! After creation a pod's spec is nearly immutable: the fields that matter to PSA can
//! change only through container images and added ephemeral containers. PSA therefore
//! evaluates an update only when one of those changed, and then evaluates the whole pod.
//! Label, annotation (seccomp and AppArmor included), toleration and resize updates are
//! allowed without evaluation.

use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};

use super::request::pod_spec;

/// Whether an update from `old` to `new` must be evaluated.
pub fn is_significant_update(new: &Pod, old: &Pod) -> bool {
    let (new, old) = (pod_spec(new), pod_spec(old));
    images_changed(&new.containers, &old.containers)
        || images_changed(init(new), init(old))
        || ephemeral_added_or_changed(new, old)
}

fn init(spec: &PodSpec) -> &[Container] {
    spec.init_containers.as_deref().unwrap_or_default()
}

/// A different count, or a different image at the same index.
fn images_changed(new: &[Container], old: &[Container]) -> bool {
    new.len() != old.len() || new.iter().zip(old).any(|(n, o)| n.image != o.image)
}

/// A new ephemeral container name, or a same-named one with a different image.
fn ephemeral_added_or_changed(new: &PodSpec, old: &PodSpec) -> bool {
    let old_ephemeral = old.ephemeral_containers.as_deref().unwrap_or_default();
    new.ephemeral_containers.iter().flatten().any(|c| {
        match old_ephemeral.iter().find(|o| o.name == c.name) {
            None => true,
            Some(o) => o.image != c.image,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(value: serde_json::Value) -> Pod {
        serde_json::from_value(value).unwrap()
    }

    fn base() -> serde_json::Value {
        json!({
            "metadata": {"name": "p"},
            "spec": {
                "initContainers": [{"name": "i", "image": "busybox"}],
                "containers": [{"name": "c", "image": "nginx"}],
                "ephemeralContainers": [{"name": "e", "image": "debug"}],
            }
        })
    }

    fn changed(edit: impl FnOnce(&mut serde_json::Value)) -> bool {
        let mut new = base();
        edit(&mut new);
        is_significant_update(&pod(new), &pod(base()))
    }

    #[test]
    fn insignificant_updates() {
        assert!(!changed(|_| {}));
        assert!(!changed(|p| {
            p["metadata"]["labels"] = json!({"a": "b"});
            p["metadata"]["annotations"] = json!({
                "container.apparmor.security.beta.kubernetes.io/c": "unconfined",
                "seccomp.security.alpha.kubernetes.io/pod": "unconfined",
            });
            p["spec"]["tolerations"] = json!([{"operator": "Exists"}]);
            p["spec"]["activeDeadlineSeconds"] = json!(5);
            p["spec"]["containers"][0]["securityContext"] = json!({"privileged": true});
        }));
        assert!(!changed(|p| {
            p["spec"]["ephemeralContainers"] = json!([]);
        }));
    }

    #[test]
    fn significant_updates() {
        assert!(changed(
            |p| p["spec"]["containers"][0]["image"] = json!("nginx:2")
        ));
        assert!(changed(
            |p| p["spec"]["initContainers"][0]["image"] = json!("x")
        ));
        assert!(changed(
            |p| p["spec"]["containers"] = json!([{"name": "c"}, {"name": "d"}])
        ));
        assert!(changed(|p| p["spec"]["initContainers"] = json!([])));
        assert!(changed(|p| {
            p["spec"]["ephemeralContainers"] = json!([
                {"name": "e", "image": "debug"}, {"name": "debugger", "image": "busybox"}]);
        }));
        assert!(changed(
            |p| p["spec"]["ephemeralContainers"][0]["image"] = json!("debug:2")
        ));
    }
}
