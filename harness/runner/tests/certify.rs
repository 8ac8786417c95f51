//! `certify`, `diff` and profile files end to end, through the `pss-harness` binary:
//!
//! - the five reports of an in-process run parse (JSON against its schema, JUnit as XML)
//!   and the HTML renders in headless Chromium (ignored with the reason when Chromium is
//!   absent);
//! - engines the harness did not write are test webhooks in this process
//!   (`support/engines.rs`): one that allows everything is not certified; one that drops
//!   a check is reported by `diff` with exactly the scenarios that check decides; one with
//!   its own words certifies through a profile file after `--goldens record`;
//! - the upstream PSA webhook behind a local control plane certifies and agrees with the
//!   in-process engine (ignored with the reason when its binaries are not built:
//!   scripts/build-control-plane.sh and scripts/build-psa-webhook.sh).

#[path = "support/engines.rs"]
mod engines;
#[path = "support/live.rs"]
mod live;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use engines::{Mode, TestEngine};
use libtest_mimic::{Arguments, Completion, Failed, Trial};
use live::{repo, text};
use serde_json::Value;

fn cases() -> PathBuf {
    repo().join("cases")
}

/// Run `pss-harness` with these arguments; its output.
fn pss(args: &[&str]) -> Result<Output, Failed> {
    Command::new(env!("CARGO_BIN_EXE_pss-harness"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .map_err(|e| format!("cannot run pss-harness: {e}").into())
}

fn ensure(ok: bool, what: impl FnOnce() -> String) -> Result<(), Failed> {
    match ok {
        true => Ok(()),
        false => Err(what().into()),
    }
}

/// How many files under `dir` end with `suffix`.
fn count_files(dir: &Path, suffix: &str) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| e.path())
        .map(|p| match p.is_dir() {
            true => count_files(&p, suffix),
            false => usize::from(p.to_string_lossy().ends_with(suffix)),
        })
        .sum()
}

/// The first failures of a report folder, for a test's message.
fn failures(dir: &Path) -> String {
    let report = read_json(&dir.join("report.json")).unwrap_or_default();
    let all = report["failures"].as_array().cloned().unwrap_or_default();
    let first: Vec<&Value> = all.iter().take(3).collect();
    format!("{} failures, first: {first:#?}", all.len())
}

fn read_json(path: &Path) -> Result<Value, Failed> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()).into())
}

/// `certify` of the in-process PSA engine over the privileged cases into `out`.
fn certify_in_process(out: &Path) -> Result<Output, Failed> {
    let cases = cases();
    pss(&[
        "certify",
        "--cases",
        &cases.to_string_lossy(),
        "--profile",
        "psa",
        "--control",
        "privileged",
        "--engine-name",
        "in-process PSA",
        "--out",
        &out.to_string_lossy(),
    ])
}

