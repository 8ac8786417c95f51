//! What a check returns: allowed (`None`) or a [`Forbidden`] with upstream's reason and
//! detail, and, when asked for, the structured field errors Kyverno's PSA fork reports.

/// A failing check, as upstream's `CheckResult{Allowed: false, ...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forbidden {
    /// `ForbiddenReason`, e.g. `privileged`.
    pub reason: &'static str,
    /// `ForbiddenDetail`, e.g. `container "c" must not set securityContext.privileged=true`.
    /// Empty only for odd input (a sysctl named `""`).
    pub detail: String,
    /// The fork's `ErrList`: filled only when [`CheckOptions::field_errors`] is set, so the
    /// PSA hot path does not pay for it.
    pub field_errors: Vec<FieldError>,
}

/// Options a check is run with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckOptions {
    /// Also build [`Forbidden::field_errors`] (Kyverno's `WithFieldErrors()`).
    pub field_errors: bool,
}

/// One apimachinery `field.Error` as Kyverno's PSA fork builds it (its `Detail` is always
/// empty there, so it is not modelled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub kind: FieldErrorKind,
    /// Pod-relative path, e.g. `spec.containers[0].securityContext.privileged`.
    pub path: String,
    pub bad_value: BadValue,
}

/// The apimachinery error type of a [`FieldError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorKind {
    /// `field.Required`: rendered `<path>: Required value`.
    Required,
    /// `field.Forbidden`: rendered `<path>: Forbidden` when the bad value is empty.
    Forbidden,
}

/// The Go value the fork stores as `BadValue`. Its printing (`%+v`) and its conversion to
/// strings for `exclude.values` matching are Kyverno's business; here it is only typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadValue {
    /// The empty string, apimachinery's default for Required and Forbidden errors.
    Empty,
    Str(String),
    Bool(bool),
    Int(i64),
    StrList(Vec<String>),
}

impl FieldError {
    pub fn required(path: String) -> Self {
        FieldError {
            kind: FieldErrorKind::Required,
            path,
            bad_value: BadValue::Empty,
        }
    }

    pub fn forbidden(path: String, bad_value: BadValue) -> Self {
        FieldError {
            kind: FieldErrorKind::Forbidden,
            path,
            bad_value,
        }
    }
}

/// Collects offenders by name and, only when enabled, their field errors (upstream's
/// `Violations` helper in the fork).
#[derive(Debug, Default)]
pub struct Violations<'a> {
    names: Vec<&'a str>,
    errors: Vec<FieldError>,
    with_errors: bool,
}

impl<'a> Violations<'a> {
    pub fn new(opts: CheckOptions) -> Self {
        Violations {
            names: Vec::new(),
            errors: Vec::new(),
            with_errors: opts.field_errors,
        }
    }

    /// Record an offender; `error` is only built when field errors are wanted.
    pub fn add(&mut self, name: &'a str, error: impl FnOnce() -> FieldError) {
        self.names.push(name);
        if self.with_errors {
            self.errors.push(error());
        }
    }

    /// Record a field error without a new offender name (a second error on the same one).
    pub fn add_error(&mut self, error: impl FnOnce() -> FieldError) {
        if self.with_errors {
            self.errors.push(error());
        }
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn names(&self) -> &[&'a str] {
        &self.names
    }

    pub fn into_errors(self) -> Vec<FieldError> {
        self.errors
    }

    pub fn wants_errors(&self) -> bool {
        self.with_errors
    }
}
