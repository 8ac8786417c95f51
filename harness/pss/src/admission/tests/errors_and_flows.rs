//! §3.8 error responses and the request flows of §4.3–§4.5.

use super::*;

// §3.8 Other error responses.

#[test]
fn pod_namespace_lookup_failure() {
    let req = pod_create("p", plain_spec(), &[]).in_namespace(
        "missing-ns",
        Err("namespaces \"missing-ns\" not found".into()),
    );
    let r = admission().validate(&req);
    assert_eq!(
        status(&r),
        (
            500,
            "InternalError",
            "Internal error occurred: failed to lookup namespace \"missing-ns\""
        )
    );
    assert_eq!(
        r.annotation("error"),
        Some(
            "Internal error occurred: failed to lookup namespace \"missing-ns\": namespaces \
             \"missing-ns\" not found"
        )
    );
}

#[test]
fn pod_decode_failures() {
    let labels = psa_labels(&[("enforce", "baseline")]);
    let base = |object: Object| {
        Request::new(Operation::Create, Resource::Pods, object)
            .named("p")
            .in_namespace("ns", Ok(labels.clone()))
    };
    let r = admission().validate(&base(Object::Undecodable("bad json".into())));
    assert_eq!(status(&r), (400, "BadRequest", "failed to decode object"));
    assert_eq!(
        r.annotation("error"),
        Some("failed to decode object: bad json")
    );
    let r = admission().validate(&base(object(deployment_value("d", plain_spec()))));
    assert_eq!(status(&r), (400, "BadRequest", "failed to decode pod"));
    assert_eq!(r.annotation("error"), Some("failed to decode pod"));
    let new = object(pod_value("p", plain_spec()));
    let r = admission().validate(&base(new.clone()).updating(Object::Undecodable("eof".into())));
    assert_eq!(
        status(&r),
        (400, "BadRequest", "failed to decode old object")
    );
    assert_eq!(
        r.annotation("error"),
        Some("failed to decode old object: eof")
    );
    let r = admission().validate(&base(new.clone()).updating(ns_object("ns", &[]).into()));
    assert_eq!(
        (status(&r).2, r.annotation("error")),
        ("failed to decode old pod", Some("failed to decode old pod"))
    );
    let mut no_old = base(new);
    no_old.operation = Operation::Update;
    assert_eq!(
        status(&admission().validate(&no_old)).2,
        "failed to decode old pod"
    );
}

#[test]
fn namespace_decode_failures() {
    let new = ns_object("test", &[]);
    let base = |object: Object| {
        Request::new(Operation::Create, Resource::Namespaces, object).named("test")
    };
    let r = admission().validate(&base(Object::Undecodable("bad".into())));
    assert_eq!(
        (status(&r), r.annotation("error")),
        (
            (400, "BadRequest", "failed to decode object"),
            Some("failed to decode object: bad")
        )
    );
    let r = admission().validate(&base(object(pod_value("p", plain_spec()))));
    assert_eq!(
        (status(&r).2, r.annotation("error")),
        (
            "failed to decode namespace",
            Some("failed to decode namespace")
        )
    );
    let r =
        admission().validate(&base(new.clone().into()).updating(Object::Undecodable("bad".into())));
    assert_eq!(
        (status(&r).2, r.annotation("error")),
        (
            "failed to decode  old object",
            Some("failed to decode  old object: bad")
        )
    );
    let r = admission().validate(&base(new.into()).updating(object(pod_value("p", plain_spec()))));
    assert_eq!(
        (status(&r).2, r.annotation("error")),
        (
            "failed to decode  old namespace",
            Some("failed to decode  old namespace")
        )
    );
}

#[test]
fn controller_failures_allow_with_error() {
    let labels = [("enforce", "restricted")];
    let req =
        deployment_create(privileged_spec(), &labels).in_namespace("gone", Err("not found".into()));
    let r = admission().validate(&req);
    assert!(r.allowed && r.warnings.is_empty());
    assert_eq!(
        r.audit_annotations,
        [(
            "error".to_owned(),
            "failed to lookup namespace \"gone\": not found".to_owned()
        )]
        .into()
    );
    let base = |object: Object| {
        Request::new(
            Operation::Create,
            Resource::Controller(Kind::Deployment),
            object,
        )
        .in_namespace("ns", Ok(psa_labels(&labels)))
    };
    let r = admission().validate(&base(Object::Undecodable("bad".into())));
    assert!(r.allowed);
    assert_eq!(r.annotation("error"), Some("failed to decode object: bad"));
    let r = admission().validate(&base(ns_object("x", &[]).into()));
    assert!(r.allowed);
    assert_eq!(
        r.annotation("error"),
        Some("failed to extract pod template: unexpected object type: /v1, Kind=Namespace")
    );
    let r = admission().validate(&base(Object::Other("/v1, Kind=Service".into())));
    assert_eq!(
        r.annotation("error"),
        Some("failed to extract pod template: unexpected object type: /v1, Kind=Service")
    );
}

