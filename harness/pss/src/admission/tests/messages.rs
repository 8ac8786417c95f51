//! §3.2–§3.5: pod denials, warnings, audit annotations, namespace label errors.

use super::*;

// §3.2 Pod denial.

#[test]
fn pod_denial_exact_text_and_status() {
    let r = admission().validate(&pod_create(
        "p",
        privileged_spec(),
        &[("enforce", "baseline")],
    ));
    assert!(!r.allowed);
    assert_eq!(
        status(&r),
        (
            403,
            "Forbidden",
            "pods \"p\" is forbidden: violates PodSecurity \"baseline:latest\": privileged \
             (container \"c\" must not set securityContext.privileged=true)"
        )
    );
    assert!(r.warnings.is_empty());
    assert_eq!(r.annotation("enforce-policy"), Some("baseline:latest"));
}

#[test]
fn pod_denial_without_a_name() {
    let r = admission().validate(&pod_create(
        "",
        privileged_spec(),
        &[("enforce", "baseline")],
    ));
    assert_eq!(
        r.message(),
        Some(
            format!(
                "pods is forbidden: violates PodSecurity \"baseline:latest\": {PRIVILEGED_DETAIL}"
            )
            .as_str()
        )
    );
}

#[test]
fn pod_denial_host_pid_and_privileged() {
    let spec = json!({"hostPID": true, "containers": [
        {"name": "ubuntu", "securityContext": {"privileged": true}}]});
    let r = admission().validate(&pod_create("p", spec, &[("enforce", "baseline")]));
    assert_eq!(
        r.message(),
        Some(
            "pods \"p\" is forbidden: violates PodSecurity \"baseline:latest\": host namespaces \
             (hostPID=true), privileged (container \"ubuntu\" must not set \
             securityContext.privileged=true)"
        )
    );
}

// §3.3 Warnings.

#[test]
fn pod_warning_when_allowed() {
    let req = pod_create(
        "p",
        privileged_spec(),
        &[("enforce-version", "v1.20"), ("warn", "baseline")],
    );
    let r = admission().validate(&req);
    assert!(r.allowed && r.status.is_none());
    assert_eq!(
        r.warnings,
        [format!(
            "would violate PodSecurity \"baseline:latest\": {PRIVILEGED_DETAIL}"
        )]
    );
    assert_eq!(r.annotation("enforce-policy"), Some("privileged:v1.20"));
    assert_eq!(keys(&r), ["enforce-policy"]);
}

#[test]
fn controller_warning_host_path_volume() {
    let spec = json!({"containers": [{"name": "c"}],
        "volumes": [{"name": "data", "hostPath": {"path": "/data"}}]});
    let r = admission().validate(&deployment_create(spec, &[("enforce", "baseline")]));
    assert!(r.allowed);
    assert_eq!(
        r.warnings,
        ["would violate PodSecurity \"baseline:latest\": hostPath volumes (volume \"data\")"]
    );
    assert!(r.audit_annotations.is_empty());
}

#[test]
fn controller_is_never_denied_and_has_no_enforce_policy() {
    let labels = [("enforce", "baseline"), ("audit", "baseline")];
    let r = admission().validate(&deployment_create(privileged_spec(), &labels));
    assert!(r.allowed);
    let text = format!("would violate PodSecurity \"baseline:latest\": {PRIVILEGED_DETAIL}");
    assert_eq!(r.warnings, std::slice::from_ref(&text));
    assert_eq!(r.annotation("audit-violations"), Some(text.as_str()));
    assert_eq!(keys(&r), ["audit-violations"]);
}

// §3.4 Audit annotations.

#[test]
fn audit_annotations() {
    let labels = [
        ("enforce", "baseline"),
        ("enforce-version", "v1.23"),
        ("audit", "baseline"),
    ];
    let r = admission().validate(&pod_create("p", privileged_spec(), &labels));
    assert_eq!(r.annotation("enforce-policy"), Some("baseline:v1.23"));
    // Recorded even though enforce denies; same (cached) evaluation, different version text.
    assert_eq!(
        r.annotation("audit-violations"),
        Some(
            format!("would violate PodSecurity \"baseline:latest\": {PRIVILEGED_DETAIL}").as_str()
        )
    );
    let allowed = admission().validate(&pod_create("p", plain_spec(), &labels));
    assert!(allowed.allowed);
    assert_eq!(keys(&allowed), ["enforce-policy"]);
}

