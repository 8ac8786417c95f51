//! The Namespace flow (§4.6; upstream `ValidateNamespace`).
//!
//! Invalid PSA labels are refused on create, and on update unless exactly the same errors
//! were already there. An update that tightens enforcement is answered with warnings about
//! the existing pods (§3.6); namespace requests are never denied for pod violations. An
//! exempt namespace given a real policy gets the exempt warning (§3.7) instead.

use super::namespace_policy::{
    AUDIT_LEVEL_LABEL, AUDIT_VERSION_LABEL, ENFORCE_LEVEL_LABEL, ENFORCE_VERSION_LABEL,
    EffectivePolicy, Labels, Policy, WARN_LEVEL_LABEL, WARN_VERSION_LABEL,
};
use super::plugin::Admission;
use super::request::{NamespaceObject, Object, Operation, Request};
use super::response::Response;
use super::tightening::{Clock, ReasonFn, Tightening};
use crate::format::go_quote;
use crate::level::Level;
use crate::policy::LevelVersion;

impl Admission<'_> {
    /// The namespace flow, with an injected clock and pod evaluation (see [`ReasonFn`]).
    pub fn validate_namespace_with(
        &self,
        req: &Request,
        clock: &dyn Clock,
        reasons: &mut ReasonFn<'_>,
    ) -> Response {
        if !req.subresource.is_empty()
            || !matches!(req.operation, Operation::Create | Operation::Update)
        {
            return Response::allow();
        }
        let ns = match &req.object {
            Object::Namespace(ns) => ns,
            Object::Undecodable(err) => {
                return Response::bad_request("failed to decode object", Some(err));
            }
            _ => return Response::bad_request("failed to decode namespace", None),
        };
        let new = self.policy_for(&ns.labels);
        if req.operation == Operation::Create {
            return self.namespace_create(req, ns, &new);
        }
        let old = match &req.old_object {
            Some(Object::Namespace(old)) => self.policy_for(&old.labels),
            Some(Object::Undecodable(err)) => {
                return Response::bad_request("failed to decode  old object", Some(err));
            }
            _ => return Response::bad_request("failed to decode  old namespace", None),
        };
        self.namespace_update(req, ns, &new, &old, clock, reasons)
    }

    fn namespace_create(
        &self,
        req: &Request,
        ns: &NamespaceObject,
        new: &EffectivePolicy,
    ) -> Response {
        if !new.errors.is_empty() {
            return Response::invalid_namespace(&req.name, &new.errors);
        }
        self.exempt_namespace_response(req, ns, &new.policy)
            .unwrap_or_else(Response::allow)
    }

    fn namespace_update(
        &self,
        req: &Request,
        ns: &NamespaceObject,
        new: &EffectivePolicy,
        old: &EffectivePolicy,
        clock: &dyn Clock,
        reasons: &mut ReasonFn<'_>,
    ) -> Response {
        if !new.errors.is_empty() && new.errors != old.errors {
            return Response::invalid_namespace(&req.name, &new.errors);
        }
        if !tightens(&new.policy.enforce, &old.policy.enforce) {
            return Response::allow();
        }
        if let Some(response) = self.exempt_namespace_response(req, ns, &new.policy) {
            return response;
        }
        let check = Tightening {
            namespace: &ns.name,
            enforce: &new.policy.enforce,
            exemptions: &self.config.exemptions,
            limits: &self.limits,
            remaining: req.remaining,
            clock,
        };
        let warnings = check.warnings(&req.existing_pods, reasons);
        Response {
            warnings,
            ..Response::allow()
        }
    }

    /// `Some` (allowed, with the §3.7 warning when it applies) for an exempt namespace.
    fn exempt_namespace_response(
        &self,
        req: &Request,
        ns: &NamespaceObject,
        policy: &Policy,
    ) -> Option<Response> {
        if !self.config.exemptions.namespace(&req.namespace.name) {
            return None;
        }
        let response = Response::allow();
        Some(
            match exempt_warning(&ns.name, policy, &ns.labels, &self.config.defaults) {
                Some(warning) => response.with_warning(warning),
                None => response,
            },
        )
    }
}

