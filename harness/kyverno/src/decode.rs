//! Reading policy JSON with locations: typed access that reports the offending field the
//! way the API server would, instead of serde's location-less messages.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::policy_error::{FieldIssue, IssueKind, Location};

/// The OpenAPI type name of a JSON value, as CRD validation prints it.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn wrong_type(location: &Location, expected: &'static str, value: &Value) -> FieldIssue {
    FieldIssue::new(
        location.clone(),
        IssueKind::WrongType {
            expected,
            got: type_name(value),
        },
    )
}

/// The object at `location`, or a type error.
pub(crate) fn object<'v>(
    value: &'v Value,
    location: &Location,
) -> Result<&'v Map<String, Value>, FieldIssue> {
    value
        .as_object()
        .ok_or_else(|| wrong_type(location, "object", value))
}

/// A field of an object; JSON `null` counts as absent, as the API server prunes it.
pub(crate) fn field<'v>(map: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    map.get(key).filter(|v| !v.is_null())
}

/// An optional string field.
pub(crate) fn opt_string(
    map: &Map<String, Value>,
    key: &str,
    at: &Location,
) -> Result<Option<String>, FieldIssue> {
    match field(map, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(wrong_type(&at.key(key), "string", other)),
    }
}

/// An optional boolean field.
pub(crate) fn opt_bool(
    map: &Map<String, Value>,
    key: &str,
    at: &Location,
) -> Result<Option<bool>, FieldIssue> {
    match field(map, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(wrong_type(&at.key(key), "boolean", other)),
    }
}

/// An optional list of strings (absent = empty).
pub(crate) fn string_list(
    map: &Map<String, Value>,
    key: &str,
    at: &Location,
) -> Result<Vec<String>, FieldIssue> {
    let Some(value) = field(map, key) else {
        return Ok(Vec::new());
    };
    let here = at.key(key);
    let items = value
        .as_array()
        .ok_or_else(|| wrong_type(&here, "array", value))?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(s) => Ok(s.clone()),
            other => Err(wrong_type(&here.index(i), "string", other)),
        })
        .collect()
}

/// Deserialize a sub-document with serde, reporting failures at its location.
pub(crate) fn typed<T: DeserializeOwned>(value: &Value, at: &Location) -> Result<T, FieldIssue> {
    T::deserialize(value).map_err(|e| {
        FieldIssue::new(
            at.clone(),
            IssueKind::Unreadable {
                detail: format!("cannot be read: {e}"),
            },
        )
    })
}

/// Serde helper: `null` (or absence, with `#[serde(default)]`) becomes the default value,
/// as Go's JSON decoding leaves a nil slice or map.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reports_types_at_their_location() {
        let doc = json!({"a": 1, "b": ["x", true], "c": null, "d": "s", "e": 1.5});
        let map = doc.as_object().unwrap();
        let root = Location::root().key("spec");
        let err = opt_string(map, "a", &root).unwrap_err();
        assert_eq!(
            err.to_string(),
            "spec.a: Invalid value: \"integer\": spec.a in body must be of type string: \"integer\""
        );
        let err = string_list(map, "b", &root).unwrap_err();
        assert_eq!(err.location.field, "spec.b[1]");
        assert_eq!(opt_string(map, "c", &root).unwrap(), None);
        assert_eq!(opt_string(map, "d", &root).unwrap().as_deref(), Some("s"));
        assert_eq!(type_name(&doc["e"]), "number");
        assert!(opt_bool(map, "d", &root).is_err());
        assert!(object(&doc["d"], &root).is_err());
    }
}
