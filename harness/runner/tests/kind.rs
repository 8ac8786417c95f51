//! `run --target cluster --cluster kind` through the CLI binary.
//!
//! Always: without a Docker engine (DOCKER_HOST at a missing socket, in the child only)
//! the run fails within seconds with the Docker error and exit 2.
//!
//! With a Docker engine (or `PSS_LIVE=require`, which turns a missing engine into a
//! failure; `PSS_LIVE=off` skips): a slice of the bundled PSA suite passes on a kind node
//! the harness starts, and afterwards the container and its volume are gone; a second run
//! under `TESTCONTAINERS_COMMAND=keep` keeps the node, which must then hold no namespace
//! labelled `app.kubernetes.io/managed-by=pss-harness` (this test removes it after).
//! Without an engine the live trials are reported ignored with the reason, after a
//! `SKIPPED:` line. `PSS_KIND_IMAGE` picks another node image. The live trials run one at
//! a time (each starts a node).

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use pss_harness::cluster::api::{Api, Pacing};
use pss_harness::cluster::kind::docker_available;
use pss_harness::cluster::namespaces::labelled_namespaces;
use pss_harness::cluster::session::from_kubeconfig_text;
use testcontainers::bollard::Docker;
use testcontainers::bollard::errors::Error as DockerError;

const BIN: &str = env!("CARGO_BIN_EXE_pss-harness");

/// The bundled PSA cases about one control at `latest`: about a hundred dry runs.
const SLICE: &[&str] = &[
    "run",
    "--profile",
    "psa",
    "--target",
    "cluster",
    "--cluster",
    "kind",
    "--control",
    "privileged",
    "--version",
    "latest",
];

fn harness(extra: &[&str], env: &[(&str, &str)]) -> Result<Output, Failed> {
    let mut command = Command::new(BIN);
    command.args(SLICE).args(extra).env("NO_COLOR", "1");
    if let Ok(image) = std::env::var("PSS_KIND_IMAGE") {
        command.args(["--kind-image", &image]);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    command
        .output()
        .map_err(|e| format!("cannot run {BIN}: {e}").into())
}

fn texts(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Exit 0 and a summary of `N passed, 0 failed` with N > 0.
fn passed_without_failures(out: &Output) -> Result<(), Failed> {
    let (stdout, stderr) = texts(out);
    let summary = regex::Regex::new(r"(?m)^(\d+) passed, (\d+) failed")
        .map_err(|e| e.to_string())?
        .captures(&stdout)
        .map(|c| (c[1].parse::<u32>().unwrap_or(0), c[2].to_owned()))
        .ok_or_else(|| format!("no summary line:\n{stdout}\n{stderr}"))?;
    if out.status.code() != Some(0) || summary.0 == 0 || summary.1 != "0" {
        return Err(format!(
            "expected exit 0 and N>0 passed, 0 failed; got exit {:?}:\n{stdout}\n{stderr}",
            out.status.code()
        )
        .into());
    }
    Ok(())
}

/// The kind node a run started, as it names it on stderr.
fn node_name(stderr: &str) -> Result<String, Failed> {
    let re = regex::Regex::new(r"pss-harness-kind-[0-9a-f]{6}").map_err(|e| e.to_string())?;
    re.find(stderr)
        .map(|m| m.as_str().to_owned())
        .ok_or_else(|| format!("the run names no kind node:\n{stderr}").into())
}

fn runtime() -> Result<tokio::runtime::Runtime, Failed> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("no runtime: {e}").into())
}

async fn docker() -> Result<Docker, Failed> {
    testcontainers::core::client::docker_client_instance()
        .await
        .map_err(|e| format!("no Docker client: {e}").into())
}

fn is_missing<T>(result: &Result<T, DockerError>) -> bool {
    matches!(
        result,
        Err(DockerError::DockerResponseServerError {
            status_code: 404,
            ..
        })
    )
}

/// Without an engine the run stops before anything else, fast, with the Docker error.
fn without_docker_the_cli_fails_fast() -> Result<(), Failed> {
    let started = Instant::now();
    let out = harness(
        &[],
        &[("DOCKER_HOST", "unix:///nonexistent/pss-harness-test.sock")],
    )?;
    let took = started.elapsed();
    let (_, stderr) = texts(&out);
    if out.status.code() != Some(2) || !stderr.contains("--cluster kind needs a Docker engine") {
        return Err(format!(
            "expected exit 2 and the Docker error, got {:?}:\n{stderr}",
            out.status.code()
        )
        .into());
    }
    if !stderr.contains("/nonexistent/pss-harness-test.sock") {
        return Err(format!("the error does not name the engine tried:\n{stderr}").into());
    }
    if took > Duration::from_secs(10) {
        return Err(format!("failing took {took:?}").into());
    }
    Ok(())
}

