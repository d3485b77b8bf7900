//! The client (UAC) side: answering a challenge. Used by tests and by trunk
//! registration, where Switchboard itself must authenticate upstream.

use super::digest::{self, DigestInput};
use super::header::{Challenge, DigestResponse, MalformedHeader};

/// Builds an `Authorization` / `Proxy-Authorization` header value answering
/// `challenge_header` for a request with `method` and `uri`.
///
/// With `qop` offered, `qop=auth` is used with the given `cnonce` and nonce
/// count `nc` (the caller increments it per request with the same nonce);
/// without `qop`, the RFC 2069 form is produced (no cnonce, no nc). A
/// challenge that offers only `qop=auth-int` cannot be answered.
pub fn respond_to_challenge(
    challenge_header: &str,
    method: &str,
    uri: &str,
    user: &str,
    password: &str,
    cnonce: &str,
    nc: u32,
) -> Result<String, MalformedHeader> {
    let challenge = Challenge::parse(challenge_header)?;
    let (qop, nc_text, cnonce) = if challenge.qop.is_empty() {
        (None, None, None)
    } else if challenge.offers_auth() {
        (Some("auth"), Some(format!("{nc:08x}")), Some(cnonce))
    } else {
        return Err(MalformedHeader::new(
            "qop offering `auth`",
            &challenge.qop.join(","),
        ));
    };
    if challenge.algorithm.is_sess() && cnonce.is_none() {
        return Err(MalformedHeader::new(
            "qop with a -sess algorithm",
            challenge.algorithm.as_str(),
        ));
    }
    let base_ha1 = digest::ha1(challenge.algorithm, user, &challenge.realm, password);
    let response = digest::response(
        challenge.algorithm,
        &base_ha1,
        &DigestInput {
            method,
            uri,
            nonce: &challenge.nonce,
            cnonce,
            nc: nc_text.as_deref(),
            qop,
        },
    );
    Ok(DigestResponse {
        username: user.to_string(),
        realm: challenge.realm,
        nonce: challenge.nonce,
        uri: uri.to_string(),
        response,
        algorithm: challenge.algorithm,
        cnonce: cnonce.map(str::to_string),
        opaque: challenge.opaque,
        qop: qop.map(str::to_string),
        nc: nc_text,
    }
    .to_string())
}
