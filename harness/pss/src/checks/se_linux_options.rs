//! `seLinuxOptions` (baseline; entries v1.0 and v1.31).
//!
//! Setting a custom SELinux user or role is forbidden, and the SELinux type is restricted to
//! the container types.
//!
//! Restricted fields: `spec.securityContext.seLinuxOptions` and
//! `spec.{initContainers,containers,ephemeralContainers}[*].securityContext.seLinuxOptions`,
//! subfields `type`, `user` and `role` (`level` is never checked).
//! Allowed values: `type` absent, `""`, `container_t`, `container_init_t`, `container_kvm_t`,
//! and from v1.31 `container_engine_t`; `user` and `role` absent or `""`.
//!
//! The detail names the setters (`pod`, then the bad containers) and then what was wrong:
//! the bad types of all of them (deduplicated, sorted), whether a user and whether a role
//! was set, joined by `"; "`.

use k8s_openapi::api::core::v1::{PodSpec, SELinuxOptions};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::CheckEntry;
use crate::containers::visit;
use crate::format::{join_quote, noun, setters, sorted_unique};
use crate::result::{BadValue, CheckOptions, FieldError, Forbidden};

pub(crate) const ENTRIES: &[CheckEntry] = &[CheckEntry::new(0, v1_0), CheckEntry::new(31, v1_31)];

const TYPES_V1_0: &[&str] = &["", "container_t", "container_init_t", "container_kvm_t"];
const TYPES_V1_31: &[&str] = &[
    "",
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

fn v1_0(_meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    check(spec, opts, TYPES_V1_0)
}

fn v1_31(_meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    check(spec, opts, TYPES_V1_31)
}

/// What was found wrong across the pod and its containers.
#[derive(Default)]
struct Findings<'a> {
    bad_types: Vec<&'a str>,
    user_set: bool,
    role_set: bool,
    /// Field errors in the fork's order: pod (type, user, role), then each container.
    errors: Vec<FieldError>,
    want_errors: bool,
}

impl<'a> Findings<'a> {
    /// Record the problems of one `seLinuxOptions` object; `sc_path` builds the path of the
    /// `securityContext` holding it (called only for field errors). True if it is bad.
    fn inspect(
        &mut self,
        o: &'a SELinuxOptions,
        allowed: &[&str],
        sc_path: impl Fn() -> String,
    ) -> bool {
        let type_ = o.type_.as_deref().unwrap_or_default();
        let user = o.user.as_deref().unwrap_or_default();
        let role = o.role.as_deref().unwrap_or_default();
        let bad_type = !allowed.contains(&type_);
        if bad_type {
            self.bad_types.push(type_);
            self.error(&sc_path, "type", type_);
        }
        if !user.is_empty() {
            self.user_set = true;
            self.error(&sc_path, "user", user);
        }
        if !role.is_empty() {
            self.role_set = true;
            self.error(&sc_path, "role", role);
        }
        bad_type || !user.is_empty() || !role.is_empty()
    }

    fn error(&mut self, sc_path: &impl Fn() -> String, field: &str, value: &str) {
        if self.want_errors {
            self.errors.push(FieldError::forbidden(
                format!("{}.seLinuxOptions.{field}", sc_path()),
                BadValue::Str(value.to_owned()),
            ));
        }
    }

    /// `types "a", "b"; user may not be set; role may not be set`, the present parts only.
    fn describe(&self) -> String {
        let types = sorted_unique(self.bad_types.clone());
        let mut parts: Vec<String> = Vec::with_capacity(3);
        if !types.is_empty() {
            parts.push(format!(
                "{} {}",
                noun(types.len(), "type", "types"),
                join_quote(&types)
            ));
        }
        if self.user_set {
            parts.push("user may not be set".to_owned());
        }
        if self.role_set {
            parts.push("role may not be set".to_owned());
        }
        parts.join("; ")
    }
}

