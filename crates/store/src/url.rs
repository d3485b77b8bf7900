//! Database URL handling: which backend a URL names, where an SQLite file lives, and redaction.

use std::fmt;
use std::path::PathBuf;

use crate::StoreError;

/// The database engine behind a [`Store`](crate::Store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Embedded SQLite (the single-node default), one file in WAL mode.
    Sqlite,
    /// PostgreSQL server (for several nodes sharing one database).
    Postgres,
}

impl Backend {
    /// Returns the lower-case name used in logs and errors: `sqlite` or `postgres`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an SQLite database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SqliteLocation {
    /// A private in-memory database, alive as long as its single pooled connection.
    Memory,
    /// A database file; `create` is false when the URL asked for read-only or read-write without create.
    File { path: PathBuf, create: bool },
}

/// A database URL taken apart far enough to open it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DbUrl {
    /// The backend the scheme names.
    pub backend: Backend,
    /// The URL handed to the sqlx `Any` driver (for SQLite files with `mode=rwc` added unless a mode was given).
    pub driver_url: String,
    /// For SQLite, where the database lives; `None` for PostgreSQL.
    pub sqlite: Option<SqliteLocation>,
    /// The URL with any password replaced by `***`, safe for logs and errors.
    pub redacted: String,
}

impl DbUrl {
    /// Takes `url` apart, accepting `sqlite:PATH`, `sqlite://PATH`, `sqlite::memory:` and
    /// `postgres://` / `postgresql://` URLs.
    pub(crate) fn parse(url: &str) -> Result<DbUrl, StoreError> {
        let redacted = redact(url);
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let rest = rest.strip_prefix("//").unwrap_or(rest);
            let (database, params) = match rest.split_once('?') {
                Some((database, params)) => (database, Some(params)),
                None => (rest, None),
            };
            let mode = params.and_then(|p| {
                p.split('&')
                    .find_map(|pair| pair.strip_prefix("mode="))
                    .map(str::to_owned)
            });
            let memory = database == ":memory:" || mode.as_deref() == Some("memory");
            if memory {
                return Ok(DbUrl {
                    backend: Backend::Sqlite,
                    driver_url: url.to_owned(),
                    sqlite: Some(SqliteLocation::Memory),
                    redacted,
                });
            }
            if database.is_empty() {
                return Err(StoreError::UnsupportedUrl { url: redacted });
            }
            let path = PathBuf::from(percent_decode(database));
            let create = mode.is_none() || mode.as_deref() == Some("rwc");
            let driver_url = match (mode.is_some(), params) {
                (true, _) => url.to_owned(),
                (false, Some(_)) => format!("{url}&mode=rwc"),
                (false, None) => format!("{url}?mode=rwc"),
            };
            return Ok(DbUrl {
                backend: Backend::Sqlite,
                driver_url,
                sqlite: Some(SqliteLocation::File { path, create }),
                redacted,
            });
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DbUrl {
                backend: Backend::Postgres,
                driver_url: url.to_owned(),
                sqlite: None,
                redacted,
            });
        }
        Err(StoreError::UnsupportedUrl { url: redacted })
    }
}

/// Replaces the password of a `scheme://user:password@host` URL with `***`.
#[must_use]
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let authority_start = scheme_end + 3;
    let authority_end = url[authority_start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| authority_start + i);
    let authority = &url[authority_start..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &authority[..at];
    let Some(colon) = userinfo.find(':') else {
        return url.to_owned();
    };
    format!(
        "{}{}:***{}",
        &url[..authority_start],
        &userinfo[..colon],
        &url[authority_start + at..]
    )
}

/// Decodes `%XX` escapes; malformed escapes are kept literally, as sqlx's own decoder would reject them later.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_relative_path_gets_rwc() {
        let u = DbUrl::parse("sqlite:data/switchboard.db").unwrap();
        assert_eq!(u.backend, Backend::Sqlite);
        assert_eq!(u.driver_url, "sqlite:data/switchboard.db?mode=rwc");
        assert_eq!(
            u.sqlite,
            Some(SqliteLocation::File {
                path: PathBuf::from("data/switchboard.db"),
                create: true
            })
        );
    }

    #[test]
    fn sqlite_double_slash_and_absolute_paths() {
        let u = DbUrl::parse("sqlite://data/a.db").unwrap();
        assert!(
            matches!(u.sqlite, Some(SqliteLocation::File { ref path, .. }) if path == &PathBuf::from("data/a.db"))
        );
        let u = DbUrl::parse("sqlite:///var/lib/sb/a%20b.db?cache=shared").unwrap();
        assert_eq!(
            u.driver_url,
            "sqlite:///var/lib/sb/a%20b.db?cache=shared&mode=rwc"
        );
        assert!(
            matches!(u.sqlite, Some(SqliteLocation::File { ref path, .. }) if path == &PathBuf::from("/var/lib/sb/a b.db"))
        );
    }

    #[test]
    fn sqlite_explicit_mode_is_kept() {
        let u = DbUrl::parse("sqlite:a.db?mode=ro").unwrap();
        assert_eq!(u.driver_url, "sqlite:a.db?mode=ro");
        assert_eq!(
            u.sqlite,
            Some(SqliteLocation::File {
                path: PathBuf::from("a.db"),
                create: false
            })
        );
    }

    #[test]
    fn sqlite_memory() {
        for url in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite://?mode=memory",
        ] {
            assert_eq!(
                DbUrl::parse(url).unwrap().sqlite,
                Some(SqliteLocation::Memory),
                "{url}"
            );
        }
    }

    #[test]
    fn postgres_and_unknown_schemes() {
        let u = DbUrl::parse("postgres://sb:hunter2@db.local:5432/pbx?sslmode=require").unwrap();
        assert_eq!(u.backend, Backend::Postgres);
        assert_eq!(
            u.redacted,
            "postgres://sb:***@db.local:5432/pbx?sslmode=require"
        );
        assert_eq!(
            DbUrl::parse("postgresql://h/db").unwrap().backend,
            Backend::Postgres
        );
        let err = DbUrl::parse("mysql://root:pw@h/db").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("mysql://root:***@h/db"), "{msg}");
        assert!(!msg.contains("pw@"), "{msg}");
        assert!(matches!(
            DbUrl::parse("sqlite:"),
            Err(StoreError::UnsupportedUrl { .. })
        ));
    }

    #[test]
    fn redact_leaves_urls_without_password_alone() {
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
        assert_eq!(redact("sqlite:data/x.db"), "sqlite:data/x.db");
        assert_eq!(
            redact("postgres://u:p@h/db?x=a@b"),
            "postgres://u:***@h/db?x=a@b"
        );
    }

    #[test]
    fn percent_decode_handles_escapes_and_garbage() {
        assert_eq!(percent_decode("a%20b%3Fc"), "a b?c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
