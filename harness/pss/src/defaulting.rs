//! The API-server behaviour that runs before Pod Security admission and changes its result.
//!
//! Upstream's offline fixtures only pass with the volume rule; the others make an offline
//! verdict match what a live cluster says. Each rule can be switched off.

use k8s_openapi::api::core::v1::{EmptyDirVolumeSource, PodSpec, Volume};

use crate::workload::Workload;

/// Which API-server defaulting steps to apply before evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Defaulting {
    /// A volume with no source gets `emptyDir: {}` (core/v1 `SetDefaults_Volume`).
    pub empty_dir_for_sourceless_volumes: bool,
    /// Pods only: with `hostNetwork: true`, an unset `hostPort` defaults to
    /// `containerPort` (core/v1 `SetDefaults_PodSpec`, containers and init containers).
    /// Pod templates are left alone since Kubernetes 1.28 (feature gate
    /// `DefaultHostNetworkHostPortsInPodTemplates`, off by default), as a live v1.37 API
    /// server confirms: a Deployment's template keeps its unset hostPorts.
    pub host_port_from_container_port: bool,
    /// Pods only: AppArmor annotations and fields are synchronised on create
    /// (pod strategy `applyAppArmorVersionSkew`, Kubernetes 1.30+).
    pub app_armor_annotations_to_fields: bool,
}

impl Defaulting {
    /// Every step, as a live API server applies them.
    pub const API_SERVER: Defaulting = Defaulting {
        empty_dir_for_sourceless_volumes: true,
        host_port_from_container_port: true,
        app_armor_annotations_to_fields: true,
    };

    /// No defaulting: evaluate the object exactly as written.
    pub const NONE: Defaulting = Defaulting {
        empty_dir_for_sourceless_volumes: false,
        host_port_from_container_port: false,
        app_armor_annotations_to_fields: false,
    };

    /// Apply the enabled steps to a workload in place.
    pub fn apply(&self, workload: &mut Workload) {
        let is_pod = matches!(workload, Workload::Pod(_));
        if let Some(spec) = workload.pod_spec_mut() {
            self.apply_volumes(spec);
            if is_pod {
                self.apply_host_ports(spec);
            }
        }
        if let (true, Workload::Pod(pod)) = (self.app_armor_annotations_to_fields, workload) {
            crate::app_armor_skew::apply(pod);
        }
    }

    /// The volume step (pods and templates).
    fn apply_volumes(&self, spec: &mut PodSpec) {
        if self.empty_dir_for_sourceless_volumes {
            for volume in spec.volumes.iter_mut().flatten() {
                if has_no_source(volume) {
                    volume.empty_dir = Some(EmptyDirVolumeSource::default());
                }
            }
        }
    }

    /// The host-port step (pods only).
    fn apply_host_ports(&self, spec: &mut PodSpec) {
        if self.host_port_from_container_port && spec.host_network == Some(true) {
            let init = spec.init_containers.iter_mut().flatten();
            for container in spec.containers.iter_mut().chain(init) {
                for port in container.ports.iter_mut().flatten() {
                    if port.host_port.unwrap_or(0) == 0 {
                        port.host_port = Some(port.container_port);
                    }
                }
            }
        }
    }
}

impl Default for Defaulting {
    fn default() -> Self {
        Defaulting::API_SERVER
    }
}

fn has_no_source(v: &Volume) -> bool {
    // Compare against a volume that carries only the name: every source is `None`.
    let bare = Volume {
        name: v.name.clone(),
        ..Volume::default()
    };
    *v == bare
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(spec: serde_json::Value) -> Workload {
        Workload::from_value(serde_json::json!({"apiVersion": "v1", "kind": "Pod", "spec": spec}))
            .unwrap()
    }

    #[test]
    fn sourceless_volume_becomes_empty_dir() {
        let mut w = pod(
            serde_json::json!({"containers": [], "volumes": [{"name": "v"}, {"name": "h", "hostPath": {"path": "/"}}]}),
        );
        Defaulting::API_SERVER.apply(&mut w);
        let spec = w.pod_template().unwrap().spec;
        let vols = spec.volumes.as_ref().unwrap();
        assert!(vols[0].empty_dir.is_some());
        assert!(vols[1].empty_dir.is_none());
    }

    #[test]
    fn host_network_copies_container_port() {
        let spec = serde_json::json!({"hostNetwork": true, "containers": [{"name": "c", "ports": [{"containerPort": 80}, {"containerPort": 81, "hostPort": 9}]}]});
        let mut w = pod(spec.clone());
        Defaulting::API_SERVER.apply(&mut w);
        let ports = w.pod_template().unwrap().spec.containers[0]
            .ports
            .clone()
            .unwrap();
        assert_eq!(
            (ports[0].host_port, ports[1].host_port),
            (Some(80), Some(9))
        );
        let mut raw = pod(spec);
        Defaulting::NONE.apply(&mut raw);
        assert_eq!(
            raw.pod_template().unwrap().spec.containers[0]
                .ports
                .as_ref()
                .unwrap()[0]
                .host_port,
            None
        );
    }

    #[test]
    fn templates_keep_their_unset_host_ports() {
        let mut w = Workload::from_value(serde_json::json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "spec": {"selector": {}, "template": {"spec": {"hostNetwork": true,
                "containers": [{"name": "c", "ports": [{"containerPort": 80}]}],
                "volumes": [{"name": "v"}]}}}}))
        .unwrap();
        Defaulting::API_SERVER.apply(&mut w);
        let spec = w.pod_template().unwrap().spec;
        assert_eq!(
            spec.containers[0].ports.as_ref().unwrap()[0].host_port,
            None
        );
        assert!(
            spec.volumes.as_ref().unwrap()[0].empty_dir.is_some(),
            "volumes are still defaulted in templates"
        );
    }
}
