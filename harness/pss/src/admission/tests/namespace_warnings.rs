//! §3.6–§3.7: tightening warnings (upstream's fake-evaluator cases verbatim) and the
//! exempt-namespace warning.

use super::*;

// §3.6 Tightening warnings, verbatim from upstream's test (fake evaluator, limit 4).

fn annotated_pod(
    name: &str,
    error: &str,
    runtime_class: Option<&str>,
    owner: Option<&str>,
) -> k8s_openapi::api::core::v1::Pod {
    let mut value = json!({"metadata": {"name": name, "annotations": {"error": error}},
        "spec": {"containers": []}});
    if let Some(rc) = runtime_class {
        value["spec"]["runtimeClassName"] = json!(rc);
    }
    if let Some(uid) = owner {
        value["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1",
            "kind": "ReplicaSet", "name": "rs", "uid": uid, "controller": true}]);
    }
    pod(value)
}

fn upstream_default_pods() -> Vec<k8s_openapi::api::core::v1::Pod> {
    vec![
        annotated_pod("noruntimeclasspod", "message", None, None),
        annotated_pod("runtimeclass1pod", "message", Some("runtimeclass1"), None),
        annotated_pod("runtimeclass2pod", "message", Some("runtimeclass2"), None),
        annotated_pod("runtimeclass3pod", "message, message2", None, None),
    ]
}

struct TightenCase {
    defaults: Policy,
    exempt_runtime_classes: Vec<String>,
    new: Vec<(&'static str, &'static str)>,
    old: Vec<(&'static str, &'static str)>,
    pods: PodListing,
    evaluation_delay: Duration,
}

impl Default for TightenCase {
    fn default() -> Self {
        TightenCase {
            defaults: Policy::PRIVILEGED,
            exempt_runtime_classes: vec![],
            new: vec![("enforce", "restricted")],
            old: vec![("enforce", "baseline")],
            pods: Ok(upstream_default_pods()),
            evaluation_delay: Duration::ZERO,
        }
    }
}

impl TightenCase {
    fn run(self) -> Response {
        let exemptions = Exemptions {
            runtime_classes: self.exempt_runtime_classes,
            ..Exemptions::default()
        };
        let mut a = Admission::new(AdmissionConfig {
            defaults: self.defaults,
            exemptions,
        });
        a.limits = TighteningLimits {
            max_pods: 4,
            timeout: Duration::from_secs(1),
        };
        let req = Request::namespace(
            ns_object("test", &self.new),
            Some(ns_object("test", &self.old)),
        )
        .with_existing_pods(self.pods);
        let clock = FakeClock::default();
        let mut reasons = |lv: &_, meta: &_, spec: &_| {
            clock.advance(self.evaluation_delay);
            annotation_reasons(lv, meta, spec)
        };
        a.validate_namespace_with(&req, &clock, &mut reasons)
    }
}

const HEADER: &str = "existing pods in namespace \"test\" violate the new PodSecurity enforce \
                      level \"restricted:latest\"";

#[test]
fn tightening_to_implicit_restricted() {
    let r = TightenCase {
        defaults: Policy {
            enforce: lv("restricted:latest"),
            ..Policy::PRIVILEGED
        },
        new: vec![],
        old: vec![("enforce", "baseline"), ("enforce-version", "v1.0")],
        ..TightenCase::default()
    }
    .run();
    assert!(r.allowed && r.status.is_none());
    assert_eq!(
        r.warnings,
        [
            HEADER,
            "noruntimeclasspod (and 2 other pods): message",
            "runtimeclass3pod: message, message2"
        ]
    );
}

#[test]
fn tightening_skips_exempt_runtime_classes() {
    let r = TightenCase {
        exempt_runtime_classes: vec!["runtimeclass1".into()],
        ..TightenCase::default()
    }
    .run();
    assert_eq!(
        r.warnings,
        [
            HEADER,
            "noruntimeclasspod (and 1 other pod): message",
            "runtimeclass3pod: message, message2"
        ]
    );
}

#[test]
fn tightening_list_failure() {
    let r = TightenCase {
        pods: Err("context deadline exceeded".into()),
        ..TightenCase::default()
    }
    .run();
    assert_eq!(
        r.warnings,
        ["failed to list pods while checking new PodSecurity enforce level"]
    );
}

#[test]
fn tightening_deadline_stops_after_the_pod_that_passed_it() {
    let r = TightenCase {
        evaluation_delay: Duration::from_millis(550),
        ..TightenCase::default()
    }
    .run();
    assert_eq!(
        r.warnings,
        [
            "new PodSecurity enforce level only checked against the first 2 of 4 existing pods",
            HEADER,
            "noruntimeclasspod (and 1 other pod): message",
        ]
    );
}

#[test]
fn tightening_deadline_shrinks_to_half_the_remaining_time() {
    let exemptions = Exemptions::default();
    let a = Admission::new(AdmissionConfig {
        exemptions,
        ..AdmissionConfig::default()
    });
    let req = Request::namespace(
        ns_object("test", &[("enforce", "restricted")]),
        Some(ns_object("test", &[])),
    )
    .with_existing_pods(Ok(upstream_default_pods()))
    .with_remaining(Duration::from_millis(1000));
    let clock = FakeClock::default();
    let mut reasons = |lv: &_, meta: &_, spec: &_| {
        clock.advance(Duration::from_millis(300));
        annotation_reasons(lv, meta, spec)
    };
    let r = a.validate_namespace_with(&req, &clock, &mut reasons);
    assert_eq!(
        r.warnings[0],
        "new PodSecurity enforce level only checked against the first 2 of 4 existing pods"
    );
}

