//! End-to-end scenarios: the seed denial and the worked examples of the Kyverno reference,
//! byte for byte, plus autogen, audit, exclusion and webhook behaviour.

use kyverno::{
    AdmissionRequest, KyvernoLine, KyvernoResponse, Operation, Policy, RuleStatus, evaluate,
};
use pss::Workload;
use rstest::rstest;
use serde_json::{Value, json};

/// A policy document: `kind` (`ClusterPolicy` or `Policy`), metadata and spec.
fn policy_doc(kind: &str, metadata: Value, spec: Value) -> Value {
    json!({"apiVersion": "kyverno.io/v1", "kind": kind, "metadata": metadata, "spec": spec})
}

/// A podSecurity rule matching `kinds`.
fn pss_rule(name: &str, kinds: Value, pod_security: Value) -> Value {
    json!({
        "name": name,
        "match": {"any": [{"resources": {"kinds": kinds}}]},
        "validate": {"podSecurity": pod_security},
    })
}

fn baseline_latest() -> Value {
    json!({"level": "baseline", "version": "latest"})
}

/// An Enforce ClusterPolicy with rule `baseline` (baseline, latest) matching `kinds`.
fn policy(name: &str, kinds: Value, extra_spec: Value, annotations: Option<&str>) -> Policy {
    let mut spec = json!({
        "validationFailureAction": "Enforce",
        "background": true,
        "rules": [pss_rule("baseline", kinds, baseline_latest())],
    });
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra_spec.as_object()) {
        spec.extend(extra.clone());
    }
    let mut metadata = json!({"name": name});
    if let Some(a) = annotations {
        metadata["annotations"] = json!({kyverno::AUTOGEN_ANNOTATION: a});
    }
    let doc = policy_doc("ClusterPolicy", metadata, spec);
    let (p, warnings) = Policy::admit(&doc, KyvernoLine::V1_19).unwrap();
    assert!(warnings.is_empty() || annotations.is_some());
    p
}

/// An Enforce ClusterPolicy with the given rules.
fn policy_with_rules(name: &str, rules: Value) -> Policy {
    let spec = json!({"validationFailureAction": "Enforce", "rules": rules});
    let (p, _) = Policy::admit(
        &policy_doc("ClusterPolicy", json!({"name": name}), spec),
        KyvernoLine::V1_19,
    )
    .unwrap();
    p
}

/// A pod in `default`.
fn pod(name: &str, labels: Value, spec: Value) -> Workload {
    Workload::from_value(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": labels},
        "spec": spec,
    }))
    .unwrap()
}

/// The seed policy: `baseline-policy`, rule `baseline`, Pods, Enforce.
fn seed_policy() -> Policy {
    policy("baseline-policy", json!(["Pod"]), json!({}), None)
}

fn pod_spec(name: &str) -> Value {
    json!({
        "containers": [{"name": name, "image": "nginx", "securityContext": {"privileged": true}}],
        "restartPolicy": "Never",
    })
}

/// The seed pod `privileged-pod`.
fn seed_pod() -> Workload {
    pod(
        "privileged-pod",
        json!({"run": "privileged-pod"}),
        pod_spec("privileged-pod"),
    )
}

fn template() -> Value {
    json!({"metadata": {"labels": {"app": "privileged"}}, "spec": pod_spec("privileged-pod")})
}

fn deployment() -> Workload {
    Workload::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "privileged-deploy", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "privileged"}}, "template": template()},
    }))
    .unwrap()
}

