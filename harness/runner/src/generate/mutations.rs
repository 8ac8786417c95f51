//! The near misses: for each check, single-field changes of a minimal valid pod, in
//! pairs where a value just inside what the check allows sits next to one just outside
//! (`privileged: false` / `true`, `SYS_CHROOT` / `NET_RAW`, `container_t` / `spc_t`, a
//! sysctl that became safe at some version next to one that never did), plus removals of
//! a field the minimal restricted pod needs. This is how upstream PSA builds its
//! fixtures; which variant is allowed at which version is left to the evaluator.

use pss::{CheckId, Level};
use serde_json::{Value, json};

/// Where a change lands in the pod shorthand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A PodSpec field.
    Spec,
    /// `securityContext` of the pod.
    PodSecurityContext,
    /// A field of the first regular and (a second variant) the first init container.
    Container,
    /// `securityContext` of the first regular and (a second variant) the first init container.
    ContainerSecurityContext,
    /// `metadata.annotations`; `{container}` in a key is the container's name (each
    /// container gets its own variant).
    Annotations,
    /// An extra volume, `data`, appended to the pod's volumes.
    Volume,
}

/// One single-field change, named after the field and value.
#[derive(Debug, Clone)]
pub struct Mutation {
    pub check: CheckId,
    pub name: &'static str,
    pub target: Target,
    /// Merged into the target: objects merge, `null` removes the field, the rest replaces.
    pub patch: Value,
}

fn m(check: CheckId, name: &'static str, target: Target, patch: Value) -> Mutation {
    Mutation {
        check,
        name,
        target,
        patch,
    }
}

