//! Edge cases E1–E3 and E24–E30 of the specification (§6).

use super::*;

// Edge cases of §6.

#[test]
fn e1_future_version_prints_as_configured_and_evaluates_newest() {
    let mut spec = privileged_spec();
    spec["hostPID"] = json!(true);
    let r = admission().validate(&pod_create(
        "p",
        spec.clone(),
        &[("enforce", "baseline"), ("enforce-version", "v1.99")],
    ));
    assert_eq!(r.annotation("enforce-policy"), Some("baseline:v1.99"));
    let detail = detail_at("baseline:v1.37", spec);
    assert!(detail.contains(PRIVILEGED_DETAIL), "{detail}");
    let expected =
        format!("pods \"p\" is forbidden: violates PodSecurity \"baseline:v1.99\": {detail}");
    assert_eq!(r.message(), Some(expected.as_str()));
}

#[test]
fn e2_capitalised_level_is_invalid() {
    let labels = [("enforce", "Baseline")];
    let error = "metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: \"Baseline\": \
                 must be one of privileged, baseline, restricted";
    let r = admission().validate(&pod_create("p", privileged_spec(), &labels));
    assert_eq!(
        r.annotation("error"),
        Some(format!("Failed to parse policy: {error}").as_str())
    );
    assert_eq!(r.annotation("enforce-policy"), Some("restricted:latest"));
    let detail = detail_at("restricted:latest", privileged_spec());
    let expected =
        format!("pods \"p\" is forbidden: violates PodSecurity \"restricted:latest\": {detail}");
    assert_eq!(r.message(), Some(expected.as_str()));
    let create = admission().validate(&Request::namespace(ns_object("test", &labels), None));
    assert_eq!(
        create.message(),
        Some(format!("Namespace \"test\" is invalid: {error}").as_str())
    );
    let introduce = Request::namespace(ns_object("test", &labels), Some(ns_object("test", &[])));
    assert!(!admission().validate(&introduce).allowed);
    let unchanged =
        Request::namespace(ns_object("test", &labels), Some(ns_object("test", &labels)));
    assert_eq!(admission().validate(&unchanged), Response::allow());
}

#[test]
fn e3_non_canonical_versions_are_invalid_and_latest() {
    for bad in ["v1.01", "v1.2.3"] {
        let labels = psa_labels(&[("enforce", "baseline"), ("enforce-version", bad)]);
        let effective = Policy::from_labels(&labels, &Policy::PRIVILEGED);
        assert_eq!(effective.policy.enforce, lv("baseline:latest"));
        assert_eq!(
            effective.errors.to_string(),
            format!(
                "metadata.labels[pod-security.kubernetes.io/enforce-version]: Invalid value: \
                 \"{bad}\": must be \"latest\" or \"v1.x\""
            )
        );
    }
}

#[test]
fn e24_annotation_only_update_is_not_evaluated() {
    let old = pod_value("p", privileged_spec());
    let mut new = old.clone();
    new["metadata"]["annotations"] =
        json!({"container.apparmor.security.beta.kubernetes.io/c": "unconfined"});
    let req = Request::create_workload(
        workload(new),
        "ns",
        psa_labels(&[("enforce", "restricted")]),
    )
    .updating(object(old));
    assert_eq!(admission().validate(&req), Response::allow());
}

