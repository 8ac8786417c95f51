//! Profiles: how an enforcement engine speaks and decides, so the judge picks the right
//! expectation and the golden the right folder.
//!
//! `psa` is upstream Pod Security Admission: pods are denied, controllers only warned.
//! `kyverno@<line>` (e.g. `kyverno@1.12`) is Kyverno's `validate.podSecurity` at one release
//! line: its autogen rules deny controllers too, and its messages have their own envelope.
//! Its target comes from the `kyverno` crate; until then it is parsed but not runnable.

use std::fmt;
use std::str::FromStr;

/// An enforcement engine (and release line) whose answers a case describes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Profile {
    Psa,
    Kyverno { line: String },
}

/// A profile name that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown profile {0:?}: expected psa or kyverno@<line> (e.g. kyverno@1.12)")]
pub struct InvalidProfile(pub String);

impl Profile {
    /// The name used in trial kinds, golden folders and reports: `psa`, `kyverno@1.12`.
    pub fn name(&self) -> String {
        match self {
            Profile::Psa => "psa".to_owned(),
            Profile::Kyverno { line } => format!("kyverno@{line}"),
        }
    }

    /// The family without the release line: `psa`, `kyverno`.
    pub fn family(&self) -> &'static str {
        match self {
            Profile::Psa => "psa",
            Profile::Kyverno { .. } => "kyverno",
        }
    }

    /// Whether the engine refuses controllers whose template fails (Kyverno autogen). PSA
    /// only warns, so for PSA a case's `allowed` describes the template's compliance.
    pub fn denies_controllers(&self) -> bool {
        matches!(self, Profile::Kyverno { .. })
    }

    /// The keys of a case's `profiles:` map that apply to this profile, most specific first.
    pub fn expectation_keys(&self) -> Vec<String> {
        match self {
            Profile::Psa => vec!["psa".to_owned()],
            Profile::Kyverno { .. } => vec![self.name(), "kyverno".to_owned()],
        }
    }

    /// Whether `key` is a valid key of a case's `profiles:` map.
    pub fn is_valid_key(key: &str) -> bool {
        key == "kyverno" || key.parse::<Profile>().is_ok()
    }
}

impl FromStr for Profile {
    type Err = InvalidProfile;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "psa" {
            return Ok(Profile::Psa);
        }
        match s.strip_prefix("kyverno@") {
            Some(line) if is_release_line(line) => Ok(Profile::Kyverno {
                line: line.to_owned(),
            }),
            _ => Err(InvalidProfile(s.to_owned())),
        }
    }
}

/// `1.12` or `1.12.3`: dot-separated numbers.
fn is_release_line(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() >= 2
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
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
        let k: Profile = "kyverno@1.12".parse().unwrap();
        assert_eq!(k.name(), "kyverno@1.12");
        assert!(k.denies_controllers() && !Profile::Psa.denies_controllers());
        assert_eq!(k.expectation_keys(), ["kyverno@1.12", "kyverno"]);
        assert!("kyverno".parse::<Profile>().is_err());
        assert!("kyverno@x".parse::<Profile>().is_err());
        assert!(Profile::is_valid_key("kyverno") && !Profile::is_valid_key("opa"));
    }
}
