//! proptest strategies for pods that touch every Pod Security field, shared by the property
//! tests of `pss` (tests/properties.rs) and of the runner (harness/runner/tests/properties.rs
//! includes this file by path).
//!
//! Each security-relevant field is absent most of the time, so generated pods are often
//! compliant and often fail one or two checks; values are the allowed ones, the forbidden
//! ones next to them, and odd ones (`""`, lower case, negative, huge).
//! Containers are named `c<i>`, `i<i>` (init) and `e<i>` (ephemeral), so a detail names a
//! container exactly when it contains `"<name>"`.

#![allow(dead_code)]

use k8s_openapi::api::core::v1::Pod;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Some `value` with probability `p`, else absent.
fn maybe<S: Strategy<Value = Value> + 'static>(p: f64, s: S) -> BoxedStrategy<Option<Value>> {
    prop::option::weighted(p, s).boxed()
}

fn pick(values: Vec<Value>) -> BoxedStrategy<Value> {
    prop::sample::select(values).boxed()
}

fn object(fields: Vec<(&str, Option<Value>)>) -> Value {
    let map: Map<String, Value> = fields
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
        .collect();
    Value::Object(map)
}

fn boolean() -> BoxedStrategy<Value> {
    any::<bool>().prop_map(Value::Bool).boxed()
}

fn user_id() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(json!(0)),
        Just(json!(1)),
        Just(json!(1000)),
        Just(json!(-1)),
        Just(json!(i64::MAX)),
    ]
    .boxed()
}

fn seccomp() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(json!({"type": "RuntimeDefault"})),
        Just(json!({"type": "Localhost", "localhostProfile": "p.json"})),
        Just(json!({"type": "Unconfined"})),
        Just(json!({"type": ""})),
        Just(json!({"type": "runtimedefault"})),
    ]
    .boxed()
}

fn app_armor() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(json!({"type": "RuntimeDefault"})),
        Just(json!({"type": "Localhost", "localhostProfile": "p"})),
        Just(json!({"type": "Unconfined"})),
        Just(json!({"type": ""})),
    ]
    .boxed()
}

fn se_linux() -> BoxedStrategy<Value> {
    let types = prop::sample::select(&[
        "container_t",
        "container_init_t",
        "container_kvm_t",
        "container_engine_t",
        "spc_t",
        "",
    ]);
    (
        prop::option::weighted(0.7, types),
        prop::option::weighted(0.2, Just("system_u")),
        prop::option::weighted(0.2, Just("system_r")),
        prop::option::weighted(0.3, Just("s0:c1,c2")),
    )
        .prop_map(|(t, user, role, level)| {
            object(vec![
                ("type", t.map(Value::from)),
                ("user", user.map(Value::from)),
                ("role", role.map(Value::from)),
                ("level", level.map(Value::from)),
            ])
        })
        .boxed()
}

fn windows(p: f64) -> BoxedStrategy<Option<Value>> {
    maybe(p, boolean().prop_map(|b| json!({"hostProcess": b})))
}

const CAPABILITIES: [&str; 8] = [
    "NET_BIND_SERVICE",
    "NET_RAW",
    "SYS_ADMIN",
    "AUDIT_WRITE",
    "CHOWN",
    "ALL",
    "net_raw",
    "",
];

fn capabilities() -> BoxedStrategy<Value> {
    let names = || prop::collection::vec(prop::sample::select(&CAPABILITIES[..]), 0..3);
    (
        prop::option::weighted(0.5, names()),
        prop::option::weighted(0.7, names()),
    )
        .prop_map(|(add, drop)| {
            object(vec![
                ("add", add.map(|a| json!(a))),
                ("drop", drop.map(|d| json!(d))),
            ])
        })
        .boxed()
}

/// Two times in three a restricted-compliant context with at most one field changed (the
/// near misses), else any combination of fields.
fn container_security_context() -> BoxedStrategy<Value> {
    prop_oneof![
        2 => near_compliant_security_context(),
        1 => any_security_context(),
    ]
    .boxed()
}

fn near_compliant_security_context() -> BoxedStrategy<Value> {
    (
        prop::option::weighted(0.5, any_security_context()),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(changes, pick)| {
            let mut sc = json!({
                "allowPrivilegeEscalation": false,
                "capabilities": {"drop": ["ALL"]},
                "runAsNonRoot": true,
                "seccompProfile": {"type": "RuntimeDefault"},
            });
            if let Some(Value::Object(changes)) = changes
                && !changes.is_empty()
            {
                let (key, value) = changes
                    .iter()
                    .nth(pick.index(changes.len()))
                    .expect("a field");
                sc[key] = value.clone();
            }
            sc
        })
        .boxed()
}

