//! `pss-harness upstream DIR`: run upstream PSA's conformance fixtures
//! (`<level>/<version>/<pass|fail>/*.yaml`, from kubernetes/pod-security-admission
//! `test/testdata`) through the evaluator with API-server defaulting, and report agreement.

use std::path::{Path, PathBuf};

use pss::{Defaulting, Level, LevelVersion, Version, Workload};

use crate::error::Error;
use crate::yaml;

/// One fixture whose verdict differs from its folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    pub path: PathBuf,
    pub policy: LevelVersion,
    pub expected_allowed: bool,
    /// `None` when the file could not be read as an object.
    pub actual_allowed: Option<bool>,
    pub message: String,
}

/// The result of a fixture run.
#[derive(Debug, Clone, Default)]
pub struct UpstreamReport {
    pub total: usize,
    pub disagreements: Vec<Disagreement>,
}

impl UpstreamReport {
    pub fn agreeing(&self) -> usize {
        self.total - self.disagreements.len()
    }

    pub fn human(&self) -> String {
        let mut out = String::new();
        for d in &self.disagreements {
            let expected = if d.expected_allowed {
                "allowed"
            } else {
                "denied"
            };
            let actual = match d.actual_allowed {
                Some(true) => "allowed",
                Some(false) => "denied",
                None => "unreadable",
            };
            out.push_str(&format!(
                "DISAGREE {} at {}: expected {expected}, got {actual}: {}\n",
                d.path.display(),
                d.policy,
                d.message
            ));
        }
        out.push_str(&format!("{}/{} agreeing\n", self.agreeing(), self.total));
        out
    }
}

/// Run every fixture under `dir`.
pub fn run(dir: &Path) -> Result<UpstreamReport, Error> {
    let mut report = UpstreamReport::default();
    for (path, policy, expected_allowed) in fixtures(dir)? {
        report.total += 1;
        let (actual_allowed, message) = match evaluate(&path, policy) {
            Ok(verdict) => (Some(verdict.allowed()), verdict.message.unwrap_or_default()),
            Err(e) => (None, e),
        };
        if actual_allowed != Some(expected_allowed) {
            report.disagreements.push(Disagreement {
                path,
                policy,
                expected_allowed,
                actual_allowed,
                message,
            });
        }
    }
    if report.total == 0 {
        return Err(Error::Usage(format!(
            "no fixtures under {} (expected <level>/<version>/<pass|fail>/*.yaml)",
            dir.display()
        )));
    }
    Ok(report)
}

fn evaluate(path: &Path, policy: LevelVersion) -> Result<pss::Verdict, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let docs = yaml::parse_documents(&text).map_err(|e| e.to_string())?;
    let node = docs
        .into_iter()
        .find(|d| !d.is_null())
        .ok_or("empty file")?;
    let mut workload = Workload::from_value(node.to_json()).map_err(|e| e.to_string())?;
    Defaulting::API_SERVER.apply(&mut workload);
    Ok(pss::evaluate(&workload, policy))
}

/// `(file, policy, expected allowed)` for every fixture, sorted by path.
fn fixtures(dir: &Path) -> Result<Vec<(PathBuf, LevelVersion, bool)>, Error> {
    let mut out = Vec::new();
    for level_dir in subdirs(dir)? {
        let Some(level) = name_of(&level_dir).and_then(|n| n.parse::<Level>().ok()) else {
            continue;
        };
        for version_dir in subdirs(&level_dir)? {
            let Some(version) = name_of(&version_dir).and_then(|n| n.parse::<Version>().ok())
            else {
                continue;
            };
            for outcome_dir in subdirs(&version_dir)? {
                let allowed = match name_of(&outcome_dir) {
                    Some("pass") => true,
                    Some("fail") => false,
                    _ => continue,
                };
                for file in yaml_files(&outcome_dir)? {
                    out.push((file, LevelVersion::new(level, version), allowed));
                }
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn name_of(p: &Path) -> Option<&str> {
    p.file_name().and_then(|n| n.to_str())
}

fn entries(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut out = Vec::new();
    for e in rd {
        out.push(e.map_err(|e| Error::io(dir, e))?.path());
    }
    out.sort();
    Ok(out)
}

fn subdirs(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    Ok(entries(dir)?.into_iter().filter(|p| p.is_dir()).collect())
}

fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    Ok(entries(dir)?
        .into_iter()
        .filter(|p| {
            p.is_file() && name_of(p).is_some_and(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_agreement_and_disagreements() {
        let dir = tempfile::tempdir().unwrap();
        let pod = |privileged: bool| {
            format!(
                "apiVersion: v1
kind: Pod
metadata: {{name: p}}
spec:
  containers: [{{name: c, securityContext: {{privileged: {privileged}}}}}]
"
            )
        };
        for (sub, privileged) in [("pass", false), ("fail", true), ("fail", false)] {
            let d = dir.path().join("baseline/v1.0").join(sub);
            std::fs::create_dir_all(&d).unwrap();
            let n = std::fs::read_dir(&d).unwrap().count();
            std::fs::write(d.join(format!("privileged{n}.yaml")), pod(privileged)).unwrap();
        }
        let report = run(dir.path()).unwrap();
        assert_eq!((report.total, report.agreeing()), (3, 2));
        let text = report.human();
        assert!(text.ends_with("2/3 agreeing\n"), "{text}");
        assert!(
            text.contains("privileged1.yaml at baseline:v1.0: expected denied, got allowed"),
            "{text}"
        );
        assert!(run(&dir.path().join("baseline/v1.0/pass")).is_err());
    }
}
