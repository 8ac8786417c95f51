//! Profiles: how an enforcement engine speaks and decides, so the judge picks the right
//! expectation and the golden the right folder.
//!
//! `psa` is upstream Pod Security Admission: pods are denied, controllers only warned.
//! `kyverno@<line>` is Kyverno's `validate.podSecurity` at one release line, named after the
//! first release of its message format: `kyverno@v1.10` (v1.10-v1.11), `kyverno@v1.12`
//! (v1.12-v1.18), `kyverno@v1.19` (v1.19+). A concrete release (`kyverno@1.16.2`) is
//! accepted and mapped to its line. Kyverno's autogen rules deny controllers too, and it
//! evaluates at the policy's version, so its scenarios run at `latest` only.
//!
//! A profile can also be declared in a file ([`crate::profile_file`]) for an engine whose
//! wording the harness does not model: it names the kinds the engine refuses or warns
//! about, how to read its reasons, and whether its messages are pinned.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;
use std::sync::Arc;

use kyverno::KyvernoLine;
use pss::{Kind, Version};

use crate::case::Case;
use crate::profile_file::ProfileFile;

/// An enforcement engine (and release line) whose answers a case describes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Profile {
    Psa,
    Kyverno {
        line: KyvernoLine,
    },
    /// Declared in a profile file.
    File(FileProfile),
}

/// A profile file's profile; profiles are told apart (and ordered) by name.
#[derive(Debug, Clone)]
pub struct FileProfile(pub Arc<ProfileFile>);

impl PartialEq for FileProfile {
    fn eq(&self, other: &Self) -> bool {
        self.0.name == other.0.name
    }
}

impl Eq for FileProfile {}

impl PartialOrd for FileProfile {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for FileProfile {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.name.cmp(&other.0.name)
    }
}

impl Hash for FileProfile {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.name.hash(state);
    }
}

/// A profile name that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown profile {0:?}: expected psa or kyverno@<line> (kyverno@v1.10, kyverno@v1.12, \
     kyverno@v1.19, or a release such as kyverno@1.16.2)"
)]
pub struct InvalidProfile(pub String);

impl Profile {
    /// Every profile the bundled suite runs under: PSA and each Kyverno line.
    pub fn all() -> Vec<Profile> {
        std::iter::once(Profile::Psa)
            .chain(KyvernoLine::ALL.map(|line| Profile::Kyverno { line }))
            .collect()
    }

    /// The name used in trial kinds, golden folders and reports: `psa`, `kyverno@v1.12`,
    /// a profile file's name.
    pub fn name(&self) -> String {
        match self {
            Profile::Psa => "psa".to_owned(),
            Profile::Kyverno { line } => format!("kyverno@{line}"),
            Profile::File(f) => f.0.name.clone(),
        }
    }

