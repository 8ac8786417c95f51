//! The pod-controller flow (§4.5; upstream `ValidatePodController`).
//!
//! Controllers are never denied: their pods are, when the controller creates them. The
//! template is evaluated for audit and warn only, so a namespace with only `enforce` set
//! still warns through warn's inheritance of a stricter enforce level. Failures along the
//! way allow the request with an `error` annotation.

use super::exemptions::Exemption;
use super::modes::{Subject, evaluate_modes};
use super::plugin::Admission;
use super::request::{Object, Request};
use super::response::{ERROR_ANNOTATION, Response};
use crate::format::go_quote;
use crate::level::Level;
use crate::workload::Workload;

impl Admission<'_> {
    pub(crate) fn validate_controller(&self, req: &Request) -> Response {
        match self.controller_response(req) {
            Ok(response) | Err(response) => response,
        }
    }

    /// The controller flow; `Err` carries an (allowed) response that ends it early.
    fn controller_response(&self, req: &Request) -> Result<Response, Response> {
        if !req.subresource.is_empty() {
            return Ok(Response::allow());
        }
        if let Some(exempt) = self.exempt_request(req) {
            return Ok(exempt);
        }
        let labels = req.namespace.labels.as_ref().map_err(|err| {
            let ns = go_quote(&req.namespace.name);
            allow_with_error(format!("failed to lookup namespace {ns}: {err}"))
        })?;
        let effective = self.policy_for(labels);
        let p = &effective.policy;
        let quiet = p.warn.level == Level::Privileged && p.audit.level == Level::Privileged;
        if effective.errors.is_empty() && quiet {
            return Ok(Response::allow());
        }
        let Some(template) = decode_workload(&req.object)?.pod_template() else {
            return Ok(Response::allow());
        };
        if self.config.exemptions.runtime_class(template.spec) {
            return Ok(Response::exempt(Exemption::RuntimeClass));
        }
        let subject = Subject {
            meta: template.metadata,
            spec: template.spec,
            enforce_name: None,
        };
        Ok(evaluate_modes(
            self.evaluator,
            p,
            &effective.errors,
            &subject,
        ))
    }
}

/// The workload in `object`, or the allowed response with the decode or extraction error.
fn decode_workload(object: &Object) -> Result<&Workload, Response> {
    match object {
        Object::Workload(w) => Ok(w),
        Object::Undecodable(err) => {
            Err(allow_with_error(format!("failed to decode object: {err}")))
        }
        Object::Namespace(_) => Err(unexpected_type("/v1, Kind=Namespace")),
        Object::Other(gvk) => Err(unexpected_type(gvk)),
    }
}

fn allow_with_error(error: String) -> Response {
    Response::allow().with_annotation(ERROR_ANNOTATION, error)
}

/// The template extractor's error for an object that is no pod controller.
fn unexpected_type(gvk: &str) -> Response {
    allow_with_error(format!(
        "failed to extract pod template: unexpected object type: {gvk}"
    ))
}
