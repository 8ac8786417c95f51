//! The case model: what a person wrote, validated (see docs/cases.md for the file format
//! and [`crate::loader`] for how files become cases).

use std::collections::BTreeMap;
use std::path::PathBuf;

use pss::{Kind, Level, Version, Workload};
use regex::Regex;

use crate::control::Control;
use crate::profile::Profile;
use crate::target::Operation;
use crate::yaml::Loc;

/// One case: a resource, where it runs, and what must happen.
#[derive(Debug, Clone)]
pub struct Case {
    /// `<file stem path>/<name>`, e.g. `baseline/privileged/privileged-container`.
    pub id: String,
    pub name: String,
    /// The case file (as given or discovered).
    pub file: PathBuf,
    /// Where the case's `name` is written.
    pub loc: Loc,
    pub description: Option<String>,
    pub control: Control,
    pub level: Level,
    /// Sorted, `latest` last.
    pub versions: Vec<Version>,
    /// The resource as written (a pod shorthand is already a Pod).
    pub object: Workload,
    /// The kinds the case runs as: the object's own kind first, then expansions.
    pub kinds: Vec<Kind>,
    /// Evaluate without API-server defaulting.
    pub raw: bool,
    pub namespace: Namespace,
    pub user: Option<String>,
    pub operation: Operation,
    pub subresource: Option<String>,
    pub old: Option<Workload>,
    pub expect: Expectation,
    /// Per-profile overrides, keyed `psa`, `kyverno` or `kyverno@<line>`.
    pub profiles: BTreeMap<String, ProfileExpectation>,
    /// Kyverno policy files, resolved against the case file.
    pub policies: Vec<PathBuf>,
}

/// The admission namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    pub name: String,
    /// Labels given by the case; merged over the defaults (`enforce=<level>`,
    /// `enforce-version=<version>`) at each scenario.
    pub labels: BTreeMap<String, String>,
}

/// What must happen, for one profile.
#[derive(Debug, Clone)]
pub struct Expectation {
    /// The decision. For PSA controllers: whether the template complies (PSA only warns).
    pub allowed: bool,
    /// The ForbiddenReasons, in order (empty when allowed).
    pub reasons: Vec<String>,
    /// The exact aggregated detail, checked at the case's newest version.
    pub detail: Option<String>,
    /// The exact message, checked at the case's newest version for its own kind.
    pub message: Option<String>,
    /// Substrings every message of the case must contain.
    pub contains: Vec<String>,
    /// A pattern every message of the case must match.
    pub matches: Option<Regex>,
    /// Exact warnings, checked for the case's own kind.
    pub warnings: Option<Vec<String>>,
    /// Exact audit annotations, checked for the case's own kind.
    pub audit: Option<BTreeMap<String, String>>,
}

/// A profile's expectation, or the reason it does not run the case.
#[derive(Debug, Clone)]
pub enum ProfileExpectation {
    Run(Expectation),
    Skip(String),
}

impl Case {
    /// The expectation that applies to `profile`: the most specific `profiles:` entry, else
    /// `expect`.
    pub fn expectation(&self, profile: &Profile) -> Result<&Expectation, &str> {
        let chosen = profile
            .expectation_keys()
            .iter()
            .find_map(|k| self.profiles.get(k));
        match chosen {
            Some(ProfileExpectation::Run(e)) => Ok(e),
            Some(ProfileExpectation::Skip(reason)) => Err(reason),
            None => Ok(&self.expect),
        }
    }

    /// The newest version the case runs at.
    pub fn newest_version(&self) -> Version {
        self.versions.last().copied().unwrap_or(Version::Latest)
    }

    /// The namespace labels at one version: the PSA defaults, overridden by the case's own.
    pub fn namespace_labels(&self, version: Version) -> BTreeMap<String, String> {
        let prefix = crate::target::psa::LABEL_PREFIX;
        let mut labels = BTreeMap::from([
            (format!("{prefix}enforce"), self.level.to_string()),
            (format!("{prefix}enforce-version"), version.to_string()),
        ]);
        labels.extend(
            self.namespace
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        labels
    }

    /// The golden snapshot's folder and name, from the id: `baseline/privileged` and
    /// `privileged-container`.
    pub fn golden_parts(&self) -> (&str, &str) {
        self.id.rsplit_once('/').unwrap_or(("", &self.id))
    }
}
