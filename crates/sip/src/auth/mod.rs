//! Digest authentication (RFC 7616, RFC 2617, RFC 8760 for SIP), server and
//! client side, plus throttling of failing sources.
//!
//! - [`Authenticator`] issues challenges ([`Authenticator::challenge`]) and
//!   checks `Authorization` / `Proxy-Authorization` values
//!   ([`Authenticator::verify`]). Nonces are stateless (timestamp, serial and
//!   an HMAC-SHA256 tag under a secret the server passes in) and expire after
//!   a configurable lifetime; only the nonce counts of live nonces are kept.
//!   Success yields an [`Authenticated`] proof that nothing else can build.
//! - [`respond_to_challenge`] answers a challenge as a client.
//! - [`AuthGuard`] refuses sources after repeated failures.
//!
//! Nothing here reads a clock or a random generator: `now` is a parameter
//! and the nonce secret comes from the caller.
//!
//! A typical REGISTER handler:
//! 1. `guard.check(ip, now)`; refuse if banned.
//! 2. `auth.verify_request(now, &req, CredentialsHeader::Authorization, lookup)`
//!    (or [`Authenticator::verify`] on one header value):
//!    on `Ok(proof)` call `guard.record_success` and go on with the proof; on
//!    `Err(e)` answer 401 with one `WWW-Authenticate` per value of
//!    `auth.challenge(now, e.is_stale())`, and if
//!    `e.counts_against_source()` call `guard.record_failure` (log the
//!    returned [`Ban`]).

mod client;
mod digest;
mod guard;
mod header;
mod nonce;
mod server;

pub use client::respond_to_challenge;
pub use digest::{Algorithm, DigestInput, ha1, response};
pub use guard::{AuthGuard, Ban, GuardConfig, GuardDecision};
pub use header::{Challenge, DigestResponse, MalformedHeader};
pub use server::{
    AuthConfig, AuthFailure, Authenticated, Authenticator, Credential, CredentialsHeader,
};
