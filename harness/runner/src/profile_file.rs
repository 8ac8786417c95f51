//! Profiles declared in a file, for engines whose wording the harness does not model (a
//! vendor's webhook): which kinds the engine refuses and which it only warns about, which
//! versions it evaluates, how to read the failing checks from its texts, and whether its
//! own messages are pinned in `golden/<name>/` (`run --goldens record` writes them for
//! review) or the engine is judged on its decisions only.
//!
//! ```yaml
//! apiVersion: pss-harness.io/v1
//! kind: Profile
//! name: acme-guard                  # golden/acme-guard/, reports
//! description: ACME Guard admission webhook
//! deny: [Pod, Deployment]           # refused when the pod (template) violates
//! warn: [Job, CronJob]              # allowed with a warning when it violates
//! versions: latest                  # latest: the newest policy only; all: every version
//! reasons:                          # psa | kyverno | none | a pattern
//!   pattern: 'check (?P<reason>[A-Za-z]+) failed'
//!   ordered: false
//! messages: pin                     # pin | ignore (decisions only)
//! ```
//!
//! The expectations are the standard's (each case's `expect`); PSA's admission behaviour
//! (`control: admission` cases: exemptions, updates, namespace warnings) is PSA's own and
//! is not judged for a profile file.

use std::path::{Path, PathBuf};

use pss::Kind;
use regex::Regex;
use serde::Deserialize;

use crate::target::webhook::{kyverno_rules, kyverno_violations, psa_violations};
use crate::target::{Outcome, Violation};

/// The `apiVersion` of a profile file.
pub const API_VERSION: &str = "pss-harness.io/v1";

/// A validated profile file.
#[derive(Debug, Clone)]
pub struct ProfileFile {
    pub name: String,
    pub description: Option<String>,
    /// Kinds refused when their pod (template) violates.
    pub deny: Vec<Kind>,
    /// Kinds allowed with a warning when their pod (template) violates.
    pub warn: Vec<Kind>,
    /// Every version of a case, or `latest` only.
    pub all_versions: bool,
    pub reasons: Reasons,
    /// Pin the engine's own messages in goldens.
    pub pin_messages: bool,
    /// Where it was read from.
    pub path: PathBuf,
}