/// The minimal pod of a level, as pod shorthand: one regular and one init container;
/// at restricted, the pod runs as non-root with the runtime's seccomp profile and each
/// container drops every capability and forbids privilege escalation.
pub fn minimal_pod(level: Level) -> Value {
    let container = |name: &str| {
        let mut c = json!({"name": name, "image": "registry.example/pause:3.10"});
        if level == Level::Restricted {
            c["securityContext"] =
                json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}});
        }
        c
    };
    let mut pod = json!({"containers": [container("app")], "initContainers": [container("init")]});
    if level == Level::Restricted {
        pod["securityContext"] =
            json!({"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}});
    }
    pod
}

/// Every near miss, by check in evaluation order.
pub fn all() -> Vec<Mutation> {
    let mut out = baseline();
    out.extend(restricted());
    out
}

// One near miss per line: the table reads like upstream's fixture list.
#[rustfmt::skip]
fn baseline() -> Vec<Mutation> {
    use CheckId as C;
    use Target::*;
    vec![
        m(C::AppArmorProfile, "app-armor-runtime-default", ContainerSecurityContext, json!({"appArmorProfile": {"type": "RuntimeDefault"}})),
        m(C::AppArmorProfile, "app-armor-localhost", ContainerSecurityContext, json!({"appArmorProfile": {"type": "Localhost", "localhostProfile": "k8s-nginx"}})),
        m(C::AppArmorProfile, "app-armor-unconfined", ContainerSecurityContext, json!({"appArmorProfile": {"type": "Unconfined"}})),
        m(C::AppArmorProfile, "pod-app-armor-unconfined", PodSecurityContext, json!({"appArmorProfile": {"type": "Unconfined"}})),
        m(C::AppArmorProfile, "app-armor-annotation-runtime-default", Annotations, json!({"container.apparmor.security.beta.kubernetes.io/{container}": "runtime/default"})),
        m(C::AppArmorProfile, "app-armor-annotation-unconfined", Annotations, json!({"container.apparmor.security.beta.kubernetes.io/{container}": "unconfined"})),
        m(C::CapabilitiesBaseline, "add-sys-chroot", ContainerSecurityContext, json!({"capabilities": {"add": ["SYS_CHROOT"]}})),
        m(C::CapabilitiesBaseline, "add-net-raw", ContainerSecurityContext, json!({"capabilities": {"add": ["NET_RAW"]}})),
        m(C::CapabilitiesBaseline, "add-net-bind-service", ContainerSecurityContext, json!({"capabilities": {"add": ["NET_BIND_SERVICE"]}})),
        m(C::CapabilitiesBaseline, "add-sys-admin", ContainerSecurityContext, json!({"capabilities": {"add": ["SYS_ADMIN"]}})),
        m(C::HostNamespaces, "host-network-false", Spec, json!({"hostNetwork": false})),
        m(C::HostNamespaces, "host-network-true", Spec, json!({"hostNetwork": true})),
        m(C::HostNamespaces, "host-pid-false", Spec, json!({"hostPID": false})),
        m(C::HostNamespaces, "host-pid-true", Spec, json!({"hostPID": true})),
        m(C::HostNamespaces, "host-ipc-false", Spec, json!({"hostIPC": false})),
        m(C::HostNamespaces, "host-ipc-true", Spec, json!({"hostIPC": true})),
        m(C::HostPathVolumes, "volume-empty-dir", Volume, json!({"emptyDir": {}})),
        m(C::HostPathVolumes, "volume-host-path", Volume, json!({"hostPath": {"path": "/var/lib/data"}})),
        m(C::HostPorts, "container-port-only", Container, json!({"ports": [{"containerPort": 8080}]})),
        m(C::HostPorts, "host-port-zero", Container, json!({"ports": [{"containerPort": 8080, "hostPort": 0}]})),
        m(C::HostPorts, "host-port-8080", Container, json!({"ports": [{"containerPort": 8080, "hostPort": 8080}]})),
        m(C::HostProbesAndHostLifecycle, "probe-without-host", Container, json!({"livenessProbe": {"httpGet": {"port": 8080}}})),
        m(C::HostProbesAndHostLifecycle, "probe-empty-host", Container, json!({"livenessProbe": {"httpGet": {"port": 8080, "host": ""}}})),
        m(C::HostProbesAndHostLifecycle, "probe-host", Container, json!({"livenessProbe": {"httpGet": {"port": 8080, "host": "example.com"}}})),
        m(C::HostProbesAndHostLifecycle, "tcp-probe-host", Container, json!({"readinessProbe": {"tcpSocket": {"port": 8080, "host": "10.0.0.1"}}})),
        m(C::HostProbesAndHostLifecycle, "post-start-host", Container, json!({"lifecycle": {"postStart": {"httpGet": {"port": 8080, "host": "example.com"}}}})),
        m(C::Privileged, "privileged-false", ContainerSecurityContext, json!({"privileged": false})),
        m(C::Privileged, "privileged-true", ContainerSecurityContext, json!({"privileged": true})),
        m(C::ProcMount, "proc-mount-default", ContainerSecurityContext, json!({"procMount": "Default"})),
        m(C::ProcMount, "proc-mount-unmasked", ContainerSecurityContext, json!({"procMount": "Unmasked"})),
        m(C::SeLinuxOptions, "selinux-type-container-t", ContainerSecurityContext, json!({"seLinuxOptions": {"type": "container_t"}})),
        m(C::SeLinuxOptions, "selinux-type-container-engine-t", ContainerSecurityContext, json!({"seLinuxOptions": {"type": "container_engine_t"}})),
        m(C::SeLinuxOptions, "selinux-type-spc-t", ContainerSecurityContext, json!({"seLinuxOptions": {"type": "spc_t"}})),
        m(C::SeLinuxOptions, "selinux-level", ContainerSecurityContext, json!({"seLinuxOptions": {"level": "s0:c123,c456"}})),
        m(C::SeLinuxOptions, "selinux-user", ContainerSecurityContext, json!({"seLinuxOptions": {"user": "system_u"}})),
        m(C::SeLinuxOptions, "pod-selinux-role", PodSecurityContext, json!({"seLinuxOptions": {"role": "system_r"}})),
        m(C::SeccompProfileBaseline, "seccomp-runtime-default", ContainerSecurityContext, json!({"seccompProfile": {"type": "RuntimeDefault"}})),
        m(C::SeccompProfileBaseline, "seccomp-unconfined", ContainerSecurityContext, json!({"seccompProfile": {"type": "Unconfined"}})),
        m(C::SeccompProfileBaseline, "pod-seccomp-unconfined", PodSecurityContext, json!({"seccompProfile": {"type": "Unconfined"}})),
        m(C::SeccompProfileBaseline, "seccomp-annotation-runtime-default", Annotations, json!({"container.seccomp.security.alpha.kubernetes.io/{container}": "runtime/default"})),
        m(C::SeccompProfileBaseline, "seccomp-annotation-unconfined", Annotations, json!({"container.seccomp.security.alpha.kubernetes.io/{container}": "unconfined"})),
        m(C::Sysctls, "sysctl-shm-rmid-forced", PodSecurityContext, json!({"sysctls": [{"name": "kernel.shm_rmid_forced", "value": "0"}]})),
        m(C::Sysctls, "sysctl-unprivileged-port-start", PodSecurityContext, json!({"sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "1024"}]})),
        m(C::Sysctls, "sysctl-local-reserved-ports", PodSecurityContext, json!({"sysctls": [{"name": "net.ipv4.ip_local_reserved_ports", "value": "1024-65535"}]})),
        m(C::Sysctls, "sysctl-tcp-keepalive-time", PodSecurityContext, json!({"sysctls": [{"name": "net.ipv4.tcp_keepalive_time", "value": "7200"}]})),
        m(C::Sysctls, "sysctl-tcp-rmem", PodSecurityContext, json!({"sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "4096 87380 6291456"}]})),
        m(C::Sysctls, "sysctl-msgmax", PodSecurityContext, json!({"sysctls": [{"name": "kernel.msgmax", "value": "65536"}]})),
        m(C::WindowsHostProcess, "host-process-false", ContainerSecurityContext, json!({"windowsOptions": {"hostProcess": false}})),
        m(C::WindowsHostProcess, "host-process-true", ContainerSecurityContext, json!({"windowsOptions": {"hostProcess": true}})),
        m(C::WindowsHostProcess, "pod-host-process-true", PodSecurityContext, json!({"windowsOptions": {"hostProcess": true}})),
    ]
}

#[rustfmt::skip]
fn restricted() -> Vec<Mutation> {
    use CheckId as C;
    use Target::*;
    vec![
        m(C::AllowPrivilegeEscalation, "allow-privilege-escalation-true", ContainerSecurityContext, json!({"allowPrivilegeEscalation": true})),
        m(C::AllowPrivilegeEscalation, "allow-privilege-escalation-unset", ContainerSecurityContext, json!({"allowPrivilegeEscalation": null})),
        m(C::CapabilitiesRestricted, "add-net-bind-service", ContainerSecurityContext, json!({"capabilities": {"add": ["NET_BIND_SERVICE"]}})),
        m(C::CapabilitiesRestricted, "add-chown", ContainerSecurityContext, json!({"capabilities": {"add": ["CHOWN"]}})),
        m(C::CapabilitiesRestricted, "drop-net-raw-only", ContainerSecurityContext, json!({"capabilities": {"drop": ["NET_RAW"]}})),
        m(C::CapabilitiesRestricted, "drop-all-lower-case", ContainerSecurityContext, json!({"capabilities": {"drop": ["all"]}})),
        m(C::CapabilitiesRestricted, "capabilities-unset", ContainerSecurityContext, json!({"capabilities": null})),
        m(C::ProcMountRestricted, "proc-mount-default", ContainerSecurityContext, json!({"procMount": "Default"})),
        m(C::ProcMountRestricted, "proc-mount-unmasked", ContainerSecurityContext, json!({"procMount": "Unmasked"})),
        m(C::RestrictedVolumes, "volume-config-map", Volume, json!({"configMap": {"name": "settings"}})),
        m(C::RestrictedVolumes, "volume-projected", Volume, json!({"projected": {"sources": []}})),
        m(C::RestrictedVolumes, "volume-image", Volume, json!({"image": {"reference": "registry.example/data:1"}})),
        m(C::RestrictedVolumes, "volume-nfs", Volume, json!({"nfs": {"server": "nfs.example", "path": "/"}})),
        m(C::RestrictedVolumes, "volume-gce-persistent-disk", Volume, json!({"gcePersistentDisk": {"pdName": "data"}})),
        m(C::RunAsNonRoot, "run-as-non-root-true", ContainerSecurityContext, json!({"runAsNonRoot": true})),
        m(C::RunAsNonRoot, "run-as-non-root-false", ContainerSecurityContext, json!({"runAsNonRoot": false})),
        m(C::RunAsNonRoot, "pod-run-as-non-root-false", PodSecurityContext, json!({"runAsNonRoot": false})),
        m(C::RunAsNonRoot, "pod-run-as-non-root-unset", PodSecurityContext, json!({"runAsNonRoot": null})),
        m(C::RunAsNonRoot, "host-users-false", Spec, json!({"hostUsers": false})),
        m(C::RunAsUser, "run-as-user-1000", ContainerSecurityContext, json!({"runAsUser": 1000})),
        m(C::RunAsUser, "run-as-user-0", ContainerSecurityContext, json!({"runAsUser": 0})),
        m(C::RunAsUser, "pod-run-as-user-0", PodSecurityContext, json!({"runAsUser": 0})),
        m(C::SeccompProfileRestricted, "seccomp-localhost", ContainerSecurityContext, json!({"seccompProfile": {"type": "Localhost", "localhostProfile": "profile.json"}})),
        m(C::SeccompProfileRestricted, "seccomp-unconfined", ContainerSecurityContext, json!({"seccompProfile": {"type": "Unconfined"}})),
        m(C::SeccompProfileRestricted, "pod-seccomp-unset", PodSecurityContext, json!({"seccompProfile": null})),
    ]
}

/// `patch` merged into `target`: objects merge key by key, `null` removes a key, any
/// other value replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                match v {
                    Value::Null => {
                        t.remove(k);
                    }
                    Value::Object(_) if t.get(k).is_some_and(Value::is_object) => {
                        if let Some(inner) = t.get_mut(k) {
                            merge(inner, v);
                        }
                    }
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_has_near_misses() {
        let all = all();
        for check in CheckId::ALL {
            assert!(
                all.iter().filter(|m| m.check == check).count() >= 2,
                "{check} has fewer than two near misses"
            );
        }
        let mut names: Vec<_> = all.iter().map(|m| (m.check, m.name)).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len(), "names repeat within a check");
    }

    #[test]
    fn merge_adds_replaces_and_removes() {
        let mut v = json!({"a": {"b": 1, "c": 2}, "d": [1]});
        merge(&mut v, &json!({"a": {"b": null, "e": 3}, "d": [2]}));
        assert_eq!(v, json!({"a": {"c": 2, "e": 3}, "d": [2]}));
    }
}
