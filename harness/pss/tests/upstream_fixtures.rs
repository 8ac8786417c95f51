//! Upstream PSA conformance fixtures (`test/testdata` of `k8s.io/pod-security-admission`),
//! evaluated offline: every `pass/` pod must be allowed and every `fail/` pod denied, with
//! the check's expected substring in the message, at the level and version of its folder.
//!
//! The fixtures are data kept outside the repository. Folder: `$PSS_UPSTREAM_FIXTURES`, else
//! `<workspace root>/../shared/upstream-psa-fixtures`. Without it every trial is ignored and
//! a `SKIPPED:` line says why, so a checkout without the data still passes honestly.
//!
//! API-server defaulting ([`Defaulting::API_SERVER`]) is applied first, as on a live cluster:
//! without it the sourceless volume of `restrictedvolumes0.yaml` would be denied.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use pss::version::NEWEST_MINOR;
use pss::{CheckId, Defaulting, Level, LevelVersion, Version, Workload};

/// Files evaluated and files agreeing, over every trial run in this process.
static EVALUATED: AtomicUsize = AtomicUsize::new(0);
static AGREED: AtomicUsize = AtomicUsize::new(0);

const LEVELS: [Level; 2] = [Level::Baseline, Level::Restricted];

fn main() {
    let args = Arguments::from_args();
    let root = fixtures_root();
    let missing = (!root.is_dir()).then(|| {
        format!(
            "upstream fixtures not found at {} (set PSS_UPSTREAM_FIXTURES to the folder)",
            root.display()
        )
    });
    if let Some(reason) = &missing {
        println!("SKIPPED: {reason}");
    }
    let conclusion = libtest_mimic::run(&args, trials(&root, missing.as_deref()));
    let evaluated = EVALUATED.load(Ordering::Relaxed);
    if evaluated > 0 {
        let agreed = AGREED.load(Ordering::Relaxed);
        println!("{agreed} of {evaluated} upstream fixtures agree");
    }
    conclusion.exit();
}

/// `$PSS_UPSTREAM_FIXTURES`, else the shared folder next to the workspace root.
fn fixtures_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("PSS_UPSTREAM_FIXTURES") {
        return PathBuf::from(dir);
    }
    // CARGO_MANIFEST_DIR is <workspace root>/harness/pss.
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = workspace.join("../shared/upstream-psa-fixtures");
    dir.canonicalize().unwrap_or(dir)
}

/// One trial per level and version (`upstream::baseline::v1.0` ...), plus a layout check.
fn trials(root: &Path, missing: Option<&str>) -> Vec<Trial> {
    let mut trials = Vec::new();
    for level in LEVELS {
        for minor in 0..=NEWEST_MINOR {
            let dir = root.join(level.as_str()).join(format!("v1.{minor}"));
            let skip = missing.map(str::to_owned);
            let name = format!("upstream::{level}::v1.{minor}");
            trials.push(Trial::ignorable_test(name, move || match skip {
                Some(reason) => Ok(Completion::ignored_with(reason)),
                None => run_folder(&dir, level, minor).map(|()| Completion::Completed),
            }));
        }
    }
    let root = root.to_owned();
    let skip = missing.map(str::to_owned);
    trials.push(Trial::ignorable_test(
        "upstream::layout",
        move || match skip {
            Some(reason) => Ok(Completion::ignored_with(reason)),
            None => check_layout(&root).map(|()| Completion::Completed),
        },
    ));
    trials
}

/// Evaluate every file of one `<level>/v1.<minor>` folder; fail listing the disagreements.
fn run_folder(dir: &Path, level: Level, minor: u32) -> Result<(), Failed> {
    let policy = LevelVersion::new(level, Version::V1(u64::from(minor)));
    let mut problems = String::new();
    let mut count = 0;
    for expect_allowed in [true, false] {
        let sub = dir.join(if expect_allowed { "pass" } else { "fail" });
        for file in yaml_files(&sub)? {
            count += 1;
            EVALUATED.fetch_add(1, Ordering::Relaxed);
            match judge(&file, policy, expect_allowed) {
                Ok(()) => {
                    AGREED.fetch_add(1, Ordering::Relaxed);
                }
                Err(why) => {
                    let _ = writeln!(problems, "  {}: {why}", relative(&file, dir));
                }
            }
        }
    }
    if count == 0 {
        return Err(format!("no fixtures in {}", dir.display()).into());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{policy} disagreements:\n{problems}").into())
    }
}

