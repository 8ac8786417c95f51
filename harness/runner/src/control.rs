//! Controls: the names case files use for what a case is about, and the pss checks behind
//! them. A control is the Pod Security Standards' row name (`host-namespaces`); the checks
//! are upstream's IDs (`hostNamespaces`). Some controls map to a second check at the
//! restricted level, where a restricted check overrides the baseline one.

use std::fmt;

use pss::{CheckId, Level};

/// What a case is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Control {
    HostProcess,
    HostNamespaces,
    Privileged,
    Capabilities,
    HostPathVolumes,
    HostPorts,
    HostProbes,
    AppArmor,
    Selinux,
    ProcMount,
    Seccomp,
    Sysctls,
    VolumeTypes,
    PrivilegeEscalation,
    RunAsNonRoot,
    RunAsUser,
    SeccompRestricted,
    CapabilitiesRestricted,
    ProcMountRestricted,
    /// Admission behaviour (namespaces, exemptions, updates): no single check.
    Admission,
    /// Controller expansion (Kyverno autogen): no single check.
    Autogen,
}

use Control as C;

impl Control {
    pub const ALL: [Control; 21] = [
        C::HostProcess,
        C::HostNamespaces,
        C::Privileged,
        C::Capabilities,
        C::HostPathVolumes,
        C::HostPorts,
        C::HostProbes,
        C::AppArmor,
        C::Selinux,
        C::ProcMount,
        C::Seccomp,
        C::Sysctls,
        C::VolumeTypes,
        C::PrivilegeEscalation,
        C::RunAsNonRoot,
        C::RunAsUser,
        C::SeccompRestricted,
        C::CapabilitiesRestricted,
        C::ProcMountRestricted,
        C::Admission,
        C::Autogen,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            C::HostProcess => "host-process",
            C::HostNamespaces => "host-namespaces",
            C::Privileged => "privileged",
            C::Capabilities => "capabilities",
            C::HostPathVolumes => "host-path-volumes",
            C::HostPorts => "host-ports",
            C::HostProbes => "host-probes",
            C::AppArmor => "app-armor",
            C::Selinux => "selinux",
            C::ProcMount => "proc-mount",
            C::Seccomp => "seccomp",
            C::Sysctls => "sysctls",
            C::VolumeTypes => "volume-types",
            C::PrivilegeEscalation => "privilege-escalation",
            C::RunAsNonRoot => "run-as-non-root",
            C::RunAsUser => "run-as-user",
            C::SeccompRestricted => "seccomp-restricted",
            C::CapabilitiesRestricted => "capabilities-restricted",
            C::ProcMountRestricted => "proc-mount-restricted",
            C::Admission => "admission",
            C::Autogen => "autogen",
        }
    }

    pub fn parse(s: &str) -> Option<Control> {
        Control::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The level whose standard defines the control (`privileged` for the check-less ones).
    pub fn level(self) -> Level {
        match self.primary() {
            Some(check) => check.level(),
            None => Level::Privileged,
        }
    }

    /// The check the control is named after.
    pub fn primary(self) -> Option<CheckId> {
        Some(match self {
            C::HostProcess => CheckId::WindowsHostProcess,
            C::HostNamespaces => CheckId::HostNamespaces,
            C::Privileged => CheckId::Privileged,
            C::Capabilities => CheckId::CapabilitiesBaseline,
            C::HostPathVolumes => CheckId::HostPathVolumes,
            C::HostPorts => CheckId::HostPorts,
            C::HostProbes => CheckId::HostProbesAndHostLifecycle,
            C::AppArmor => CheckId::AppArmorProfile,
            C::Selinux => CheckId::SeLinuxOptions,
            C::ProcMount => CheckId::ProcMount,
            C::Seccomp => CheckId::SeccompProfileBaseline,
            C::Sysctls => CheckId::Sysctls,
            C::VolumeTypes => CheckId::RestrictedVolumes,
            C::PrivilegeEscalation => CheckId::AllowPrivilegeEscalation,
            C::RunAsNonRoot => CheckId::RunAsNonRoot,
            C::RunAsUser => CheckId::RunAsUser,
            C::SeccompRestricted => CheckId::SeccompProfileRestricted,
            C::CapabilitiesRestricted => CheckId::CapabilitiesRestricted,
            C::ProcMountRestricted => CheckId::ProcMountRestricted,
            C::Admission | C::Autogen => return None,
        })
    }

    /// The checks that decide the control at `level`: the primary one, plus at restricted
    /// the restricted check that overrides it for newer versions.
    pub fn checks(self, level: Level) -> Vec<CheckId> {
        let Some(primary) = self.primary() else {
            return Vec::new();
        };
        let overriding = match self {
            C::Capabilities => Some(CheckId::CapabilitiesRestricted),
            C::HostPathVolumes => Some(CheckId::RestrictedVolumes),
            C::ProcMount => Some(CheckId::ProcMountRestricted),
            C::Seccomp => Some(CheckId::SeccompProfileRestricted),
            _ => None,
        };
        match overriding {
            Some(o) if level == Level::Restricted => vec![primary, o],
            _ => vec![primary],
        }
    }

    /// The first minor at which any of the control's checks applies at `level` (0 for the
    /// check-less controls): the start of a case's default version range.
    pub fn first_minor(self, level: Level) -> u32 {
        self.checks(level)
            .into_iter()
            .map(CheckId::introduced_in)
            .min()
            .unwrap_or(0)
    }
}

impl fmt::Display for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for c in Control::ALL {
            assert_eq!(Control::parse(c.as_str()), Some(c));
        }
        assert_eq!(Control::parse("Privileged"), None);
    }

    #[test]
    fn levels_and_checks() {
        assert_eq!(Control::Privileged.level(), Level::Baseline);
        assert_eq!(Control::VolumeTypes.level(), Level::Restricted);
        assert_eq!(
            Control::Capabilities.checks(Level::Baseline),
            [CheckId::CapabilitiesBaseline]
        );
        assert_eq!(
            Control::Capabilities.checks(Level::Restricted),
            [
                CheckId::CapabilitiesBaseline,
                CheckId::CapabilitiesRestricted
            ]
        );
        assert!(Control::Admission.checks(Level::Baseline).is_empty());
    }

    #[test]
    fn first_versions_come_from_the_registry() {
        assert_eq!(Control::Privileged.first_minor(Level::Baseline), 0);
        assert_eq!(Control::HostProbes.first_minor(Level::Baseline), 34);
        assert_eq!(Control::RunAsUser.first_minor(Level::Restricted), 23);
        assert_eq!(
            Control::CapabilitiesRestricted.first_minor(Level::Restricted),
            22
        );
    }
}
