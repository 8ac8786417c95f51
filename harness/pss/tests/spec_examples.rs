//! Whole evaluations against the complete strings of the PSA spec
//! (`pod-security-standards.md` section 3.9, examples 1-7) and the whole-message edge cases
//! of section 6 (E1, E13, E16, E17, E20, E31). Each pod is built as the spec describes it.

use pss::{CheckId, Evaluator, Level, LevelVersion, Verdict, Version, Workload};
use serde_json::{Value, json};

fn workload(value: Value) -> Workload {
    Workload::from_value(value).unwrap()
}

fn pod(name: &str, spec: Value) -> Workload {
    workload(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}))
}

fn eval(w: &Workload, policy: &str) -> Verdict {
    pss::evaluate(w, policy.parse::<LevelVersion>().unwrap())
}

/// The aggregated detail (`reason (detail), ...`), empty when allowed.
fn detail(w: &Workload, policy: &str) -> String {
    eval(w, policy).evaluation.detail()
}

/// A restricted-compliant container named `name`, merged with `extra` security context.
fn compliant_container(name: &str, extra: Value) -> Value {
    let mut sc = json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}});
    if let (Some(sc), Some(extra)) = (sc.as_object_mut(), extra.as_object()) {
        sc.extend(extra.clone());
    }
    json!({"name": name, "image": "nginx", "securityContext": sc})
}

const NGINX_RESTRICTED_LATEST: &str = "allowPrivilegeEscalation != false (container \"nginx\" must \
    set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container \
    \"nginx\" must set securityContext.capabilities.drop=[\"ALL\"]), runAsNonRoot != true (pod or \
    container \"nginx\" must set securityContext.runAsNonRoot=true), seccompProfile (pod or \
    container \"nginx\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \
    \"Localhost\")";

fn bare_nginx() -> Workload {
    pod(
        "bad",
        json!({"containers": [{"name": "nginx", "image": "nginx"}]}),
    )
}

#[test]
fn example_1_restricted_latest_bare_container() {
    let v = eval(&bare_nginx(), "restricted:latest");
    assert!(!v.allowed());
    assert_eq!(
        v.message.as_deref(),
        Some(
            format!(
                "pods \"bad\" is forbidden: violates PodSecurity \"restricted:latest\": \
                 {NGINX_RESTRICTED_LATEST}"
            )
            .as_str()
        )
    );
}

#[test]
fn example_2_restricted_v1_0_only_run_as_non_root() {
    assert_eq!(
        eval(&bare_nginx(), "restricted:v1.0").message.as_deref(),
        Some(
            "pods \"bad\" is forbidden: violates PodSecurity \"restricted:v1.0\": runAsNonRoot != \
             true (pod or container \"nginx\" must set securityContext.runAsNonRoot=true)"
        )
    );
}

#[test]
fn example_3_baseline_host_pid_and_privileged() {
    let p = pod(
        "p",
        json!({"hostPID": true, "containers": [
            {"name": "ubuntu", "image": "ubuntu", "securityContext": {"privileged": true}}]}),
    );
    assert_eq!(
        eval(&p, "baseline:latest").message.as_deref(),
        Some(
            "pods \"p\" is forbidden: violates PodSecurity \"baseline:latest\": host namespaces \
             (hostPID=true), privileged (container \"ubuntu\" must not set \
             securityContext.privileged=true)"
        )
    );
}

fn deployment_with_host_path() -> Workload {
    workload(json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {
                "containers": [{"name": "app", "image": "nginx",
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                "volumes": [{"name": "data", "hostPath": {"path": "/var/data"}}],
            },
        }},
    }))
}

#[test]
fn example_4_deployment_warning_at_baseline() {
    let v = eval(&deployment_with_host_path(), "baseline:latest");
    assert!(!v.allowed());
    assert_eq!(
        v.message.as_deref(),
        Some("would violate PodSecurity \"baseline:latest\": hostPath volumes (volume \"data\")")
    );
}

#[test]
fn example_5_and_e31_restricted_volume_types_sort_under_restricted_checks() {
    assert_eq!(
        eval(&deployment_with_host_path(), "restricted:latest")
            .message
            .as_deref(),
        Some(
            "would violate PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false \
             (container \"app\" must set securityContext.allowPrivilegeEscalation=false), \
             unrestricted capabilities (container \"app\" must set \
             securityContext.capabilities.drop=[\"ALL\"]), restricted volume types (volume \
             \"data\" uses restricted volume type \"hostPath\"), runAsNonRoot != true (pod or \
             container \"app\" must set securityContext.runAsNonRoot=true), seccompProfile (pod \
             or container \"app\" must set securityContext.seccompProfile.type to \
             \"RuntimeDefault\" or \"Localhost\")"
        )
    );
    // restrictedVolumes overrides the baseline hostPathVolumes check at restricted.
    let ids: Vec<CheckId> = eval(&deployment_with_host_path(), "restricted:latest")
        .evaluation
        .failures
        .iter()
        .map(|f| f.check)
        .collect();
    assert!(!ids.contains(&CheckId::HostPathVolumes));
}

