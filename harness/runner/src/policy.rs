//! Kyverno policy files: YAML read with the runner's located loader, converted to JSON and
//! decoded and admitted by the `kyverno` crate. A policy the cluster would refuse is an
//! input error at the offending field's `file:line:column`, with the API server's text.
//!
//! Policies are admitted at the newest line's rules when loaded; an older line may still
//! refuse one (its CRD knows fewer `version`s), which its Kyverno target then reports.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kyverno::{IssueKind, KyvernoLine, PathSegment, Policy, PolicyError};
use pss::Level;

use crate::case::Case;
use crate::error::{Error, LocatedError};
use crate::manifest::Source;
use crate::yaml::{self, Loc, Node, Value};

/// The line policies are admitted at when loaded.
const NEWEST: KyvernoLine = KyvernoLine::V1_19;

/// The policies a Kyverno target has installed, from one or more files.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    /// The files, in the order given.
    pub files: Vec<PathBuf>,
    /// Every policy of the files, in file and document order.
    pub policies: Vec<Policy>,
    /// Lines older than the newest that refuse a policy, with the API server's text.
    refusals: Vec<(KyvernoLine, String)>,
}

impl PolicySet {
    /// No policy at all: Kyverno allows everything.
    pub fn empty() -> PolicySet {
        PolicySet::default()
    }

    /// Load and admit every policy of `files`. Policy names must be unique (per kind and
    /// namespace), as in a cluster.
    pub fn load(files: &[PathBuf]) -> Result<PolicySet, Error> {
        let mut set = PolicySet::default();
        let mut seen: Vec<(String, PathBuf, Loc)> = Vec::new();
        for file in files {
            let text = crate::input::read_file(file)?;
            let src = Source::new(file, &text);
            for (policy, loc) in load_text(&src).map_err(Error::located)? {
                let key = identity(&policy);
                if let Some((_, first, at)) = seen.iter().find(|(k, _, _)| *k == key) {
                    let msg = format!(
                        "duplicate policy {key} (also at {}:{}:{})",
                        first.display(),
                        at.line,
                        at.column
                    );
                    return Err(Error::located(src.error(loc, msg)));
                }
                seen.push((key, file.clone(), loc));
                set.add(policy);
            }
            set.files.push(file.clone());
        }
        Ok(set)
    }

    fn add(&mut self, policy: Policy) {
        for line in KyvernoLine::ALL.into_iter().filter(|l| *l != NEWEST) {
            if let Err(e) = policy.validate(line) {
                self.refusals.push((line, e.to_string()));
            }
        }
        self.policies.push(policy);
    }

    /// Why `line` would not admit these policies, if it would not.
    pub fn refusal(&self, line: KyvernoLine) -> Option<&str> {
        self.refusals
            .iter()
            .find(|(l, _)| *l == line)
            .map(|(_, text)| text.as_str())
    }

    /// The file names, for messages: `a.yaml, b.yaml` or `no policy`.
    pub fn label(&self) -> String {
        match self.files.is_empty() {
            true => "no policy".to_owned(),
            false => {
                let names: Vec<String> =
                    self.files.iter().map(|f| f.display().to_string()).collect();
                names.join(", ")
            }
        }
    }
}

/// The policies of cases that name none: the `--policy` files, else the bundled policy of
/// the case's level (`cases/policies/<level>-policy.yaml`). A `privileged` case with
/// neither runs with no policy, as a namespace without Kyverno enforcement would.
#[derive(Debug, Clone, Default)]
pub struct DefaultPolicies {
    pub explicit: Option<Arc<PolicySet>>,
    pub by_level: Vec<(Level, Arc<PolicySet>)>,
}

impl DefaultPolicies {
    /// The bundled policies of a cases directory (those of its files that exist).
    pub fn bundled(cases_dir: &Path) -> Result<DefaultPolicies, Error> {
        let mut by_level = Vec::new();
        for level in [Level::Baseline, Level::Restricted] {
            let file = bundled_file(cases_dir, level);
            if file.is_file() {
                by_level.push((level, Arc::new(PolicySet::load(&[file])?)));
            }
        }
        Ok(DefaultPolicies {
            explicit: None,
            by_level,
        })
    }

    /// A run's defaults: the `--policy` files (when given) over the bundled policies of
    /// the cases directory (when known).
    pub fn for_run(files: &[PathBuf], cases_dir: Option<&Path>) -> Result<DefaultPolicies, Error> {
        let mut defaults = match cases_dir {
            Some(dir) => DefaultPolicies::bundled(dir)?,
            None => DefaultPolicies::default(),
        };
        if !files.is_empty() {
            defaults.explicit = Some(Arc::new(PolicySet::load(files)?));
        }
        Ok(defaults)
    }

    /// The policies a case runs with: its own, else these defaults.
    pub fn for_case(&self, case: &Case) -> Result<Arc<PolicySet>, String> {
        if let Some(own) = case.policies.as_ref().or(self.explicit.as_ref()) {
            return Ok(Arc::clone(own));
        }
        if let Some((_, set)) = self.by_level.iter().find(|(l, _)| *l == case.level) {
            return Ok(Arc::clone(set));
        }
        match case.level {
            Level::Privileged => Ok(Arc::new(PolicySet::empty())),
            level => Err(format!(
                "no Kyverno policy for case {}: give `policies:` in the case file, --policy, \
                 or bundle cases/policies/{level}-policy.yaml",
                case.id
            )),
        }
    }
}

/// `ClusterPolicy/name` or `Policy/namespace/name`.
fn identity(policy: &Policy) -> String {
    match &policy.namespace {
        Some(ns) => format!("{}/{ns}/{}", policy.kind.as_str(), policy.name),
        None => format!("{}/{}", policy.kind.as_str(), policy.name),
    }
}

