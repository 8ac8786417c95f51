//! schema/cases.schema.json stays in sync with the loader: the same controls, kinds and
//! levels, and the examples' fields are all known to it.

use std::path::Path;

use pss_harness::control::Control;

fn schema() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/cases.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn enums_match_the_code() {
    let s = schema();
    let defs = &s["definitions"];
    let controls: Vec<String> = Control::ALL.iter().map(|c| c.as_str().to_owned()).collect();
    assert_eq!(strings(&defs["control"]["enum"]), controls);
    let kinds: Vec<String> = pss::Kind::ALL
        .iter()
        .map(|k| k.as_str().to_owned())
        .collect();
    assert_eq!(strings(&defs["kind"]["enum"]), kinds);
    let levels: Vec<String> = pss::Level::ALL
        .iter()
        .map(|l| l.as_str().to_owned())
        .collect();
    assert_eq!(strings(&defs["level"]["enum"]), levels);
}

#[test]
fn case_fields_match_the_loader() {
    let s = schema();
    let case = &s["definitions"]["case"];
    assert_eq!(case["additionalProperties"], false);
    let mut fields: Vec<&str> = case["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    let mut want = vec![
        "admission_config",
        "control",
        "description",
        "existing_pods",
        "expect",
        "file",
        "kinds",
        "level",
        "manifest",
        "name",
        "namespace",
        "old",
        "operation",
        "policies",
        "pod",
        "profiles",
        "raw",
        "subresource",
        "user",
        "versions",
    ];
    want.sort_unstable();
    assert_eq!(fields, want);
    let mut expect: Vec<&str> = s["definitions"]["expectation"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    expect.sort_unstable();
    assert_eq!(
        expect,
        [
            "allowed",
            "audit",
            "contains",
            "detail",
            "divergence",
            "matches",
            "message",
            "reasons",
            "rules",
            "status",
            "warnings"
        ]
    );
    let mut file: Vec<&str> = s["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    file.sort_unstable();
    assert_eq!(
        file,
        [
            "admission_config",
            "cases",
            "control",
            "level",
            "policies",
            "versions"
        ]
    );
}

#[test]
fn profile_keys_match_the_loader() {
    let s = schema();
    let pattern = s["definitions"]["case"]["properties"]["profiles"]["propertyNames"]["pattern"]
        .as_str()
        .unwrap();
    let re = regex::Regex::new(pattern).unwrap();
    for key in [
        "psa",
        "kyverno",
        "kyverno@v1.10",
        "kyverno@1.16.2",
        "kyverno@v1.20.0-rc.1",
        "kyverno/CronJob",
        "kyverno@v1.12/Job",
        "psa/Deployment",
        "kyverno@v1.9",
        "kyverno@2.0",
        "opa",
        "kyverno/Cronjob",
    ] {
        let loader = pss_harness::profile::Profile::is_valid_key(key);
        assert_eq!(re.is_match(key), loader, "{key}");
    }
}
