//! An admission request, as PSA sees it (upstream `api.Attributes`), with everything the
//! API server would otherwise be asked for (the namespace's labels, the existing pods)
//! given up front so the model stays pure.

use std::sync::LazyLock;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, PodSpec};

use super::namespace_policy::Labels;
use crate::workload::{Kind, Workload};

/// The admission operation. PSA evaluates only `Create` and `Update`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// CREATE: evaluated.
    Create,
    /// UPDATE: evaluated (pods only when significant, §4.7).
    Update,
    /// DELETE: always allowed.
    Delete,
    /// CONNECT: always allowed.
    Connect,
}

/// The requested resource, which selects the flow (§4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// `""/namespaces`.
    Namespaces,
    /// `""/pods` (any subresource, e.g. `ephemeralcontainers`).
    Pods,
    /// A pod controller resource, e.g. `apps/deployments` for [`Kind::Deployment`].
    Controller(Kind),
}

impl Resource {
    /// The resource a kind is served at: [`Resource::Pods`] for pods, else a controller.
    pub fn of_kind(kind: Kind) -> Resource {
        if kind.is_pod() {
            Resource::Pods
        } else {
            Resource::Controller(kind)
        }
    }

    /// Map an API group and plural resource name; `None` for resources PSA does not handle.
    pub fn from_group_resource(group: &str, resource: &str) -> Option<Resource> {
        if group.is_empty() && resource == "namespaces" {
            return Some(Resource::Namespaces);
        }
        let kind = Kind::ALL.into_iter().find(|k| k.resource() == resource)?;
        let expected_group = kind.api_version().rsplit_once('/').map_or("", |(g, _)| g);
        (group == expected_group).then(|| Resource::of_kind(kind))
    }
}

/// A Namespace object: only its name and labels matter to PSA.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamespaceObject {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.labels`.
    pub labels: Labels,
}

/// The object (or old object) of a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    /// A Pod or pod controller.
    Workload(Box<Workload>),
    /// A Namespace.
    Namespace(NamespaceObject),
    /// A decoded object of some other type; the string is its group-version-kind as Go
    /// prints it (e.g. `/v1, Kind=Service`), used in `unexpected object type` errors.
    Other(String),
    /// The object could not be decoded; the string is the decoder's error.
    Undecodable(String),
}

impl From<Workload> for Object {
    fn from(w: Workload) -> Self {
        Object::Workload(Box::new(w))
    }
}

impl From<NamespaceObject> for Object {
    fn from(ns: NamespaceObject) -> Self {
        Object::Namespace(ns)
    }
}

/// The existing pods of a namespace, for the tightening check (§3.6), or the listing error.
pub type PodListing = Result<Vec<Pod>, String>;

static EMPTY_SPEC: LazyLock<PodSpec> = LazyLock::new(PodSpec::default);

/// A pod's spec; a pod without one is evaluated as the empty spec Go's zero value is.
pub(crate) fn pod_spec(pod: &Pod) -> &PodSpec {
    pod.spec.as_ref().unwrap_or(&EMPTY_SPEC)
}

/// The request's namespace: its name, and its labels or the lookup error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestNamespace {
    /// The namespace name (empty for cluster-scoped requests).
    pub name: String,
    /// The namespace's labels, or why looking it up failed.
    pub labels: Result<Labels, String>,
}

/// One admission request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The operation.
    pub operation: Operation,
    /// The resource, which selects the flow.
    pub resource: Resource,
    /// `""` for the main resource.
    pub subresource: String,
    /// The request name (used in denial messages).
    pub name: String,
    /// The request namespace; for Namespace objects, the namespace itself.
    pub namespace: RequestNamespace,
    /// The authenticated user name.
    pub user: String,
    /// The object (the new one for updates).
    pub object: Object,
    /// The object before an update (`None` when the request carries none).
    pub old_object: Option<Object>,
    /// Namespace updates: the pods to check against a tightened enforce level.
    pub existing_pods: PodListing,
    /// Time left until the request's deadline, if it has one.
    pub remaining: Option<Duration>,
}

