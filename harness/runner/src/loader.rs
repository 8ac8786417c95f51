//! Case files → validated [`Case`]s. Every error names `file:line:column`: YAML syntax and
//! indentation, unknown fields (in the case schema and inside embedded objects), wrong
//! types, duplicate names, missing or doubled resources, missing files, unknown controls
//! and kinds, and bad version ranges.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pss::{Kind, Level, Version, Workload};
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::case::{Case, Expectation, ExpectedStatus, Namespace, ProfileExpectation};
use crate::control::Control;
use crate::error::{Error, LocatedError};
use crate::manifest::{self, Source};
use crate::namespace_case::{self, Loaded};
use crate::policy::PolicySet;
use crate::profile::Profile;
use crate::psa_config::{self, ConfigFile};
use crate::target::{NamespaceRequest, Operation};
use crate::versions;
use crate::yaml::{self, Loc, LocatedNode, Node, Value};

/// A loaded set of cases, in file order.
#[derive(Debug, Clone, Default)]
pub struct Suite {
    pub cases: Vec<Arc<Case>>,
}

impl Suite {
    pub fn len(&self) -> usize {
        self.cases.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    level: Option<Spanned<String>>,
    #[serde(default)]
    control: Option<Spanned<String>>,
    #[serde(default)]
    versions: Option<LocatedNode>,
    #[serde(default)]
    policies: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    admission_config: Option<Spanned<String>>,
    #[serde(default)]
    cases: Vec<RawCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    name: Spanned<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    control: Option<Spanned<String>>,
    #[serde(default)]
    level: Option<Spanned<String>>,
    #[serde(default)]
    versions: Option<LocatedNode>,
    #[serde(default)]
    pod: Option<LocatedNode>,
    #[serde(default)]
    manifest: Option<LocatedNode>,
    #[serde(default)]
    file: Option<Spanned<String>>,
    #[serde(default)]
    kinds: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    raw: bool,
    #[serde(default)]
    namespace: Option<RawNamespace>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    operation: Option<Operation>,
    #[serde(default)]
    subresource: Option<String>,
    #[serde(default)]
    old: Option<LocatedNode>,
    #[serde(default)]
    existing_pods: Option<LocatedNode>,
    #[serde(default)]
    admission_config: Option<Spanned<String>>,
    expect: LocatedNode,
    #[serde(default)]
    profiles: Option<LocatedNode>,
    #[serde(default)]
    policies: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNamespace {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

/// An expectation as written; read from a located node with [`yaml::strict`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    #[serde(default)]
    allowed: Option<bool>,
    #[serde(default)]
    skip: Option<String>,
    #[serde(default)]
    reasons: Option<Vec<String>>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    contains: Option<OneOrMany>,
    #[serde(default)]
    matches: Option<String>,
    #[serde(default)]
    warnings: Option<Vec<String>>,
    #[serde(default)]
    audit: Option<BTreeMap<String, String>>,
    #[serde(default)]
    status: Option<RawStatus>,
    #[serde(default)]
    rules: Option<Vec<String>>,
    #[serde(default)]
    divergence: Option<String>,
}

/// `status: {code?, reason?}` of an expectation.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStatus {
    #[serde(default)]
    code: Option<u16>,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// Load cases from files and directories. Directories are searched recursively for
/// `*.yaml`/`*.yml` (skipping `.`/`_` folders and files that are manifests, i.e. have
/// top-level `apiVersion` and `kind`). Case ids are relative to `id_root` for paths inside
/// it (so `run cases/baseline` keeps the ids of `run`), else relative to the directory
/// given, or the file's stem for a file given directly.
pub fn load(paths: &[PathBuf], id_root: Option<&Path>) -> Result<Suite, Error> {
    let mut suite = Suite::default();
    let mut seen: HashMap<String, (PathBuf, Loc)> = HashMap::new();
    for path in paths {
        let root = id_root.filter(|r| path_under(path, r));
        let files = if path.is_dir() {
            let base = root.unwrap_or(path);
            discover(path)?
                .into_iter()
                .map(|f| (stem_id(&f, base), f, true))
                .collect()
        } else {
            let id = root.map_or_else(|| file_stem(path), |r| stem_id(path, r));
            vec![(id, path.clone(), false)]
        };
        for (stem, file, discovered) in files {
            for case in load_file(&file, &stem, discovered)? {
                check_unique(&mut seen, &case)?;
                suite.cases.push(Arc::new(case));
            }
        }
    }
    Ok(suite)
}

fn check_unique(seen: &mut HashMap<String, (PathBuf, Loc)>, case: &Case) -> Result<(), Error> {
    if let Some((file, loc)) = seen.get(&case.id) {
        let text = std::fs::read_to_string(&case.file).unwrap_or_default();
        let msg = format!(
            "duplicate case id `{}` (also at {}:{}:{})",
            case.id,
            file.display(),
            loc.line,
            loc.column
        );
        return Err(Error::located(
            Source::new(&case.file, &text).error(case.loc, msg),
        ));
    }
    seen.insert(case.id.clone(), (case.file.clone(), case.loc));
    Ok(())
}

/// Case files under `dir`, sorted.
fn discover(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| Error::io(&d, e))?;
        for entry in entries {
            let path = entry.map_err(|e| Error::io(&d, e))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with('.') || name.starts_with('_') {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if name.ends_with(".yaml") || name.ends_with(".yml") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Whether `path` lies inside `root` (both resolved).
pub fn path_under(path: &Path, root: &Path) -> bool {
    match (path.canonicalize(), root.canonicalize()) {
        (Ok(p), Ok(r)) => p.starts_with(r),
        _ => false,
    }
}

/// `baseline/privileged` for `<root>/baseline/privileged.yaml`.
fn stem_id(file: &Path, root: &Path) -> String {
    let (file, root) = match (file.canonicalize(), root.canonicalize()) {
        (Ok(f), Ok(r)) => (f, r),
        _ => (file.to_path_buf(), root.to_path_buf()),
    };
    let rel = file.strip_prefix(&root).unwrap_or(&file).with_extension("");
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

fn file_stem(file: &Path) -> String {
    file.file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
}

/// Load one case file. `discovered` files that turn out to be manifests yield no cases.
pub fn load_file(path: &Path, stem: &str, discovered: bool) -> Result<Vec<Case>, Error> {
    let text = crate::input::read_file(path)?;
    if discovered && looks_like_manifest(&text) {
        return Ok(Vec::new());
    }
    load_str(path, &text, stem).map_err(Error::located)
}

fn looks_like_manifest(text: &str) -> bool {
    let Ok(docs) = yaml::parse_documents(text) else {
        return false;
    };
    docs.iter()
        .find(|d| !d.is_null())
        .is_some_and(|d| d.get("apiVersion").is_some() && d.get("kind").is_some())
}

/// Load the cases of one file's text; ids are `<stem>/<name>`.
pub fn load_str(path: &Path, text: &str, stem: &str) -> Result<Vec<Case>, LocatedError> {
    let src = Source::new(path, text);
    let docs: Vec<RawFile> =
        serde_saphyr::from_multiple_with_options(text, crate::limits::yaml_options())
            .map_err(|e| LocatedError::from_yaml(path, &src.text, &e))?;
    let mut names: HashMap<String, Loc> = HashMap::new();
    let mut cases = Vec::new();
    for doc in docs {
        let mut defaults =
            FileDefaults::new(&src, doc.level, doc.control, doc.versions, doc.policies)?;
        defaults.admission_config = doc
            .admission_config
            .map(|p| load_admission_config(&src, &p))
            .transpose()?;
        for raw in doc.cases {
            let case = build_case(&src, stem, &defaults, raw)?;
            if let Some(first) = names.get(&case.name) {
                let msg = format!(
                    "duplicate case name `{}` (first defined at line {})",
                    case.name, first.line
                );
                return Err(src.error(case.loc, msg));
            }
            names.insert(case.name.clone(), case.loc);
            cases.push(case);
        }
    }
    Ok(cases)
}

/// The file-level defaults, located.
struct FileDefaults {
    level: Option<(Level, Loc)>,
    control: Option<(Control, Loc)>,
    versions: Option<Node>,
    policies: Option<Arc<PolicySet>>,
    admission_config: Option<Arc<ConfigFile>>,
}

impl FileDefaults {
    fn new(
        src: &Source,
        level: Option<Spanned<String>>,
        control: Option<Spanned<String>>,
        versions: Option<LocatedNode>,
        policies: Option<Vec<Spanned<String>>>,
    ) -> Result<Self, LocatedError> {
        Ok(FileDefaults {
            level: level.map(|l| parse_level(src, &l)).transpose()?,
            control: control.map(|c| parse_control(src, &c)).transpose()?,
            versions: versions.map(|v| v.resolve(&src.text)),
            policies: policies.map(|p| load_policies(src, p)).transpose()?,
            admission_config: None,
        })
    }
}

fn loc_of<T>(src: &Source, s: &Spanned<T>) -> Loc {
    Loc::from_saphyr(&s.referenced, &src.text)
}

fn parse_level(src: &Source, s: &Spanned<String>) -> Result<(Level, Loc), LocatedError> {
    let loc = loc_of(src, s);
    let level = s
        .value
        .parse::<Level>()
        .map_err(|e| src.error(loc, format!("invalid level {:?}: {e}", s.value)))?;
    Ok((level, loc))
}

fn parse_control(src: &Source, s: &Spanned<String>) -> Result<(Control, Loc), LocatedError> {
    let loc = loc_of(src, s);
    let names: Vec<&str> = Control::ALL.iter().map(|c| c.as_str()).collect();
    let control = Control::parse(&s.value).ok_or_else(|| {
        let help = yaml::closest(&s.value, &names).map(|c| format!("did you mean `{c}`?"));
        src.error(
            loc,
            format!(
                "unknown control `{}`; known controls: {}",
                s.value,
                names.join(", ")
            ),
        )
        .with_help(help)
    })?;
    Ok((control, loc))
}

fn build_case(
    src: &Source,
    stem: &str,
    defaults: &FileDefaults,
    raw: RawCase,
) -> Result<Case, LocatedError> {
    let loc = loc_of(src, &raw.name);
    let name = raw.name.value;
    check_name(src, &name, loc)?;
    let control = match &raw.control {
        Some(c) => parse_control(src, c)?.0,
        None => defaults.control.map(|(c, _)| c).ok_or_else(|| {
            src.error(
                loc,
                format!(
                    "case `{name}` has no `control`; set it on the case or at the top of the file"
                ),
            )
        })?,
    };
    let level = case_level(src, raw.level.as_ref(), defaults, control, loc)?;
    let versions = match raw
        .versions
        .map(|v| v.resolve(&src.text))
        .as_ref()
        .or(defaults.versions.as_ref())
    {
        Some(node) => parse_versions(src, node)?,
        None => versions::from_minor(control.first_minor(level)),
    };
    let resource = Resource {
        pod: raw.pod,
        manifest: raw.manifest,
        file: raw.file,
    };
    let loaded = resource.load(src, &name, loc, "the case")?;
    let expect_node = raw.expect.resolve(&src.text);
    let expect = match parse_expectation(src, &expect_node, false)? {
        ProfileExpectation::Run(e) => e,
        ProfileExpectation::Skip(_) => {
            return Err(src.error(expect_node.loc, "`skip` is only valid under `profiles`"));
        }
    };
    let operation = raw.operation.unwrap_or_default();
    let old = old_object(src, raw.old, &name, operation, loc)?;
    let subject = Subject::build(
        src,
        &name,
        loc,
        loaded,
        SubjectParts {
            old,
            kinds: raw.kinds,
            namespace: raw.namespace,
            existing_pods: raw.existing_pods,
        },
        &expect,
    )?;
    let admission_config = match &raw.admission_config {
        Some(p) => Some(load_admission_config(src, p)?),
        None => defaults.admission_config.clone(),
    };
    let profiles = match raw.profiles {
        Some(p) => parse_profiles(src, &p.resolve(&src.text))?,
        None => BTreeMap::new(),
    };
    let policies = match raw.policies {
        Some(p) => Some(load_policies(src, p)?),
        None => defaults.policies.clone(),
    };
    Ok(Case {
        id: if stem.is_empty() {
            name.clone()
        } else {
            format!("{stem}/{name}")
        },
        name,
        file: src.file.clone(),
        loc,
        description: raw.description,
        control,
        level,
        versions,
        object: subject.object,
        kinds: subject.kinds,
        raw: raw.raw,
        namespace: subject.namespace,
        user: raw.user,
        operation,
        subresource: raw.subresource,
        old: subject.old,
        expect,
        profiles,
        policies,
        admission_config,
        namespace_request: subject.namespace_request,
    })
}

/// The parts of a case that depend on whether it is about a workload or a Namespace.
struct SubjectParts {
    old: Option<(Loaded, Loc)>,
    kinds: Option<Vec<Spanned<String>>>,
    namespace: Option<RawNamespace>,
    existing_pods: Option<LocatedNode>,
}

/// What a case sends: a workload (with its kinds and old object) in a namespace, or a
/// Namespace request (with a placeholder object, see [`namespace_case`]).
struct Subject {
    object: Workload,
    kinds: Vec<Kind>,
    old: Option<Workload>,
    namespace: Namespace,
    namespace_request: Option<NamespaceRequest>,
}

impl Subject {
    fn build(
        src: &Source,
        name: &str,
        loc: Loc,
        loaded: Loaded,
        parts: SubjectParts,
        expect: &Expectation,
    ) -> Result<Subject, LocatedError> {
        match loaded {
            Loaded::Workload(object) => Subject::workload(src, *object, parts, expect),
            Loaded::Namespace(ns) => Subject::namespace(src, name, loc, ns, parts),
        }
    }

    fn workload(
        src: &Source,
        object: Workload,
        parts: SubjectParts,
        expect: &Expectation,
    ) -> Result<Subject, LocatedError> {
        if let Some(pods) = parts.existing_pods {
            let at = pods.resolve(&src.text).loc;
            return Err(src.error(at, "`existing_pods` only applies to a Namespace case"));
        }
        let old = match parts.old {
            None => None,
            Some((Loaded::Workload(w), _)) => Some(*w),
            Some((Loaded::Namespace(_), at)) => {
                return Err(src.error(at, "the old object of a workload cannot be a Namespace"));
            }
        };
        let kinds = case_kinds(src, parts.kinds, &object, expect)?;
        let namespace = parts.namespace.map_or_else(
            || Namespace {
                name: "default".into(),
                labels: BTreeMap::new(),
                explicit_labels: false,
            },
            |n| Namespace {
                name: n.name.unwrap_or_else(|| "default".into()),
                explicit_labels: n.labels.is_some(),
                labels: n.labels.unwrap_or_default(),
            },
        );
        Ok(Subject {
            object,
            kinds,
            old,
            namespace,
            namespace_request: None,
        })
    }

    fn namespace(
        src: &Source,
        name: &str,
        loc: Loc,
        ns: pss::admission::NamespaceObject,
        parts: SubjectParts,
    ) -> Result<Subject, LocatedError> {
        if let Some(k) = parts.kinds.as_ref().and_then(|k| k.first()) {
            let msg = "`kinds` does not apply to a Namespace case";
            return Err(src.error(loc_of(src, k), msg));
        }
        if parts.namespace.is_some() {
            let msg = "a Namespace case takes its name and labels from the Namespace object; \
                       remove `namespace`";
            return Err(src.error(loc, msg));
        }
        let old = match parts.old {
            None => None,
            Some((Loaded::Namespace(old), _)) => Some(old),
            Some((Loaded::Workload(_), at)) => {
                return Err(src.error(at, "the old object of a Namespace must be a Namespace"));
            }
        };
        let existing_pods = match parts.existing_pods {
            Some(node) => existing_pods(src, &node.resolve(&src.text), name)?,
            None => Vec::new(),
        };
        Ok(Subject {
            object: namespace_case::placeholder(&ns.name),
            kinds: vec![Kind::Pod],
            old: None,
            namespace: Namespace {
                name: ns.name.clone(),
                labels: ns.labels.clone(),
                explicit_labels: true,
            },
            namespace_request: Some(NamespaceRequest {
                object: ns,
                old,
                existing_pods,
            }),
        })
    }
}

/// `existing_pods:` a list of `{pod}`, `{manifest}` or `{file}`, each a Pod (shorthands are
/// named `<case name>-<index>` unless their metadata names them).
fn existing_pods(
    src: &Source,
    node: &Node,
    name: &str,
) -> Result<Vec<k8s_openapi::api::core::v1::Pod>, LocatedError> {
    let Value::Seq(items) = &node.value else {
        return Err(src.error(node.loc, "`existing_pods` must be a list"));
    };
    let mut pods = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let what = "an existing pod";
        let kind = match object_ref(src, item, &format!("{name}-{i}"), what)? {
            Loaded::Workload(w) => match *w {
                Workload::Pod(pod) => {
                    pods.push(pod);
                    continue;
                }
                other => other.kind().as_str(),
            },
            Loaded::Namespace(_) => "Namespace",
        };
        let msg = format!("an existing pod must be a Pod, found a {kind}");
        return Err(src.error(item.loc, msg));
    }
    Ok(pods)
}

/// `admission_config: <path>`, relative to the case file, loaded and validated.
fn load_admission_config(
    src: &Source,
    path: &Spanned<String>,
) -> Result<Arc<ConfigFile>, LocatedError> {
    let at = loc_of(src, path);
    let file = relative_to(&src.file, &path.value);
    if !file.is_file() {
        let msg = format!(
            "admission config file not found: {} (resolved to {})",
            path.value,
            file.display()
        );
        return Err(src.error(at, msg));
    }
    psa_config::load(&file).map(Arc::new).map_err(|e| match e {
        Error::Located(located) => located,
        other => src.error(at, other.to_string()),
    })
}

fn check_name(src: &Source, name: &str, loc: Loc) -> Result<(), LocatedError> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if first_ok && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        return Ok(());
    }
    Err(src.error(
        loc,
        format!(
            "invalid case name {name:?}: use lowercase letters, digits and `-` ([a-z0-9][a-z0-9-]*)"
        ),
    ))
}

/// The case's level, or the file's, or the control's own. Any level is valid: a case may
/// show that a restricted control does not apply at baseline.
fn case_level(
    src: &Source,
    level: Option<&Spanned<String>>,
    defaults: &FileDefaults,
    control: Control,
    case_loc: Loc,
) -> Result<Level, LocatedError> {
    match level {
        Some(l) => Ok(parse_level(src, l)?.0),
        None => match defaults.level {
            Some((l, _)) => Ok(l),
            None if control.level() != Level::Privileged => Ok(control.level()),
            None => Err(src.error(case_loc, format!("control `{control}` needs a `level`"))),
        },
    }
}

/// A version expression or a list of them, each located.
fn parse_versions(src: &Source, node: &Node) -> Result<Vec<Version>, LocatedError> {
    let items: Vec<&Node> = match &node.value {
        Value::Seq(items) => items.iter().collect(),
        _ => vec![node],
    };
    let mut out = Vec::new();
    for item in items {
        let text = scalar_text(item).ok_or_else(|| {
            src.error(
                item.loc,
                format!("a version must be a string, found {}", item.type_name()),
            )
        })?;
        out.extend(versions::parse_expr(&text).map_err(|e| src.error(item.loc, e.to_string()))?);
    }
    out.sort();
    out.dedup();
    if out.is_empty() {
        return Err(src.error(node.loc, "`versions` selects no version"));
    }
    Ok(out)
}

fn scalar_text(node: &Node) -> Option<String> {
    match &node.value {
        Value::Str(s) => Some(s.clone()),
        _ => None,
    }
}

/// Exactly one of `pod`, `manifest`, `file`.
struct Resource {
    pod: Option<LocatedNode>,
    manifest: Option<LocatedNode>,
    file: Option<Spanned<String>>,
}

impl Resource {
    fn load(self, src: &Source, name: &str, at: Loc, what: &str) -> Result<Loaded, LocatedError> {
        let count = [
            self.pod.is_some(),
            self.manifest.is_some(),
            self.file.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if count != 1 {
            let msg = match count {
                0 => format!("{what} has no resource: set one of `pod`, `manifest` or `file`"),
                _ => format!(
                    "{what} has more than one resource: set only one of `pod`, `manifest` or `file`"
                ),
            };
            return Err(src.error(at, msg));
        }
        if let Some(pod) = self.pod {
            return manifest::pod_shorthand(src, &pod.resolve(&src.text), name)
                .map(|w| Loaded::Workload(Box::new(w)));
        }
        if let Some(m) = self.manifest {
            return any_manifest(src, &m.resolve(&src.text));
        }
        match self.file {
            Some(f) => load_object_file(src, &f.value, loc_of(src, &f)),
            None => Err(src.error(at, format!("{what} has no resource"))),
        }
    }
}

/// A manifest of a workload kind, or a Namespace.
fn any_manifest(src: &Source, node: &Node) -> Result<Loaded, LocatedError> {
    if namespace_case::is_namespace(node) {
        return namespace_case::namespace_object(src, node).map(Loaded::Namespace);
    }
    manifest::manifest(src, node).map(|w| Loaded::Workload(Box::new(w)))
}

/// A manifest file (relative to the case file), located in its own file.
fn load_object_file(src: &Source, rel: &str, at: Loc) -> Result<Loaded, LocatedError> {
    let path = relative_to(&src.file, rel);
    if !path.is_file() {
        let problem = match path.is_dir() {
            true => "a directory, not a manifest file",
            false => "file not found",
        };
        let msg = format!("{problem}: {rel} (resolved to {})", path.display());
        return Err(src.error(at, msg));
    }
    let located = |e: Error| match e {
        Error::Located(located) => located,
        other => src.error(at, other.to_string()),
    };
    let (file_src, node) = manifest::single_document(&path).map_err(located)?;
    any_manifest(&file_src, &node)
}

fn relative_to(case_file: &Path, rel: &str) -> PathBuf {
    case_file.parent().unwrap_or(Path::new(".")).join(rel)
}

/// `policies:` files, relative to the case file, loaded and admitted (errors inside a
/// policy file are located in that file; an empty list means no policy at all).
fn load_policies(
    src: &Source,
    policies: Vec<Spanned<String>>,
) -> Result<Arc<PolicySet>, LocatedError> {
    let mut files = Vec::with_capacity(policies.len());
    for p in &policies {
        let path = relative_to(&src.file, &p.value);
        if !path.is_file() {
            let msg = format!(
                "policy file not found: {} (resolved to {})",
                p.value,
                path.display()
            );
            return Err(src.error(loc_of(src, p), msg));
        }
        files.push(path);
    }
    PolicySet::load(&files).map(Arc::new).map_err(|e| match e {
        Error::Located(located) => located,
        other => {
            let at = policies.first().map_or(Loc::default(), |p| loc_of(src, p));
            src.error(at, other.to_string())
        }
    })
}

/// The kinds a case runs as: given (a Pod may be expanded into any kind), or by default
/// the object's kind, plus every controller kind for a denied Pod.
fn case_kinds(
    src: &Source,
    given: Option<Vec<Spanned<String>>>,
    object: &Workload,
    expect: &Expectation,
) -> Result<Vec<Kind>, LocatedError> {
    let own = object.kind();
    let Some(given) = given else {
        return Ok(match own.is_pod() && !expect.allowed {
            true => Kind::ALL.to_vec(),
            false => vec![own],
        });
    };
    let mut kinds = Vec::new();
    for k in given {
        let loc = loc_of(src, &k);
        let kind = Kind::from_kind(&k.value).ok_or_else(|| {
            let known: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
            src.error(
                loc,
                format!(
                    "unknown kind `{}`; expected one of {}",
                    k.value,
                    known.join(", ")
                ),
            )
        })?;
        if kind != own && !own.is_pod() {
            return Err(src.error(
                loc,
                format!("only a Pod can be expanded into other kinds; this case is a {own}"),
            ));
        }
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

/// `old:` (the previous object of an UPDATE): `pod`, `manifest` or `file`, with where it
/// is written.
fn old_object(
    src: &Source,
    old: Option<LocatedNode>,
    name: &str,
    operation: Operation,
    case_loc: Loc,
) -> Result<Option<(Loaded, Loc)>, LocatedError> {
    let Some(old) = old else {
        return match operation {
            Operation::Update => {
                Err(src.error(case_loc, "`operation: UPDATE` needs an `old` object"))
            }
            Operation::Create => Ok(None),
        };
    };
    let node = old.resolve(&src.text);
    if operation == Operation::Create {
        return Err(src.error(node.loc, "`old` is only valid with `operation: UPDATE`"));
    }
    let loaded = object_ref(src, &node, name, "`old`")?;
    Ok(Some((loaded, node.loc)))
}

/// A mapping with exactly one of `pod`, `manifest` or `file` (`old`, existing pods).
fn object_ref(src: &Source, node: &Node, name: &str, what: &str) -> Result<Loaded, LocatedError> {
    let Value::Map(entries) = &node.value else {
        return Err(src.error(
            node.loc,
            format!("{what} must be a mapping with one of `pod`, `manifest` or `file`"),
        ));
    };
    let (mut pod, mut manifest_node, mut file) = (None, None, None);
    for (key, value) in entries {
        match key.name.as_str() {
            "pod" => pod = Some(value),
            "manifest" => manifest_node = Some(value),
            "file" => file = Some(value),
            other => {
                let msg = format!(
                    "unknown field `{other}` in {what}, expected one of pod, manifest, file"
                );
                return Err(src.error(key.loc, msg));
            }
        }
    }
    match (pod, manifest_node, file) {
        (Some(p), None, None) => {
            manifest::pod_shorthand(src, p, name).map(|w| Loaded::Workload(Box::new(w)))
        }
        (None, Some(m), None) => any_manifest(src, m),
        (None, None, Some(f)) => {
            let rel = scalar_text(f).ok_or_else(|| src.error(f.loc, "`file` must be a string"))?;
            load_object_file(src, &rel, f.loc)
        }
        _ => Err(src.error(
            node.loc,
            format!("{what} needs exactly one of `pod`, `manifest` or `file`"),
        )),
    }
}

fn parse_profiles(
    src: &Source,
    node: &Node,
) -> Result<BTreeMap<String, ProfileExpectation>, LocatedError> {
    let Value::Map(entries) = &node.value else {
        return Err(src.error(
            node.loc,
            "`profiles` must be a mapping of profile to expectation",
        ));
    };
    let mut out = BTreeMap::new();
    for (key, value) in entries {
        let Some(name) = Profile::canonical_key(&key.name) else {
            let msg = format!(
                "unknown profile `{}`: expected psa, kyverno or kyverno@<line> \
                 (kyverno@v1.10, kyverno@v1.12, kyverno@v1.19 or a release)",
                key.name
            );
            return Err(src.error(key.loc, msg));
        };
        if out.contains_key(&name) {
            let msg = format!("profile `{}` is given twice (as {name})", key.name);
            return Err(src.error(key.loc, msg));
        }
        out.insert(name, parse_expectation(src, value, true)?);
    }
    Ok(out)
}

fn parse_expectation(
    src: &Source,
    node: &Node,
    allow_skip: bool,
) -> Result<ProfileExpectation, LocatedError> {
    if !matches!(node.value, Value::Map(_)) {
        let msg = format!(
            "an expectation must be a mapping (`allowed`, `reasons`, ...), found {}",
            node.type_name()
        );
        return Err(src.error(node.loc, msg));
    }
    let raw: RawExpect = yaml::strict(node)
        .map_err(|e| LocatedError::from_strict(&src.file, &src.text, e, node.loc))?;
    let key_loc = |name: &str| node.entry(name).map_or(node.loc, |(k, _)| k.loc);
    if let Some(reason) = raw.skip {
        if !allow_skip {
            return Err(src.error(key_loc("skip"), "`skip` is only valid under `profiles`"));
        }
        if raw.allowed.is_some() || raw.reasons.is_some() {
            return Err(src.error(
                key_loc("skip"),
                "`skip` cannot be combined with an expectation",
            ));
        }
        return Ok(ProfileExpectation::Skip(reason));
    }
    if raw.divergence.is_some() && !allow_skip {
        return Err(src.error(
            key_loc("divergence"),
            "`divergence` is only valid under `profiles` (it marks how a profile differs)",
        ));
    }
    let allowed = raw
        .allowed
        .ok_or_else(|| src.error(node.loc, "missing field `allowed` in the expectation"))?;
    let reasons = raw.reasons.unwrap_or_default();
    let status = raw.status.map(|s| ExpectedStatus {
        code: s.code,
        reason: s.reason,
    });
    if allowed && status.is_some() {
        return Err(src.error(
            key_loc("status"),
            "`status` only applies when `allowed: false`",
        ));
    }
    let other_refusal = status
        .as_ref()
        .is_some_and(ExpectedStatus::is_not_forbidden);
    if !allowed && reasons.is_empty() && !other_refusal {
        return Err(src.error(
            node.loc,
            "`reasons` is required when `allowed: false` (unless `status` is not 403 Forbidden)",
        ));
    }
    if allowed && !reasons.is_empty() {
        return Err(src.error(
            key_loc("reasons"),
            "`reasons` only apply when `allowed: false`",
        ));
    }
    let matches = match raw.matches {
        Some(pattern) => Some(regex::Regex::new(&pattern).map_err(|e| {
            let at = node.get("matches").map_or(node.loc, |n| n.loc);
            src.error(at, format!("invalid regex in `matches`: {e}"))
        })?),
        None => None,
    };
    let contains = match raw.contains {
        Some(OneOrMany::One(s)) => vec![s],
        Some(OneOrMany::Many(v)) => v,
        None => Vec::new(),
    };
    Ok(ProfileExpectation::Run(Expectation {
        allowed,
        reasons,
        detail: raw.detail,
        message: raw.message,
        contains,
        matches,
        warnings: raw.warnings,
        audit: raw.audit,
        status,
        rules: raw.rules,
        divergence: raw.divergence,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const POD: &str = "pod: {containers: [{name: app, securityContext: {privileged: true}}]}";
    const DENY: &str = "expect: {allowed: false, reasons: [privileged]}";

    fn err(text: &str) -> String {
        load_str(Path::new("cases/t.yaml"), text, "t")
            .unwrap_err()
            .to_string()
    }

    fn one(text: &str) -> Case {
        load_str(Path::new("cases/t.yaml"), text, "baseline/t")
            .unwrap()
            .remove(0)
    }

    #[rstest]
    #[case::bad_indentation(
        "control: privileged\ncases:\n- name: a\n   pod: {}\n",
        "cases/t.yaml:4:7: mapping values are not allowed in this context"
    )]
    #[case::unclosed_flow(
        "control: privileged\ncases:\n- name: a\n  pod: {containers: [\n",
        "cases/t.yaml:4:21: unclosed bracket '['"
    )]
    #[case::unknown_case_field(
        "control: privileged\ncases:\n- name: a\n  expekt: {allowed: true}\n",
        "cases/t.yaml:4:3: unknown field `expekt`"
    )]
    #[case::unknown_file_field(
        "control: privileged\ncase: []\n",
        "cases/t.yaml:2:1: unknown field `case`"
    )]
    #[case::unknown_expect_field(
        "control: privileged
cases:
- name: a
  pod: {containers: []}
  expect: {allowed: true, reason: [x]}
",
        "cases/t.yaml:5:27: unknown field `reason`, expected one of `allowed`, `skip`"
    )]
    #[case::unknown_field_in_pod(
        "control: privileged