/// The five files parse: JSON against the schema, JUnit as XML, HTML and SVG as text with
/// their landmarks; the report names what makes it reproducible.
fn reports_parse_and_follow_the_schema() -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out = certify_in_process(dir.path())?;
    ensure(out.status.code() == Some(0), || text(&out))?;
    let report = valid_report(dir.path())?;
    ensure(report["verdict"]["certified"] == true, || {
        report["verdict"].to_string()
    })?;
    let decisions = &report["verdict"]["decisions"];
    ensure(
        decisions["conforming"].as_u64().unwrap_or(0) > 1000 && decisions["nonConforming"] == 0,
        || decisions.to_string(),
    )?;
    ensure(report["verdict"]["messages"]["conforms"] == true, || {
        report["verdict"]["messages"].to_string()
    })?;
    let sha = report["corpus"]["sha256"].as_str().unwrap_or_default();
    ensure(sha.len() == 64, || format!("corpus hash {sha:?}"))?;
    let command = report["run"]["command"].as_str().unwrap_or_default();
    ensure(command.starts_with("pss-harness certify"), || {
        command.to_owned()
    })?;
    let cells = report["matrix"].as_array().map_or(0, Vec::len);
    // privileged at v1.0..v1.37 and latest, as 9 kinds.
    ensure(cells == 39 * 9, || format!("{cells} matrix cells"))?;
    // The same hash again: the corpus hash is deterministic.
    let again = tempfile::tempdir().map_err(|e| e.to_string())?;
    certify_in_process(again.path())?;
    let second = read_json(&again.path().join("report.json"))?;
    ensure(
        second["corpus"]["sha256"] == report["corpus"]["sha256"],
        || "the corpus hash changed between two runs".into(),
    )?;
    let md = std::fs::read_to_string(dir.path().join("report.md")).map_err(|e| e.to_string())?;
    for needle in [
        "**Certified**",
        "## Matrix: control x kind",
        sha,
        "in-process PSA",
    ] {
        ensure(md.contains(needle), || {
            format!("report.md lacks {needle:?}")
        })?;
    }
    let html =
        std::fs::read_to_string(dir.path().join("report.html")).map_err(|e| e.to_string())?;
    for needle in [
        "id=\"matrix-version\"",
        "id=\"matrix-kind\"",
        "<style>",
        sha,
    ] {
        ensure(html.contains(needle), || {
            format!("report.html lacks {needle:?}")
        })?;
    }
    ensure(!html.contains("http://") || !html.contains("<link"), || {
        "report.html must not load external assets".into()
    })?;
    let svg = std::fs::read_to_string(dir.path().join("badge.svg")).map_err(|e| e.to_string())?;
    ensure(
        svg.starts_with("<svg") && svg.contains("100% decisions"),
        || svg.clone(),
    )?;
    Ok(())
}

/// A report folder's report.json, checked against the schema, and its report.xml read
/// as JUnit with one test case per trial.
fn valid_report(dir: &Path) -> Result<Value, Failed> {
    let report = read_json(&dir.join("report.json"))?;
    let schema = read_json(&repo().join("schema/certification-report.schema.json"))?;
    let validator = jsonschema::validator_for(&schema).map_err(|e| e.to_string())?;
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    ensure(errors.is_empty(), || format!("schema errors: {errors:#?}"))?;
    let xml = std::fs::read_to_string(dir.join("report.xml")).map_err(|e| e.to_string())?;
    let junit = quick_junit::Report::deserialize_from_str(&xml).map_err(|e| e.to_string())?;
    let tests: usize = junit.test_suites.iter().map(|s| s.test_cases.len()).sum();
    ensure(
        tests == report["run"]["trials"].as_u64().unwrap_or(0) as usize,
        || format!("{tests} JUnit test cases"),
    )?;
    Ok(report)
}

/// Chromium's binary, if installed (`$CHROMIUM` first).
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
        .find(|p| p.is_file())
}

/// report.html renders offline in headless Chromium: the DOM holds the matrix with
/// coloured cells, and the screenshot is a real picture.
fn html_renders_in_chromium(chromium: &Path) -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out = certify_in_process(dir.path())?;
    ensure(out.status.code() == Some(0), || text(&out))?;
    renders(chromium, dir.path())
}

/// The report.html of a folder renders in Chromium (a screenshot beside it).
fn renders(chromium: &Path, reports: &Path) -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let page = format!("file://{}", reports.join("report.html").display());
    let profile = dir.path().join("chromium-profile");
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ];
    let user_data = format!("--user-data-dir={}", profile.display());
    let dom = Command::new(chromium)
        .args(common)
        .arg(&user_data)
        .arg("--dump-dom")
        .arg(&page)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", chromium.display()))?;
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    for needle in ["id=\"matrix-version\"", "data-state=", "id=\"verdict\""] {
        ensure(dom_text.contains(needle), || {
            format!("the rendered DOM lacks {needle:?}:\n{}", text(&dom))
        })?;
    }
    let png = reports.join("report.png");
    let shot = Command::new(chromium)
        .args(common)
        .arg(&user_data)
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1400,1000")
        .arg(&page)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", chromium.display()))?;
    let bytes = std::fs::read(&png).map_err(|e| format!("no screenshot: {e}\n{}", text(&shot)))?;
    ensure(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), || {
        "not a PNG".into()
    })?;
    ensure(bytes.len() > 20_000, || {
        format!(
            "a {} byte screenshot is too small to hold the report",
            bytes.len()
        )
    })?;
    Ok(())
}

