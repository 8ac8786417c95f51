//! Rule-level `podSecurity.exclude` (Kyverno's `ApplyPodSecurityExclusion`). Each exclude
//! entry builds a probe pod, evaluates the same checks on it, and removes what the probe
//! also fails:
//!
//! - no `images`: the probe is the pod with one bare container named `fake` (so restricted
//!   container checks fail on it too, and each such probe error removes one real
//!   container error with the same wildcarded path);
//! - `images`: the probe keeps only the containers whose raw image matches a pattern, and
//!   a container error is removed only for a container of the same name.
//!
//! A probe error qualifies when `restrictedField` is empty or equals its path with every
//! digit run replaced by `*`, and every string of its bad value matches `values`. Removal
//! is swap-with-last, and the result list is rebuilt from a Go map, so after any exclusion
//! the check order is not deterministic in Kyverno (this crate keeps the normal order).
//!
//! Before v1.12 an exclusion removed a whole check as soon as the probe failed it.

use k8s_openapi::api::core::v1::{Container, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use pss::{BadValue, CheckId};

use crate::controls::check_ids;
use crate::line::KyvernoLine;
use crate::pod_extract::PodView;
use crate::pod_security::PodSecurityStandard;
use crate::pss_eval::CheckResult;
use crate::wildcard;

/// Evaluates a probe pod with the rule's level and version.
pub type Evaluate<'f> = &'f dyn Fn(&PodView) -> Vec<CheckResult>;

/// Apply every exclude entry in order.
pub fn apply(
    excludes: &[PodSecurityStandard],
    mut results: Vec<CheckResult>,
    pod: &PodView,
    line: KyvernoLine,
    evaluate: Evaluate<'_>,
) -> Vec<CheckResult> {
    for exclude in excludes {
        let probe = Probe::build(exclude, pod);
        let probe_results = evaluate(&probe.pod);
        results = if line.legacy_evaluation() {
            exempt_whole_checks(results, &probe_results, exclude)
        } else {
            exempt_fields(results, &probe_results, exclude, pod, &probe)
        };
    }
    results
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

struct Probe {
    pod: PodView,
    /// Built from matching containers (`images` set): container errors compare names.
    by_images: bool,
}

impl Probe {
    fn build(exclude: &PodSecurityStandard, pod: &PodView) -> Probe {
        if exclude.images.is_empty() {
            let mut probe = pod.clone();
            probe.spec.containers = vec![Container {
                name: "fake".to_owned(),
                ..Default::default()
            }];
            probe.spec.init_containers = None;
            probe.spec.ephemeral_containers = None;
            return Probe {
                pod: probe,
                by_images: false,
            };
        }
        let keep = |image: &Option<String>| {
            wildcard::any_matches(&exclude.images, image.as_deref().unwrap_or(""))
        };
        let spec = PodSpec {
            containers: pod
                .spec
                .containers
                .iter()
                .filter(|c| keep(&c.image))
                .cloned()
                .collect(),
            init_containers: non_empty(
                pod.spec
                    .init_containers
                    .iter()
                    .flatten()
                    .filter(|c| keep(&c.image))
                    .cloned()
                    .collect(),
            ),
            ephemeral_containers: non_empty(
                pod.spec
                    .ephemeral_containers
                    .iter()
                    .flatten()
                    .filter(|c| keep(&c.image))
                    .cloned()
                    .collect(),
            ),
            ..Default::default()
        };
        let meta = ObjectMeta {
            name: pod.meta.name.clone(),
            namespace: pod.meta.namespace.clone(),
            ..Default::default()
        };
        Probe {
            pod: PodView { meta, spec },
            by_images: true,
        }
    }
}

/// A field path as the exclusion compares it.
#[derive(Debug, PartialEq, Eq)]
struct ParsedField {
    wildcarded: String,
    /// `(list, index)` for container fields, when parsed for an image exclusion.
    container: Option<(String, usize)>,
}

impl ParsedField {
    fn parse(path: &str, by_images: bool) -> ParsedField {
        let wildcarded = wildcard_digits(path);
        let container = if by_images { container_of(path) } else { None };
        ParsedField {
            wildcarded,
            container,
        }
    }
}

/// Replace every run of ASCII digits by `*` (`\d+` -> `*`).
pub(crate) fn wildcard_digits(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_digits = false;
    for c in path.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('*');
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    out
}

/// Kyverno's `parseField`: the second alphabetic token names the list, the first digit run
/// is the index; only `containers`, `initContainers` and `ephemeralContainers` count.
fn container_of(path: &str) -> Option<(String, usize)> {
    let list = path
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|t| !t.is_empty())
        .nth(1)?;
    if !matches!(
        list,
        "containers" | "initContainers" | "ephemeralContainers"
    ) {
        return None;
    }
    let digits: String = path
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    Some((list.to_owned(), digits.parse().unwrap_or(0)))
}

fn container_name<'p>(spec: &'p PodSpec, list: &str, index: usize) -> Option<&'p str> {
    match list {
        "containers" => spec.containers.get(index).map(|c| c.name.as_str()),
        "initContainers" => spec
            .init_containers
            .as_ref()?
            .get(index)
            .map(|c| c.name.as_str()),
        "ephemeralContainers" => spec
            .ephemeral_containers
            .as_ref()?
            .get(index)
            .map(|c| c.name.as_str()),
        _ => None,
    }
}