#[test]
fn e25_debug_container_update_is_denied_for_existing_violations() {
    let old = pod_value("p", privileged_spec());
    let mut new = old.clone();
    new["spec"]["ephemeralContainers"] = json!([{"name": "debugger", "image": "busybox"}]);
    let labels = psa_labels(&[("enforce", "baseline")]);
    let req = Request::create_workload(workload(new.clone()), "ns", labels.clone())
        .with_subresource("ephemeralcontainers")
        .updating(object(old.clone()));
    let r = admission().validate(&req);
    assert_eq!(
        r.message(),
        Some(denial("baseline:latest", PRIVILEGED_DETAIL).as_str())
    );
    new["spec"]["ephemeralContainers"][0]["securityContext"] = json!({"privileged": true});
    let req = Request::create_workload(workload(new), "ns", labels)
        .with_subresource("ephemeralcontainers")
        .updating(object(old));
    assert_eq!(
        admission().validate(&req).message(),
        Some(
            "pods \"p\" is forbidden: violates PodSecurity \"baseline:latest\": privileged \
             (containers \"c\", \"debugger\" must not set securityContext.privileged=true)"
        )
    );
}

#[test]
fn e26_exempt_runtime_class_in_privileged_namespace() {
    let a = exempting(Exemptions {
        runtime_classes: vec!["kata".into()],
        ..Exemptions::default()
    });
    let mut spec = privileged_spec();
    spec["runtimeClassName"] = json!("kata");
    let r = a.validate(&pod_create("p", spec, &[]));
    assert_eq!(
        r.audit_annotations,
        [("enforce-policy".to_owned(), "privileged:latest".to_owned())].into()
    );
}

#[test]
fn e27_exempt_user_deployment_but_not_its_pods() {
    let a = exempting(Exemptions {
        usernames: vec!["alice".into()],
        ..Exemptions::default()
    });
    let labels = [("enforce", "baseline")];
    let r = a.validate(&deployment_create(privileged_spec(), &labels).by_user("alice"));
    assert_eq!(r, Response::exempt(Exemption::User));
    let pod_req = pod_create("d-abc", privileged_spec(), &labels)
        .by_user("system:serviceaccount:kube-system:replicaset-controller");
    assert!(!a.validate(&pod_req).allowed);
}

#[test]
fn e28_controllers_warn_through_inherited_enforce() {
    let r = admission().validate(&deployment_create(
        privileged_spec(),
        &[("enforce", "restricted")],
    ));
    let detail = detail_at("restricted:latest", privileged_spec());
    assert_eq!(
        r.warnings,
        [violation_warning(&lv("restricted:latest"), &detail)]
    );
    assert!(r.warnings[0].starts_with("would violate PodSecurity \"restricted:latest\": "));
    let r = admission().validate(&deployment_create(
        privileged_spec(),
        &[("enforce", "restricted"), ("warn", "privileged")],
    ));
    assert_eq!(r, Response::allow());
}

#[test]
fn e29_relaxing_to_a_different_version_still_checks_pods() {
    let pods = Ok(vec![pod(pod_value("p", privileged_spec()))]);
    let req = Request::namespace(
        ns_object(
            "ns",
            &[("enforce", "baseline"), ("enforce-version", "v1.20")],
        ),
        Some(ns_object("ns", &[("enforce", "restricted")])),
    )
    .with_existing_pods(pods.clone());
    assert_eq!(
        admission().validate(&req).warnings,
        [
            "existing pods in namespace \"ns\" violate the new PodSecurity enforce level \
             \"baseline:v1.20\"",
            "p: privileged",
        ]
    );
    let same_version = Request::namespace(
        ns_object("ns", &[("enforce", "baseline")]),
        Some(ns_object("ns", &[("enforce", "restricted")])),
    )
    .with_existing_pods(pods);
    assert_eq!(admission().validate(&same_version), Response::allow());
}

#[test]
fn e30_denied_pod_gets_no_warning_but_audit() {
    let labels = [
        ("enforce", "baseline"),
        ("warn", "restricted"),
        ("audit", "restricted"),
    ];
    let r = admission().validate(&pod_create("p", privileged_spec(), &labels));
    assert!(!r.allowed);
    assert!(r.warnings.is_empty());
    let detail = detail_at("restricted:latest", privileged_spec());
    assert_eq!(
        r.annotation("audit-violations"),
        Some(violation_warning(&lv("restricted:latest"), &detail).as_str())
    );
}
