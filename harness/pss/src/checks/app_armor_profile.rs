//! `appArmorProfile` (baseline, v1.0+, one entry).
//!
//! On supported hosts the `runtime/default` AppArmor profile applies by default; baseline
//! forbids overriding or disabling it, except with a profile loaded on the node.
//!
//! Restricted fields (both sources at every version: upstream added the fields to the v1.0
//! entry when they appeared in Kubernetes 1.30):
//! - `spec.securityContext.appArmorProfile.type` and the same field of every init, regular
//!   and ephemeral container (`spec.containers[*].securityContext.appArmorProfile.type`, …),
//!   looked at only when `appArmorProfile` is present. Allowed values: `RuntimeDefault`,
//!   `Localhost` (so `Unconfined` and `""` are forbidden).
//! - `metadata.annotations['container.apparmor.security.beta.kubernetes.io/*']`: every key
//!   with the prefix, whether or not it names a container. Allowed values: `""`,
//!   `runtime/default`, `localhost/*`.
//!
//! The detail names the setters (`pod`, the bad containers, `annotation(s)`) joined by
//! `" and "`, then the bad field types (deduplicated, sorted) followed by the bad
//! annotations rendered `<key>=<GOQ(value)>` (sorted). The reason is singular only when that
//! value list has exactly one entry.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{AppArmorProfile, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::CheckEntry;
use crate::containers::visit;
use crate::format::{go_quote, join_quote, noun, sorted_unique};
use crate::result::{BadValue, CheckOptions, FieldError, Forbidden, Violations};

pub(crate) const ENTRIES: &[CheckEntry] = &[CheckEntry::new(0, v1_0)];

const ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

fn allowed_type(profile: &AppArmorProfile) -> bool {
    profile.type_ == "RuntimeDefault" || profile.type_ == "Localhost"
}

fn allowed_annotation(value: &str) -> bool {
    value.is_empty() || value == "runtime/default" || value.starts_with("localhost/")
}

/// The AppArmor annotations with a forbidden value, in key order.
fn bad_annotations(
    annotations: Option<&BTreeMap<String, String>>,
) -> impl Iterator<Item = (&String, &String)> {
    annotations
        .into_iter()
        .flat_map(|a| {
            a.range::<str, _>((
                std::ops::Bound::Included(ANNOTATION_PREFIX),
                std::ops::Bound::Unbounded,
            ))
        })
        .take_while(|(k, _)| k.starts_with(ANNOTATION_PREFIX))
        .filter(|(_, v)| !allowed_annotation(v))
}

fn v1_0(meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    let fields = FieldFindings::collect(spec, opts);
    let mut annotations = bad_annotations(meta.annotations.as_ref()).peekable();
    if fields.is_empty() && annotations.peek().is_none() {
        return None;
    }
    let (mut setters, mut values, mut field_errors) = fields.describe(opts);
    let mut items: Vec<String> = Vec::new();
    for (key, value) in annotations {
        items.push(format!("{key}={}", go_quote(value)));
        // Upstream walks a Go map here; key order is the deterministic choice.
        if opts.field_errors {
            field_errors.push(FieldError::forbidden(
                format!("metadata.annotations[{key}]"),
                BadValue::Str(value.clone()),
            ));
        }
    }
    if !items.is_empty() {
        setters.push(noun(items.len(), "annotation", "annotations").to_owned());
        // Sorted by the rendered item, which can differ from key order.
        items.sort_unstable();
        values.append(&mut items);
    }
    let reason = noun(
        values.len(),
        "forbidden AppArmor profile",
        "forbidden AppArmor profiles",
    );
    let detail = format!(
        "{} must not set AppArmor profile type to {}",
        setters.join(" and "),
        join_quote(&values)
    );
    Some(Forbidden {
        reason,
        detail,
        field_errors,
    })
}

/// The bad `appArmorProfile` fields: the pod's and the containers'.
struct FieldFindings<'a> {
    pod: Option<&'a AppArmorProfile>,
    containers: Violations<'a>,
    types: Vec<&'a str>,
}

