//! Small typed readers over the node tree that collect problems instead of stopping.

use crate::diagnostic::{Diagnostic, suggest};
use crate::node::{Node, Pos, Value};
use std::time::Duration;

/// Collects diagnostics for one file.
pub(crate) struct Ctx {
    pub file: String,
    pub diags: Vec<Diagnostic>,
    /// Findings that do not stop the plan from loading (see [`crate::Plan::warnings`]).
    pub warnings: Vec<Diagnostic>,
}

impl Ctx {
    pub fn new(file: &str) -> Self {
        Ctx {
            file: file.to_string(),
            diags: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Records a warning: reported with its position, but the plan still loads.
    pub fn warn(&mut self, pos: Pos, message: impl Into<String>, expected: Option<String>) {
        self.warnings.push(Diagnostic {
            file: self.file.clone(),
            line: pos.line,
            column: pos.column,
            message: message.into(),
            expected,
            found: None,
            suggestion: None,
        });
    }

    /// Records a problem with only a message.
    pub fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.report(pos, message, None, None, None);
    }

    /// Records a problem with all details.
    pub fn report(
        &mut self,
        pos: Pos,
        message: impl Into<String>,
        expected: Option<String>,
        found: Option<String>,
        suggestion: Option<String>,
    ) {
        self.diags.push(Diagnostic {
            file: self.file.clone(),
            line: pos.line,
            column: pos.column,
            message: message.into(),
            expected,
            found,
            suggestion,
        });
    }

    /// Records a wrong-type problem for `what`.
    pub fn wrong_type(&mut self, node: &Node, what: &str, expected: &str) {
        self.report(
            node.pos,
            format!("wrong type for {what}"),
            Some(expected.to_string()),
            Some(node.value.describe()),
            None,
        );
    }

    /// Reads text; numbers are accepted in their source spelling (`201` reads as "201").
    pub fn text(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(_) | Value::Float(_) => node.scalar_text(),
            _ => {
                self.wrong_type(node, what, "text");
                None
            }
        }
    }

