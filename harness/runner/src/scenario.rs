//! Scenarios: one concrete admission request each, a case at one version, as one kind,
//! judged for one profile. The scenario id is the trial name and the report row:
//! `<case id>@<version>/<Kind>`, e.g. `baseline/privileged/privileged-container@v1.37/Deployment`.

use std::sync::Arc;

use pss::{Kind, Level, Version};

use crate::case::Case;
use crate::control::Control;
use crate::profile::Profile;

/// A case at one version, as one kind, for one profile.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub case: Arc<Case>,
    pub version: Version,
    pub kind: Kind,
    pub profile: Profile,
}

impl Scenario {
    /// `<case id>@<version>/<Kind>` (the profile is the trial's kind, not part of the id).
    pub fn id(&self) -> String {
        let kind = self.case.kind_label(self.kind);
        format!("{}@{}/{kind}", self.case.id, self.version)
    }

    /// The id with the profile, unique across profiles: `[psa] <id>`.
    pub fn full_name(&self) -> String {
        format!("[{}] {}", self.profile.name(), self.id())
    }

    /// Whether this is the case's own kind (not an autogen expansion).
    pub fn is_own_kind(&self) -> bool {
        self.case.object.kind() == self.kind
    }

    pub fn is_newest_version(&self) -> bool {
        self.version == self.case.newest_version()
    }
}

pub fn scenario_id(case_id: &str, version: Version, kind: Kind) -> String {
    format!("{case_id}@{version}/{kind}")
}

/// The golden trial's name for a case and profile: `<case id>/golden/<profile>`.
pub fn golden_id(case_id: &str, profile: &Profile) -> String {
    format!("{case_id}/golden/{}", profile.name())
}

/// Every scenario of a case for a profile, kind by kind (own kind first), oldest version first.
/// Only the kinds and versions the profile runs ([`Profile::kinds`], [`Profile::versions`]).
pub fn expand<'a>(case: &'a Arc<Case>, profile: &Profile) -> impl Iterator<Item = Scenario> + 'a {
    let versions = profile.versions(case);
    let kinds = profile.kinds(case);
    let profile = profile.clone();
    kinds.into_iter().flat_map(move |kind| {
        let profile = profile.clone();
        versions.clone().into_iter().map(move |version| Scenario {
            case: Arc::clone(case),
            version,
            kind,
            profile: profile.clone(),
        })
    })
}

/// A case name matcher: a glob when it has `*`, `?` or `[`, else a substring.
#[derive(Debug, Clone)]
pub enum NameMatcher {
    Substring(String),
    Glob(glob::Pattern),
}

impl NameMatcher {
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.contains(['*', '?', '[']) {
            glob::Pattern::new(s)
                .map(NameMatcher::Glob)
                .map_err(|e| format!("invalid glob {s:?}: {e}"))
        } else {
            Ok(NameMatcher::Substring(s.to_owned()))
        }
    }

    /// Matches against the case id (`baseline/privileged/privileged-container`).
    pub fn matches(&self, case_id: &str) -> bool {
        match self {
            NameMatcher::Substring(s) => case_id.contains(s.as_str()),
            NameMatcher::Glob(p) => p.matches(case_id),
        }
    }
}

/// Which cases and scenarios to run. Empty lists select everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub controls: Vec<Control>,
    pub levels: Vec<Level>,
    pub names: Vec<NameMatcher>,
    /// Versions to keep (`None`: all of each case's versions).
    pub versions: Option<Vec<Version>>,
    pub kinds: Vec<Kind>,
    pub shard: Option<Shard>,
}

impl Filter {
    pub fn case_matches(&self, case: &Case) -> bool {
        (self.controls.is_empty() || self.controls.contains(&case.control))
            && (self.levels.is_empty() || self.levels.contains(&case.level))
            && (self.names.is_empty() || self.names.iter().any(|n| n.matches(&case.id)))
    }

    pub fn scenario_matches(&self, s: &Scenario) -> bool {
        self.versions
            .as_ref()
            .is_none_or(|vs| vs.contains(&s.version))
            && (self.kinds.is_empty() || self.kinds.contains(&s.kind))
    }

    /// Whether the filter narrows scenarios inside a case (then golden trials, which cover
    /// whole cases, do not run).
    pub fn narrows_scenarios(&self) -> bool {
        self.versions.is_some() || !self.kinds.is_empty()
    }

    /// Whether a trial (by its full name) belongs to this run's shard.
    pub fn in_shard(&self, trial_name: &str) -> bool {
        self.shard.is_none_or(|s| s.contains(trial_name))
    }
}

/// One part of a stable partition: trial `t` belongs to part `index` (1-based) of `count`
/// when `fnv1a(t) % count == index - 1`. The hash does not depend on the platform or the
/// Rust version, so CI matrix jobs agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// Parse `I/N` with `1 <= I <= N`.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("invalid shard {s:?}: expected I/N with 1 <= I <= N, e.g. 2/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u64 = i.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    pub fn contains(&self, name: &str) -> bool {
        fnv1a(name.as_bytes()) % self.count == self.index - 1
    }
}

/// 64-bit FNV-1a.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |h, b| (h ^ u64::from(*b)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_reference_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn shards_partition_and_are_stable() {
        let names: Vec<String> = (0..1000)
            .map(|i| format!("[psa] baseline/x/case-{i}@v1.{}/Pod", i % 38))
            .collect();
        let shards: Vec<Shard> = (1..=4).map(|i| Shard { index: i, count: 4 }).collect();
        for n in &names {
            assert_eq!(shards.iter().filter(|s| s.contains(n)).count(), 1, "{n}");
        }
        let sizes: Vec<usize> = shards
            .iter()
            .map(|s| names.iter().filter(|n| s.contains(n)).count())
            .collect();
        assert!(sizes.iter().all(|&k| k > 200), "{sizes:?}");
        // Pinned: a change of hash would reshuffle CI shards.
        let s = Shard::parse("2/3").unwrap();
        assert_eq!(
            fnv1a(b"[psa] baseline/privileged/privileged-container@v1.37/Pod") % 3,
            2
        );
        assert!(!s.contains("[psa] baseline/privileged/privileged-container@v1.37/Pod"));
    }

    #[test]
    fn shard_parse_errors() {
        assert_eq!(Shard::parse("1/1"), Ok(Shard { index: 1, count: 1 }));
        for bad in ["0/2", "3/2", "1", "a/b", "1/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn name_matchers() {
        let g = NameMatcher::parse("baseline/*/privileged-*").unwrap();
        assert!(g.matches("baseline/privileged/privileged-container"));
        assert!(!g.matches("restricted/privileged/x"));
        assert!(
            NameMatcher::parse("container")
                .unwrap()
                .matches("baseline/privileged/privileged-container")
        );
    }
}
