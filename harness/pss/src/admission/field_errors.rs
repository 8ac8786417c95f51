//! apimachinery field errors as PSA renders them: namespace label errors (§3.5) and
//! configuration validation errors (§4.1).
//!
//! One error prints `<path>: Invalid value: <GOQ(value)>: <detail>` (or `Duplicate value`);
//! a list prints as its single error, or `[e1, e2, ...]` with exact duplicates removed, as
//! Go's `ErrorList.ToAggregate().Error()` does.

use std::fmt;

use crate::format::go_quote;

/// The apimachinery error type of a [`FieldError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorType {
    /// `field.Invalid`: the value does not parse or validate.
    Invalid,
    /// `field.Duplicate`: the value appeared earlier in the same list.
    Duplicate,
}

/// One apimachinery `field.Error` with a string value (the only kind PSA produces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Which apimachinery error this is.
    pub error_type: FieldErrorType,
    /// e.g. `metadata.labels[pod-security.kubernetes.io/enforce]` or `defaults.enforce`.
    pub path: String,
    /// The rejected value, as given.
    pub value: String,
    /// The explanation, inserted raw (empty for duplicates).
    pub detail: String,
}

impl FieldError {
    /// A `field.Invalid` error.
    pub fn invalid(
        path: impl Into<String>,
        value: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        FieldError {
            error_type: FieldErrorType::Invalid,
            path: path.into(),
            value: value.into(),
            detail: detail.into(),
        }
    }

    /// A `field.Duplicate` error.
    pub fn duplicate(path: impl Into<String>, value: impl Into<String>) -> Self {
        FieldError {
            error_type: FieldErrorType::Duplicate,
            path: path.into(),
            value: value.into(),
            detail: String::new(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = go_quote(&self.value);
        match self.error_type {
            FieldErrorType::Invalid => {
                write!(f, "{}: Invalid value: {value}: {}", self.path, self.detail)
            }
            FieldErrorType::Duplicate => write!(f, "{}: Duplicate value: {value}", self.path),
        }
    }
}

/// An ordered list of field errors (Go's `field.ErrorList`). Equality is element-wise, which
/// is what upstream's `reflect.DeepEqual` on two lists amounts to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    /// Whether there are no errors.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of errors (duplicates included).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Append an error.
    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    /// The errors, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, FieldError> {
        self.0.iter()
    }

    /// The aggregate message: `""` for none, the message alone for one distinct message,
    /// otherwise `[m1, m2, ...]` in order with later exact duplicates dropped.
    pub fn aggregate(&self) -> String {
        let mut messages: Vec<String> = Vec::with_capacity(self.0.len());
        for message in self.0.iter().map(ToString::to_string) {
            if !messages.contains(&message) {
                messages.push(message);
            }
        }
        match messages.len() {
            1 => messages.swap_remove(0),
            0 => String::new(),
            _ => format!("[{}]", messages.join(", ")),
        }
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.aggregate())
    }
}

impl std::error::Error for FieldErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_invalid_and_duplicate() {
        let e = FieldError::invalid("defaults.enforce", "Baseline", "must be one of x");
        assert_eq!(
            e.to_string(),
            "defaults.enforce: Invalid value: \"Baseline\": must be one of x"
        );
        let d = FieldError::duplicate("exemptions.namespaces[1]", "kube\"system");
        assert_eq!(
            d.to_string(),
            "exemptions.namespaces[1]: Duplicate value: \"kube\\\"system\""
        );
    }

    #[test]
    fn aggregate_single_bare_several_bracketed_and_deduplicated() {
        let a = FieldError::invalid("p", "v", "m");
        let b = FieldError::invalid("q", "w", "n");
        assert_eq!(FieldErrors::default().aggregate(), "");
        assert_eq!(
            FieldErrors(vec![a.clone()]).aggregate(),
            "p: Invalid value: \"v\": m"
        );
        assert_eq!(
            FieldErrors(vec![a.clone(), a.clone()]).aggregate(),
            "p: Invalid value: \"v\": m"
        );
        assert_eq!(
            FieldErrors(vec![a.clone(), b, a]).to_string(),
            "[p: Invalid value: \"v\": m, q: Invalid value: \"w\": n]"
        );
    }
}