cases:
- name: a
  pod:
    containers:
    - name: app
      securityContxt: {privileged: true}
  expect: {allowed: true}
",
        "cases/t.yaml:7:7: unknown field `securityContxt` in Container"
    )]
    #[case::unknown_field_in_manifest(
        "control: privileged
cases:
- name: a
  manifest:
    apiVersion: apps/v1
    kind: Deployment
    spec:
      selector: {}
      templat: {}
  expect: {allowed: true}
",
        "cases/t.yaml:9:7: unknown field `templat` in DeploymentSpec"
    )]
    #[case::wrong_type_in_schema(
        "control: privileged\ncases:\n- name: a\n  raw: [1]\n",
        "cases/t.yaml:4:8:"
    )]
    #[case::wrong_type_in_pod(
        "control: privileged
cases:
- name: a
  pod: {hostPID: \"yes\", containers: []}
  expect: {allowed: true}
",
        "cases/t.yaml:4:18: invalid type: string \"yes\", expected a boolean"
    )]
    #[case::wrong_type_in_expect(
        "control: privileged
cases:
- name: a
  pod: {containers: []}
  expect: {allowed: true, warnings: oops}
",
        "cases/t.yaml:5:37: invalid type: string \"oops\", expected a sequence"
    )]
    #[case::duplicate_name(
        "control: privileged
