//! The Pod flow (§4.4; upstream `ValidatePod`). Order matters: each step can end the
//! request, and which annotations the response carries depends on where it ended.

use k8s_openapi::api::core::v1::Pod;

use super::exemptions::Exemption;
use super::modes::{Subject, evaluate_modes};
use super::namespace_policy::Labels;
use super::plugin::Admission;
use super::pod_update::is_significant_update;
use super::request::{Object, Operation, Request, pod_spec};
use super::response::Response;
use crate::format::go_quote;
use crate::workload::Workload;

/// Pod subresources that cannot change the pod spec. Every other subresource
/// (`ephemeralcontainers`, `resize`, future ones) carries a Pod and is evaluated, so a
/// version-skewed webhook fails safe.
pub const IGNORED_POD_SUBRESOURCES: [&str; 8] = [
    "exec",
    "attach",
    "binding",
    "eviction",
    "log",
    "portforward",
    "proxy",
    "status",
];

impl Admission<'_> {
    pub(crate) fn validate_pod(&self, req: &Request) -> Response {
        match self.pod_response(req) {
            Ok(response) | Err(response) => response,
        }
    }

    /// The pod flow; `Err` carries a refusal that ends it early.
    fn pod_response(&self, req: &Request) -> Result<Response, Response> {
        if IGNORED_POD_SUBRESOURCES.contains(&req.subresource.as_str()) {
            return Ok(Response::allow());
        }
        if let Some(exempt) = self.exempt_request(req) {
            return Ok(exempt);
        }
        let effective = self.policy_for(namespace_labels(req)?);
        if effective.errors.is_empty() && effective.policy.fully_privileged() {
            return Ok(Response::privileged());
        }
        let pod = decode_pod(
            &req.object,
            "failed to decode object",
            "failed to decode pod",
        )?;
        if req.operation == Operation::Update {
            let old = req.old_object.as_ref().unwrap_or(&MISSING);
            let old = decode_pod(
                old,
                "failed to decode old object",
                "failed to decode old pod",
            )?;
            if !is_significant_update(pod, old) {
                return Ok(Response::allow());
            }
        }
        let spec = pod_spec(pod);
        if self.config.exemptions.runtime_class(spec) {
            return Ok(Response::exempt(Exemption::RuntimeClass));
        }
        let subject = Subject {
            meta: &pod.metadata,
            spec,
            enforce_name: Some(&req.name),
        };
        let policy = &effective.policy;
        Ok(evaluate_modes(
            self.evaluator,
            policy,
            &effective.errors,
            &subject,
        ))
    }

    /// The namespace and user exemptions shared by pods and controllers (namespace first).
    pub(crate) fn exempt_request(&self, req: &Request) -> Option<Response> {
        let ex = &self.config.exemptions;
        if ex.namespace(&req.namespace.name) {
            Some(Response::exempt(Exemption::Namespace))
        } else if ex.user(&req.user) {
            Some(Response::exempt(Exemption::User))
        } else {
            None
        }
    }
}

/// The namespace's labels, or the 500 response for a failed lookup.
fn namespace_labels(req: &Request) -> Result<&Labels, Response> {
    req.namespace.labels.as_ref().map_err(|err| {
        let message = format!(
            "failed to lookup namespace {}",
            go_quote(&req.namespace.name)
        );
        Response::internal_error(&message, Some(err))
    })
}

/// Stands in for an UPDATE without an old object, which upstream cannot type as a Pod.
static MISSING: Object = Object::Other(String::new());

/// The Pod in `object`, or the 400 response: `undecodable` (with the decoder error) when
/// it could not be decoded, `not_pod` when it is something else.
fn decode_pod<'o>(
    object: &'o Object,
    undecodable: &str,
    not_pod: &str,
) -> Result<&'o Pod, Response> {
    match object {
        Object::Workload(w) => match w.as_ref() {
            Workload::Pod(pod) => Ok(pod),
            _ => Err(Response::bad_request(not_pod, None)),
        },
        Object::Undecodable(err) => Err(Response::bad_request(undecodable, Some(err))),
        _ => Err(Response::bad_request(not_pod, None)),
    }
}