/// A webhook that allows everything is not certified: exit 1, and the failures name the
/// denied cases with the expected and actual decisions.
fn an_engine_that_allows_everything_is_not_certified() -> Result<(), Failed> {
    let engine = TestEngine::start(Mode::AllowAll);
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let cases = cases();
    let out = pss(&[
        "certify",
        "--cases",
        &cases.to_string_lossy(),
        "--control",
        "privileged",
        "--version",
        "latest",
        "--target",
        "webhook",
        "--webhook-url",
        &engine.url,
        "--ca-cert",
        &engine.ca.to_string_lossy(),
        "--out",
        &dir.path().to_string_lossy(),
    ])?;
    ensure(out.status.code() == Some(1), || text(&out))?;
    let report = read_json(&dir.path().join("report.json"))?;
    ensure(report["verdict"]["certified"] == false, || {
        report["verdict"].to_string()
    })?;
    let failures = report["failures"].as_array().cloned().unwrap_or_default();
    let pod = failures.iter().find(|f| {
        f["trial"] == "[psa] baseline/privileged/privileged-container@latest/Pod"
            && f["aspect"] == "decision"
    });
    let Some(pod) = pod else {
        return Err(format!("no decision failure for the privileged pod in {failures:#?}").into());
    };
    ensure(pod["problems"][0]["expected"] == "denied", || {
        pod.to_string()
    })?;
    ensure(pod["problems"][0]["actual"] == "allowed", || {
        pod.to_string()
    })?;
    Ok(())
}

/// The in-process engine's scenarios at `latest` for the privileged control that fail
/// `check`: where an engine dropping that check answers differently (another decision
/// when it was the only one, other reasons otherwise).
fn decided_only_by(check: &str) -> Result<BTreeSet<String>, Failed> {
    use pss_harness::run;
    let suite = pss_harness::loader::load(&[cases()], Some(&cases())).map_err(|e| e.to_string())?;
    let filter = pss_harness::scenario::Filter {
        controls: vec![pss_harness::control::Control::Privileged],
        versions: Some(vec![pss::Version::Latest]),
        ..Default::default()
    };
    let targets = run::Targets::in_process(&[pss_harness::profile::Profile::Psa])
        .map_err(|e| e.to_string())?;
    let target = targets
        .get(&pss_harness::profile::Profile::Psa)
        .ok_or("no psa target")?;
    let psa = pss_harness::profile::Profile::Psa;
    let mut out = BTreeSet::new();
    for s in pss_harness::diff::scenarios(&suite, &psa, &psa, &filter) {
        let object = run::object_for(&s.case, s.kind).map_err(|e| e.to_string())?;
        let outcome = run::admit(target, &s.case, s.version, &object).map_err(|e| e.to_string())?;
        if outcome.reasons().contains(&check) {
            out.insert(s.id());
        }
    }
    Ok(out)
}

/// `diff` against an engine that drops the privileged check lists exactly the scenarios
/// that fail it, and exits 1; against a faithful one it finds nothing.
fn diff_reports_a_dropped_check_with_the_exact_cases() -> Result<(), Failed> {
    let engine = TestEngine::start(Mode::Faithful);
    let cases = cases();
    let cases = cases.to_string_lossy();
    let ca = engine.ca.to_string_lossy().into_owned();
    let args = |format: &'static str| {
        vec![
            "diff".to_owned(),
            "--cases".into(),
            cases.to_string(),
            "--control".into(),
            "privileged".into(),
            "--version".into(),
            "latest".into(),
            "--target".into(),
            "in-process".into(),
            "--target".into(),
            "webhook".into(),
            "--webhook-url".into(),
            engine.url.clone(),
            "--ca-cert".into(),
            ca.clone(),
            "--format".into(),
            format.into(),
        ]
    };
    let run = |format| {
        let owned = args(format);
        let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
        pss(&refs)
    };
    let same = run("human")?;
    ensure(same.status.code() == Some(0), || text(&same))?;
    let stdout = String::from_utf8_lossy(&same.stdout);
    ensure(stdout.contains(", 0 differ, "), || text(&same))?;
    engine.set_mode(Mode::DropCheck("privileged"));
    let broken = run("json")?;
    ensure(broken.status.code() == Some(1), || text(&broken))?;
    let report: Value = serde_json::from_slice(&broken.stdout).map_err(|e| e.to_string())?;
    let listed: BTreeSet<String> = report["differences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["scenario"].as_str().map(str::to_owned))
        .collect();
    let expected = decided_only_by("privileged")?;
    ensure(!expected.is_empty() && listed == expected, || {
        format!(
            "listed but not expected: {:?}\nexpected but not listed: {:?}",
            listed.difference(&expected).collect::<Vec<_>>(),
            expected.difference(&listed).collect::<Vec<_>>()
        )
    })?;
    let human = run("human")?;
    let stdout = String::from_utf8_lossy(&human.stdout);
    ensure(
        stdout.starts_with("privileged @ latest: ")
            && stdout
                .contains("baseline/privileged/privileged-container@latest/Pod (decision differs)"),
        || text(&human),
    )?;
    Ok(())
}

