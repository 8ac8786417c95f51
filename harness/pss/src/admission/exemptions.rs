//! Exemptions (§4.1): requests PSA lets through without evaluation.
//!
//! Matching is exact string equality against the configured lists, and an empty request
//! value never matches (an unset runtime class or an anonymous user is not "exempt").

use k8s_openapi::api::core::v1::PodSpec;

/// Why a request was exempt: the value of the `exempt` audit annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exemption {
    /// The request's namespace is exempt.
    Namespace,
    /// The requesting user is exempt.
    User,
    /// The pod's (or template's) runtime class is exempt.
    RuntimeClass,
}

impl Exemption {
    /// The annotation value: `namespace`, `user` or `runtimeClass`.
    pub fn as_str(self) -> &'static str {
        match self {
            Exemption::Namespace => "namespace",
            Exemption::User => "user",
            Exemption::RuntimeClass => "runtimeClass",
        }
    }
}

/// The exempt usernames, namespaces and runtime classes of a validated configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exemptions {
    /// Exempt authenticated user names.
    pub usernames: Vec<String>,
    /// Exempt namespaces.
    pub namespaces: Vec<String>,
    /// Exempt runtime class names.
    pub runtime_classes: Vec<String>,
}

impl Exemptions {
    /// Whether requests in `namespace` are exempt.
    pub fn namespace(&self, namespace: &str) -> bool {
        contains_non_empty(&self.namespaces, namespace)
    }

    /// Whether requests by `username` are exempt.
    pub fn user(&self, username: &str) -> bool {
        contains_non_empty(&self.usernames, username)
    }

    /// `spec.runtimeClassName` (of a pod or a template) is set and exempt.
    pub fn runtime_class(&self, spec: &PodSpec) -> bool {
        spec.runtime_class_name
            .as_deref()
            .is_some_and(|rc| contains_non_empty(&self.runtime_classes, rc))
    }
}

fn contains_non_empty(list: &[String], value: &str) -> bool {
    !value.is_empty() && list.iter().any(|v| v == value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_matches_only_and_empty_never_matches() {
        let ex = Exemptions {
            usernames: vec!["admin".into()],
            namespaces: vec!["kube-system".into()],
            runtime_classes: vec!["kata".into()],
        };
        assert!(ex.namespace("kube-system"));
        assert!(!ex.namespace("kube-System"));
        assert!(!ex.namespace(""));
        assert!(ex.user("admin"));
        assert!(!ex.user("admin2"));
        let mut spec = PodSpec::default();
        assert!(!ex.runtime_class(&spec));
        spec.runtime_class_name = Some("kata".into());
        assert!(ex.runtime_class(&spec));
        spec.runtime_class_name = Some(String::new());
        assert!(!ex.runtime_class(&spec));
        assert_eq!(Exemption::RuntimeClass.as_str(), "runtimeClass");
    }
}
