//! Contact URI comparison per RFC 3261 §19.1.4, so that a refresh written
//! with different case or parameter order updates the same binding.

use crate::message::{Host, Params, Scheme, Uri, percent_decode};

/// Parses stored contact text; text that no longer parses compares as an opaque URI.
pub(super) fn parse_or_text(text: &str) -> Uri {
    Uri::parse(text).unwrap_or(Uri {
        scheme: Scheme::Other(String::new()),
        user: Some(text.to_string()),
        password: None,
        host: Host::None,
        port: None,
        params: Params::new(),
        headers: None,
    })
}

/// URI equivalence per RFC 3261 §19.1.4: same scheme; user and password
/// equal (case-sensitive, after %-decoding); host equal ignoring case (a
/// name never equals an address); port equal, with an absent port not equal
/// to an explicit one; a URI parameter present in both must match ignoring
/// case; `transport`, `user`, `ttl`, `method` and `maddr` must be present in
/// both or neither; other parameters present in only one are ignored; URI
/// headers must be equal as text. Non-SIP URIs compare as text.
pub fn uri_equivalent(a: &Uri, b: &Uri) -> bool {
    if a.scheme != b.scheme {
        return false;
    }
    if !a.is_sip() {
        return a.to_string() == b.to_string();
    }
    let decoded = |s: &Option<String>| s.as_deref().map(percent_decode);
    if decoded(&a.user) != decoded(&b.user) || decoded(&a.password) != decoded(&b.password) {
        return false;
    }
    let hosts_equal = match (&a.host, &b.host) {
        (Host::Domain(x), Host::Domain(y)) => x.eq_ignore_ascii_case(y),
        (x, y) => x == y,
    };
    if !hosts_equal || a.port != b.port {
        return false;
    }
    for (name, value) in a.params.iter() {
        match b.params.get(name) {
            Some(other) => {
                let same = match (value, other) {
                    (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
                    (None, None) => true,
                    _ => false,
                };
                if !same {
                    return false;
                }
            }
            None if is_must_match_param(name) => return false,
            None => {}
        }
    }
    if b.params
        .iter()
        .any(|(name, _)| is_must_match_param(name) && !a.params.contains(name))
    {
        return false;
    }
    a.headers == b.headers
}

fn is_must_match_param(name: &str) -> bool {
    ["transport", "user", "ttl", "method", "maddr"]
        .iter()
        .any(|p| p.eq_ignore_ascii_case(name))
}