const ACME_PROFILE: &str = "apiVersion: pss-harness.io/v1
kind: Profile
name: acme-guard
description: a test webhook that says PSA's decisions in its own words
deny: [Pod]
warn: [PodTemplate, ReplicationController, ReplicaSet, Deployment, StatefulSet, DaemonSet, Job, CronJob]
versions: latest
reasons:
  pattern: '\\[(?P<reason>[^]]+)\\]'
messages: pin
";

/// An engine whose wording the harness does not model certifies through a profile file:
/// `--goldens record` writes its snapshots, a second run checks them (decisions and
/// messages conform), and a change of wording is a message failure, not a decision one.
fn an_engine_with_its_own_words_certifies_through_a_profile_file() -> Result<(), Failed> {
    let engine = TestEngine::start(Mode::Acme {
        brand: "ACME Guard",
    });
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let profile = dir.path().join("acme-guard.yaml");
    std::fs::write(&profile, ACME_PROFILE).map_err(|e| e.to_string())?;
    let golden = dir.path().join("golden");
    let cases = cases();
    let certify = |goldens: &str, out: &str, extra: &[&str]| {
        let out_dir = dir.path().join(out);
        let mut args = vec![
            "certify",
            "--cases",
            cases.to_str().unwrap_or_default(),
            "--control",
            "privileged",
            "--profile",
            profile.to_str().unwrap_or_default(),
            "--target",
            "webhook",
            "--webhook-url",
            &engine.url,
            "--ca-cert",
            engine.ca.to_str().unwrap_or_default(),
            "--golden",
            golden.to_str().unwrap_or_default(),
            "--goldens",
            goldens,
        ];
        let out_arg = out_dir.to_string_lossy().into_owned();
        args.extend(["--out", &out_arg]);
        args.extend(extra);
        pss(&args).map(|o| (o, out_dir))
    };
    let (recorded, out) = certify("record", "recorded", &[])?;
    ensure(recorded.status.code() == Some(0), || {
        format!("{}\n{}", text(&recorded), failures(&out))
    })?;
    let snaps = count_files(&golden.join("acme-guard"), ".snap");
    let report = read_json(&out.join("report.json"))?;
    ensure(
        snaps > 0 && report["verdict"]["messages"]["recorded"].as_u64() == Some(snaps as u64),
        || format!("{snaps} snapshots; {}", report["verdict"]),
    )?;
    let snapshot = std::fs::read_to_string(
        golden.join("acme-guard/baseline/privileged/privileged-container.snap"),
    )
    .map_err(|e| e.to_string())?;
    ensure(
        snapshot.contains("ACME Guard refused Pod privileged-container: [privileged]"),
        || snapshot.clone(),
    )?;
    let (checked, out) = certify("check", "checked", &["--require-messages"])?;
    ensure(checked.status.code() == Some(0), || text(&checked))?;
    let report = read_json(&out.join("report.json"))?;
    let v = &report["verdict"];
    ensure(
        v["certified"] == true
            && v["decisions"]["conforming"].as_u64().unwrap_or(0) > 0
            && v["messages"]["goldens"]["conforming"].as_u64() == Some(snaps as u64)
            && v["messages"]["goldens"]["nonConforming"] == 0,
        || v.to_string(),
    )?;
    ensure(
        report["engine"]["profileFile"]["sha256"].is_string(),
        || report["engine"].to_string(),
    )?;
    engine.set_mode(Mode::Acme {
        brand: "ACME Guard 2",
    });
    let (reworded, out) = certify("check", "reworded", &[])?;
    ensure(reworded.status.code() == Some(0), || text(&reworded))?;
    let report = read_json(&out.join("report.json"))?;
    let v = &report["verdict"];
    ensure(
        v["certified"] == true
            && v["messages"]["conforms"] == false
            && v["messages"]["goldens"]["nonConforming"].as_u64() == Some(snaps as u64),
        || v.to_string(),
    )?;
    let (strict, _) = certify("check", "strict", &["--require-messages"])?;
    ensure(strict.status.code() == Some(1), || text(&strict))?;
    Ok(())
}