/// The strings a bad value contributes to the `values` test.
pub(crate) fn bad_value_strings(bad: &BadValue) -> Vec<String> {
    match bad {
        BadValue::Empty => Vec::new(),
        BadValue::Str(s) if s.is_empty() => Vec::new(),
        BadValue::Str(s) => vec![s.clone()],
        BadValue::Bool(b) => vec![b.to_string()],
        BadValue::Int(i) => vec![i.to_string()],
        BadValue::StrList(items) => items.clone(),
    }
}

fn values_allow(exclude: &PodSecurityStandard, bad: &BadValue) -> bool {
    exclude.values.is_empty()
        || bad_value_strings(bad)
            .iter()
            .all(|v| wildcard::any_matches(&exclude.values, v))
}

/// v1.12+: remove field errors the probe shares (see the module doc).
fn exempt_fields(
    mut results: Vec<CheckResult>,
    probe_results: &[CheckResult],
    exclude: &PodSecurityStandard,
    pod: &PodView,
    probe: &Probe,
) -> Vec<CheckResult> {
    let ids = check_ids(exclude.control_name_str());
    for probe_result in probe_results.iter().filter(|r| ids.contains(&r.id)) {
        for probe_error in &probe_result.forbidden.field_errors {
            let field = ParsedField::parse(&probe_error.path, probe.by_images);
            let field_ok =
                exclude.restricted_field.is_empty() || field.wildcarded == exclude.restricted_field;
            if !field_ok || !values_allow(exclude, &probe_error.bad_value) {
                continue;
            }
            let probe_container = field
                .container
                .as_ref()
                .and_then(|(l, i)| container_name(&probe.pod.spec, l, *i));
            remove_matching_error(
                &mut results,
                probe_result.id,
                &field,
                probe_container,
                pod,
                probe.by_images,
            );
        }
    }
    results
}

/// Remove from the real result of `id` the first error with the same wildcarded path (and,
/// for container fields of an image exclusion, the same container name); drop the check
/// when no error is left.
fn remove_matching_error(
    results: &mut Vec<CheckResult>,
    id: CheckId,
    field: &ParsedField,
    probe_container: Option<&str>,
    pod: &PodView,
    by_images: bool,
) {
    let Some(pos) = results.iter().position(|r| r.id == id) else {
        return;
    };
    let errors = &mut results[pos].forbidden.field_errors;
    let hit = errors.iter().position(|e| {
        let real = ParsedField::parse(&e.path, by_images);
        real.wildcarded == field.wildcarded
            && match &real.container {
                Some((list, index)) => {
                    container_name(&pod.spec, list, *index).unwrap_or("")
                        == probe_container.unwrap_or("")
                }
                None => true,
            }
    });
    if let Some(i) = hit {
        errors.swap_remove(i);
    }
    if errors.is_empty() {
        results.remove(pos);
    }
}

