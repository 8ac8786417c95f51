//! PSA's two message envelopes: the pod denial and the `would violate` warning (also the
//! `audit-violations` annotation value). Built here and nowhere else.

use crate::format::go_quote;
use crate::policy::LevelVersion;

/// `<resource> "<name>" is forbidden: violates PodSecurity "<level:version>": <detail>`.
///
/// `resource` is the group-resource of the request (`pods`, also for the
/// `ephemeralcontainers` subresource). An empty name drops the name and its quotes, as
/// apimachinery's `NewForbidden` does.
pub fn forbidden_message(resource: &str, name: &str, policy: &LevelVersion, detail: &str) -> String {
    let subject = if name.is_empty() {
        resource.to_owned()
    } else {
        format!("{resource} {}", go_quote(name))
    };
    format!("{subject} is forbidden: violates PodSecurity {}: {detail}", go_quote(&policy.to_string()))
}

/// `would violate PodSecurity "<level:version>": <detail>`.
pub fn violation_warning(policy: &LevelVersion, detail: &str) -> String {
    format!("would violate PodSecurity {}: {detail}", go_quote(&policy.to_string()))
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
        assert_eq!(violation_warning(&lv, "x"), "would violate PodSecurity \"baseline:v1.99\": x");
    }
}