/// Whether a changed enforce level-version needs the existing pods checked: not when it
/// is unchanged (structurally: `latest` → `v1.37` is a change), privileged, or the same
/// version at a level that is not stricter.
fn tightens(new: &LevelVersion, old: &LevelVersion) -> bool {
    new != old
        && new.level != Level::Privileged
        && !(new.version == old.version && new.level <= old.level)
}

/// `namespace "<name>" is exempt from Pod Security, and the policy (<modes>) will be
/// ignored`, unless the policy is fully privileged or equivalent to the defaults. Only
/// non-privileged modes with an explicit level or version label are listed.
pub fn exempt_warning(
    name: &str,
    policy: &Policy,
    labels: &Labels,
    defaults: &Policy,
) -> Option<String> {
    if policy.fully_privileged() || policy.is_equivalent(defaults) {
        return None;
    }
    let modes = [
        (
            "enforce",
            policy.enforce,
            ENFORCE_LEVEL_LABEL,
            ENFORCE_VERSION_LABEL,
        ),
        (
            "audit",
            policy.audit,
            AUDIT_LEVEL_LABEL,
            AUDIT_VERSION_LABEL,
        ),
        ("warn", policy.warn, WARN_LEVEL_LABEL, WARN_VERSION_LABEL),
    ];
    let listed: Vec<String> = modes
        .iter()
        .filter(|(_, lv, level_label, version_label)| {
            lv.level != Level::Privileged
                && (labels.contains_key(*level_label) || labels.contains_key(*version_label))
        })
        .map(|(mode, lv, _, _)| format!("{mode}={lv}"))
        .collect();
    Some(format!(
        "namespace {} is exempt from Pod Security, and the policy ({}) will be ignored",
        go_quote(name),
        listed.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::namespace_policy::LABEL_PREFIX;

    fn lv(s: &str) -> LevelVersion {
        s.parse().unwrap()
    }

    #[test]
    fn tightening_rules() {
        assert!(!tightens(&lv("restricted:v1.0"), &lv("restricted:v1.0")));
        assert!(tightens(&lv("baseline:v1.37"), &lv("baseline:latest")));
        assert!(!tightens(&lv("privileged:v1.0"), &lv("restricted:latest")));
        assert!(!tightens(&lv("baseline:latest"), &lv("restricted:latest")));
        assert!(tightens(&lv("baseline:v1.20"), &lv("restricted:latest")));
        assert!(tightens(&lv("restricted:latest"), &lv("baseline:latest")));
    }

    #[test]
    fn exempt_warning_lists_explicit_non_privileged_modes() {
        let labels: Labels = [("enforce", "restricted")]
            .iter()
            .map(|(k, v)| (format!("{LABEL_PREFIX}{k}"), (*v).to_owned()))
            .collect();
        let policy = Policy::from_labels(&labels, &Policy::PRIVILEGED).policy;
        assert_eq!(
            exempt_warning("test", &policy, &labels, &Policy::PRIVILEGED).as_deref(),
            Some(
                "namespace \"test\" is exempt from Pod Security, and the policy \
                  (enforce=restricted:latest) will be ignored"
            )
        );
        // Equivalent to the defaults: no warning.
        assert_eq!(exempt_warning("test", &policy, &labels, &policy), None);
        // Nothing explicit (non-privileged defaults): empty parentheses.
        let defaults = Policy {
            warn: lv("baseline:latest"),
            ..Policy::PRIVILEGED
        };
        let from_defaults = Policy {
            audit: lv("restricted:latest"),
            ..defaults
        };
        assert_eq!(
            exempt_warning("t", &from_defaults, &Labels::new(), &defaults).as_deref(),
            Some("namespace \"t\" is exempt from Pod Security, and the policy () will be ignored")
        );
    }
}
