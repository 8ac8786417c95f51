//! Running trials: select the scenario and golden trials of a suite, send each scenario to
//! its profile's target, judge it, and compare goldens. Trials run on `jobs` threads over
//! contiguous chunks, so a case's kinds and versions stay on one thread (its wrapped
//! objects are built once per kind).

use std::path::PathBuf;
use std::sync::Arc;

use kyverno::KyvernoLine;
use pss::{Defaulting, Kind, Version, Workload};
use serde::Serialize;

use crate::case::{Case, Expectation};
use crate::control::Control;
use crate::golden::{self, Entry};
use crate::judge::{self, Problem};
use crate::loader::Suite;
use crate::manifest;
use crate::policy::DefaultPolicies;
use crate::profile::Profile;
use crate::scenario::{self, Filter, Scenario};
use crate::target::kyverno::InProcessKyverno;
use crate::target::psa::InProcessPsa;
use crate::target::{AdmissionRequest, Inexpressible, Outcome, Target, TargetError};

/// The target of each profile.
pub struct Targets {
    targets: Vec<(Profile, Box<dyn Target>)>,
    /// Kyverno lines answered in-process, each case with its own policies.
    kyverno: Vec<KyvernoLine>,
    /// The policies of cases that name none.
    policies: DefaultPolicies,
}

/// The target answering one case's scenarios: a shared one, or Kyverno with the case's
/// policies.
pub enum CaseTarget<'a> {
    Shared(&'a dyn Target),
    Kyverno(InProcessKyverno),
    Psa(InProcessPsa),
}

impl CaseTarget<'_> {
    pub fn get(&self) -> &dyn Target {
        match self {
            CaseTarget::Shared(t) => *t,
            CaseTarget::Kyverno(k) => k,
            CaseTarget::Psa(p) => p,
        }
    }
}

impl Targets {
    /// In-process targets for the profiles: PSA, and Kyverno with each case's policies
    /// (cases naming none use [`Targets::with_policies`]).
    pub fn in_process(profiles: &[Profile]) -> Result<Targets, String> {
        let mut targets: Vec<(Profile, Box<dyn Target>)> = Vec::new();
        let mut kyverno = Vec::new();
        for p in profiles {
            match p {
                Profile::Psa => targets.push((p.clone(), Box::new(InProcessPsa::default()))),
                Profile::Kyverno { line } => kyverno.push(*line),
                // A profile file describes a live engine: the run gives it one (`with`).
                Profile::File(_) => {}
            }
        }
        Ok(Targets {
            targets,
            kyverno,
            policies: DefaultPolicies::default(),
        })
    }

    /// The Kyverno policies of cases that name none (`--policy`, bundled per level).
    pub fn with_policies(mut self, policies: DefaultPolicies) -> Self {
        self.policies = policies;
        self
    }

    /// Use a given target for a profile (e.g. a webhook or a cluster).
    pub fn with(mut self, profile: Profile, target: Box<dyn Target>) -> Self {
        self.targets.retain(|(p, _)| *p != profile);
        if let Some(line) = profile.kyverno_line() {
            self.kyverno.retain(|l| *l != line);
        }
        self.targets.push((profile, target));
        self
    }

