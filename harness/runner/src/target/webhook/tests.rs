//! Unit tests of the webhook target: the review, the answer's mapping, the text parsers,
//! and every way a webhook can answer badly (against a loopback HTTPS server).

use std::net::SocketAddr;
use std::path::Path;

use axum::Json;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;

use super::*;
use crate::serve::Tls;
use crate::target::Target;

fn pod(spec: Value) -> pss::Workload {
    pss::Workload::from_value(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p"}, "spec": spec}))
    .unwrap()
}

fn privileged() -> pss::Workload {
    pod(json!({"containers": [{"name": "c", "securityContext": {"privileged": true}}]}))
}

fn labels() -> BTreeMap<String, String> {
    BTreeMap::from([(
        "pod-security.kubernetes.io/enforce".to_owned(),
        "baseline".to_owned(),
    )])
}

#[test]
fn the_review_is_a_v1_dry_run_with_every_request_field() {
    let object = pss::Workload::from_value(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"selector": {}, "template": {"spec": {"containers": [{"name": "c"}]}}}}))
    .unwrap();
    let labels = labels();
    let mut request = AdmissionRequest::create(&object, "team", &labels);
    request.user = Some("alice");
    request.operation = Operation::Update;
    request.old_object = Some(&object);
    request.subresource = Some("scale");
    let review = review(&request, "uid-1");
    assert_eq!(review["apiVersion"], API_VERSION);
    assert_eq!(review["kind"], KIND);
    let r = &review["request"];
    assert_eq!(r["uid"], "uid-1");
    let gvk = json!({"group": "apps", "version": "v1", "kind": "Deployment"});
    let gvr = json!({"group": "apps", "version": "v1", "resource": "deployments"});
    assert_eq!((&r["kind"], &r["requestKind"]), (&gvk, &gvk));
    assert_eq!((&r["resource"], &r["requestResource"]), (&gvr, &gvr));
    assert_eq!(
        (&r["subResource"], &r["requestSubResource"]),
        (&json!("scale"), &json!("scale"))
    );
    assert_eq!(
        (&r["name"], &r["namespace"]),
        (&json!("web"), &json!("team"))
    );
    assert_eq!(r["operation"], "UPDATE");
    assert_eq!(
        r["userInfo"],
        json!({"username": "alice", "groups": ["system:authenticated"]})
    );
    assert_eq!(r["dryRun"], true);
    assert_eq!(r["options"]["kind"], "UpdateOptions");
    assert_eq!(r["object"]["kind"], "Deployment");
    assert_eq!(r["oldObject"]["metadata"]["name"], "web");
    // API-server defaulting happened: the template got its defaults.
    let template = &r["object"]["spec"]["template"]["spec"];
    assert!(template.get("containers").is_some(), "{template}");
}

#[test]
fn namespace_requests_send_the_namespace_object() {
    let placeholder = privileged();
    let empty = BTreeMap::new();
    let ns = NamespaceRequest {
        object: pss::admission::NamespaceObject {
            name: "team".into(),
            labels: labels(),
        },
        old: None,
        existing_pods: Vec::new(),
    };
    let mut request = AdmissionRequest::create(&placeholder, "team", &empty);
    request.namespace_request = Some(&ns);
    let review = review(&request, "u");
    let r = &review["request"];
    assert_eq!(r["kind"]["kind"], "Namespace");
    assert_eq!(r["resource"]["resource"], "namespaces");
    assert_eq!(
        (&r["name"], &r["namespace"]),
        (&json!("team"), &json!("team"))
    );
    assert_eq!(r["object"]["metadata"]["labels"], json!(labels()));
    assert_eq!(r["oldObject"], Value::Null);
    assert_eq!(r["options"]["kind"], "CreateOptions");
}

fn answer(response: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"apiVersion": API_VERSION, "kind": KIND, "response": response}))
        .unwrap()
}

const DENIAL: &str = "pods \"p\" is forbidden: violates PodSecurity \"baseline:latest\": \
    host namespaces (hostNetwork=true), privileged (container \"c\" must not set \
    securityContext.privileged=true)";

