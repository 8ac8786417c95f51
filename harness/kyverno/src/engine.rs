//! Evaluating policies against one admission request the way Kyverno's validating webhook
//! does: rules computed for the request kind (autogen), matched, podSecurity rules run,
//! then the failure actions and failure policies decide whether the request is denied and
//! with which text.

use pss::Workload;

use crate::autogen;
use crate::blocked::{PolicyRules, WEBHOOK_FAIL, WEBHOOK_IGNORE, apiserver_text, blocked_message};
use crate::check_format::{failure_message, rewrite_paths};
use crate::controls::control_of;
use crate::exclusion;
use crate::failure_action::{self, FailureAction, Scope};
use crate::line::KyvernoLine;
use crate::matching::{Resource, rule_applies};
use crate::pod_extract::{PodView, UNSUPPORTED_KIND, extract};
use crate::pod_security::PodSecurity;
use crate::policy::{Policy, Rule};
use crate::pss_eval::{self, RequestedVersion, Selection};
use crate::request::{AdmissionRequest, Operation};
use crate::response::{FailedCheck, KyvernoResponse, RuleResult, RuleStatus};

static NO_LABELS: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();

/// The message of a rule skipped on UPDATE because the old object failed it too.
pub const PRE_EXISTING_VIOLATION: &str =
    "skipping the rule evaluation as pre-existing violations are allowed";

/// Evaluate `policies` (in the given order) against `request` as Kyverno on `line` would.
pub fn evaluate(
    policies: &[Policy],
    request: &AdmissionRequest<'_>,
    line: KyvernoLine,
) -> KyvernoResponse {
    let mut response = KyvernoResponse::new_allowed();
    if request.operation == Operation::Delete {
        return response;
    }
    let resource = Resource::of(request);
    let outcomes: Vec<PolicyOutcome<'_>> = policies
        .iter()
        .map(|p| evaluate_policy(p, request, &resource, line, &mut response.unmodelled))
        .collect();
    for ignore_group in [false, true] {
        let group: Vec<&PolicyOutcome<'_>> = outcomes
            .iter()
            .filter(|o| o.policy.failure_policy_ignores() == ignore_group)
            .filter(|o| failure_action::in_enforce_path(&o.policy.spec, line))
            .collect();
        if group.iter().any(|o| o.blocks(ignore_group)) {
            let webhook = if ignore_group {
                WEBHOOK_IGNORE
            } else {
                WEBHOOK_FAIL
            };
            let rules: Vec<PolicyRules<'_>> = group
                .iter()
                .map(|o| PolicyRules {
                    policy: &o.policy.name,
                    rules: &o.results,
                })
                .collect();
            let message = blocked_message(&request.resource_name(), &rules, line);
            response.allowed = false;
            response.apiserver_text = Some(apiserver_text(webhook, &message));
            response.denial_message = Some(message);
            response.webhook = Some(webhook.to_owned());
            break;
        }
    }
    response.rules = outcomes.into_iter().flat_map(|o| o.results).collect();
    response
}

/// The rule responses of one policy.
struct PolicyOutcome<'p> {
    policy: &'p Policy,
    results: Vec<RuleResult>,
}

impl PolicyOutcome<'_> {
    /// `BlockRequest`: a failing rule whose action is Enforce, or an errored rule on the
    /// `-fail` webhook.
    fn blocks(&self, ignore_group: bool) -> bool {
        let enforced = self
            .results
            .iter()
            .any(|r| r.status == RuleStatus::Fail && r.action == FailureAction::Enforce);
        let errored = self.results.iter().any(|r| r.status == RuleStatus::Error);
        enforced || (errored && !ignore_group)
    }
}

fn evaluate_policy<'p>(
    policy: &'p Policy,
    request: &AdmissionRequest<'_>,
    resource: &Resource<'_>,
    line: KyvernoLine,
    unmodelled: &mut Vec<String>,
) -> PolicyOutcome<'p> {
    let kind = request.object.kind().as_str();
    let per_kind = line.rules_per_request_kind().then_some(kind);
    let rules = autogen::compute_rules(policy, per_kind, line.qualified_autogen_kinds());
    let scope = Scope {
        namespace: request.resource_namespace(),
        namespace_labels: request.namespace_labels.unwrap_or(&NO_LABELS),
    };
    let mut results = Vec::new();
    for rule in &rules {
        if !rule_applies(
            &rule.match_resources,
            rule.exclude_resources.as_ref(),
            policy.namespace.as_deref(),
            resource,
        ) {
            continue;
        }
        note_unmodelled(policy, rule, request, unmodelled);
        let Some(pod_security) = rule.pod_security() else {
            continue;
        };
        let action = failure_action::effective(rule, &policy.spec, scope, line);
        let mut outcome = rule_outcome(&rule.name, pod_security, request.object, line);
        if outcome.status == RuleStatus::Fail
            && pre_existing_violation(policy, rule, pod_security, request, line)
        {
            outcome = Outcome::plain(RuleStatus::Skip, PRE_EXISTING_VIOLATION.to_owned());
        }
        results.push(RuleResult {
            policy: policy.name.clone(),
            policy_namespace: policy.namespace.clone(),
            rule: rule.name.clone(),
            status: outcome.status,
            message: outcome.message,
            action,
            checks: outcome.checks,
            order_is_nondeterministic: outcome.nondeterministic,
        });
    }
    if policy.spec.apply_rules.as_deref() == Some("One") {
        unmodelled.push(format!("{}: applyRules One is not modelled", policy.name));
    }
    if policy.spec.has_webhook_match_conditions {
        unmodelled.push(format!(
            "{}: webhook matchConditions (fine-grained webhook) are not modelled",
            policy.name
        ));
    }
    PolicyOutcome { policy, results }
}