/// The upstream PSA webhook and the local control plane, when built: their paths, or why
/// not.
fn upstream_binaries() -> Result<(PathBuf, PathBuf), String> {
    let assets = live::control_plane_bin()?;
    let webhook = live::psa_webhook_bin()?;
    Ok((assets, webhook))
}

/// The upstream PSA webhook behind a local control plane (built-in PSA off): `certify`
/// at `latest` conforms in every decision and message, its reports parse and its page
/// renders, and `diff` against the in-process engine finds nothing.
fn upstream_webhook_certifies(
    assets: &Path,
    webhook: &Path,
    chromium: Option<&Path>,
) -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let engine_cmd = format!(
        "{} --kubeconfig {{kubeconfig}} --config {{psa-config}} --tls-cert-file {{cert}} \
         --tls-private-key-file {{key}} --bind-address {{host}} --secure-port {{port}}",
        webhook.display()
    );
    let cases = cases();
    let cluster = [
        "--cluster",
        "local",
        "--control-plane-bin",
        assets.to_str().unwrap_or_default(),
        "--builtin-psa",
        "off",
        "--engine-cmd",
        &engine_cmd,
    ];
    let mut args = vec![
        "certify",
        "--cases",
        cases.to_str().unwrap_or_default(),
        "--version",
        "latest",
        "--target",
        "cluster",
        "--out",
        dir.path().to_str().unwrap_or_default(),
    ];
    args.extend(cluster);
    let out = pss(&args)?;
    ensure(out.status.code() == Some(0), || text(&out))?;
    let report = valid_report(dir.path())?;
    let v = &report["verdict"];
    ensure(
        v["decisions"]["nonConforming"] == 0
            && v["decisions"]["conforming"].as_u64().unwrap_or(0) > 500
            && v["messages"]["conforms"] == true,
        || v.to_string(),
    )?;
    ensure(
        report["engine"]["webhook"] == "pod-security-webhook.kubernetes.io"
            && report["engine"]["serverVersion"]
                .as_str()
                .is_some_and(|s| s.starts_with("v1.")),
        || report["engine"].to_string(),
    )?;
    render_if_possible(dir.path(), chromium)?;
    let mut args = vec![
        "diff",
        "--cases",
        cases.to_str().unwrap_or_default(),
        "--version",
        "latest",
        "--target",
        "in-process",
        "--target",
        "cluster",
    ];
    args.extend(cluster);
    let diff = pss(&args)?;
    ensure(diff.status.code() == Some(0), || text(&diff))?;
    Ok(())
}

/// `$PSS_HARNESS_REPORTS`: a folder `certify` wrote (scripts/certify-upstream.sh sets it);
/// its reports parse and its page renders (Chromium required when
/// `$PSS_HARNESS_REQUIRE_CHROMIUM` is set).
fn saved_reports_parse_and_render(dir: &Path, chromium: Option<&Path>) -> Result<(), Failed> {
    if dir.is_relative() {
        // cargo runs tests in the crate's folder, so a relative path would silently point
        // somewhere else than where the caller wrote the reports.
        return Err(format!(
            "PSS_HARNESS_REPORTS must be an absolute path, got {}",
            dir.display()
        )
        .into());
    }
    valid_report(dir)?;
    render_if_possible(dir, chromium)
}

