//! The in-process target says what the API server says.
//!
//! 1. Acceptance: when a namespace simply enforces `level:version`, the admission model's
//!    pod decisions and messages (and its controller warnings) agree with `pss::evaluate`
//!    on every bundled case scenario and on every upstream PSA fixture (kept outside the
//!    repository: `$PSS_UPSTREAM_FIXTURES`, else `../shared/upstream-psa-fixtures` next to
//!    the workspace; a `SKIPPED:` line says so when it is absent).
//! 2. The case-file features of admission cases: namespace cases, existing pods, label
//!    templates, configuration files, expected statuses, and their located errors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use libtest_mimic::{Arguments, Completion, Trial};
use pss::{Defaulting, Kind, Level, LevelVersion, Version, Workload};
use pss_harness::case::Case;
use pss_harness::judge::{self, Problem};
use pss_harness::loader;
use pss_harness::manifest;
use pss_harness::profile::Profile;
use pss_harness::scenario::{self, Scenario};
use pss_harness::target::psa::{InProcessPsa, LABEL_PREFIX};
use pss_harness::target::{AdmissionRequest, Outcome};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The labels of a namespace that only enforces `policy`.
fn enforcing(policy: LevelVersion) -> BTreeMap<String, String> {
    BTreeMap::from([
        (format!("{LABEL_PREFIX}enforce"), policy.level.to_string()),
        (
            format!("{LABEL_PREFIX}enforce-version"),
            policy.version.to_string(),
        ),
    ])
}

/// `Err` with the difference when the admission model and `pss::evaluate` disagree.
fn agree(object: &Workload, policy: LevelVersion, defaulting: Defaulting) -> Result<(), String> {
    let labels = enforcing(policy);
    let mut request = AdmissionRequest::create(object, "default", &labels);
    request.defaulting = defaulting;
    let outcome = InProcessPsa::default().answer(&request);
    let mut defaulted = object.clone();
    defaulting.apply(&mut defaulted);
    let verdict = pss::evaluate(&defaulted, policy);
    let reasons: Vec<&str> = verdict
        .evaluation
        .failures
        .iter()
        .map(|f| f.forbidden.reason)
        .collect();
    let (decision, message) = match object.kind().is_pod() {
        true => (
            outcome.allowed,
            outcome.status.as_ref().map(|s| s.message.clone()),
        ),
        // Controllers are allowed; the inherited warn level carries the verdict.
        false => (
            outcome.allowed && outcome.warnings.is_empty(),
            outcome.warnings.first().cloned(),
        ),
    };
    let extra_warnings = (object.kind().is_pod() && !outcome.warnings.is_empty())
        || outcome.warnings.len() > 1
        || !(outcome.allowed || object.kind().is_pod());
    if decision != verdict.allowed()
        || message != verdict.message
        || outcome.reasons() != reasons
        || extra_warnings
    {
        return Err(format!(
            "{} {} at {policy}: admission {outcome:?}, evaluate {:?}",
            object.kind(),
            object.name(),
            verdict.message
        ));
    }
    Ok(())
}

fn admission_agrees_with_evaluate_on_every_bundled_scenario() {
    let cases = workspace().join("cases");
    let suite = loader::load(std::slice::from_ref(&cases), Some(&cases)).unwrap();
    let (mut scenarios, mut problems) = (0, Vec::new());
    for case in suite.cases.iter().filter(|c| c.namespace_request.is_none()) {
        let defaulting = match case.raw {
            true => Defaulting::NONE,
            false => Defaulting::API_SERVER,
        };
        for &kind in &case.kinds {
            let object = manifest::as_kind(&case.object, kind).unwrap();
            for &version in &case.versions {
                scenarios += 1;
                let policy = LevelVersion::new(case.level, version);
                if let Err(e) = agree(&object, policy, defaulting) {
                    problems.push(format!("{}: {e}", case.id));
                }
            }
        }
    }
    assert!(scenarios > 10_000, "{scenarios} scenarios");
    assert!(
        problems.is_empty(),
        "{} of {scenarios} disagree:\n{}",
        problems.len(),
        problems[..problems.len().min(10)].join("\n")
    );
}