    /// The target answering `case` for `profile`.
    pub fn for_case(&self, profile: &Profile, case: &Case) -> Result<CaseTarget<'_>, TargetError> {
        if let Some(shared) = self.get(profile) {
            if case.policies.is_some()
                && profile.kyverno_line().is_some()
                && shared.fixed_policies()
            {
                return Err(TargetError::not_applicable(
                    Inexpressible::EngineConfiguration,
                    "the case brings its own Kyverno policies; a live engine runs the ones \
                     installed in it",
                ));
            }
            return Ok(CaseTarget::Shared(shared));
        }
        match profile.kyverno_line().filter(|l| self.kyverno.contains(l)) {
            Some(line) => {
                let policies = self.policies.for_case(case).map_err(TargetError::Failed)?;
                Ok(CaseTarget::Kyverno(InProcessKyverno::new(line, policies)))
            }
            None => Err(TargetError::Failed(format!(
                "no target for profile {profile}"
            ))),
        }
    }

    /// The in-process engine for `case` under `profile`, whatever target the run uses:
    /// the reference a live target's partial goldens are compared with. For a PSA server
    /// of an older minor, PSA as that server runs it (its `latest` is its own minor).
    pub fn reference_for_case(
        &self,
        profile: &Profile,
        case: &Case,
        server_minor: Option<u32>,
    ) -> Result<CaseTarget<'_>, TargetError> {
        match profile {
            Profile::Psa => Ok(CaseTarget::Psa(match server_minor {
                Some(minor) => InProcessPsa::emulating(minor),
                None => InProcessPsa::default(),
            })),
            Profile::Kyverno { line } => {
                let policies = self.policies.for_case(case).map_err(TargetError::Failed)?;
                Ok(CaseTarget::Kyverno(InProcessKyverno::new(*line, policies)))
            }
            Profile::File(_) => Err(TargetError::Failed(format!(
                "the harness has no in-process engine for profile {profile} (a profile file)"
            ))),
        }
    }

    pub fn get(&self, profile: &Profile) -> Option<&dyn Target> {
        self.targets
            .iter()
            .find(|(p, _)| p == profile)
            .map(|(_, t)| t.as_ref())
    }

    pub fn profiles(&self) -> Vec<Profile> {
        let shared = self.targets.iter().map(|(p, _)| p.clone());
        shared
            .chain(self.kyverno.iter().map(|&line| Profile::Kyverno { line }))
            .collect()
    }
}

/// The case's object as `kind` (wrapping a pod into a controller when needed).
pub fn object_for(case: &Case, kind: Kind) -> Result<Workload, TargetError> {
    manifest::as_kind(&case.object, kind).ok_or_else(|| {
        TargetError::Failed(format!(
            "a {} cannot be expanded into a {kind}",
            case.object.kind()
        ))
    })
}

/// Send one scenario's request to a target.
pub fn admit(
    target: &dyn Target,
    case: &Case,
    version: Version,
    object: &Workload,
) -> Result<Outcome, TargetError> {
    let labels = case.namespace_labels(version);
    let namespace_request = case.namespace_request_at(version);
    let request = AdmissionRequest {
        object,
        old_object: case.old.as_ref(),
        operation: case.operation,
        subresource: case.subresource.as_deref(),
        user: case.user.as_deref(),
        namespace: &case.namespace.name,
        namespace_labels: &labels,
        defaulting: if case.raw {
            Defaulting::NONE
        } else {
            Defaulting::API_SERVER
        },
        admission_config: case.admission_config.as_deref().map(|c| &c.config),
        namespace_request: namespace_request.as_ref(),
    };
    target.admit(&request)
}

/// A profile file's engine speaks its own words: its reasons are read as the file says
/// (other profiles' targets already read them).
pub fn read_profile_reasons(profile: &Profile, outcome: &mut Outcome) {
    if let Some(file) = profile.file() {
        outcome.violations = file.read_reasons(outcome).unwrap_or_default();
    }
}

/// A case's golden body for a profile, from one target.
#[derive(Debug, Clone)]
pub struct GoldenBody {
    /// The rendered snapshot body of the scenarios the target expressed.
    pub text: String,
    pub entries: Vec<Entry>,
    /// The scenarios the target cannot express, with the reason.
    pub omitted: Vec<((Kind, Version), (Inexpressible, String))>,
    /// The target could not see audit annotations (an API server), so the body lacks
    /// the `audit` lines a snapshot of an admission case has.
    pub audit_unobserved: bool,
}

