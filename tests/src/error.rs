//! The harness error type: a message that says what was expected and what arrived.

use std::fmt;

/// A harness failure, carrying a human-readable description of what was expected and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    /// Creates an error from a description.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// Wraps an I/O error with what the harness was doing when it happened.
    pub fn io(context: impl fmt::Display, err: std::io::Error) -> Self {
        Self::new(format!("{context}: {err}"))
    }

    /// Returns the description.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// The result type of every fallible harness function.
pub type Result<T> = std::result::Result<T, Error>;
