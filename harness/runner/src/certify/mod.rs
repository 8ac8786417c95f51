//! `pss-harness certify`: run the suite against one engine (a target and a profile, or a
//! profile file) and write a report anyone can reproduce into `--out DIR`:
//!
//! - `report.md`: the verdict, the facts (harness version, corpus SHA-256, engine, date,
//!   command line), the scores, the control x kind and control x version matrix, every
//!   failure with its expected and actual text, and what was not applicable;
//! - `report.json`: the same as data ([`model::Report`], schema
//!   `schema/certification-report.schema.json`);
//! - `report.xml`: JUnit, one test case per trial;
//! - `report.html`: one self-contained page with the coloured matrix;
//! - `badge.svg`.
//!
//! Decisions and messages are scored apart. The exit code is 0 when every decision
//! conforms (and, with `--require-messages`, every judged message), 1 otherwise, 2 on a
//! usage or input error.

pub mod badge;
pub mod build;
pub mod corpus;
pub mod html;
pub mod markdown;
pub mod model;
pub mod views;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::cli::{self, Execution, RunArgs, TargetKind};
use crate::error::Error;
use model::{Corpus, Engine, ProfileFileRef, Report, RunInfo};

/// The files `certify` writes.
pub const FILES: [&str; 5] = [
    "report.md",
    "report.json",
    "report.xml",
    "report.html",
    "badge.svg",
];

#[derive(Debug, Args)]
pub struct CertifyArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// The folder the reports are written into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The engine's name for the report (e.g. "Upstream PSA webhook").
    #[arg(long, value_name = "TEXT")]
    pub engine_name: Option<String>,
    /// The engine's version for the report (e.g. "k8s.io/pod-security-admission v0.37.2").
    #[arg(long, value_name = "TEXT")]
    pub engine_version: Option<String>,
    /// Exit 1 also when a judged message does not conform.
    #[arg(long)]
    pub require_messages: bool,
}

/// `certify`: run, score, write the five files, print the verdict.
pub fn cmd_certify(args: &CertifyArgs) -> Result<u8, Error> {
    if args.run.output.is_some() || args.run.format != cli::RunFormat::Human || args.run.coverage {
        return Err(Error::Usage(
            "certify writes all its formats into --out DIR (--output, --format and --coverage \
             are for run)"
                .into(),
        ));
    }
    if args.run.profile.len() != 1 {
        return Err(Error::Usage(
            "certify judges one engine: give exactly one --profile".into(),
        ));
    }
    std::fs::create_dir_all(&args.out).map_err(|e| Error::io(&args.out, e))?;
    let run = cli::execute(&args.run, cli::golden_mode(args.run.goldens))?;
    cli::report_recorded(&run.results);
    let report = report(args, &run)?;
    write_all(&args.out, &report, &run)?;
    let mut stdout = std::io::stdout();
    let _ = writeln!(
        stdout,
        "{}",
        markdown::verdict_line(&report).replace("**", "")
    );
    let d = &report.verdict.decisions;
    let m = &report.verdict.messages;
    let _ = writeln!(
        stdout,
        "decisions {}/{} ({:.2}%), messages {}/{} scenarios and {}/{} goldens, {} not applicable",
        d.conforming,
        d.judged(),
        d.percent,
        m.scenarios.conforming,
        m.scenarios.judged(),
        m.goldens.conforming,
        m.goldens.judged(),
        d.not_applicable
    );
    let _ = writeln!(stdout, "reports in {}", args.out.display());
    let unclean = match &run.cleanup {
        Some(Err(e)) => {
            eprintln!("pss-harness: {e}");
            true
        }
        _ => false,
    };
    let messages_fail = args.require_messages && !m.conforms;
    Ok(u8::from(
        !report.verdict.certified || messages_fail || unclean,
    ))
}

