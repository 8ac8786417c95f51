//! `seccompProfile_baseline` (baseline; entries v1.0 and v1.19; at restricted only for
//! v1.0–v1.18, where `seccompProfile_restricted` takes over).
//!
//! Seccomp profile must not be explicitly set to `Unconfined`.
//!
//! v1.0 (annotations only; fields are ignored). Restricted fields:
//! `metadata.annotations['seccomp.security.alpha.kubernetes.io/pod']` and, for each visited
//! container, `metadata.annotations['container.seccomp.security.alpha.kubernetes.io/<name>']`
//! (annotations naming no container are ignored). Allowed values: absent, `runtime/default`,
//! `docker/default`, `localhost/*`; the empty string is forbidden.
//!
//! v1.19 (fields only; annotations are ignored). Restricted fields:
//! `spec.securityContext.seccompProfile.type` and
//! `spec.{initContainers,containers,ephemeralContainers}[*].securityContext.seccompProfile.type`.
//! Allowed values: absent `seccompProfile`, `RuntimeDefault`, `Localhost`.

use k8s_openapi::api::core::v1::{PodSpec, SeccompProfile};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::CheckEntry;
use crate::containers::visit;
use crate::format::{go_quote, noun, push_join_quote, setters, sorted_unique};
use crate::result::{BadValue, CheckOptions, FieldError, Forbidden, Violations};

pub(crate) const ENTRIES: &[CheckEntry] = &[CheckEntry::new(0, v1_0), CheckEntry::new(19, v1_19)];

const POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const CONTAINER_ANNOTATION_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";

fn valid_annotation(value: &str) -> bool {
    value == "runtime/default" || value == "docker/default" || value.starts_with("localhost/")
}

/// One forbidden annotation: `<key>=<GOQ(value)>` and the field errors behind it (one per
/// container it applies to, or one for the pod annotation).
struct BadAnnotation {
    item: String,
    errors: Vec<FieldError>,
}

impl BadAnnotation {
    fn new(key: &str, value: &str, occurrences: usize, with_errors: bool) -> Self {
        let error = || {
            FieldError::forbidden(
                format!("metadata.annotations[{key}]"),
                BadValue::Str(value.to_owned()),
            )
        };
        let errors = if with_errors {
            (0..occurrences).map(|_| error()).collect()
        } else {
            Vec::new()
        };
        BadAnnotation {
            item: format!("{key}={}", go_quote(value)),
            errors,
        }
    }
}

