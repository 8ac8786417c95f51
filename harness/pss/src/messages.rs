//! PSA's two message envelopes: the pod denial and the `would violate` warning (also the
//! `audit-violations` annotation value). Built here and nowhere else.

use crate::format::go_quote;
use crate::policy::LevelVersion;

/// `<resource> "<name>" is forbidden: violates PodSecurity "<level:version>": <detail>`.
///
/// `resource` is the group-resource of the request (`pods`, also for the
/// `ephemeralcontainers` subresource). An empty name drops the name and its quotes, as
/// apimachinery's `NewForbidden` does.
pub fn forbidden_message(
    resource: &str,
    name: &str,
    policy: &LevelVersion,
    detail: &str,
) -> String {
    let mut out = String::with_capacity(resource.len() + name.len() + detail.len() + 64);
    out.push_str(resource);
    if !name.is_empty() {
        out.push(' ');
        out.push_str(&go_quote(name));
    }
    out.push_str(" is forbidden: violates PodSecurity ");
    push_policy_and_detail(&mut out, policy, detail);
    out
}

/// `would violate PodSecurity "<level:version>": <detail>`.
pub fn violation_warning(policy: &LevelVersion, detail: &str) -> String {
    let mut out = String::with_capacity(detail.len() + 48);
    out.push_str("would violate PodSecurity ");
    push_policy_and_detail(&mut out, policy, detail);
    out
}

/// `"<level:version>": <detail>`. A level-version is always printable ASCII without quotes
/// or backslashes, so Go's `%q` of it is the string in plain double quotes.
fn push_policy_and_detail(out: &mut String, policy: &LevelVersion, detail: &str) {
    use std::fmt::Write as _;
    let _ = write!(out, "\"{policy}\": ");
    out.push_str(detail);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes() {
        let lv: LevelVersion = "baseline:v1.99".parse().unwrap();
        assert_eq!(
            forbidden_message("pods", "p", &lv, "x (y)"),
            "pods \"p\" is forbidden: violates PodSecurity \"baseline:v1.99\": x (y)"
        );
        assert_eq!(
            forbidden_message("pods", "", &lv, "x"),
            "pods is forbidden: violates PodSecurity \"baseline:v1.99\": x"
        );
        assert_eq!(
            violation_warning(&lv, "x"),
            "would violate PodSecurity \"baseline:v1.99\": x"
        );
    }
}
