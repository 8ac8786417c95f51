//! The denial texts: Kyverno's `GetBlockedMessages` and the API server's wrapping.

use crate::line::KyvernoLine;
use crate::response::{RuleResult, RuleStatus};
use crate::yaml_emit;

/// The webhook that serves policies with failure policy `Fail`.
pub const WEBHOOK_FAIL: &str = "validate.kyverno.svc-fail";
/// The webhook that serves policies with failure policy `Ignore`.
pub const WEBHOOK_IGNORE: &str = "validate.kyverno.svc-ignore";

/// One policy's rule responses in a webhook call.
#[derive(Debug, Clone, Copy)]
pub struct PolicyRules<'a> {
    /// The policy name only: a namespaced `Policy` is not qualified.
    pub policy: &'a str,
    pub rules: &'a [RuleResult],
}

/// Kyverno's message for a blocked request: `{policy: {rule: message}}` for every rule not
/// passed (and, from v1.12, not skipped), as sorted YAML under the header
/// `\n\nresource <Kind>/<ns>/<name> was blocked due to the following policies \n\n`. Empty
/// when no rule qualifies. Later entries with the same policy or rule name overwrite earlier
/// ones, as in Kyverno's Go maps.
pub fn blocked_message(resource: &str, responses: &[PolicyRules<'_>], line: KyvernoLine) -> String {
    let mut failures: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for response in responses {
        let mut rules: Vec<(String, String)> = Vec::new();
        let listed = |s: RuleStatus| {
            s != RuleStatus::Pass && (line.lists_skipped_rules() || s != RuleStatus::Skip)
        };
        for r in response.rules.iter().filter(|r| listed(r.status)) {
            upsert(&mut rules, &r.rule, r.message.clone());
        }
        if !rules.is_empty() {
            upsert(&mut failures, response.policy, rules);
        }
    }
    if failures.is_empty() {
        return String::new();
    }
    let yaml = yaml_emit::marshal(&failures, line.folds_yaml());
    format!("\n\nresource {resource} was blocked due to the following policies \n\n{yaml}")
}

fn upsert<V>(entries: &mut Vec<(String, V)>, key: &str, value: V) {
    match entries.iter_mut().find(|(k, _)| k == key) {
        Some(entry) => entry.1 = value,
        None => entries.push((key.to_owned(), value)),
    }
}

/// The API server's text for a webhook denial (kubectl prints it after `Error from server: `).
pub fn apiserver_text(webhook: &str, message: &str) -> String {
    if message.is_empty() {
        format!("admission webhook \"{webhook}\" denied the request without explanation")
    } else {
        format!("admission webhook \"{webhook}\" denied the request: {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure_action::FailureAction;
    use rstest::rstest;

    fn rule(name: &str, status: RuleStatus, message: &str) -> RuleResult {
        RuleResult {
            policy: "test".into(),
            policy_namespace: None,
            rule: name.into(),
            status,
            message: message.into(),
            action: FailureAction::Enforce,
            checks: vec![],
            order_is_nondeterministic: false,
        }
    }

    const HEADER: &str = "\n\nresource foo/bar/baz was blocked due to the following policies \n\n";

    /// Kyverno's `TestGetBlockedMessages` (resource `foo/bar/baz`, policy `test`).
    #[rstest]
    #[case(
        vec![rule("rule-fail", RuleStatus::Fail, "message fail")],
        "test:\n  rule-fail: message fail\n"
    )]
    #[case(
        vec![rule("rule-error", RuleStatus::Error, "message error")],
        "test:\n  rule-error: message error\n"
    )]
    #[case(
        vec![
            rule("rule-fail", RuleStatus::Fail, "message fail"),
            rule("rule-error", RuleStatus::Error, "message error"),
        ],
        "test:\n  rule-error: message error\n  rule-fail: message fail\n"
    )]
    fn get_blocked_messages(#[case] rules: Vec<RuleResult>, #[case] yaml: &str) {
        let want = format!("{HEADER}{yaml}");
        for line in KyvernoLine::ALL {
            let got = blocked_message(
                "foo/bar/baz",
                &[PolicyRules {
                    policy: "test",
                    rules: &rules,
                }],
                line,
            );
            assert_eq!(got, want, "{line}");
        }
    }

    #[test]
    fn passes_are_never_listed_and_skips_only_before_v1_12() {
        let rules = vec![
            rule("ok", RuleStatus::Pass, "passed"),
            rule("skipped", RuleStatus::Skip, "skipped it"),
        ];
        let resp = [PolicyRules {
            policy: "test",
            rules: &rules,
        }];
        assert_eq!(blocked_message("Pod/ns/p", &resp, KyvernoLine::V1_12), "");
        assert_eq!(
            blocked_message("Pod/ns/p", &resp, KyvernoLine::V1_10),
            "\n\nresource Pod/ns/p was blocked due to the following policies \n\n\
             test:\n  skipped: skipped it\n"
        );
    }

    #[test]
    fn policies_are_sorted_and_keyed_by_name() {
        let a = vec![rule("r", RuleStatus::Fail, "from b")];
        let b = vec![rule("r", RuleStatus::Fail, "from a")];
        let c = vec![rule("r", RuleStatus::Fail, "later a")];
        let resp = [
            PolicyRules {
                policy: "b",
                rules: &a,
            },
            PolicyRules {
                policy: "a",
                rules: &b,
            },
            PolicyRules {
                policy: "a",
                rules: &c,
            },
        ];
        assert_eq!(
            blocked_message("Pod/ns/p", &resp, KyvernoLine::V1_19),
            "\n\nresource Pod/ns/p was blocked due to the following policies \n\n\
             a:\n  r: later a\nb:\n  r: from b\n"
        );
    }

    #[test]
    fn apiserver_wrapping() {
        assert_eq!(
            apiserver_text(WEBHOOK_FAIL, "\n\nx"),
            "admission webhook \"validate.kyverno.svc-fail\" denied the request: \n\nx"
        );
        assert_eq!(
            apiserver_text(WEBHOOK_IGNORE, ""),
            "admission webhook \"validate.kyverno.svc-ignore\" denied the request \
             without explanation"
        );
    }
}