cases:
- name: a
  pod: {containers: []}
  expect: {allowed: true}
- name: a
  pod: {containers: []}
  expect: {allowed: true}
",
        "cases/t.yaml:6:9: duplicate case name `a` (first defined at line 3)"
    )]
    #[case::missing_resource(
        "control: privileged\ncases:\n- name: a\n  expect: {allowed: true}\n",
        "cases/t.yaml:3:9: the case has no resource: set one of `pod`, `manifest` or `file`"
    )]
    #[case::two_resources(
        "control: privileged
cases:
- name: a
  pod: {containers: []}
  file: x.yaml
  expect: {allowed: true}
",
        "cases/t.yaml:3:9: the case has more than one resource"
    )]
    #[case::missing_file(
        "control: privileged
cases:
- name: a
  file: nowhere/pod.yaml
  expect: {allowed: true}
",
        "cases/t.yaml:4:9: file not found: nowhere/pod.yaml"
    )]
    #[case::unknown_control(
        "control: privilegd\ncases: []\n",
        "cases/t.yaml:1:10: unknown control `privilegd`"
    )]
    #[case::missing_control(
        "cases:\n- name: a\n  pod: {containers: []}\n  expect: {allowed: true}\n",
        "cases/t.yaml:2:9: case `a` has no `control`"
    )]
    #[case::version_out_of_range(
        "control: privileged
