//! The `pss-harness` binary on temporary files: exit codes, report shapes, goldens.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_pss-harness");

const ALLOWED: &str = "control: privileged
cases:
- name: plain
  pod: {containers: [{name: app}]}
  expect: {allowed: true}
";

const DENIED: &str = "control: privileged
cases:
- name: priv
  versions: '>=v1.36'
  pod: {containers: [{name: app, securityContext: {privileged: true}}]}
  expect: {allowed: false, reasons: [privileged]}
";

/// A temporary workspace with `cases/` and `golden/`.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new(files: &[(&str, &str)]) -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join("cases").join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        Workspace { dir }
    }

    fn cases(&self) -> PathBuf {
        self.dir.path().join("cases")
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn run(&self, args: &[&str]) -> Output {
        let cases = self.cases();
        let mut all = vec!["run", "--cases", cases.to_str().unwrap()];
        all.extend_from_slice(args);
        pss(&all, None)
    }
}

fn pss(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn run_passes_and_prints_the_summary_line() {
    let ws = Workspace::new(&[("baseline/p.yaml", ALLOWED)]);
    let out = ws.run(&[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(stdout(&out), "39 passed, 0 failed, 0 skipped\n");
}

#[test]
fn goldens_are_required_accepted_and_compared() {
    let ws = Workspace::new(&[("baseline/p.yaml", DENIED)]);
    let missing = ws.run(&[]);
    assert_eq!(missing.status.code(), Some(1));
    let text = stdout(&missing);
    assert!(
        text.contains("FAIL baseline/p/priv/golden/psa: no golden snapshot"),
        "{text}"
    );
    assert!(
        text.ends_with("\n27 passed, 1 failed, 0 skipped\n"),
        "{text}"
    );

    let accepted = ws.run(&["--goldens", "accept"]);
    assert_eq!(accepted.status.code(), Some(0), "{}", stdout(&accepted));
    let snap = ws.path("golden/psa/baseline/p/priv.snap");
    let body = std::fs::read_to_string(&snap).unwrap();
    assert!(
        body.contains(
            "  v1.36..latest
    pods \"priv\" is forbidden: violates PodSecurity \"baseline:latest\""
        ),
        "{body}"
    );
    assert_eq!(ws.run(&[]).status.code(), Some(0));

    std::fs::write(
        &snap,
        body.replace("container \"app\"", "container \"apq\""),
    )
    .unwrap();
    let changed = ws.run(&[]);
    assert_eq!(changed.status.code(), Some(1));
    let text = stdout(&changed);
    assert!(text.contains("golden snapshot"), "{text}");
    let line = |sign: &str, name: &str| {
        format!(
            "    {sign}     pods \"priv\" is forbidden: violates PodSecurity \"baseline:latest\": \
             privileged (container \"{name}\""
        )
    };
    assert!(text.contains(&line("-", "apq")), "{text}");
    assert!(text.contains(&line("+", "app")), "{text}");

    let pending = ws.run(&["--goldens", "new"]);
    assert_eq!(pending.status.code(), Some(1));
    assert!(ws.path("golden/psa/baseline/p/priv.snap.new").is_file());
    assert_eq!(ws.run(&["--goldens", "skip"]).status.code(), Some(0));
}

#[test]
fn a_wrong_expectation_fails_with_a_readable_line() {
    let wrong = DENIED.replace(
        "allowed: false, reasons: [privileged]",
        "allowed: false, reasons: [privileged], contains: nope",
    );
    let ws = Workspace::new(&[("baseline/p.yaml", &wrong)]);
    let out = ws.run(&["--goldens", "skip", "--kind", "Pod", "--version", "latest"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "FAIL [psa] baseline/p/priv@latest/Pod: message does not contain \"nope\"\n"
        ),
        "{text}"
    );
    assert!(text.ends_with("0 passed, 1 failed, 0 skipped\n"), "{text}");
}

#[test]
fn input_errors_exit_2_with_file_line_column() {
    let ws = Workspace::new(&[(
        "baseline/p.yaml",
        "control: privileged
cases:
- name: a
  pod: {containers: [{name: app, securityContxt: {}}]}
  expect: {allowed: true}
",
    )]);
    let out = ws.run(&[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("baseline/p.yaml:4:34: unknown field `securityContxt` in Container"),
        "{err}"
    );
    assert!(err.contains("did you mean `securityContext`?"), "{err}");
    let usage = pss(&["run", "--shard", "3/2"], None);
    assert_eq!(usage.status.code(), Some(2), "{}", stderr(&usage));
    let missing = pss(&["run", "/nonexistent/cases.yaml"], None);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn shards_partition_the_trials() {
    let ws = Workspace::new(&[("baseline/p.yaml", DENIED), ("baseline/q.yaml", ALLOWED)]);
    ws.run(&["--goldens", "accept"]);
    let count = |args: &[&str]| -> u64 {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        let out = ws.run(&all);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["trials"].as_array().unwrap().len() as u64
    };
    let total = count(&[]);
    assert_eq!(total, 28 + 39);
    let parts: Vec<u64> = (1..=3)
        .map(|i| count(&["--shard", &format!("{i}/3")]))
        .collect();
    assert_eq!(parts.iter().sum::<u64>(), total, "{parts:?}");
    assert!(parts.iter().all(|&n| n > 0), "{parts:?}");
}

#[test]
fn json_and_junit_reports() {
    let ws = Workspace::new(&[("baseline/q.yaml", ALLOWED)]);
    let out = ws.run(&["--format", "json", "--version", "latest"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["summary"],
        serde_json::json!({"passed": 1, "failed": 0, "skipped": 0})
    );
    let t = &v["trials"][0];
    assert_eq!(
        (t["id"].as_str(), t["status"].as_str(), t["kind"].as_str()),
        (
            Some("baseline/q/plain@latest/Pod"),
            Some("passed"),
            Some("Pod")
        )
    );

    let junit = ws.path("junit.xml");
    let out = ws.run(&[
        "--format",
        "junit",
        "--output",
        junit.to_str().unwrap(),
        "--name",
        "baseline/*/plain",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<testsuite name=\"psa\" tests=\"39\""),
        "{xml}"
    );
    assert!(stderr(&out).contains("39 passed, 0 failed, 0 skipped"));
}

const STREAM: &str = "apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: c, securityContext: {privileged: true}}]
---
{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"ok\"},
 \"spec\": {\"containers\": [{\"name\": \"c\"}]}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
";

const DETAIL: &str = "container \"c\" must not set securityContext.privileged=true";

#[test]
fn check_prints_one_json_object_per_document() {
    let ws = Workspace::new(&[]);
    let file = ws.path("m.yaml");
    std::fs::write(&file, STREAM).unwrap();
    let out = pss(
        &[
            "check",
            file.to_str().unwrap(),
            "--format",
            "json",
            "--level",
            "baseline",
            "--version",
            "v1.30",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[0],
        serde_json::json!({
            "file": file.to_str().unwrap(), "doc": 0, "kind": "Pod", "name": "p",
            "policy": "baseline:v1.30",
            "allowed": false,
            "results": [{"reason": "privileged", "detail": DETAIL}],
            "message": format!("pods \"p\" is forbidden: violates PodSecurity \"baseline:v1.30\": \
                                privileged ({DETAIL})"),
        })
    );
    assert_eq!(lines[1]["allowed"], true);
    assert!(lines[1].get("message").is_none());
    assert_eq!(lines[2]["error"]["line"], 11);
    assert_eq!(lines[2]["error"]["column"], 7);
}

#[test]
fn check_reads_stdin_and_exit_codes() {
    let ok = "apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\nspec: {containers: [{name: c}]}\n";
    let out = pss(&["check", "-"], Some(ok));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "<stdin>#0 Pod/ok: allowed at baseline:latest\n"
    );
    let bad_type = "apiVersion: v1\nkind: Pod\nspec: {hostPID: maybe, containers: []}\n";
    assert_eq!(pss(&["check", "-"], Some(bad_type)).status.code(), Some(2));
    let malformed = pss(&["check", "-"], Some("a: [\n"));
    assert_eq!(malformed.status.code(), Some(2));
    assert!(
        stderr(&malformed).contains("<stdin>:"),
        "{}",
        stderr(&malformed)
    );
    let deployment = "apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  selector: {}
  template: {spec: {hostNetwork: true, containers: [{name: c}]}}
";
    let out = pss(&["check", "-", "--format", "json"], Some(deployment));
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("would violate PodSecurity \"baseline:latest\": host namespaces"),
        "{v}"
    );
}

#[test]
fn coverage_fails_when_a_baseline_control_lacks_cases() {
    let ws = Workspace::new(&[("baseline/p.yaml", DENIED), ("baseline/q.yaml", ALLOWED)]);
    let cases = ws.cases();
    let out = pss(
        &[
            "coverage",
            "--cases",
            cases.to_str().unwrap(),
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let missing: Vec<&str> = v["missing"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    assert!(
        !missing.contains(&"privileged") && missing.contains(&"sysctls"),
        "{missing:?}"
    );
    let human = pss(&["coverage", "--cases", cases.to_str().unwrap()], None);
    assert!(
        stdout(&human).contains("privileged               baseline       1/1"),
        "{}",
        stdout(&human)
    );
}

#[test]
fn upstream_reports_agreement() {
    let ws = Workspace::new(&[]);
    let dir = ws.path("testdata/baseline/v1.5");
    for (sub, privileged) in [("pass", false), ("fail", true)] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
        let pod = format!(
            "apiVersion: v1
kind: Pod
metadata: {{name: p}}
spec:
  containers: [{{name: c, securityContext: {{privileged: {privileged}}}}}]
"
        );
        std::fs::write(dir.join(sub).join("privileged0.yaml"), pod).unwrap();
    }
    let out = pss(&["upstream", ws.path("testdata").to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(stdout(&out), "2/2 agreeing\n");
}

/// The real fixtures, when the shared folder is present (never copied into the repo).
#[test]
fn upstream_fixtures_when_present() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/upstream-psa-fixtures");
    if !dir.is_dir() {
        return;
    }
    let out = pss(&["upstream", dir.to_str().unwrap()], None);
    let text = stdout(&out);
    let last = text.lines().last().unwrap_or_default();
    let (agreeing, total) = last.trim_end_matches(" agreeing").split_once('/').unwrap();
    assert_eq!(agreeing, total, "{text}");
    assert!(total.parse::<u32>().unwrap() > 4000, "{text}");
    assert_eq!(out.status.code(), Some(0));
}

/// The strict reader has no false positives: every upstream fixture reads without an
/// unknown-field or type error.
#[test]
fn strict_reading_accepts_every_upstream_fixture() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/upstream-psa-fixtures");
    if !dir.is_dir() {
        return;
    }
    let mut stack = vec![dir];
    let mut n = 0;
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                pss_harness::manifest::manifest_file(&path).unwrap_or_else(|e| panic!("{e}"));
                n += 1;
            }
        }
    }
    assert!(n > 4000, "{n}");
}