fn v1_0(meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    let annotations = meta.annotations.as_ref()?;
    let mut bad: Vec<BadAnnotation> = Vec::new();
    if let Some(value) = annotations
        .get(POD_ANNOTATION)
        .filter(|v| !valid_annotation(v))
    {
        bad.push(BadAnnotation::new(
            POD_ANNOTATION,
            value,
            1,
            opts.field_errors,
        ));
    }
    // Walk the container annotations rather than building a key per container, so the
    // allowed path does not allocate. A name used by several containers counts once per use.
    let container_keys = annotations
        .range::<str, _>((
            std::ops::Bound::Included(CONTAINER_ANNOTATION_PREFIX),
            std::ops::Bound::Unbounded,
        ))
        .take_while(|(k, _)| k.starts_with(CONTAINER_ANNOTATION_PREFIX));
    for (key, value) in container_keys.filter(|(_, v)| !valid_annotation(v)) {
        let name = &key[CONTAINER_ANNOTATION_PREFIX.len()..];
        let uses = visit(spec).filter(|c| c.name == name).count();
        if uses > 0 {
            bad.push(BadAnnotation::new(key, value, uses, opts.field_errors));
        }
    }
    if bad.is_empty() {
        return None;
    }
    // Upstream sorts the items; its field errors follow Go map order, so sort those too.
    bad.sort_by(|a, b| a.item.cmp(&b.item));
    let detail = format!(
        "forbidden {} {}",
        noun(bad.len(), "annotation", "annotations"),
        bad.iter()
            .map(|b| b.item.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    );
    let field_errors = bad.into_iter().flat_map(|b| b.errors).collect();
    Some(Forbidden {
        reason: "seccompProfile",
        detail,
        field_errors,
    })
}

fn valid_type(profile: &SeccompProfile) -> bool {
    profile.type_ == "RuntimeDefault" || profile.type_ == "Localhost"
}

fn v1_19(_meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    let mut values: Vec<&str> = Vec::new();
    let pod_profile = spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.seccomp_profile.as_ref());
    let pod_bad = pod_profile.filter(|p| !valid_type(p));
    if let Some(p) = pod_bad {
        values.push(&p.type_);
    }
    let mut containers = Violations::new(opts);
    for c in visit(spec) {
        let profile = c
            .security_context
            .and_then(|sc| sc.seccomp_profile.as_ref());
        if let Some(p) = profile.filter(|p| !valid_type(p)) {
            values.push(&p.type_);
            containers.add(c.name, || {
                FieldError::forbidden(
                    format!("{}.securityContext.seccompProfile.type", c.path()),
                    BadValue::Str(p.type_.clone()),
                )
            });
        }
    }
    if pod_bad.is_none() && containers.is_empty() {
        return None;
    }
    let mut field_errors = Vec::new();
    if let (Some(p), true) = (pod_bad, opts.field_errors) {
        field_errors.push(FieldError::forbidden(
            "spec.securityContext.seccompProfile.type".to_owned(),
            BadValue::Str(p.type_.clone()),
        ));
    }
    let mut detail = setters(
        pod_bad.is_some(),
        containers.names(),
        " must not set securityContext.seccompProfile.type to ",
    );
    push_join_quote(&mut detail, &sorted_unique(values));
    field_errors.extend(containers.into_errors());
    Some(Forbidden {
        reason: "seccompProfile",
        detail,
        field_errors,
    })
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::{Value, json};

    use crate::CheckId;
    use crate::result::{BadValue, FieldError};
    use crate::testing::{TestPod, check_detail, check_field_errors, pod, pod_with_meta};

    const POD: &str = "seccomp.security.alpha.kubernetes.io/pod";
    const C: &str = "container.seccomp.security.alpha.kubernetes.io/";

    /// The v1.0 message for the pod annotation set to `unconfined`.
    const POD_UNCONFINED: &str = "seccompProfile (forbidden annotation \
        seccomp.security.alpha.kubernetes.io/pod=\"unconfined\")";
    /// The v1.19 message for the pod field set to `Unconfined`.
    const POD_FIELD_UNCONFINED: &str =
        "seccompProfile (pod must not set securityContext.seccompProfile.type to \"Unconfined\")";

    /// Containers a, b, c with the annotations given as (key, value); a key without a `/`
    /// is a container name.
    fn annotated(pairs: &[(&str, &str)]) -> TestPod {
        let annotations: serde_json::Map<String, Value> = pairs
            .iter()
            .map(|(k, v)| {
                (
                    if k.contains('/') {
                        (*k).to_owned()
                    } else {
                        format!("{C}{k}")
                    },
                    json!(v),
                )
            })
            .collect();
        let spec = json!({"containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}]});
        pod_with_meta(json!({"annotations": annotations}), spec)
    }

    /// A container named `name` with `seccompProfile.type` set to `type_`.
    fn ctr(name: &str, type_: &str) -> Value {
        json!({"name": name, "securityContext": {"seccompProfile": {"type": type_}}})
    }

    fn pod_sc(type_: &str) -> Value {
        json!({"seccompProfile": {"type": type_}})
    }

    fn detail(minor: u32, p: &TestPod) -> Option<String> {
        check_detail(CheckId::SeccompProfileBaseline, minor, p)
    }

    #[test]
    fn upstream_pod_annotation() {
        let p = annotated(&[(POD, "unconfined")]);
        assert_eq!(detail(0, &p).as_deref(), Some(POD_UNCONFINED));
    }

    #[test]
    fn upstream_pod_and_container_annotations() {
        let p = annotated(&[
            (POD, "unconfined"),
            ("a", "unconfined"),
            ("b", "unknown"),
            ("c", "runtime/default"),
            ("x", "unconfined"),
        ]);
        assert_eq!(
            detail(18, &p).as_deref(),
            Some(
                "seccompProfile (forbidden annotations \
                 container.seccomp.security.alpha.kubernetes.io/a=\"unconfined\", \
                 container.seccomp.security.alpha.kubernetes.io/b=\"unknown\", \
                 seccomp.security.alpha.kubernetes.io/pod=\"unconfined\")"
            )
        );
    }

    #[test]
    fn allowed_annotation_values() {
        let p = annotated(&[
            (POD, "docker/default"),
            ("a", "runtime/default"),
            ("b", "localhost/"),
            ("c", "localhost/p"),
        ]);
        assert_eq!(detail(0, &p), None);
    }

    /// E8: an empty annotation value is forbidden (and values are quoted Go-style).
    #[test]
    fn e8_empty_annotation_value_is_forbidden() {
        let p = annotated(&[(POD, "")]);
        assert_eq!(
            detail(0, &p).as_deref(),
            Some(
                "seccompProfile (forbidden annotation \
                 seccomp.security.alpha.kubernetes.io/pod=\"\")"
            )
        );
        let q = annotated(&[("a", "a\"b\n")]);
        assert_eq!(
            detail(0, &q).as_deref(),
            Some(
                "seccompProfile (forbidden annotation \
                 container.seccomp.security.alpha.kubernetes.io/a=\"a\\\"b\\n\")"
            )
        );
    }

    /// E7 and the v1.19 boundary: annotations up to v1.18, fields from v1.19.
    #[rstest]
    #[case(0, POD_UNCONFINED)]
    #[case(18, POD_UNCONFINED)]
    #[case(19, POD_FIELD_UNCONFINED)]
    #[case(37, POD_FIELD_UNCONFINED)]
    fn e7_annotations_before_v1_19_fields_after(#[case] minor: u32, #[case] want: &str) {
        let p = pod_with_meta(
            json!({"annotations": {POD: "unconfined"}}),
            json!({"securityContext": pod_sc("Unconfined")}),
        );
        assert_eq!(detail(minor, &p).as_deref(), Some(want));
    }

    #[test]
    fn e7_each_source_alone_is_ignored_on_the_other_side() {
        let field = pod(json!({"securityContext": pod_sc("Unconfined")}));
        assert_eq!(detail(18, &field), None);
        assert_eq!(detail(19, &field).as_deref(), Some(POD_FIELD_UNCONFINED));
        let annotation = annotated(&[(POD, "unconfined")]);
        assert_eq!(detail(18, &annotation).as_deref(), Some(POD_UNCONFINED));
        assert_eq!(detail(19, &annotation), None);
    }

    #[test]
    fn upstream_field_examples() {
        let localhost = json!({"type": "Localhost", "localhostProfile": "p"});
        let containers = json!([
            {"name": "a"},
            ctr("b", "RuntimeDefault"),
            ctr("c", "Unconfined"),
            ctr("d", "Unconfined"),
            {"name": "e", "securityContext": {"seccompProfile": localhost}},
        ]);
        let pod_only = pod(json!({"securityContext": pod_sc("Unconfined")}));
        assert_eq!(detail(19, &pod_only).as_deref(), Some(POD_FIELD_UNCONFINED));
        let both = pod(json!({"securityContext": pod_sc("Unconfined"), "containers": containers}));
        assert_eq!(
            detail(19, &both).as_deref(),
            Some(
                "seccompProfile (pod and containers \"c\", \"d\" must not set \
                 securityContext.seccompProfile.type to \"Unconfined\")"
            )
        );
        let only = pod(json!({"containers": containers}));
        assert_eq!(
            detail(37, &only).as_deref(),
            Some(
                "seccompProfile (containers \"c\", \"d\" must not set \
                 securityContext.seccompProfile.type to \"Unconfined\")"
            )
        );
    }

    /// E16 (baseline part): Windows pods get no exemption at baseline.
    #[test]
    fn e16_windows_pod_is_not_exempt_at_baseline() {
        let p = pod(json!({"os": {"name": "windows"}, "securityContext": pod_sc("Unconfined")}));
        assert_eq!(detail(25, &p).as_deref(), Some(POD_FIELD_UNCONFINED));
    }

    #[test]
    fn empty_type_is_forbidden_and_values_are_sorted() {
        let p =
            pod(json!({"securityContext": pod_sc(""), "initContainers": [ctr("i", "Unconfined")]}));
        assert_eq!(
            detail(37, &p).as_deref(),
            Some(
                "seccompProfile (pod and container \"i\" must not set \
                 securityContext.seccompProfile.type to \"\", \"Unconfined\")"
            )
        );
    }

    #[test]
    fn field_errors_for_fields_pod_first() {
        let p =
            pod(json!({"securityContext": pod_sc("Unconfined"), "containers": [ctr("c", "x")]}));
        let f = |p: &str, v: &str| FieldError::forbidden(p.into(), BadValue::Str(v.into()));
        assert_eq!(
            check_field_errors(CheckId::SeccompProfileBaseline, 37, &p),
            vec![
                f("spec.securityContext.seccompProfile.type", "Unconfined"),
                f(
                    "spec.containers[0].securityContext.seccompProfile.type",
                    "x"
                ),
            ]
        );
    }

    #[test]
    fn field_errors_for_annotations_sorted_by_item() {
        let p = annotated(&[(POD, "unconfined"), ("b", "")]);
        let f = |p: &str, v: &str| FieldError::forbidden(p.into(), BadValue::Str(v.into()));
        assert_eq!(
            check_field_errors(CheckId::SeccompProfileBaseline, 0, &p),
            vec![
                f(
                    "metadata.annotations[container.seccomp.security.alpha.kubernetes.io/b]",
                    ""
                ),
                f(
                    "metadata.annotations[seccomp.security.alpha.kubernetes.io/pod]",
                    "unconfined"
                ),
            ]
        );
    }

    #[test]
    fn duplicate_container_names_list_once_with_an_error_each() {
        let p = pod_with_meta(
            json!({"annotations": {format!("{C}d"): "u"}}),
            json!({"initContainers": [{"name": "d"}], "containers": [{"name": "d"}]}),
        );
        assert_eq!(
            detail(0, &p).as_deref(),
            Some(
                "seccompProfile (forbidden annotation \
                 container.seccomp.security.alpha.kubernetes.io/d=\"u\")"
            )
        );
        assert_eq!(
            check_field_errors(CheckId::SeccompProfileBaseline, 0, &p).len(),
            2
        );
    }
}