cases:
- name: a
  versions: [v1.0, v1.38]
  pod: {containers: []}
  expect: {allowed: true}
",
        "cases/t.yaml:4:20: version v1.38 is out of range: the newest known version is v1.37"
    )]
    #[case::bad_range(
        "control: privileged
cases:
- name: a
  versions: v1.30..v1.20
  pod: {containers: []}
  expect: {allowed: true}
",
        "cases/t.yaml:4:13: bad range \"v1.30..v1.20\": v1.30 is newer than v1.20"
    )]
    #[case::bad_version(
        "control: privileged
cases:
- name: a
  versions: '>=1.20'
  pod: {containers: []}
  expect: {allowed: true}
",
        "cases/t.yaml:4:13: invalid version \"1.20\""
    )]
    #[case::unknown_kind(
        "control: privileged
cases:
- name: a
  kinds: [Pod, Deploymnet]
  pod: {containers: []}
  expect: {allowed: true}
",
        "cases/t.yaml:4:16: unknown kind `Deploymnet`"
    )]
    #[case::bad_name(
        "control: privileged
cases:
- name: Bad_Name
  pod: {containers: []}
  expect: {allowed: true}
",
        "cases/t.yaml:3:9: invalid case name \"Bad_Name\""
    )]
    #[case::reasons_required(
        "control: privileged
