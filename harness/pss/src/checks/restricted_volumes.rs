//! `restrictedVolumes` (restricted, v1.0+; overrides `hostPathVolumes`).
//!
//! Besides hostPath, the restricted level limits inline volume sources to those that cannot
//! reach node or network storage directly.
//!
//! Restricted fields: `spec.volumes[*].<source>` for every source but the allowed ones.
//! Allowed sources: `configMap`, `csi`, `downwardAPI`, `emptyDir`, `ephemeral`, `image`,
//! `persistentVolumeClaim`, `projected`, `secret`. A volume with any allowed source is fine
//! even when it also sets a restricted one. A volume with no source at all is reported as
//! type `unknown` (a live API server first defaults it to `emptyDir`).

use k8s_openapi::api::core::v1::{PodSpec, Volume};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{CheckEntry, CheckId};
use crate::format::{noun, push_join_quote, sorted_unique};
use crate::result::{BadValue, CheckOptions, FieldError, Forbidden, Violations};

pub(crate) const ENTRIES: &[CheckEntry] =
    &[CheckEntry::overriding(0, v1_0, &[CheckId::HostPathVolumes])];

fn v1_0(_meta: &ObjectMeta, spec: &PodSpec, opts: CheckOptions) -> Option<Forbidden> {
    let mut bad = Violations::new(opts);
    let mut types: Vec<&'static str> = Vec::new();
    for (i, v) in spec.volumes.iter().flatten().enumerate() {
        if has_allowed_source(v) {
            continue;
        }
        let kind = restricted_type(v);
        types.push(kind);
        // The fork reports the source field itself, with apimachinery's empty bad value.
        bad.add(&v.name, || {
            FieldError::forbidden(format!("spec.volumes[{i}].{kind}"), BadValue::Empty)
        });
    }
    if bad.is_empty() {
        return None;
    }
    let types = sorted_unique(types);
    let names_len: usize = bad.names().iter().map(|n| n.len() + 4).sum();
    let types_len: usize = types.iter().map(|t| t.len() + 4).sum();
    let mut detail = String::with_capacity(names_len + types_len + 64);
    detail.push_str(noun(bad.len(), "volume", "volumes"));
    detail.push(' ');
    push_join_quote(&mut detail, bad.names());
    detail.push(' ');
    detail.push_str(noun(bad.len(), "uses", "use"));
    detail.push(' ');
    detail.push_str(noun(
        types.len(),
        "restricted volume type",
        "restricted volume types",
    ));
    detail.push(' ');
    push_join_quote(&mut detail, &types);
    Some(Forbidden {
        reason: "restricted volume types",
        detail,
        field_errors: bad.into_errors(),
    })
}

fn has_allowed_source(v: &Volume) -> bool {
    v.config_map.is_some()
        || v.csi.is_some()
        || v.downward_api.is_some()
        || v.empty_dir.is_some()
        || v.ephemeral.is_some()
        || v.image.is_some()
        || v.persistent_volume_claim.is_some()
        || v.projected.is_some()
        || v.secret.is_some()
}

/// The first restricted source present, in upstream's order; `unknown` when none is.
fn restricted_type(v: &Volume) -> &'static str {
    let sources = [
        (v.host_path.is_some(), "hostPath"),
        (v.gce_persistent_disk.is_some(), "gcePersistentDisk"),
        (v.aws_elastic_block_store.is_some(), "awsElasticBlockStore"),
        (v.git_repo.is_some(), "gitRepo"),
        (v.nfs.is_some(), "nfs"),
        (v.iscsi.is_some(), "iscsi"),
        (v.glusterfs.is_some(), "glusterfs"),
        (v.rbd.is_some(), "rbd"),
        (v.flex_volume.is_some(), "flexVolume"),
        (v.cinder.is_some(), "cinder"),
        (v.cephfs.is_some(), "cephfs"),
        (v.flocker.is_some(), "flocker"),
        (v.fc.is_some(), "fc"),
        (v.azure_file.is_some(), "azureFile"),
        (v.vsphere_volume.is_some(), "vsphereVolume"),
        (v.quobyte.is_some(), "quobyte"),
        (v.azure_disk.is_some(), "azureDisk"),
        (v.photon_persistent_disk.is_some(), "photonPersistentDisk"),
        (v.portworx_volume.is_some(), "portworxVolume"),
        (v.scale_io.is_some(), "scaleIO"),
        (v.storageos.is_some(), "storageos"),
    ];
    sources
        .into_iter()
        .find(|(present, _)| *present)
        .map_or("unknown", |(_, name)| name)
}

#[cfg(test)]
mod tests {
    use crate::CheckId;
    use crate::result::{BadValue, FieldError};
    use crate::testing::{check_detail, check_field_errors, pod};
    use serde_json::{Value, json};

    const ID: CheckId = CheckId::RestrictedVolumes;

