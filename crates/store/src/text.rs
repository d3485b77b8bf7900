//! Text as both backends can store it, and the recorded vocabularies read back from it.

use records::Vocabulary;

use crate::StoreError;

/// Returns `s` with every NUL character replaced by U+FFFD.
///
/// PostgreSQL `text` cannot hold NUL (the insert fails), SQLite can; every text value is bound through
/// this so that both backends store, and find, the same thing, and a stray NUL in a caller name never
/// costs a call record.
pub(crate) fn t(s: &str) -> String {
    s.replace('\0', "\u{FFFD}")
}

/// [`t`] for optional text.
pub(crate) fn opt_t(s: Option<&str>) -> Option<String> {
    s.map(t)
}

/// Reads `text` from `table.column` as a value of the vocabulary `V`, reporting text no value uses
/// as [`StoreError::Corrupt`].
pub(crate) fn from_db<V: Vocabulary>(
    text: &str,
    table: &'static str,
    column: &'static str,
) -> Result<V, StoreError> {
    V::parse(text).ok_or_else(|| StoreError::Corrupt {
        table,
        column,
        expected: V::EXPECTED,
        found: text.to_owned(),
    })
}

/// [`from_db`] for a nullable column: `NULL` reads as `None`.
pub(crate) fn opt_from_db<V: Vocabulary>(
    text: Option<&str>,
    table: &'static str,
    column: &'static str,
) -> Result<Option<V>, StoreError> {
    text.map(|text| from_db(text, table, column)).transpose()
}

#[cfg(test)]
mod tests {
    #[test]
    fn nul_becomes_replacement_character() {
        assert_eq!(super::t("a\0b\0"), "a\u{FFFD}b\u{FFFD}");
        assert_eq!(super::t("plain"), "plain");
        assert_eq!(super::opt_t(None), None);
        assert_eq!(super::opt_t(Some("\0")).as_deref(), Some("\u{FFFD}"));
    }
}