/// `$PSS_UPSTREAM_FIXTURES`, else the shared folder next to the workspace root.
fn fixtures_root() -> PathBuf {
    match std::env::var_os("PSS_UPSTREAM_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => workspace().join("../shared/upstream-psa-fixtures"),
    }
}

/// `(file, policy, expected allowed)` of every `<level>/<version>/<pass|fail>/*.yaml`.
fn fixtures(root: &Path) -> Vec<(PathBuf, LevelVersion, bool)> {
    let mut out = Vec::new();
    for level in [Level::Baseline, Level::Restricted] {
        let Ok(versions) = std::fs::read_dir(root.join(level.as_str())) else {
            continue;
        };
        for dir in versions.filter_map(Result::ok).map(|e| e.path()) {
            let Some(version) = dir
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.parse::<Version>().ok())
            else {
                continue;
            };
            for (sub, allowed) in [("pass", true), ("fail", false)] {
                let Ok(files) = std::fs::read_dir(dir.join(sub)) else {
                    continue;
                };
                for file in files.filter_map(Result::ok).map(|e| e.path()) {
                    if file.extension().is_some_and(|e| e == "yaml") {
                        out.push((file, LevelVersion::new(level, version), allowed));
                    }
                }
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn admission_agrees_with_evaluate_on_every_upstream_fixture() -> Completion {
    let root = fixtures_root();
    if !root.is_dir() {
        let reason = format!(
            "upstream fixtures not found at {} (set PSS_UPSTREAM_FIXTURES)",
            root.display()
        );
        println!("SKIPPED: {reason}");
        return Completion::ignored_with(reason);
    }
    let all = fixtures(&root);
    assert!(
        all.len() > 4000,
        "{} fixtures under {}",
        all.len(),
        root.display()
    );
    let mut problems = Vec::new();
    for (file, policy, expect_allowed) in &all {
        let pod = manifest::manifest_file(file).unwrap();
        if let Err(e) = agree(&pod, *policy, Defaulting::API_SERVER) {
            problems.push(format!("{}: {e}", file.display()));
        }
        let labels = enforcing(*policy);
        let outcome =
            InProcessPsa::default().answer(&AdmissionRequest::create(&pod, "ns", &labels));
        if outcome.allowed != *expect_allowed {
            problems.push(format!(
                "{}: expected allowed={expect_allowed}",
                file.display()
            ));
        }
    }
    println!("{} upstream fixtures agree", all.len() - problems.len());
    assert!(
        problems.is_empty(),
        "{} of {} disagree:\n{}",
        problems.len(),
        all.len(),
        problems[..problems.len().min(10)].join("\n")
    );
    Completion::Completed
}

// ---- case-file features ----

fn load(text: &str) -> Result<Vec<Case>, String> {
    loader::load_str(Path::new("cases/admission/t.yaml"), text, "admission/t")
        .map_err(|e| e.to_string())
}

fn one(text: &str) -> Arc<Case> {
    Arc::new(load(text).unwrap().remove(0))
}

fn err(text: &str) -> String {
    load(text).unwrap_err()
}

/// Judge every scenario of a case with the in-process target; the problems by scenario.
fn run(case: &Arc<Case>) -> Vec<(String, Vec<Problem>)> {
    let target = InProcessPsa::default();
    scenario::expand(case, &Profile::Psa)
        .map(|s| {
            let object = manifest::as_kind(&case.object, s.kind).unwrap();
            let outcome = pss_harness::run::admit(&target, case, s.version, &object).unwrap();
            let expect = case.expectation(&Profile::Psa).unwrap();
            (s.id(), judge::judge(&s, expect, &outcome))
        })
        .collect()
}

fn outcome_of(case: &Arc<Case>, version: Version) -> Outcome {
    let object = manifest::as_kind(&case.object, case.kinds[0]).unwrap();
    pss_harness::run::admit(&InProcessPsa::default(), case, version, &object).unwrap()
}

const HEAD: &str = "control: admission\nlevel: baseline\nversions: [v1.30, latest]\ncases:\n";

fn label_templates_fill_in_the_version_and_expectations_follow() {
    let case = one(&format!(
        "{HEAD}- name: a
  kinds: [Pod]
  namespace:
    labels:
      pod-security.kubernetes.io/enforce: '{{level}}'
      pod-security.kubernetes.io/enforce-version: '{{version}}'
  pod: {{hostPID: true, containers: [{{name: c}}]}}
  expect:
    allowed: false
    reasons: [host namespaces]
    status: {{code: 403, reason: Forbidden}}
    message: 'pods \"a\" is forbidden: violates PodSecurity \"baseline:{{version}}\": host namespaces (hostPID=true)'
    warnings: []
    audit: {{enforce-policy: 'baseline:{{version}}'}}
"
    ));
    let results = run(&case);
    assert_eq!(results.len(), 2);
    for (id, problems) in &results {
        assert!(problems.is_empty(), "{id}: {problems:?}");
    }
    assert_eq!(
        outcome_of(&case, Version::V1(30)).audit_annotations["enforce-policy"],
        "baseline:v1.30"
    );
}

fn explicit_labels_replace_the_defaults_even_when_empty() {
    let case = one(&format!(
        "{HEAD}- name: a
  kinds: [Pod]
  namespace: {{labels: {{}}}}
  pod: {{hostPID: true, containers: [{{name: c}}]}}
  expect: {{allowed: true, audit: {{enforce-policy: 'privileged:latest'}}}}
"
    ));
    assert!(case.namespace_labels(Version::Latest).is_empty());
    assert!(run(&case).iter().all(|(_, p)| p.is_empty()));
    let defaults = one(&format!(
        "{HEAD}- name: a
  pod: {{containers: [{{name: c}}]}}
  expect: {{allowed: true}}
"
    ));
    assert_eq!(
        defaults.namespace_labels(Version::V1(30))[&format!("{LABEL_PREFIX}enforce-version")],
        "v1.30"
    );
}

fn status_and_template_mismatches_are_reported() {
    let case = one(&format!(
        "{HEAD}- name: a
  kinds: [Pod]
  pod: {{hostPID: true, containers: [{{name: c}}]}}
  expect:
    allowed: false
    reasons: [host namespaces]
    status: {{code: 422}}
    audit: {{enforce-policy: 'baseline:v1.30'}}
"
    ));
    let results = run(&case);
    assert_eq!(
        results[0].1,
        [Problem::Status {
            expected: "422".into(),
            actual: "403 Forbidden".into()
        }]
    );
    assert_eq!(results[1].0, "admission/t/a@latest/Pod");
    assert_eq!(results[1].1.len(), 2, "{:?}", results[1].1);
    assert!(matches!(results[1].1[0], Problem::Audit { .. }));
    assert!(matches!(results[1].1[1], Problem::Status { .. }));
}

fn namespace_cases_send_a_namespace_request() {
    let case = one(&format!(
        "{HEAD}- name: relabel
  operation: UPDATE
  manifest:
    apiVersion: v1
    kind: Namespace
    metadata: {{name: team, labels: {{pod-security.kubernetes.io/enforce-version: '{{version}}', pod-security.kubernetes.io/enforce: baseline}}}}
  old:
    manifest: {{apiVersion: v1, kind: Namespace, metadata: {{name: team}}}}
  existing_pods:
  - pod: {{hostNetwork: true, containers: [{{name: c}}]}}
  - manifest: {{apiVersion: v1, kind: Pod, metadata: {{name: z}}, spec: {{hostNetwork: true, containers: [{{name: c}}]}}}}
  expect:
    allowed: true
    warnings:
    - 'existing pods in namespace \"team\" violate the new PodSecurity enforce level \"baseline:{{version}}\"'
    - 'relabel-0 (and 1 other pod): host namespaces'
    audit: {{}}
"
    ));
    assert_eq!(case.kinds, [Kind::Pod]);
    assert_eq!(case.kind_label(Kind::Pod), "Namespace");
    assert_eq!(case.namespace.name, "team");
    let request = case.namespace_request_at(Version::V1(30)).unwrap();
    assert_eq!(
        request.object.labels[&format!("{LABEL_PREFIX}enforce-version")],
        "v1.30"
    );
    assert_eq!(request.existing_pods.len(), 2);
    let results = run(&case);
    assert_eq!(results[0].0, "admission/t/relabel@v1.30/Namespace");
    for (id, problems) in &results {
        assert!(problems.is_empty(), "{id}: {problems:?}");
    }
}

fn refusals_other_than_forbidden_need_no_reasons() {
    let case = one(&format!(
        "{HEAD}- name: bad
  manifest: {{apiVersion: v1, kind: Namespace, metadata: {{name: bad, labels: {{pod-security.kubernetes.io/enforce: Baseline}}}}}}
  expect:
    allowed: false
    status: {{code: 422, reason: Invalid}}
    message: 'Namespace \"bad\" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: \"Baseline\": must be one of privileged, baseline, restricted'
"
    ));
    assert!(run(&case).iter().all(|(_, p)| p.is_empty()));
}

fn configuration_files_apply_and_their_errors_are_located() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("psa.yaml"),
        "apiVersion: pod-security.admission.config.k8s.io/v1
kind: PodSecurityConfiguration
exemptions: {usernames: [admin]}
",
    )
    .unwrap();
    let file = dir.path().join("c.yaml");
    let text = "control: admission
level: baseline
versions: latest
admission_config: psa.yaml
cases:
- name: a
  kinds: [Pod]
  user: admin
  pod: {hostPID: true, containers: [{name: c}]}
  expect: {allowed: true, audit: {exempt: user}}
- name: b
  kinds: [Pod]
  admission_config: nowhere.yaml
  pod: {containers: [{name: c}]}
  expect: {allowed: true}
"
    .to_owned();
    std::fs::write(&file, &text).unwrap();
    let e = loader::load(std::slice::from_ref(&file), None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("c.yaml:13:21: admission config file not found: nowhere.yaml"),
        "{e}"
    );
    let cut = text.split("- name: b").next().unwrap().to_owned();
    std::fs::write(&file, &cut).unwrap();
    let suite = loader::load(std::slice::from_ref(&file), None).unwrap();
    let case = &suite.cases[0];
    assert!(case.admission_config.is_some());
    assert!(run(case).iter().all(|(_, p)| p.is_empty()));

    std::fs::write(
        dir.path().join("psa.yaml"),
        "apiVersion: pod-security.admission.config.k8s.io/v1
kind: PodSecurityConfiguration
exemptions: {usernames: [admin, admin]}
",
    )
    .unwrap();
    let e = loader::load(std::slice::from_ref(&file), None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("psa.yaml:3:33: invalid PodSecurityConfiguration: exemptions.usernames[1]: Duplicate value: \"admin\""),
        "{e}"
    );
}

fn namespace_case_errors_are_located() {
    let ns = "manifest: {apiVersion: v1, kind: Namespace, metadata: {name: ns1}}";
    let cases = [
        (
            "- name: a
  pod: {containers: []}
  existing_pods: []
  expect: {allowed: true}
"
            .to_owned(),
            "t.yaml:7:18: `existing_pods` only applies to a Namespace case",
        ),
        (
            format!("- name: a\n  {ns}\n  namespace: {{name: x}}\n  expect: {{allowed: true}}\n"),
            "t.yaml:5:9: a Namespace case takes its name and labels from the Namespace object",
        ),
        (
            format!("- name: a\n  {ns}\n  kinds: [Pod]\n  expect: {{allowed: true}}\n"),
            "t.yaml:7:11: `kinds` does not apply to a Namespace case",
        ),
        (
            format!(
                "- name: a\n  operation: UPDATE\n  pod: {{containers: []}}\n  old: {{{ns}}}\n  expect: {{allowed: true}}\n"
            ),
            "t.yaml:8:8: the old object of a workload cannot be a Namespace",
        ),
        (
            format!(
                "- name: a\n  {ns}\n  existing_pods:\n  - manifest: {{apiVersion: apps/v1, kind: Deployment, metadata: {{name: d}}, spec: {{selector: {{}}, template: {{}}}}}}\n  expect: {{allowed: true}}\n"
            ),
            "t.yaml:8:5: an existing pod must be a Pod, found a Deployment",
        ),
        (
            format!(
                "- name: a\n  {ns}\n  existing_pods:\n  - pod: {{containers: [{{name: c, securityContxt: {{}}}}]}}\n  expect: {{allowed: true}}\n"
            ),
            "t.yaml:8:34: unknown field `securityContxt` in Container",
        ),
        (
            "- name: a
  pod: {containers: []}
  expect: {allowed: true, status: {code: 403}}
"
            .to_owned(),
            "t.yaml:7:27: `status` only applies when `allowed: false`",
        ),
        (
            "- name: a
  pod: {containers: []}
  expect: {allowed: false, status: {code: 403}}
"
            .to_owned(),
            "t.yaml:7:11: `reasons` is required when `allowed: false`",
        ),
    ];
    for (body, want) in cases {
        let got = err(&format!("{HEAD}{body}"));
        assert!(
            got.starts_with(&format!("cases/admission/{want}")),
            "\n got: {got}\nwant: {want}"
        );
    }
}

fn scenario_ids_of_workload_cases_keep_their_kind() {
    let case = one(&format!(
        "{HEAD}- name: a\n  pod: {{hostPID: true, containers: [{{name: c}}]}}\n  expect: {{allowed: false, reasons: [host namespaces]}}\n"
    ));
    let ids: Vec<String> = scenario::expand(&case, &Profile::Psa)
        .map(|s: Scenario| s.id())
        .collect();
    assert_eq!(ids.len(), 18);
    assert_eq!(ids[2], "admission/t/a@v1.30/PodTemplate");
    assert!(case.has_golden(&Profile::Psa));
}

/// A libtest-mimic harness (not `#[test]`), so that the upstream-fixture trial is reported
/// as ignored, with its reason, when the fixtures are absent instead of passing silently.
fn main() {
    let args = Arguments::from_args();
    let trials = vec![
        Trial::test(
            "admission_agrees_with_evaluate_on_every_bundled_scenario",
            || {
                admission_agrees_with_evaluate_on_every_bundled_scenario();
                Ok(())
            },
        ),
        Trial::ignorable_test(
            "admission_agrees_with_evaluate_on_every_upstream_fixture",
            || Ok(admission_agrees_with_evaluate_on_every_upstream_fixture()),
        ),
        Trial::test(
            "label_templates_fill_in_the_version_and_expectations_follow",
            || {
                label_templates_fill_in_the_version_and_expectations_follow();
                Ok(())
            },
        ),
        Trial::test(
            "explicit_labels_replace_the_defaults_even_when_empty",
            || {
                explicit_labels_replace_the_defaults_even_when_empty();
                Ok(())
            },
        ),
        Trial::test("status_and_template_mismatches_are_reported", || {
            status_and_template_mismatches_are_reported();
            Ok(())
        }),
        Trial::test("namespace_cases_send_a_namespace_request", || {
            namespace_cases_send_a_namespace_request();
            Ok(())
        }),
        Trial::test("refusals_other_than_forbidden_need_no_reasons", || {
            refusals_other_than_forbidden_need_no_reasons();
            Ok(())
        }),
        Trial::test(
            "configuration_files_apply_and_their_errors_are_located",
            || {
                configuration_files_apply_and_their_errors_are_located();
                Ok(())
            },
        ),
        Trial::test("namespace_case_errors_are_located", || {
            namespace_case_errors_are_located();
            Ok(())
        }),
        Trial::test("scenario_ids_of_workload_cases_keep_their_kind", || {
            scenario_ids_of_workload_cases_keep_their_kind();
            Ok(())
        }),
    ];
    libtest_mimic::run(&args, trials).exit();
}
