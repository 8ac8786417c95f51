//! The case model: what a person wrote, validated (see docs/cases.md for the file format
//! and [`crate::loader`] for how files become cases).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use pss::{Kind, Level, Version, Workload};
use regex::Regex;

use crate::control::Control;
use crate::namespace_case;
use crate::policy::PolicySet;
use crate::profile::Profile;
use crate::psa_config::ConfigFile;
use crate::target::{NamespaceRequest, Operation};
use crate::yaml::Loc;

/// Why a Kyverno profile skips a `control: admission` case that has no entry for it.
const NOT_KYVERNO: &str =
    "PSA admission behaviour has no Kyverno counterpart (add a kyverno profile entry)";

/// Why a profile file skips a `control: admission` case.
const NOT_FILE: &str = "PSA admission behaviour (exemptions, updates, namespace warnings) is \
                        PSA's own; a profile file's engine is judged on the controls";

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
    /// The Kyverno policies of the case (or of its file), loaded and admitted. `None`:
    /// the run's defaults (`--policy`, else the bundled policy of the case's level).
    pub policies: Option<Arc<PolicySet>>,
    /// PSA's configuration file (`admission_config`), for the case or its file.
    pub admission_config: Option<Arc<ConfigFile>>,
    /// A namespace case: the Namespace request, label values still templated (see
    /// [`Case::namespace_request_at`]). `object` is then a placeholder Pod named after the
    /// namespace ([`namespace_case::placeholder`]) and `kinds` is `[Pod]`.
    pub namespace_request: Option<NamespaceRequest>,
}

/// The admission namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    pub name: String,
    /// Labels given by the case. When given (even empty), they replace the defaults
    /// (`enforce=<level>`, `enforce-version=<version>`); values may use `{level}` and
    /// `{version}`.
    pub labels: BTreeMap<String, String>,
    /// Whether the case wrote `labels:`.
    pub explicit_labels: bool,
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
    /// The refusal's status code and reason, checked for the case's own kind.
    pub status: Option<ExpectedStatus>,
    /// Kyverno: the rules that must fail, by their names on the case's own kind; a kind
    /// the pod is expanded into expects their autogen rules instead.
    pub rules: Option<Vec<String>>,
    /// Only under `profiles`: this expectation records a known divergence from upstream
    /// PSA, and why. Reports show a passing trial as a known divergence.
    pub divergence: Option<String>,
}

/// An expected refusal status; unset fields are not checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedStatus {
    pub code: Option<u16>,
    pub reason: Option<String>,
}

impl ExpectedStatus {
    /// Whether this describes a refusal other than a policy denial (403 `Forbidden`), which
    /// has no ForbiddenReasons.
    pub fn is_not_forbidden(&self) -> bool {
        self.code.is_some_and(|c| c != 403)
            || self.reason.as_deref().is_some_and(|r| r != "Forbidden")
    }
}

/// A profile's expectation, or the reason it does not run the case.
#[derive(Debug, Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "a few per case, built once at load; boxing would only add indirection"
)]
pub enum ProfileExpectation {
    Run(Expectation),
    Skip(String),
}

impl Case {
    /// The expectation that applies to `profile`: the most specific `profiles:` entry, else
    /// `expect`.
    pub fn expectation(&self, profile: &Profile) -> Result<&Expectation, &str> {
        self.expectation_for(profile, self.object.kind())
    }

    /// The expectation that applies to `profile` for one kind (`profiles:` keys may be
    /// narrowed to a kind: `kyverno/CronJob`).
    pub fn expectation_for(&self, profile: &Profile, kind: Kind) -> Result<&Expectation, &str> {
        match self.profile_entry_for(profile, kind) {
            Some(ProfileExpectation::Run(e)) => Ok(e),
            Some(ProfileExpectation::Skip(reason)) => Err(reason),
            None if profile.denies_controllers() && self.control == Control::Admission => {
                Err(NOT_KYVERNO)
            }
            None if profile.file().is_some() && self.control == Control::Admission => Err(NOT_FILE),
            None => Ok(&self.expect),
        }
    }

    /// The most specific `profiles:` entry for `profile` and `kind`, if the case has one.
    pub fn profile_entry_for(&self, profile: &Profile, kind: Kind) -> Option<&ProfileExpectation> {
        profile
            .expectation_keys_for(kind)
            .iter()
            .find_map(|k| self.profiles.get(k))
    }

    /// The newest version the case runs at.
    pub fn newest_version(&self) -> Version {
        self.versions.last().copied().unwrap_or(Version::Latest)
    }

    /// The namespace labels at one version: the case's own (templates filled in) when it
    /// gives them, else `enforce=<level>` and `enforce-version=<version>`.
    pub fn namespace_labels(&self, version: Version) -> BTreeMap<String, String> {
        if self.namespace.explicit_labels {
            return namespace_case::fill_labels(&self.namespace.labels, self.level, version);
        }
        let prefix = crate::target::psa::LABEL_PREFIX;
        BTreeMap::from([
            (format!("{prefix}enforce"), self.level.to_string()),
            (format!("{prefix}enforce-version"), version.to_string()),
        ])
    }

    /// A namespace case's request at one version (label templates filled in).
    pub fn namespace_request_at(&self, version: Version) -> Option<NamespaceRequest> {
        let ns = self.namespace_request.as_ref()?;
        let fill = |o| namespace_case::fill_namespace(o, self.level, version);
        Some(NamespaceRequest {
            object: fill(&ns.object),
            old: ns.old.as_ref().map(fill),
            existing_pods: ns.existing_pods.clone(),
        })
    }

    /// How a scenario's kind is shown: `Namespace` for a namespace case.
    pub fn kind_label(&self, kind: Kind) -> &'static str {
        match self.namespace_request {
            Some(_) => "Namespace",
            None => kind.as_str(),
        }
    }

    /// Whether the case has a golden snapshot for `profile`: when it is expected to be
    /// denied, and always for admission cases (their goldens pin the whole response).
    pub fn has_golden(&self, profile: &Profile) -> bool {
        self.expectation(profile)
            .is_ok_and(|e| !e.allowed || self.control == Control::Admission)
            && !profile.versions(self).is_empty()
            && !profile.kinds(self).is_empty()
            && profile.pins_messages()
    }

    /// The golden snapshot's folder and name, from the id: `baseline/privileged` and
    /// `privileged-container`.
    pub fn golden_parts(&self) -> (&str, &str) {
        self.id.rsplit_once('/').unwrap_or(("", &self.id))
    }
}