fn check(spec: &PodSpec, opts: CheckOptions, allowed: &[&str]) -> Option<Forbidden> {
    let mut found = Findings {
        want_errors: opts.field_errors,
        ..Findings::default()
    };
    let pod_opts = spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.se_linux_options.as_ref());
    let pod_bad =
        pod_opts.is_some_and(|o| found.inspect(o, allowed, || "spec.securityContext".to_owned()));
    let mut containers: Vec<&str> = Vec::new();
    for c in visit(spec) {
        let Some(o) = c
            .security_context
            .and_then(|sc| sc.se_linux_options.as_ref())
        else {
            continue;
        };
        if found.inspect(o, allowed, || format!("{}.securityContext", c.path())) {
            containers.push(c.name);
        }
    }
    if !pod_bad && containers.is_empty() {
        return None;
    }
    let mut detail = setters(
        pod_bad,
        &containers,
        " set forbidden securityContext.seLinuxOptions: ",
    );
    detail.push_str(&found.describe());
    Some(Forbidden {
        reason: "seLinuxOptions",
        detail,
        field_errors: found.errors,
    })
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::{Value, json};

    use crate::CheckId;
    use crate::result::{BadValue, FieldError};
    use crate::testing::{TestPod, check_detail, check_field_errors, pod};

    fn sel(t: &str, u: &str, r: &str) -> Value {
        json!({"type": t, "user": u, "role": r})
    }

    /// A container named `name` with the given `seLinuxOptions`.
    fn ctr(name: &str, options: Value) -> Value {
        json!({"name": name, "securityContext": {"seLinuxOptions": options}})
    }

    fn detail(minor: u32, p: &TestPod) -> Option<String> {
        check_detail(CheckId::SeLinuxOptions, minor, p)
    }

    /// The upstream unit test's pod: optional pod-level options; containers a-d are fine,
    /// e, f, g (when asked for) set a bad type, a user and a role.
    fn upstream_pod(pod_opts: Option<Value>, containers_bad: bool) -> TestPod {
        let mut containers = vec![
            json!({"name": "a"}),
            json!({"name": "b", "securityContext": {}}),
            ctr("c", json!({})),
            ctr("d", sel("container_t", "", "")),
        ];
        if containers_bad {
            containers.push(ctr("e", sel("bar", "", "")));
            containers.push(ctr("f", sel("", "bar", "")));
            containers.push(ctr("g", sel("", "", "bar")));
        }
        let mut spec = json!({"containers": containers});
        if let Some(o) = pod_opts {
            spec["securityContext"] = json!({"seLinuxOptions": o});
        }
        pod(spec)
    }

    #[test]
    fn upstream_pod_and_containers() {
        let p = upstream_pod(Some(sel("foo", "bar", "baz")), true);
        assert_eq!(
            detail(31, &p).as_deref(),
            Some(
                "seLinuxOptions (pod and containers \"e\", \"f\", \"g\" set forbidden \
                 securityContext.seLinuxOptions: types \"bar\", \"foo\"; user may not be set; \
                 role may not be set)"
            )
        );
    }

    #[test]
    fn upstream_pod_only() {
        let p = upstream_pod(Some(sel("foo", "bar", "baz")), false);
        assert_eq!(
            detail(31, &p).as_deref(),
            Some(
                "seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: type \"foo\"; \
                 user may not be set; role may not be set)"
            )
        );
    }

    #[test]
    fn upstream_containers_only() {
        let p = upstream_pod(None, true);
        assert_eq!(
            detail(31, &p).as_deref(),
            Some(
                "seLinuxOptions (containers \"e\", \"f\", \"g\" set forbidden \
                 securityContext.seLinuxOptions: type \"bar\"; user may not be set; \
                 role may not be set)"
            )
        );
    }

    #[test]
    fn upstream_pod_user_only() {
        let p = upstream_pod(Some(json!({"user": "bar"})), false);
        assert_eq!(
            detail(31, &p).as_deref(),
            Some(
                "seLinuxOptions (pod set forbidden securityContext.seLinuxOptions: \
                 user may not be set)"
            )
        );
    }

    /// E21: pod type spc_t plus a container user.
    #[test]
    fn e21_pod_type_and_container_user() {
        let p = pod(json!({
            "securityContext": {"seLinuxOptions": {"type": "spc_t"}},
            "containers": [ctr("a", json!({"user": "system_u"}))],
        }));
        assert_eq!(
            detail(37, &p).as_deref(),
            Some(
                "seLinuxOptions (pod and container \"a\" set forbidden \
                 securityContext.seLinuxOptions: type \"spc_t\"; user may not be set)"
            )
        );
    }

    /// E21 / the v1.31 boundary: `container_engine_t` is allowed from v1.31.
    #[rstest]
    #[case(0, true)]
    #[case(30, true)]
    #[case(31, false)]
    #[case(37, false)]
    fn container_engine_t_from_v1_31(#[case] minor: u32, #[case] denied: bool) {
        let p = pod(json!({"containers": [ctr("c", json!({"type": "container_engine_t"}))]}));
        let want = denied.then_some(
            "seLinuxOptions (container \"c\" set forbidden securityContext.seLinuxOptions: \
             type \"container_engine_t\")",
        );
        assert_eq!(detail(minor, &p).as_deref(), want);
    }

    #[test]
    fn allowed_types_and_level_pass() {
        let p = pod(json!({
            "securityContext": {"seLinuxOptions": {"type": "container_init_t", "level": "s0:c1"}},
            "initContainers": [ctr("i", json!({"type": "container_kvm_t"}))],
            "containers": [ctr("a", sel("", "", ""))],
        }));
        assert_eq!(detail(0, &p), None);
        assert_eq!(detail(37, &p), None);
    }

    #[test]
    fn field_errors_pod_first_then_containers_type_user_role() {
        let p = pod(json!({
            "securityContext": {"seLinuxOptions": {"type": "spc_t", "role": "r"}},
            "initContainers": [ctr("i", sel("x", "u", ""))],
            "containers": [ctr("a", json!({"role": "q"}))],
        }));
        let f = |p: &str, v: &str| FieldError::forbidden(p.into(), BadValue::Str(v.into()));
        assert_eq!(
            check_field_errors(CheckId::SeLinuxOptions, 37, &p),
            vec![
                f("spec.securityContext.seLinuxOptions.type", "spc_t"),
                f("spec.securityContext.seLinuxOptions.role", "r"),
                f(
                    "spec.initContainers[0].securityContext.seLinuxOptions.type",
                    "x"
                ),
                f(
                    "spec.initContainers[0].securityContext.seLinuxOptions.user",
                    "u"
                ),
                f(
                    "spec.containers[0].securityContext.seLinuxOptions.role",
                    "q"
                ),
            ]
        );
    }
}