impl GoldenBody {
    /// Whether the body holds every scenario with everything a snapshot pins.
    pub fn is_complete(&self) -> bool {
        self.omitted.is_empty() && !self.audit_unobserved
    }
}

impl GoldenBody {
    /// `Pod@v1.37 (reason); ...`, at most five, then a count.
    pub fn omitted_summary(&self) -> String {
        let mut parts: Vec<String> = self
            .omitted
            .iter()
            .take(5)
            .map(|((k, v), (_, why))| format!("{k}@{v} ({why})"))
            .collect();
        if self.omitted.len() > 5 {
            parts.push(format!("and {} more", self.omitted.len() - 5));
        }
        parts.join("; ")
    }
}

/// The golden lines of one outcome of a case.
fn golden_lines(case: &Case, outcome: &Outcome) -> Vec<String> {
    match case.control {
        Control::Admission => golden::admission_lines(outcome),
        _ => golden::outcome_lines(outcome),
    }
}

/// The golden body of a case for a profile: every kind and version the profile runs, but
/// those the target cannot express (listed in `omitted`).
pub fn golden_body(
    target: &dyn Target,
    case: &Case,
    profile: &Profile,
) -> Result<GoldenBody, TargetError> {
    let versions = profile.versions(case);
    let kinds = profile.kinds(case);
    let mut entries = Vec::with_capacity(kinds.len() * versions.len());
    let mut omitted = Vec::new();
    let mut audit_unobserved = false;
    for kind in kinds {
        let object = object_for(case, kind)?;
        for &version in &versions {
            let outcome = version_applies(target, case, version)
                .and_then(|()| admit(target, case, version, &object));
            match outcome {
                Ok(outcome) => {
                    audit_unobserved |= outcome.audit_unobserved;
                    entries.push(Entry {
                        kind,
                        version,
                        lines: golden_lines(case, &outcome),
                    });
                }
                Err(TargetError::NotApplicable { why, detail }) => {
                    omitted.push(((kind, version), (why, detail)));
                }
                Err(e) => return Err(e),
            }
        }
    }
    let text = match entries.is_empty() {
        true => String::new(),
        false => golden::render(case, &entries),
    };
    Ok(GoldenBody {
        text,
        entries,
        omitted,
        audit_unobserved: audit_unobserved && case.control == Control::Admission,
    })
}

/// One unit of work.
#[derive(Debug, Clone)]
pub enum Item {
    Scenario(Scenario),
    Golden { case: Arc<Case>, profile: Profile },
}

impl Item {
    /// The trial name used for sharding and reports: `[psa] <scenario id>` or the golden id.
    pub fn name(&self) -> String {
        match self {
            Item::Scenario(s) => s.full_name(),
            Item::Golden { case, profile } => scenario::golden_id(&case.id, profile),
        }
    }
}

/// The trials of a suite for the profiles, narrowed by the filter (and its shard).
/// Golden trials cover whole cases: they are left out when the filter narrows versions or
/// kinds, or when `with_goldens` is false. Only cases expected to be denied, and admission
/// cases, have goldens ([`Case::has_golden`]).
pub fn select(
    suite: &Suite,
    profiles: &[Profile],
    filter: &Filter,
    with_goldens: bool,
) -> Vec<Item> {
    let mut items = Vec::new();
    for case in suite.cases.iter().filter(|c| filter.case_matches(c)) {
        for profile in profiles {
            for s in scenario::expand(case, profile).filter(|s| filter.scenario_matches(s)) {
                let item = Item::Scenario(s);
                if filter.in_shard(&item.name()) {
                    items.push(item);
                }
            }
            if with_goldens && case.has_golden(profile) && !filter.narrows_scenarios() {
                let item = Item::Golden {
                    case: Arc::clone(case),
                    profile: profile.clone(),
                };
                if filter.in_shard(&item.name()) {
                    items.push(item);
                }
            }
        }
    }
    items
}