cases:
- name: a
  pod: {containers: []}
  expect: {allowed: false}
",
        "cases/t.yaml:5:11: `reasons` is required when `allowed: false`"
    )]
    #[case::bad_regex(
        "control: privileged
cases:
- name: a
  pod: {containers: []}
  expect: {allowed: true, matches: '('}
",
        "cases/t.yaml:5:36: invalid regex in `matches`"
    )]
    #[case::unknown_profile(
        "control: privileged
cases:
- name: a
  pod: {containers: []}
  expect: {allowed: true}
  profiles: {opa: {allowed: true}}
",
        "cases/t.yaml:6:14: unknown profile `opa`"
    )]
    #[case::skip_outside_profiles(
        "control: privileged
cases:
- name: a
  pod: {containers: []}
  expect: {skip: later}
",
        "cases/t.yaml:5:12: `skip` is only valid under `profiles`"
    )]
    #[case::update_without_old(
        "control: admission
level: baseline
cases:
- name: a
  operation: UPDATE
  pod: {containers: []}
  expect: {allowed: true}
",
        "cases/t.yaml:4:9: `operation: UPDATE` needs an `old` object"
    )]
    #[case::bad_operation(
        "control: privileged\ncases:\n- name: a\n  operation: DELETE\n",
        "cases/t.yaml:4:14: unknown variant `DELETE`"
    )]
    fn loader_errors_name_file_line_column(#[case] text: &str, #[case] want: &str) {
        let got = err(text);
        assert!(got.starts_with(want), "\n got: {got}\nwant: {want}");
    }

    #[test]
    fn defaults_and_expansion() {
        let c = one(&format!(
            "control: privileged\ncases:\n- name: a\n  {POD}\n  {DENY}\n"
        ));
        assert_eq!(c.id, "baseline/t/a");
        assert_eq!(c.level, Level::Baseline);
        assert_eq!(c.versions.len(), 39);
        assert_eq!(c.kinds, Kind::ALL);
        assert_eq!(c.object.name(), "a");
        assert_eq!(c.namespace.name, "default");
        let allowed = one("control: host-probes
cases:
- name: a
  pod: {containers: []}
  expect: {allowed: true}
");
        assert_eq!(allowed.kinds, [Kind::Pod]);
        assert_eq!(allowed.versions.first(), Some(&Version::V1(34)));
    }

    #[test]
    fn a_restricted_control_may_be_shown_at_baseline() {
        let c = one("level: baseline
control: run-as-user
cases:
- name: a
  pod: {containers: []}
  expect: {allowed: true}
");
        assert_eq!(
            (c.level, c.versions.first()),
            (Level::Baseline, Some(&Version::V1(23)))
        );
    }

    #[test]
    fn profiles_and_skips() {
        let c = one(&format!(
            "control: privileged
cases:
- name: a
  {POD}
  {DENY}
  profiles:
    kyverno@1.12: {{skip: not yet}}
    psa: {{allowed: false, reasons: [privileged], contains: x}}
    kyverno/CronJob: {{allowed: true, divergence: why}}
"
        ));
        assert_eq!(
            c.expectation(&Profile::Psa).map(|e| e.contains.clone()),
            Ok(vec!["x".to_owned()])
        );
        let k: Profile = "kyverno@1.12".parse().unwrap();
        assert_eq!(c.expectation(&k).err(), Some("not yet"));
        // A release names its line: 1.13 is on the v1.12 line.
        let k2: Profile = "kyverno@1.13".parse().unwrap();
        assert_eq!(c.expectation(&k2).err(), Some("not yet"));
        let k3: Profile = "kyverno@v1.19".parse().unwrap();
        assert!(c.expectation(&k3).is_ok_and(|e| e.contains.is_empty()));
        // A per-kind entry wins over the line's entry for that kind.
        let cron = c.expectation_for(&k, Kind::CronJob).unwrap();
        assert!(cron.allowed && cron.divergence.as_deref() == Some("why"));
    }

    #[test]
    fn files_are_relative_to_the_case_file_and_located_in_their_own_file() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = "apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: c}]
  hostPId: true
";
        std::fs::create_dir_all(dir.path().join("_m")).unwrap();
        std::fs::write(dir.path().join("_m/pod.yaml"), manifest).unwrap();
        let case_file = dir.path().join("c.yaml");
        std::fs::write(
            &case_file,
            "control: privileged
cases:
- name: a
  file: _m/pod.yaml
  expect: {allowed: true}
",
        )
        .unwrap();
        let got = load(&[dir.path().to_path_buf()], None)
            .unwrap_err()
            .to_string();
        let want = format!(
            "{}:6:3: unknown field `hostPId` in PodSpec",
            dir.path().join("_m/pod.yaml").display()
        );
        assert_eq!(got, want);
        std::fs::write(
            dir.path().join("_m/pod.yaml"),
            manifest.replace("hostPId", "hostPID"),
        )
        .unwrap();
        let suite = load(&[dir.path().to_path_buf()], None).unwrap();
        assert_eq!(suite.cases[0].id, "c/a");
        assert_eq!(suite.cases[0].object.name(), "p");
    }

    #[test]
    fn discovery_skips_manifests_and_underscore_folders_and_ids_follow_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("baseline")).unwrap();
        let case = "control: privileged
