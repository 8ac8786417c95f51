//! The model agrees with `pss::evaluate` on pods and controllers.

use super::*;

/// Pods shaped like upstream's fixtures: minimal, and one violation or a few at a time.
fn fixture_like_specs() -> Vec<Value> {
    let c = |security_context: Value| json!({"name": "c", "securityContext": security_context});
    vec![
        plain_spec(),
        privileged_spec(),
        json!({"hostPID": true, "containers": [{"name": "c"}]}),
        json!({"containers": [{"name": "c"}],
               "volumes": [{"name": "data", "hostPath": {"path": "/d"}}]}),
        json!({"containers": [c(json!({"capabilities": {"add": ["SYS_ADMIN"]}}))]}),
        json!({"securityContext": {"runAsNonRoot": true,
                                   "seccompProfile": {"type": "RuntimeDefault"}},
               "containers": [c(json!({"allowPrivilegeEscalation": false,
                                       "capabilities": {"drop": ["ALL"]}}))]}),
        json!({"initContainers": [{"name": "i",
                                   "ports": [{"containerPort": 80, "hostPort": 80}]}],
               "containers": [c(json!({"windowsOptions": {"hostProcess": true}}))]}),
    ]
}

#[test]
fn decisions_match_pss_evaluate() {
    for (i, spec) in fixture_like_specs().into_iter().enumerate() {
        for level in ["privileged", "baseline", "restricted"] {
            for version in [
                "v1.0", "v1.8", "v1.19", "v1.22", "v1.25", "v1.34", "v1.37", "latest", "v1.99",
            ] {
                let labels = [("enforce", level), ("enforce-version", version)];
                let policy = lv(&format!("{level}:{version}"));
                let pod = workload(pod_value("p", spec.clone()));
                let verdict = crate::evaluate(&pod, policy);
                let r =
                    admission().validate(&Request::create_workload(pod, "ns", psa_labels(&labels)));
                let case = format!("spec {i} at {policy}");
                assert_eq!(r.allowed, verdict.allowed(), "{case}");
                assert_eq!(r.message(), verdict.message.as_deref(), "{case}");

                let deployment = workload(deployment_value("d", spec.clone()));
                let verdict = crate::evaluate(&deployment, policy);
                let r = admission().validate(&Request::create_workload(
                    deployment,
                    "ns",
                    psa_labels(&labels),
                ));
                assert!(r.allowed, "{case}");
                assert_eq!(
                    r.warnings,
                    verdict.message.into_iter().collect::<Vec<_>>(),
                    "{case}"
                );
            }
        }
    }
}