#[test]
fn tightening_bounds_the_number_of_pods() {
    let pods = (1..=5)
        .map(|i| annotated_pod(&format!("pod{i}"), "message", None, None))
        .collect();
    let r = TightenCase {
        pods: Ok(pods),
        ..TightenCase::default()
    }
    .run();
    assert_eq!(
        r.warnings,
        [
            "new PodSecurity enforce level only checked against the first 4 of 5 existing pods",
            HEADER,
            "pod1 (and 3 other pods): message",
        ]
    );
}

#[test]
fn tightening_prioritizes_unique_controllers() {
    let mut pods = Vec::new();
    for i in 1..=4 {
        pods.push(annotated_pod(
            &format!("exemptpod{i}"),
            "message1",
            Some("runtimeclass1"),
            None,
        ));
    }
    for rs in 1..=2 {
        for i in 1..=4 {
            let name = format!("replicaset{rs}pod{i}");
            pods.push(annotated_pod(
                &name,
                &format!("replicaset{rs}error"),
                None,
                Some(&rs.to_string()),
            ));
        }
    }
    for i in 1..=4 {
        pods.push(annotated_pod(
            &format!("uniquepod{i}"),
            &format!("uniquemessage{i}"),
            None,
            None,
        ));
    }
    let r = TightenCase {
        exempt_runtime_classes: vec!["runtimeclass1".into()],
        pods: Ok(pods),
        ..TightenCase::default()
    }
    .run();
    assert_eq!(
        r.warnings,
        [
            "new PodSecurity enforce level only checked against the first 4 of 12 existing pods",
            HEADER,
            "replicaset1pod1: replicaset1error",
            "replicaset2pod1: replicaset2error",
            "uniquepod1: uniquemessage1",
            "uniquepod2: uniquemessage2",
        ]
    );
}

#[test]
fn tightening_with_real_checks() {
    let pods = ["web-2", "web-1", "web-3"]
        .iter()
        .map(|n| pod(pod_value(n, privileged_spec())))
        .chain([pod(pod_value("ok", plain_spec()))])
        .collect();
    let req = Request::namespace(
        ns_object("team", &[("enforce", "baseline")]),
        Some(ns_object("team", &[])),
    )
    .with_existing_pods(Ok(pods));
    let r = admission().validate(&req);
    assert!(r.allowed);
    assert_eq!(
        r.warnings,
        [
            "existing pods in namespace \"team\" violate the new PodSecurity enforce level \
             \"baseline:latest\"",
            "web-1 (and 2 other pods): privileged",
        ]
    );
    assert!(r.audit_annotations.is_empty());
}

// §3.7 Exempt-namespace warning.

fn exempt_test_namespace() -> Admission<'static> {
    exempting(Exemptions {
        namespaces: vec!["test".into()],
        ..Exemptions::default()
    })
}

#[test]
fn exempt_namespace_warning_on_create() {
    let r = exempt_test_namespace().validate(&Request::namespace(
        ns_object("test", &[("enforce", "restricted")]),
        None,
    ));
    assert_eq!(
        r.warnings,
        [
            "namespace \"test\" is exempt from Pod Security, and the policy \
             (enforce=restricted:latest) will be ignored"
        ]
    );
    assert!(r.allowed && r.audit_annotations.is_empty());
    let labels = [
        ("enforce", "restricted"),
        ("enforce-version", "v1.0"),
        ("audit", "restricted"),
        ("warn", "baseline"),
    ];
    let r = exempt_test_namespace().validate(&Request::namespace(ns_object("test", &labels), None));
    assert_eq!(
        r.warnings,
        [
            "namespace \"test\" is exempt from Pod Security, and the policy \
             (enforce=restricted:v1.0, audit=restricted:latest, warn=baseline:latest) will be \
             ignored"
        ]
    );
    // Privileged labels: nothing to ignore.
    let r = exempt_test_namespace().validate(&Request::namespace(
        ns_object("test", &[("enforce", "privileged")]),
        None,
    ));
    assert_eq!(r, Response::allow());
    // Invalid labels are still refused.
    let r = exempt_test_namespace().validate(&Request::namespace(
        ns_object("test", &[("enforce", "x")]),
        None,
    ));
    assert!(!r.allowed);
}

#[test]
fn exempt_namespace_warning_on_update_only_when_tightened() {
    let a = exempt_test_namespace();
    let new = ns_object(
        "test",
        &[("enforce", "restricted"), ("enforce-version", "v1.0")],
    );
    let r = a.validate(
        &Request::namespace(new, Some(ns_object("test", &[])))
            .with_existing_pods(Ok(upstream_default_pods())),
    );
    assert_eq!(
        r.warnings,
        [
            "namespace \"test\" is exempt from Pod Security, and the policy \
             (enforce=restricted:v1.0) will be ignored"
        ]
    );
    let same = ns_object("test", &[("enforce", "restricted")]);
    let r = a.validate(&Request::namespace(same.clone(), Some(same)));
    assert_eq!(r, Response::allow());
}

#[test]
fn tightening_line_with_real_restricted_checks() {
    let nginx = json!({"containers": [{"name": "nginx", "image": "nginx"}]});
    let pods = ["nginx-x2", "nginx-7d9f8", "nginx-a1"]
        .iter()
        .map(|n| pod(pod_value(n, nginx.clone())))
        .collect();
    let req = Request::namespace(
        ns_object("web", &[("enforce", "restricted")]),
        Some(ns_object("web", &[("enforce", "baseline")])),
    )
    .with_existing_pods(Ok(pods));
    assert_eq!(
        admission().validate(&req).warnings,
        [
            "existing pods in namespace \"web\" violate the new PodSecurity enforce level \
             \"restricted:latest\"",
            "nginx-7d9f8 (and 2 other pods): allowPrivilegeEscalation != false, unrestricted \
             capabilities, runAsNonRoot != true, seccompProfile",
        ]
    );
}
