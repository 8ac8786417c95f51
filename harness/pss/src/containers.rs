//! A uniform view over init, regular and ephemeral containers, visited in upstream order.

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EphemeralContainer, Lifecycle, PodSpec, Probe, SecurityContext,
};

/// Which list of the pod spec a container comes from. The order of the variants is the
/// visit order of every container-level check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ContainerKind {
    Init,
    Regular,
    Ephemeral,
}

impl ContainerKind {
    /// The pod-spec field holding this kind, as it appears in field paths.
    pub fn field_name(self) -> &'static str {
        match self {
            ContainerKind::Init => "initContainers",
            ContainerKind::Regular => "containers",
            ContainerKind::Ephemeral => "ephemeralContainers",
        }
    }
}

/// The fields of a container that Pod Security looks at, whatever list it is in.
#[derive(Debug, Clone, Copy)]
pub struct ContainerView<'a> {
    pub kind: ContainerKind,
    /// Index within its own list (for field paths such as `spec.containers[0]`).
    pub index: usize,
    pub name: &'a str,
    pub image: Option<&'a str>,
    pub security_context: Option<&'a SecurityContext>,
    pub ports: &'a [ContainerPort],
    pub liveness_probe: Option<&'a Probe>,
    pub readiness_probe: Option<&'a Probe>,
    pub startup_probe: Option<&'a Probe>,
    pub lifecycle: Option<&'a Lifecycle>,
}

impl<'a> ContainerView<'a> {
    fn of_container(kind: ContainerKind, index: usize, c: &'a Container) -> Self {
        ContainerView {
            kind,
            index,
            name: &c.name,
            image: c.image.as_deref(),
            security_context: c.security_context.as_ref(),
            ports: c.ports.as_deref().unwrap_or_default(),
            liveness_probe: c.liveness_probe.as_ref(),
            readiness_probe: c.readiness_probe.as_ref(),
            startup_probe: c.startup_probe.as_ref(),
            lifecycle: c.lifecycle.as_ref(),
        }
    }

    fn of_ephemeral(index: usize, c: &'a EphemeralContainer) -> Self {
        ContainerView {
            kind: ContainerKind::Ephemeral,
            index,
            name: &c.name,
            image: c.image.as_deref(),
            security_context: c.security_context.as_ref(),
            ports: c.ports.as_deref().unwrap_or_default(),
            liveness_probe: c.liveness_probe.as_ref(),
            readiness_probe: c.readiness_probe.as_ref(),
            startup_probe: c.startup_probe.as_ref(),
            lifecycle: c.lifecycle.as_ref(),
        }
    }

    /// `spec.<list>[<index>]`, the prefix of this container's field paths.
    pub fn path(&self) -> String {
        format!("spec.{}[{}]", self.kind.field_name(), self.index)
    }
}

/// Every container of the pod in visit order: init, regular, then ephemeral.
pub fn visit(spec: &PodSpec) -> impl Iterator<Item = ContainerView<'_>> {
    let init = spec.init_containers.as_deref().unwrap_or_default();
    let ephemeral = spec.ephemeral_containers.as_deref().unwrap_or_default();
    init.iter()
        .enumerate()
        .map(|(i, c)| ContainerView::of_container(ContainerKind::Init, i, c))
        .chain(
            spec.containers
                .iter()
                .enumerate()
                .map(|(i, c)| ContainerView::of_container(ContainerKind::Regular, i, c)),
        )
        .chain(
            ephemeral
                .iter()
                .enumerate()
                .map(|(i, c)| ContainerView::of_ephemeral(i, c)),
        )
}
