//! Reading a workload from JSON text in one pass.
//!
//! Kubernetes clients write `apiVersion` and `kind` first. When they come first, the kind is
//! known before the body, so the body streams straight into the typed k8s-openapi object:
//! the two keys already read are replayed to it, then the rest of the object follows. Any
//! other key order falls back to buffering the object as a `serde_json::Value` and taking
//! [`Workload::from_value`], so the result never depends on key order.

use std::fmt;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Pod, PodTemplate, ReplicationController};
use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{
    DeserializeSeed, Deserializer as _, Error as _, IntoDeserializer, MapAccess, Visitor,
};

use crate::workload::{Kind, TypeMeta, Workload, WorkloadError, resolve_kind};

/// Parse one JSON object into a workload (see the module doc).
pub(crate) fn parse(json: &str) -> Result<Workload, WorkloadError> {
    let mut failure = None;
    let mut de = serde_json::Deserializer::from_str(json);
    let parsed = de
        .deserialize_map(WorkloadVisitor {
            failure: &mut failure,
        })
        .and_then(|w| de.end().map(|()| w));
    match (parsed, failure) {
        // Truncated or malformed text inside the body is a JSON error, not a bad field.
        (Err(e), _) if e.is_syntax() || e.is_eof() => Err(WorkloadError::Json(e)),
        // A bad field: keep serde_json's own error, which carries line and column.
        (Err(e), Some(WorkloadError::Invalid { kind, .. })) => {
            Err(WorkloadError::Invalid { kind, source: e })
        }
        (_, Some(err)) => Err(err),
        (Ok(workload), None) => Ok(workload),
        (Err(e), None) => Err(WorkloadError::Json(e)),
    }
}

/// Visits the top-level object. Errors that are not JSON errors (unsupported kind, a body
/// of the wrong shape) are stashed in `failure`, since a visitor can only return the
/// deserializer's own error type.
struct WorkloadVisitor<'a> {
    failure: &'a mut Option<WorkloadError>,
}

impl<'de> Visitor<'de> for WorkloadVisitor<'_> {
    type Value = Workload;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Kubernetes object")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Workload, A::Error> {
        let mut head = Head::default();
        while !head.complete() {
            let Some(key) = map.next_key::<String>()? else {
                break;
            };
            match key.as_str() {
                "apiVersion" if !head.seen_api_version => {
                    head.seen_api_version = true;
                    head.api_version = map.next_value()?;
                }
                "kind" if !head.seen_kind => {
                    head.seen_kind = true;
                    head.kind = map.next_value()?;
                }
                _ => return self.buffered(head, key, map),
            }
        }
        let meta = TypeMeta {
            api_version: head.api_version.clone(),
            kind: head.kind.clone(),
        };
        let kind = resolve_kind(meta).map_err(|e| self.fail(e))?;
        let replay = Replay {
            head: head.entries(),
            pending: None,
            rest: map,
        };
        // Pass the body's own error through unchanged (its category tells a truncated text
        // from a bad field); only mark which kind was being read.
        typed(kind, MapAccessDeserializer::new(replay)).inspect_err(|_| {
            let placeholder = serde_json::Error::custom("");
            *self.failure = Some(WorkloadError::Invalid {
                kind,
                source: placeholder,
            });
        })
    }
}

impl WorkloadVisitor<'_> {
    /// Record a structured error and hand serde an error of its own type.
    fn fail<E: serde::de::Error>(&mut self, err: WorkloadError) -> E {
        let e = E::custom(&err);
        *self.failure = Some(err);
        e
    }

    /// The uncommon key order: collect the whole object, then convert it as a value.
    fn buffered<'de, A: MapAccess<'de>>(
        mut self,
        head: Head,
        first_key: String,
        mut map: A,
    ) -> Result<Workload, A::Error> {
        let mut object = serde_json::Map::new();
        for (key, value) in head.entries() {
            object.insert(key.to_owned(), value.into());
        }
        let first_value = map.next_value::<serde_json::Value>()?;
        object.insert(first_key, first_value);
        while let Some((key, value)) = map.next_entry::<String, serde_json::Value>()? {
            object.insert(key, value);
        }
        Workload::from_value(serde_json::Value::Object(object)).map_err(|e| self.fail(e))
    }
}

/// The `apiVersion` and `kind` read before the body.
#[derive(Default)]
struct Head {
    seen_api_version: bool,
    api_version: Option<String>,
    seen_kind: bool,
    kind: Option<String>,
}

impl Head {
    fn complete(&self) -> bool {
        self.seen_api_version && self.seen_kind
    }

    /// The non-null entries, to replay to the typed deserializer.
    fn entries(&self) -> Vec<(&'static str, String)> {
        let api = self.api_version.clone().map(|v| ("apiVersion", v));
        let kind = self.kind.clone().map(|v| ("kind", v));
        api.into_iter().chain(kind).collect()
    }
}