/// Record what Kyverno would evaluate for a matched rule but this crate does not.
fn note_unmodelled(
    policy: &Policy,
    rule: &Rule,
    request: &AdmissionRequest<'_>,
    unmodelled: &mut Vec<String>,
) {
    let at = format!("{}/{}", policy.name, rule.name);
    if rule.pod_security().is_none() {
        unmodelled.push(format!(
            "{at}: a matched rule that is not validate.podSecurity is not evaluated"
        ));
    }
    if rule.has_preconditions {
        unmodelled.push(format!(
            "{at}: preconditions are not evaluated (treated as met)"
        ));
    }
    if rule.has_context {
        unmodelled.push(format!("{at}: context entries are not loaded"));
    }
    let user_filters = rule.match_resources.uses_user_info()
        || rule
            .exclude_resources
            .as_ref()
            .is_some_and(|e| e.uses_user_info());
    if user_filters && request.user.is_none() {
        unmodelled.push(format!(
            "{at}: user filters evaluated without a user (as the Kyverno CLI does)"
        ));
    }
}

/// The result of running one podSecurity rule on one object.
struct Outcome {
    status: RuleStatus,
    message: String,
    checks: Vec<FailedCheck>,
    nondeterministic: bool,
}

impl Outcome {
    fn plain(status: RuleStatus, message: String) -> Self {
        Outcome {
            status,
            message,
            checks: Vec::new(),
            nondeterministic: false,
        }
    }
}

/// Kyverno's podSecurity handler for one object: extract the pod, parse the version,
/// evaluate, apply the rule's exclusions, rewrite paths for the kind, build the message.
fn rule_outcome(
    rule_name: &str,
    ps: &PodSecurity,
    object: &Workload,
    line: KyvernoLine,
) -> Outcome {
    let Some(pod) = extract(object) else {
        return Outcome::plain(RuleStatus::Error, UNSUPPORTED_KIND.to_owned());
    };
    let version = match RequestedVersion::parse(ps.version_str()) {
        Ok(v) => v,
        Err(e) => {
            return Outcome::plain(
                RuleStatus::Error,
                format!("failed to parse pod security api version: {e}"),
            );
        }
    };
    let selection = Selection::new(ps.level_str(), version);
    let evaluate = |p: &PodView| pss_eval::evaluate(selection, p, line);
    let mut results = evaluate(&pod);
    let nondeterministic = !ps.exclude.is_empty();
    if nondeterministic {
        results = exclusion::apply(&ps.exclude, results, &pod, line, &evaluate);
    }
    if results.is_empty() {
        return Outcome::plain(
            RuleStatus::Pass,
            format!("Validation rule '{rule_name}' passed."),
        );
    }
    if !line.legacy_check_format() {
        rewrite_paths(&mut results, object.kind());
    }
    let message = failure_message(
        rule_name,
        ps.level_str(),
        ps.version_str(),
        &results,
        line.legacy_check_format(),
    );
    let checks = results
        .into_iter()
        .map(|r| FailedCheck {
            id: r.id,
            control: control_of(r.id),
            reason: r.forbidden.reason,
            detail: r.forbidden.detail,
            field_errors: r.forbidden.field_errors,
        })
        .collect();
    Outcome {
        status: RuleStatus::Fail,
        message,
        checks,
        nondeterministic,
    }
}

/// v1.13+: on UPDATE, an Enforce rule allowing existing violations (the default) re-runs
/// on the old object; if that fails too, the failure is not held against the update.
fn pre_existing_violation(
    policy: &Policy,
    rule: &Rule,
    ps: &PodSecurity,
    request: &AdmissionRequest<'_>,
    line: KyvernoLine,
) -> bool {
    let Some(old) = request.old_object else {
        return false;
    };
    if request.operation != Operation::Update || line == KyvernoLine::V1_10 {
        return false;
    }
    let enforce =
        failure_action::for_existing_violations(rule, &policy.spec) == FailureAction::Enforce;
    let allowed = rule
        .validate
        .as_ref()
        .and_then(|v| v.allow_existing_violations)
        .unwrap_or(true);
    enforce && allowed && rule_outcome(&rule.name, ps, old, line).status == RuleStatus::Fail
}