/// The slice passes, and the node's container and volume are gone afterwards.
fn psa_slice_passes_and_the_node_is_removed() -> Result<(), Failed> {
    let out = harness(&[], &[])?;
    let (_, stderr) = texts(&out);
    let name = node_name(&stderr)?;
    passed_without_failures(&out)?;
    runtime()?.block_on(async {
        let docker = docker().await?;
        let container = docker.inspect_container(&name, None).await;
        if !is_missing(&container) {
            return Err(format!("container {name} is still there: {container:?}").into());
        }
        let volume = docker.inspect_volume(&format!("{name}-var")).await;
        if !is_missing(&volume) {
            return Err(format!("volume {name}-var is still there: {volume:?}").into());
        }
        Ok(())
    })
}

/// A kept node (TESTCONTAINERS_COMMAND=keep) shows what the run left in the cluster:
/// no namespace of the harness.
fn a_kept_node_has_no_harness_namespaces_left() -> Result<(), Failed> {
    let out = harness(&["--kind", "Pod"], &[("TESTCONTAINERS_COMMAND", "keep")])?;
    let (_, stderr) = texts(&out);
    let name = node_name(&stderr)?;
    let runtime = runtime()?;
    let checked = passed_without_failures(&out)
        .and_then(|()| runtime.block_on(no_namespaces_left(&name, &stderr)));
    let removed = runtime.block_on(remove_kept(&name));
    checked.and(removed)
}

async fn no_namespaces_left(name: &str, stderr: &str) -> Result<(), Failed> {
    let docker = docker().await?;
    let running = docker
        .inspect_container(name, None)
        .await
        .ok()
        .and_then(|c| c.state)
        .and_then(|s| s.running);
    if running != Some(true) {
        return Err(format!("TESTCONTAINERS_COMMAND=keep did not keep {name} running").into());
    }
    let path = regex::Regex::new(r"its kubeconfig: (\S+?);")
        .map_err(|e| e.to_string())?
        .captures(stderr)
        .map(|c| c[1].to_owned())
        .ok_or_else(|| format!("the kept node's kubeconfig is not named:\n{stderr}"))?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let _ = std::fs::remove_file(&path);
    let config = from_kubeconfig_text(&text).await?;
    let api = Api::new(config, Pacing::default()).map_err(|e| e.to_string())?;
    let left = labelled_namespaces(&api, None)
        .await
        .map_err(|e| e.to_string())?;
    match left.is_empty() {
        true => Ok(()),
        false => Err(format!("namespaces left on {name}: {left:?}").into()),
    }
}

async fn remove_kept(name: &str) -> Result<(), Failed> {
    use testcontainers::bollard::query_parameters::{
        RemoveContainerOptionsBuilder, RemoveVolumeOptions,
    };
    let docker = docker().await?;
    let options = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    docker
        .remove_container(name, Some(options))
        .await
        .map_err(|e| format!("removing {name}: {e}"))?;
    docker
        .remove_volume(&format!("{name}-var"), None::<RemoveVolumeOptions>)
        .await
        .map_err(|e| format!("removing {name}-var: {e}"))?;
    Ok(())
}

/// Whether the live trials run: `Ok` with an engine, else why not and whether that is
/// a failure (`PSS_LIVE=require`) or a skip.
enum Live {
    Run,
    Skip(String),
    Fail(String),
}

fn live() -> Live {
    let mode = std::env::var("PSS_LIVE").unwrap_or_default();
    if mode == "off" {
        return Live::Skip("PSS_LIVE=off".to_owned());
    }
    let probe = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(docker_available()),
        Err(e) => Err(format!("no runtime for the probe: {e}")),
    }
    .map_err(|reason| format!("no Docker engine ({reason})"));
    match (probe, mode.as_str()) {
        (Ok(()), _) => Live::Run,
        (Err(reason), "require") => Live::Fail(format!("PSS_LIVE=require but {reason}")),
        (Err(reason), _) => Live::Skip(reason),
    }
}

fn main() {
    pss_harness::target::webhook::install_crypto_provider();
    let mut args = Arguments::from_args();
    // Listing must not probe; each live trial starts a node of its own: one at a time.
    let live = match args.list {
        true => Live::Run,
        false => live(),
    };
    args.test_threads.get_or_insert(1);
    if let Live::Skip(reason) = &live {
        println!("SKIPPED: {reason}");
    }
    type Check = fn() -> Result<(), Failed>;
    let live_checks: [(&str, Check); 2] = [
        (
            "kind::psa_slice_passes_and_the_node_is_removed",
            psa_slice_passes_and_the_node_is_removed,
        ),
        (
            "kind::a_kept_node_has_no_harness_namespaces_left",
            a_kept_node_has_no_harness_namespaces_left,
        ),
    ];
    let mut trials = vec![Trial::test(
        "kind::without_docker_the_cli_fails_fast",
        without_docker_the_cli_fails_fast,
    )];
    for (name, check) in live_checks {
        let gate = match &live {
            Live::Run => None,
            Live::Skip(reason) => Some(Ok(reason.clone())),
            Live::Fail(reason) => Some(Err(reason.clone())),
        };
        trials.push(Trial::ignorable_test(name, move || match gate {
            None => check().map(|()| Completion::Completed),
            Some(Ok(reason)) => Ok(Completion::ignored_with(reason)),
            Some(Err(reason)) => Err(reason.into()),
        }));
    }
    libtest_mimic::run(&args, trials).exit();
}
