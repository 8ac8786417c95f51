//! The admission entry point: a validated configuration plus an evaluator, answering
//! requests by resource (upstream `Admission.Validate`).

use super::config::AdmissionConfig;
use super::namespace_policy::{EffectivePolicy, Labels, Policy};
use super::request::{Operation, Request, Resource};
use super::response::Response;
use super::tightening::{Clock, MonotonicClock, TighteningLimits, evaluator_reasons};
use crate::evaluator::Evaluator;

/// The PSA admission model. Cheap to build; holds no per-request state.
#[derive(Debug, Clone)]
pub struct Admission<'e> {
    /// The validated configuration (defaults and exemptions).
    pub config: AdmissionConfig,
    /// The evaluator the modes are checked with.
    pub evaluator: &'e Evaluator,
    /// The bounds of the namespace-tightening check (§3.6).
    pub limits: TighteningLimits,
}

impl Admission<'static> {
    /// An admission model with the standard (newest) evaluator.
    pub fn new(config: AdmissionConfig) -> Self {
        Admission::with_evaluator(config, Evaluator::standard())
    }
}

impl<'e> Admission<'e> {
    /// An admission model with a given evaluator (e.g. one emulating an older server).
    pub fn with_evaluator(config: AdmissionConfig, evaluator: &'e Evaluator) -> Self {
        Admission {
            config,
            evaluator,
            limits: TighteningLimits::default(),
        }
    }

    /// Answer one request, timing the tightening check with the system's monotonic clock.
    pub fn validate(&self, req: &Request) -> Response {
        self.validate_with_clock(req, &MonotonicClock::start())
    }

    /// [`Admission::validate`] with an injected clock (tests use a fake one).
    pub fn validate_with_clock(&self, req: &Request, clock: &dyn Clock) -> Response {
        if !matches!(req.operation, Operation::Create | Operation::Update) {
            return Response::allow();
        }
        match req.resource {
            Resource::Namespaces => {
                self.validate_namespace_with(req, clock, &mut evaluator_reasons(self.evaluator))
            }
            Resource::Pods => self.validate_pod(req),
            Resource::Controller(_) => self.validate_controller(req),
        }
    }

    /// The effective policy of a namespace with `labels` under this configuration.
    pub fn policy_for(&self, labels: &Labels) -> EffectivePolicy {
        Policy::from_labels(labels, &self.config.defaults)
    }
}