impl<'a> FieldFindings<'a> {
    fn collect(spec: &'a PodSpec, opts: CheckOptions) -> Self {
        let pod_profile = spec
            .security_context
            .as_ref()
            .and_then(|sc| sc.app_armor_profile.as_ref());
        let pod = pod_profile.filter(|p| !allowed_type(p));
        let mut types: Vec<&str> = pod.iter().map(|p| p.type_.as_str()).collect();
        let mut containers = Violations::new(opts);
        for c in visit(spec) {
            let profile = c
                .security_context
                .and_then(|sc| sc.app_armor_profile.as_ref());
            if let Some(p) = profile.filter(|p| !allowed_type(p)) {
                types.push(&p.type_);
                containers.add(c.name, || {
                    FieldError::forbidden(
                        format!("{}.securityContext.appArmorProfile.type", c.path()),
                        BadValue::Str(p.type_.clone()),
                    )
                });
            }
        }
        FieldFindings {
            pod,
            containers,
            types,
        }
    }

    fn is_empty(&self) -> bool {
        self.pod.is_none() && self.containers.is_empty()
    }

    /// The setters (`pod`, `container(s) "…"`), the sorted distinct bad types and the field
    /// errors (pod first).
    fn describe(self, opts: CheckOptions) -> (Vec<String>, Vec<String>, Vec<FieldError>) {
        let mut setters: Vec<String> = Vec::with_capacity(3);
        let mut field_errors = Vec::new();
        if let Some(p) = self.pod {
            setters.push("pod".to_owned());
            if opts.field_errors {
                field_errors.push(FieldError::forbidden(
                    "spec.securityContext.appArmorProfile.type".to_owned(),
                    BadValue::Str(p.type_.clone()),
                ));
            }
        }
        if !self.containers.is_empty() {
            let n = self.containers.len();
            let names = join_quote(self.containers.names());
            setters.push(format!("{} {names}", noun(n, "container", "containers")));
        }
        field_errors.extend(self.containers.into_errors());
        let values = sorted_unique(self.types)
            .into_iter()
            .map(str::to_owned)
            .collect();
        (setters, values, field_errors)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::CheckId;
    use crate::result::{BadValue, FieldError};
    use crate::testing::{TestPod, check_detail, check_field_errors, pod, pod_with_meta};

    const P: &str = "container.apparmor.security.beta.kubernetes.io/";

    /// A container named `name` with `appArmorProfile.type` set to `type_`.
    fn ctr(name: &str, type_: &str) -> Value {
        json!({"name": name, "securityContext": {"appArmorProfile": {"type": type_}}})
    }

    /// Pod-level `appArmorProfile.type`.
    fn pod_sc(type_: &str) -> Value {
        json!({"appArmorProfile": {"type": type_}})
    }

    /// A pod with AppArmor annotations `P + key = value`.
    fn annotated(pairs: &[(&str, &str)], spec: Value) -> TestPod {
        let annotations: serde_json::Map<String, Value> = pairs
            .iter()
            .map(|(k, v)| (format!("{P}{k}"), json!(v)))
            .collect();
        pod_with_meta(json!({"annotations": annotations}), spec)
    }

    fn detail(minor: u32, p: &TestPod) -> Option<String> {
        check_detail(CheckId::AppArmorProfile, minor, p)
    }

    #[test]
    fn upstream_pod_unconfined() {
        let p = pod(json!({"securityContext": pod_sc("Unconfined")}));
        assert_eq!(
            detail(0, &p).as_deref(),
            Some(
                "forbidden AppArmor profile (pod must not set AppArmor profile type to \
                 \"Unconfined\")"
            )
        );
    }

    #[test]
    fn upstream_container_unconfined() {
        let p = pod(json!({"containers": [ctr("ok", "RuntimeDefault"), ctr("foo", "Unconfined")]}));
        assert_eq!(
            detail(37, &p).as_deref(),
            Some(
                "forbidden AppArmor profile (container \"foo\" must not set AppArmor profile \
                 type to \"Unconfined\")"
            )
        );
    }

    #[test]
    fn upstream_annotations() {
        let pairs = [
            ("", "bogus"),
            ("a", ""),
            ("b", "runtime/default"),
            ("c", "localhost/"),
            ("d", "localhost/foo"),
            ("e", "unconfined"),
            ("f", "unknown"),
        ];
        let p = annotated(&pairs, json!({}));
        assert_eq!(
            detail(0, &p).as_deref(),
            Some(
                "forbidden AppArmor profiles (annotations must not set AppArmor profile type to \
                 \"container.apparmor.security.beta.kubernetes.io/=\"bogus\"\", \
                 \"container.apparmor.security.beta.kubernetes.io/e=\"unconfined\"\", \
                 \"container.apparmor.security.beta.kubernetes.io/f=\"unknown\"\")"
            )
        );
    }

    #[test]
    fn pod_container_and_annotation_together() {
        let spec = json!({
            "securityContext": pod_sc("Unconfined"),
            "containers": [ctr("foo", "Unconfined")],
        });
        let p = annotated(&[("foo", "unconfined")], spec);
        assert_eq!(
            detail(37, &p).as_deref(),
            Some(
                "forbidden AppArmor profiles (pod and container \"foo\" and annotation must not \
                 set AppArmor profile type to \"Unconfined\", \
                 \"container.apparmor.security.beta.kubernetes.io/foo=\"unconfined\"\")"
            )
        );
    }

    /// E9: empty and `localhost/` are allowed; `unconfined` is forbidden for any key.
    #[test]
    fn e9_annotation_values() {
        let ok = annotated(&[("x", ""), ("y", "localhost/")], json!({}));
        assert_eq!(detail(37, &ok), None);
        let bad = annotated(
            &[("x", "unconfined")],
            json!({"containers": [{"name": "c"}]}),
        );
        assert_eq!(
            detail(37, &bad).as_deref(),
            Some(
                "forbidden AppArmor profile (annotation must not set AppArmor profile type to \
                 \"container.apparmor.security.beta.kubernetes.io/x=\"unconfined\"\")"
            )
        );
    }

    /// E32: an explicitly empty type is forbidden.
    #[test]
    fn e32_empty_type_is_forbidden() {
        let p = pod(json!({"securityContext": pod_sc("")}));
        assert_eq!(
            detail(37, &p).as_deref(),
            Some("forbidden AppArmor profile (pod must not set AppArmor profile type to \"\")")
        );
    }

    #[test]
    fn reason_counts_value_entries_not_setters() {
        // Two setters, one distinct value: singular.
        let one = pod(json!({
            "securityContext": pod_sc("Unconfined"),
            "containers": [ctr("a", "Unconfined")],
        }));
        assert_eq!(
            detail(37, &one).as_deref(),
            Some(
                "forbidden AppArmor profile (pod and container \"a\" must not set AppArmor \
                 profile type to \"Unconfined\")"
            )
        );
        // One setter, two values: plural.
        let two = pod(json!({"containers": [ctr("a", "Unconfined"), ctr("b", "bogus")]}));
        assert_eq!(
            detail(37, &two).as_deref(),
            Some(
                "forbidden AppArmor profiles (containers \"a\", \"b\" must not set AppArmor \
                 profile type to \"Unconfined\", \"bogus\")"
            )
        );
    }

    #[test]
    fn annotation_items_sort_by_rendered_text() {
        // Key order puts "a" before "a-b", the rendered text puts "a-b=" before "a=".
        let p = annotated(&[("a", "x"), ("a-b", "y")], json!({}));
        assert_eq!(
            detail(37, &p).as_deref(),
            Some(
                "forbidden AppArmor profiles (annotations must not set AppArmor profile type to \
                 \"container.apparmor.security.beta.kubernetes.io/a-b=\"y\"\", \
                 \"container.apparmor.security.beta.kubernetes.io/a=\"x\"\")"
            )
        );
    }

    #[test]
    fn other_annotations_and_allowed_fields_pass() {
        let meta = json!({"annotations": {
            "container.apparmor.security.beta.kubernetes.io": "unconfined",
            "z": "unconfined",
        }});
        let spec = json!({
            "securityContext": {"appArmorProfile": {"type": "Localhost", "localhostProfile": "p"}},
            "ephemeralContainers": [ctr("e", "RuntimeDefault")],
        });
        assert_eq!(detail(37, &pod_with_meta(meta, spec)), None);
    }

    #[test]
    fn field_errors_pod_containers_then_annotations() {
        let spec =
            json!({"securityContext": pod_sc("Unconfined"), "initContainers": [ctr("i", "x")]});
        let p = annotated(&[("c", "unconfined")], spec);
        let f = |p: &str, v: &str| FieldError::forbidden(p.into(), BadValue::Str(v.into()));
        assert_eq!(
            check_field_errors(CheckId::AppArmorProfile, 37, &p),
            vec![
                f("spec.securityContext.appArmorProfile.type", "Unconfined"),
                f(
                    "spec.initContainers[0].securityContext.appArmorProfile.type",
                    "x"
                ),
                f(
                    "metadata.annotations[container.apparmor.security.beta.kubernetes.io/c]",
                    "unconfined"
                ),
            ]
        );
    }
}
