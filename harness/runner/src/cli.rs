//! The `pss-harness` command line. Exit codes: 0 all passed, 1 a trial failed (or an object
//! is denied), 2 usage or input error. Input errors are rendered with miette, with the
//! source snippet.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use kyverno::KyvernoLine;
use pss::{Kind, Level, LevelVersion, Version};

use crate::check_admission::{self, AdmissionCheck};
use crate::control::Control;
use crate::error::Error;
use crate::harness::Layout;
use crate::loader::{self, Suite};
use crate::policy::{DefaultPolicies, PolicySet};
use crate::profile::Profile;
use crate::run::{self, GoldenMode, RunOptions, Summary, Targets};
use crate::scenario::{Filter, NameMatcher, Shard};
use crate::serve::{Engine, Server, Tls};
use crate::target::webhook::{Flavour, WebhookOptions, WebhookTarget};
use crate::{check, check_kyverno, coverage, psa_config, report, upstream, versions};

#[derive(Debug, Parser)]
#[command(
    name = "pss-harness",
    version,
    about = "Pod Security policy test harness: run YAML cases, check manifests, measure coverage"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant, reason = "parsed once per process")]
pub enum Command {
    /// Run cases (default: the bundled cases/ directory) and compare goldens.
    Run(RunArgs),
    /// Evaluate the objects of YAML/JSON files (`-` = stdin) at one policy, or through the
    /// admission model (namespace labels, exemptions) with the admission flags.
    Check(CheckArgs),
    /// Show which controls, versions and kinds the cases cover.
    Coverage(CoverageArgs),
    /// Run an upstream PSA fixture tree (<level>/<version>/<pass|fail>/*.yaml).
    Upstream(UpstreamArgs),
    /// Serve a profile's engine as an HTTPS validating admission webhook (AdmissionReview
    /// v1 at /validate); prints the endpoint URL on stdout.
    Serve(ServeArgs),
    /// Write near-miss cases (one field of a minimal valid pod changed, per check, level
    /// and version range) with the in-process evaluator's expectations into DIR, for
    /// `run --generated DIR`.
    Generate(GenerateArgs),
    /// Remove what earlier cluster runs left (namespaces, RuntimeClasses and webhook
    /// configurations labelled as the harness's).
    Clean(crate::cli_cluster::CleanArgs),
    /// Start a local control plane (etcd + kube-apiserver on loopback), write its
    /// kubeconfig, and serve until SIGINT/SIGTERM.
    ControlPlane(crate::cli_cluster::ControlPlaneArgs),
    /// Certify one engine: run the suite against it and write report.md, report.json,
    /// report.xml, report.html and badge.svg into --out DIR (exit 0 when every decision
    /// conforms).
    Certify(crate::certify::CertifyArgs),
    /// Send every scenario to two engines (--target A --target B, or --profile P
    /// --profile Q) and list each one where the decision, the reasons or the message
    /// differ, by control and version (exit 1 when one does).
    Diff(crate::cli_diff::DiffArgs),
}