fn controller(kind: &str) -> Workload {
    let api = match kind {
        "Job" | "CronJob" => "batch/v1",
        "ReplicationController" => "v1",
        _ => "apps/v1",
    };
    let spec = match kind {
        "CronJob" => {
            json!({"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template()}}})
        }
        "Job" | "ReplicationController" => json!({"template": template()}),
        _ => json!({"selector": {"matchLabels": {"app": "privileged"}}, "template": template()}),
    };
    Workload::from_value(json!({
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": "c", "namespace": "default"},
        "spec": spec,
    }))
    .unwrap()
}

fn run(policies: &[Policy], object: &Workload, line: KyvernoLine) -> KyvernoResponse {
    evaluate(policies, &AdmissionRequest::create(object), line)
}

const SEED_V1_10: &str = concat!(
    "admission webhook \"validate.kyverno.svc-fail\" denied the request: \n\nresource ",
    "Pod/default/privileged-pod was blocked due to the following policies \n\n",
    "baseline-policy:\n  baseline: |\n    Validation rule 'baseline' failed. It violates ",
    "PodSecurity \"baseline:latest\": ({Allowed:false ForbiddenReason:privileged ",
    "ForbiddenDetail:container \"privileged-pod\" must not set ",
    "securityContext.privileged=true})\n",
);

const POD_V1_12: &str = concat!(
    "admission webhook \"validate.kyverno.svc-fail\" denied the request: \n\nresource ",
    "Pod/default/privileged-pod was blocked due to the following policies \n\n",
    "baseline-policy:\n  baseline: 'Validation rule ''baseline'' failed. It violates ",
    "PodSecurity \"baseline:latest\":\n    (Forbidden reason: privileged, field error ",
    "list: [spec.containers[0].securityContext.privileged\n    is forbidden, forbidden ",
    "values found: true])'\n",
);

const POD_V1_19: &str = concat!(
    "admission webhook \"validate.kyverno.svc-fail\" denied the request: \n\nresource ",
    "Pod/default/privileged-pod was blocked due to the following policies \n\n",
    "baseline-policy:\n  baseline: 'Validation rule ''baseline'' failed. It violates ",
    "PodSecurity \"baseline:latest\": (Forbidden reason: privileged, field error list: ",
    "[spec.containers[0].securityContext.privileged is forbidden, forbidden values found: ",
    "true])'\n",
);

#[rstest]
#[case(KyvernoLine::V1_10, SEED_V1_10)]
#[case(KyvernoLine::V1_12, POD_V1_12)]
#[case(KyvernoLine::V1_19, POD_V1_19)]
fn seed_pod_is_denied_with_the_exact_text(#[case] line: KyvernoLine, #[case] want: &str) {
    let response = run(&[seed_policy()], &seed_pod(), line);
    assert!(!response.allowed);
    assert_eq!(
        response.webhook.as_deref(),
        Some("validate.kyverno.svc-fail")
    );
    assert_eq!(response.apiserver_text.as_deref(), Some(want));
    assert_eq!(response.rules.len(), 1);
    assert_eq!(response.rules[0].status, RuleStatus::Fail);
    assert_eq!(response.rules[0].checks[0].id, pss::CheckId::Privileged);
    assert_eq!(
        response.rules[0].checks[0].control,
        Some("Privileged Containers")
    );
}

#[test]
fn seed_rule_message_lines() {
    let rule_message = |line| {
        run(&[seed_policy()], &seed_pod(), line).rules[0]
            .message
            .clone()
    };
    assert_eq!(
        rule_message(KyvernoLine::V1_19),
        "Validation rule 'baseline' failed. It violates PodSecurity \"baseline:latest\": \
         (Forbidden reason: privileged, field error list: \
         [spec.containers[0].securityContext.privileged is forbidden, forbidden values found: \
         true])"
    );
    assert_eq!(
        rule_message(KyvernoLine::V1_10),
        "Validation rule 'baseline' failed. It violates PodSecurity \"baseline:latest\": \
         ({Allowed:false ForbiddenReason:privileged ForbiddenDetail:container \"privileged-pod\" \
         must not set securityContext.privileged=true})\n"
    );
}

const AUTOGEN_V1_12: &str = concat!(
    "admission webhook \"validate.kyverno.svc-fail\" denied the request: \n\nresource ",
    "Deployment/default/privileged-deploy was blocked due to the following policies \n\n",
    "psa:\n  autogen-baseline: 'Validation rule ''autogen-baseline'' failed. It violates ",
    "PodSecurity\n    \"baseline:latest\": (Forbidden reason: privileged, field error ",
    "list: [spec.template.spec.containers[0].securityContext.privileged\n    is ",
    "forbidden, forbidden values found: true])'\n",
);

const AUTOGEN_V1_19: &str = concat!(
    "admission webhook \"validate.kyverno.svc-fail\" denied the request: \n\nresource ",
    "Deployment/default/privileged-deploy was blocked due to the following policies \n\n",
    "psa:\n  autogen-baseline: 'Validation rule ''autogen-baseline'' failed. It violates ",
    "PodSecurity \"baseline:latest\": (Forbidden reason: privileged, field error list: ",
    "[spec.template.spec.containers[0].securityContext.privileged is forbidden, forbidden ",
    "values found: true])'\n",
);

const AUTOGEN_V1_10: &str = concat!(
    "admission webhook \"validate.kyverno.svc-fail\" denied the request: \n\nresource ",
    "Deployment/default/privileged-deploy was blocked due to the following policies \n\n",
    "psa:\n  autogen-baseline: |\n    Validation rule 'autogen-baseline' failed. It ",
    "violates PodSecurity \"baseline:latest\": ({Allowed:false ForbiddenReason:privileged ",
    "ForbiddenDetail:container \"privileged-pod\" must not set ",
    "securityContext.privileged=true})\n",
);

#[rstest]
#[case(KyvernoLine::V1_10, AUTOGEN_V1_10)]
#[case(KyvernoLine::V1_12, AUTOGEN_V1_12)]
#[case(KyvernoLine::V1_19, AUTOGEN_V1_19)]
fn deployment_is_denied_by_the_autogen_rule(#[case] line: KyvernoLine, #[case] want: &str) {
    let psa = policy("psa", json!(["Pod"]), json!({}), None);
    let response = run(&[psa], &deployment(), line);
    assert!(!response.allowed);
    assert_eq!(
        response.rules.len(),
        1,
        "the Pod rule does not match a Deployment"
    );
    assert_eq!(response.rules[0].rule, "autogen-baseline");
    assert_eq!(response.apiserver_text.as_deref(), Some(want));
}

const EKS_DEPLOYMENT: &str = concat!(
    "admission webhook \"validate.kyverno.svc-fail\" denied the request: \n\nresource ",
    "Deployment/default/privileged-deploy was blocked due to the following policies \n\n",
    "baseline-policy:\n  baseline: 'Validation rule ''baseline'' failed. It violates ",
    "PodSecurity \"baseline:latest\":\n    (Forbidden reason: privileged, field error ",
    "list: [spec.template.spec.containers[0].securityContext.privileged\n    is ",
    "forbidden, forbidden values found: true])'\n",
);

#[test]
fn policy_matching_deployments_directly() {
    let direct = policy("baseline-policy", json!(["Deployment"]), json!({}), None);
    let response = run(&[direct], &deployment(), KyvernoLine::V1_12);
    assert_eq!(response.rules.len(), 1);
    assert_eq!(response.rules[0].rule, "baseline");
    assert_eq!(response.apiserver_text.as_deref(), Some(EKS_DEPLOYMENT));
}

#[rstest]
#[case(
    "DaemonSet",
    "autogen-baseline",
    "spec.template.spec.containers[0].securityContext.privileged"
)]
#[case(
    "StatefulSet",
    "autogen-baseline",
    "spec.template.spec.containers[0].securityContext.privileged"
)]
#[case(
    "ReplicaSet",
    "autogen-baseline",
    "spec.template.spec.containers[0].securityContext.privileged"
)]
#[case(
    "Job",
    "autogen-baseline",
    "spec.template.spec.containers[0].securityContext.privileged"
)]
#[case(
    "ReplicationController",
    "autogen-baseline",
    "spec.template.spec.containers[0].securityContext.privileged"
)]
#[case(
    "CronJob",
    "autogen-cronjob-baseline",
    "spec.jobTemplate.spec.template.spec.containers[0].securityContext.privileged"
)]
fn every_controller_gets_its_autogen_rule(
    #[case] kind: &str,
    #[case] rule: &str,
    #[case] field: &str,
) {
    for line in KyvernoLine::ALL {
        let response = run(&[seed_policy()], &controller(kind), line);
        assert!(!response.allowed, "{kind} {line}");
        assert_eq!(response.rules.len(), 1, "{kind} {line}");
        assert_eq!(response.rules[0].rule, rule, "{kind} {line}");
        if line != KyvernoLine::V1_10 {
            let want = format!(
                "Validation rule '{rule}' failed. It violates PodSecurity \"baseline:latest\": \
                 (Forbidden reason: privileged, field error list: [{field} is forbidden, \
                 forbidden values found: true])"
            );
            assert_eq!(response.rules[0].message, want, "{kind} {line}");
        }
    }
}