    /// Reads `true` or `false`.
    pub fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
        match &node.value {
            Value::Bool(b) => Some(*b),
            _ => {
                self.wrong_type(node, what, "`true` or `false`");
                None
            }
        }
    }

    /// Reads a whole number within `min..=max`.
    pub fn number(&mut self, node: &Node, what: &str, min: u64, max: u64) -> Option<u64> {
        let expected = format!("a whole number from {min} to {max}");
        match &node.value {
            Value::Int(i) if u64::try_from(*i).is_ok_and(|v| (min..=max).contains(&v)) => {
                u64::try_from(*i).ok()
            }
            _ => {
                self.report(
                    node.pos,
                    format!("wrong value for {what}"),
                    Some(expected),
                    Some(node.value.describe()),
                    None,
                );
                None
            }
        }
    }

    /// Reads a duration such as `30s`, `5m`, `1h30m`, `500ms` or a plain number of seconds.
    pub fn duration(&mut self, node: &Node, what: &str) -> Option<Duration> {
        let parsed = match &node.value {
            Value::Int(i) => u64::try_from(*i).ok().map(Duration::from_secs),
            Value::Str(s) => parse_duration(s),
            _ => None,
        };
        if parsed.is_none() {
            self.report(
                node.pos,
                format!("wrong value for {what}"),
                Some("a duration such as `30s`, `5m`, `1h30m` or `500ms`".into()),
                Some(node.value.describe()),
                None,
            );
        }
        parsed
    }

    /// Reads a single item or a list of items as a list of nodes.
    pub fn one_or_many<'n>(&mut self, node: &'n Node) -> Vec<&'n Node> {
        match &node.value {
            Value::Seq(items) => items.iter().collect(),
            _ => vec![node],
        }
    }

    /// Reads a list (a single non-list value is reported).
    pub fn list<'n>(&mut self, node: &'n Node, what: &str) -> Vec<&'n Node> {
        match &node.value {
            Value::Seq(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            _ => {
                self.wrong_type(node, what, "a list (lines starting with `- `)");
                Vec::new()
            }
        }
    }

    /// Opens a mapping whose keys must come from `known`; unknown and repeated keys are reported.
    pub fn fields<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        known: &[&'static str],
    ) -> Option<Fields<'n>> {
        let entries = self.entries(node, what)?;
        let mut kept: Vec<(String, &'n Node, &'n Node)> = Vec::new();
        for (key, key_node, value) in entries {
            if !known.contains(&key.as_str()) {
                let suggestion = suggest(&key, known.iter().copied());
                self.report(
                    key_node.pos,
                    format!("unknown key `{key}` in {what}"),
                    if suggestion.is_none() {
                        Some(format!("one of {}", quoted_list(known)))
                    } else {
                        None
                    },
                    None,
                    suggestion,
                );
                continue;
            }
            kept.push((key, key_node, value));
        }
        Some(Fields {
            pos: node.pos,
            entries: kept,
        })
    }

    /// Returns a mapping's entries with text keys; repeated keys are reported once each.
    pub fn entries<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
    ) -> Option<Vec<(String, &'n Node, &'n Node)>> {
        let Value::Map(map) = &node.value else {
            if !matches!(node.value, Value::Null) {
                self.wrong_type(node, what, "a mapping (`key: value` lines)");
            }
            return if matches!(node.value, Value::Null) {
                Some(Vec::new())
            } else {
                None
            };
        };
        let mut out: Vec<(String, &'n Node, &'n Node)> = Vec::new();
        for (key_node, value) in map {
            let Some(key) = key_node.scalar_text() else {
                self.wrong_type(key_node, &format!("a key in {what}"), "text");
                continue;
            };
            if let Some((_, first, _)) = out.iter().find(|(k, _, _)| *k == key) {
                let first = first.pos;
                self.error(
                    key_node.pos,
                    format!(
                        "duplicate key `{key}` in {what} (first given at line {})",
                        first.line
                    ),
                );
                continue;
            }
            out.push((key, key_node, value));
        }
        Some(out)
    }
}

/// The entries of one mapping, looked up by key.
pub(crate) struct Fields<'n> {
    pub pos: Pos,
    entries: Vec<(String, &'n Node, &'n Node)>,
}

impl<'n> Fields<'n> {
    /// Returns the value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, _, v)| *v)
    }

    /// Returns the key node of `key`, if present.
    pub fn key_pos(&self, key: &str) -> Option<Pos> {
        self.entries
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, k, _)| k.pos)
    }

    /// Reports `key` as missing when it is absent and returns its value otherwise.
    pub fn require(&self, ctx: &mut Ctx, key: &str, what: &str) -> Option<&'n Node> {
        let found = self.get(key);
        if found.is_none() {
            ctx.error(self.pos, format!("{what} is missing the key `{key}`"));
        }
        found
    }
}

/// Formats keys as "`a`, `b` or `c`".
pub(crate) fn quoted_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|k| format!("`{k}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// Parses `30s`, `5m`, `1h30m`, `500ms`, `2m 30s` or a plain number of seconds.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        rest = rest.trim_start();
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let amount: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == ' ')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let part = match unit {
            "ms" => Duration::from_millis(amount),
            "s" | "sec" => Duration::from_secs(amount),
            "m" | "min" => Duration::from_secs(amount.checked_mul(60)?),
            "h" => Duration::from_secs(amount.checked_mul(3600)?),
            _ => return None,
        };
        total = total.checked_add(part)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2m 5s"), Some(Duration::from_secs(125)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("12"), Some(Duration::from_secs(12)));
        assert_eq!(parse_duration("ten"), None);
        assert_eq!(parse_duration("5 parsecs"), None);
        assert_eq!(parse_duration(""), None);
    }
}