/// Where the cases are.
#[derive(Debug, Args)]
pub struct CaseSource {
    /// Case files or directories (default: the bundled cases directory).
    pub paths: Vec<PathBuf>,
    /// The cases directory (case ids are relative to it; goldens default to ../golden).
    #[arg(long)]
    pub cases: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub source: CaseSource,
    /// Run the cases `pss-harness generate DIR` wrote (instead of the bundled ones), with
    /// goldens skipped: their expectations pin the details.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["paths", "cases", "golden"])]
    pub generated: Option<PathBuf>,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Profiles to run (repeatable): psa, kyverno@v1.10, kyverno@v1.12, kyverno@v1.19, a
    /// Kyverno release such as kyverno@1.16.2 (mapped to its line), or a profile file
    /// (a path; see docs/certify.md) describing another engine.
    #[arg(long, value_parser = parse_profile, default_value = "psa")]
    pub profile: Vec<Profile>,
    #[arg(long, value_enum, default_value_t = RunFormat::Human)]
    pub format: RunFormat,
    /// Write the report to this file instead of stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Worker threads (default: available parallelism; four per core with a webhook).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// The golden directory (default: next to the cases directory).
    #[arg(long)]
    pub golden: Option<PathBuf>,
    /// Goldens: check (fail on difference), new (also write .snap.new for `cargo insta
    /// review`), accept (overwrite), record (write a new engine's snapshots for review,
    /// listing them), skip.
    #[arg(long, value_enum, default_value_t = GoldenArg::Check)]
    pub goldens: GoldenArg,
    /// Kyverno policy files (each may hold several policies) for cases that name none;
    /// default: the bundled `<cases>/policies/<level>-policy.yaml`.
    #[arg(long = "policy", value_name = "FILE", num_args = 1..)]
    pub policy: Vec<PathBuf>,
    /// After the summary, print the coverage matrix of the loaded cases (to stderr when the
    /// report goes to a file or is not human); a baseline control without an allowed and a
    /// denied case then fails the run.
    #[arg(long)]
    pub coverage: bool,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// Which cases and scenarios run.
#[derive(Debug, Clone, Args)]
pub struct FilterArgs {
    /// Only cases about this control (repeatable).
    #[arg(long, value_parser = parse_control)]
    pub control: Vec<Control>,
    /// Only cases at this level (repeatable).
    #[arg(long, value_parser = parse_level)]
    pub level: Vec<Level>,
    /// Only these versions: `v1.37`, `latest`, `>=v1.30`, `v1.19..v1.26`, ... (repeatable).
    #[arg(long)]
    pub version: Vec<String>,
    /// Only cases whose id contains this, or matches this glob (repeatable).
    #[arg(long)]
    pub name: Vec<String>,
    /// Only scenarios of this kind (repeatable).
    #[arg(long, value_parser = parse_kind)]
    pub kind: Vec<Kind>,
    /// Run one part of a stable partition, `I/N` (1-based), for CI matrices.
    #[arg(long, value_parser = Shard::parse)]
    pub shard: Option<Shard>,
}

/// Where scenarios are sent.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// in-process: the profile's own engine; webhook: a live admission webhook
    /// (AdmissionReview v1 over HTTPS at --webhook-url); cluster: a live API server
    /// (server-side dry runs, see --cluster). Live targets are judged by the profile's
    /// expectations and goldens (one profile per run).
    #[arg(long = "target", id = "target", value_enum, default_value_t = TargetKind::InProcess)]
    pub target_kind: TargetKind,
    #[command(flatten)]
    pub webhook: WebhookArgs,
    #[command(flatten)]
    pub cluster: crate::cli_cluster::ClusterArgs,
}