#[test]
fn annotation_none_and_subsets() {
    let none = policy("psa", json!(["Pod"]), json!({}), Some("none"));
    let response = run(&[none], &deployment(), KyvernoLine::V1_19);
    assert!(response.allowed && response.rules.is_empty());

    let subset = policy("psa", json!(["Pod"]), json!({}), Some("Deployment,CronJob"));
    for line in KyvernoLine::ALL {
        assert!(
            !run(std::slice::from_ref(&subset), &deployment(), line).allowed,
            "{line}"
        );
        assert!(
            run(
                std::slice::from_ref(&subset),
                &controller("StatefulSet"),
                line
            )
            .allowed,
            "{line}"
        );
        let cron = run(std::slice::from_ref(&subset), &controller("CronJob"), line);
        assert_eq!(cron.rules[0].rule, "autogen-cronjob-baseline", "{line}");
    }

    let all = policy("psa", json!(["Pod"]), json!({}), Some("all"));
    assert!(
        run(
            std::slice::from_ref(&all),
            &deployment(),
            KyvernoLine::V1_19
        )
        .allowed,
        "`all` generates nothing per kind"
    );
    assert!(
        !run(
            std::slice::from_ref(&all),
            &deployment(),
            KyvernoLine::V1_10
        )
        .allowed,
        "but did before v1.13"
    );
}

