//! A YAML tree that remembers where every node came from, and a strict deserializer over it.
//!
//! Case files embed Kubernetes objects, and k8s-openapi silently drops unknown keys: a typo
//! such as `securityContxt:` would turn a denied case into an allowed one. So embedded
//! objects are first read into a [`Node`] tree (each node with its [`Loc`]), then
//! deserialized from that tree by [`strict`], which turns every ignored key into an
//! `unknown field` error and every type error into an error at the offending node.

use std::fmt;

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::{Deserialize, Deserializer};
use serde_saphyr::Spanned;

/// A position in a source text: 1-based line and column (characters), byte offset and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Loc {
    pub line: u32,
    pub column: u32,
    pub offset: usize,
    pub len: usize,
}

impl Loc {
    /// Convert a serde-saphyr location; byte offsets are recomputed from line and column
    /// when the parser did not record them (syntax errors).
    pub fn from_saphyr(loc: &serde_saphyr::Location, src: &str) -> Loc {
        let span = loc.span();
        let offset = span
            .byte_offset()
            .map(|o| o as usize)
            .filter(|o| *o <= src.len())
            .unwrap_or_else(|| byte_offset(src, loc.line(), loc.column()));
        let len = span
            .byte_len()
            .map_or(0, |l| l as usize)
            .min(src.len() - offset);
        Loc {
            line: loc.line() as u32,
            column: loc.column() as u32,
            offset,
            len,
        }
    }
}

/// The byte offset of a 1-based line and character column (clamped to the text).
pub fn byte_offset(src: &str, line: u64, column: u64) -> usize {
    let line_start: usize = src
        .split_inclusive('\n')
        .take(line.saturating_sub(1) as usize)
        .map(str::len)
        .sum();
    let rest = &src[line_start.min(src.len())..];
    let col = rest
        .char_indices()
        .nth(column.saturating_sub(1) as usize)
        .map_or(rest.len(), |(i, _)| i);
    (line_start + col).min(src.len())
}

/// One YAML node with its location.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub loc: Loc,
}

/// A mapping key with its location.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub loc: Loc,
}

/// The YAML data model as JSON sees it (keys are strings).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

impl Node {
    /// A node made by the loader (e.g. the `apiVersion` of a pod shorthand), placed at `loc`.
    pub fn synthetic(value: Value, loc: Loc) -> Node {
        Node { value, loc }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// The entry of a mapping node.
    pub fn get(&self, name: &str) -> Option<&Node> {
        self.entry(name).map(|(_, v)| v)
    }

    /// The key and value of a mapping entry.
    pub fn entry(&self, name: &str) -> Option<(&Key, &Node)> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.name == name)
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The JSON value of this tree (locations dropped).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::UInt(u) => J::from(*u),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// A short name of the node's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::UInt(_) | Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a sequence",
            Value::Map(_) => "a mapping",
        }
    }
}

/// Parsing a [`Node`] keeps the serde-saphyr locations of the node and of every key.
/// Locations are relative to the source; [`Node::resolve`] turns them into byte offsets.
struct RawNode(Spanned<RawValue>);

