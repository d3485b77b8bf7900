//! Checking a client's digest credentials (RFC 2617 / RFC 7616, MD5) the way a registrar would.
//!
//! sipp's own `verifyauth` only reads `Authorization`, so the harness checks `Proxy-Authorization`
//! answers with this instead.

use crate::error::{Error, Result};
use md5::{Digest, Md5};

/// Verifies a `Digest ...` credentials value for `method` against `password`.
///
/// Supports `algorithm=MD5` (or absent) with `qop=auth` or without qop. The `uri` parameter is used
/// as sent; callers check separately that it equals the Request-URI.
pub fn verify_md5_credentials(credentials: &str, method: &str, password: &str) -> Result<()> {
    let params = parse_params(credentials)?;
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| Error::new(format!("digest credentials lack `{name}`: {credentials}")))
    };
    if let Ok(algorithm) = get("algorithm")
        && !algorithm.eq_ignore_ascii_case("MD5")
    {
        return Err(Error::new(format!(
            "expected algorithm MD5, got {algorithm}"
        )));
    }
    let ha1 = md5_hex(&format!(
        "{}:{}:{password}",
        get("username")?,
        get("realm")?
    ));
    let ha2 = md5_hex(&format!("{method}:{}", get("uri")?));
    let expected = match params.iter().find(|(k, _)| k.eq_ignore_ascii_case("qop")) {
        Some((_, qop)) => md5_hex(&format!(
            "{ha1}:{}:{}:{}:{qop}:{ha2}",
            get("nonce")?,
            get("nc")?,
            get("cnonce")?
        )),
        None => md5_hex(&format!("{ha1}:{}:{ha2}", get("nonce")?)),
    };
    let response = get("response")?;
    if response.eq_ignore_ascii_case(&expected) {
        Ok(())
    } else {
        Err(Error::new(format!(
            "expected digest response {expected}, got {response} in {credentials}"
        )))
    }
}

/// Returns the value of a named parameter of digest credentials, unquoted.
pub fn credential_param(credentials: &str, name: &str) -> Option<String> {
    parse_params(credentials)
        .ok()?
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn md5_hex(text: &str) -> String {
    Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn parse_params(credentials: &str) -> Result<Vec<(String, String)>> {
    let rest = credentials
        .trim()
        .strip_prefix("Digest")
        .ok_or_else(|| Error::new(format!("expected `Digest` credentials, got {credentials}")))?;
    let mut params = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let name: String = chars
            .by_ref()
            .take_while(|c| *c != '=')
            .collect::<String>()
            .trim()
            .to_owned();
        if name.is_empty() {
            return Ok(params);
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    other => value.push(other),
                }
            }
        } else {
            while let Some(c) = chars.peek().copied() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        params.push((name, value.trim().to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_rfc_2617_style_md5_with_qop() {
        // Computed independently (python hashlib) for this exact header.
        let header = "Digest username=\"201\",realm=\"switchboard\",cnonce=\"6b8b4567\",nc=00000001,qop=auth,\
                      uri=\"sip:202@127.0.0.1:27605\",nonce=\"2868p1\",response=\"be27d8c0292aec06c360423c5b7dd5b3\",algorithm=MD5";
        verify_md5_credentials(header, "INVITE", "secret201").unwrap();
        assert!(verify_md5_credentials(header, "INVITE", "secret202").is_err());
        assert!(verify_md5_credentials(header, "REGISTER", "secret201").is_err());
        assert_eq!(
            credential_param(header, "uri").as_deref(),
            Some("sip:202@127.0.0.1:27605")
        );
    }
}