/// How to reach `--target webhook`, as the API server would.
#[derive(Debug, Clone, Args)]
pub struct WebhookArgs {
    /// The webhook endpoint, e.g. https://127.0.0.1:8443/validate.
    #[arg(long, value_name = "URL")]
    pub webhook_url: Option<String>,
    /// A PEM CA bundle to trust for the webhook (instead of the platform roots).
    #[arg(long, value_name = "FILE", conflicts_with = "insecure_skip_tls_verify")]
    pub ca_cert: Option<PathBuf>,
    /// Do not verify the webhook's certificate (testing only).
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,
    /// A client certificate (PEM) to present to a webhook that asks for one (mTLS), as an
    /// API server configured with an admission kubeconfig does.
    #[arg(long, value_name = "FILE", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// The client certificate's key (PEM).
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// Seconds to wait for each webhook answer: the API server's webhook timeout (default
    /// 10, at most 30).
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub webhook_timeout: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetKind {
    InProcess,
    Webhook,
    Cluster,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The engine answering: psa, or kyverno@<line> (needs --policy).
    #[arg(long, value_parser = parse_profile, default_value = "psa")]
    pub profile: Profile,
    /// Kyverno policy files the webhook has installed.
    #[arg(long = "policy", value_name = "FILE", num_args = 1..)]
    pub policy: Vec<PathBuf>,
    /// PSA: the webhook's PodSecurityConfiguration or AdmissionConfiguration file.
    #[arg(long)]
    pub admission_config: Option<PathBuf>,
    /// Address to listen on (port 0: any free port; the URL printed has the real one).
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: std::net::SocketAddr,
    /// The server certificate chain (PEM); default: a fresh self-signed CA and certificate
    /// for 127.0.0.1 and localhost.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// The server key (PEM).
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Self-signed mode: write the CA certificate (PEM) here, for `run --ca-cert`.
    #[arg(long, value_name = "FILE", conflicts_with = "cert")]
    pub write_ca: Option<PathBuf>,
    /// Require a client certificate signed by a CA in this PEM bundle (mTLS, as an API
    /// server with an admission kubeconfig presents).
    #[arg(long, value_name = "FILE")]
    pub client_ca: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunFormat {
    Human,
    Json,
    Junit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GoldenArg {
    Check,
    New,
    Accept,
    Record,
    Skip,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// YAML or JSON files with one or more documents; `-` reads stdin.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[arg(long, value_parser = parse_level, default_value = "baseline")]
    pub level: Level,
    #[arg(long, value_parser = parse_version, default_value = "latest")]
    pub version: Version,
    /// Evaluate as written, without API-server defaulting.
    #[arg(long)]
    pub raw: bool,
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    pub format: CheckFormat,
    /// Admission mode: the namespace's labels, `k=v,...` (keys without `/` get the
    /// `pod-security.kubernetes.io/` prefix: `enforce=baseline,warn=restricted`).
    #[arg(long, value_parser = check_admission::parse_labels)]
    pub namespace_labels: Option<BTreeMap<String, String>>,
    /// Admission mode: a PodSecurityConfiguration or AdmissionConfiguration file
    /// (default policy and exemptions).
    #[arg(long)]
    pub admission_config: Option<PathBuf>,
    /// Admission mode: the requesting user (user exemptions).
    #[arg(long)]
    pub user: Option<String>,
    /// Admission mode: the namespace objects are sent to (default `default`).
    #[arg(long)]
    pub namespace: Option<String>,
    /// Evaluate with Kyverno at this line (`kyverno@v1.19`, or a release such as
    /// `kyverno@1.16.2`) instead of PSA; needs `--policy`.
    #[arg(long, value_parser = parse_profile)]
    pub profile: Option<Profile>,
    /// Kyverno policy files (each may hold several policies); without `--profile`, the
    /// newest line (`kyverno@v1.19`) evaluates them.
    #[arg(long = "policy", value_name = "FILE", num_args = 1..)]
    pub policy: Vec<PathBuf>,
}

impl CheckArgs {
    /// Whether any admission-mode flag is given.
    fn admission_flags(&self) -> bool {
        self.namespace_labels.is_some()
            || self.admission_config.is_some()
            || self.user.is_some()
            || self.namespace.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct CoverageArgs {
    #[command(flatten)]
    pub source: CaseSource,
    /// Also print the control x version view for this kind (e.g. `Pod`, `Deployment`).
    #[arg(long, value_name = "KIND", value_parser = parse_kind)]
    pub by_version: Option<Kind>,
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    pub format: CheckFormat,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The output directory (new, empty, or an earlier generation, which is replaced).
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct UpstreamArgs {
    /// The fixture tree, e.g. a checkout's test/testdata.
    pub dir: PathBuf,
}

fn parse_control(s: &str) -> Result<Control, String> {
    Control::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Control::ALL.iter().map(|c| c.as_str()).collect();
        format!("unknown control; expected one of {}", names.join(", "))
    })
}

fn parse_level(s: &str) -> Result<Level, String> {
    s.parse::<Level>().map_err(|e| e.to_string())
}

fn parse_version(s: &str) -> Result<Version, String> {
    s.parse::<Version>().map_err(|e| e.to_string())
}

fn parse_kind(s: &str) -> Result<Kind, String> {
    Kind::from_kind(s).ok_or_else(|| {
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown kind; expected one of {}", names.join(", "))
    })
}

/// A profile name, or a profile file (a path: it has a `/` or ends in `.yaml`, `.yml`).
pub fn parse_profile(s: &str) -> Result<Profile, String> {
    if s.contains('/') || s.ends_with(".yaml") || s.ends_with(".yml") {
        return crate::profile_file::ProfileFile::load(Path::new(s)).map(Profile::from_file);
    }
    s.parse::<Profile>().map_err(|e| e.to_string())
}

/// Parse the arguments and run; the process exit code.
pub fn main() -> ExitCode {
    // Long messages stay on one line, so `file:line:column: message` can be grepped.
    let _ = miette::set_hook(Box::new(|_| {
        Box::new(miette::MietteHandlerOpts::new().wrap_lines(false).build())
    }));
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run(args) => cmd_run(&args),
        Command::Check(args) => cmd_check(&args),
        Command::Coverage(args) => cmd_coverage(&args),
        Command::Upstream(args) => cmd_upstream(&args),
        Command::Serve(args) => cmd_serve(&args),
        Command::Generate(args) => cmd_generate(&args),
        Command::Clean(args) => crate::cli_cluster::cmd_clean(&args),
        Command::ControlPlane(args) => crate::cli_cluster::cmd_control_plane(&args),
        Command::Certify(args) => crate::certify::cmd_certify(&args),
        Command::Diff(args) => crate::cli_diff::cmd_diff(&args),
    };
    match code {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("{:?}", e.report());
            ExitCode::from(2)
        }
    }
}

/// The cases to load, the cases root (ids are relative to it) and the golden directory
/// (`golden/` next to the root). The root is `--cases`, else the discovered `cases/` when
/// every path lies inside it, else the first path's directory.
fn resolve_source(source: &CaseSource) -> Result<SourcePlan, Error> {
    let discovered = source
        .cases
        .clone()
        .or_else(|| Layout::discover().map(|l| l.cases));
    let paths = match (&source.paths[..], &discovered) {
        ([], Some(dir)) => vec![dir.clone()],
        ([], None) => {
            return Err(Error::Usage(
                "no cases given and no cases/ directory found; pass paths or --cases".into(),
            ));
        }
        (paths, _) => paths.to_vec(),
    };
    for p in &paths {
        if !p.exists() {
            return Err(Error::Usage(format!(
                "{}: no such file or directory",
                p.display()
            )));
        }
    }
    let root = match (&source.cases, discovered) {
        (Some(c), _) => Some(c.clone()),
        (None, Some(d)) if paths.iter().all(|p| loader::path_under(p, &d)) => Some(d),
        _ => paths.first().map(|p| {
            if p.is_dir() {
                p.clone()
            } else {
                p.parent().unwrap_or(Path::new(".")).to_path_buf()
            }
        }),
    };
    let golden = root
        .as_ref()
        .map(|r| r.parent().unwrap_or(Path::new(".")).join("golden"));
    Ok(SourcePlan {
        paths,
        root,
        golden,
    })
}

/// `run --generated DIR`: the generation is the cases root; goldens are skipped.
fn generated_source(dir: &Path, goldens: GoldenArg) -> Result<SourcePlan, Error> {
    crate::generate::check_generated(dir)?;
    if !matches!(goldens, GoldenArg::Check | GoldenArg::Skip) {
        return Err(Error::Usage(
            "generated cases have no goldens (their expectations pin the details)".into(),
        ));
    }
    Ok(SourcePlan {
        paths: vec![dir.to_path_buf()],
        root: Some(dir.to_path_buf()),
        golden: None,
    })
}

/// `generate DIR`: write the near-miss cases and say how many.
fn cmd_generate(args: &GenerateArgs) -> Result<u8, Error> {
    let summary = crate::generate::generate(&args.dir)?;
    emit(
        &format!("wrote {summary} to {}\n", args.dir.display()),
        None,
    )?;
    Ok(0)
}

/// What to load, and where ids and goldens are rooted.
struct SourcePlan {
    paths: Vec<PathBuf>,
    root: Option<PathBuf>,
    golden: Option<PathBuf>,
}

fn load_suite(source: &CaseSource) -> Result<(Suite, Option<PathBuf>), Error> {
    let plan = resolve_source(source)?;
    let suite = loader::load(&plan.paths, plan.root.as_deref())?;
    Ok((suite, plan.golden))
}

/// What running a suite gave: the results, and what a report says about the run.
pub struct Execution {
    pub suite: Suite,
    pub profiles: Vec<Profile>,
    pub items: Vec<run::Item>,
    pub results: Vec<run::TrialResult>,
    /// The targets (the in-process ones are the reference engines for reports).
    pub targets: Targets,
    /// What answered, when live: its description.
    pub target: Option<String>,
    /// A cluster's API server version and endpoint, when the target was one.
    pub server: Option<(String, String)>,
    /// A cluster run's cleanup: `Err` when something was left.
    pub cleanup: Option<Result<(), String>>,
    pub golden_dir: PathBuf,
    /// The cases directory ids are relative to.
    pub cases_root: Option<PathBuf>,
    pub policy_files: Vec<PathBuf>,
    pub elapsed: std::time::Duration,
}

/// Load the cases, start the target, run the selected trials and clean up.
pub fn execute(args: &RunArgs, golden_mode: GoldenMode) -> Result<Execution, Error> {
    let started = std::time::Instant::now();
    let plan = match &args.generated {
        Some(dir) => generated_source(dir, args.goldens)?,
        None => resolve_source(&args.source)?,
    };
    let suite = loader::load(&plan.paths, plan.root.as_deref())?;
    let default_golden = plan.golden.clone();
    let filter = run_filter(&args.filter)?;
    let profiles = args.profile.clone();
    if args.target.target_kind == TargetKind::InProcess
        && let Some(p) = profiles.iter().find(|p| !p.has_reference())
    {
        return Err(Error::Usage(format!(
            "profile {p} is a profile file describing a live engine: run it with --target \
             webhook or --target cluster"
        )));
    }
    let policy_files = served_policies(args, plan.root.as_deref())?;
    let policies = DefaultPolicies::for_run(&policy_files, plan.root.as_deref())?;
    let targets = Targets::in_process(&profiles)
        .map_err(Error::Usage)?
        .with_policies(policies);
    let golden_dir = args
        .golden
        .clone()
        .or(default_golden)
        .unwrap_or_else(|| PathBuf::from("golden"));
    let items = run::select(
        &suite,
        &profiles,
        &filter,
        args.goldens != GoldenArg::Skip && args.generated.is_none(),
    );
    let (targets, cluster) =
        with_live_target(targets, &profiles, &args.target, &items, &policy_files)?;
    let described = match &cluster {
        Some(c) => Some(c.session.description.clone()),
        None if args.target.target_kind == TargetKind::Webhook => profiles
            .first()
            .and_then(|p| targets.get(p))
            .map(|t| t.describe()),
        None => None,
    };
    // The human report on stdout names the target itself; other reports go to a file or
    // are machine-read, so the terminal learns it here.
    let report_names_target = args.format == RunFormat::Human && args.output.is_none();
    if let Some(target) = described.as_ref().filter(|_| !report_names_target) {
        eprintln!("target: {target}");
    }
    let server = cluster.as_ref().map(|c| {
        let target = &c.session.target;
        (target.version().git_version.clone(), target.endpoint())
    });
    // A live target's trials mostly wait on the network: keep more of them in flight.
    let per_core = match args.target.target_kind {
        TargetKind::InProcess => 1,
        TargetKind::Webhook | TargetKind::Cluster => 4,
    };
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from) * per_core);
    let progress = (args.target.target_kind != TargetKind::InProcess).then(|| {
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(items.len() as u64),
            indicatif::ProgressDrawTarget::stderr(),
        );
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} trials, {per_sec}, eta {eta}",
        ) {
            bar.set_style(style);
        }
        bar
    });
    let results = run::run_items(
        &items,
        &targets,
        &RunOptions {
            jobs,
            golden_dir: golden_dir.clone(),
            golden_mode,
            progress: progress.clone(),
        },
    );
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let cleanup = cluster.map(crate::cli_cluster::ClusterRun::finish);
    Ok(Execution {
        suite,
        profiles,
        items,
        results,
        targets,
        target: described,
        server,
        cleanup,
        golden_dir,
        cases_root: plan.root,
        policy_files,
        elapsed: started.elapsed(),
    })
}

