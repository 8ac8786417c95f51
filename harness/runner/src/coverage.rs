//! Coverage: which controls the suite exercises, at which versions and kinds, with how many
//! allowed and denied cases (by the PSA expectation). A baseline control without both an
//! allowed and a denied case is a gap that fails the command.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use pss::{Kind, Level, Version};
use serde::Serialize;

use crate::control::Control;
use crate::loader::Suite;
use crate::profile::Profile;
use crate::versions;

/// Allowed and denied counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub allowed: usize,
    pub denied: usize,
}

impl Counts {
    fn add(&mut self, allowed: bool) {
        if allowed {
            self.allowed += 1
        } else {
            self.denied += 1
        }
    }

    fn complete(&self) -> bool {
        self.allowed > 0 && self.denied > 0
    }
}

/// One control's row.
#[derive(Debug, Clone, Default)]
pub struct Row {
    /// Distinct cases.
    pub cases: Counts,
    /// Distinct cases per kind.
    pub by_kind: BTreeMap<Kind, Counts>,
    /// Cases per version and kind (scenarios).
    pub matrix: BTreeMap<Version, BTreeMap<Kind, Counts>>,
}

/// The coverage of a suite.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    pub rows: BTreeMap<Control, Row>,
}

/// Count the suite's cases (PSA expectations; skipped cases are not counted).
pub fn coverage(suite: &Suite) -> Coverage {
    let mut cov = Coverage::default();
    for case in &suite.cases {
        let Ok(expect) = case.expectation(&Profile::Psa) else {
            continue;
        };
        let row = cov.rows.entry(case.control).or_default();
        row.cases.add(expect.allowed);
        for &kind in &case.kinds {
            row.by_kind.entry(kind).or_default().add(expect.allowed);
            for &v in &case.versions {
                row.matrix
                    .entry(v)
                    .or_default()
                    .entry(kind)
                    .or_default()
                    .add(expect.allowed);
            }
        }
    }
    cov
}

/// The controls every suite must cover with an allowed and a denied case.
pub fn required_controls() -> impl Iterator<Item = Control> {
    Control::ALL
        .into_iter()
        .filter(|c| c.level() == Level::Baseline)
}

impl Coverage {
    /// Baseline controls that lack an allowed or a denied case.
    pub fn missing(&self) -> Vec<Control> {
        required_controls()
            .filter(|c| !self.rows.get(c).is_some_and(|r| r.cases.complete()))
            .collect()
    }

    /// Versions (from the control's first one) where Pods lack an allowed or a denied case.
    pub fn version_gaps(&self, control: Control) -> Vec<String> {
        if control.primary().is_none() {
            return Vec::new();
        }
        let first = control.first_minor(control.level().max(Level::Baseline));
        let row = self.rows.get(&control);
        let lacking: Vec<Version> = versions::from_minor(first)
            .into_iter()
            .filter(|v| {
                !row.and_then(|r| r.matrix.get(v))
                    .and_then(|m| m.get(&Kind::Pod))
                    .is_some_and(Counts::complete)
            })
            .collect();
        versions::runs(&lacking)
    }

    /// The human table.
    pub fn human(&self) -> String {
        let mut out = String::new();
        let kinds = Kind::ALL;
        let _ = write!(out, "{:<24} {:<10} {:>7}", "control", "level", "cases");
        for k in kinds {
            let _ = write!(out, " {:>7}", short(k));
        }
        let _ = writeln!(out, "  gaps (Pod versions lacking allowed or denied)");
        for control in Control::ALL {
            let row = self.rows.get(&control).cloned().unwrap_or_default();
            let _ = write!(
                out,
                "{:<24} {:<10} {:>7}",
                control.as_str(),
                control.level().as_str(),
                cell(row.cases)
            );
            for k in kinds {
                let _ = write!(
                    out,
                    " {:>7}",
                    cell(row.by_kind.get(&k).copied().unwrap_or_default())
                );
            }
            let gaps = self.version_gaps(control);
            let _ = writeln!(
                out,
                "  {}",
                if gaps.is_empty() {
                    "-".to_owned()
                } else {
                    gaps.join(", ")
                }
            );
        }
        let missing = self.missing();
        if missing.is_empty() {
            let _ = writeln!(
                out,
                "every baseline control has an allowed and a denied case"
            );
        } else {
            let names: Vec<&str> = missing.iter().map(|c| c.as_str()).collect();
            let _ = writeln!(
                out,
                "baseline controls lacking an allowed or a denied case: {}",
                names.join(", ")
            );
        }
        out
    }