/// How `run` treats golden snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GoldenMode {
    /// Compare; a missing or different snapshot fails.
    #[default]
    Check,
    /// Compare; write `<name>.snap.new` for review when missing or different (still fails).
    New,
    /// Write the snapshot when missing or different (passes).
    Accept,
    /// Write the snapshots of an engine whose messages are not pinned yet (a profile
    /// file's), as `accept` does, and say which were written: they are for review.
    Record,
}

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub jobs: usize,
    pub golden_dir: PathBuf,
    pub golden_mode: GoldenMode,
    /// Ticked once per finished item (live runs show it; hidden when not a terminal).
    pub progress: Option<indicatif::ProgressBar>,
}

/// The result of one trial.
#[derive(Debug, Clone, Serialize)]
pub struct TrialResult {
    /// The scenario id or golden id (without the profile prefix).
    pub id: String,
    pub profile: String,
    pub case: String,
    #[serde(serialize_with = "ser_kind")]
    pub kind: Option<Kind>,
    #[serde(serialize_with = "ser_version")]
    pub version: Option<Version>,
    #[serde(flatten)]
    pub status: TrialStatus,
    /// The message the scenario produced (refusal or policy warning), if any.
    pub message: Option<String>,
}

/// How a golden trial under `--goldens record` reports the snapshot it wrote.
const RECORDED: &str = "recorded ";

impl TrialResult {
    /// The snapshot this golden trial wrote under `--goldens record`, if it wrote one.
    pub fn recorded_golden(&self) -> Option<&str> {
        self.message.as_deref()?.strip_prefix(RECORDED)
    }
}

fn ser_kind<S: serde::Serializer>(k: &Option<Kind>, s: S) -> Result<S::Ok, S::Error> {
    match k {
        Some(k) => s.serialize_str(k.as_str()),
        None => s.serialize_none(),
    }
}

