//! Parsing and printing of `Digest` header values: challenges
//! (`WWW-Authenticate`, `Proxy-Authenticate`) and credentials
//! (`Authorization`, `Proxy-Authorization`), RFC 7616 §3.3–3.4 and
//! RFC 3261 §25.1 (`digest-response`).
//!
//! Parameters may come in any order, quoted or as tokens, separated by
//! commas with optional whitespace. A parameter given twice is an error,
//! because the two values could be checked and used inconsistently.

use super::digest::Algorithm;
use std::fmt;

/// A header value that is not a usable digest challenge or response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedHeader {
    /// What the parser expected.
    pub expected: String,
    /// What it found (shortened to keep log lines bounded).
    pub found: String,
}

impl MalformedHeader {
    pub(crate) fn new(expected: impl Into<String>, found: &str) -> Self {
        MalformedHeader {
            expected: expected.into(),
            found: shorten(found),
        }
    }
}

impl fmt::Display for MalformedHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed digest header: expected {}, found `{}`",
            self.expected, self.found
        )
    }
}

impl std::error::Error for MalformedHeader {}

/// At most 80 characters of `text`, cut on a character boundary.
fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// One parsed `name=value` pair; the name is lower-cased and the value unquoted.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Param {
    name: String,
    value: String,
}

/// The parameters of a `Digest` header value.
#[derive(Debug, Clone, Default)]
struct ParamList(Vec<Param>);

impl ParamList {
    /// Splits `Digest a=b, c="d"` into parameters.
    fn parse(header: &str) -> Result<ParamList, MalformedHeader> {
        let text = header.trim();
        let scheme_end = text.find(char::is_whitespace).unwrap_or(text.len());
        let scheme = &text[..scheme_end];
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Err(MalformedHeader::new("the `Digest` scheme", scheme));
        }
        let mut cursor = Cursor {
            text,
            pos: scheme_end,
        };
        let mut out: Vec<Param> = Vec::new();
        loop {
            cursor.skip_while(|c| c.is_whitespace() || c == ',');
            if cursor.at_end() {
                break;
            }
            let name = cursor.take_while(is_token_char);
            if name.is_empty() {
                return Err(MalformedHeader::new("a parameter name", cursor.rest()));
            }
            let name = name.to_ascii_lowercase();
            cursor.skip_while(char::is_whitespace);
            if !cursor.eat('=') {
                return Err(MalformedHeader::new(
                    format!("`=` after parameter `{name}`"),
                    cursor.rest(),
                ));
            }
            cursor.skip_while(char::is_whitespace);
            let value = if cursor.eat('"') {
                cursor.quoted().ok_or_else(|| {
                    MalformedHeader::new(format!("a closing `\"` for parameter `{name}`"), text)
                })?
            } else {
                let v = cursor.take_while(|c| c != ',' && !c.is_whitespace());
                if v.is_empty() {
                    return Err(MalformedHeader::new(
                        format!("a value for parameter `{name}`"),
                        cursor.rest(),
                    ));
                }
                v.to_string()
            };
            cursor.skip_while(char::is_whitespace);
            if !cursor.at_end() && !cursor.eat(',') {
                return Err(MalformedHeader::new(
                    format!("`,` after parameter `{name}`"),
                    cursor.rest(),
                ));
            }
            if out.iter().any(|p| p.name == name) {
                return Err(MalformedHeader::new(
                    format!("parameter `{name}` only once"),
                    text,
                ));
            }
            out.push(Param { name, value });
        }
        Ok(ParamList(out))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_str())
    }

    fn required(&self, name: &str, header: &str) -> Result<String, MalformedHeader> {
        self.get(name)
            .map(str::to_string)
            .ok_or_else(|| MalformedHeader::new(format!("a `{name}` parameter"), header))
    }

    fn algorithm(&self) -> Result<Algorithm, MalformedHeader> {
        match self.get("algorithm") {
            None => Ok(Algorithm::Md5),
            Some(a) => Algorithm::parse(a).ok_or_else(|| {
                MalformedHeader::new("algorithm MD5, MD5-sess, SHA-256 or SHA-256-sess", a)
            }),
        }
    }
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)
}