impl Request {
    /// A CREATE of `workload` in namespace `namespace` with `labels`, named after the
    /// object, by an anonymous user.
    pub fn create_workload(workload: Workload, namespace: &str, labels: Labels) -> Request {
        let name = workload.name().to_owned();
        Request::new(
            Operation::Create,
            Resource::of_kind(workload.kind()),
            workload.into(),
        )
        .named(name)
        .in_namespace(namespace, Ok(labels))
    }

    /// A CREATE or UPDATE of a Namespace object (the old object is given for updates).
    pub fn namespace(new: NamespaceObject, old: Option<NamespaceObject>) -> Request {
        let operation = if old.is_some() {
            Operation::Update
        } else {
            Operation::Create
        };
        let name = new.name.clone();
        let mut req = Request::new(operation, Resource::Namespaces, new.into())
            .named(name.clone())
            .in_namespace(&name, Ok(Labels::new()));
        req.old_object = old.map(Object::Namespace);
        req
    }

    /// A request with no name, namespace, user, old object or existing pods.
    pub fn new(operation: Operation, resource: Resource, object: Object) -> Request {
        Request {
            operation,
            resource,
            subresource: String::new(),
            name: String::new(),
            namespace: RequestNamespace {
                name: String::new(),
                labels: Ok(Labels::new()),
            },
            user: String::new(),
            object,
            old_object: None,
            existing_pods: Ok(Vec::new()),
            remaining: None,
        }
    }

    /// Set the request name.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Set the namespace and its labels (or the lookup error).
    pub fn in_namespace(mut self, name: &str, labels: Result<Labels, String>) -> Self {
        self.namespace = RequestNamespace {
            name: name.to_owned(),
            labels,
        };
        self
    }

    /// Set the requesting user.
    pub fn by_user(mut self, user: impl Into<String>) -> Self {
        self.user = user.into();
        self
    }

    /// Set the subresource (e.g. `ephemeralcontainers`).
    pub fn with_subresource(mut self, subresource: impl Into<String>) -> Self {
        self.subresource = subresource.into();
        self
    }

    /// Make this an UPDATE from `old`.
    pub fn updating(mut self, old: Object) -> Self {
        self.operation = Operation::Update;
        self.old_object = Some(old);
        self
    }

    /// Set the namespace's existing pods (namespace updates).
    pub fn with_existing_pods(mut self, pods: PodListing) -> Self {
        self.existing_pods = pods;
        self
    }

    /// Set the time left until the request's deadline.
    pub fn with_remaining(mut self, remaining: Duration) -> Self {
        self.remaining = Some(remaining);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_resources_map_to_flows() {
        assert_eq!(
            Resource::from_group_resource("", "pods"),
            Some(Resource::Pods)
        );
        assert_eq!(
            Resource::from_group_resource("", "namespaces"),
            Some(Resource::Namespaces)
        );
        assert_eq!(
            Resource::from_group_resource("apps", "deployments"),
            Some(Resource::Controller(Kind::Deployment))
        );
        assert_eq!(
            Resource::from_group_resource("batch", "cronjobs"),
            Some(Resource::Controller(Kind::CronJob))
        );
        assert_eq!(
            Resource::from_group_resource("", "replicationcontrollers"),
            Some(Resource::Controller(Kind::ReplicationController))
        );
        assert_eq!(
            Resource::from_group_resource("extensions", "deployments"),
            None
        );
        assert_eq!(Resource::from_group_resource("", "services"), None);
    }

    #[test]
    fn namespace_request_shape() {
        let new = NamespaceObject {
            name: "ns".into(),
            labels: Labels::new(),
        };
        let req = Request::namespace(new.clone(), Some(new));
        assert_eq!(req.operation, Operation::Update);
        assert_eq!(req.name, "ns");
        assert_eq!(req.namespace.name, "ns");
        assert!(matches!(req.old_object, Some(Object::Namespace(_))));
    }
}