/// The sorted `*.yaml` files of a folder (a missing folder is an error).
fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, Failed> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    Ok(files)
}

fn relative(file: &Path, dir: &Path) -> String {
    file.strip_prefix(dir).unwrap_or(file).display().to_string()
}

/// `Ok` when the verdict agrees with the folder; otherwise what went wrong.
fn judge(file: &Path, policy: LevelVersion, expect_allowed: bool) -> Result<(), String> {
    let workload = load(file)?;
    let verdict = pss::evaluate(&workload, policy);
    let detail = verdict.evaluation.detail();
    match (expect_allowed, verdict.allowed()) {
        (true, true) => Ok(()),
        (true, false) => Err(format!("expected allowed, got: {detail}")),
        (false, true) => Err("expected denied, got allowed".to_owned()),
        (false, false) => check_substring(file, &detail),
    }
}

/// Parse YAML into a workload and apply the API server's defaulting.
fn load(file: &Path) -> Result<Workload, String> {
    let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    let value: serde_json::Value = serde_saphyr::from_str(&text).map_err(|e| e.to_string())?;
    // The one-pass JSON reader must read the same object as the value path.
    let from_text = Workload::from_json(&value.to_string()).map_err(|e| e.to_string())?;
    let mut workload = Workload::from_value(value).map_err(|e| e.to_string())?;
    if from_text != workload {
        return Err("Workload::from_json and Workload::from_value disagree".to_owned());
    }
    Defaulting::API_SERVER.apply(&mut workload);
    Ok(workload)
}

/// A fail fixture is named `<check id lowercased><i>.yaml`; upstream's live runner requires
/// the denial to contain that check's substring and never `unknown forbidden reason`.
fn check_substring(file: &Path, detail: &str) -> Result<(), String> {
    if detail.contains("unknown forbidden reason") {
        return Err(format!("denied with an unknown reason: {detail}"));
    }
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let id = stem.trim_end_matches(|c: char| c.is_ascii_digit());
    let Some(check) = CheckId::ALL
        .into_iter()
        .find(|c| c.as_str().to_ascii_lowercase() == id)
    else {
        return Err(format!("no check named {id:?}"));
    };
    let want = expected_substring(check);
    if detail.contains(want) {
        Ok(())
    } else {
        Err(format!("denied without {want:?}: {detail}"))
    }
}

/// The substring upstream's fixture generators expect (the check ID when they set none).
fn expected_substring(check: CheckId) -> &'static str {
    match check {
        CheckId::AppArmorProfile => "forbidden AppArmor profile",
        CheckId::CapabilitiesBaseline => "capabilities",
        CheckId::CapabilitiesRestricted => "unrestricted capabilities",
        CheckId::HostNamespaces => "host namespaces",
        CheckId::HostPathVolumes => "hostPath",
        CheckId::HostPorts => "hostPort",
        CheckId::HostProbesAndHostLifecycle => "probe or lifecycle host",
        CheckId::ProcMountRestricted => "procMount",
        CheckId::RestrictedVolumes => "restricted volume types",
        CheckId::SeccompProfileBaseline | CheckId::SeccompProfileRestricted => "seccompProfile",
        CheckId::Sysctls => "forbidden sysctl",
        CheckId::WindowsHostProcess => "hostProcess",
        other => other.as_str(),
    }
}

/// The folder holds exactly the levels and versions the trials cover, so fixtures for a
/// newer Kubernetes version cannot go unnoticed.
fn check_layout(root: &Path) -> Result<(), Failed> {
    let mut found = BTreeSet::new();
    for level in LEVELS {
        let dir = root.join(level.as_str());
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for e in entries.filter_map(Result::ok) {
            found.insert(format!("{level}/{}", e.file_name().to_string_lossy()));
        }
    }
    let expected: BTreeSet<String> = LEVELS
        .iter()
        .flat_map(|l| (0..=NEWEST_MINOR).map(move |m| format!("{l}/v1.{m}")))
        .collect();
    let extra: Vec<_> = found.difference(&expected).collect();
    let absent: Vec<_> = expected.difference(&found).collect();
    if extra.is_empty() && absent.is_empty() {
        Ok(())
    } else {
        Err(format!("unexpected folders {extra:?}; missing folders {absent:?}").into())
    }
}