/// The golden mode `--goldens` asks for.
pub fn golden_mode(arg: GoldenArg) -> GoldenMode {
    match arg {
        GoldenArg::Check | GoldenArg::Skip => GoldenMode::Check,
        GoldenArg::New => GoldenMode::New,
        GoldenArg::Accept => GoldenMode::Accept,
        GoldenArg::Record => GoldenMode::Record,
    }
}

fn cmd_run(args: &RunArgs) -> Result<u8, Error> {
    let run = execute(args, golden_mode(args.goldens))?;
    let summary = Summary::of(&run.results);
    let target = run.target.as_deref();
    let rendered = match args.format {
        RunFormat::Human => report::human(&run.results, args.output.is_none(), target),
        RunFormat::Json => report::json(&run.results, target),
        RunFormat::Junit => {
            report::junit(&run.results, target).map_err(|e| Error::Usage(e.to_string()))?
        }
    };
    emit(&rendered, args.output.as_deref())?;
    let to_stderr = args.output.is_some() || args.format != RunFormat::Human;
    if to_stderr {
        eprintln!("{summary}");
    }
    report_recorded(&run.results);
    let coverage_gaps = args.coverage && print_coverage(&run.suite, to_stderr)?;
    let unclean = match run.cleanup {
        Some(Err(e)) => {
            eprintln!("pss-harness: {e}");
            true
        }
        _ => false,
    };
    Ok(u8::from(summary.failed > 0 || coverage_gaps || unclean))
}