/// A map that yields the replayed head entries, then the rest of the underlying map.
struct Replay<A> {
    head: Vec<(&'static str, String)>,
    pending: Option<String>,
    rest: A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Replay<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        if self.head.is_empty() {
            return self.rest.next_key_seed(seed);
        }
        let (key, value) = self.head.remove(0);
        self.pending = Some(value);
        seed.deserialize(IntoDeserializer::<'de, A::Error>::into_deserializer(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        match self.pending.take() {
            Some(value) => {
                seed.deserialize(IntoDeserializer::<'de, A::Error>::into_deserializer(value))
            }
            None => self.rest.next_value_seed(seed),
        }
    }
}

/// Deserialize the object of `kind` from `de`.
fn typed<'de, D: serde::Deserializer<'de>>(kind: Kind, de: D) -> Result<Workload, D::Error> {
    Ok(match kind {
        Kind::Pod => Workload::Pod(Pod::deserialize(de)?),
        Kind::PodTemplate => Workload::PodTemplate(PodTemplate::deserialize(de)?),
        Kind::ReplicationController => {
            Workload::ReplicationController(ReplicationController::deserialize(de)?)
        }
        Kind::ReplicaSet => Workload::ReplicaSet(ReplicaSet::deserialize(de)?),
        Kind::Deployment => Workload::Deployment(Deployment::deserialize(de)?),
        Kind::StatefulSet => Workload::StatefulSet(StatefulSet::deserialize(de)?),
        Kind::DaemonSet => Workload::DaemonSet(DaemonSet::deserialize(de)?),
        Kind::Job => Workload::Job(Job::deserialize(de)?),
        Kind::CronJob => Workload::CronJob(CronJob::deserialize(de)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    /// What the value path says for the same text: the reference behaviour.
    fn via_value(json: &str) -> Result<Workload, WorkloadError> {
        let value: serde_json::Value = serde_json::from_str(json).map_err(WorkloadError::Json)?;
        Workload::from_value(value)
    }

    fn same_outcome(json: &str) {
        match (parse(json), via_value(json)) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{json}"),
            (Err(a), Err(b)) => assert_eq!(
                std::mem::discriminant(&a),
                std::mem::discriminant(&b),
                "{json}: one pass says {a}, value path says {b}"
            ),
            (a, b) => panic!("{json}: one pass {a:?}, value path {b:?}"),
        }
    }

    const BODY: &str = r#""metadata":{"name":"p","annotations":{"a":"b"}},"spec":{"hostPID":true,"containers":[{"name":"c","securityContext":{"privileged":true}}]}"#;

    #[rstest]
    #[case(format!(r#"{{"apiVersion":"v1","kind":"Pod",{BODY}}}"#))]
    #[case(format!(r#"{{"kind":"Pod","apiVersion":"v1",{BODY}}}"#))]
    #[case(format!(r#"{{{BODY},"apiVersion":"v1","kind":"Pod"}}"#))]
    #[case(format!(r#"{{"apiVersion":"v1",{BODY},"kind":"Pod"}}"#))]
    #[case(format!(r#"{{"kind":"Pod",{BODY}}}"#))]
    #[case(r#"{"apiVersion":"v1","kind":"Pod"}"#.to_owned())]
    #[case(r#"{"kind":"Pod"}"#.to_owned())]
    fn key_order_does_not_matter(#[case] json: String) {
        same_outcome(&json);
        assert!(parse(&json).is_ok(), "{json}");
    }

    #[rstest]
    #[case(r#"{"apiVersion":"v1","kind":"Pod","spec":{"hostPID":"yes","containers":[]}}"#)]
    #[case(r#"{"spec":{"hostPID":"yes","containers":[]},"apiVersion":"v1","kind":"Pod"}"#)]
    #[case(r#"{"apiVersion":"v1","kind":"Service"}"#)]
    #[case(r#"{"apiVersion":"apps/v1","kind":"Pod"}"#)]
    #[case(r#"{"apiVersion":"v1"}"#)]
    #[case(r#"{"apiVersion":"v1","kind":null}"#)]
    #[case(r#"{"apiVersion":5,"kind":"Pod"}"#)]
    #[case(r#"{}"#)]
    #[case(r#"{"apiVersion":"v1","kind":"Pod"} trailing"#)]
    #[case(r#"{"apiVersion":"v1","kind":"Pod""#)]
    fn errors_match_the_value_path(#[case] json: &str) {
        same_outcome(json);
        assert!(parse(json).is_err(), "{json}");
    }

    #[test]
    fn a_non_object_is_a_json_error() {
        for json in ["[]", "5", "\"Pod\"", "null"] {
            assert!(matches!(parse(json), Err(WorkloadError::Json(_))), "{json}");
        }
    }

    #[test]
    fn wrong_type_errors_keep_their_position() {
        let json = r#"{"apiVersion":"v1","kind":"Pod","spec":{"hostPID":"yes","containers":[]}}"#;
        let err = parse(json).unwrap_err();
        assert!(
            matches!(
                err,
                WorkloadError::Invalid {
                    kind: Kind::Pod,
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            err.to_string().contains("invalid type") && err.to_string().contains("column"),
            "{err}"
        );
    }
}