cases:
- name: a
  pod: {containers: []}
  expect: {allowed: true}
";
        std::fs::write(root.join("baseline/p.yaml"), case).unwrap();
        std::fs::write(
            root.join("baseline/pod.yaml"),
            "apiVersion: v1\nkind: Pod\n",
        )
        .unwrap();
        let suite = load(&[root.join("baseline")], Some(root)).unwrap();
        assert_eq!(
            suite
                .cases
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>(),
            ["baseline/p/a"]
        );
        let direct = load(&[root.join("baseline/p.yaml")], None).unwrap();
        assert_eq!(direct.cases[0].id, "p/a");
        let twice = load(
            &[root.join("baseline"), root.join("baseline/p.yaml")],
            Some(root),
        )
        .unwrap_err();
        assert!(
            twice
                .to_string()
                .contains("duplicate case id `baseline/p/a`"),
            "{twice}"
        );
    }

    #[test]
    fn miette_renders_the_snippet_with_the_file_name() {
        let e = load_str(
            Path::new("cases/t.yaml"),
            "control: privileged\ncases:\n- name: a\n  expekt: 1\n",
            "t",
        )
        .unwrap_err();
        let mut out = String::new();
        let handler =
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
        handler.render_report(&mut out, &e).unwrap();
        assert!(out.contains("[cases/t.yaml:4:3]"), "{out}");
        assert!(out.contains("4 │   expekt: 1"), "{out}");
    }

    /// A Kyverno policy whose podSecurity block (lines 15 on) each test completes.
    const POLICY_HEAD: &str = "apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: p