/// The report of a finished run.
pub fn report(args: &CertifyArgs, run: &Execution) -> Result<Report, Error> {
    let roots = corpus_roots(run);
    let hashed = corpus::hash(&roots).map_err(Error::Usage)?;
    let corpus = Corpus {
        sha256: hashed.sha256,
        files: hashed.files,
        cases: run.suite.cases.len(),
        roots: roots.iter().map(|r| r.name.clone()).collect(),
    };
    let engine = engine(args, run)?;
    let date = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let info = RunInfo {
        date,
        command: command_line(),
        duration_seconds: (run.elapsed.as_secs_f64() * 10.0).round() / 10.0,
        trials: run.results.len(),
    };
    let ctx = build::Context {
        corpus,
        engine,
        run: info,
    };
    Ok(build::report(&run.items, &run.results, &run.targets, ctx))
}

fn engine(args: &CertifyArgs, run: &Execution) -> Result<Engine, Error> {
    let profile = &run.profiles[0];
    let profile_file = match profile.file() {
        Some(f) => Some(ProfileFileRef {
            path: f.path.display().to_string(),
            sha256: corpus::file_sha256(&f.path).map_err(Error::Usage)?,
        }),
        None => None,
    };
    let t = &args.run.target;
    let (target, endpoint, webhook) = match t.target_kind {
        TargetKind::InProcess => ("in-process", None, None),
        TargetKind::Webhook => ("webhook", t.webhook.webhook_url.clone(), None),
        TargetKind::Cluster => (
            "cluster",
            run.server.as_ref().map(|(_, e)| e.clone()),
            t.cluster
                .engine
                .engine_cmd
                .as_ref()
                .map(|_| t.cluster.engine.engine_webhook_name.clone()),
        ),
    };
    Ok(Engine {
        profile: profile.name(),
        profile_file,
        target: target.to_owned(),
        description: run.target.clone(),
        endpoint,
        webhook,
        server_version: run.server.as_ref().map(|(v, _)| v.clone()),
        name: args.engine_name.clone(),
        version: args.engine_version.clone(),
    })
}

/// The corpus: the cases folder, the golden folder, and policy files outside the cases.
fn corpus_roots(run: &Execution) -> Vec<corpus::Root> {
    let mut roots = Vec::new();
    if let Some(cases) = &run.cases_root {
        roots.push(corpus::Root {
            name: "cases".into(),
            path: cases.clone(),
        });
    }
    roots.push(corpus::Root {
        name: "golden".into(),
        path: run.golden_dir.clone(),
    });
    for policy in &run.policy_files {
        let inside = run
            .cases_root
            .as_deref()
            .is_some_and(|c| crate::loader::path_under(policy, c));
        if !inside {
            let name = policy
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            roots.push(corpus::Root {
                name: format!("policy/{name}"),
                path: policy.clone(),
            });
        }
    }
    roots
}

/// Write the five files.
fn write_all(dir: &Path, report: &Report, run: &Execution) -> Result<(), Error> {
    let json = serde_json::to_string_pretty(report)
        .map_err(|e| Error::Usage(format!("cannot serialise the report: {e}")))?;
    let junit = crate::report::junit(&run.results, run.target.as_deref())
        .map_err(|e| Error::Usage(e.to_string()))?;
    let files = [
        ("report.md", markdown::render(report)),
        ("report.json", json + "\n"),
        ("report.xml", junit),
        ("report.html", html::render(report)),
        ("badge.svg", badge::render(report)),
    ];
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}

/// The process's command line, each argument shell-quoted when it needs it.
fn command_line() -> String {
    let mut args = std::env::args();
    let program = args
        .next()
        .map(|p| {
            Path::new(&p)
                .file_name()
                .map_or(p.clone(), |n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "pss-harness".to_owned());
    std::iter::once(program)
        .chain(args)
        .map(|a| quote(&a))
        .collect::<Vec<_>>()
        .join(" ")
}

fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:=@,%".contains(c));
    match plain {
        true => arg.to_owned(),
        false => format!("'{}'", arg.replace('\'', r"'\''")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_quoted_for_a_shell() {
        assert_eq!(quote("--profile"), "--profile");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote(""), "''");
    }
}
