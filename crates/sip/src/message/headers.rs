//! The header section: an ordered list of `(name, value)` pairs with
//! compact forms expanded to their full names (RFC 3261 §7.3.3) and
//! case-insensitive lookup. Typed views (Via, From, CSeq, …) are parsed on
//! demand from the stored text, so a malformed header only fails the code
//! that needs it.

use super::name_addr::NameAddr;
use super::params::split_outside_quotes;
use super::via::Via;
use super::{HeaderError, Method};
use std::fmt;

/// One header field as received or to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The canonical name (compact forms expanded, known names in their usual case).
    pub name: String,
    /// The value, with folding already turned into single spaces and surrounding whitespace trimmed.
    pub value: String,
}

/// The ordered header list of a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<Header>);

const KNOWN: &[&str] = &[
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Alert-Info",
    "Allow",
    "Allow-Events",
    "Authentication-Info",
    "Authorization",
    "Call-ID",
    "Call-Info",
    "Contact",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-Type",
    "CSeq",
    "Date",
    "Error-Info",
    "Event",
    "Expires",
    "From",
    "In-Reply-To",
    "Max-Forwards",
    "Min-Expires",
    "MIME-Version",
    "Organization",
    "Priority",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Proxy-Require",
    "Reason",
    "Record-Route",
    "Refer-To",
    "Referred-By",
    "Replaces",
    "Reply-To",
    "Require",
    "Retry-After",
    "Route",
    "Server",
    "Session-Expires",
    "Subject",
    "Subscription-State",
    "Supported",
    "Timestamp",
    "To",
    "Unsupported",
    "User-Agent",
    "Via",
    "Warning",
    "WWW-Authenticate",
];

/// Expands a compact header name and gives known names their usual spelling.
pub fn canonical_name(name: &str) -> String {
    let expanded = expand_compact(name);
    if !std::ptr::eq(expanded, name) {
        return expanded.to_string();
    }
    KNOWN
        .iter()
        .find(|k| k.eq_ignore_ascii_case(name))
        .map(|k| k.to_string())
        .unwrap_or_else(|| name.to_string())
}

/// The full name for a compact form (`v` → `Via`), or `name` itself. Lookups
/// compare the result case-insensitively with the stored canonical names, so
/// finding a header allocates nothing.
fn expand_compact(name: &str) -> &str {
    match name {
        "i" | "I" => "Call-ID",
        "m" | "M" => "Contact",
        "e" | "E" => "Content-Encoding",
        "l" | "L" => "Content-Length",
        "c" | "C" => "Content-Type",
        "f" | "F" => "From",
        "s" | "S" => "Subject",
        "k" | "K" => "Supported",
        "t" | "T" => "To",
        "v" | "V" => "Via",
        "o" | "O" => "Event",
        "r" | "R" => "Refer-To",
        "b" | "B" => "Referred-By",
        "u" | "U" => "Allow-Events",
        "x" | "X" => "Session-Expires",
        _ => name,
    }
}

/// Headers whose values may be comma-joined lists (RFC 3261 §7.3.1).
fn is_list_header(name: &str) -> bool {
    [
        "Via",
        "Contact",
        "Route",
        "Record-Route",
        "Allow",
        "Supported",
        "Require",
        "Proxy-Require",
        "Unsupported",
        "Accept",
        "Accept-Encoding",
        "Accept-Language",
        "Allow-Events",
    ]
    .iter()
    .any(|n| n.eq_ignore_ascii_case(name))
}