spec:
  validationFailureAction: Enforce
  rules:
    - name: baseline
      match:
        any:
          - resources:
              kinds: [Pod]
      validate:
        podSecurity:
";

    const SCHEMA: &str = "ClusterPolicy.kyverno.io \"p\" is invalid: ";
    const WEBHOOK: &str = "admission webhook \"validate-policy.kyverno.svc\" denied the request: ";

    #[rstest]
    #[case::unknown_level(
        "          level: strict\n          version: latest\n",
        "15:18",
        "spec.rules[0].validate.podSecurity.level: Unsupported value: \"strict\": supported \
         values: \"privileged\", \"baseline\", \"restricted\""
    )]
    #[case::bad_version(
        "          level: baseline\n          version: v1.99\n",
        "16:20",
        "spec.rules[0].validate.podSecurity.version: Unsupported value: \"v1.99\""
    )]
    #[case::exclude_without_control_name(
        "          level: baseline\n          exclude:\n            - images: [nginx]\n",
        "17:15",
        "spec.rules[0].validate.podSecurity.exclude[0].controlName: Required value"
    )]
    #[case::unsupported_control_name(
        "          level: baseline\n          exclude:\n            - {controlName: Bogus}\n",
        "17:29",
        "spec.rules[0].validate.podSecurity.exclude[0].controlName: Unsupported value: \"Bogus\""
    )]
    #[case::container_control_without_images(
        "          level: baseline\n          exclude:\n            - controlName: Capabilities\n",
        "17:28",
        "spec.rules[0].podSecurity.exclude[0].controlName: Invalid value: \"Capabilities\": \
         exclude.images must be specified for the container level control"
    )]
    #[case::restricted_field_without_values(
        "          level: baseline
          exclude:
            - controlName: Host Namespaces
              restrictedField: spec.hostNetwork