    /// One volume of each of the 21 restricted sources (in upstream's test order), then a
    /// sourceless one.
    fn upstream_volumes() -> Vec<Value> {
        let sources = [
            ("gcePersistentDisk", json!({"pdName": "x"})),
            ("awsElasticBlockStore", json!({"volumeID": "x"})),
            ("gitRepo", json!({"repository": "x"})),
            ("nfs", json!({"server": "x", "path": "/"})),
            ("iscsi", json!({"targetPortal": "x", "iqn": "x", "lun": 0})),
            ("glusterfs", json!({"endpoints": "x", "path": "x"})),
            ("rbd", json!({"monitors": [], "image": "x"})),
            ("flexVolume", json!({"driver": "x"})),
            ("cinder", json!({"volumeID": "x"})),
            ("cephfs", json!({"monitors": []})),
            ("flocker", json!({})),
            ("fc", json!({})),
            ("azureFile", json!({"secretName": "x", "shareName": "x"})),
            ("vsphereVolume", json!({"volumePath": "x"})),
            ("quobyte", json!({"registry": "x", "volume": "x"})),
            ("azureDisk", json!({"diskName": "x", "diskURI": "x"})),
            ("portworxVolume", json!({"volumeID": "x"})),
            ("photonPersistentDisk", json!({"pdID": "x"})),
            (
                "scaleIO",
                json!({"gateway": "x", "system": "x", "secretRef": {}}),
            ),
            ("storageos", json!({})),
            ("hostPath", json!({"path": "/"})),
        ];
        let mut volumes: Vec<Value> = sources
            .into_iter()
            .enumerate()
            .map(|(i, (k, v))| {
                let mut vol = json!({"name": format!("b{}", i + 1)});
                vol[k] = v;
                vol
            })
            .collect();
        volumes.push(json!({"name": "c1"}));
        volumes
    }

    #[test]
    fn upstream_example_lists_every_type_sorted() {
        let mut volumes = vec![
            json!({"name": "a1", "emptyDir": {}}),
            json!({"name": "a2", "secret": {}}),
            json!({"name": "a3", "persistentVolumeClaim": {"claimName": "x"}}),
            json!({"name": "a4", "downwardAPI": {}}),
            json!({"name": "a5", "configMap": {}}),
            json!({"name": "a6", "projected": {"sources": []}}),
            json!({"name": "a7", "csi": {"driver": "x"}}),
            json!({"name": "a8", "ephemeral": {}}),
            json!({"name": "a9", "image": {}}),
        ];
        volumes.extend(upstream_volumes());
        let p = pod(json!({"volumes": volumes}));
        let names: Vec<String> = (1..=21).map(|i| format!("\"b{i}\"")).collect();
        let want = format!(
            "restricted volume types (volumes {}, \"c1\" use restricted volume types \
             \"awsElasticBlockStore\", \"azureDisk\", \"azureFile\", \"cephfs\", \"cinder\", \
             \"fc\", \"flexVolume\", \"flocker\", \"gcePersistentDisk\", \"gitRepo\", \
             \"glusterfs\", \"hostPath\", \"iscsi\", \"nfs\", \"photonPersistentDisk\", \
             \"portworxVolume\", \"quobyte\", \"rbd\", \"scaleIO\", \"storageos\", \"unknown\", \
             \"vsphereVolume\")",
            names.join(", ")
        );
        assert_eq!(check_detail(ID, 0, &p).as_deref(), Some(want.as_str()));
    }

    #[test]
    fn sourceless_volume_is_unknown() {
        // E19
        let p = pod(json!({"volumes": [{"name": "v"}]}));
        assert_eq!(
            check_detail(ID, 37, &p).as_deref(),
            Some("restricted volume types (volume \"v\" uses restricted volume type \"unknown\")")
        );
    }

    #[test]
    fn host_path_and_nfs_are_listed_in_spec_order() {
        // E20
        let p = pod(json!({"volumes": [
            {"name": "h", "hostPath": {"path": "/"}},
            {"name": "n", "nfs": {"server": "s", "path": "/"}},
        ]}));
        assert_eq!(
            check_detail(ID, 37, &p).as_deref(),
            Some(
                "restricted volume types (volumes \"h\", \"n\" use restricted volume types \
                 \"hostPath\", \"nfs\")"
            )
        );
    }

    #[test]
    fn allowed_source_wins_and_first_restricted_source_names_the_type() {
        let p = pod(json!({"volumes": [
            {"name": "ok", "emptyDir": {}, "hostPath": {"path": "/"}},
            {"name": "x", "nfs": {"server": "s", "path": "/"}, "hostPath": {"path": "/"}},
            {"name": "y", "hostPath": {"path": "/etc"}},
        ]}));
        assert_eq!(
            check_detail(ID, 37, &p).as_deref(),
            Some(
                "restricted volume types (volumes \"x\", \"y\" use restricted volume type \
                 \"hostPath\")"
            )
        );
    }

    #[test]
    fn exists_from_v1_0_and_overrides_host_path_volumes() {
        assert_eq!(ID.entries().len(), 1);
        assert_eq!(ID.entries()[0].min_minor, 0);
        assert_eq!(ID.entries()[0].overrides, [CheckId::HostPathVolumes]);
        assert_eq!(check_detail(ID, 37, &pod(json!({}))), None);
    }

    #[test]
    fn field_errors_name_the_source_with_an_empty_value() {
        let p = pod(json!({"volumes": [
            {"name": "ok", "secret": {}},
            {"name": "f", "flexVolume": {"driver": "d"}},
            {"name": "u"},
        ]}));
        assert_eq!(
            check_field_errors(ID, 37, &p),
            [
                FieldError::forbidden("spec.volumes[1].flexVolume".into(), BadValue::Empty),
                FieldError::forbidden("spec.volumes[2].unknown".into(), BadValue::Empty),
            ]
        );
    }
}
