//! `pss-harness diff`: the command line of differential runs ([`crate::diff`]). Two sides,
//! from `--target A --target B` (one profile) or `--profile P --profile Q` (one target),
//! or both paired in order; at most one webhook and one cluster.

use std::io::Write as _;
use std::path::PathBuf;

use clap::Args;

use crate::cli::{self, CaseSource, CheckFormat, FilterArgs, TargetArgs, TargetKind, WebhookArgs};
use crate::cli_cluster::{ClusterArgs, ClusterRun};
use crate::diff::{self, Compare, Side};
use crate::error::Error;
use crate::policy::DefaultPolicies;
use crate::profile::Profile;
use crate::run::{Item, Targets};

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub source: CaseSource,
    /// Compare on the cases `pss-harness generate DIR` wrote instead of the bundled ones.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["paths", "cases"])]
    pub generated: Option<PathBuf>,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// A side's target (give it twice, or once with two --profile): in-process, webhook
    /// (--webhook-url ...) or cluster (--cluster ...).
    #[arg(long = "target", value_enum, value_name = "TARGET")]
    pub targets: Vec<TargetKind>,
    /// A side's profile (give it twice, or once with two --target; default psa).
    #[arg(long = "profile", value_parser = cli::parse_profile, value_name = "PROFILE")]
    pub profiles: Vec<Profile>,
    /// Kyverno policy files for cases that name none (default: the bundled ones per level).
    #[arg(long = "policy", value_name = "FILE", num_args = 1..)]
    pub policy: Vec<PathBuf>,
    /// What to compare: decisions, reasons (and decisions), messages (and both).
    #[arg(long, value_enum, default_value_t = Compare::Messages)]
    pub compare: Compare,
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    pub format: CheckFormat,
    /// Worker threads (default: four per core).
    #[arg(long)]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub webhook: WebhookArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

impl DiffArgs {
    /// The two sides' target kinds and profiles.
    fn sides(&self) -> Result<[(TargetKind, Profile); 2], Error> {
        let targets = match self.targets.as_slice() {
            [] => vec![TargetKind::InProcess],
            t => t.to_vec(),
        };
        let profiles = match self.profiles.as_slice() {
            [] => vec![Profile::Psa],
            p => p.to_vec(),
        };
        let pair = match (targets.as_slice(), profiles.as_slice()) {
            ([a, b], [p]) => [(*a, p.clone()), (*b, p.clone())],
            ([t], [p, q]) => [(*t, p.clone()), (*t, q.clone())],
            ([a, b], [p, q]) => [(*a, p.clone()), (*b, q.clone())],
            _ => {
                return Err(Error::Usage(
                    "diff compares two engines: give --target twice, or --profile twice, or \
                     both twice"
                        .into(),
                ));
            }
        };
        for kind in [TargetKind::Webhook, TargetKind::Cluster] {
            if pair.iter().filter(|(t, _)| *t == kind).count() > 1 {
                return Err(Error::Usage(format!(
                    "diff takes at most one {} side (the options are shared)",
                    match kind {
                        TargetKind::Webhook => "webhook",
                        _ => "cluster",
                    }
                )));
            }
        }
        Ok(pair)
    }
}

/// A side's targets and, for a cluster, its session (finished at the end).
struct Built {
    label: String,
    profile: Profile,
    targets: Targets,
    cluster: Option<ClusterRun>,
}

/// `diff`: print the differences; exit 1 when there is one (or an error), else 0.
pub fn cmd_diff(args: &DiffArgs) -> Result<u8, Error> {
    let sides = args.sides()?;
    let (suite, root) = match &args.generated {
        Some(dir) => cli::load_generated(dir)?,
        None => cli::load_cases(&args.source)?,
    };
    let filter = cli::run_filter(&args.filter)?;
    let policies = DefaultPolicies::for_run(&args.policy, root.as_deref())?;
    let scenarios = diff::scenarios(&suite, &sides[0].1, &sides[1].1, &filter);
    let items: Vec<Item> = scenarios.iter().cloned().map(Item::Scenario).collect();
    let mut built = Vec::new();
    for (kind, profile) in &sides {
        let target_args = TargetArgs {
            target_kind: *kind,
            webhook: match kind {
                TargetKind::Webhook => args.webhook.clone(),
                _ => WebhookArgs::none(),
            },
            cluster: args.cluster.clone(),
        };
        let in_process = Targets::in_process(std::slice::from_ref(profile))
            .map_err(Error::Usage)?
            .with_policies(policies.clone());
        if *kind == TargetKind::InProcess && !profile.has_reference() {
            return Err(Error::Usage(format!(
                "profile {profile} is a profile file describing a live engine: give its side \
                 --target webhook or cluster"
            )));
        }
        let (targets, cluster) = cli::with_live_target(
            in_process,
            std::slice::from_ref(profile),
            &target_args,
            &items,
            &args.policy,
        )?;
        let label = match &cluster {
            Some(c) => format!("{profile} (cluster {})", c.session.target.endpoint()),
            None => format!("{profile} ({})", kind_name(*kind)),
        };
        built.push(Built {
            label,
            profile: profile.clone(),
            targets,
            cluster,
        });
    }
    fn side(b: &Built) -> Side<'_> {
        Side {
            label: b.label.clone(),
            profile: b.profile.clone(),
            targets: &b.targets,
        }
    }
    let live = sides.iter().any(|(k, _)| *k != TargetKind::InProcess);
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, usize::from) * if live { 4 } else { 1 }
    });
    let report = diff::run(
        &scenarios,
        &side(&built[0]),
        &side(&built[1]),
        args.compare,
        jobs,
    );
    let mut unclean = false;
    for b in built {
        if let Some(Err(e)) = b.cluster.map(ClusterRun::finish) {
            eprintln!("pss-harness: {e}");
            unclean = true;
        }
    }
    let text = match args.format {
        CheckFormat::Human => diff::human(&report),
        CheckFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ),
    };
    let _ = std::io::stdout().write_all(text.as_bytes());
    Ok(u8::from(!report.agrees() || unclean))
}

fn kind_name(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::InProcess => "in-process",
        TargetKind::Webhook => "webhook",
        TargetKind::Cluster => "cluster",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        diff: DiffArgs,
    }

    fn sides(args: &[&str]) -> Result<Vec<String>, String> {
        let cli = Cli::try_parse_from(std::iter::once("diff").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        cli.diff
            .sides()
            .map(|s| {
                s.iter()
                    .map(|(k, p)| format!("{}:{p}", kind_name(*k)))
                    .collect()
            })
            .map_err(|e| e.to_string())
    }

    #[test]
    fn sides_pair_targets_and_profiles() {
        assert_eq!(
            sides(&["--target", "in-process", "--target", "webhook"]).unwrap(),
            ["in-process:psa", "webhook:psa"]
        );
        assert_eq!(
            sides(&["--profile", "psa", "--profile", "kyverno@v1.19"]).unwrap(),
            ["in-process:psa", "in-process:kyverno@v1.19"]
        );
        assert!(sides(&["--target", "webhook"]).is_err());
        assert!(
            sides(&["--target", "cluster", "--target", "cluster"])
                .unwrap_err()
                .contains("at most one cluster")
        );
    }
}