#[test]
fn a_psa_denial_maps_to_status_violations_and_annotations() {
    let body = answer(json!({"uid": "u", "allowed": false,
        "status": {"code": 403, "reason": "Forbidden", "message": DENIAL},
        "auditAnnotations": {"enforce-policy": "baseline:latest"}}));
    let out = outcome_of_review(&body, "u", Flavour::Psa, None).unwrap();
    assert!(!out.allowed);
    assert_eq!(
        out.status,
        Some(Status {
            code: 403,
            reason: "Forbidden".into(),
            message: DENIAL.into()
        })
    );
    assert_eq!(out.reasons(), ["host namespaces", "privileged"]);
    assert_eq!(
        out.detail(),
        "host namespaces (hostNetwork=true), privileged (container \"c\" must not set \
         securityContext.privileged=true)"
    );
    assert_eq!(out.audit_annotations["enforce-policy"], "baseline:latest");
}

#[test]
fn an_allowed_answer_keeps_warnings_and_reads_the_policy_warning() {
    let warning = "would violate PodSecurity \"restricted:latest\": runAsNonRoot != true \
                   (pod or container \"c\" must set securityContext.runAsNonRoot=true)";
    let body = answer(json!({"uid": "u", "allowed": true, "warnings": ["other", warning]}));
    let out = outcome_of_review(&body, "u", Flavour::Psa, None).unwrap();
    assert!(out.allowed && out.status.is_none());
    assert_eq!(out.warnings, ["other", warning]);
    assert_eq!(out.reasons(), ["runAsNonRoot != true"]);
    // A denial without code or message still is one, at the API server's minimum code.
    let body = answer(json!({"uid": "u", "allowed": false, "status": {"code": 200}}));
    let out = outcome_of_review(&body, "u", Flavour::Psa, None).unwrap();
    assert_eq!(out.status.map(|s| s.code), Some(400));
}

const KYVERNO_DENIAL: &str = "\n\nresource Pod/default/p was blocked due to the following \
    policies \n\nbaseline-policy:\n  baseline: 'Validation rule ''baseline'' failed. It \
    violates PodSecurity \"baseline:latest\": (Forbidden reason: privileged, field error list: \
    [spec.containers[0].securityContext.privileged is forbidden, forbidden values found: \
    true])(Forbidden reason: host namespaces, field error list: [spec.hostNetwork is \
    forbidden, forbidden values found: true])'\n";

#[test]
fn a_kyverno_denial_gets_the_api_server_text_rules_and_checks() {
    let body = answer(json!({"uid": "u", "allowed": false,
        "status": {"status": "Failure", "message": KYVERNO_DENIAL}}));
    let out = outcome_of_review(&body, "u", Flavour::Kyverno, None).unwrap();
    let status = out.status.as_ref().unwrap();
    assert_eq!(status.code, 400);
    assert_eq!(
        status.message,
        format!(
            "admission webhook \"validate.kyverno.svc-fail\" denied the request: {KYVERNO_DENIAL}"
        )
    );
    assert_eq!(out.denial.as_deref(), Some(KYVERNO_DENIAL));
    assert_eq!(out.reasons(), ["privileged", "host namespaces"]);
    let rules: Vec<(&str, &str, &str)> = out
        .rules
        .iter()
        .map(|r| (r.policy.as_str(), r.rule.as_str(), r.status.as_str()))
        .collect();
    assert_eq!(rules, [("baseline-policy", "baseline", "fail")]);
    let ignore = Some("validate.kyverno.svc-ignore".to_owned());
    let out = outcome_of_review(&body, "u", Flavour::Kyverno, ignore).unwrap();
    assert!(
        out.status
            .unwrap()
            .message
            .starts_with("admission webhook \"validate.kyverno.svc-ignore\"")
    );
}

#[test]
fn the_detail_parser_splits_reasons_and_balanced_details() {
    let parsed = parse_detail(
        "forbidden sysctls (a, b), hostPort (container \"x (y)\" uses hostPorts 80, 81), \
         procMount, seLinuxOptions (pod set (nested) type=\"spc_t\")",
    );
    let pairs: Vec<(&str, &str)> = parsed
        .iter()
        .map(|v| (v.reason.as_str(), v.detail.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("forbidden sysctls", "a, b"),
            ("hostPort", "container \"x (y)\" uses hostPorts 80, 81"),
            ("procMount", ""),
            ("seLinuxOptions", "pod set (nested) type=\"spc_t\""),
        ]
    );
    assert!(parse_detail("").is_empty());
    let unclosed = parse_detail("privileged (container \"c\"");
    assert_eq!(unclosed[0].detail, "container \"c\"");
    assert!(psa_violations("admission webhook \"x\" denied the request").is_empty());
    assert_eq!(
        psa_violations("would violate PodSecurity \"restricted:v1.30\": hostProcess")[0].reason,
        "hostProcess"
    );
}