/// The bundled policy file of a level in a cases directory: `<cases>/policies/<level>-policy.yaml`.
pub fn bundled_file(cases_dir: &Path, level: Level) -> PathBuf {
    cases_dir
        .join("policies")
        .join(format!("{}-policy.yaml", level.as_str()))
}

/// The policies of one file's text, each with the location of its document.
pub fn load_text(src: &Source) -> Result<Vec<(Policy, Loc)>, LocatedError> {
    let docs = yaml::parse_documents(&src.text)
        .map_err(|e| LocatedError::from_yaml(&src.file, &src.text, &e))?;
    let mut out = Vec::new();
    for node in docs.iter().filter(|d| !d.is_null()) {
        let policy = admit(&node.to_json()).map_err(|e| locate(src, node, &e))?;
        let at = node
            .get("metadata")
            .and_then(|m| m.get("name"))
            .map_or(node.loc, |n| n.loc);
        out.push((policy, at));
    }
    if out.is_empty() {
        let start = Loc {
            line: 1,
            column: 1,
            ..Loc::default()
        };
        return Err(src.error(start, "the policy file holds no policy"));
    }
    Ok(out)
}

fn admit(json: &serde_json::Value) -> Result<Policy, PolicyError> {
    Policy::admit(json, NEWEST).map(|(policy, _warnings)| policy)
}

/// The refusal as an error at its first issue's field.
fn locate(src: &Source, doc: &Node, err: &PolicyError) -> LocatedError {
    let loc = err.issues.first().map_or(doc.loc, |issue| {
        field_loc(doc, &issue.location.json, &issue.kind)
    });
    src.error(loc, err.to_string())
}

/// Where a JSON path points in the YAML tree: the value (the key for an unknown field),
/// or the deepest node that exists when the path leads to a missing field.
pub fn field_loc(doc: &Node, path: &[PathSegment], kind: &IssueKind) -> Loc {
    let mut node = doc;
    let mut key_loc = None;
    for segment in path {
        let next = match (segment, &node.value) {
            (PathSegment::Key(k), Value::Map(_)) => {
                node.entry(k).map(|(key, v)| (Some(key.loc), v))
            }
            (PathSegment::Index(i), Value::Seq(items)) => items.get(*i).map(|v| (None, v)),
            _ => None,
        };
        match next {
            Some((key, value)) => {
                key_loc = key;
                node = value;
            }
            None => return node.loc,
        }
    }
    match (kind, key_loc) {
        (IssueKind::UnknownField, Some(key)) => key,
        _ => node.loc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const HEAD: &str = "apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: p
spec:
  validationFailureAction: Enforce
  rules:
  - name: baseline
    match:
      any:
      - resources: {kinds: [Pod]}
    validate:
      podSecurity:
";

    fn err(pod_security: &str) -> String {
        let text = format!("{HEAD}{pod_security}");
        let src = Source::new(Path::new("p.yaml"), &text);
        load_text(&src).unwrap_err().to_string()
    }

    #[rstest]
    #[case::unknown_level(
        "        level: strict\n        version: latest\n",
        "p.yaml:14:16: ClusterPolicy.kyverno.io \"p\" is invalid: \
         spec.rules[0].validate.podSecurity.level: Unsupported value: \"strict\""
    )]
    #[case::bad_version(
        "        level: baseline\n        version: v1.99\n",
        "p.yaml:15:18: ClusterPolicy.kyverno.io \"p\" is invalid: \
         spec.rules[0].validate.podSecurity.version: Unsupported value: \"v1.99\""
    )]
    #[case::unknown_field(
        "        level: baseline\n        versoin: latest\n",
        "p.yaml:15:9: ClusterPolicy in version \"v1\" cannot be handled as a ClusterPolicy: \
         strict decoding error: unknown field"
    )]
    fn refusals_point_at_the_field(#[case] ps: &str, #[case] want: &str) {
        let got = err(ps);
        assert!(got.starts_with(want), "\n got: {got}\nwant: {want}");
    }

    #[test]
    fn loads_every_document() {
        let text = format!("{HEAD}        level: baseline\n        version: latest\n");
        let two = format!("{text}---\n{}", text.replace("name: p\n", "name: q\n"));
        let src = Source::new(Path::new("p.yaml"), &two);
        let policies = load_text(&src).unwrap();
        let names: Vec<&str> = policies.iter().map(|(p, _)| p.name.as_str()).collect();
        assert_eq!(names, ["p", "q"]);
        assert_eq!((policies[1].1.line, policies[1].1.column), (20, 9));
    }

    #[test]
    fn a_file_without_policies_is_an_error() {
        let src = Source::new(Path::new("p.yaml"), "# nothing here\n---\n");
        let err = load_text(&src).unwrap_err().to_string();
        assert_eq!(err, "p.yaml:1:1: the policy file holds no policy");
    }

    #[test]
    fn older_lines_may_refuse_newer_versions() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.yaml");
        let text = format!("{HEAD}        level: baseline\n        version: v1.30\n");
        std::fs::write(&file, text).unwrap();
        let set = PolicySet::load(std::slice::from_ref(&file)).unwrap();
        assert!(set.refusal(KyvernoLine::V1_12).is_none());
        let refusal = set.refusal(KyvernoLine::V1_10).unwrap();
        assert!(
            refusal.contains("Unsupported value: \"v1.30\""),
            "{refusal}"
        );
        let twice = PolicySet::load(&[file.clone(), file.clone()]).unwrap_err();
        assert!(
            twice
                .to_string()
                .contains("duplicate policy ClusterPolicy/p"),
            "{twice}"
        );
    }
}