/// Under `--goldens record`: which snapshots were written, for review.
pub fn report_recorded(results: &[run::TrialResult]) {
    let recorded: Vec<&str> = results
        .iter()
        .filter_map(run::TrialResult::recorded_golden)
        .collect();
    if recorded.is_empty() {
        return;
    }
    eprintln!(
        "recorded {} golden snapshots for review (git diff / git add them):",
        recorded.len()
    );
    for path in recorded {
        eprintln!("  {path}");
    }
}

/// The Kyverno policy files of the run: `--policy`; with `--serve-webhook` under a
/// Kyverno profile and no `--policy`, the bundled policy of the one `--level` (a served
/// engine runs one policy set, and the expectations must use the same).
fn served_policies(args: &RunArgs, root: Option<&Path>) -> Result<Vec<PathBuf>, Error> {
    let kyverno = args.profile.iter().any(|p| p.kyverno_line().is_some());
    if !args.policy.is_empty() || !args.target.cluster.serve_webhook || !kyverno {
        return Ok(args.policy.clone());
    }
    match (&args.filter.level[..], root) {
        ([level], Some(root)) => Ok(vec![root.join(format!("policies/{level}-policy.yaml"))]),
        _ => Err(Error::Usage(
            "--serve-webhook under a Kyverno profile serves one policy set: pass --policy \
             FILE... or exactly one --level"
                .into(),
        )),
    }
}

