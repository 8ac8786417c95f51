//! The `pss-harness` binary on temporary files: exit codes, report shapes, goldens.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::json;

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

const BUNDLE: &str = "apiVersion: v1
kind: Pod
metadata: {name: early}
spec: {containers: [{name: c, securityContext: {privileged: true}}]}
---
apiVersion: v1
kind: Namespace
metadata:
  name: team-a
  labels: {pod-security.kubernetes.io/enforce: baseline, pod-security.kubernetes.io/audit: restricted}
---
apiVersion: v1
kind: Pod
metadata: {name: late}
spec: {containers: [{name: c, securityContext: {privileged: true}}]}
";

#[test]
fn check_with_a_namespace_document_uses_its_labels_for_what_follows() {
    let out = pss(&["check", "-"], Some(BUNDLE));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "<stdin>#0 Pod/early: allowed");
    assert_eq!(lines[1], "  audit enforce-policy: privileged:latest");
    assert_eq!(lines[2], "<stdin>#1 Namespace/team-a: allowed");
    assert_eq!(
        lines[3],
        format!(
            "<stdin>#2 Pod/late: denied (403 Forbidden): pods \"late\" is forbidden: violates \
             PodSecurity \"baseline:latest\": privileged ({DETAIL})"
        )
    );
    assert!(
        lines[4].starts_with(
            "  audit audit-violations: would violate PodSecurity \"restricted:latest\": privileged"
        ),
        "{text}"
    );
    assert_eq!(lines[5], "  audit enforce-policy: baseline:latest");
    assert_eq!(lines.len(), 6, "{text}");
}

#[test]
fn check_with_namespace_labels_prints_warnings_and_annotations_as_json() {
    let deployment = "apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  selector: {}
  template: {spec: {containers: [{name: c, securityContext: {privileged: true}}]}}
";
    let out = pss(
        &[
            "check",
            "-",
            "--format",
            "json",
            "--namespace-labels",
            "enforce=baseline,warn=baseline,audit=baseline",
            "--namespace",
            "team-b",
        ],
        Some(deployment),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let warning = format!("would violate PodSecurity \"baseline:latest\": privileged ({DETAIL})");
    assert_eq!(
        v,
        serde_json::json!({
            "file": "<stdin>", "doc": 0, "kind": "Deployment", "name": "d",
            "policy": "baseline:latest", "allowed": true,
            "results": [{"reason": "privileged", "detail": DETAIL}],
            "message": warning,
            "namespace": "team-b",
            "warnings": [warning],
            "audit_annotations": {"audit-violations": warning},
        })
    );
    let bad = pss(&["check", "-", "--namespace-labels", "enforce"], None);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("expected key=value"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn check_with_an_admission_config_and_user_applies_exemptions() {
    let ws = Workspace::new(&[]);
    let config = ws.path("admission.yaml");
    std::fs::write(
        &config,
        "apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults: {enforce: restricted}
    exemptions: {usernames: [admin]}
",
    )
    .unwrap();
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c}]}\n";
    let cfg = config.to_str().unwrap();
    let denied = pss(&["check", "-", "--admission-config", cfg], Some(pod));
    assert_eq!(denied.status.code(), Some(1));
    assert!(
        stdout(&denied).starts_with(
            "<stdin>#0 Pod/p: denied (403 Forbidden): pods \"p\" is forbidden: violates \
             PodSecurity \"restricted:latest\": allowPrivilegeEscalation != false"
        ),
        "{}",
        stdout(&denied)
    );
    let exempt = pss(
        &["check", "-", "--admission-config", cfg, "--user", "admin"],
        Some(pod),
    );
    assert_eq!(exempt.status.code(), Some(0), "{}", stderr(&exempt));
    assert_eq!(
        stdout(&exempt),
        "<stdin>#0 Pod/p: allowed\n  audit exempt: user\n"
    );
    std::fs::write(
        &config,
        "apiVersion: pod-security.admission.config.k8s.io/v1
kind: PodSecurityConfiguration
defaults: {enforce: Restricted}
",
    )
    .unwrap();
    let invalid = pss(&["check", "-", "--admission-config", cfg], Some(pod));
    assert_eq!(invalid.status.code(), Some(2));
    assert!(
        stderr(&invalid).contains(&format!(
            "{cfg}:3:21: invalid PodSecurityConfiguration: defaults.enforce: Invalid value: \
             \"Restricted\""
        )),
        "{}",
        stderr(&invalid)
    );
}

#[test]
fn check_without_admission_flags_behaves_as_before() {
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c}]}\n";
    let out = pss(&["check", "-", "--format", "json"], Some(pod));
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert!(
        v.get("warnings").is_none() && v.get("audit_annotations").is_none(),
        "{v}"
    );
}