#[test]
fn kyverno_checks_are_read_in_both_formats() {
    let legacy = "Validation rule 'b' failed. It violates PodSecurity \"baseline:latest\": \
        ({Allowed:false ForbiddenReason:privileged ForbiddenDetail:container \"c\" must not set \
        securityContext.privileged=true})\n({Allowed:false ForbiddenReason:host namespaces \
        ForbiddenDetail:hostNetwork=true})\n";
    let v = kyverno_violations(legacy);
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].reason, "privileged");
    assert_eq!(
        v[0].detail,
        "container \"c\" must not set securityContext.privileged=true"
    );
    assert_eq!(
        (v[1].reason.as_str(), v[1].detail.as_str()),
        ("host namespaces", "hostNetwork=true")
    );
    assert!(kyverno_violations("rule skipped").is_empty());
    let skipped = format!(
        "\n\nresource Pod/ns/p was blocked due to the following policies \n\np:\n  r: {}\n",
        kyverno::engine::PRE_EXISTING_VIOLATION
    );
    assert_eq!(kyverno_rules(&skipped)[0].status, "skip");
    assert!(kyverno_rules("not a denial").is_empty());
}

#[test]
fn malformed_answers_are_errors() {
    let check = |body: &[u8], want: &str| {
        let err = outcome_of_review(body, "u", Flavour::Psa, None).unwrap_err();
        assert!(err.contains(want), "{err:?} should contain {want:?}");
    };
    check(b"<html>oops</html>", "not an AdmissionReview");
    check(b"", "(empty body)");
    check(
        br#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","response":{"uid":"u","allowed":true}}"#,
        "got apiVersion admission.k8s.io/v1beta1 kind AdmissionReview",
    );
    check(
        br#"{"apiVersion":"admission.k8s.io/v1","kind":"Status"}"#,
        "kind Status",
    );
    check(
        br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#,
        "has no response",
    );
    check(
        &answer(json!({"uid": "other", "allowed": true})),
        "does not match request uid",
    );
    check(&answer(json!({"uid": "u"})), "missing field `allowed`");
    check(
        &answer(json!({"uid": "u", "allowed": "yes"})),
        "not an AdmissionReview",
    );
}

/// A loopback HTTPS server answering each path with a different kind of garbage.
struct Garbage {
    server: crate::serve::Server,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

fn echo_uid(review: &Value) -> Value {
    json!({"apiVersion": API_VERSION, "kind": KIND,
           "response": {"uid": review["request"]["uid"], "allowed": true}})
}

impl Garbage {
    fn start() -> Garbage {
        let dir = tempfile::tempdir().unwrap();
        let app = axum::Router::new()
            .route(
                "/ok",
                post(|Json(r): Json<Value>| async move { Json(echo_uid(&r)) }),
            )
            .route("/text", post(|| async { "hello" }))
            .route(
                "/v1beta1",
                post(|Json(r): Json<Value>| async move {
                    let mut v = echo_uid(&r);
                    v["apiVersion"] = "admission.k8s.io/v1beta1".into();
                    Json(v)
                }),
            )
            .route(
                "/empty",
                post(|| async { Json(json!({"apiVersion": API_VERSION, "kind": KIND})) }),
            )
            .route(
                "/uid",
                post(|| async {
                    Json(json!({"apiVersion": API_VERSION, "kind": KIND,
                                "response": {"uid": "nope", "allowed": true}}))
                }),
            )
            .route(
                "/500",
                post(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response() }),
            )
            .route(
                "/slow",
                post(|| async {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    "late"
                }),
            );
        let listen = SocketAddr::from(([127, 0, 0, 1], 0));
        let server = crate::serve::Server::serve_app(app, listen, &Tls::SelfSigned, None).unwrap();
        std::fs::write(dir.path().join("ca.pem"), server.ca_pem().unwrap()).unwrap();
        Garbage {
            addr: server.addr(),
            server,
            dir,
        }
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn target(&self, path: &str, ca: Option<&Path>) -> WebhookTarget {
        let options = WebhookOptions {
            url: format!("https://{}{path}", self.addr),
            ca_cert: ca.map(Path::to_path_buf),
            insecure_skip_tls_verify: false,
            timeout: Duration::from_millis(500),
            client_identity: None,
        };
        WebhookTarget::new(&options, Flavour::Psa).unwrap()
    }

