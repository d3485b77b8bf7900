//! Stateless server nonces: `hex(timestamp ‖ serial ‖ HMAC-SHA256(secret, realm ‖ timestamp ‖ serial)[..16])`.
//!
//! The server needs no table to recognise its own nonces: the MAC proves a
//! nonce was minted here, and the embedded timestamp says when. The serial
//! makes every nonce unique (two challenges in the same millisecond must not
//! share nonce-count state). Timestamps are milliseconds since the
//! authenticator's origin `Instant`, so a nonce does not survive a restart
//! (the server passes a fresh secret per process anyway).

use super::digest::hex;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of MAC kept in a nonce (128 bits).
const MAC_LEN: usize = 16;
/// Total decoded length: timestamp (8) + serial (8) + MAC.
const RAW_LEN: usize = 16 + MAC_LEN;

/// What a valid nonce says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NonceInfo {
    /// Milliseconds since the origin when it was minted.
    pub issued_ms: u64,
    /// Its unique serial number (increasing with `issued_ms`).
    pub serial: u64,
}

/// Mints and checks nonces with one secret.
#[derive(Clone)]
pub(crate) struct NonceMinter {
    key: Vec<u8>,
    realm: String,
}

impl NonceMinter {
    pub(crate) fn new(secret: &[u8], realm: &str) -> Self {
        NonceMinter {
            key: secret.to_vec(),
            realm: realm.to_string(),
        }
    }

    fn mac(&self, label: &[u8], body: &[u8]) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(label);
        mac.update(self.realm.as_bytes());
        mac.update(&[0]);
        mac.update(body);
        mac
    }

    /// A new nonce for `info`.
    pub(crate) fn mint(&self, info: NonceInfo) -> String {
        let mut body = [0u8; 16];
        body[..8].copy_from_slice(&info.issued_ms.to_be_bytes());
        body[8..].copy_from_slice(&info.serial.to_be_bytes());
        let tag = self.mac(b"nonce", &body).finalize().into_bytes();
        let mut raw = Vec::with_capacity(RAW_LEN);
        raw.extend_from_slice(&body);
        raw.extend_from_slice(&tag[..MAC_LEN]);
        hex(&raw)
    }

    /// Checks a nonce's MAC (in constant time) and decodes it; `None` if it
    /// was not minted with this secret and realm.
    pub(crate) fn open(&self, nonce: &str) -> Option<NonceInfo> {
        let raw = unhex(nonce)?;
        if raw.len() != RAW_LEN {
            return None;
        }
        let (body, tag) = raw.split_at(16);
        self.mac(b"nonce", body).verify_truncated_left(tag).ok()?;
        let issued_ms = u64::from_be_bytes(body[..8].try_into().ok()?);
        let serial = u64::from_be_bytes(body[8..].try_into().ok()?);
        Some(NonceInfo { issued_ms, serial })
    }

    /// The opaque value of this realm: fixed per secret, so it needs no state either.
    pub(crate) fn opaque(&self) -> String {
        let tag = self.mac(b"opaque", b"").finalize().into_bytes();
        hex(&tag[..MAC_LEN])
    }

    /// A value nobody can know: the stand-in password for unknown users.
    pub(crate) fn dummy_password(&self) -> String {
        let tag = self.mac(b"dummy", b"").finalize().into_bytes();
        hex(&tag)
    }
}

/// Decodes lower- or upper-case hex; `None` on odd length or a non-hex digit.
fn unhex(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks(2)
        .map(|pair| {
            let hi = char::from(pair[0]).to_digit(16)?;
            let lo = char::from(pair[1]).to_digit(16)?;
            u8::try_from(hi * 16 + lo).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mint_open_and_tamper() {
        let m = NonceMinter::new(b"k", "pbx");
        let info = NonceInfo {
            issued_ms: 123_456,
            serial: 7,
        };
        let n = m.mint(info);
        assert_eq!(n.len(), RAW_LEN * 2);
        assert_eq!(m.open(&n), Some(info));
        assert_eq!(m.open(&n.to_uppercase()), Some(info));
        // Flip one hex digit anywhere: the MAC no longer matches.
        for i in 0..n.len() {
            let mut t: Vec<char> = n.chars().collect();
            t[i] = if t[i] == '0' { '1' } else { '0' };
            let t: String = t.into_iter().collect();
            assert_eq!(m.open(&t), None, "tampered at {i}");
        }
        assert_eq!(NonceMinter::new(b"other", "pbx").open(&n), None);
        assert_eq!(NonceMinter::new(b"k", "other").open(&n), None);
        assert_eq!(m.open("xyz"), None);
        assert_eq!(m.open(""), None);
        assert_eq!(m.open("é"), None);
    }
}