/// Replace the profile's in-process target with `--target webhook` or `cluster`.
pub fn with_live_target(
    targets: Targets,
    profiles: &[Profile],
    args: &TargetArgs,
    items: &[run::Item],
    policy_files: &[PathBuf],
) -> Result<(Targets, Option<crate::cli_cluster::ClusterRun>), Error> {
    if args.target_kind == TargetKind::Cluster {
        let [profile] = profiles else {
            return Err(Error::Usage(
                "--target cluster runs one profile: give exactly one --profile".into(),
            ));
        };
        let cluster = crate::cli_cluster::start(&args.cluster, profile, items, policy_files)?;
        let target = Box::new(std::sync::Arc::clone(&cluster.session.target));
        return Ok((targets.with(profile.clone(), target), Some(cluster)));
    }
    with_webhook_target(targets, profiles, args).map(|t| (t, None))
}

/// The webhook target `--webhook-*` describe, for a profile's texts.
pub fn webhook_target(args: &WebhookArgs, profile: &Profile) -> Result<WebhookTarget, Error> {
    let url = args
        .webhook_url
        .clone()
        .ok_or_else(|| Error::Usage("--target webhook needs --webhook-url URL".into()))?;
    let timeout = std::time::Duration::try_from_secs_f64(args.webhook_timeout)
        .ok()
        .filter(|t| !t.is_zero() && *t <= MAX_WEBHOOK_TIMEOUT)
        .ok_or_else(|| {
            Error::Usage(
                "--webhook-timeout: more than 0 and at most 30 seconds (the API server's \
                 limit for a webhook)"
                    .into(),
            )
        })?;
    let options = WebhookOptions {
        url,
        ca_cert: args.ca_cert.clone(),
        insecure_skip_tls_verify: args.insecure_skip_tls_verify,
        timeout,
        client_identity: match (&args.client_cert, &args.client_key) {
            (Some(cert), Some(key)) => Some((cert.clone(), key.clone())),
            _ => None,
        },
    };
    WebhookTarget::new(&options, Flavour::of(profile)).map_err(|e| Error::Usage(e.to_string()))
}

impl WebhookArgs {
    /// No webhook options (a side of `diff` that is not the webhook).
    pub fn none() -> WebhookArgs {
        WebhookArgs {
            webhook_url: None,
            ca_cert: None,
            insecure_skip_tls_verify: false,
            client_cert: None,
            client_key: None,
            webhook_timeout: 10.0,
        }
    }
}

/// Load the cases of `source`; the suite and the cases directory ids are relative to.
pub fn load_cases(source: &CaseSource) -> Result<(Suite, Option<PathBuf>), Error> {
    let plan = resolve_source(source)?;
    let suite = loader::load(&plan.paths, plan.root.as_deref())?;
    Ok((suite, plan.root))
}

/// The cases `generate DIR` wrote, and their root.
pub fn load_generated(dir: &Path) -> Result<(Suite, Option<PathBuf>), Error> {
    let plan = generated_source(dir, GoldenArg::Skip)?;
    let suite = loader::load(&plan.paths, plan.root.as_deref())?;
    Ok((suite, plan.root))
}

