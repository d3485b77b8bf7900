//! The YAML text as a tree of nodes that remember their line and column.
//!
//! serde-saphyr parses; this module only keeps the shape and the positions, so
//! the decoder can report every problem at once instead of stopping at the first.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;

/// A position in the source text (1-based line and character column).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Pos {
    pub line: u64,
    pub column: u64,
}

/// One YAML node with its position.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub pos: Pos,
    pub value: Value,
}

/// The YAML value of a node. Numbers keep their source spelling, so `0123` stays `0123`.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(String),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Value {
    /// Names the kind of value for "expected …, found …" messages.
    pub fn describe(&self) -> String {
        match self {
            Value::Null => "nothing (null)".into(),
            Value::Bool(b) => format!("boolean `{b}`"),
            Value::Int(i) => format!("number `{i}`"),
            Value::Float(f) => format!("number `{f}`"),
            Value::Str(s) => format!("text `{s}`"),
            Value::Seq(_) => "a list".into(),
            Value::Map(_) => "a mapping".into(),
        }
    }
}

impl Node {
    /// Returns the scalar as text (numbers in their decimal spelling), or None for lists, maps and null.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.clone()),
            Value::Str(s) => Some(s.clone()),
            Value::Null | Value::Seq(_) | Value::Map(_) => None,
        }
    }
}

/// A YAML syntax error with its position.
pub(crate) struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

/// Parses YAML text into a node tree.
///
/// Duplicate keys are passed through so the decoder can name both places; numbers with
/// leading zeros and underscores stay text; only `true`/`false` are booleans.
pub(crate) fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut options = serde_saphyr::options! {
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
        with_snippet: false,
    };
    options.duplicate_keys = serde_saphyr::options::DuplicateKeyPolicy::PassThrough;
    if text.trim().is_empty() {
        return Ok(Node {
            pos: Pos { line: 1, column: 1 },
            value: Value::Null,
        });
    }
    let raw: RawNode = serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        let pos = e
            .location()
            .map(|l| Pos {
                line: l.line(),
                column: l.column(),
            })
            .unwrap_or_default();
        SyntaxError {
            pos,
            message: clean_message(&e.to_string()),
        }
    })?;
    Ok(raw.into_node(text))
}

/// serde-saphyr prefixes messages with "line L column C: " and may append a snippet; keep the sentence.
fn clean_message(full: &str) -> String {
    let first = full.lines().next().unwrap_or(full);
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let rest = match first.find(": ") {
        Some(i) if first[..i].starts_with("line ") => &first[i + 2..],
        _ => first,
    };
    format!("invalid YAML: {rest}")
}

/// The node as serde hands it over, before numbers are given their source spelling back.
struct RawNode {
    line: u64,
    column: u64,
    byte_range: Option<(usize, usize)>,
    value: RawValue,
}

enum RawValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<RawNode>),
    Map(Vec<(RawNode, RawNode)>),
}

impl RawNode {
    fn into_node(self, text: &str) -> Node {
        let pos = Pos {
            line: self.line,
            column: self.column,
        };
        let source = self
            .byte_range
            .and_then(|(start, len)| text.get(start..start.checked_add(len)?))
            .map(str::trim);
        let value = match self.value {
            RawValue::Null => Value::Null,
            RawValue::Bool(b) => Value::Bool(b),
            RawValue::Int(i) => Value::Int(i),
            RawValue::Float(f) => match source {
                Some(s) if !s.is_empty() && s.parse::<f64>().is_ok() => Value::Float(s.to_string()),
                _ => Value::Float(f.to_string()),
            },
            RawValue::Str(s) => Value::Str(s),
            RawValue::Seq(items) => {
                Value::Seq(items.into_iter().map(|n| n.into_node(text)).collect())
            }
            RawValue::Map(entries) => Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.into_node(text), v.into_node(text)))
                    .collect(),
            ),
        };
        Node { pos, value }
    }
}

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned: Spanned<RawValue> = Spanned::deserialize(deserializer)?;
        let span = spanned.referenced.span();
        let byte_range = match (span.byte_offset(), span.byte_len()) {
            (Some(o), Some(l)) => usize::try_from(o).ok().zip(usize::try_from(l).ok()),
            _ => None,
        };
        Ok(RawNode {
            line: spanned.referenced.line(),
            column: spanned.referenced.column(),
            byte_range,
            value: spanned.value,
        })
    }
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
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
    fn visit_bool<E>(self, v: bool) -> Result<RawValue, E> {
        Ok(RawValue::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<RawValue, E> {
        Ok(RawValue::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<RawValue, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => RawValue::Int(i),
            Err(_) => RawValue::Str(v.to_string()),
        })
    }
    fn visit_i128<E>(self, v: i128) -> Result<RawValue, E> {
        Ok(RawValue::Str(v.to_string()))
    }
    fn visit_u128<E>(self, v: u128) -> Result<RawValue, E> {
        Ok(RawValue::Str(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<RawValue, E> {
        Ok(RawValue::Float(v))
    }
    fn visit_char<E>(self, v: char) -> Result<RawValue, E> {
        Ok(RawValue::Str(v.to_string()))
    }
    fn visit_str<E>(self, v: &str) -> Result<RawValue, E> {
        Ok(RawValue::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<RawValue, E> {
        Ok(RawValue::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<RawValue, E> {
        Ok(RawValue::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(RawValue::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(RawValue::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalars(node: &Node, out: &mut Vec<String>) {
        match &node.value {
            Value::Seq(items) => items.iter().for_each(|n| scalars(n, out)),
            Value::Map(entries) => entries.iter().for_each(|(k, v)| {
                scalars(k, out);
                scalars(v, out);
            }),
            _ => out.push(format!(
                "{}:{} {:?}",
                node.pos.line, node.pos.column, node.value
            )),
        }
    }

    #[test]
    fn keeps_positions_and_spellings() {
        let node = parse("a: 0123\nb: [yes, 07:30, 1.50, true]\n")
            .unwrap_or_else(|e| panic!("{}", e.message));
        let mut out = Vec::new();
        scalars(&node, &mut out);
        assert_eq!(
            out,
            [
                "1:1 Str(\"a\")",
                "1:4 Str(\"0123\")",
                "2:1 Str(\"b\")",
                "2:5 Str(\"yes\")",
                "2:10 Str(\"07:30\")",
                "2:17 Float(\"1.50\")",
                "2:23 Bool(true)"
            ]
        );
    }

    #[test]
    fn duplicate_keys_are_kept() {
        let node = parse("a: 1\na: 2\n").unwrap_or_else(|e| panic!("{}", e.message));
        let Value::Map(entries) = node.value else {
            panic!("not a map")
        };
        assert_eq!(entries.len(), 2);
    }

    #[test]
    fn syntax_errors_have_positions() {
        let Err(e) = parse("a: [1\nb: 2\n") else {
            panic!("accepted broken YAML")
        };
        assert_eq!((e.pos.line, e.pos.column), (2, 2));
        assert!(e.message.starts_with("invalid YAML: "), "{}", e.message);
    }
}
