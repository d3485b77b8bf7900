//! RFC 4180 CSV: a writer for the record exports and a strict reader for tests and tools.
//!
//! Output uses CRLF record ends and quotes a field only when it contains a comma, a double quote,
//! CR or LF (or when it is the only, empty field of a record, which would otherwise be a blank line).
//! Quotes inside quoted fields are doubled.

use std::borrow::Cow;
use std::fmt;

/// Returns `field` as it must appear in a CSV record: unchanged, or quoted with inner quotes doubled.
#[must_use]
pub fn quote_field(field: &str) -> Cow<'_, str> {
    if field.contains([',', '"', '\r', '\n']) {
        let mut out = String::with_capacity(field.len() + 2);
        out.push('"');
        for c in field.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
        Cow::Owned(out)
    } else {
        Cow::Borrowed(field)
    }
}

/// Returns `text` with a leading `'` when a spreadsheet would otherwise run it as a formula.
///
/// Caller names and numbers come from the network, so an export opened in a spreadsheet must not
/// execute `=HYPERLINK(…)` and the like (CSV injection). Text starting with `=`, `@`, TAB or CR is
/// prefixed; text starting with `+` or `-` is prefixed unless the rest is all digits, so phone numbers
/// such as `+4930123456` stay as they are.
#[must_use]
pub fn defuse_formula(text: &str) -> Cow<'_, str> {
    let mut chars = text.chars();
    let dangerous = match chars.next() {
        Some('=' | '@' | '\t' | '\r') => true,
        Some('+' | '-') => {
            let rest = chars.as_str();
            rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    };
    if dangerous {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// Builds a CSV document field by field.
#[derive(Debug, Default)]
pub struct CsvWriter {
    out: String,
    record_start: usize,
    fields_in_record: usize,
}

impl CsvWriter {
    /// Starts an empty document.
    #[must_use]
    pub fn new() -> CsvWriter {
        CsvWriter::default()
    }

    /// Writes a whole record of column names.
    pub fn header(&mut self, names: &[&str]) {
        for name in names {
            self.raw(name);
        }
        self.end_record();
    }

    /// Appends a field exactly as given (quoted if needed), with no formula defusing.
    pub fn raw(&mut self, field: &str) {
        if self.fields_in_record > 0 {
            self.out.push(',');
        }
        self.out.push_str(&quote_field(field));
        self.fields_in_record += 1;
    }

    /// Appends a text field from outside input: formula-defused (see [`defuse_formula`]), then quoted.
    pub fn text(&mut self, field: &str) {
        self.raw(&defuse_formula(field));
    }

    /// Appends an integer field.
    pub fn int(&mut self, value: i64) {
        self.raw(&value.to_string());
    }

    /// Appends an integer field, or an empty field for `None`.
    pub fn opt_int(&mut self, value: Option<i64>) {
        match value {
            Some(v) => self.int(v),
            None => self.raw(""),
        }
    }

    /// Ends the current record with CRLF.
    pub fn end_record(&mut self) {
        if self.fields_in_record == 1 && self.out.len() == self.record_start {
            self.out.push_str("\"\"");
        }
        self.out.push_str("\r\n");
        self.record_start = self.out.len();
        self.fields_in_record = 0;
    }

    /// Returns the document; an unfinished last record is ended first.
    #[must_use]
    pub fn finish(mut self) -> String {
        if self.fields_in_record > 0 {
            self.end_record();
        }
        self.out
    }
}

/// Why [`parse`] rejected its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvParseError {
    /// The 1-based record number where the problem is.
    pub record: usize,
    /// What was expected and what was found.
    pub message: String,
}

impl fmt::Display for CsvParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CSV record {}: {}", self.record, self.message)
    }
}

impl std::error::Error for CsvParseError {}