fn ser_version<S: serde::Serializer>(v: &Option<Version>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_str(&v.to_string()),
        None => s.serialize_none(),
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TrialStatus {
    Passed,
    /// Passed, by an expectation that records a known divergence from upstream PSA.
    KnownDivergence {
        divergence: String,
    },
    Failed {
        problems: Vec<Problem>,
    },
    Skipped {
        reason: String,
    },
    /// The target cannot express the scenario (a cluster whose validation rejects the
    /// object before admission, a server older than the version, ...): neither a pass
    /// nor a failure, reported with the reason.
    NotApplicable {
        why: Inexpressible,
        reason: String,
    },
}

impl TrialResult {
    pub fn name(&self) -> String {
        match self.kind {
            Some(_) => format!("[{}] {}", self.profile, self.id),
            None => self.id.clone(),
        }
    }
}

/// Run one scenario against its profile's target and judge it.
pub fn run_scenario(targets: &Targets, s: &Scenario, object: Option<&Workload>) -> TrialResult {
    let mut result = TrialResult {
        id: s.id(),
        profile: s.profile.name(),
        case: s.case.id.clone(),
        kind: Some(s.kind),
        version: Some(s.version),
        status: TrialStatus::Passed,
        message: None,
    };
    let expect = match s.case.expectation_for(&s.profile, s.kind) {
        Ok(e) => e,
        Err(reason) => {
            result.status = TrialStatus::Skipped {
                reason: reason.to_owned(),
            };
            return result;
        }
    };
    let judged = targets
        .for_case(&s.profile, &s.case)
        .and_then(|target| judge_scenario(target.get(), s, expect, object, &mut result));
    result.status = match judged {
        Err(TargetError::NotApplicable { why, detail }) => TrialStatus::NotApplicable {
            why,
            reason: detail,
        },
        Err(TargetError::Failed(error)) => TrialStatus::Failed {
            problems: vec![Problem::Target { error }],
        },
        Ok(problems) if !problems.is_empty() => TrialStatus::Failed { problems },
        Ok(_) => match &expect.divergence {
            Some(why) => TrialStatus::KnownDivergence {
                divergence: why.clone(),
            },
            None => TrialStatus::Passed,
        },
    };
    result
}

/// Whether `target` can judge `case` at `version`: a server older than this harness
/// cannot run a version newer than its own, and its `latest` is its own minor, which the
/// case must cover (its expectation is the case's at that minor). A server newer than the
/// newest known version is judged at the newest known one.
pub fn version_applies(
    target: &dyn Target,
    case: &Case,
    version: Version,
) -> Result<(), TargetError> {
    let Some(server) = target.server_minor() else {
        return Ok(());
    };
    match version {
        Version::V1(minor) if minor > u64::from(server) => Err(TargetError::not_applicable(
            Inexpressible::NewerThanServer,
            format!("the scenario is pinned at {version}, newer than the server (v1.{server})"),
        )),
        Version::Latest
            if server < pss::version::NEWEST_MINOR
                && !case.versions.contains(&Version::V1(u64::from(server))) =>
        {
            Err(TargetError::not_applicable(
                Inexpressible::NewerThanServer,
                format!("latest is v1.{server} on this server, a version the case does not cover"),
            ))
        }
        _ => Ok(()),
    }
}

/// The target's outcome for the scenario's object (`object`, or the one the case names
/// for the scenario's kind), its reasons read as `profile` says.
pub fn outcome(
    target: &dyn Target,
    s: &Scenario,
    profile: &Profile,
    object: Option<&Workload>,
) -> Result<Outcome, TargetError> {
    version_applies(target, &s.case, s.version)?;
    let mut outcome = match object {
        Some(o) => admit(target, &s.case, s.version, o),
        None => object_for(&s.case, s.kind).and_then(|o| admit(target, &s.case, s.version, &o)),
    }?;
    read_profile_reasons(profile, &mut outcome);
    Ok(outcome)
}

/// Admit the scenario's object and judge the outcome; for Kyverno also which rules failed
/// (a controller against its pod's failing rules and checks).
fn judge_scenario(
    target: &dyn Target,
    s: &Scenario,
    expect: &Expectation,
    object: Option<&Workload>,
    result: &mut TrialResult,
) -> Result<Vec<Problem>, TargetError> {
    let outcome = outcome(target, s, &s.profile, object)?;
    result.message = judge::subject_message(&outcome).map(str::to_owned);
    let mut problems = judge::judge(s, expect, &outcome);
    if problems.is_empty() && s.profile.denies_controllers() {
        let pod = match judge::needs_pod_rules(s, expect) {
            true => Some(admit(target, &s.case, s.version, &s.case.object)?),
            false => None,
        };
        problems.extend(judge::kyverno_rules(s, expect, &outcome, pod.as_ref()));
    }
    Ok(problems)
}

/// Compare (and per `mode`, write) a case's golden snapshot. When the target cannot
/// express some of the case's scenarios (a cluster), the snapshot cannot be compared as a
/// whole: the target's messages for the scenarios it can express are compared with the
/// in-process engine's for the same scenarios (which the full snapshot pins), and the
/// result says how many were left out.
pub fn run_golden(
    targets: &Targets,
    case: &Case,
    profile: &Profile,
    opts: &RunOptions,
) -> TrialResult {
    let mut result = TrialResult {
        id: scenario::golden_id(&case.id, profile),
        profile: profile.name(),
        case: case.id.clone(),
        kind: None,
        version: None,
        status: TrialStatus::Passed,
        message: None,
    };
    let mut server_minor = None;
    let body = targets.for_case(profile, case).and_then(|t| {
        server_minor = t.get().server_minor();
        golden_body(t.get(), case, profile)
    });
    let problem = match body {
        // Without an in-process reference (a profile file), the engine's own texts for
        // the scenarios it can express are the snapshot.
        Ok(body) if body.is_complete() || (!profile.has_reference() && !body.text.is_empty()) => {
            let (problem, recorded) = compare_golden(case, profile, &body.text, opts);
            if let Some(path) = recorded {
                result.message = Some(format!("{RECORDED}{path}"));
            }
            problem
        }
        Ok(body) if body.text.is_empty() => {
            let (why, detail) = body.omitted[0].1.clone();
            result.status = TrialStatus::NotApplicable {
                why,
                reason: detail,
            };
            return result;
        }
        Ok(body) => {
            let mut note = format!(
                "compared {} of {} scenarios with the in-process engine",
                body.entries.len(),
                body.entries.len() + body.omitted.len()
            );
            if !body.omitted.is_empty() {
                note.push_str(&format!("; left out: {}", body.omitted_summary()));
            }
            if body.audit_unobserved {
                note.push_str("; audit annotations not observable");
            }
            result.message = Some(note);
            compare_partial(targets, case, profile, &body, server_minor)
        }
        Err(TargetError::NotApplicable { why, detail }) => {
            result.status = TrialStatus::NotApplicable {
                why,
                reason: detail,
            };
            return result;
        }
        Err(e) => Some(Problem::Target {
            error: e.to_string(),
        }),
    };
    if let Some(p) = problem {
        result.status = TrialStatus::Failed { problems: vec![p] };
    }
    result
}

/// A partial golden body against the in-process engine's over the same scenarios.
fn compare_partial(
    targets: &Targets,
    case: &Case,
    profile: &Profile,
    body: &GoldenBody,
    server_minor: Option<u32>,
) -> Option<Problem> {
    let reference = match targets.reference_for_case(profile, case, server_minor) {
        Ok(r) => r,
        Err(e) => {
            return Some(Problem::Target {
                error: e.to_string(),
            });
        }
    };
    let mut entries = Vec::with_capacity(body.entries.len());
    for (kind, version) in body.entries.iter().map(|e| (e.kind, e.version)) {
        let outcome = object_for(case, kind)
            .and_then(|o| admit(reference.get(), case, version, &o))
            .map(|mut o| {
                if body.audit_unobserved {
                    o.audit_annotations.clear();
                }
                golden_lines(case, &o)
            });
        match outcome {
            Ok(lines) => entries.push(Entry {
                kind,
                version,
                lines,
            }),
            Err(e) => {
                return Some(Problem::Target {
                    error: format!("in-process reference: {e}"),
                });
            }
        }
    }
    let expected = golden::render(case, &entries);
    (!golden::same_body(&expected, &body.text)).then(|| Problem::Golden {
        path: format!("(in-process {profile} messages for the same scenarios)"),
        expected: Some(expected),
        actual: body.text.clone(),
    })
}

/// Compare a golden body with the stored snapshot (and per the mode, write it); the
/// problem, and the path when `record` wrote it.
fn compare_golden(
    case: &Case,
    profile: &Profile,
    body: &str,
    opts: &RunOptions,
) -> (Option<Problem>, Option<String>) {
    let path = golden::snapshot_path(&opts.golden_dir, profile, case);
    let stored = golden::read_snapshot(&path);
    if stored
        .as_deref()
        .is_some_and(|s| golden::same_body(s, body))
    {
        return (None, None);
    }
    let shown = path.display().to_string();
    let problem = Problem::Golden {
        path: shown.clone(),
        expected: stored,
        actual: body.to_owned(),
    };
    let written = match opts.golden_mode {
        GoldenMode::Check => return (Some(problem), None),
        GoldenMode::New => golden::write_snapshot(&path, case, body, true),
        GoldenMode::Accept | GoldenMode::Record => golden::write_snapshot(&path, case, body, false),
    };
    match (written, opts.golden_mode) {
        (Err(e), _) => (
            Some(Problem::Target {
                error: format!("cannot write {shown}: {e}"),
            }),
            None,
        ),
        (Ok(_), GoldenMode::Accept) => (None, None),
        (Ok(_), GoldenMode::Record) => (None, Some(shown)),
        (Ok(_), _) => (Some(problem), None),
    }
}

/// Run every item on `opts.jobs` threads; results come back in item order.
pub fn run_items(items: &[Item], targets: &Targets, opts: &RunOptions) -> Vec<TrialResult> {
    let jobs = opts.jobs.max(1);
    let chunk = items.len().div_ceil(jobs).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || run_chunk(part, targets, opts)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

fn run_chunk(items: &[Item], targets: &Targets, opts: &RunOptions) -> Vec<TrialResult> {
    let mut cache: Option<(Arc<Case>, Kind, Workload)> = None;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Item::Scenario(s) => {
                let fresh = cache
                    .as_ref()
                    .is_none_or(|(c, k, _)| !Arc::ptr_eq(c, &s.case) || *k != s.kind);
                if fresh {
                    cache = object_for(&s.case, s.kind)
                        .ok()
                        .map(|o| (Arc::clone(&s.case), s.kind, o));
                }
                let object = cache.as_ref().map(|(_, _, o)| o);
                out.push(guarded(item, || run_scenario(targets, s, object)));
            }
            Item::Golden { case, profile } => {
                out.push(guarded(item, || run_golden(targets, case, profile, opts)));
            }
        }
        if let Some(progress) = &opts.progress {
            progress.inc(1);
        }
    }
    out
}