/// How the failing checks are read from the engine's texts.
#[derive(Debug, Clone)]
pub enum Reasons {
    /// PSA's detail list after `violates PodSecurity "<level:version>": `.
    Psa,
    /// Kyverno's denial YAML with `podSecurity` rule messages.
    Kyverno,
    /// Each match's `reason` group (or the whole match) in the refusal, else in the first
    /// warning, is one reason.
    Pattern { regex: Regex, ordered: bool },
    /// Not read: decisions only.
    None,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIn {
    #[serde(rename = "apiVersion")]
    api_version: String,
    kind: String,
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    deny: Option<Vec<String>>,
    #[serde(default)]
    warn: Vec<String>,
    #[serde(default)]
    versions: Option<String>,
    #[serde(default)]
    reasons: Option<ReasonsIn>,
    #[serde(default)]
    messages: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ReasonsIn {
    Named(String),
    Pattern(PatternIn),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternIn {
    pattern: String,
    #[serde(default = "yes")]
    ordered: bool,
}

fn yes() -> bool {
    true
}

impl ProfileFile {
    /// Read and validate a profile file; the error names the file.
    pub fn load(path: &Path) -> Result<ProfileFile, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        ProfileFile::parse(&text, path).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Validate a profile file's text.
    pub fn parse(text: &str, path: &Path) -> Result<ProfileFile, String> {
        let raw: FileIn = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        if raw.api_version != API_VERSION || raw.kind != "Profile" {
            return Err(format!(
                "expected apiVersion {API_VERSION} and kind Profile, got {} {}",
                raw.api_version, raw.kind
            ));
        }
        check_name(&raw.name)?;
        let deny = kinds(raw.deny.as_deref().unwrap_or(&["Pod".to_owned()]), "deny")?;
        let warn = kinds(&raw.warn, "warn")?;
        if let Some(both) = deny.iter().find(|k| warn.contains(k)) {
            return Err(format!("{both} is listed in both deny and warn"));
        }
        if deny.is_empty() && warn.is_empty() {
            return Err("deny and warn name no kind: the engine would judge nothing".into());
        }
        let all_versions = match raw.versions.as_deref() {
            None | Some("latest") => false,
            Some("all") => true,
            Some(other) => return Err(format!("versions: expected latest or all, got {other:?}")),
        };
        let pin_messages = match raw.messages.as_deref() {
            None | Some("pin") => true,
            Some("ignore") => false,
            Some(other) => return Err(format!("messages: expected pin or ignore, got {other:?}")),
        };
        Ok(ProfileFile {
            name: raw.name,
            description: raw.description,
            deny,
            warn,
            all_versions,
            reasons: reasons(raw.reasons)?,
            pin_messages,
            path: path.to_path_buf(),
        })
    }

    /// Whether the engine refuses `kind` (else it only warns about it).
    pub fn denies(&self, kind: Kind) -> bool {
        self.deny.contains(&kind)
    }

    /// Whether the engine judges `kind` at all.
    pub fn judges(&self, kind: Kind) -> bool {
        self.deny.contains(&kind) || self.warn.contains(&kind)
    }

    /// The failing checks in the outcome's texts; `None` when reasons are not read.
    pub fn read_reasons(&self, outcome: &Outcome) -> Option<Vec<Violation>> {
        let text = subject_text(outcome)?;
        Some(match &self.reasons {
            Reasons::None => return None,
            Reasons::Psa => psa_violations(text),
            Reasons::Kyverno => kyverno_rules(text)
                .iter()
                .filter(|r| r.failed())
                .flat_map(|r| kyverno_violations(&r.message))
                .collect(),
            Reasons::Pattern { regex, .. } => regex
                .captures_iter(text)
                .filter_map(|c| c.name("reason").or_else(|| c.get(0)))
                .map(|m| Violation {
                    reason: m.as_str().to_owned(),
                    detail: String::new(),
                })
                .collect(),
        })
    }

    /// Whether the order of reasons is part of the answer.
    pub fn ordered_reasons(&self) -> bool {
        match &self.reasons {
            Reasons::Psa => true,
            Reasons::Pattern { ordered, .. } => *ordered,
            Reasons::Kyverno | Reasons::None => false,
        }
    }
}

/// The text reasons are read from: the refusal, else the first warning (a kind the engine
/// only warns about).
fn subject_text(outcome: &Outcome) -> Option<&str> {
    match &outcome.status {
        Some(status) if !outcome.allowed => Some(status.message.as_str()),
        _ => outcome.warnings.first().map(String::as_str),
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
    if !valid {
        return Err(format!(
            "name {name:?}: lower-case letters, digits, '.', '_' and '-' (it names the golden \
             folder), starting with a letter or digit"
        ));
    }
    if name == "psa" || name.starts_with("kyverno") {
        return Err(format!(
            "name {name:?} is the harness's own profile; pick the engine's name"
        ));
    }
    Ok(())
}

fn kinds(names: &[String], field: &str) -> Result<Vec<Kind>, String> {
    names
        .iter()
        .map(|n| {
            Kind::from_kind(n).ok_or_else(|| {
                let known: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                format!(
                    "{field}: unknown kind {n:?} (expected {})",
                    known.join(", ")
                )
            })
        })
        .collect()
}

fn reasons(raw: Option<ReasonsIn>) -> Result<Reasons, String> {
    match raw {
        None => Ok(Reasons::None),
        Some(ReasonsIn::Named(name)) => match name.as_str() {
            "psa" => Ok(Reasons::Psa),
            "kyverno" => Ok(Reasons::Kyverno),
            "none" => Ok(Reasons::None),
            other => Err(format!(
                "reasons: expected psa, kyverno, none or {{pattern: REGEX}}, got {other:?}"
            )),
        },
        Some(ReasonsIn::Pattern(p)) => {
            let regex = Regex::new(&p.pattern).map_err(|e| format!("reasons.pattern: {e}"))?;
            Ok(Reasons::Pattern {
                regex,
                ordered: p.ordered,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Status;

    const ACME: &str = "apiVersion: pss-harness.io/v1
kind: Profile
name: acme-guard
deny: [Pod, Deployment]
warn: [Job]
reasons:
  pattern: 'check (?P<reason>[A-Za-z]+) failed'
  ordered: false
";

    fn parse(text: &str) -> Result<ProfileFile, String> {
        ProfileFile::parse(text, Path::new("acme.yaml"))
    }

    #[test]
    fn a_profile_reads_its_reasons_from_the_engines_words() {
        let p = parse(ACME).unwrap();
        assert!(p.denies(Kind::Deployment) && !p.denies(Kind::Job) && p.judges(Kind::Job));
        assert!(!p.judges(Kind::CronJob) && !p.all_versions && p.pin_messages);
        assert!(!p.ordered_reasons());
        let outcome = Outcome {
            allowed: false,
            status: Some(Status {
                code: 403,
                reason: "Forbidden".into(),
                message: "ACME: check privileged failed, check hostPath failed".into(),
            }),
            ..Outcome::default()
        };
        let reasons: Vec<String> = p
            .read_reasons(&outcome)
            .unwrap()
            .into_iter()
            .map(|v| v.reason)
            .collect();
        assert_eq!(reasons, ["privileged", "hostPath"]);
    }

    #[test]
    fn decisions_only_reads_no_reasons() {
        let text = "apiVersion: pss-harness.io/v1\nkind: Profile\nname: x\nmessages: ignore\n";
        let p = parse(text).unwrap();
        assert_eq!(p.deny, [Kind::Pod]);
        assert!(!p.pin_messages);
        assert!(p.read_reasons(&Outcome::default()).is_none());
    }

    #[test]
    fn mistakes_are_named() {
        for (text, needle) in [
            (
                "apiVersion: v1\nkind: Profile\nname: x\n",
                "expected apiVersion",
            ),
            (
                "apiVersion: pss-harness.io/v1\nkind: Profile\nname: psa\n",
                "own profile",
            ),
            (
                "apiVersion: pss-harness.io/v1\nkind: Profile\nname: A/b\n",
                "lower-case",
            ),
            (
                "apiVersion: pss-harness.io/v1\nkind: Profile\nname: x\ndeny: [Pods]\n",
                "unknown kind \"Pods\"",
            ),
            (
                "apiVersion: pss-harness.io/v1\nkind: Profile\nname: x\nwarn: [Pod]\n",
                "both deny and warn",
            ),
            (
                "apiVersion: pss-harness.io/v1\nkind: Profile\nname: x\nreasons: {pattern: '('}\n",
                "reasons.pattern",
            ),
            (
                "apiVersion: pss-harness.io/v1\nkind: Profile\nname: x\ncolour: red\n",
                "colour",
            ),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
        let err = ProfileFile::load(Path::new("/nonexistent/p.yaml")).unwrap_err();
        assert!(err.starts_with("/nonexistent/p.yaml: "), "{err}");
    }
}