#[test]
fn autogen_is_skipped_with_a_selector() {
    let mut rule = pss_rule("baseline", json!(["Pod"]), baseline_latest());
    rule["match"]["any"][0]["resources"]["selector"] =
        json!({"matchLabels": {"app": "privileged"}});
    let p = policy_with_rules("psa", json!([rule]));
    assert!(run(std::slice::from_ref(&p), &deployment(), KyvernoLine::V1_19).allowed);
    let labelled = pod("x", json!({"app": "privileged"}), pod_spec("x"));
    assert!(!run(std::slice::from_ref(&p), &labelled, KyvernoLine::V1_19).allowed);
    assert!(
        run(&[p], &seed_pod(), KyvernoLine::V1_19).allowed,
        "the selector does not match the seed pod"
    );
}

#[test]
fn audit_mode_allows_and_reports() {
    let audit = policy(
        "baseline-policy",
        json!(["Pod"]),
        json!({"validationFailureAction": "Audit"}),
        None,
    );
    for line in KyvernoLine::ALL {
        let response = run(std::slice::from_ref(&audit), &seed_pod(), line);
        assert!(response.allowed, "{line}");
        assert_eq!(response.denial_message, None);
        assert_eq!(response.rules[0].status, RuleStatus::Fail);
        assert_eq!(response.rules[0].action, kyverno::FailureAction::Audit);
    }
}