/// Before v1.12: drop a whole check of the control when the probe fails it (duplicate
/// entries of one check collapse to the last, as the Go map keeps it).
fn exempt_whole_checks(
    results: Vec<CheckResult>,
    probe_results: &[CheckResult],
    exclude: &PodSecurityStandard,
) -> Vec<CheckResult> {
    let ids = check_ids(exclude.control_name_str());
    let mut by_id: Vec<CheckResult> = Vec::with_capacity(results.len());
    for r in results {
        match by_id.iter().position(|d| d.id == r.id) {
            Some(p) => by_id[p] = r,
            None => by_id.push(r),
        }
    }
    by_id.retain(|r| !(ids.contains(&r.id) && probe_results.iter().any(|p| p.id == r.id)));
    by_id
}

#[cfg(test)]
mod tests {
    use super::*;
    use pss::{FieldError, Forbidden};
    use rstest::rstest;
    use serde_json::json;

    fn pod(spec: serde_json::Value) -> PodView {
        PodView {
            meta: Default::default(),
            spec: serde_json::from_value(spec).unwrap(),
        }
    }

    fn exclude(v: serde_json::Value) -> PodSecurityStandard {
        let at = crate::policy_error::Location::root();
        crate::pod_security::decode(&json!({"exclude": [v]}), &at)
            .unwrap()
            .exclude
            .remove(0)
    }

    fn result(id: CheckId, errors: Vec<FieldError>) -> CheckResult {
        CheckResult {
            id,
            forbidden: Forbidden {
                reason: "r",
                detail: String::new(),
                field_errors: errors,
            },
        }
    }

    fn forbidden(path: &str, bad: BadValue) -> FieldError {
        FieldError::forbidden(path.to_owned(), bad)
    }

    /// A stand-in for the checks: host namespaces and container hostPorts, from the spec.
    fn fake_eval(p: &PodView) -> Vec<CheckResult> {
        let mut out = Vec::new();
        let mut ns = Vec::new();
        if p.spec.host_network == Some(true) {
            ns.push(forbidden("spec.hostNetwork", BadValue::Bool(true)));
        }
        if p.spec.host_pid == Some(true) {
            ns.push(forbidden("spec.hostPID", BadValue::Bool(true)));
        }
        if !ns.is_empty() {
            out.push(result(CheckId::HostNamespaces, ns));
        }
        let mut ports = Vec::new();
        for (i, c) in p.spec.containers.iter().enumerate() {
            for (j, port) in c.ports.iter().flatten().enumerate() {
                if let Some(hp) = port.host_port.filter(|hp| *hp != 0) {
                    ports.push(forbidden(
                        &format!("spec.containers[{i}].ports[{j}].hostPort"),
                        BadValue::Int(hp.into()),
                    ));
                }
            }
        }
        if !ports.is_empty() {
            out.push(result(CheckId::HostPorts, ports));
        }
        out
    }

    fn run(excludes: &[PodSecurityStandard], p: &PodView, line: KyvernoLine) -> Vec<CheckResult> {
        apply(excludes, fake_eval(p), p, line, &fake_eval)
    }

    fn paths(results: &[CheckResult]) -> Vec<String> {
        results
            .iter()
            .flat_map(|r| r.forbidden.field_errors.iter().map(|e| e.path.clone()))
            .collect()
    }