/// A Kyverno policy: rule `baseline` for Pods, Enforce.
const KYVERNO_POLICY: &str = "apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: baseline-policy}
spec:
  validationFailureAction: Enforce
  rules:
    - name: baseline
      match: {any: [{resources: {kinds: [Pod]}}]}
      validate: {podSecurity: {level: baseline, version: latest}}
";

#[test]
fn run_kyverno_profiles_with_policy_files() {
    let ws = Workspace::new(&[("baseline/p.yaml", DENIED), ("baseline/q.yaml", ALLOWED)]);
    let policy = ws.path("policy.yaml");
    std::fs::write(&policy, KYVERNO_POLICY).unwrap();
    let p = policy.to_str().unwrap();
    // No policy for a baseline case (none given, none bundled): the trials fail.
    let none = ws.run(&["--profile", "kyverno@v1.19", "--goldens", "skip"]);
    assert_eq!(none.status.code(), Some(1));
    assert!(stdout(&none).contains("no Kyverno policy for case baseline/p/priv"));
    // Kyverno runs at latest only, a denied pod as Pod and the 7 controllers (and a golden).
    let out = ws.run(&[
        "--profile",
        "kyverno@1.16.2",
        "--policy",
        p,
        "--goldens",
        "accept",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = v["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"baseline/p/priv@latest/CronJob"), "{ids:?}");
    assert!(
        !ids.iter()
            .any(|i| i.contains("v1.36") || i.ends_with("PodTemplate"))
    );
    assert_eq!(ids.len(), 8 + 1 + 1, "{ids:?}");
    assert_eq!(v["trials"][0]["profile"], "kyverno@v1.12");
    let snap = ws.path("golden/kyverno@v1.12/baseline/p/priv.snap");
    let body = std::fs::read_to_string(snap).unwrap();
    assert!(
        body.contains(
            "    resource Deployment/default/priv was blocked due to the following policies \n"
        ),
        "{body}"
    );
    assert!(
        body.contains("      autogen-cronjob-baseline: 'Validation rule"),
        "{body}"
    );
    // A malformed policy is an input error at its field.
    std::fs::write(
        &policy,
        KYVERNO_POLICY.replace("level: baseline", "level: strict"),
    )
    .unwrap();
    let bad = ws.run(&["--profile", "kyverno@v1.19", "--policy", p]);
    assert_eq!(bad.status.code(), Some(2));
    let want = format!("{p}:9:39: ClusterPolicy.kyverno.io \"baseline-policy\" is invalid");
    assert!(stderr(&bad).contains(&want), "{}", stderr(&bad));
}

#[test]
fn known_divergences_are_reported_as_such() {
    let case = "control: sysctls
level: baseline
cases:
- name: new-safe-sysctl
  versions: latest
  pod:
    securityContext: {sysctls: [{name: net.ipv4.tcp_notsent_lowat, value: '16384'}]}
    containers: [{name: app}]
  expect: {allowed: true}
  profiles:
    kyverno:
      allowed: false
      reasons: [forbidden sysctls]
      divergence: Kyverno's latest is PSA 1.34
";
    let ws = Workspace::new(&[("baseline/s.yaml", case)]);
    let policy = ws.path("policy.yaml");
    std::fs::write(&policy, KYVERNO_POLICY).unwrap();
    let args = [
        "--profile",
        "psa",
        "--profile",
        "kyverno@v1.19",
        "--policy",
        policy.to_str().unwrap(),
        "--goldens",
        "accept",
    ];
    let out = ws.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(
        stdout(&out),
        "DIVERGENCE [kyverno@v1.19] baseline/s/new-safe-sysctl@latest/Pod: \
         Kyverno's latest is PSA 1.34\n2 passed, 0 failed, 0 skipped, 1 known divergences\n"
    );
    let mut json_args = args.to_vec();
    json_args.extend(["--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&ws.run(&json_args).stdout).unwrap();
    let kyverno = &v["trials"][1];
    assert_eq!(kyverno["status"], "known_divergence");
    assert_eq!(kyverno["divergence"], "Kyverno's latest is PSA 1.34");
    assert_eq!(v["summary"]["diverged"], 1);
}

#[test]
fn check_with_kyverno_prints_one_record_per_document_and_rule() {
    let ws = Workspace::new(&[]);
    let policy = ws.path("policy.yaml");
    std::fs::write(&policy, KYVERNO_POLICY).unwrap();
    let file = ws.path("m.yaml");
    std::fs::write(&file, STREAM).unwrap();
    let args = [
        "check",
        "--policy",
        policy.to_str().unwrap(),
        "--profile",
        "kyverno@v1.12",
        "--format",
        "json",
        file.to_str().unwrap(),
    ];
    let out = pss(&args, None);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    let denied = &lines[0];
    assert_eq!(
        (
            &denied["doc"],
            &denied["kind"],
            &denied["name"],
            &denied["policy"]
        ),
        (
            &json!(0),
            &json!("Pod"),
            &json!("p"),
            &json!("baseline-policy")
        )
    );
    assert_eq!(
        (&denied["rule"], &denied["status"]),
        (&json!("baseline"), &json!("fail"))
    );
    assert!(
        denied["rule_message"]
            .as_str()
            .unwrap()
            .starts_with("Validation rule 'baseline' failed. It violates PodSecurity")
    );
    let apiserver = denied["apiserver_text"].as_str().unwrap();
    let denial = denied["denial"].as_str().unwrap();
    assert_eq!(
        apiserver,
        format!("admission webhook \"validate.kyverno.svc-fail\" denied the request: {denial}")
    );
    assert!(denial.starts_with("\n\nresource Pod/default/p was blocked"));
    assert_eq!(
        (&lines[1]["status"], &lines[1]["denial"]),
        (&json!("pass"), &json!(null))
    );
    assert_eq!(lines[2]["kind"], "ConfigMap");
    let human = pss(&args[..args.len() - 3], None);
    assert_eq!(human.status.code(), Some(2), "--format missing a file");
    let mut human_args = args.to_vec();
    human_args.retain(|a| *a != "--format" && *a != "json");
    let text = stdout(&pss(&human_args, None));
    assert!(
        text.contains("#0 Pod/p baseline-policy/baseline: fail: Validation rule"),
        "{text}"
    );
    assert!(
        text.contains("  denied: admission webhook \"validate.kyverno.svc-fail\""),
        "{text}"
    );
    let no_policy = pss(
        &[
            "check",
            "--profile",
            "kyverno@v1.19",
            file.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(no_policy.status.code(), Some(2));
    assert!(
        stderr(&no_policy).contains("needs --policy"),
        "{}",
        stderr(&no_policy)
    );
    std::fs::write(
        &policy,
        KYVERNO_POLICY.replace("version: latest", "version: v1.99"),
    )
    .unwrap();
    let bad = pss(&args, None);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("policy.yaml:9:58: ClusterPolicy"),
        "{}",
        stderr(&bad)
    );
}

/// kubectl's view of the seed denial on the v1.10-v1.11 line (the spaces after `request:`
/// and `policies` are real).
const SEED_KUBECTL: &str = "Error from server: admission webhook \"validate.kyverno.svc-fail\" denied the request: \n\nresource Pod/default/privileged-pod was blocked due to the following policies \n\nbaseline-policy:\n  baseline: |\n    Validation rule 'baseline' failed. It violates PodSecurity \"baseline:latest\": ({Allowed:false ForbiddenReason:privileged ForbiddenDetail:container \"privileged-pod\" must not set securityContext.privileged=true})\n";

#[test]
fn seed_denial_is_kubectls_text_on_the_v1_10_line() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cases = root.join("cases");
    // Through the bundled seed case and the in-process target...
    let suite =
        pss_harness::loader::load(&[cases.join("autogen/seed.yaml")], Some(&cases)).unwrap();
    let case = suite
        .cases
        .iter()
        .find(|c| c.id == "autogen/seed/privileged-pod-baseline-policy")
        .unwrap();
    let profile: pss_harness::profile::Profile = "kyverno@v1.10".parse().unwrap();
    let targets = pss_harness::run::Targets::in_process(std::slice::from_ref(&profile)).unwrap();
    let target = targets.for_case(&profile, case).unwrap();
    let outcome =
        pss_harness::run::admit(target.get(), case, pss::Version::Latest, &case.object).unwrap();
    let status = outcome.status.unwrap();
    assert_eq!(
        format!("Error from server: {}", status.message),
        SEED_KUBECTL
    );
    // ...and through `check` with the bundled policy.
    let out = pss(
        &[
            "check",
            "--profile",
            "kyverno@v1.10",
            "--policy",
            cases
                .join("policies/baseline-policy.yaml")
                .to_str()
                .unwrap(),
            "--format",
            "json",
            cases
                .join("autogen/_manifests/privileged-pod.yaml")
                .to_str()
                .unwrap(),
        ],
        None,
    );
    let record: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = record["apiserver_text"].as_str().unwrap();
    assert_eq!(format!("Error from server: {text}"), SEED_KUBECTL);
}