/// The API server refuses a webhook `timeoutSeconds` above 30.
pub const MAX_WEBHOOK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Replace the profile's in-process target with `--target webhook`.
fn with_webhook_target(
    targets: Targets,
    profiles: &[Profile],
    args: &TargetArgs,
) -> Result<Targets, Error> {
    let w = &args.webhook;
    if args.target_kind == TargetKind::InProcess {
        if w.webhook_url.is_some()
            || w.ca_cert.is_some()
            || w.insecure_skip_tls_verify
            || w.client_cert.is_some()
        {
            return Err(Error::Usage(
                "--webhook-url, --ca-cert, --insecure-skip-tls-verify and --client-cert need \
                 --target webhook"
                    .into(),
            ));
        }
        return Ok(targets);
    }
    let [profile] = profiles else {
        return Err(Error::Usage(
            "--target webhook runs one profile: give exactly one --profile".into(),
        ));
    };
    let target = webhook_target(w, profile)?;
    Ok(targets.with(profile.clone(), Box::new(target)))
}

/// `serve`: start the webhook, print its URL on stdout, serve until killed.
fn cmd_serve(args: &ServeArgs) -> Result<u8, Error> {
    let engine = Engine::for_profile(
        &args.profile,
        &args.policy,
        args.admission_config.as_deref(),
    )?;
    let tls = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => Tls::Files {
            cert: cert.clone(),
            key: key.clone(),
        },
        _ => Tls::SelfSigned,
    };
    let describe = engine.describe();
    let server = Server::start_with(engine, args.listen, &tls, args.client_ca.as_deref())
        .map_err(Error::Usage)?;
    if let (Some(path), Some(pem)) = (&args.write_ca, server.ca_pem()) {
        std::fs::write(path, pem).map_err(|e| Error::io(path, e))?;
    }
    eprintln!("serving {describe} as an admission webhook");
    let mut out = std::io::stdout();
    writeln!(out, "{}", server.url())
        .and_then(|_| out.flush())
        .map_err(|e| Error::io(Path::new("<stdout>"), e))?;
    server.wait().map_err(Error::Usage)?;
    Ok(0)
}

/// Print the coverage matrix after a run; `true` when a baseline control lacks a case.
fn print_coverage(suite: &Suite, to_stderr: bool) -> Result<bool, Error> {
    let cov = coverage::coverage(suite);
    let text = format!("\n{}", cov.human());
    if to_stderr {
        eprint!("{text}");
    } else {
        emit(&text, None)?;
    }
    Ok(!cov.missing().is_empty())
}

pub fn run_filter(args: &FilterArgs) -> Result<Filter, Error> {
    let versions = match args.version.is_empty() {
        true => None,
        false => Some(
            versions::parse_union(args.version.iter().map(String::as_str))
                .map_err(|e| Error::Usage(format!("--version: {e}")))?,
        ),
    };
    let names = args
        .name
        .iter()
        .map(|n| NameMatcher::parse(n))
        .collect::<Result<_, _>>()
        .map_err(Error::Usage)?;
    Ok(Filter {
        controls: args.control.clone(),
        levels: args.level.clone(),
        names,
        versions,
        kinds: args.kind.clone(),
        shard: args.shard,
    })
}

/// Print to stdout (colours stripped when it is not a terminal) or write a file.
fn emit(text: &str, output: Option<&Path>) -> Result<(), Error> {
    match output {
        Some(path) => std::fs::write(path, text).map_err(|e| Error::io(path, e)),
        None => {
            let mut out = anstream::stdout();
            out.write_all(text.as_bytes())
                .map_err(|e| Error::io(Path::new("<stdout>"), e))
        }
    }
}

