//! The API server's AppArmor annotation-to-field synchronisation for pods.
//!
//! On pod create the pod strategy (`PrepareForCreate`, function `applyAppArmorVersionSkew`
//! in `pkg/registry/core/pod/strategy.go`) runs before validating admission, so Pod Security
//! sees its result. Since Kubernetes 1.34 (kubernetes/kubernetes#131989) it works in one
//! direction only, and that is what [`apply`] reproduces:
//!
//! - Pods with `spec.os.name == "windows"` (exact) are left alone.
//! - For every container (init, regular, then ephemeral) that has an annotation
//!   `container.apparmor.security.beta.kubernetes.io/<container name>` and **no**
//!   `securityContext.appArmorProfile`, the annotation value is turned into a field:
//!   `unconfined` → `{type: Unconfined}`, `runtime/default` → `{type: RuntimeDefault}`,
//!   `localhost/<p>` with a non-empty `<p>` → `{type: Localhost, localhostProfile: <p>}`.
//!   Any other value (including `""` and a bare `localhost/`) gives no field.
//! - A field that would not pass API validation is not copied: a localhost profile name
//!   padded with whitespace, or longer than 4095 bytes. (These two rules are those of
//!   `ValidateAppArmorProfileField` in `pkg/apis/core/validation`; that file was not in the
//!   reference index, so they are stated from the API's documented validation, not re-read.)
//! - The field is set only when it differs from the pod-level `appArmorProfile` (a
//!   container inheriting the same profile needs no copy). A missing `securityContext` is
//!   created for it.
//! - Annotations are never changed, and a container that already has a field keeps it.
//!
//! Kubernetes 1.30–1.33 also copied in the other direction (a container field, else the
//! pod field, became a missing annotation). That older behaviour is not modelled: the
//! evaluator targets the current API server.
//!
//! For Pod Security this matters because `appArmorProfile` checks both sources: an
//! annotation `unconfined` on a container is reported once as an annotation and once as
//! the container's (copied) field.

use std::collections::BTreeMap;
use std::ops::Bound;

use k8s_openapi::api::core::v1::{AppArmorProfile, Pod, SecurityContext};

const ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";
const LOCALHOST_PREFIX: &str = "localhost/";
/// API validation limit on `localhostProfile` (`PATH_MAX - 1`).
const MAX_LOCALHOST_PROFILE_LEN: usize = 4095;

/// Synchronise AppArmor annotations to fields as the pod strategy does on create.
pub fn apply(pod: &mut Pod) {
    let Some(annotations) = pod.metadata.annotations.as_ref() else {
        return;
    };
    let Some(spec) = pod.spec.as_mut() else {
        return;
    };
    if spec.os.as_ref().is_some_and(|os| os.name == "windows") || !has_any(annotations) {
        return;
    }
    let pod_profile = spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.app_armor_profile.clone());
    let init = spec
        .init_containers
        .iter_mut()
        .flatten()
        .map(|c| (&c.name, &mut c.security_context));
    let regular = spec
        .containers
        .iter_mut()
        .map(|c| (&c.name, &mut c.security_context));
    let ephemeral = spec
        .ephemeral_containers
        .iter_mut()
        .flatten()
        .map(|c| (&c.name, &mut c.security_context));
    // One key buffer for the whole pod: `<prefix><container name>`.
    let mut key = String::from(ANNOTATION_PREFIX);
    for (name, security_context) in init.chain(regular).chain(ephemeral) {
        if security_context
            .as_ref()
            .is_some_and(|sc| sc.app_armor_profile.is_some())
        {
            continue;
        }
        key.truncate(ANNOTATION_PREFIX.len());
        key.push_str(name);
        let Some(value) = annotations.get(&key) else {
            continue;
        };
        let Some(field) = field_for_annotation(value).filter(is_valid) else {
            continue;
        };
        if pod_profile.as_ref() != Some(&field) {
            security_context
                .get_or_insert_with(SecurityContext::default)
                .app_armor_profile = Some(field);
        }
    }
}

