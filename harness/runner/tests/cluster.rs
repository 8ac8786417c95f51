//! The cluster target against a real kube-apiserver (v1.37 built from source by
//! `scripts/build-control-plane.sh`, found through `KUBEBUILDER_ASSETS` or that script's
//! cache folder). Each trial starts its own control plane (`pss-harness control-plane`, a
//! few seconds) and drives the CLI binary as a user would, then asks the API server what
//! is left:
//!
//! - a run through a kubeconfig passes and leaves no namespace labelled
//!   `app.kubernetes.io/managed-by=pss-harness`;
//! - SIGINT in the middle of a run removes what it created and exits 130;
//! - `--keep` keeps the run's namespaces, and `clean --run ID` removes them;
//! - `--cluster local` runs admission cases (exemptions from the case's own
//!   PodSecurityConfiguration, updates, namespace relabels) and agrees with in-process.
//!
//! Without the binaries every trial is reported ignored with the reason, after a
//! `SKIPPED:` line; `PSS_CONTROL_PLANE=require` turns that into a failure. A protected kubeconfig
//! context is refused without any server, so that trial always runs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

#[path = "support/live.rs"]
mod live;

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use live::{control_plane_bin, repo, text};
use pss_harness::cluster::api::{Api, Pacing};
use pss_harness::cluster::namespaces;
use pss_harness::cluster::session;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pss-harness"));
    c.current_dir(repo()).env("NO_COLOR", "1");
    c
}

