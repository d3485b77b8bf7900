//! Problems found while loading a dialplan, each with file, line and column.

use std::fmt;

/// One problem in a dialplan file, pointing at the line and column where it was found.
///
/// The `Display` form is the one `switchboard check` prints, for example
/// ``dialplan/default.yaml:12:5: unknown key `pasword` (did you mean `password`?)``.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    /// The file name as given to [`crate::load`] or [`crate::load_str`].
    pub file: String,
    /// The 1-based line; 0 when the problem concerns the file as a whole.
    pub line: u64,
    /// The 1-based column (in characters); 0 when the problem concerns the file as a whole.
    pub column: u64,
    /// What is wrong, as one sentence fragment without the position.
    pub message: String,
    /// What the format expects at this place, when that helps.
    pub expected: Option<String>,
    /// What the file actually contains at this place, when that helps.
    pub found: Option<String>,
    /// A likely intended spelling, for typos in keys and names.
    pub suggestion: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )?;
        if let Some(suggestion) = &self.suggestion {
            write!(f, " (did you mean `{suggestion}`?)")?;
        }
        match (&self.expected, &self.found) {
            (Some(expected), Some(found)) => write!(f, "; expected {expected}, found {found}"),
            (Some(expected), None) => write!(f, "; expected {expected}"),
            (None, Some(found)) => write!(f, "; found {found}"),
            (None, None) => Ok(()),
        }
    }
}

/// Every problem found in a dialplan, sorted by position; loading fails when this is not empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics {
    /// The problems, sorted by line and column, at most one per position.
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Returns the number of problems.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Returns true when no problem was found.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Iterates over the problems in file order.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }

    /// Sorts by position, keeping the first problem found at each position: a mistake in a
    /// menu template is found once for the template and again for each menu using it.
    pub(crate) fn finish(mut self) -> Self {
        self.items
            .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        self.items.dedup_by(|later, first| {
            (&later.file, later.line, later.column) == (&first.file, first.line, first.column)
        });
        self
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for item in &self.items {
            writeln!(f, "{item}")?;
        }
        let n = self.items.len();
        write!(f, "{n} problem{}", if n == 1 { "" } else { "s" })
    }
}

impl std::error::Error for Diagnostics {}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

/// Returns the candidate closest to `word` when it is close enough to be a likely typo.
pub(crate) fn suggest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let word_lower = word.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let distance = edit_distance(&word_lower, &candidate.to_lowercase());
        let limit = (candidate.chars().count().max(word.chars().count()) / 3).max(1);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c.to_string())
}

/// Levenshtein distance counting an adjacent swap as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        let keys = ["password", "name", "number", "language"];
        assert_eq!(suggest("pasword", keys).as_deref(), Some("password"));
        assert_eq!(suggest("nmae", keys).as_deref(), Some("name"));
        assert_eq!(suggest("colour", keys), None);
    }

    #[test]
    fn display_matches_check_output() {
        let d = Diagnostic {
            file: "dialplan/default.yaml".into(),
            line: 12,
            column: 5,
            message: "unknown key `pasword`".into(),
            expected: None,
            found: None,
            suggestion: Some("password".into()),
        };
        assert_eq!(
            d.to_string(),
            "dialplan/default.yaml:12:5: unknown key `pasword` (did you mean `password`?)"
        );
    }

    #[test]
    fn diagnostics_sort_keep_one_per_position_and_count() {
        let at = |line, column, message: &str| Diagnostic {
            file: "f.yaml".into(),
            line,
            column,
            message: message.into(),
            expected: Some("x".into()),
            found: Some("y".into()),
            suggestion: None,
        };
        let d = Diagnostics {
            items: vec![at(9, 1, "later"), at(2, 3, "first"), at(2, 3, "same place")],
        }
        .finish();
        assert_eq!(
            d.to_string(),
            "f.yaml:2:3: first; expected x, found y\nf.yaml:9:1: later; expected x, found y\n2 problems"
        );
    }
}