impl Headers {
    /// An empty header list.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// Appends a header (the name is canonicalised).
    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        self.0.push(Header {
            name: canonical_name(name),
            value: value.into(),
        });
    }

    /// Inserts a header at the top (used for Via and Record-Route).
    pub fn push_front(&mut self, name: &str, value: impl Into<String>) {
        self.0.insert(
            0,
            Header {
                name: canonical_name(name),
                value: value.into(),
            },
        );
    }

    /// Replaces all headers called `name` with one value, keeping the position of the first.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let name = canonical_name(name);
        let value = value.into();
        match self
            .0
            .iter()
            .position(|h| h.name.eq_ignore_ascii_case(&name))
        {
            Some(i) => {
                self.0[i].value = value;
                let mut idx = 0;
                self.0.retain(|h| {
                    let keep = idx <= i || !h.name.eq_ignore_ascii_case(&name);
                    idx += 1;
                    keep
                });
            }
            None => self.0.push(Header { name, value }),
        }
    }

    /// Removes every header called `name`.
    pub fn remove(&mut self, name: &str) {
        let name = canonical_name(name);
        self.0.retain(|h| !h.name.eq_ignore_ascii_case(&name));
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        let name = expand_compact(name);
        self.0
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// Every header line called `name`, as written (not split on commas).
    pub fn get_all_lines<'a, 'n>(
        &'a self,
        name: &'n str,
    ) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        let name = expand_compact(name);
        self.0
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// Every value of `name`, splitting comma-joined lists for list headers.
    pub fn get_all(&self, name: &str) -> Vec<&str> {
        let list = is_list_header(expand_compact(name));
        let mut out = Vec::new();
        for line in self.get_all_lines(name) {
            if list {
                out.extend(
                    split_outside_quotes(line, ',')
                        .into_iter()
                        .map(str::trim)
                        .filter(|s| !s.is_empty()),
                );
            } else {
                out.push(line);
            }
        }
        out
    }

    /// Whether a header called `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Iterates over all headers in order.
    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.0.iter()
    }

    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn required(&self, name: &'static str) -> Result<&str, HeaderError> {
        self.get(name).ok_or(HeaderError::Missing(name))
    }

    /// The Call-ID.
    pub fn call_id(&self) -> Result<&str, HeaderError> {
        let v = self.required("Call-ID")?;
        if v.is_empty() || v.contains(char::is_whitespace) {
            return Err(HeaderError::Invalid {
                header: "Call-ID",
                expected: "a word without spaces".into(),
                found: v.to_string(),
            });
        }
        Ok(v)
    }

    /// The CSeq header.
    pub fn cseq(&self) -> Result<CSeq, HeaderError> {
        CSeq::parse(self.required("CSeq")?)
    }

    /// All Via entries, topmost first.
    pub fn vias(&self) -> Result<Vec<Via>, HeaderError> {
        let all = self.get_all("Via");
        if all.is_empty() {
            return Err(HeaderError::Missing("Via"));
        }
        all.into_iter().map(Via::parse).collect()
    }

    /// The topmost Via.
    pub fn top_via(&self) -> Result<Via, HeaderError> {
        let first = self
            .get_all("Via")
            .into_iter()
            .next()
            .ok_or(HeaderError::Missing("Via"))?;
        Via::parse(first)
    }

    /// The From header.
    pub fn from(&self) -> Result<NameAddr, HeaderError> {
        NameAddr::parse(self.required("From")?).map_err(|e| e.for_header("From"))
    }

    /// The To header.
    pub fn to(&self) -> Result<NameAddr, HeaderError> {
        NameAddr::parse(self.required("To")?).map_err(|e| e.for_header("To"))
    }

    /// The Contact entries; `Ok(None)` for `Contact: *`.
    pub fn contacts(&self) -> Result<Option<Vec<NameAddr>>, HeaderError> {
        let all = self.get_all("Contact");
        if all.len() == 1 && all[0].trim() == "*" {
            return Ok(None);
        }
        all.into_iter()
            .map(|c| NameAddr::parse(c).map_err(|e| e.for_header("Contact")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// Route or Record-Route entries in order.
    pub fn routes(&self, name: &str) -> Result<Vec<NameAddr>, HeaderError> {
        self.get_all(name)
            .into_iter()
            .map(|c| NameAddr::parse(c).map_err(|e| e.for_header("Route")))
            .collect()
    }

    /// A header holding a non-negative integer (Expires, Max-Forwards, Content-Length, Min-Expires).
    pub fn number(&self, name: &'static str) -> Result<Option<u32>, HeaderError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<u32>()
                .map(Some)
                .map_err(|_| HeaderError::Invalid {
                    header: name,
                    expected: "a non-negative integer".into(),
                    found: v.to_string(),
                }),
        }
    }
}

impl fmt::Display for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for h in &self.0 {
            write!(f, "{}: {}\r\n", h.name, h.value)?;
        }
        Ok(())
    }
}

/// The CSeq header: sequence number and method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    /// The sequence number (< 2^31 per RFC 3261 §8.1.1.5).
    pub seq: u32,
    /// The method.
    pub method: Method,
}

impl CSeq {
    /// Parses `123 INVITE`.
    pub fn parse(v: &str) -> Result<CSeq, HeaderError> {
        let invalid = || HeaderError::Invalid {
            header: "CSeq",
            expected: "a number below 2^31 and a method, like `1 INVITE`".into(),
            found: v.to_string(),
        };
        let mut it = v.split_whitespace();
        let seq = it
            .next()
            .and_then(|s| s.parse::<u32>().ok())
            .ok_or_else(invalid)?;
        if seq >= 1 << 31 {
            return Err(invalid());
        }
        let method = it
            .next()
            .ok_or_else(invalid)?
            .parse::<Method>()
            .map_err(|_| invalid())?;
        if it.next().is_some() {
            return Err(invalid());
        }
        Ok(CSeq { seq, method })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_forms_and_lists() {
        let mut h = Headers::new();
        h.push(
            "v",
            "SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/TCP b;branch=z9hG4bK2",
        );
        h.push("VIA", "SIP/2.0/UDP c;branch=z9hG4bK3");
        h.push("i", "abc@x");
        assert_eq!(h.get("Call-Id"), Some("abc@x"));
        let vias = h.vias().unwrap();
        assert_eq!(vias.len(), 3);
        assert_eq!(vias[1].branch(), Some("z9hG4bK2"));
        h.set("via", "SIP/2.0/UDP only");
        assert_eq!(h.get_all("Via"), vec!["SIP/2.0/UDP only"]);
    }

    #[test]
    fn cseq_rules() {
        assert_eq!(CSeq::parse("4711 INVITE").unwrap().seq, 4711);
        assert!(CSeq::parse("-1 INVITE").is_err());
        assert!(CSeq::parse("2147483648 INVITE").is_err());
        assert!(CSeq::parse("1").is_err());
    }
}
