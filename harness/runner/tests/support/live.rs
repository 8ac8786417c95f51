//! What the live test binaries (cluster, certify) share: the repository, a command's
//! output for failure messages, and the binaries `scripts/build-*.sh` build (found
//! through their environment variable, else the script's cache path).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A finished command's exit code, stdout and stderr, for a failure message.
pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `$var`, else the path `scripts/<script> <flag>` prints (where it builds to).
fn built(var: &str, script: &str, flag: &str) -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os(var) {
        return Ok(PathBuf::from(path));
    }
    let out = Command::new("bash")
        .arg(repo().join("scripts").join(script))
        .arg(flag)
        .output()
        .map_err(|e| format!("cannot run scripts/{script}: {e}"))?;
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// The folder with etcd and kube-apiserver, or why there is none.
pub fn control_plane_bin() -> Result<PathBuf, String> {
    let dir = built(
        "KUBEBUILDER_ASSETS",
        "build-control-plane.sh",
        "--print-dir",
    )?;
    match ["etcd", "kube-apiserver"]
        .iter()
        .all(|b| dir.join(b).is_file())
    {
        true => Ok(dir),
        false => Err(format!(
            "no etcd and kube-apiserver in {} (run scripts/build-control-plane.sh or set \
             KUBEBUILDER_ASSETS)",
            dir.display()
        )),
    }
}

/// The upstream PSA webhook's binary, or why there is none.
#[allow(dead_code)] // certify's live trial only
pub fn psa_webhook_bin() -> Result<PathBuf, String> {
    let bin = built(
        "PSS_HARNESS_PSA_WEBHOOK",
        "build-psa-webhook.sh",
        "--print-path",
    )?;
    match bin.is_file() {
        true => Ok(bin),
        false => Err(format!(
            "no upstream PSA webhook at {} (run scripts/build-psa-webhook.sh or set \
             PSS_HARNESS_PSA_WEBHOOK)",
            bin.display()
        )),
    }
}