/// Parses an RFC 4180 document into records of fields, strictly: a quote never appears inside an
/// unquoted field, and after a closing quote only a comma or a line end may follow. Record ends may
/// be CRLF or LF; a final line end is optional. An empty input has no records.
pub fn parse(input: &str) -> Result<Vec<Vec<String>>, CsvParseError> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = input.chars().peekable();
    let error = |records: &Vec<Vec<String>>, message: String| CsvParseError {
        record: records.len() + 1,
        message,
    };
    while chars.peek().is_some() {
        // At the start of a field.
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => {
                        return Err(error(
                            &records,
                            "expected a closing quote, found the end of input".into(),
                        ));
                    }
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
            match chars.peek() {
                None | Some(',' | '\r' | '\n') => {}
                Some(c) => {
                    return Err(error(
                        &records,
                        format!("expected `,` or a line end after a closing quote, found `{c}`"),
                    ));
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                match c {
                    ',' | '\r' | '\n' => break,
                    '"' => {
                        return Err(error(
                            &records,
                            "found `\"` inside an unquoted field".into(),
                        ));
                    }
                    _ => {
                        field.push(c);
                        chars.next();
                    }
                }
            }
        }
        // After a field.
        match chars.next() {
            Some(',') => {
                record.push(std::mem::take(&mut field));
                if chars.peek().is_none() {
                    record.push(String::new());
                    records.push(std::mem::take(&mut record));
                }
            }
            Some('\r') => {
                if chars.next() != Some('\n') {
                    return Err(error(&records, "expected LF after CR".into()));
                }
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            Some('\n') | None => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            Some(c) => unreachable!("field loops stop only at a separator, found {c:?}"),
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quoting_rules() {
        assert_eq!(quote_field("plain"), "plain");
        assert_eq!(quote_field(""), "");
        assert_eq!(quote_field("a,b"), "\"a,b\"");
        assert_eq!(quote_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote_field("two\r\nlines"), "\"two\r\nlines\"");
        assert_eq!(quote_field("lf\nonly"), "\"lf\nonly\"");
        assert_eq!(quote_field(" spaced "), " spaced ");
    }

    #[test]
    fn writer_output_is_exact() {
        let mut w = CsvWriter::new();
        w.header(&["id", "name"]);
        w.int(1);
        w.text("Müller, \"Hans\"");
        w.end_record();
        w.opt_int(None);
        w.text("=1+1");
        w.end_record();
        assert_eq!(
            w.finish(),
            "id,name\r\n1,\"Müller, \"\"Hans\"\"\"\r\n,'=1+1\r\n"
        );
    }

    #[test]
    fn lone_empty_field_is_not_a_blank_line() {
        let mut w = CsvWriter::new();
        w.raw("");
        w.end_record();
        let doc = w.finish();
        assert_eq!(doc, "\"\"\r\n");
        assert_eq!(parse(&doc).unwrap(), vec![vec![String::new()]]);
    }

    #[test]
    fn formula_defusing() {
        assert_eq!(defuse_formula("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defuse_formula("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(defuse_formula("+4930123456"), "+4930123456");
        assert_eq!(defuse_formula("-42"), "-42");
        assert_eq!(
            defuse_formula("+1+cmd|' /C calc'!A0"),
            "'+1+cmd|' /C calc'!A0"
        );
        assert_eq!(defuse_formula("-"), "'-");
        assert_eq!(defuse_formula("\tx"), "'\tx");
        assert_eq!(defuse_formula("201"), "201");
        assert_eq!(defuse_formula(""), "");
    }

    #[test]
    fn parser_rejects_malformed_input_with_position() {
        let err = parse("a,b\r\nc\"d\r\n").unwrap_err();
        assert_eq!(err.record, 2);
        assert!(err.message.contains("inside an unquoted field"), "{err}");
        let err = parse("\"open").unwrap_err();
        assert!(err.message.contains("closing quote"), "{err}");
        let err = parse("\"a\"b").unwrap_err();
        assert!(err.message.contains("found `b`"), "{err}");
        let err = parse("a\rb").unwrap_err();
        assert!(err.message.contains("LF after CR"), "{err}");
    }

    #[test]
    fn parser_accepts_lf_and_missing_final_line_end() {
        assert_eq!(
            parse("a,b\nc,d").unwrap(),
            vec![vec!["a", "b"], vec!["c", "d"]]
        );
        assert_eq!(parse("a,\r\n").unwrap(), vec![vec!["a", ""]]);
        assert_eq!(parse("a,").unwrap(), vec![vec!["a", ""]]);
        assert!(parse("").unwrap().is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn write_then_parse_round_trips(
            records in proptest::collection::vec(
                proptest::collection::vec("(?s)[a-z\",\r\n \t'=+é€-]{0,12}|\\PC{0,8}", 1..6),
                0..6,
            )
        ) {
            let mut w = CsvWriter::new();
            for record in &records {
                for field in record {
                    w.raw(field);
                }
                w.end_record();
            }
            let doc = w.finish();
            prop_assert_eq!(parse(&doc).unwrap(), records);
        }

        #[test]
        fn quoted_fields_parse_back_alone(field in "(?s).{0,40}") {
            let doc = format!("{}\r\n", quote_field(&field));
            // An empty field is written as a blank line, which also reads back as one empty field.
            prop_assert_eq!(parse(&doc).unwrap(), vec![vec![field]]);
        }
    }
}