/// A position in the header text.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    fn skip_while(&mut self, f: impl Fn(char) -> bool) {
        self.take_while(f);
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> &'a str {
        let rest = self.rest();
        let end = rest.find(|c| !f(c)).unwrap_or(rest.len());
        self.pos += end;
        &rest[..end]
    }

    fn eat(&mut self, c: char) -> bool {
        if self.rest().starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    /// Reads a quoted string body after the opening quote; `None` if unterminated.
    fn quoted(&mut self) -> Option<String> {
        let mut out = String::new();
        let mut escaped = false;
        for (i, c) in self.rest().char_indices() {
            if escaped {
                out.push(c);
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                self.pos += i + 1;
                return Some(out);
            } else {
                out.push(c);
            }
        }
        None
    }
}

/// Quotes a value for a header, escaping `"` and `\`.
fn quote(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A parsed `WWW-Authenticate` / `Proxy-Authenticate` digest challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The protection space.
    pub realm: String,
    /// The server nonce.
    pub nonce: String,
    /// The opaque value the client must echo.
    pub opaque: Option<String>,
    /// The algorithm (MD5 when absent).
    pub algorithm: Algorithm,
    /// The offered qop values (`qop="auth,auth-int"` gives two); empty when absent.
    pub qop: Vec<String>,
    /// Whether the previous attempt failed only because its nonce was stale.
    pub stale: bool,
}

impl Challenge {
    /// Parses a challenge header value such as
    /// `Digest realm="pbx", nonce="…", algorithm=SHA-256, qop="auth"`.
    pub fn parse(header: &str) -> Result<Challenge, MalformedHeader> {
        let p = ParamList::parse(header)?;
        let qop = p
            .get("qop")
            .map(|q| {
                q.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let stale = match p.get("stale") {
            None => false,
            Some(s) if s.eq_ignore_ascii_case("true") => true,
            Some(s) if s.eq_ignore_ascii_case("false") => false,
            Some(s) => return Err(MalformedHeader::new("stale=true or stale=false", s)),
        };
        Ok(Challenge {
            realm: p.required("realm", header)?,
            nonce: p.required("nonce", header)?,
            opaque: p.get("opaque").map(str::to_string),
            algorithm: p.algorithm()?,
            qop,
            stale,
        })
    }

    /// Whether `qop=auth` is among the offered values.
    pub fn offers_auth(&self) -> bool {
        self.qop.iter().any(|q| q.eq_ignore_ascii_case("auth"))
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Digest realm={}, nonce={}",
            quote(&self.realm),
            quote(&self.nonce)
        )?;
        if let Some(o) = &self.opaque {
            write!(f, ", opaque={}", quote(o))?;
        }
        write!(f, ", algorithm={}", self.algorithm)?;
        if !self.qop.is_empty() {
            write!(f, ", qop={}", quote(&self.qop.join(",")))?;
        }
        if self.stale {
            f.write_str(", stale=true")?;
        }
        Ok(())
    }
}

/// A parsed `Authorization` / `Proxy-Authorization` digest response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestResponse {
    /// The user name.
    pub username: String,
    /// The realm the client answered.
    pub realm: String,
    /// The server nonce the client used.
    pub nonce: String,
    /// The digest-uri.
    pub uri: String,
    /// The response digest (hex).
    pub response: String,
    /// The algorithm (MD5 when absent).
    pub algorithm: Algorithm,
    /// The client nonce (present with `qop`).
    pub cnonce: Option<String>,
    /// The echoed opaque value.
    pub opaque: Option<String>,
    /// The qop the client chose.
    pub qop: Option<String>,
    /// The nonce count as written (present with `qop`).
    pub nc: Option<String>,
}

