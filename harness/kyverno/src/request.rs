//! The admission request Kyverno evaluates: the object, the operation, and what the
//! webhook knows about the namespace and the user.

use std::collections::BTreeMap;

use pss::Workload;

/// An admission operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Operation {
    #[default]
    Create,
    Update,
    Delete,
    Connect,
}

impl Operation {
    /// The admission wire name (`CREATE`...), as `match.resources.operations` lists it.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Connect => "CONNECT",
        }
    }
}

/// The requesting user, for `subjects`, `roles` and `clusterRoles` filters. Kyverno's CLI
/// evaluates with no user at all; then `match` ignores user filters and `exclude` user
/// filters never apply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestUser {
    pub username: String,
    pub groups: Vec<String>,
    /// Namespaced roles bound to the user, as `<namespace>:<name>`.
    pub roles: Vec<String>,
    pub cluster_roles: Vec<String>,
}

/// One admission request as Kyverno's validating webhook sees it.
#[derive(Debug, Clone, Copy)]
pub struct AdmissionRequest<'a> {
    /// The new object (the old one for DELETE, which podSecurity skips anyway).
    pub object: &'a Workload,
    /// The stored object on UPDATE, for Enforce rules with `allowExistingViolations`.
    pub old_object: Option<&'a Workload>,
    pub operation: Operation,
    /// The request namespace; defaults to the object's `metadata.namespace`.
    pub namespace: Option<&'a str>,
    /// Labels of the namespace, for `namespaceSelector`s (none known: empty).
    pub namespace_labels: Option<&'a BTreeMap<String, String>>,
    pub user: Option<&'a RequestUser>,
}

impl<'a> AdmissionRequest<'a> {
    /// A CREATE of `object` with nothing else known.
    pub fn create(object: &'a Workload) -> Self {
        AdmissionRequest {
            object,
            old_object: None,
            operation: Operation::Create,
            namespace: None,
            namespace_labels: None,
            user: None,
        }
    }

    /// The namespace the resource lives in (empty when unknown).
    pub fn resource_namespace(&self) -> &'a str {
        self.namespace
            .or_else(|| self.object.namespace())
            .unwrap_or("")
    }

    /// `<Kind>/<namespace>/<name>`, the resource name in Kyverno's denial header.
    pub fn resource_name(&self) -> String {
        format!(
            "{}/{}/{}",
            self.object.kind(),
            self.resource_namespace(),
            self.object.name()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_resource_like_kyverno() {
        let pod = Workload::from_json(
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[]}}"#,
        )
        .unwrap();
        let mut req = AdmissionRequest::create(&pod);
        assert_eq!(req.resource_name(), "Pod//p");
        req.namespace = Some("default");
        assert_eq!(req.resource_name(), "Pod/default/p");
        assert_eq!(Operation::Update.as_str(), "UPDATE");
    }
}