fn any_security_context() -> BoxedStrategy<Value> {
    (
        (
            maybe(0.15, boolean()),
            maybe(0.4, boolean()),
            maybe(0.3, boolean()),
            maybe(0.15, user_id()),
            maybe(0.2, user_id()),
            maybe(0.4, capabilities()),
        ),
        (
            maybe(
                0.1,
                pick(vec![json!("Default"), json!("Unmasked"), json!("")]),
            ),
            maybe(0.3, seccomp()),
            maybe(0.15, se_linux()),
            maybe(0.15, app_armor()),
            windows(0.05),
        ),
    )
        .prop_map(
            |((priv_, ape, nonroot, user, group, caps), (proc, sc, se, aa, win))| {
                object(vec![
                    ("privileged", priv_),
                    ("allowPrivilegeEscalation", ape),
                    ("runAsNonRoot", nonroot),
                    ("runAsUser", user),
                    ("runAsGroup", group),
                    ("capabilities", caps),
                    ("procMount", proc),
                    ("seccompProfile", sc),
                    ("seLinuxOptions", se),
                    ("appArmorProfile", aa),
                    ("windowsOptions", win),
                ])
            },
        )
        .boxed()
}

fn probe() -> BoxedStrategy<Value> {
    let host = prop::option::weighted(
        0.6,
        prop::sample::select(&["", "127.0.0.1", "example.com", "localhost"][..]),
    );
    (host, any::<bool>())
        .prop_map(|(host, http)| {
            let action = object(vec![
                ("port", Some(json!(8080))),
                ("host", host.map(Value::from)),
            ]);
            match http {
                true => json!({"httpGet": action}),
                false => json!({"tcpSocket": action}),
            }
        })
        .boxed()
}

fn ports() -> BoxedStrategy<Value> {
    let port = (
        prop::sample::select(&[80, 443, 8080][..]),
        prop::option::weighted(0.4, prop::sample::select(&[0, 80, 8080, 65535][..])),
    )
        .prop_map(|(container, host)| {
            object(vec![
                ("containerPort", Some(json!(container))),
                ("hostPort", host.map(|h| json!(h))),
            ])
        });
    prop::collection::vec(port, 1..3)
        .prop_map(Value::from)
        .boxed()
}

/// A container named `name` (any list: ephemeral containers have the same fields here).
pub fn container(name: String) -> BoxedStrategy<Value> {
    (
        maybe(0.75, container_security_context()),
        maybe(0.2, ports()),
        maybe(0.15, probe()),
        maybe(0.1, probe()),
        maybe(0.1, probe().prop_map(|p| json!({"postStart": p}))),
    )
        .prop_map(move |(sc, ports, liveness, startup, lifecycle)| {
            object(vec![
                ("name", Some(json!(name))),
                ("image", Some(json!("registry.example/app:1"))),
                ("securityContext", sc),
                ("ports", ports),
                ("livenessProbe", liveness),
                ("startupProbe", startup),
                ("lifecycle", lifecycle),
            ])
        })
        .boxed()
}

fn containers(prefix: &'static str, max: usize) -> BoxedStrategy<Value> {
    (0..=max)
        .prop_flat_map(move |n| {
            (0..n)
                .map(|i| container(format!("{prefix}{i}")))
                .collect::<Vec<_>>()
        })
        .prop_map(Value::from)
        .boxed()
}

const SYSCTLS: [&str; 7] = [
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.ip_local_reserved_ports",
    "kernel.msgmax",
    "",
];

fn pod_security_context() -> BoxedStrategy<Value> {
    (
        (
            maybe(0.4, boolean()),
            maybe(0.2, user_id()),
            maybe(0.4, seccomp()),
            maybe(0.1, se_linux()),
        ),
        (
            maybe(0.1, app_armor()),
            windows(0.05),
            maybe(
                0.2,
                prop::collection::vec(prop::sample::select(&SYSCTLS[..]), 1..3).prop_map(|names| {
                    Value::from(
                        names
                            .into_iter()
                            .map(|n| json!({"name": n, "value": "1"}))
                            .collect::<Vec<_>>(),
                    )
                }),
            ),
        ),
    )
        .prop_map(|((nonroot, user, sc, se), (aa, win, sysctls))| {
            object(vec![
                ("runAsNonRoot", nonroot),
                ("runAsUser", user),
                ("seccompProfile", sc),
                ("seLinuxOptions", se),
                ("appArmorProfile", aa),
                ("windowsOptions", win),
                ("sysctls", sysctls),
            ])
        })
        .boxed()
}

