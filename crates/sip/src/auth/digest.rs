//! The digest computation of RFC 7616 §3.4.1 (and RFC 2617 §3.2.2): the
//! hash algorithms, HA1 with and without `-sess`, HA2 for `qop=auth`, and
//! the final `response` value. Everything here is a pure function over
//! strings; the server and the client both build on it.

use md5::{Digest, Md5};
use sha2::Sha256;
use std::fmt;

/// A digest algorithm as named in the `algorithm` parameter (RFC 7616 §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5` (also the meaning of an absent `algorithm` parameter).
    Md5,
    /// `MD5-sess`: HA1 is re-hashed with the nonce and cnonce.
    Md5Sess,
    /// `SHA-256` (RFC 7616, RFC 8760 for SIP).
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl Algorithm {
    /// Parses an algorithm token, ignoring ASCII case. Returns `None` for
    /// algorithms this crate does not implement (such as `SHA-512-256`).
    pub fn parse(token: &str) -> Option<Algorithm> {
        const ALL: [Algorithm; 4] = [
            Algorithm::Md5,
            Algorithm::Md5Sess,
            Algorithm::Sha256,
            Algorithm::Sha256Sess,
        ];
        ALL.into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(token.trim()))
    }

    /// The token as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    /// Whether this is a `-sess` variant.
    pub fn is_sess(self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess)
    }

    /// Whether the underlying hash is SHA-256 (otherwise MD5).
    pub fn is_sha256(self) -> bool {
        matches!(self, Algorithm::Sha256 | Algorithm::Sha256Sess)
    }

    /// Hashes `data` and returns the lower-case hex digest.
    pub fn hash_hex(self, data: &[u8]) -> String {
        if self.is_sha256() {
            hex(&Sha256::digest(data))
        } else {
            hex(&Md5::digest(data))
        }
    }

    /// The length in hex characters of this algorithm's digests.
    pub fn hex_len(self) -> usize {
        if self.is_sha256() { 64 } else { 32 }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lower-case hex of a byte slice.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// `H(username:realm:password)`, the value a server may store instead of the
/// password (the base HA1; the `-sess` step is applied per request).
pub fn ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hash_hex(format!("{username}:{realm}:{password}").as_bytes())
}

/// The per-request parts that enter the response computation.
#[derive(Debug, Clone, Copy)]
pub struct DigestInput<'a> {
    /// The request method (`REGISTER`, `INVITE`, …).
    pub method: &'a str,
    /// The `uri` parameter (the digest-uri), exactly as sent.
    pub uri: &'a str,
    /// The server nonce.
    pub nonce: &'a str,
    /// The client nonce; required with `qop` and with `-sess`.
    pub cnonce: Option<&'a str>,
    /// The nonce count exactly as written (8 hex digits); required with `qop`.
    pub nc: Option<&'a str>,
    /// The quality of protection; only `auth` is supported. `None` selects
    /// the RFC 2069 compatibility computation.
    pub qop: Option<&'a str>,
}

/// The `response` value for a base HA1 (`H(user:realm:password)`).
///
/// For `-sess` algorithms HA1 becomes `H(HA1:nonce:cnonce)` first
/// (RFC 7616 §3.4.2). With `qop=auth` the result is
/// `H(HA1:nonce:nc:cnonce:qop:HA2)`, otherwise `H(HA1:nonce:HA2)`, where
/// `HA2 = H(method:uri)`.
pub fn response(algorithm: Algorithm, base_ha1: &str, input: &DigestInput<'_>) -> String {
    let cnonce = input.cnonce.unwrap_or("");
    let ha1 = if algorithm.is_sess() {
        algorithm.hash_hex(format!("{base_ha1}:{}:{cnonce}", input.nonce).as_bytes())
    } else {
        base_ha1.to_string()
    };
    let ha2 = algorithm.hash_hex(format!("{}:{}", input.method, input.uri).as_bytes());
    let text = match input.qop {
        Some(qop) => format!(
            "{ha1}:{}:{}:{cnonce}:{qop}:{ha2}",
            input.nonce,
            input.nc.unwrap_or("")
        ),
        None => format!("{ha1}:{}:{ha2}", input.nonce),
    };
    algorithm.hash_hex(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_tokens_round_trip_ignoring_case() {
        for a in [
            Algorithm::Md5,
            Algorithm::Md5Sess,
            Algorithm::Sha256,
            Algorithm::Sha256Sess,
        ] {
            assert_eq!(Algorithm::parse(a.as_str()), Some(a));
            assert_eq!(Algorithm::parse(&a.as_str().to_lowercase()), Some(a));
        }
        assert_eq!(Algorithm::parse("SHA256"), None);
        assert_eq!(Algorithm::parse("SHA-512-256"), None);
    }

    #[test]
    fn hex_and_lengths() {
        assert_eq!(hex(&[0x00, 0xab, 0x0f]), "00ab0f");
        assert_eq!(Algorithm::Md5.hash_hex(b"").len(), Algorithm::Md5.hex_len());
        assert_eq!(Algorithm::Sha256.hash_hex(b"").len(), 64);
        assert_eq!(
            Algorithm::Md5.hash_hex(b""),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
    }
}