    /// The family without the release line: `psa`, `kyverno`, `file`.
    pub fn family(&self) -> &'static str {
        match self {
            Profile::Psa => "psa",
            Profile::Kyverno { .. } => "kyverno",
            Profile::File(_) => "file",
        }
    }

    /// A profile from a profile file.
    pub fn from_file(file: ProfileFile) -> Profile {
        Profile::File(FileProfile(Arc::new(file)))
    }

    /// The profile file, for profiles declared in one.
    pub fn file(&self) -> Option<&ProfileFile> {
        match self {
            Profile::File(f) => Some(&f.0),
            _ => None,
        }
    }

    /// The Kyverno line, for Kyverno profiles.
    pub fn kyverno_line(&self) -> Option<KyvernoLine> {
        match self {
            Profile::Kyverno { line } => Some(*line),
            _ => None,
        }
    }

    /// Whether the engine refuses `kind` when its pod (template) violates, rather than
    /// warning: pods everywhere, controllers under Kyverno, what a profile file says.
    pub fn denies_kind(&self, kind: Kind) -> bool {
        match self {
            Profile::File(f) => f.0.denies(kind),
            _ => kind.is_pod() || self.denies_controllers(),
        }
    }

    /// Whether a warning says the object violates the policy (PSA's `would violate
    /// PodSecurity`; any warning of a profile file's engine).
    pub fn is_policy_warning(&self, warning: &str) -> bool {
        match self {
            Profile::File(_) => true,
            _ => warning.starts_with(crate::judge::WOULD_VIOLATE),
        }
    }

    /// Whether refusals' reasons are compared (a profile file may judge decisions only).
    pub fn compares_reasons(&self) -> bool {
        match self {
            Profile::File(f) => !matches!(f.0.reasons, crate::profile_file::Reasons::None),
            _ => true,
        }
    }

    /// Whether the profile's messages are pinned in goldens.
    pub fn pins_messages(&self) -> bool {
        match self {
            Profile::File(f) => f.0.pin_messages,
            _ => true,
        }
    }

    /// Whether the harness has an in-process engine for the profile (its reference texts).
    pub fn has_reference(&self) -> bool {
        !matches!(self, Profile::File(_))
    }

    /// Whether the engine refuses controllers whose template fails (Kyverno autogen). PSA
    /// only warns, so for PSA a case's `allowed` describes the template's compliance.
    pub fn denies_controllers(&self) -> bool {
        matches!(self, Profile::Kyverno { .. })
    }

    /// Whether the order of failing checks is part of the engine's answer. Kyverno runs
    /// checks in its fork's file-name order (and in a Go map order after an exclusion), so
    /// its reasons are compared as a set.
    pub fn ordered_reasons(&self) -> bool {
        match self {
            Profile::Psa => true,
            Profile::Kyverno { .. } => false,
            Profile::File(f) => f.0.ordered_reasons(),
        }
    }

    /// The keys of a case's `profiles:` map that apply to this profile, most specific first.
    pub fn expectation_keys(&self) -> Vec<String> {
        match self {
            Profile::Psa => vec!["psa".to_owned()],
            Profile::Kyverno { .. } => vec![self.name(), "kyverno".to_owned()],
            Profile::File(_) => vec![self.name()],
        }
    }

    /// The keys that apply to this profile for one kind, most specific first:
    /// `kyverno@v1.12/CronJob`, `kyverno/CronJob`, `kyverno@v1.12`, `kyverno`.
    pub fn expectation_keys_for(&self, kind: Kind) -> Vec<String> {
        let keys = self.expectation_keys();
        let per_kind = keys.iter().map(|k| format!("{k}/{}", kind.as_str()));
        per_kind.chain(keys.iter().cloned()).collect()
    }

    /// The canonical form of a key of a case's `profiles:` map (`kyverno@1.16.2` becomes
    /// `kyverno@v1.12`; `<profile>/<Kind>` narrows an entry to one kind), or `None` when
    /// the key names no profile or no kind.
    pub fn canonical_key(key: &str) -> Option<String> {
        let (profile, kind) = match key.split_once('/') {
            Some((p, k)) => (p, Some(k)),
            None => (key, None),
        };
        let profile = match profile {
            "kyverno" => profile.to_owned(),
            _ => profile.parse::<Profile>().ok()?.name(),
        };
        match kind {
            None => Some(profile),
            Some(k) => Kind::from_kind(k).map(|k| format!("{profile}/{}", k.as_str())),
        }
    }

    /// Whether `key` is a valid key of a case's `profiles:` map.
    pub fn is_valid_key(key: &str) -> bool {
        Profile::canonical_key(key).is_some()
    }

    /// Whether the profile evaluates a case at `version`: PSA at every version of the case,
    /// Kyverno only at `latest` (it evaluates at the version its policy names).
    pub fn runs_version(&self, version: Version) -> bool {
        match self {
            Profile::Psa => true,
            Profile::Kyverno { .. } => version == Version::Latest,
            Profile::File(f) => f.0.all_versions || version == Version::Latest,
        }
    }

    /// Whether the profile evaluates a case as `kind`. Kyverno's autogen covers the seven
    /// pod controllers, not PodTemplate, so a pod is not expanded into a PodTemplate.
    pub fn runs_kind(&self, case: &Case, kind: Kind) -> bool {
        match self {
            Profile::Psa => true,
            Profile::Kyverno { .. } => kind != Kind::PodTemplate || case.object.kind() == kind,
            Profile::File(f) => f.0.judges(kind),
        }
    }

    /// The versions of a case this profile runs, oldest first.
    pub fn versions(&self, case: &Case) -> Vec<Version> {
        let keep = |v: &&Version| self.runs_version(**v);
        case.versions.iter().filter(keep).copied().collect()
    }

    /// The kinds of a case this profile runs, own kind first.
    pub fn kinds(&self, case: &Case) -> Vec<Kind> {
        let keep = |k: &&Kind| self.runs_kind(case, **k);
        case.kinds.iter().filter(keep).copied().collect()
    }
}

impl FromStr for Profile {
    type Err = InvalidProfile;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "psa" {
            return Ok(Profile::Psa);
        }
        s.strip_prefix("kyverno@")
            .and_then(KyvernoLine::for_release)
            .map(|line| Profile::Kyverno { line })
            .ok_or_else(|| InvalidProfile(s.to_owned()))
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_names() {
        assert_eq!("psa".parse::<Profile>(), Ok(Profile::Psa));
        let k: Profile = "kyverno@v1.12".parse().unwrap();
        assert_eq!(k.name(), "kyverno@v1.12");
        assert!(k.denies_controllers() && !Profile::Psa.denies_controllers());
        assert_eq!(k.expectation_keys(), ["kyverno@v1.12", "kyverno"]);
        assert!("kyverno".parse::<Profile>().is_err());
        assert!("kyverno@x".parse::<Profile>().is_err());
        assert!("kyverno@v1.9".parse::<Profile>().is_err());
        assert!(Profile::is_valid_key("kyverno") && !Profile::is_valid_key("opa"));
        assert_eq!(
            Profile::canonical_key("kyverno@1.13/CronJob").as_deref(),
            Some("kyverno@v1.12/CronJob")
        );
        assert!(!Profile::is_valid_key("kyverno/Cronjob"));
        assert_eq!(
            k.expectation_keys_for(Kind::Job),
            [
                "kyverno@v1.12/Job",
                "kyverno/Job",
                "kyverno@v1.12",
                "kyverno"
            ]
        );
    }

    #[test]
    fn releases_map_to_their_line() {
        for (release, line) in [
            ("kyverno@1.16.2", "kyverno@v1.12"),
            ("kyverno@v1.11.4", "kyverno@v1.10"),
            ("kyverno@v1.10", "kyverno@v1.10"),
            ("kyverno@1.19.0", "kyverno@v1.19"),
            ("kyverno@v1.20", "kyverno@v1.19"),
        ] {
            assert_eq!(
                release.parse::<Profile>().map(|p| p.name()),
                Ok(line.into())
            );
            assert_eq!(Profile::canonical_key(release).as_deref(), Some(line));
        }
        let names: Vec<String> = Profile::all().iter().map(Profile::name).collect();
        assert_eq!(
            names,
            ["psa", "kyverno@v1.10", "kyverno@v1.12", "kyverno@v1.19"]
        );
    }

    #[test]
    fn kyverno_runs_at_latest_only() {
        let k: Profile = "kyverno@v1.19".parse().unwrap();
        assert!(k.runs_version(Version::Latest) && !k.runs_version(Version::V1(37)));
        assert!(Profile::Psa.runs_version(Version::V1(0)));
    }
}