#[test]
fn example_6_audit_value_for_missing_run_as_non_root() {
    let p = pod(
        "app",
        json!({"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [compliant_container("app", json!({}))]}),
    );
    let v = eval(&p, "restricted:latest");
    assert_eq!(
        pss::messages::violation_warning(&v.policy, &v.evaluation.detail()),
        "would violate PodSecurity \"restricted:latest\": runAsNonRoot != true (pod or container \
         \"app\" must set securityContext.runAsNonRoot=true)"
    );
}

/// The restricted minimal pod of the upstream fixtures at v1.22+.
fn restricted_base(init: Value, main: Value) -> Value {
    json!({
        "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
        "initContainers": [init],
        "containers": [main],
    })
}

#[test]
fn example_7_fixture_denials_at_v1_37() {
    let ports = |name: &str, host: u16, plain: u16| {
        json!({"name": name, "image": "pause", "ports": [
            {"containerPort": host, "hostPort": host}, {"containerPort": plain}]})
    };
    let p = pod(
        "hostports2",
        json!({"initContainers": [ports("initcontainer1", 12346, 12348)],
            "containers": [ports("container1", 12345, 12347)]}),
    );
    assert_eq!(
        detail(&p, "baseline:v1.37"),
        "hostPort (containers \"initcontainer1\", \"container1\" use hostPorts 12345, 12346)"
    );

    let caps = json!({"add": ["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL",
        "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"],
        "drop": ["ALL"]});
    let with_caps = |name: &str| {
        json!({"name": name, "image": "pause",
            "securityContext": {"allowPrivilegeEscalation": false, "capabilities": caps}})
    };
    let p = pod(
        "capabilities_restricted3",
        restricted_base(with_caps("initcontainer1"), with_caps("container1")),
    );
    assert_eq!(
        detail(&p, "restricted:v1.37"),
        "unrestricted capabilities (containers \"initcontainer1\", \"container1\" must not include \
         \"AUDIT_WRITE\", \"CHOWN\", \"DAC_OVERRIDE\", \"FOWNER\", \"FSETID\", \"KILL\", \
         \"MKNOD\", \"SETFCAP\", \"SETGID\", \"SETPCAP\", \"SETUID\", \"SYS_CHROOT\" in \
         securityContext.capabilities.add)"
    );

    let host_process = |name: &str| {
        json!({"name": name, "image": "pause",
            "securityContext": {"windowsOptions": {"hostProcess": true}}})
    };
    let p = pod(
        "windowshostprocess1",
        json!({"hostNetwork": true, "securityContext": {"windowsOptions": {}},
            "initContainers": [host_process("initcontainer1")],
            "containers": [host_process("container1")]}),
    );
    assert_eq!(
        detail(&p, "baseline:v1.37"),
        "host namespaces (hostNetwork=true), hostProcess (containers \"initcontainer1\", \
         \"container1\" must not set securityContext.windowsOptions.hostProcess=true)"
    );

    let p = pod(
        "privileged0",
        restricted_base(
            compliant_container("initcontainer1", json!({})),
            json!({"name": "container1", "image": "pause",
                "securityContext": {"capabilities": {"drop": ["ALL"]}, "privileged": true}}),
        ),
    );
    assert_eq!(
        detail(&p, "restricted:v1.37"),
        "privileged (container \"container1\" must not set securityContext.privileged=true), \
         allowPrivilegeEscalation != false (container \"container1\" must set \
         securityContext.allowPrivilegeEscalation=false)"
    );
}

#[test]
fn e1_future_version_is_evaluated_as_newest_but_printed_as_configured() {
    let p = pod(
        "p",
        json!({"containers": [
            {"name": "c", "image": "x", "securityContext": {"privileged": true}}]}),
    );
    assert_eq!(
        eval(&p, "baseline:v1.99").message.as_deref(),
        Some(
            "pods \"p\" is forbidden: violates PodSecurity \"baseline:v1.99\": privileged \
             (container \"c\" must not set securityContext.privileged=true)"
        )
    );
    // A sysctl that only v1.37 allows shows the v1.37 rules are applied at v1.99.
    let sysctl = pod(
        "s",
        json!({"securityContext": {"sysctls": [
                {"name": "net.ipv4.tcp_notsent_lowat", "value": "1"}]},
            "containers": [{"name": "c", "image": "x"}]}),
    );
    assert!(eval(&sysctl, "baseline:v1.99").allowed());
    assert_eq!(
        eval(&sysctl, "baseline:v1.36").message.as_deref(),
        Some(
            "pods \"s\" is forbidden: violates PodSecurity \"baseline:v1.36\": forbidden sysctls \
             (net.ipv4.tcp_notsent_lowat)"
        )
    );
    let evaluator = Evaluator::standard();
    let newest: Vec<_> = evaluator.checks(Level::Baseline, Version::V1(37)).collect();
    assert_eq!(
        evaluator
            .checks(Level::Baseline, Version::V1(99))
            .collect::<Vec<_>>(),
        newest
    );
}

#[test]
fn e13_restricted_checks_appear_at_their_versions() {
    let w = bare_nginx();
    let rnr = "runAsNonRoot != true (pod or container \"nginx\" must set \
               securityContext.runAsNonRoot=true)";
    let ape = "allowPrivilegeEscalation != false (container \"nginx\" must set \
               securityContext.allowPrivilegeEscalation=false)";
    let seccomp = "seccompProfile (pod or container \"nginx\" must set \
                   securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")";
    assert_eq!(detail(&w, "restricted:v1.0"), rnr);
    assert_eq!(detail(&w, "restricted:v1.7"), rnr);
    assert_eq!(detail(&w, "restricted:v1.8"), format!("{ape}, {rnr}"));
    assert_eq!(detail(&w, "restricted:v1.18"), format!("{ape}, {rnr}"));
    assert_eq!(
        detail(&w, "restricted:v1.19"),
        format!("{ape}, {rnr}, {seccomp}")
    );
    assert_eq!(
        detail(&w, "restricted:v1.21"),
        format!("{ape}, {rnr}, {seccomp}")
    );
    assert_eq!(detail(&w, "restricted:v1.22"), NGINX_RESTRICTED_LATEST);
    assert_eq!(detail(&w, "restricted:v1.23"), NGINX_RESTRICTED_LATEST);
    // The Evaluator API gives the same failures as the convenience function.
    let Some(t) = w.pod_template() else {
        panic!("pod has a spec")
    };
    let evaluation =
        Evaluator::standard().evaluate(Level::Restricted, Version::V1(7), t.metadata, t.spec);
    assert_eq!(evaluation.detail(), rnr);
}

fn user_namespace_pod() -> Workload {
    pod(
        "userns",
        json!({"hostUsers": false,
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                compliant_container("c", json!({"runAsUser": 0, "procMount": "Unmasked"}))]}),
    )
}

