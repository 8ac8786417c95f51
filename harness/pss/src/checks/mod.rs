//! The 19 Pod Security checks and their versioned entries, one module per check.
//!
//! A check has an ID, a level and entries ordered by `MinimumVersion`; at a version the
//! entry with the greatest minimum at or below it applies. Restricted entries may override
//! baseline checks (the baseline check is then dropped from the restricted level only).

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::level::Level;
use crate::result::{CheckOptions, Forbidden};

mod allow_privilege_escalation;
mod app_armor_profile;
mod capabilities_baseline;
mod capabilities_restricted;
mod host_namespaces;
mod host_path_volumes;
mod host_ports;
mod host_probes_and_host_lifecycle;
mod privileged;
mod proc_mount;
mod proc_mount_restricted;
mod restricted_volumes;
mod run_as_non_root;
mod run_as_user;
mod se_linux_options;
mod seccomp_profile_baseline;
mod seccomp_profile_restricted;
mod sysctls;
mod windows_host_process;

/// A check function: allowed (`None`) or forbidden. Pure; allocates only when forbidden.
pub type CheckFn = fn(&ObjectMeta, &PodSpec, CheckOptions) -> Option<Forbidden>;

/// One versioned implementation of a check.
#[derive(Clone, Copy)]
pub struct CheckEntry {
    /// `MinimumVersion` as a v1 minor.
    pub min_minor: u32,
    pub check: CheckFn,
    /// Baseline checks this (restricted) entry replaces at the restricted level.
    pub overrides: &'static [CheckId],
}

impl CheckEntry {
    pub(crate) const fn new(min_minor: u32, check: CheckFn) -> Self {
        CheckEntry {
            min_minor,
            check,
            overrides: &[],
        }
    }

    pub(crate) const fn overriding(
        min_minor: u32,
        check: CheckFn,
        overrides: &'static [CheckId],
    ) -> Self {
        CheckEntry {
            min_minor,
            check,
            overrides,
        }
    }
}

impl std::fmt::Debug for CheckEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckEntry")
            .field("min_minor", &self.min_minor)
            .field("overrides", &self.overrides)
            .finish_non_exhaustive()
    }
}

/// Upstream check IDs. The declaration order is upstream's evaluation order: baseline IDs
/// sorted byte-wise, then restricted IDs sorted byte-wise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CheckId {
    AppArmorProfile,
    CapabilitiesBaseline,
    HostNamespaces,
    HostPathVolumes,
    HostPorts,
    HostProbesAndHostLifecycle,
    Privileged,
    ProcMount,
    SeLinuxOptions,
    SeccompProfileBaseline,
    Sysctls,
    WindowsHostProcess,
    AllowPrivilegeEscalation,
    CapabilitiesRestricted,
    ProcMountRestricted,
    RestrictedVolumes,
    RunAsNonRoot,
    RunAsUser,
    SeccompProfileRestricted,
}

impl CheckId {
    /// Every check, in evaluation order.
    pub const ALL: [CheckId; 19] = [
        CheckId::AppArmorProfile,
        CheckId::CapabilitiesBaseline,
        CheckId::HostNamespaces,
        CheckId::HostPathVolumes,
        CheckId::HostPorts,
        CheckId::HostProbesAndHostLifecycle,
        CheckId::Privileged,
        CheckId::ProcMount,
        CheckId::SeLinuxOptions,
        CheckId::SeccompProfileBaseline,
        CheckId::Sysctls,
        CheckId::WindowsHostProcess,
        CheckId::AllowPrivilegeEscalation,
        CheckId::CapabilitiesRestricted,
        CheckId::ProcMountRestricted,
        CheckId::RestrictedVolumes,
        CheckId::RunAsNonRoot,
        CheckId::RunAsUser,
        CheckId::SeccompProfileRestricted,
    ];