impl DigestResponse {
    /// Parses a credentials header value. With `qop`, `cnonce` and an
    /// `nc` of one to eight hex digits are required (RFC 7616 §3.4).
    pub fn parse(header: &str) -> Result<DigestResponse, MalformedHeader> {
        let p = ParamList::parse(header)?;
        if p.get("userhash")
            .is_some_and(|u| u.eq_ignore_ascii_case("true"))
        {
            return Err(MalformedHeader::new(
                "userhash=false (userhash is not supported)",
                header,
            ));
        }
        let qop = p.get("qop").map(str::to_string);
        let nc = p.get("nc").map(str::to_string);
        let cnonce = p.get("cnonce").map(str::to_string);
        if qop.is_some() {
            let n = nc
                .as_deref()
                .ok_or_else(|| MalformedHeader::new("an `nc` parameter with `qop`", header))?;
            if n.is_empty() || n.len() > 8 || !n.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(MalformedHeader::new("nc as 8 hex digits", n));
            }
            if cnonce.is_none() {
                return Err(MalformedHeader::new(
                    "a `cnonce` parameter with `qop`",
                    header,
                ));
            }
        }
        let response = p.required("response", header)?;
        if response.is_empty() || !response.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(MalformedHeader::new("response as hex digits", &response));
        }
        Ok(DigestResponse {
            username: p.required("username", header)?,
            realm: p.required("realm", header)?,
            nonce: p.required("nonce", header)?,
            uri: p.required("uri", header)?,
            response,
            algorithm: p.algorithm()?,
            cnonce,
            opaque: p.get("opaque").map(str::to_string),
            qop,
            nc,
        })
    }

    /// The nonce count as a number (`None` without `qop`).
    pub fn nc_value(&self) -> Option<u32> {
        self.nc
            .as_deref()
            .and_then(|n| u32::from_str_radix(n, 16).ok())
    }
}

impl fmt::Display for DigestResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Digest username={}, realm={}, nonce={}, uri={}, response={}, algorithm={}",
            quote(&self.username),
            quote(&self.realm),
            quote(&self.nonce),
            quote(&self.uri),
            quote(&self.response),
            self.algorithm
        )?;
        if let Some(c) = &self.cnonce {
            write!(f, ", cnonce={}", quote(c))?;
        }
        if let Some(o) = &self.opaque {
            write!(f, ", opaque={}", quote(o))?;
        }
        if let Some(q) = &self.qop {
            write!(f, ", qop={q}")?;
        }
        if let Some(n) = &self.nc {
            write!(f, ", nc={n}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_with_multi_qop_and_unquoted_params() {
        let c = Challenge::parse(
            "digest  realm=\"a\\\"b\",qop=\"auth, auth-int\" , nonce=abc,algorithm=sha-256-SESS,stale=TRUE",
        )
        .unwrap();
        assert_eq!(c.realm, "a\"b");
        assert_eq!(c.qop, vec!["auth", "auth-int"]);
        assert_eq!(c.nonce, "abc");
        assert_eq!(c.algorithm, Algorithm::Sha256Sess);
        assert!(c.stale && c.offers_auth());
        let again = Challenge::parse(&c.to_string()).unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn errors_say_what_was_expected() {
        let e = Challenge::parse("Basic realm=\"x\"").unwrap_err();
        assert_eq!(e.expected, "the `Digest` scheme");
        assert_eq!(e.found, "Basic");
        let e = Challenge::parse("Digest realm=\"x\", realm=\"y\", nonce=1").unwrap_err();
        assert!(e.expected.contains("only once"));
        let e = Challenge::parse("Digest realm=\"x, nonce=1").unwrap_err();
        assert!(e.expected.contains("closing"));
        let e = DigestResponse::parse("Digest username=a realm=b").unwrap_err();
        assert!(e.expected.contains("`,` after parameter `username`"), "{e}");
        let e = Challenge::parse("Digest realm=x, nonce=1, algorithm=SHA-512-256").unwrap_err();
        assert_eq!(e.found, "SHA-512-256");
    }

    #[test]
    fn response_requires_nc_and_cnonce_with_qop() {
        let base =
            "Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"ab\"";
        assert!(DigestResponse::parse(base).is_ok());
        let e = DigestResponse::parse(&format!("{base}, qop=auth, cnonce=\"c\"")).unwrap_err();
        assert!(e.expected.contains("nc"));
        let e = DigestResponse::parse(&format!("{base}, qop=auth, nc=00000001")).unwrap_err();
        assert!(e.expected.contains("cnonce"));
        let e =
            DigestResponse::parse(&format!("{base}, qop=auth, nc=0000000g, cnonce=c")).unwrap_err();
        assert_eq!(e.found, "0000000g");
        let ok =
            DigestResponse::parse(&format!("{base}, qop=auth, nc=0000000a, cnonce=c")).unwrap();
        assert_eq!(ok.nc_value(), Some(10));
        assert_eq!(DigestResponse::parse(&ok.to_string()).unwrap(), ok);
    }
}