#[test]
fn e17_user_namespaces_relax_run_as_checks_from_v1_35_only() {
    let w = user_namespace_pod();
    let proc_mount = "procMount (container \"c\" must not set securityContext.procMount to \
                      \"Unmasked\")";
    assert_eq!(detail(&w, "restricted:v1.35"), proc_mount);
    assert_eq!(detail(&w, "restricted:latest"), proc_mount);
    assert_eq!(
        detail(&w, "restricted:v1.34"),
        format!(
            "{proc_mount}, runAsNonRoot != true (pod or container \"c\" must set \
             securityContext.runAsNonRoot=true), runAsUser=0 (container \"c\" must not set \
             runAsUser=0)"
        )
    );
    assert!(eval(&w, "baseline:v1.35").allowed());
    assert!(!eval(&w, "baseline:v1.34").allowed());
}

#[test]
fn e20_host_path_and_nfs() {
    let p = pod(
        "vols",
        json!({"securityContext":
                {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [compliant_container("c", json!({}))],
        "volumes": [
            {"name": "h", "hostPath": {"path": "/"}},
            {"name": "n", "nfs": {"server": "nfs.example", "path": "/"}},
        ]}),
    );
    assert_eq!(
        detail(&p, "restricted:latest"),
        "restricted volume types (volumes \"h\", \"n\" use restricted volume types \"hostPath\", \
         \"nfs\")"
    );
    assert_eq!(
        detail(&p, "baseline:latest"),
        "hostPath volumes (volume \"h\")"
    );
}

#[test]
fn e16_windows_pods_skip_overridden_baseline_checks_at_restricted() {
    let seccomp = pod(
        "win",
        json!({"os": {"name": "windows"},
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "Unconfined"}},
            "containers": [{"name": "c", "image": "x"}]}),
    );
    assert!(eval(&seccomp, "restricted:v1.25").allowed());
    assert!(eval(&seccomp, "restricted:latest").allowed());
    assert_eq!(
        detail(&seccomp, "baseline:v1.19"),
        "seccompProfile (pod must not set securityContext.seccompProfile.type to \"Unconfined\")"
    );
    assert_eq!(
        detail(&seccomp, "baseline:latest"),
        "seccompProfile (pod must not set securityContext.seccompProfile.type to \"Unconfined\")"
    );

    let caps = pod(
        "win",
        json!({"os": {"name": "windows"}, "securityContext": {"runAsNonRoot": true},
            "containers": [{"name": "c", "image": "x",
                "securityContext": {"capabilities": {"add": ["NET_RAW"]}}}]}),
    );
    assert!(eval(&caps, "restricted:latest").allowed());
    assert_eq!(
        detail(&caps, "baseline:latest"),
        "non-default capabilities (container \"c\" must not include \"NET_RAW\" in \
         securityContext.capabilities.add)"
    );
}