",
        "17:15",
        "spec.rules[0].podSecurity.exclude[0].values: Forbidden: values is required"
    )]
    #[case::restricted_control_at_baseline(
        "          level: baseline\n          exclude:\n            - controlName: Volume Types\n",
        "17:28",
        "spec.rules[0].podSecurity.exclude[0].controlName: Invalid value: \"Volume Types\": \
         Invalid control name defined at the given level"
    )]
    fn policy_errors_are_located_in_the_policy_file(
        #[case] pod_security: &str,
        #[case] at: &str,
        #[case] want: &str,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("p.yaml");
        std::fs::write(&policy, format!("{POLICY_HEAD}{pod_security}")).unwrap();
        let case_file = dir.path().join("c.yaml");
        std::fs::write(
            &case_file,
            "control: privileged\npolicies: [p.yaml]\ncases: []\n",
        )
        .unwrap();
        let got = load(&[case_file], None).unwrap_err().to_string();
        let stage = match want.contains(".validate.") {
            true => SCHEMA,
            false => WEBHOOK,
        };
        let want = format!("{}:{at}: {stage}{want}", policy.display());
        assert!(got.starts_with(&want), "\n got: {got}\nwant: {want}");
    }

    #[test]
    fn policies_are_loaded_per_file_and_per_case() {
        let dir = tempfile::tempdir().unwrap();
        let policy = format!("{POLICY_HEAD}          level: baseline\n          version: latest\n");
        std::fs::write(dir.path().join("p.yaml"), &policy).unwrap();
        let text = "control: privileged
policies: [p.yaml]
cases:
- name: a
  pod: {containers: []}
  expect: {allowed: true}
- name: b
  policies: []
  pod: {containers: []}
  expect: {allowed: true}
- name: c
  policies: [missing.yaml]
  pod: {containers: []}
  expect: {allowed: true}
";
        let case_file = dir.path().join("c.yaml");
        std::fs::write(&case_file, text).unwrap();
        let err = load(std::slice::from_ref(&case_file), None)
            .unwrap_err()
            .to_string();
        let want = format!(
            "{}:12:14: policy file not found: missing.yaml",
            case_file.display()
        );
        assert!(err.starts_with(&want), "{err}");
        std::fs::write(
            &case_file,
            text.replace("[missing.yaml]", "[p.yaml, p.yaml]"),
        )
        .unwrap();
        let err = load(std::slice::from_ref(&case_file), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("duplicate policy ClusterPolicy/p"), "{err}");
        let cut = text.find("- name: c").unwrap();
        std::fs::write(&case_file, &text[..cut]).unwrap();
        let suite = load(&[case_file], None).unwrap();
        let names = |c: &Case| {
            let set = c.policies.as_ref().unwrap();
            set.policies
                .iter()
                .map(|p| p.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&suite.cases[0]), ["p"]);
        assert!(names(&suite.cases[1]).is_empty());
    }

    #[test]
    fn divergence_only_under_profiles() {
        let e = err("control: privileged
cases:
- name: a
  pod: {containers: []}
  expect: {allowed: true, divergence: why}
");
        assert!(
            e.starts_with("cases/t.yaml:5:27: `divergence` is only valid under `profiles`"),
            "{e}"
        );
    }
}