fn volume(name: String) -> BoxedStrategy<Value> {
    let sources = vec![
        json!({"emptyDir": {}}),
        json!({"configMap": {"name": "cm"}}),
        json!({"secret": {"secretName": "s"}}),
        json!({"persistentVolumeClaim": {"claimName": "c"}}),
        json!({"projected": {"sources": []}}),
        json!({"downwardAPI": {}}),
        json!({"ephemeral": {}}),
        json!({"csi": {"driver": "d"}}),
        json!({"hostPath": {"path": "/var/log"}}),
        json!({"gcePersistentDisk": {"pdName": "d"}}),
        json!({"nfs": {"server": "n", "path": "/"}}),
        json!({"image": {"reference": "registry.example/data:1"}}),
        json!({}),
    ];
    pick(sources)
        .prop_map(move |source| {
            let mut v = source;
            v["name"] = json!(name.clone());
            v
        })
        .boxed()
}

fn volumes() -> BoxedStrategy<Value> {
    (1..3usize)
        .prop_flat_map(|n| (0..n).map(|i| volume(format!("v{i}"))).collect::<Vec<_>>())
        .prop_map(Value::from)
        .boxed()
}

/// Annotations PSA reads: AppArmor per container (also for names no container has) and
/// the seccomp annotations of v1.0-v1.18.
fn annotations() -> BoxedStrategy<Value> {
    let app_armor_values = &["runtime/default", "localhost/p", "unconfined", ""][..];
    let seccomp_values = &["runtime/default", "docker/default", "unconfined", ""][..];
    let targets = &["c0", "c1", "i0", "e0", "nobody"][..];
    (
        prop::collection::vec(
            (
                prop::sample::select(targets),
                prop::sample::select(app_armor_values),
            ),
            0..2,
        ),
        prop::option::weighted(0.2, prop::sample::select(seccomp_values)),
        prop::collection::vec(
            (
                prop::sample::select(targets),
                prop::sample::select(seccomp_values),
            ),
            0..2,
        ),
    )
        .prop_map(|(app_armor, pod_seccomp, seccomp)| {
            let mut map = Map::new();
            for (c, v) in app_armor {
                map.insert(
                    format!("container.apparmor.security.beta.kubernetes.io/{c}"),
                    json!(v),
                );
            }
            if let Some(v) = pod_seccomp {
                map.insert("seccomp.security.alpha.kubernetes.io/pod".into(), json!(v));
            }
            for (c, v) in seccomp {
                map.insert(
                    format!("container.seccomp.security.alpha.kubernetes.io/{c}"),
                    json!(v),
                );
            }
            Value::Object(map)
        })
        .boxed()
}

/// A pod (as JSON) with up to 3 containers, 2 init and 2 ephemeral containers.
pub fn pod_json() -> BoxedStrategy<Value> {
    (
        (
            containers("c", 3),
            containers("i", 2),
            maybe(0.3, containers("e", 2)),
            maybe(0.25, volumes()),
        ),
        (
            maybe(0.1, boolean()),
            maybe(0.1, boolean()),
            maybe(0.1, boolean()),
            maybe(0.15, boolean()),
            maybe(0.6, pod_security_context()),
            maybe(
                0.05,
                pick(vec![json!({"name": "windows"}), json!({"name": "linux"})]),
            ),
            maybe(0.3, annotations()),
        ),
    )
        .prop_map(
            |((containers, init, ephemeral, volumes), (net, pid, ipc, users, sc, os, notes))| {
                let spec = object(vec![
                    ("containers", Some(containers)),
                    ("initContainers", Some(init)),
                    ("ephemeralContainers", ephemeral),
                    ("volumes", volumes),
                    ("hostNetwork", net),
                    ("hostPID", pid),
                    ("hostIPC", ipc),
                    ("hostUsers", users),
                    ("securityContext", sc),
                    ("os", os),
                ]);
                let metadata = object(vec![
                    ("name", Some(json!("p"))),
                    ("namespace", Some(json!("team"))),
                    ("annotations", notes),
                ]);
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec})
            },
        )
        .boxed()
}

/// [`pod_json`] as a typed Pod (every generated value is valid for the API types).
pub fn pod() -> BoxedStrategy<Pod> {
    pod_json()
        .prop_map(|v| serde_json::from_value(v).expect("generated pods fit the API types"))
        .boxed()
}

/// A container that is compliant more often than not, named `added`.
pub fn added_container() -> BoxedStrategy<Value> {
    container("added".to_owned())
}