enum RawValue {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<RawNode>),
    Map(Vec<(Spanned<String>, RawNode)>),
}

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Spanned::<RawValue>::deserialize(d).map(RawNode)
    }
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<RawValue, E> {
        Ok(RawValue::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<RawValue, E> {
        Ok(RawValue::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<RawValue, E> {
        Ok(RawValue::UInt(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<RawValue, E> {
        Ok(RawValue::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<RawValue, E> {
        Ok(RawValue::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<RawValue, E> {
        Ok(RawValue::Str(v))
    }
    fn visit_unit<E>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }
    fn visit_none<E>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawValue, D::Error> {
        RawValue::deserialize(d)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(RawValue::Seq(items))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<RawValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            entries.push((key, map.next_value()?));
        }
        Ok(RawValue::Map(entries))
    }
}

/// A located YAML node as a field of a serde struct: deserialize the field as
/// `Option<LocatedNode>` and call [`LocatedNode::resolve`] with the source text.
pub struct LocatedNode(RawNode);

impl<'de> Deserialize<'de> for LocatedNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RawNode::deserialize(d).map(LocatedNode)
    }
}

impl fmt::Debug for LocatedNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LocatedNode")
    }
}

impl LocatedNode {
    /// The tree with byte offsets into `src`.
    pub fn resolve(self, src: &str) -> Node {
        resolve(self.0, src)
    }
}

fn resolve(raw: RawNode, src: &str) -> Node {
    let loc = Loc::from_saphyr(&raw.0.referenced, src);
    let value = match raw.0.value {
        RawValue::Null => Value::Null,
        RawValue::Bool(b) => Value::Bool(b),
        RawValue::Int(i) => Value::Int(i),
        RawValue::UInt(u) => Value::UInt(u),
        RawValue::Float(f) => Value::Float(f),
        RawValue::Str(s) => Value::Str(s),
        RawValue::Seq(items) => Value::Seq(items.into_iter().map(|n| resolve(n, src)).collect()),
        RawValue::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let key = Key {
                        loc: Loc::from_saphyr(&k.referenced, src),
                        name: k.value,
                    };
                    (key, resolve(v, src))
                })
                .collect(),
        ),
    };
    Node { value, loc }
}

/// Parse every document of a YAML (or JSON) stream into located trees. Empty documents
/// come back as null nodes.
pub fn parse_documents(src: &str) -> Result<Vec<Node>, serde_saphyr::Error> {
    let docs: Vec<Option<LocatedNode>> =
        serde_saphyr::from_multiple_with_options(src, crate::limits::yaml_options())?;
    let empty = Loc::default();
    Ok(docs
        .into_iter()
        .map(|d| d.map_or(Node::synthetic(Value::Null, empty), |n| n.resolve(src)))
        .collect())
}

/// Why a strict deserialization failed, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrictError {
    pub message: String,
    pub loc: Option<Loc>,
    /// A suggestion, e.g. the known field closest to an unknown one.
    pub help: Option<String>,
}

impl StrictError {
    fn at(mut self, loc: Loc) -> Self {
        self.loc.get_or_insert(loc);
        self
    }
}

impl fmt::Display for StrictError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StrictError {}

impl de::Error for StrictError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        StrictError {
            message: msg.to_string(),
            loc: None,
            help: None,
        }
    }
}

/// Deserialize `T` from a located tree, refusing unknown fields (any key `T` ignores) and
/// reporting the location of the first problem.
pub fn strict<T: DeserializeOwned>(node: &Node) -> Result<T, StrictError> {
    T::deserialize(NodeDe {
        node,
        key: None,
        owner: None,
        strict: true,
    })
}

/// Deserialize `T` as the API server does without strict field validation (unknown fields
/// dropped), reporting the location of the first wrong type or value: where `check` reads
/// what serde_json refused.
pub fn lenient<T: DeserializeOwned>(node: &Node) -> Result<T, StrictError> {
    T::deserialize(NodeDe {
        node,
        key: None,
        owner: None,
        strict: false,
    })
}

/// The struct whose fields are being read: its name and its field list, for messages.
#[derive(Clone, Copy)]
struct Owner {
    name: &'static str,
    fields: &'static [&'static str],
}

struct NodeDe<'a> {
    node: &'a Node,
    /// The key this node is the value of, when it is a mapping value.
    key: Option<&'a Key>,
    owner: Option<Owner>,
    /// Unknown fields are errors ([`strict`]) or dropped ([`lenient`]).
    strict: bool,
}