#[test]
fn audit_rule_in_an_enforce_policy() {
    let mut audit = pss_rule("audit", json!(["Pod"]), baseline_latest());
    audit["validate"]["failureAction"] = json!("Audit");
    let mut enforce = pss_rule("enforce", json!(["Pod"]), baseline_latest());
    enforce["validate"]["failureAction"] = json!("Enforce");
    let spec = json!({"rules": [audit, enforce]});
    let p =
        Policy::from_value(&policy_doc("ClusterPolicy", json!({"name": "mixed"}), spec)).unwrap();
    let response = run(std::slice::from_ref(&p), &seed_pod(), KyvernoLine::V1_19);
    assert!(!response.allowed);
    let message = response.denial_message.unwrap();
    assert!(
        message.contains("  audit: 'Validation rule ''audit'' failed."),
        "failing audit rules are listed too: {message}"
    );
    assert!(message.contains("  enforce: 'Validation rule ''enforce'' failed."));
    assert!(
        run(&[p], &seed_pod(), KyvernoLine::V1_12).allowed,
        "v1.13-v1.18: the first rule's Audit decides"
    );
}

#[test]
fn image_exclusion_admits_the_pod() {
    let pod_security = json!({"level": "baseline", "version": "latest", "exclude": [
        {"controlName": "Privileged Containers", "images": ["ngin*"]},
    ]});
    let p = policy_with_rules(
        "psa",
        json!([pss_rule("baseline", json!(["Pod"]), pod_security)]),
    );
    for line in KyvernoLine::ALL {
        let response = run(std::slice::from_ref(&p), &seed_pod(), line);
        assert!(response.allowed, "{line}");
        assert_eq!(response.rules[0].status, RuleStatus::Pass);
        assert_eq!(
            response.rules[0].message,
            "Validation rule 'baseline' passed."
        );
    }
    let privileged = json!({"privileged": true});
    let spec =
        json!({"containers": [{"name": "c", "image": "busybox", "securityContext": privileged}]});
    let other_image = pod("p", json!({}), spec);
    let response = run(&[p], &other_image, KyvernoLine::V1_19);
    assert!(!response.allowed);
    assert!(response.rules[0].order_is_nondeterministic);
}

#[test]
fn omitted_version_prints_empty() {
    let rule = pss_rule("baseline", json!(["Pod"]), json!({"level": "baseline"}));
    let p = policy_with_rules("psa", json!([rule]));
    let response = run(&[p], &seed_pod(), KyvernoLine::V1_19);
    assert!(
        response.rules[0].message.starts_with(
            "Validation rule 'baseline' failed. It violates PodSecurity \"baseline:\": "
        )
    );
}

#[test]
fn rule_errors_block_only_on_the_fail_webhook() {
    let template_policy = |failure_policy: &str| {
        let rule = pss_rule("baseline", json!(["PodTemplate"]), baseline_latest());
        let spec = json!({
            "validationFailureAction": "Enforce",
            "failurePolicy": failure_policy,
            "rules": [rule],
        });
        Policy::from_value(&policy_doc("ClusterPolicy", json!({"name": "psa"}), spec)).unwrap()
    };
    let pod_template = Workload::from_value(json!({
        "apiVersion": "v1",
        "kind": "PodTemplate",
        "metadata": {"name": "t", "namespace": "default"},
        "template": template(),
    }))
    .unwrap();
    let fail = run(
        &[template_policy("Fail")],
        &pod_template,
        KyvernoLine::V1_19,
    );
    assert!(!fail.allowed);
    assert_eq!(fail.rules[0].status, RuleStatus::Error);
    assert_eq!(
        fail.apiserver_text.as_deref(),
        Some(
            "admission webhook \"validate.kyverno.svc-fail\" denied the request: \n\n\
             resource PodTemplate/default/t was blocked due to the following policies \n\n\
             psa:\n  baseline: 'Error while getting new resource: could not find correct resource \
             type'\n"
        )
    );
    assert!(
        run(
            &[template_policy("Ignore")],
            &pod_template,
            KyvernoLine::V1_19
        )
        .allowed
    );
}