// §4.3–§4.5 flows.

#[test]
fn ignored_pod_subresources_and_evaluated_ones() {
    let req = pod_create("p", privileged_spec(), &[("enforce", "restricted")]);
    for sub in IGNORED_POD_SUBRESOURCES {
        assert_eq!(
            admission().validate(&req.clone().with_subresource(sub)),
            Response::allow(),
            "{sub}"
        );
    }
    for sub in ["ephemeralcontainers", "resize", "future"] {
        let r = admission().validate(&req.clone().with_subresource(sub));
        assert!(!r.allowed, "{sub}");
        assert!(
            r.message().unwrap().starts_with(
                "pods \"p\" is forbidden: violates PodSecurity \"restricted:latest\": "
            )
        );
    }
}

#[test]
fn controller_subresources_and_templates() {
    let req = deployment_create(privileged_spec(), &[("enforce", "restricted")]);
    assert_eq!(
        admission().validate(&req.clone().with_subresource("scale")),
        Response::allow()
    );
    let rc = workload(json!({"apiVersion": "v1", "kind": "ReplicationController",
        "metadata": {"name": "rc"}, "spec": {}}));
    let r = admission().validate(&Request::create_workload(
        rc,
        "ns",
        psa_labels(&[("enforce", "restricted")]),
    ));
    assert_eq!(r, Response::allow());
    let job_template = json!({"spec": {"template": {"spec": privileged_spec()}}});
    let cron = workload(json!({"apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "cj"},
        "spec": {"schedule": "* * * * *", "jobTemplate": job_template}}));
    let r = admission().validate(&Request::create_workload(
        cron,
        "ns",
        psa_labels(&[("enforce", "baseline")]),
    ));
    assert_eq!(
        r.warnings,
        [format!(
            "would violate PodSecurity \"baseline:latest\": {PRIVILEGED_DETAIL}"
        )]
    );
}

#[test]
fn delete_and_connect_are_allowed() {
    for op in [Operation::Delete, Operation::Connect] {
        let mut req = pod_create("p", privileged_spec(), &[("enforce", "restricted")]);
        req.operation = op;
        assert_eq!(admission().validate(&req), Response::allow());
    }
}

#[test]
fn fully_privileged_short_circuit_is_skipped_with_label_errors() {
    let r = admission().validate(&pod_create("p", privileged_spec(), &[]));
    assert_eq!(
        r.audit_annotations,
        [("enforce-policy".to_owned(), "privileged:latest".to_owned())].into()
    );
    let r = admission().validate(&pod_create(
        "p",
        privileged_spec(),
        &[("enforce-version", "v1.20")],
    ));
    assert_eq!(r.annotation("enforce-policy"), Some("privileged:latest"));
    let r = admission().validate(&pod_create("p", privileged_spec(), &[("audit", "bad")]));
    assert_eq!(keys(&r), ["enforce-policy", "error"]);
    assert_eq!(r.annotation("enforce-policy"), Some("privileged:latest"));
    // Controllers short-circuit on audit and warn alone.
    let r = admission().validate(&deployment_create(privileged_spec(), &[]));
    assert_eq!(r, Response::allow());
}

#[test]
fn configured_defaults_apply_to_unlabelled_namespaces() {
    let defaults = Policy {
        enforce: lv("baseline:v1.30"),
        ..Policy::PRIVILEGED
    };
    let a = Admission::new(AdmissionConfig {
        defaults,
        ..AdmissionConfig::default()
    });
    let r = a.validate(&pod_create("p", privileged_spec(), &[]));
    assert_eq!(
        r.message(),
        Some(denial("baseline:v1.30", PRIVILEGED_DETAIL).as_str())
    );
}