    #[rstest]
    #[case(
        "spec.containers[0].ports[12].hostPort",
        "spec.containers[*].ports[*].hostPort"
    )]
    #[case(
        "metadata.annotations[container.apparmor.security.beta.kubernetes.io/c1]",
        "metadata.annotations[container.apparmor.security.beta.kubernetes.io/c*]"
    )]
    #[case("spec.hostNetwork", "spec.hostNetwork")]
    fn wildcards_digit_runs(#[case] path: &str, #[case] want: &str) {
        assert_eq!(wildcard_digits(path), want);
    }

    #[test]
    fn parses_container_fields() {
        assert_eq!(
            container_of("spec.initContainers[3].securityContext.privileged"),
            Some(("initContainers".into(), 3))
        );
        assert_eq!(container_of("spec.volumes[0].hostPath"), None);
        assert_eq!(container_of("metadata.annotations[x]"), None);
    }

    #[test]
    fn bad_values_become_strings() {
        assert_eq!(bad_value_strings(&BadValue::Empty), Vec::<String>::new());
        assert_eq!(
            bad_value_strings(&BadValue::Str(String::new())),
            Vec::<String>::new()
        );
        assert_eq!(bad_value_strings(&BadValue::Bool(true)), vec!["true"]);
        assert_eq!(bad_value_strings(&BadValue::Int(80)), vec!["80"]);
        assert_eq!(
            bad_value_strings(&BadValue::StrList(vec!["A".into(), "B".into()])),
            vec!["A", "B"]
        );
    }

    #[test]
    fn pod_level_exclusion_by_control_name() {
        let p = pod(json!({"hostNetwork": true, "hostPID": true, "containers": [{"name": "a"}]}));
        let out = run(
            &[exclude(json!({"controlName": "Host Namespaces"}))],
            &p,
            KyvernoLine::V1_19,
        );
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn restricted_field_and_values_select_errors() {
        let p = pod(json!({"hostNetwork": true, "hostPID": true, "containers": [{"name": "a"}]}));
        let only_network = exclude(json!({
            "controlName": "Host Namespaces",
            "restrictedField": "spec.hostNetwork",
            "values": ["true"],
        }));
        assert_eq!(
            paths(&run(&[only_network], &p, KyvernoLine::V1_19)),
            vec!["spec.hostPID"]
        );
        let wrong_value = exclude(json!({
            "controlName": "Host Namespaces",
            "restrictedField": "spec.hostNetwork",
            "values": ["false"],
        }));
        assert_eq!(
            paths(&run(&[wrong_value], &p, KyvernoLine::V1_19)),
            vec!["spec.hostNetwork", "spec.hostPID"]
        );
        let other_control = exclude(json!({"controlName": "Sysctls"}));
        assert_eq!(run(&[other_control], &p, KyvernoLine::V1_19).len(), 1);
    }

    #[test]
    fn image_exclusion_removes_errors_of_matching_containers_only() {
        let p = pod(json!({"containers": [
            {"name": "web", "image": "nginx:1", "ports": [{"containerPort": 80, "hostPort": 80}]},
            {"name": "db", "image": "pg", "ports": [{"containerPort": 5432, "hostPort": 5432}]},
        ]}));
        let ex = exclude(json!({"controlName": "Host Ports", "images": ["nginx*"]}));
        assert_eq!(
            paths(&run(&[ex], &p, KyvernoLine::V1_19)),
            vec!["spec.containers[1].ports[0].hostPort"]
        );
        let values = exclude(json!({
            "controlName": "Host Ports",
            "images": ["*"],
            "restrictedField": "spec.containers[*].ports[*].hostPort",
            "values": ["80"],
        }));
        assert_eq!(
            paths(&run(&[values], &p, KyvernoLine::V1_19)),
            vec!["spec.containers[1].ports[0].hostPort"]
        );
    }

    #[test]
    fn removal_swaps_with_the_last_error() {
        let p = pod(json!({"containers": [
            {"name": "a", "image": "x", "ports": [{"containerPort": 1, "hostPort": 1}]},
            {"name": "b", "image": "y", "ports": [{"containerPort": 2, "hostPort": 2}]},
            {"name": "c", "image": "z", "ports": [{"containerPort": 3, "hostPort": 3}]},
        ]}));
        let ex = exclude(json!({"controlName": "Host Ports", "images": ["x"]}));
        assert_eq!(
            paths(&run(&[ex], &p, KyvernoLine::V1_12)),
            vec![
                "spec.containers[2].ports[0].hostPort",
                "spec.containers[1].ports[0].hostPort"
            ]
        );
    }

    #[test]
    fn fake_container_probe_removes_container_errors_one_per_probe_error() {
        // A probe error on the `fake` container (spec.containers[0]...) removes the first
        // real error with the same wildcarded path, whoever's it is.
        let real = vec![result(
            CheckId::HostPorts,
            vec![
                forbidden("spec.containers[0].ports[0].hostPort", BadValue::Int(1)),
                forbidden("spec.containers[1].ports[0].hostPort", BadValue::Int(2)),
            ],
        )];
        let probe_eval = |_: &PodView| {
            vec![result(
                CheckId::HostPorts,
                vec![forbidden(
                    "spec.containers[0].ports[0].hostPort",
                    BadValue::Int(9),
                )],
            )]
        };
        let p = pod(json!({"containers": [{"name": "a"}, {"name": "b"}]}));
        let ex = exclude(json!({"controlName": "Host Ports"}));
        let out = apply(&[ex], real, &p, KyvernoLine::V1_19, &probe_eval);
        assert_eq!(paths(&out), vec!["spec.containers[1].ports[0].hostPort"]);
    }

    #[test]
    fn legacy_line_drops_whole_checks() {
        let p = pod(json!({"hostNetwork": true, "hostPID": true, "containers": [{"name": "a"}]}));
        let only_network = exclude(json!({
            "controlName": "Host Namespaces",
            "restrictedField": "spec.hostNetwork",
            "values": ["true"],
        }));
        assert!(run(&[only_network], &p, KyvernoLine::V1_10).is_empty());
        let dupes = vec![
            result(CheckId::HostPorts, vec![]),
            result(CheckId::HostPorts, vec![forbidden("x", BadValue::Empty)]),
        ];
        let out = exempt_whole_checks(dupes, &[], &exclude(json!({"controlName": "Sysctls"})));
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].forbidden.field_errors.len(),
            1,
            "the last duplicate wins"
        );
    }

    #[test]
    fn probe_pods() {
        let p = PodView {
            meta: serde_json::from_value(
                json!({"name": "p", "namespace": "n", "annotations": {"a": "b"}}),
            )
            .unwrap(),
            spec: serde_json::from_value(json!({
                "hostNetwork": true,
                "initContainers": [{"name": "i", "image": "nginx"}],
                "containers": [{"name": "c", "image": "busybox"}],
            }))
            .unwrap(),
        };
        let a = Probe::build(&exclude(json!({"controlName": "Host Namespaces"})), &p);
        assert_eq!(a.pod.spec.containers.len(), 1);
        assert_eq!(a.pod.spec.containers[0].name, "fake");
        assert_eq!(a.pod.spec.host_network, Some(true));
        assert!(a.pod.spec.init_containers.is_none() && a.pod.meta.annotations.is_some());
        let b = Probe::build(
            &exclude(json!({"controlName": "Host Ports", "images": ["ngin?"]})),
            &p,
        );
        assert!(b.pod.spec.containers.is_empty());
        assert_eq!(b.pod.spec.init_containers.as_ref().unwrap()[0].name, "i");
        assert_eq!(b.pod.spec.host_network, None);
        assert_eq!(b.pod.meta.name.as_deref(), Some("p"));
        assert!(b.pod.meta.annotations.is_none());
    }
}
