//! Kyverno's view of the Pod Security checks: the order it runs them in (the Go `init`
//! order of the PSA fork, i.e. file-name order), the control names policies use, and which
//! controls are container-level, pod-level or restricted-only (pkg/pss/utils).

use pss::CheckId;

/// The checks of Kyverno's PSA fork (release-1.34), in evaluation order. The 1.35+
/// `procMount_restricted` check does not exist there.
pub const CHECK_ORDER: [CheckId; 18] = [
    CheckId::AllowPrivilegeEscalation,
    CheckId::AppArmorProfile,
    CheckId::CapabilitiesBaseline,
    CheckId::CapabilitiesRestricted,
    CheckId::HostNamespaces,
    CheckId::HostPathVolumes,
    CheckId::HostPorts,
    CheckId::HostProbesAndHostLifecycle,
    CheckId::Privileged,
    CheckId::ProcMount,
    CheckId::RestrictedVolumes,
    CheckId::RunAsNonRoot,
    CheckId::RunAsUser,
    CheckId::SeLinuxOptions,
    CheckId::SeccompProfileBaseline,
    CheckId::SeccompProfileRestricted,
    CheckId::Sysctls,
    CheckId::WindowsHostProcess,
];

/// The `controlName` enum of the CRD, in its order.
pub const CONTROL_NAMES: [&str; 15] = [
    "HostProcess",
    "Host Namespaces",
    "Privileged Containers",
    "Capabilities",
    "HostPath Volumes",
    "Host Ports",
    "AppArmor",
    "SELinux",
    "/proc Mount Type",
    "Seccomp",
    "Sysctls",
    "Volume Types",
    "Privilege Escalation",
    "Running as Non-root",
    "Running as Non-root user",
];

/// Controls whose exclusions must name `images`.
pub const CONTAINER_LEVEL_CONTROLS: [&str; 5] = [
    "Capabilities",
    "Privileged Containers",
    "Host Ports",
    "/proc Mount Type",
    "Privilege Escalation",
];

/// Controls whose exclusions must not name `images`.
pub const POD_LEVEL_CONTROLS: [&str; 4] = [
    "Host Namespaces",
    "HostPath Volumes",
    "Sysctls",
    "Volume Types",
];

/// Controls a `level: baseline` rule may not exclude.
pub const RESTRICTED_CONTROLS: [&str; 4] = [
    "Volume Types",
    "Privilege Escalation",
    "Running as Non-root",
    "Running as Non-root user",
];

/// The checks a control name stands for (`PSS_controls_to_check_id`); empty for an unknown
/// name. `hostProbesAndHostLifecycle` has no control and cannot be excluded.
pub fn check_ids(control: &str) -> &'static [CheckId] {
    match control {
        "Capabilities" => &[
            CheckId::CapabilitiesBaseline,
            CheckId::CapabilitiesRestricted,
        ],
        "Seccomp" => &[
            CheckId::SeccompProfileBaseline,
            CheckId::SeccompProfileRestricted,
        ],
        "Privileged Containers" => &[CheckId::Privileged],
        "Host Ports" => &[CheckId::HostPorts],
        "/proc Mount Type" => &[CheckId::ProcMount],
        "HostProcess" => &[CheckId::WindowsHostProcess],
        "SELinux" => &[CheckId::SeLinuxOptions],
        "Host Namespaces" => &[CheckId::HostNamespaces],
        "HostPath Volumes" => &[CheckId::HostPathVolumes],
        "Sysctls" => &[CheckId::Sysctls],
        "AppArmor" => &[CheckId::AppArmorProfile],
        "Privilege Escalation" => &[CheckId::AllowPrivilegeEscalation],
        "Running as Non-root" => &[CheckId::RunAsNonRoot],
        "Running as Non-root user" => &[CheckId::RunAsUser],
        "Volume Types" => &[CheckId::RestrictedVolumes],
        _ => &[],
    }
}

/// The control a check belongs to, for reports (`None` for hostProbesAndHostLifecycle).
pub fn control_of(id: CheckId) -> Option<&'static str> {
    CONTROL_NAMES
        .into_iter()
        .find(|c| check_ids(c).contains(&id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_by_id_string() {
        assert!(
            CHECK_ORDER
                .windows(2)
                .all(|w| w[0].as_str() < w[1].as_str())
        );
        assert!(!CHECK_ORDER.contains(&CheckId::ProcMountRestricted));
    }

    #[test]
    fn every_check_but_host_probes_has_one_control() {
        for id in CHECK_ORDER {
            let owners = CONTROL_NAMES
                .iter()
                .filter(|c| check_ids(c).contains(&id))
                .count();
            let want = usize::from(id != CheckId::HostProbesAndHostLifecycle);
            assert_eq!(owners, want, "{id}");
        }
        assert_eq!(
            control_of(CheckId::SeccompProfileRestricted),
            Some("Seccomp")
        );
        assert_eq!(control_of(CheckId::HostProbesAndHostLifecycle), None);
        assert!(check_ids("Foo").is_empty());
    }
}