impl NodeDe<'_> {
    fn unknown_field(&self) -> StrictError {
        let Some(key) = self.key else {
            return StrictError {
                message: "unexpected value".into(),
                loc: Some(self.node.loc),
                help: None,
            };
        };
        let (message, help) = match self.owner {
            Some(owner) => (
                format!("unknown field `{}` in {}", key.name, owner.name),
                closest(&key.name, owner.fields).map(|f| format!("did you mean `{f}`?")),
            ),
            None => (format!("unknown field `{}`", key.name), None),
        };
        StrictError {
            message,
            loc: Some(key.loc),
            help,
        }
    }
}

impl<'de> Deserializer<'de> for NodeDe<'_> {
    type Error = StrictError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, StrictError> {
        let loc = self.node.loc;
        let result = match &self.node.value {
            Value::Null => v.visit_unit(),
            Value::Bool(b) => v.visit_bool(*b),
            Value::Int(i) => v.visit_i64(*i),
            Value::UInt(u) => v.visit_u64(*u),
            Value::Float(f) => v.visit_f64(*f),
            Value::Str(s) => v.visit_str(s),
            Value::Seq(items) => v.visit_seq(SeqDe {
                items: items.iter(),
                strict: self.strict,
            }),
            Value::Map(entries) => v.visit_map(MapDe::new(entries, None, self.strict)),
        };
        result.map_err(|e| e.at(loc))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, StrictError> {
        match &self.node.value {
            Value::Map(entries) => {
                let owner = Owner { name, fields };
                v.visit_map(MapDe::new(entries, Some(owner), self.strict))
                    .map_err(|e| e.at(self.node.loc))
            }
            _ => self.deserialize_any(v),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, StrictError> {
        let loc = self.node.loc;
        match self.node.value {
            Value::Null => v.visit_none().map_err(|e: StrictError| e.at(loc)),
            _ => v.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, StrictError> {
        v.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, StrictError> {
        let loc = self.node.loc;
        match &self.node.value {
            Value::Str(s) => v
                .visit_enum(s.as_str().into_deserializer())
                .map_err(|e: StrictError| e.at(loc)),
            _ => self.deserialize_any(v),
        }
    }

    /// Only unknown fields are ignored by k8s-openapi, so an ignored value is an error
    /// (when strict).
    fn deserialize_ignored_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, StrictError> {
        match self.strict {
            true => Err(self.unknown_field()),
            false => v.visit_unit(),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier
    }
}

struct SeqDe<'a> {
    items: std::slice::Iter<'a, Node>,
    strict: bool,
}

impl<'de> de::SeqAccess<'de> for SeqDe<'_> {
    type Error = StrictError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, StrictError> {
        match self.items.next() {
            Some(node) => seed
                .deserialize(NodeDe {
                    node,
                    key: None,
                    owner: None,
                    strict: self.strict,
                })
                .map(Some),
            None => Ok(None),
        }
    }
}

struct MapDe<'a> {
    entries: std::slice::Iter<'a, (Key, Node)>,
    current: Option<&'a (Key, Node)>,
    owner: Option<Owner>,
    strict: bool,
}

impl<'a> MapDe<'a> {
    fn new(entries: &'a [(Key, Node)], owner: Option<Owner>, strict: bool) -> Self {
        MapDe {
            entries: entries.iter(),
            current: None,
            owner,
            strict,
        }
    }
}

impl<'de> de::MapAccess<'de> for MapDe<'_> {
    type Error = StrictError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, StrictError> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        self.current = Some(entry);
        let key: de::value::StrDeserializer<'_, StrictError> =
            entry.0.name.as_str().into_deserializer();
        seed.deserialize(key)
            .map(Some)
            .map_err(|e| e.at(entry.0.loc))
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, StrictError> {
        let Some((key, node)) = self.current.take() else {
            return Err(de::Error::custom("value requested before key"));
        };
        let loc = node.loc;
        seed.deserialize(NodeDe {
            node,
            key: Some(key),
            owner: self.owner,
            strict: self.strict,
        })
        .map_err(|e| e.at(loc))
    }
}

/// The candidate within edit distance 3 closest to `name` (case-insensitive), if any.
pub fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = name.to_lowercase();
    candidates
        .iter()
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), *c))
        .filter(|(d, _)| *d <= 3.min(name.len().max(1)))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(cur)
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;

    fn doc(src: &str) -> Node {
        parse_documents(src).unwrap().remove(0)
    }

    #[test]
    fn locates_keys_and_values() {
        let src = "a:\n  b: [1, x]\n  c: {d: true}\n";
        let n = doc(src);
        let (key, b) = n.get("a").unwrap().entry("b").unwrap();
        assert_eq!((key.loc.line, key.loc.column), (2, 3));
        assert_eq!(&src[key.loc.offset..key.loc.offset + key.loc.len], "b");
        assert_eq!(b.to_json(), serde_json::json!([1, "x"]));
        assert_eq!(n.to_json()["a"]["c"]["d"], serde_json::json!(true));
    }

    #[test]
    fn strict_rejects_unknown_field_with_location_and_hint() {
        let src = "apiVersion: v1
kind: Pod
spec:
  containers:
    - name: c
      securityContxt: {}
";
        let err = strict::<Pod>(&doc(src)).unwrap_err();
        assert_eq!(err.message, "unknown field `securityContxt` in Container");
        assert_eq!(err.loc.map(|l| (l.line, l.column)), Some((6, 7)));
        assert_eq!(err.help.as_deref(), Some("did you mean `securityContext`?"));
    }

    #[test]
    fn strict_locates_wrong_types() {
        let src = "apiVersion: v1\nkind: Pod\nspec:\n  hostPID: \"yes\"\n  containers: []\n";
        let err = strict::<Pod>(&doc(src)).unwrap_err();
        assert!(
            err.message
                .contains("invalid type: string \"yes\", expected a boolean"),
            "{}",
            err.message
        );
        assert_eq!(err.loc.map(|l| (l.line, l.column)), Some((4, 12)));
    }

    #[test]
    fn strict_accepts_valid_objects_with_quantities_and_ports() {
        let src = "apiVersion: v1
kind: Pod
metadata: {name: p, labels: {a: b}}
spec:
  containers:
  - name: c
    ports: [{containerPort: 80}]
    resources: {limits: {cpu: 1, memory: 1Gi}}
    livenessProbe: {httpGet: {port: http}}
";
        let pod: Pod = strict(&doc(src)).unwrap();
        assert_eq!(pod.metadata.name.as_deref(), Some("p"));
        let limits = pod.spec.unwrap().containers[0]
            .resources
            .clone()
            .unwrap()
            .limits
            .unwrap();
        assert_eq!(limits["cpu"].0, "1");
    }

    #[test]
    fn lenient_drops_unknown_fields_and_locates_wrong_types() {
        let src =
            "kind: Pod\nspec:\n  extra: 1\n  containers:\n  - {name: c, ports: [{hostPort: x}]}\n";
        let err = lenient::<Pod>(&doc(src)).unwrap_err();
        assert!(
            err.message.contains("invalid type: string \"x\""),
            "{}",
            err.message
        );
        assert_eq!(err.loc.map(|l| (l.line, l.column)), Some((5, 34)));
        let ok = "kind: Pod\nspec: {extra: 1, containers: []}\n";
        assert!(lenient::<Pod>(&doc(ok)).is_ok());
    }

    #[test]
    fn byte_offsets_count_characters() {
        assert_eq!(byte_offset("é: 1\nab", 1, 4), 4);
        assert_eq!(byte_offset("é: 1\nab", 2, 2), 7);
        assert_eq!(byte_offset("x", 9, 9), 1);
    }

    #[test]
    fn suggestions() {
        assert_eq!(closest("hostPid", &["hostPID", "hostIPC"]), Some("hostPID"));
        assert_eq!(closest("zzzzzzzz", &["hostPID"]), None);
    }
}