#[test]
fn exemption_annotations_in_order_namespace_user_runtime_class() {
    let a = exempting(Exemptions {
        usernames: vec!["admin".into()],
        namespaces: vec!["ns".into()],
        runtime_classes: vec!["kata".into()],
    });
    let labels = [("enforce", "restricted")];
    let req = pod_create("p", privileged_spec(), &labels).by_user("admin");
    assert_eq!(a.validate(&req).annotation("exempt"), Some("namespace"));
    let req = req.in_namespace("other", Ok(psa_labels(&labels)));
    assert_eq!(a.validate(&req).annotation("exempt"), Some("user"));
    let mut spec = privileged_spec();
    spec["runtimeClassName"] = json!("kata");
    let req = pod_create("p", spec, &labels).in_namespace("other", Ok(psa_labels(&labels)));
    let r = a.validate(&req);
    assert!(r.allowed);
    assert_eq!(
        r.audit_annotations,
        [("exempt".to_owned(), "runtimeClass".to_owned())].into()
    );
    // Controllers: the same exemptions, namespace first.
    let d = deployment_create(privileged_spec(), &labels).by_user("admin");
    assert_eq!(a.validate(&d).annotation("exempt"), Some("namespace"));
}

#[test]
fn invalid_labels_annotate_and_fail_closed() {
    let r = admission().validate(&pod_create("p", plain_spec(), &[("enforce", "foo")]));
    assert_eq!(
        r.annotation("error"),
        Some(
            "Failed to parse policy: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid \
             value: \"foo\": must be one of privileged, baseline, restricted"
        )
    );
    assert_eq!(r.annotation("enforce-policy"), Some("restricted:latest"));
    let expected = detail_at("restricted:latest", plain_spec());
    assert!(
        expected.starts_with("allowPrivilegeEscalation != false"),
        "{expected}"
    );
    let lv = lv("restricted:latest");
    assert_eq!(
        r.message(),
        Some(forbidden_message("pods", "p", &lv, &expected).as_str())
    );
}

#[test]
fn several_label_errors_aggregate_in_brackets() {
    let labels = [("enforce", "foo"), ("warn-version", "v2")];
    let r = admission().validate(&deployment_create(plain_spec(), &labels));
    assert!(r.allowed);
    assert_eq!(
        r.annotation("error"),
        Some(
            "Failed to parse policy: [metadata.labels[pod-security.kubernetes.io/enforce]: \
             Invalid value: \"foo\": must be one of privileged, baseline, restricted, \
             metadata.labels[pod-security.kubernetes.io/warn-version]: Invalid value: \"v2\": \
             must be \"latest\" or \"v1.x\"]"
        )
    );
}

// §3.5 Namespace label validation.

#[test]
fn namespace_create_with_invalid_labels_is_rejected() {
    let r = admission().validate(&Request::namespace(
        ns_object("test", &[("enforce", "unknown")]),
        None,
    ));
    assert_eq!(
        status(&r),
        (
            422,
            "Invalid",
            "Namespace \"test\" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: \
             Invalid value: \"unknown\": must be one of privileged, baseline, restricted"
        )
    );
    let labels = [
        ("enforce", "privileged"),
        ("enforce-version", "unknown"),
        ("audit", "x"),
    ];
    let r = admission().validate(&Request::namespace(ns_object("test", &labels), None));
    assert_eq!(
        r.message(),
        Some(
            "Namespace \"test\" is invalid: [metadata.labels[pod-security.kubernetes.io/\
             enforce-version]: Invalid value: \"unknown\": must be \"latest\" or \"v1.x\", \
             metadata.labels[pod-security.kubernetes.io/audit]: Invalid value: \"x\": must be one \
             of privileged, baseline, restricted]"
        )
    );
    let ok = admission().validate(&Request::namespace(
        ns_object("test", &[("enforce", "baseline")]),
        None,
    ));
    assert_eq!(ok, Response::allow());
}