    /// The upstream ID string, e.g. `seccompProfile_baseline`.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckId::AppArmorProfile => "appArmorProfile",
            CheckId::CapabilitiesBaseline => "capabilities_baseline",
            CheckId::HostNamespaces => "hostNamespaces",
            CheckId::HostPathVolumes => "hostPathVolumes",
            CheckId::HostPorts => "hostPorts",
            CheckId::HostProbesAndHostLifecycle => "hostProbesAndHostLifecycle",
            CheckId::Privileged => "privileged",
            CheckId::ProcMount => "procMount",
            CheckId::SeLinuxOptions => "seLinuxOptions",
            CheckId::SeccompProfileBaseline => "seccompProfile_baseline",
            CheckId::Sysctls => "sysctls",
            CheckId::WindowsHostProcess => "windowsHostProcess",
            CheckId::AllowPrivilegeEscalation => "allowPrivilegeEscalation",
            CheckId::CapabilitiesRestricted => "capabilities_restricted",
            CheckId::ProcMountRestricted => "procMount_restricted",
            CheckId::RestrictedVolumes => "restrictedVolumes",
            CheckId::RunAsNonRoot => "runAsNonRoot",
            CheckId::RunAsUser => "runAsUser",
            CheckId::SeccompProfileRestricted => "seccompProfile_restricted",
        }
    }

    /// Parse an upstream ID string (exact).
    pub fn from_id(id: &str) -> Option<CheckId> {
        CheckId::ALL.into_iter().find(|c| c.as_str() == id)
    }

    /// The level the check belongs to (`baseline` or `restricted`).
    pub fn level(self) -> Level {
        if self < CheckId::AllowPrivilegeEscalation {
            Level::Baseline
        } else {
            Level::Restricted
        }
    }

    /// The versioned entries, oldest first.
    pub fn entries(self) -> &'static [CheckEntry] {
        match self {
            CheckId::AppArmorProfile => app_armor_profile::ENTRIES,
            CheckId::CapabilitiesBaseline => capabilities_baseline::ENTRIES,
            CheckId::HostNamespaces => host_namespaces::ENTRIES,
            CheckId::HostPathVolumes => host_path_volumes::ENTRIES,
            CheckId::HostPorts => host_ports::ENTRIES,
            CheckId::HostProbesAndHostLifecycle => host_probes_and_host_lifecycle::ENTRIES,
            CheckId::Privileged => privileged::ENTRIES,
            CheckId::ProcMount => proc_mount::ENTRIES,
            CheckId::SeLinuxOptions => se_linux_options::ENTRIES,
            CheckId::SeccompProfileBaseline => seccomp_profile_baseline::ENTRIES,
            CheckId::Sysctls => sysctls::ENTRIES,
            CheckId::WindowsHostProcess => windows_host_process::ENTRIES,
            CheckId::AllowPrivilegeEscalation => allow_privilege_escalation::ENTRIES,
            CheckId::CapabilitiesRestricted => capabilities_restricted::ENTRIES,
            CheckId::ProcMountRestricted => proc_mount_restricted::ENTRIES,
            CheckId::RestrictedVolumes => restricted_volumes::ENTRIES,
            CheckId::RunAsNonRoot => run_as_non_root::ENTRIES,
            CheckId::RunAsUser => run_as_user::ENTRIES,
            CheckId::SeccompProfileRestricted => seccomp_profile_restricted::ENTRIES,
        }
    }

    /// The entry upstream PSA applies at `minor`: the greatest `MinimumVersion <= minor`,
    /// or `None` when the check does not exist yet at that version.
    pub fn entry_at(self, minor: u32) -> Option<&'static CheckEntry> {
        self.entries().iter().rev().find(|e| e.min_minor <= minor)
    }

    /// The oldest minor at which the check applies.
    pub fn introduced_in(self) -> u32 {
        self.entries().first().map_or(0, |e| e.min_minor)
    }
}

impl std::fmt::Display for CheckId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_valid_as_upstream_requires() {
        for id in CheckId::ALL {
            let entries = id.entries();
            assert!(!entries.is_empty(), "{id} has no entries");
            assert!(
                entries.windows(2).all(|w| w[0].min_minor < w[1].min_minor),
                "{id} versions"
            );
            for e in entries {
                if id.level() == Level::Baseline {
                    assert!(e.overrides.is_empty(), "baseline {id} overrides");
                }
                assert!(e.overrides.iter().all(|o| o.level() == Level::Baseline));
            }
        }
    }

    #[test]
    fn ids_are_sorted_within_level() {
        let (baseline, restricted): (Vec<&CheckId>, Vec<&CheckId>) = CheckId::ALL
            .iter()
            .partition(|c| c.level() == Level::Baseline);
        assert!(baseline.windows(2).all(|w| w[0].as_str() < w[1].as_str()));
        assert!(restricted.windows(2).all(|w| w[0].as_str() < w[1].as_str()));
        assert_eq!(baseline.len(), 12);
        assert_eq!(
            CheckId::from_id("seLinuxOptions"),
            Some(CheckId::SeLinuxOptions)
        );
    }
}
