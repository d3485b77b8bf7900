//! name-addr / addr-spec values: From, To, Contact, Route, Record-Route,
//! Refer-To (RFC 3261 §20.10, §25.1).

use super::params::{Params, unquote};
use super::uri::Uri;
use super::{HeaderError, is_token_char};
use std::fmt;

/// A display name, a URI and header parameters (such as `tag` or `expires`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// The display name, unquoted.
    pub display: Option<String>,
    /// The URI.
    pub uri: Uri,
    /// Header parameters (after `>`, or after a bare URI).
    pub params: Params,
}

/// A value that failed to parse; turned into a [`HeaderError`] once the header is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError(pub String, pub String);

impl ValueError {
    /// Attaches the header name.
    pub fn for_header(self, header: &'static str) -> HeaderError {
        HeaderError::Invalid {
            header,
            expected: self.0,
            found: self.1,
        }
    }
}

impl NameAddr {
    /// A bare URI with no display name or parameters.
    pub fn new(uri: Uri) -> Self {
        NameAddr {
            display: None,
            uri,
            params: Params::new(),
        }
    }

    /// Parses `"Name" <sip:a@b>;tag=x`, `Name <sip:a@b>` or `sip:a@b;tag=x`.
    pub fn parse(v: &str) -> Result<NameAddr, ValueError> {
        let t = v.trim();
        let err = |e: String| ValueError(e, t.to_string());
        if let Some(open) = find_open_angle(t) {
            let display_text = t[..open].trim();
            let close = t[open..]
                .find('>')
                .map(|i| i + open)
                .ok_or_else(|| err("`>` closing the URI".into()))?;
            let inner = &t[open + 1..close];
            if inner.trim() != inner {
                // LAQUOT and RAQUOT allow whitespace outside the brackets only
                // (RFC 3261 §25.1; RFC 4475 §3.1.2.14).
                return Err(err("no whitespace just inside `<` and `>`".into()));
            }
            let uri = Uri::parse(inner).map_err(err)?;
            let after = t[close + 1..].trim();
            if !after.is_empty() && !after.starts_with(';') {
                return Err(err("`;param` or nothing after `>`".into()));
            }
            let display = if display_text.is_empty() {
                None
            } else {
                if display_text.starts_with('"')
                    && !(display_text.len() >= 2 && display_text.ends_with('"'))
                {
                    return Err(err("a closing `\"` on the display name".into()));
                }
                if !display_text.starts_with('"')
                    && !display_text
                        .chars()
                        .all(|c| is_token_char(c) || c == ' ' || c == '\t')
                {
                    // An unquoted display name is `*(token LWS)` (RFC 3261 §25.1;
                    // RFC 4475 §3.1.2.15).
                    return Err(err("a display name of tokens, or a quoted string".into()));
                }
                Some(unquote(display_text))
            };
            Ok(NameAddr {
                display,
                uri,
                params: Params::parse(after),
            })
        } else {
            if t.starts_with('"') {
                return Err(err("`<uri>` after a quoted display name".into()));
            }
            // addr-spec: header parameters follow the URI; the URI itself cannot carry
            // parameters or headers in this form (RFC 3261 §20).
            let (uri_text, params) = match t.find(';') {
                Some(i) => (&t[..i], Params::parse(&t[i..])),
                None => (t, Params::new()),
            };
            if uri_text.contains('?') || uri_text.contains(',') {
                return Err(err("angle brackets around a URI with `?` or `,`".into()));
            }
            Ok(NameAddr {
                display: None,
                uri: Uri::parse(uri_text).map_err(err)?,
                params,
            })
        }
    }

    /// The `tag` parameter.
    pub fn tag(&self) -> Option<&str> {
        self.params.value("tag")
    }
}

/// Finds the `<` that opens the URI, skipping a quoted display name.
fn find_open_angle(t: &str) -> Option<usize> {
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in t.char_indices() {
        if in_quotes {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_quotes = false;
            }
        } else if c == '"' {
            in_quotes = true;
        } else if c == '<' {
            return Some(i);
        }
    }
    None
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            let escaped = d.replace('\\', "\\\\").replace('"', "\\\"");
            write!(f, "\"{escaped}\" ")?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let a = NameAddr::parse(r#""Bob \"B\" <x>" <sip:bob@biloxi.com>;tag=a6c85cf"#).unwrap();
        assert_eq!(a.display.as_deref(), Some("Bob \"B\" <x>"));
        assert_eq!(a.tag(), Some("a6c85cf"));
        let b = NameAddr::parse("sip:alice@atlanta.com;tag=1928301774").unwrap();
        assert_eq!(b.tag(), Some("1928301774"));
        assert!(b.uri.params.is_empty());
        let c = NameAddr::parse("Anonymous <sip:c8oqz84zk7z@privacy.org>;tag=hyh8").unwrap();
        assert_eq!(c.display.as_deref(), Some("Anonymous"));
        assert_eq!(
            c.to_string(),
            "\"Anonymous\" <sip:c8oqz84zk7z@privacy.org>;tag=hyh8"
        );
    }

    #[test]
    fn errors_name_what_was_expected() {
        let e = NameAddr::parse("<sip:a@b").unwrap_err();
        assert!(e.0.contains('>'));
        let spaced =
            NameAddr::parse("\"Watson, Thomas\" < sip:t.watson@example.org >").unwrap_err();
        assert!(spaced.0.contains("whitespace"), "{spaced:?}");
        let comma = NameAddr::parse("Watson, Thomas <sip:t.watson@example.org>").unwrap_err();
        assert!(comma.0.contains("display name"), "{comma:?}");
        assert_eq!(
            NameAddr::parse("caller<sip:caller@example.com>;tag=323")
                .unwrap()
                .display
                .as_deref(),
            Some("caller")
        );
    }
}