/// Run one trial, turning a panic (a bug in a target or check) into a failed trial, so no
/// result is ever lost from the report.
fn guarded(item: &Item, f: impl FnOnce() -> TrialResult) -> TrialResult {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let text = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        let (case, profile, kind, version) = match item {
            Item::Scenario(s) => (
                s.case.id.clone(),
                s.profile.name(),
                Some(s.kind),
                Some(s.version),
            ),
            Item::Golden { case, profile } => (case.id.clone(), profile.name(), None, None),
        };
        let id = match item {
            Item::Scenario(s) => s.id(),
            Item::Golden { .. } => item.name(),
        };
        TrialResult {
            id,
            profile,
            case,
            kind,
            version,
            status: TrialStatus::Failed {
                problems: vec![Problem::Target {
                    error: format!("panicked: {text}"),
                }],
            },
            message: None,
        }
    })
}

/// Counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Passed as a known divergence (not counted in `passed`; left out of JSON when 0).
    #[serde(skip_serializing_if = "is_zero")]
    pub diverged: usize,
    /// Scenarios the target cannot express (left out of JSON when 0).
    #[serde(skip_serializing_if = "is_zero")]
    pub not_applicable: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Summary {
    pub fn of(results: &[TrialResult]) -> Summary {
        let mut s = Summary::default();
        for r in results {
            match r.status {
                TrialStatus::Passed => s.passed += 1,
                TrialStatus::Failed { .. } => s.failed += 1,
                TrialStatus::Skipped { .. } => s.skipped += 1,
                TrialStatus::KnownDivergence { .. } => s.diverged += 1,
                TrialStatus::NotApplicable { .. } => s.not_applicable += 1,
            }
        }
        s
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )?;
        if self.diverged > 0 {
            write!(f, ", {} known divergences", self.diverged)?;
        }
        if self.not_applicable > 0 {
            write!(f, ", {} not applicable", self.not_applicable)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loader;
    use crate::target::AdmissionRequest;
    use std::path::Path;

    fn suite() -> Suite {
        let text = "control: privileged
cases:
- name: denied
  versions: [v1.0, latest]
  pod: {containers: [{name: c, securityContext: {privileged: true}}]}
  expect: {allowed: false, reasons: [privileged]}
- name: allowed
  versions: latest
  pod: {containers: [{name: c}]}
  expect: {allowed: true}
";
        let cases = loader::load_str(Path::new("t.yaml"), text, "baseline/t").unwrap();
        Suite {
            cases: cases.into_iter().map(Arc::new).collect(),
        }
    }

    fn opts(dir: &Path) -> RunOptions {
        RunOptions {
            jobs: 2,
            golden_dir: dir.to_path_buf(),
            golden_mode: GoldenMode::Check,
            progress: None,
        }
    }

    #[test]
    fn selection_expands_kinds_and_adds_goldens_for_denied_cases() {
        let s = suite();
        let items = select(&s, &[Profile::Psa], &Filter::default(), true);
        let names: Vec<String> = items.iter().map(Item::name).collect();
        assert_eq!(names.len(), 2 * 9 + 1 + 1);
        assert!(names.contains(&"[psa] baseline/t/denied@v1.0/CronJob".to_owned()));
        assert!(names.contains(&"baseline/t/denied/golden/psa".to_owned()));
        let narrowed = Filter {
            kinds: vec![Kind::Pod],
            ..Filter::default()
        };
        let items = select(&s, &[Profile::Psa], &narrowed, true);
        assert_eq!(
            items.len(),
            3,
            "goldens are left out when kinds are narrowed"
        );
    }

    #[test]
    fn run_judges_every_item_in_order_and_accepts_goldens() {
        let s = suite();
        let dir = tempfile::tempdir().unwrap();
        let targets = Targets::in_process(&[Profile::Psa]).unwrap();
        let items = select(&s, &[Profile::Psa], &Filter::default(), true);
        let results = run_items(&items, &targets, &opts(dir.path()));
        assert_eq!(results.len(), items.len());
        assert_eq!(
            Summary::of(&results),
            Summary {
                passed: 19,
                failed: 1,
                skipped: 0,
                diverged: 0,
                not_applicable: 0,
            }
        );
        let accept = RunOptions {
            golden_mode: GoldenMode::Accept,
            ..opts(dir.path())
        };
        let results = run_items(&items, &targets, &accept);
        assert_eq!(Summary::of(&results).failed, 0);
        assert!(dir.path().join("psa/baseline/t/denied.snap").is_file());
    }

    struct Panicking;

    impl Target for Panicking {
        fn describe(&self) -> String {
            "panics".into()
        }

        fn admit(&self, _: &AdmissionRequest<'_>) -> Result<Outcome, TargetError> {
            panic!("boom")
        }
    }

    #[test]
    fn a_panicking_target_fails_its_trials_without_losing_results() {
        let s = suite();
        let dir = tempfile::tempdir().unwrap();
        let targets = Targets::in_process(&[Profile::Psa])
            .unwrap()
            .with(Profile::Psa, Box::new(Panicking));
        let items = select(&s, &[Profile::Psa], &Filter::default(), true);
        let results = run_items(&items, &targets, &opts(dir.path()));
        assert_eq!(Summary::of(&results).failed, items.len());
        let TrialStatus::Failed { problems } = &results[0].status else {
            panic!("not failed")
        };
        assert_eq!(problems[0].to_string(), "target error: panicked: boom");
    }

    #[test]
    fn kyverno_targets_need_a_policy_for_the_case() {
        let k: Profile = "kyverno@v1.12".parse().unwrap();
        let targets = Targets::in_process(&[Profile::Psa, k.clone()]).unwrap();
        assert_eq!(targets.profiles(), [Profile::Psa, k.clone()]);
        let s = suite();
        let err = targets.for_case(&k, &s.cases[0]).err().unwrap();
        assert!(
            err.message()
                .starts_with("no Kyverno policy for case baseline/t/denied"),
            "{err}"
        );
        let with_none = targets.with_policies(DefaultPolicies {
            explicit: Some(Arc::new(crate::policy::PolicySet::empty())),
            by_level: Vec::new(),
        });
        let target = with_none.for_case(&k, &s.cases[0]).unwrap();
        assert!(
            target
                .get()
                .describe()
                .starts_with("in-process kyverno@v1.12")
        );
    }
}