/// Whether any annotation has the AppArmor container prefix (most pods have none, and then
/// nothing is allocated).
fn has_any(annotations: &BTreeMap<String, String>) -> bool {
    annotations
        .range::<str, _>((Bound::Included(ANNOTATION_PREFIX), Bound::Unbounded))
        .next()
        .is_some_and(|(k, _)| k.starts_with(ANNOTATION_PREFIX))
}

/// The field an annotation value stands for, if any.
fn field_for_annotation(value: &str) -> Option<AppArmorProfile> {
    let profile = |type_: &str, localhost_profile: Option<String>| AppArmorProfile {
        type_: type_.to_owned(),
        localhost_profile,
    };
    match value {
        "unconfined" => Some(profile("Unconfined", None)),
        "runtime/default" => Some(profile("RuntimeDefault", None)),
        _ => value
            .strip_prefix(LOCALHOST_PREFIX)
            .filter(|name| !name.is_empty())
            .map(|name| profile("Localhost", Some(name.to_owned()))),
    }
}

/// The API validation of a derived field: only a localhost profile name can be invalid.
fn is_valid(field: &AppArmorProfile) -> bool {
    field.localhost_profile.as_deref().is_none_or(|name| {
        name.trim() == name && !name.is_empty() && name.len() <= MAX_LOCALHOST_PROFILE_LEN
    })
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{AppArmorProfile, Pod};
    use rstest::rstest;

    use super::apply;

    const P: &str = "container.apparmor.security.beta.kubernetes.io/";

    fn pod(annotations: serde_json::Value, spec: serde_json::Value) -> Pod {
        serde_json::from_value(
            serde_json::json!({"metadata": {"annotations": annotations}, "spec": spec}),
        )
        .unwrap()
    }

    fn profile(type_: &str, localhost: Option<&str>) -> Option<AppArmorProfile> {
        Some(AppArmorProfile {
            type_: type_.into(),
            localhost_profile: localhost.map(Into::into),
        })
    }

    /// The container field after applying the skew to a pod with one annotated container.
    fn synced(value: &str) -> Option<AppArmorProfile> {
        let mut p = pod(
            serde_json::json!({format!("{P}c"): value}),
            serde_json::json!({"containers": [{"name": "c"}]}),
        );
        apply(&mut p);
        p.spec.unwrap().containers[0]
            .security_context
            .as_ref()
            .and_then(|sc| sc.app_armor_profile.clone())
    }

    #[rstest]
    #[case("unconfined", profile("Unconfined", None))]
    #[case("runtime/default", profile("RuntimeDefault", None))]
    #[case("localhost/my-profile", profile("Localhost", Some("my-profile")))]
    #[case("localhost/", None)]
    #[case("localhost/ padded", None)]
    #[case("", None)]
    #[case("bogus", None)]
    #[case("Unconfined", None)]
    fn annotation_values_map_to_fields(#[case] value: &str, #[case] want: Option<AppArmorProfile>) {
        assert_eq!(synced(value), want);
    }

    #[test]
    fn overlong_localhost_profile_is_not_copied() {
        assert_eq!(synced(&format!("localhost/{}", "a".repeat(4096))), None);
        let max = "a".repeat(4095);
        assert_eq!(
            synced(&format!("localhost/{max}")),
            profile("Localhost", Some(&max))
        );
    }

    #[test]
    fn every_container_kind_is_synced_and_annotations_stay() {
        let mut p = pod(
            serde_json::json!({
                format!("{P}i"): "unconfined",
                format!("{P}c"): "unconfined",
                format!("{P}e"): "unconfined",
            }),
            serde_json::json!({
                "initContainers": [{"name": "i"}],
                "containers": [{"name": "c", "securityContext": {"privileged": false}}],
                "ephemeralContainers": [{"name": "e"}],
            }),
        );
        let before = p.metadata.annotations.clone();
        apply(&mut p);
        assert_eq!(p.metadata.annotations, before);
        let spec = p.spec.unwrap();
        let get = |sc: &Option<k8s_openapi::api::core::v1::SecurityContext>| {
            sc.as_ref().and_then(|sc| sc.app_armor_profile.clone())
        };
        assert_eq!(
            get(&spec.init_containers.unwrap()[0].security_context),
            profile("Unconfined", None)
        );
        assert_eq!(
            get(&spec.containers[0].security_context),
            profile("Unconfined", None)
        );
        assert_eq!(
            spec.containers[0]
                .security_context
                .as_ref()
                .unwrap()
                .privileged,
            Some(false)
        );
        assert_eq!(
            get(&spec.ephemeral_containers.unwrap()[0].security_context),
            profile("Unconfined", None)
        );
    }

    #[test]
    fn existing_container_field_wins() {
        let mut p = pod(
            serde_json::json!({format!("{P}c"): "unconfined"}),
            serde_json::json!({"containers": [
                {"name": "c", "securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}}},
            ]}),
        );
        apply(&mut p);
        let sc = p.spec.unwrap().containers[0]
            .security_context
            .clone()
            .unwrap();
        assert_eq!(sc.app_armor_profile, profile("RuntimeDefault", None));
    }

    #[test]
    fn same_as_pod_profile_is_not_copied_but_different_is() {
        let spec = |pod_type: &str| {
            serde_json::json!({
                "securityContext": {"appArmorProfile": {"type": pod_type}},
                "containers": [{"name": "c"}],
            })
        };
        let mut same = pod(
            serde_json::json!({format!("{P}c"): "unconfined"}),
            spec("Unconfined"),
        );
        apply(&mut same);
        assert_eq!(same.spec.unwrap().containers[0].security_context, None);
        let mut different = pod(
            serde_json::json!({format!("{P}c"): "unconfined"}),
            spec("RuntimeDefault"),
        );
        apply(&mut different);
        let sc = different.spec.unwrap().containers[0]
            .security_context
            .clone()
            .unwrap();
        assert_eq!(sc.app_armor_profile, profile("Unconfined", None));
    }

    #[test]
    fn fields_are_not_copied_to_annotations() {
        let mut p = pod(
            serde_json::json!({}),
            serde_json::json!({
                "securityContext": {"appArmorProfile": {"type": "Unconfined"}},
                "containers": [
                    {"name": "c", "securityContext": {"appArmorProfile": {"type": "Unconfined"}}},
                ],
            }),
        );
        apply(&mut p);
        assert_eq!(p.metadata.annotations, Some(Default::default()));
    }

    #[test]
    fn windows_pods_and_unrelated_annotations_are_left_alone() {
        let mut windows = pod(
            serde_json::json!({format!("{P}c"): "unconfined"}),
            serde_json::json!({"os": {"name": "windows"}, "containers": [{"name": "c"}]}),
        );
        apply(&mut windows);
        assert_eq!(windows.spec.unwrap().containers[0].security_context, None);
        let mut other = pod(
            serde_json::json!({format!("{P}x"): "unconfined"}),
            serde_json::json!({"os": {"name": "Windows"}, "containers": [{"name": "c"}]}),
        );
        apply(&mut other);
        assert_eq!(other.spec.unwrap().containers[0].security_context, None);
    }

    #[test]
    fn synced_pod_fails_apparmor_for_both_sources() {
        let json = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "annotations": {format!("{P}c"): "unconfined"}},
            "spec": {"containers": [{"name": "c"}]},
        });
        let mut w = crate::Workload::from_value(json).unwrap();
        crate::Defaulting::API_SERVER.apply(&mut w);
        let t = w.pod_template().unwrap();
        let f = crate::CheckId::AppArmorProfile.entry_at(37).unwrap();
        let got = (f.check)(t.metadata, t.spec, crate::CheckOptions::default()).unwrap();
        assert_eq!(
            got.detail,
            "container \"c\" and annotation must not set AppArmor profile type to \"Unconfined\", \
             \"container.apparmor.security.beta.kubernetes.io/c=\"unconfined\"\""
        );
        assert_eq!(got.reason, "forbidden AppArmor profiles");
    }
}