#[test]
fn namespace_update_label_rules() {
    let a = admission();
    let update = |new: &[(&str, &str)], old: &[(&str, &str)]| {
        a.validate(&Request::namespace(
            ns_object("test", new),
            Some(ns_object("test", old)),
        ))
    };
    // Unchanged invalid labels are tolerated; introduced or changed ones are not.
    assert!(update(&[("enforce", "unknown")], &[("enforce", "unknown")]).allowed);
    let v = [("enforce", "baseline"), ("enforce-version", "unknown")];
    assert!(update(&v, &v).allowed);
    let r = update(
        &[("enforce", "unknown")],
        &[("enforce", "restricted"), ("enforce-version", "v1.0")],
    );
    assert!(
        r.message()
            .unwrap()
            .contains("must be one of privileged, baseline, restricted")
    );
    let r = update(
        &[("enforce", "privileged"), ("enforce-version", "unknown")],
        &[("enforce", "restricted")],
    );
    assert!(
        r.message()
            .unwrap()
            .contains("must be \"latest\" or \"v1.x\"")
    );
    assert!(!update(&[("enforce", "unknown2")], &[("enforce", "unknown")]).allowed);
    // Updates that do not tighten enforcement are plain allows.
    for (new, old) in [
        (
            &[("enforce", "restricted"), ("enforce-version", "v1.0")][..],
            &[("enforce", "restricted"), ("enforce-version", "v1.0")][..],
        ),
        (
            &[("enforce", "baseline"), ("enforce-version", "v1.0")],
            &[("enforce", "restricted"), ("enforce-version", "v1.0")],
        ),
        (
            &[("enforce", "baseline"), ("enforce-version", "latest")],
            &[("enforce", "restricted"), ("enforce-version", "latest")],
        ),
        (&[("enforce", "baseline")], &[("enforce", "restricted")]),
        (
            &[("enforce", "privileged")],
            &[("enforce", "restricted"), ("enforce-version", "v1.0")],
        ),
        (
            &[],
            &[("enforce", "restricted"), ("enforce-version", "v1.0")],
        ),
        (&[("audit", "restricted"), ("warn", "restricted")], &[]),
    ] {
        assert_eq!(update(new, old), Response::allow(), "{new:?} <- {old:?}");
    }
}

#[test]
fn namespace_subresources_and_other_operations_are_allowed() {
    let req = Request::namespace(ns_object("test", &[("enforce", "unknown")]), None);
    assert_eq!(
        admission().validate(&req.clone().with_subresource("status")),
        Response::allow()
    );
    let mut delete = req;
    delete.operation = Operation::Delete;
    assert_eq!(admission().validate(&delete), Response::allow());
}

// §3.9 complete example strings, through the admission model.

fn nginx() -> Value {
    json!({"containers": [{"name": "nginx", "image": "nginx"}]})
}

#[test]
fn restricted_denial_of_a_bare_nginx_pod() {
    let r = admission().validate(&pod_create("bad", nginx(), &[("enforce", "restricted")]));
    assert_eq!(
        r.message(),
        Some(
            "pods \"bad\" is forbidden: violates PodSecurity \"restricted:latest\": \
             allowPrivilegeEscalation != false (container \"nginx\" must set \
             securityContext.allowPrivilegeEscalation=false), unrestricted capabilities \
             (container \"nginx\" must set securityContext.capabilities.drop=[\"ALL\"]), \
             runAsNonRoot != true (pod or container \"nginx\" must set \
             securityContext.runAsNonRoot=true), seccompProfile (pod or container \"nginx\" must \
             set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")"
        )
    );
    let labels = [("enforce", "restricted"), ("enforce-version", "v1.0")];
    let r = admission().validate(&pod_create("bad", nginx(), &labels));
    assert_eq!(
        r.message(),
        Some(
            "pods \"bad\" is forbidden: violates PodSecurity \"restricted:v1.0\": runAsNonRoot != \
             true (pod or container \"nginx\" must set securityContext.runAsNonRoot=true)"
        )
    );
}

#[test]
fn restricted_warning_places_volumes_between_capabilities_and_run_as_non_root() {
    let spec = json!({"containers": [{"name": "c"}],
                      "volumes": [{"name": "data", "hostPath": {"path": "/data"}}]});
    let r = admission().validate(&deployment_create(spec, &[("enforce", "restricted")]));
    let warning = &r.warnings[0];
    assert!(warning.starts_with("would violate PodSecurity \"restricted:latest\": "));
    let volumes = "restricted volume types (volume \"data\" uses restricted volume type \
                   \"hostPath\")";
    let (caps, vols, non_root) = (
        warning.find("unrestricted capabilities (").unwrap(),
        warning.find(volumes).unwrap(),
        warning.find("runAsNonRoot != true (").unwrap(),
    );
    assert!(caps < vols && vols < non_root, "{warning}");
}

#[test]
fn audit_annotation_for_run_as_non_root_only() {
    let spec = json!({"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{"name": "app", "securityContext": {"allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"]}}}]});
    let r = admission().validate(&pod_create("p", spec, &[("audit", "restricted")]));
    assert!(r.allowed && r.warnings.is_empty());
    assert_eq!(
        r.annotation("audit-violations"),
        Some(
            "would violate PodSecurity \"restricted:latest\": runAsNonRoot != true (pod or \
             container \"app\" must set securityContext.runAsNonRoot=true)"
        )
    );
}