    fn error(&self, path: &str) -> String {
        let object = privileged();
        let labels = labels();
        let target = self.target(path, Some(&self.ca()));
        let err = target
            .admit(&AdmissionRequest::create(&object, "default", &labels))
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("webhook https://{}{path}: ", self.addr)),
            "{err}"
        );
        err.to_string()
    }
}

#[test]
fn every_garbage_answer_is_an_error_naming_the_endpoint() {
    let server = Garbage::start();
    let object = privileged();
    let labels = labels();
    let request = AdmissionRequest::create(&object, "default", &labels);
    let ok = server
        .target("/ok", Some(&server.ca()))
        .admit(&request)
        .unwrap();
    assert!(ok.allowed);
    let cases = [
        ("/text", "not an AdmissionReview"),
        ("/v1beta1", "got apiVersion admission.k8s.io/v1beta1"),
        ("/empty", "has no response"),
        ("/uid", "does not match request uid"),
        ("/500", "HTTP 500 Internal Server Error: boom"),
        ("/missing", "HTTP 404"),
        ("/slow", "timed out"),
    ];
    for (path, want) in cases {
        let err = server.error(path);
        assert!(
            err.contains(want),
            "{path}: {err:?} should contain {want:?}"
        );
    }
    // A server certificate the client does not trust (platform roots only).
    let untrusted = server.target("/ok", None).admit(&request).unwrap_err();
    assert!(
        untrusted.message().contains("cannot connect"),
        "{untrusted}"
    );
    let other_ca = crate::serve::self_signed(&["127.0.0.1".to_owned()]).unwrap();
    let other = server.dir.path().join("other.pem");
    std::fs::write(&other, other_ca.ca_pem).unwrap();
    let wrong = server
        .target("/ok", Some(&other))
        .admit(&request)
        .unwrap_err();
    assert!(wrong.message().contains("cannot connect"), "{wrong}");
    assert!(
        wrong.message().to_lowercase().contains("certificate"),
        "{wrong}"
    );
    // Skipping verification accepts it.
    let insecure = WebhookOptions {
        url: format!("https://{}/ok", server.addr),
        ca_cert: None,
        insecure_skip_tls_verify: true,
        timeout: DEFAULT_TIMEOUT,
        client_identity: None,
    };
    let target = WebhookTarget::new(&insecure, Flavour::Psa).unwrap();
    assert!(target.admit(&request).unwrap().allowed);
    server.server.shutdown();
}

#[test]
fn refused_connections_and_bad_options_are_errors() {
    install_crypto_provider();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let options = WebhookOptions {
        url: format!("https://127.0.0.1:{port}/validate"),
        ca_cert: None,
        insecure_skip_tls_verify: true,
        timeout: Duration::from_secs(2),
        client_identity: None,
    };
    let target = WebhookTarget::new(&options, Flavour::Psa).unwrap();
    let object = privileged();
    let labels = labels();
    let err = target
        .admit(&AdmissionRequest::create(&object, "default", &labels))
        .unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "webhook https://127.0.0.1:{port}/validate: cannot connect"
        )),
        "{err}"
    );
    let http = WebhookOptions {
        url: "http://127.0.0.1:1/validate".into(),
        ..options.clone()
    };
    let err = WebhookTarget::new(&http, Flavour::Psa).err().unwrap();
    assert!(
        err.to_string()
            .ends_with("the URL must start with https://"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("ca.pem");
    std::fs::write(&not_pem, "not a certificate").unwrap();
    let bad_ca = WebhookOptions {
        ca_cert: Some(not_pem),
        ..options
    };
    let err = WebhookTarget::new(&bad_ca, Flavour::Psa).err().unwrap();
    assert!(err.to_string().contains("ca.pem"), "{err}");
}

#[test]
fn requests_carry_the_api_servers_timeout_and_user() {
    assert_eq!(
        with_timeout("https://h:1/validate", Duration::from_secs(10)),
        "https://h:1/validate?timeout=10s"
    );
    assert_eq!(
        with_timeout("https://h:1/v?x=1", Duration::from_millis(1500)),
        "https://h:1/v?x=1&timeout=1s"
    );
    let object = privileged();
    let labels = labels();
    let review = review(&AdmissionRequest::create(&object, "team", &labels), "u");
    assert_eq!(
        review["request"]["userInfo"],
        json!({"username": "pss-harness-admin",
               "groups": ["system:masters", "system:authenticated"]})
    );
    assert_eq!(review["request"]["options"]["dryRun"], json!(["All"]));
    assert_eq!(review["request"]["requestKind"]["kind"], "Pod");
}