/// A `pss-harness control-plane` process and its kubeconfig; killed on drop.
struct ControlPlane {
    child: Child,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl ControlPlane {
    fn start(bin_dir: &Path) -> Result<ControlPlane, Failed> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let kubeconfig = dir.path().join("kubeconfig");
        let log = std::fs::File::create(dir.path().join("control-plane.log"))
            .map_err(|e| e.to_string())?;
        let child = bin()
            .args(["control-plane", "--control-plane-bin"])
            .arg(bin_dir)
            .arg("--kubeconfig-out")
            .arg(&kubeconfig)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start pss-harness control-plane: {e}"))?;
        let mut plane = ControlPlane {
            child,
            kubeconfig,
            _dir: dir,
        };
        let started = Instant::now();
        while !plane.kubeconfig.is_file() {
            if let Ok(Some(status)) = plane.child.try_wait() {
                return Err(format!("control-plane exited early ({status})").into());
            }
            if started.elapsed() > Duration::from_secs(120) {
                return Err("the control plane was not ready in 120 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(plane)
    }

    /// The namespaces on the server labelled as the harness's.
    fn labelled_namespaces(&self) -> Result<Vec<String>, Failed> {
        let text = std::fs::read_to_string(&self.kubeconfig).map_err(|e| e.to_string())?;
        pss_harness::target::webhook::install_crypto_provider();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime
            .block_on(async {
                let config = session::from_kubeconfig_text(&text).await?;
                let api = Api::new(config, Pacing::default()).map_err(|e| e.to_string())?;
                namespaces::labelled_namespaces(&api, None)
                    .await
                    .map_err(|e| e.to_string())
            })
            .map_err(Failed::from)
    }

    /// `run` arguments for this control plane through its kubeconfig.
    fn run_args(&self) -> Vec<String> {
        [
            "run",
            "--profile",
            "psa",
            "--target",
            "cluster",
            "--cluster",
            "kubeconfig",
            "--namespace-grace",
            "0",
            "--kubeconfig",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([self.kubeconfig.display().to_string()])
        .collect()
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        // SIGTERM lets it stop etcd and kube-apiserver and remove its folder.
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) on our own child.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let until = Instant::now() + Duration::from_secs(15);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The summary line's count for `what` (`12 passed`).
fn count(out: &Output, what: &str) -> Option<usize> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last()?.to_owned();
    last.split(", ").find_map(|part| {
        part.strip_suffix(what)
            .and_then(|n| n.trim().parse::<usize>().ok())
    })
}

fn a_run_leaves_no_namespace(bin_dir: &Path) -> Result<(), Failed> {
    let plane = ControlPlane::start(bin_dir)?;
    let out = bin()
        .args(plane.run_args())
        .args(["--control", "privileged", "--version", "latest"])
        .args(["--goldens", "skip"])
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.code() != Some(0) || count(&out, "failed") != Some(0) {
        return Err(format!("the run failed:\n{}", text(&out)).into());
    }
    let passed = count(&out, "passed").unwrap_or(0);
    if passed < 50 {
        return Err(format!("only {passed} trials passed:\n{}", text(&out)).into());
    }
    let left = plane.labelled_namespaces()?;
    match left.is_empty() {
        true => Ok(()),
        false => Err(format!("namespaces left after the run: {left:?}").into()),
    }
}

fn sigint_mid_run_leaves_no_namespace(bin_dir: &Path) -> Result<(), Failed> {
    let plane = ControlPlane::start(bin_dir)?;
    let mut run = bin()
        .args(plane.run_args())
        .args(["--level", "baseline", "--goldens", "skip", "--jobs", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    // Wait until the run has namespaces on the server, then interrupt it.
    let started = Instant::now();
    let seen = loop {
        let names = plane.labelled_namespaces()?;
        if !names.is_empty() {
            break names;
        }
        if let Ok(Some(status)) = run.try_wait() {
            return Err(format!("the run ended ({status}) before it created a namespace").into());
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = run.kill();
            return Err("the run created no namespace in 90 s".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_millis(500));
    let pid = i32::try_from(run.id()).map_err(|e| e.to_string())?;
    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(pid, libc::SIGINT);
    }
    let out = run.wait_with_output().map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() != Some(130) {
        return Err(format!(
            "expected exit 130 after SIGINT, got {:?}; stderr:\n{stderr}",
            out.status.code()
        )
        .into());
    }
    if !stderr.contains("interrupted; removing what the run created") {
        return Err(format!("no interruption notice; stderr:\n{stderr}").into());
    }
    let left = plane.labelled_namespaces()?;
    match left.is_empty() {
        true => Ok(()),
        false => Err(format!(
            "namespaces left after SIGINT: {left:?} (seen during the run: {seen:?})"
        )
        .into()),
    }
}

fn kept_namespaces_are_cleaned_by_run_id(bin_dir: &Path) -> Result<(), Failed> {
    let plane = ControlPlane::start(bin_dir)?;
    let out = bin()
        .args(plane.run_args())
        .args(["--control", "host-ports", "--version", "latest", "--keep"])
        .args(["--goldens", "skip"])
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.code() != Some(0) {
        return Err(format!("the kept run failed:\n{}", text(&out)).into());
    }
    let left = plane.labelled_namespaces()?;
    if left.is_empty() {
        return Err(format!("--keep kept no namespace:\n{}", text(&out)).into());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let run_id = stderr
        .split("pss-harness clean --run ")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .ok_or_else(|| format!("no clean hint in:\n{stderr}"))?;
    let clean = bin()
        .args(["clean", "--namespace-grace", "0", "--run", run_id])
        .arg("--kubeconfig")
        .arg(&plane.kubeconfig)
        .output()
        .map_err(|e| e.to_string())?;
    let cleaned = String::from_utf8_lossy(&clean.stdout);
    if clean.status.code() != Some(0) || !cleaned.contains(&format!("{} removed", left.len())) {
        return Err(format!("clean --run {run_id} (left {left:?}):\n{}", text(&clean)).into());
    }
    let after = plane.labelled_namespaces()?;
    match after.is_empty() {
        true => Ok(()),
        false => Err(format!("namespaces left after clean: {after:?}").into()),
    }
}

/// Admission cases on `--cluster local`: exemptions through a second API server started
/// with the case's configuration, updates of stored objects, namespace relabels.
fn local_admission_cases_agree(bin_dir: &Path) -> Result<(), Failed> {
    let out = bin()
        .args(["run", "--profile", "psa", "--target", "cluster"])
        .args(["--cluster", "local", "--control-plane-bin"])
        .arg(bin_dir)
        .arg("cases/admission")
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.code() != Some(0) || count(&out, "failed") != Some(0) {
        return Err(format!("admission cases on a local control plane:\n{}", text(&out)).into());
    }
    // 95 pass; 12 cannot be expressed on any cluster (labels PSA refuses to store, an
    // annotation update the API forbids, creating kube-system): see docs/cluster.md.
    let passed = count(&out, "passed").unwrap_or(0);
    let not_applicable = count(&out, "not applicable").unwrap_or(0);
    match passed >= 95 && not_applicable <= 12 {
        true => Ok(()),
        false => Err(format!(
            "{passed} admission trials passed, {not_applicable} not applicable:\n{}",
            text(&out)
        )
        .into()),
    }
}

/// Generated near misses (`generate`) compared between the in-process evaluator and the
/// real API server's PSA at its own version: the same decisions, reasons and messages.
fn generated_cases_agree_with_the_api_server(bin_dir: &Path) -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let generated = bin()
        .arg("generate")
        .arg(dir.path())
        .output()
        .map_err(|e| e.to_string())?;
    if generated.status.code() != Some(0) {
        return Err(format!("generate failed:\n{}", text(&generated)).into());
    }
    let out = bin()
        .arg("diff")
        .arg("--generated")
        .arg(dir.path())
        .args([
            "--version",
            "latest",
            "--target",
            "in-process",
            "--target",
            "cluster",
        ])
        .args(["--cluster", "local", "--control-plane-bin"])
        .arg(bin_dir)
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let compared = stdout.lines().last().and_then(|l| {
        let (_, rest) = l.split_once("): ")?;
        rest.split(' ').next()?.parse::<usize>().ok()
    });
    match (out.status.code(), compared) {
        (Some(0), Some(n)) if n >= 1000 && stdout.contains(" 0 differ") => Ok(()),
        _ => Err(format!("diff --generated against the API server:\n{}", text(&out)).into()),
    }
}

/// A context whose name matches `--protect` (default `*prod*`) is refused before any
/// request, with exit 2; `--force` gets past the check (and then fails to connect).
fn protected_contexts_are_refused() -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\n\
         users:\n- name: u\n  user: {token: t}\ncontexts:\n- name: eu-prod-1\n  context: {cluster: c, user: u}\n\
         current-context: eu-prod-1\n",
    )
    .map_err(|e| e.to_string())?;
    let args = |extra: &[&str]| {
        let mut c = bin();
        c.args([
            "run",
            "--profile",
            "psa",
            "--target",
            "cluster",
            "--kubeconfig",
        ])
        .arg(&kubeconfig)
        .args(["--control", "privileged", "--version", "latest"])
        .args(["--retries", "0"])
        .args(extra);
        c
    };
    let refused = args(&[]).output().map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    if refused.status.code() != Some(2)
        || !stderr.contains("refusing to run against context \"eu-prod-1\"")
    {
        return Err(format!("a protected context was not refused:\n{}", text(&refused)).into());
    }
    let forced = args(&["--force"]).output().map_err(|e| e.to_string())?;
    let stderr = String::from_utf8_lossy(&forced.stderr);
    match stderr.contains("refusing") || forced.status.code() == Some(0) {
        true => Err(format!("--force did not get past the check:\n{}", text(&forced)).into()),
        false => Ok(()),
    }
}

fn main() {
    let args = Arguments::from_args();
    let require = std::env::var("PSS_CONTROL_PLANE").is_ok_and(|v| v == "require");
    let bin_dir = control_plane_bin();
    if let Err(reason) = &bin_dir
        && !require
    {
        println!("SKIPPED: {reason}");
    }
    type Check = fn(&Path) -> Result<(), Failed>;
    let live: [(&str, Check); 5] = [
        (
            "cluster::a_run_leaves_no_namespace",
            a_run_leaves_no_namespace,
        ),
        (
            "cluster::sigint_mid_run_leaves_no_namespace",
            sigint_mid_run_leaves_no_namespace,
        ),
        (
            "cluster::kept_namespaces_are_cleaned_by_run_id",
            kept_namespaces_are_cleaned_by_run_id,
        ),
        (
            "cluster::local_admission_cases_agree",
            local_admission_cases_agree,
        ),
        (
            "cluster::generated_cases_agree_with_the_api_server",
            generated_cases_agree_with_the_api_server,
        ),
    ];
    let mut trials: Vec<Trial> = live
        .into_iter()
        .map(|(name, check)| {
            let bin_dir = bin_dir.clone();
            Trial::ignorable_test(name, move || match bin_dir {
                Ok(dir) => check(&dir).map(|()| Completion::Completed),
                Err(reason) if require => {
                    Err(format!("PSS_CONTROL_PLANE=require: {reason}").into())
                }
                Err(reason) => Ok(Completion::ignored_with(reason)),
            })
        })
        .collect();
    trials.push(Trial::test(
        "cluster::protected_contexts_are_refused",
        protected_contexts_are_refused,
    ));
    libtest_mimic::run(&args, trials).exit();
}
