//! `--install FILE...`: manifests applied before a run (a ValidatingWebhookConfiguration,
//! Kyverno's install manifest and ClusterPolicies, ...) by server-side apply, each object
//! labelled with the run id; the run waits until they are effective (a probe pod that
//! violates baseline is refused), and removes them afterwards in reverse order (unless
//! `--keep`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use http::Method;
use serde_json::{Value, json};

use super::api::{Api, refusal_text};
use super::namespaces::{Labels, RUN_LABEL};
use super::target::{Server, collection_path};
use crate::target::webhook::Flavour;

/// Manifests to install, in file and document order.
#[derive(Debug)]
pub struct Install {
    objects: Vec<(String, Value)>,
}

/// What an install created (object URLs, in creation order).
#[derive(Debug, Clone, Default)]
pub struct Installed {
    urls: Vec<String>,
}

impl Install {
    /// Read every document of the files (YAML or JSON; a `List` is flattened).
    pub fn load(paths: &[PathBuf]) -> Result<Install, String> {
        let mut objects = Vec::new();
        for path in paths {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let docs = crate::yaml::parse_documents(&text)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            for (i, doc) in docs.iter().enumerate() {
                let value = doc.to_json();
                if value.is_null() {
                    continue;
                }
                flatten(&value, &mut objects, &label(path, i))?;
            }
        }
        Ok(Install { objects })
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Apply every object (server-side apply, field manager `pss-harness`). Kinds a CRD
    /// earlier in the list defines may take a moment to be served: they are retried.
    pub async fn apply(&self, api: &Api, run_id: &str) -> Result<Installed, String> {
        let mut installed = Installed::default();
        let mut discovery = Discovery::default();
        for (origin, object) in &self.objects {
            let url = discovery
                .object_url(api, object, Duration::from_secs(60))
                .await
                .map_err(|e| format!("{origin}: {e}"))?;
            let mut object = object.clone();
            object["metadata"]["labels"][RUN_LABEL] = json!(run_id);
            let path = format!("{url}?fieldManager=pss-harness&force=true");
            let headers = [("content-type", "application/apply-patch+yaml".to_owned())];
            let response = api
                .send(Method::PATCH, &path, Some(&object), &headers)
                .await
                .map_err(|e| format!("{origin}: {e}"))?;
            if !response.is_success() {
                return Err(format!(
                    "{origin}: applying {url}: HTTP {}: {}",
                    response.code,
                    refusal_text(&response)
                ));
            }
            installed.urls.push(url);
        }
        Ok(installed)
    }
}

impl Installed {
    /// Delete what was installed, newest first; the first error, if any.
    pub async fn remove(&self, api: &Api) -> Result<(), String> {
        let mut first_error = None;
        for url in self.urls.iter().rev() {
            match api.send(Method::DELETE, url, None, &[]).await {
                Ok(r) if r.is_success() || r.code == 404 => {}
                Ok(r) => {
                    first_error.get_or_insert(format!(
                        "deleting {url}: HTTP {}: {}",
                        r.code,
                        refusal_text(&r)
                    ));
                }
                Err(e) => {
                    first_error.get_or_insert(e.to_string());
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    pub fn urls(&self) -> &[String] {
        &self.urls
    }
}

fn label(path: &Path, index: usize) -> String {
    format!("{} (document {})", path.display(), index + 1)
}

fn flatten(value: &Value, out: &mut Vec<(String, Value)>, origin: &str) -> Result<(), String> {
    let kind = value["kind"].as_str().unwrap_or_default();
    if kind.ends_with("List") && value["items"].is_array() {
        for item in value["items"].as_array().into_iter().flatten() {
            flatten(item, out, origin)?;
        }
        return Ok(());
    }
    if kind.is_empty()
        || value["apiVersion"].as_str().is_none()
        || value["metadata"]["name"].as_str().is_none()
    {
        return Err(format!(
            "{origin}: not a Kubernetes object (apiVersion, kind and metadata.name are required)"
        ));
    }
    out.push((origin.to_owned(), value.clone()));
    Ok(())
}

/// Which resource serves a kind, per group/version, as the server says.
#[derive(Default)]
struct Discovery {
    lists: BTreeMap<String, Value>,
}

impl Discovery {
    /// The object's URL, waiting up to `patience` for its kind to be served.
    async fn object_url(
        &mut self,
        api: &Api,
        object: &Value,
        patience: Duration,
    ) -> Result<String, String> {
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let kind = object["kind"].as_str().unwrap_or_default();
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        let base = match api_version.contains('/') {
            true => format!("/apis/{api_version}"),
            false => format!("/api/{api_version}"),
        };
        let started = Instant::now();
        loop {
            if let Some((resource, namespaced)) = self.resource(api, &base, kind).await {
                let ns = object["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("default");
                return Ok(match namespaced {
                    true => format!("{base}/namespaces/{ns}/{resource}/{name}"),
                    false => format!("{base}/{resource}/{name}"),
                });
            }
            if started.elapsed() >= patience {
                return Err(format!("the server does not serve {kind} in {api_version}"));
            }
            self.lists.remove(&base);
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn resource(&mut self, api: &Api, base: &str, kind: &str) -> Option<(String, bool)> {
        if !self.lists.contains_key(base) {
            let list: Value = api.get_json(base).await.ok()?;
            self.lists.insert(base.to_owned(), list);
        }
        let list = self.lists.get(base)?;
        list["resources"].as_array()?.iter().find_map(|r| {
            let name = r["name"].as_str()?;
            (r["kind"] == kind && !name.contains('/'))
                .then(|| (name.to_owned(), r["namespaced"].as_bool().unwrap_or(false)))
        })
    }
}

/// Wait until what was installed judges pods: a dry-run privileged pod in the run's
/// namespace (without PSA labels under a webhook engine) is refused.
pub async fn wait_effective(
    server: &Server,
    flavour: Flavour,
    timeout: Duration,
) -> Result<(), String> {
    let labels: Labels = match flavour {
        Flavour::Psa => Labels::from([(
            "pod-security.kubernetes.io/enforce".to_owned(),
            "baseline".to_owned(),
        )]),
        Flavour::Kyverno => Labels::new(),
    };
    let ns = server
        .namespaces
        .shared(&server.api, &labels)
        .await
        .map_err(|e| e.to_string())?;
    let probe = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "pss-harness-probe", "namespace": ns},
        "spec": {"containers": [{"name": "probe", "image": "registry.k8s.io/pause",
                                 "securityContext": {"privileged": true}}]}});
    let path = format!("{}?dryRun=All", collection_path(pss::Kind::Pod, &ns));
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < timeout {
        let response = server
            .api
            .send(Method::POST, &path, Some(&probe), &[])
            .await
            .map_err(|e| e.to_string())?;
        if matches!(response.code, 400 | 403) {
            return Ok(());
        }
        last = match response.is_success() {
            true => "the probe pod was allowed".to_owned(),
            false => format!("HTTP {}: {}", response.code, refusal_text(&response)),
        };
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Err(format!(
        "the installed manifests were not effective after {} s (a privileged probe pod \
         must be refused; last answer: {last})",
        timeout.as_secs()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_flattened_and_non_objects_refused() {
        let mut out = Vec::new();
        let list = json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}},
            {"apiVersion": "v1", "kind": "List", "items": [
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}]}]});
        flatten(&list, &mut out, "f").unwrap();
        assert_eq!(out.len(), 2);
        let err = flatten(&json!({"kind": "ConfigMap"}), &mut out, "f (document 2)").unwrap_err();
        assert_eq!(
            err,
            "f (document 2): not a Kubernetes object (apiVersion, kind and metadata.name are required)"
        );
    }

    #[test]
    fn files_load_with_their_documents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.yaml");
        std::fs::write(
            &path,
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n",
        )
        .unwrap();
        assert_eq!(Install::load(&[path]).unwrap().len(), 2);
        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, "a: [").unwrap();
        assert!(Install::load(&[bad]).unwrap_err().contains("bad.yaml"));
    }
}
