//! Live clusters: the cluster target and what gets a cluster behind it (any kubeconfig, a
//! local control plane built from source, a kind node through testcontainers), the run's
//! namespaces, manifests installed for a run, and the cleanup that removes everything the
//! run wrote, also on failure, panic and signals.

pub mod api;
pub mod engine;
pub mod install;
pub mod kind;
pub mod local;
pub mod namespaces;
pub mod pki;
pub mod process;
pub mod session;
pub mod target;
