//! The admission response PSA returns (§3.2–§3.8): the decision, the failure status,
//! warnings and audit annotations.
//!
//! Annotation keys are unprefixed, as the library produces them; the in-tree plugin adds
//! `pod-security.kubernetes.io/`, the API server adds `<webhook name>/` for the webhook.

use std::collections::BTreeMap;

use super::exemptions::Exemption;
use super::field_errors::FieldErrors;
use crate::format::go_quote;
use crate::policy::LevelVersion;

/// `enforce-policy`: the enforce level-version a pod was evaluated at.
pub const ENFORCE_POLICY_ANNOTATION: &str = "enforce-policy";
/// `audit-violations`: the `would violate` text for the audit level.
pub const AUDIT_VIOLATIONS_ANNOTATION: &str = "audit-violations";
/// `exempt`: `namespace`, `user` or `runtimeClass`.
pub const EXEMPT_ANNOTATION: &str = "exempt";
/// `error`: label parse errors and failures.
pub const ERROR_ANNOTATION: &str = "error";

/// The apimachinery status reason of a refused request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusReason {
    /// 403: a pod violates the enforce level.
    Forbidden,
    /// 422: invalid namespace labels.
    Invalid,
    /// 400: an object that cannot be decoded.
    BadRequest,
    /// 500: the namespace lookup failed.
    InternalError,
}

impl StatusReason {
    /// The reason as apimachinery spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusReason::Forbidden => "Forbidden",
            StatusReason::Invalid => "Invalid",
            StatusReason::BadRequest => "BadRequest",
            StatusReason::InternalError => "InternalError",
        }
    }

    /// The HTTP code apimachinery pairs with the reason.
    pub fn code(self) -> u16 {
        match self {
            StatusReason::Forbidden => 403,
            StatusReason::Invalid => 422,
            StatusReason::BadRequest => 400,
            StatusReason::InternalError => 500,
        }
    }
}

/// The failure status of a refused request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The HTTP status code.
    pub code: u16,
    /// The apimachinery reason.
    pub reason: StatusReason,
    /// The message clients print.
    pub message: String,
}

impl Status {
    fn new(reason: StatusReason, message: String) -> Status {
        Status {
            code: reason.code(),
            reason,
            message,
        }
    }
}

/// PSA's answer to one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    /// Whether the request is admitted.
    pub allowed: bool,
    /// Set exactly when the request is refused.
    pub status: Option<Status>,
    /// Warnings returned to the client (`Warning: 299` headers).
    pub warnings: Vec<String>,
    /// Unprefixed keys: `enforce-policy`, `audit-violations`, `exempt`, `error`.
    pub audit_annotations: BTreeMap<String, String>,
}

impl Response {
    /// Allowed, with nothing attached.
    pub fn allow() -> Response {
        Response {
            allowed: true,
            ..Response::default()
        }
    }

    /// Allowed because of an exemption (`exempt: <reason>`).
    pub fn exempt(exemption: Exemption) -> Response {
        Response::allow().with_annotation(EXEMPT_ANNOTATION, exemption.as_str())
    }

    /// The fully-privileged short-circuit: always `enforce-policy: privileged:latest`.
    pub fn privileged() -> Response {
        let policy = LevelVersion::PRIVILEGED_LATEST.to_string();
        Response::allow().with_annotation(ENFORCE_POLICY_ANNOTATION, policy)
    }

    /// Refused with `status` (no annotations yet).
    pub fn refuse(reason: StatusReason, message: String) -> Response {
        Response {
            allowed: false,
            status: Some(Status::new(reason, message)),
            ..Response::default()
        }
    }

    /// apimachinery `NewInvalid` for a Namespace: `Namespace "<name>" is invalid: <errors>`.
    pub fn invalid_namespace(name: &str, errors: &FieldErrors) -> Response {
        let message = format!("Namespace {} is invalid: {errors}", go_quote(name));
        Response::refuse(StatusReason::Invalid, message)
    }

    /// A 400 `BadRequest` with the same text, plus `: <err>`, in the `error` annotation.
    pub fn bad_request(message: &str, err: Option<&str>) -> Response {
        Response::error(StatusReason::BadRequest, message.to_owned(), err)
    }

    /// A 500 `InternalError` (`Internal error occurred: <message>`), annotated likewise.
    pub fn internal_error(message: &str, err: Option<&str>) -> Response {
        let message = format!("Internal error occurred: {message}");
        Response::error(StatusReason::InternalError, message, err)
    }

    /// Upstream `errorResponse`: the status message, and `<message>: <err>` (or just the
    /// message) as the `error` annotation.
    fn error(reason: StatusReason, message: String, err: Option<&str>) -> Response {
        let detail = match err {
            Some(err) => format!("{message}: {err}"),
            None => message.clone(),
        };
        Response::refuse(reason, message).with_annotation(ERROR_ANNOTATION, detail)
    }

    /// Add (or replace) an audit annotation.
    pub fn with_annotation(mut self, key: &str, value: impl Into<String>) -> Response {
        self.audit_annotations.insert(key.to_owned(), value.into());
        self
    }

    /// Append a warning.
    pub fn with_warning(mut self, warning: String) -> Response {
        self.warnings.push(warning);
        self
    }

    /// The status message, if refused.
    pub fn message(&self) -> Option<&str> {
        self.status.as_ref().map(|s| s.message.as_str())
    }

    /// An annotation's value, if present.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.audit_annotations.get(key).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::field_errors::FieldError;

    #[test]
    fn error_responses_carry_status_and_annotation() {
        let r = Response::internal_error("failed to lookup namespace \"ns\"", Some("not found"));
        assert!(!r.allowed);
        let status = r.status.as_ref().unwrap();
        assert_eq!(
            (status.code, status.reason.as_str()),
            (500, "InternalError")
        );
        assert_eq!(
            status.message,
            "Internal error occurred: failed to lookup namespace \"ns\""
        );
        assert_eq!(
            r.annotation("error"),
            Some("Internal error occurred: failed to lookup namespace \"ns\": not found")
        );
        let r = Response::bad_request("failed to decode pod", None);
        assert_eq!(r.status.as_ref().map(|s| s.code), Some(400));
        assert_eq!(r.annotation("error"), Some("failed to decode pod"));
    }

    #[test]
    fn invalid_namespace_message() {
        let errors = FieldErrors(vec![FieldError::invalid("p", "v", "m")]);
        let r = Response::invalid_namespace("test", &errors);
        assert_eq!(
            r.message(),
            Some("Namespace \"test\" is invalid: p: Invalid value: \"v\": m")
        );
        assert_eq!(r.status.as_ref().map(|s| s.code), Some(422));
        assert!(r.audit_annotations.is_empty());
    }

    #[test]
    fn allowed_shapes() {
        assert_eq!(
            Response::privileged().annotation("enforce-policy"),
            Some("privileged:latest")
        );
        assert_eq!(
            Response::exempt(Exemption::User).annotation("exempt"),
            Some("user")
        );
        assert!(Response::allow().allowed && Response::allow().status.is_none());
    }
}