/// `check`: at `--level`/`--version`, or through the admission model when an admission
/// flag is given or an input holds a Namespace document.
fn cmd_check(args: &CheckArgs) -> Result<u8, Error> {
    if let Some(line) = kyverno_check_line(args)? {
        return cmd_check_kyverno(args, line);
    }
    let policy = LevelVersion::new(args.level, args.version);
    let inputs = args
        .files
        .iter()
        .map(|f| read_input(f))
        .collect::<Result<Vec<_>, _>>()?;
    let admission = match args.admission_flags()
        || inputs
            .iter()
            .any(|(_, t)| check_admission::has_namespace(t))
    {
        true => Some(admission_check(args)?),
        false => None,
    };
    let mut records = Vec::new();
    for (label, text) in &inputs {
        let recs = match &admission {
            Some(opts) => check_admission::check_text(label, text, opts),
            None => check::check_text(label, text, policy, args.raw),
        };
        records.extend(recs.map_err(Error::located)?);
    }
    let mut out = String::new();
    for r in &records {
        let line = match args.format {
            CheckFormat::Json => serde_json::to_string(r).unwrap_or_default(),
            CheckFormat::Human => check::human_line(r),
        };
        out.push_str(&line);
        out.push('\n');
    }
    emit(&out, None)?;
    Ok(check::exit_code(&records))
}

/// The admission-mode inputs from the flags (`--level`/`--version` do not apply).
fn admission_check(args: &CheckArgs) -> Result<AdmissionCheck, Error> {
    let config = match &args.admission_config {
        Some(path) => psa_config::load(path)?.config,
        None => pss::admission::AdmissionConfig::default(),
    };
    Ok(AdmissionCheck {
        config,
        namespace: args
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_owned()),
        labels: args.namespace_labels.clone().unwrap_or_default(),
        user: args.user.clone(),
        raw: args.raw,
    })
}

/// The Kyverno line `check` runs at, when `--profile kyverno@...` or `--policy` is given.
fn kyverno_check_line(args: &CheckArgs) -> Result<Option<KyvernoLine>, Error> {
    let has_policy = !args.policy.is_empty();
    match (&args.profile, has_policy) {
        (Some(Profile::Kyverno { line }), true) => Ok(Some(*line)),
        (Some(Profile::Kyverno { .. }), false) => Err(Error::Usage(
            "--profile kyverno@<line> needs --policy FILE...".into(),
        )),
        (None, true) => Ok(Some(KyvernoLine::V1_19)),
        (Some(Profile::File(_)), _) => Err(Error::Usage(
            "check runs the harness's own engines (psa, kyverno@<line>), not a profile file".into(),
        )),
        (Some(Profile::Psa), true) => Err(Error::Usage(
            "--policy applies to Kyverno profiles (--profile kyverno@<line>)".into(),
        )),
        (_, false) => Ok(None),
    }
}

/// `check` with Kyverno: one record per document and evaluated rule.
fn cmd_check_kyverno(args: &CheckArgs, line: KyvernoLine) -> Result<u8, Error> {
    let policies = PolicySet::load(&args.policy)?;
    let opts = check_kyverno::Options {
        line,
        policies: &policies,
        raw: args.raw,
        namespace: args.namespace.as_deref().unwrap_or("default"),
    };
    let mut records = Vec::new();
    for file in &args.files {
        let (label, text) = read_input(file)?;
        let recs = check_kyverno::check_text(&label, &text, opts).map_err(Error::located)?;
        records.extend(recs);
    }
    let out = match args.format {
        CheckFormat::Human => check_kyverno::human(&records),
        CheckFormat::Json => records
            .iter()
            .map(|r| serde_json::to_string(r).unwrap_or_default() + "\n")
            .collect(),
    };
    emit(&out, None)?;
    Ok(check_kyverno::exit_code(&records))
}

fn read_input(file: &Path) -> Result<(PathBuf, String), Error> {
    if file == Path::new("-") {
        return Ok((PathBuf::from("<stdin>"), crate::input::read_stdin()?));
    }
    Ok((file.to_path_buf(), crate::input::read_file(file)?))
}

fn cmd_coverage(args: &CoverageArgs) -> Result<u8, Error> {
    let (suite, _) = load_suite(&args.source)?;
    let cov = coverage::coverage(&suite);
    let text = match args.format {
        CheckFormat::Human => match args.by_version {
            Some(kind) => format!("{}\n{}", cov.human(), cov.human_by_version(kind)),
            None => cov.human(),
        },
        CheckFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&cov.json()).unwrap_or_default()
        ),
    };
    emit(&text, None)?;
    Ok(u8::from(!cov.missing().is_empty()))
}

fn cmd_upstream(args: &UpstreamArgs) -> Result<u8, Error> {
    if !args.dir.is_dir() {
        return Err(Error::Usage(format!(
            "{}: not a directory",
            args.dir.display()
        )));
    }
    let report = upstream::run(&args.dir)?;
    emit(&report.human(), None)?;
    Ok(u8::from(!report.disagreements.is_empty()))
}