    /// The control x version view for one kind: for each control, runs of consecutive
    /// versions with the same allowed/denied counts, e.g. `v1.0..v1.33 2/0, v1.34..latest 4/8`.
    pub fn human_by_version(&self, kind: Kind) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<24} {kind} cases allowed/denied per version (runs of equal counts)",
            "control"
        );
        for control in Control::ALL {
            let row = self.rows.get(&control).cloned().unwrap_or_default();
            let runs = version_runs(&row, kind);
            let _ = writeln!(out, "{:<24} {}", control.as_str(), runs.join(", "));
        }
        out
    }

    /// The JSON form: per control, case counts, per-kind counts, the version x kind
    /// matrix and the gaps.
    pub fn json(&self) -> serde_json::Value {
        let controls: Vec<serde_json::Value> = Control::ALL
            .into_iter()
            .map(|c| {
                let row = self.rows.get(&c).cloned().unwrap_or_default();
                let by_kind: BTreeMap<&str, Counts> =
                    row.by_kind.iter().map(|(k, v)| (k.as_str(), *v)).collect();
                let matrix: BTreeMap<String, BTreeMap<&str, Counts>> = row
                    .matrix
                    .iter()
                    .map(|(v, m)| {
                        (
                            v.to_string(),
                            m.iter().map(|(k, n)| (k.as_str(), *n)).collect(),
                        )
                    })
                    .collect();
                serde_json::json!({
                    "control": c.as_str(),
                    "level": c.level().as_str(),
                    "cases": row.cases,
                    "kinds": by_kind,
                    "versions": matrix,
                    "gaps": self.version_gaps(c),
                })
            })
            .collect();
        let missing: Vec<&str> = self.missing().iter().map(|c| c.as_str()).collect();
        serde_json::json!({ "controls": controls, "missing": missing })
    }
}

/// Consecutive known versions grouped by equal counts for `kind`, rendered `range a/d`.
fn version_runs(row: &Row, kind: Kind) -> Vec<String> {
    let counts_at = |v: &Version| {
        row.matrix
            .get(v)
            .and_then(|m| m.get(&kind))
            .copied()
            .unwrap_or_default()
    };
    let mut groups: Vec<(Vec<Version>, Counts)> = Vec::new();
    for v in versions::known_versions() {
        let c = counts_at(&v);
        match groups.last_mut() {
            Some((vs, last)) if *last == c => vs.push(v),
            _ => groups.push((vec![v], c)),
        }
    }
    groups
        .iter()
        .map(|(vs, c)| format!("{} {}", versions::label(vs), cell(*c)))
        .collect()
}

fn cell(c: Counts) -> String {
    format!("{}/{}", c.allowed, c.denied)
}

fn short(k: Kind) -> &'static str {
    match k {
        Kind::Pod => "Pod",
        Kind::PodTemplate => "PodTpl",
        Kind::ReplicationController => "RC",
        Kind::ReplicaSet => "RS",
        Kind::Deployment => "Deploy",
        Kind::StatefulSet => "STS",
        Kind::DaemonSet => "DS",
        Kind::Job => "Job",
        Kind::CronJob => "CronJob",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loader;
    use std::path::Path;
    use std::sync::Arc;

    #[test]
    fn by_version_view_groups_runs_of_equal_counts() {
        let mut cov = Coverage::default();
        let row = cov.rows.entry(Control::ALL[0]).or_default();
        for v in versions::known_versions() {
            let c = Counts {
                allowed: 1,
                denied: usize::from(v >= Version::V1(34)),
            };
            row.matrix.entry(v).or_default().insert(Kind::Pod, c);
        }
        let text = cov.human_by_version(Kind::Pod);
        let first = text.lines().nth(1).unwrap_or_default();
        assert!(
            first.ends_with("v1.0..v1.33 1/0, v1.34..latest 1/1"),
            "{first}"
        );
    }

    #[test]
    fn counts_cases_and_reports_gaps() {
        let text = "control: privileged
cases:
- name: a
  pod: {containers: [{name: c}]}
  expect: {allowed: true}
- name: d
  versions: '>=v1.20'
  pod: {containers: [{name: c, securityContext: {privileged: true}}]}
  expect: {allowed: false, reasons: [privileged]}
";
        let cases = loader::load_str(Path::new("t.yaml"), text, "baseline/privileged").unwrap();
        let suite = Suite {
            cases: cases.into_iter().map(Arc::new).collect(),
        };
        let cov = coverage(&suite);
        let row = &cov.rows[&Control::Privileged];
        assert_eq!(
            row.cases,
            Counts {
                allowed: 1,
                denied: 1
            }
        );
        assert_eq!(
            row.by_kind[&Kind::Deployment],
            Counts {
                allowed: 0,
                denied: 1
            }
        );
        assert_eq!(
            row.matrix[&Version::V1(19)][&Kind::Pod],
            Counts {
                allowed: 1,
                denied: 0
            }
        );
        assert_eq!(cov.version_gaps(Control::Privileged), ["v1.0..v1.19"]);
        assert!(!cov.missing().contains(&Control::Privileged));
        assert!(cov.missing().contains(&Control::Sysctls));
        let json = cov.json();
        assert_eq!(json["controls"][2]["control"], "privileged");
        assert_eq!(json["controls"][2]["versions"]["v1.20"]["Pod"]["denied"], 1);
        assert!(
            cov.human()
                .contains("privileged               baseline       1/1     1/1")
        );
    }
}