#[test]
fn ignore_policies_deny_from_the_ignore_webhook() {
    let p = policy(
        "baseline-policy",
        json!(["Pod"]),
        json!({"webhookConfiguration": {"failurePolicy": "Ignore"}}),
        None,
    );
    let response = run(&[p], &seed_pod(), KyvernoLine::V1_19);
    assert_eq!(
        response.webhook.as_deref(),
        Some("validate.kyverno.svc-ignore")
    );
    assert_eq!(
        response.apiserver_text.as_deref(),
        Some(POD_V1_19.replace("svc-fail", "svc-ignore").as_str())
    );
}

#[test]
fn several_policies_are_sorted_in_the_denial() {
    let b = policy("b-policy", json!(["Pod"]), json!({}), None);
    let a = policy("a-policy", json!(["Pod"]), json!({}), None);
    let response = run(&[b, a], &seed_pod(), KyvernoLine::V1_19);
    let message = response.denial_message.unwrap();
    let a_at = message.find("a-policy:").unwrap();
    let b_at = message.find("b-policy:").unwrap();
    assert!(a_at < b_at, "{message}");
    assert_eq!(
        response.rules[0].policy, "b-policy",
        "rule results keep the given order"
    );
}

#[test]
fn deletes_are_not_evaluated() {
    let pod = seed_pod();
    let request = AdmissionRequest {
        operation: Operation::Delete,
        ..AdmissionRequest::create(&pod)
    };
    let response = evaluate(&[seed_policy()], &request, KyvernoLine::V1_19);
    assert!(response.allowed && response.rules.is_empty());
}

#[test]
fn updates_of_existing_violators_are_skipped() {
    let violator = seed_pod();
    let request = AdmissionRequest {
        operation: Operation::Update,
        old_object: Some(&violator),
        ..AdmissionRequest::create(&violator)
    };
    let response = evaluate(&[seed_policy()], &request, KyvernoLine::V1_19);
    assert!(response.allowed);
    assert_eq!(response.rules[0].status, RuleStatus::Skip);
    assert_eq!(
        response.rules[0].message,
        "skipping the rule evaluation as pre-existing violations are allowed"
    );
    let clean_spec = json!({"containers": [{"name": "privileged-pod", "image": "nginx"}]});
    let clean = pod("privileged-pod", json!({}), clean_spec);
    let request = AdmissionRequest {
        operation: Operation::Update,
        old_object: Some(&clean),
        ..AdmissionRequest::create(&violator)
    };
    assert!(
        !evaluate(&[seed_policy()], &request, KyvernoLine::V1_19).allowed,
        "a new violation is still denied"
    );
}

#[test]
fn namespaced_policies_see_their_namespace_only() {
    let doc = |ns: &str| {
        let rules = json!([pss_rule("baseline", json!(["Pod"]), baseline_latest())]);
        let spec = json!({"validationFailureAction": "Enforce", "rules": rules});
        policy_doc("Policy", json!({"name": "psa", "namespace": ns}), spec)
    };
    let other = Policy::from_value(&doc("other")).unwrap();
    assert!(
        run(&[other], &seed_pod(), KyvernoLine::V1_19)
            .rules
            .is_empty()
    );
    let same = Policy::from_value(&doc("default")).unwrap();
    let response = run(&[same], &seed_pod(), KyvernoLine::V1_19);
    assert!(
        response.denial_message.unwrap().contains("\n\npsa:\n"),
        "keyed by name only"
    );
}

#[test]
fn unmodelled_parts_are_reported() {
    let rule = json!({
        "name": "pattern",
        "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
        "validate": {"pattern": {"spec": {}}},
    });
    let p = policy_with_rules("mixed", json!([rule]));
    let response = run(&[p], &seed_pod(), KyvernoLine::V1_19);
    assert!(response.allowed && response.rules.is_empty());
    assert_eq!(
        response.unmodelled,
        ["mixed/pattern: a matched rule that is not validate.podSecurity is not evaluated"]
    );
}