/// The page in `dir` renders in Chromium; without Chromium, SKIPPED is printed for that
/// part (a failure when `$PSS_HARNESS_REQUIRE_CHROMIUM` is set).
fn render_if_possible(dir: &Path, chromium: Option<&Path>) -> Result<(), Failed> {
    match (chromium, std::env::var_os("PSS_HARNESS_REQUIRE_CHROMIUM")) {
        (Some(c), _) => renders(c, dir),
        (None, Some(_)) => Err("chromium is required but not installed".into()),
        (None, None) => {
            println!(
                "SKIPPED: rendering {}/report.html: chromium is not installed",
                dir.display()
            );
            Ok(())
        }
    }
}

fn main() {
    let args = Arguments::from_args();
    let chromium = chromium();
    let saved_chromium = chromium.clone();
    let live_chromium = chromium.clone();
    let upstream = upstream_binaries();
    let mut trials = vec![
        Trial::test(
            "certify::reports_parse_and_follow_the_schema",
            reports_parse_and_follow_the_schema,
        ),
        Trial::test(
            "certify::an_engine_that_allows_everything_is_not_certified",
            an_engine_that_allows_everything_is_not_certified,
        ),
        Trial::test(
            "diff::a_dropped_check_is_reported_with_the_exact_cases",
            diff_reports_a_dropped_check_with_the_exact_cases,
        ),
        Trial::test(
            "profile_file::an_engine_with_its_own_words_certifies",
            an_engine_with_its_own_words_certifies_through_a_profile_file,
        ),
    ];
    if chromium.is_none() && std::env::var_os("PSS_HARNESS_REQUIRE_CHROMIUM").is_none() {
        println!("SKIPPED: certify::html_renders_in_chromium: chromium is not installed");
    }
    trials.push(Trial::ignorable_test(
        "certify::html_renders_in_chromium",
        move || match &chromium {
            None if std::env::var_os("PSS_HARNESS_REQUIRE_CHROMIUM").is_some() => {
                Err("PSS_HARNESS_REQUIRE_CHROMIUM is set but chromium is not installed".into())
            }
            None => Ok(Completion::ignored_with(
                "chromium is not installed (apt-get install chromium, or set CHROMIUM)",
            )),
            Some(path) => html_renders_in_chromium(path).map(|()| Completion::Completed),
        },
    ));
    let saved = std::env::var_os("PSS_HARNESS_REPORTS").map(PathBuf::from);
    if saved.is_none() {
        println!(
            "SKIPPED: reports::saved_reports_parse_and_render: PSS_HARNESS_REPORTS is not set \
             (scripts/certify-upstream.sh sets it)"
        );
    }
    trials.push(Trial::ignorable_test(
        "reports::saved_reports_parse_and_render",
        move || match &saved {
            None => Ok(Completion::ignored_with(
                "set PSS_HARNESS_REPORTS to a folder certify wrote",
            )),
            Some(dir) => saved_reports_parse_and_render(dir, saved_chromium.as_deref())
                .map(|()| Completion::Completed),
        },
    ));
    // `.ci/run` builds both and sets PSS_CONTROL_PLANE=require: missing is then a failure.
    let require = std::env::var("PSS_CONTROL_PLANE").is_ok_and(|v| v == "require");
    if let (Err(why), false) = (&upstream, require) {
        println!("SKIPPED: live::upstream_psa_webhook_certifies: {why}");
    }
    trials.push(Trial::ignorable_test(
        "live::upstream_psa_webhook_certifies",
        move || match &upstream {
            Err(why) if require => Err(format!("PSS_CONTROL_PLANE=require: {why}").into()),
            Err(why) => Ok(Completion::ignored_with(why.clone())),
            Ok((assets, webhook)) => {
                upstream_webhook_certifies(assets, webhook, live_chromium.as_deref())
                    .map(|()| Completion::Completed)
            }
        },
    ));
    libtest_mimic::run(&args, trials).exit();
}
