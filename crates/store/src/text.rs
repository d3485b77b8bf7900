//! Text as both backends can store it.

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
