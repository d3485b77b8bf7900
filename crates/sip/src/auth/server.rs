//! The server side of digest authentication: challenges with stateless
//! nonces, verification in constant time, and nonce-count replay rejection.
//!
//! Verification order (each step fails with its own [`AuthFailure`]):
//! 1. parse the header, check realm, algorithm, `qop=auth`, opaque and the
//!    digest-uri against the Request-URI;
//! 2. check the nonce's MAC (a nonce this server never minted fails here);
//! 3. compute the expected response, for unknown users from a secret stand-in
//!    password, and compare in constant time (unknown users and wrong
//!    passwords take the same path and give the same failure);
//! 4. only for a correct response: an expired nonce gives [`AuthFailure::Stale`];
//! 5. the nonce count must be higher than any seen before for that nonce.

use super::digest::{self, Algorithm, DigestInput};
use super::header::{Challenge, DigestResponse, MalformedHeader};
use super::nonce::{NonceInfo, NonceMinter};
use crate::message::{Request, Uri};
use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};
use subtle::{Choice, ConstantTimeEq};

/// How an [`Authenticator`] behaves. Build with [`AuthConfig::new`] and adjust fields.
#[derive(Clone)]
pub struct AuthConfig {
    /// The realm (protection space) named in challenges.
    pub realm: String,
    /// The HMAC key for nonces and the opaque. Pass fresh random bytes (at
    /// least 32) at every process start: nonce timestamps and serials count
    /// from this authenticator's creation, so a secret reused across a
    /// restart would let a request captured before the restart be replayed
    /// once after it. With a fresh secret, old nonces are simply unknown and
    /// clients are challenged again.
    pub secret: Vec<u8>,
    /// How long a nonce stays usable.
    pub nonce_ttl: Duration,
    /// The algorithms offered, one challenge header each, in order of preference.
    pub algorithms: Vec<Algorithm>,
    /// The most nonces whose nonce-count is remembered at once.
    pub max_tracked_nonces: usize,
}

impl AuthConfig {
    /// Defaults: a 300 s nonce lifetime, SHA-256 then MD5, 65 536 tracked nonces.
    pub fn new(realm: impl Into<String>, secret: impl Into<Vec<u8>>) -> Self {
        AuthConfig {
            realm: realm.into(),
            secret: secret.into(),
            nonce_ttl: Duration::from_secs(300),
            algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
            max_tracked_nonces: 65_536,
        }
    }
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("realm", &self.realm)
            .field("secret", &"<hidden>")
            .field("nonce_ttl", &self.nonce_ttl)
            .field("algorithms", &self.algorithms)
            .field("max_tracked_nonces", &self.max_tracked_nonces)
            .finish()
    }
}

/// What the server knows about a user's password.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// The password itself.
    Plain(String),
    /// Stored `H(username:realm:password)` values in hex, per hash. A user
    /// can authenticate only with the algorithms whose HA1 is present.
    Ha1 {
        /// The MD5 HA1 (used for MD5 and MD5-sess).
        md5: Option<String>,
        /// The SHA-256 HA1 (used for SHA-256 and SHA-256-sess).
        sha256: Option<String>,
    },
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Plain(_) => f.write_str("Credential::Plain(<hidden>)"),
            Credential::Ha1 { md5, sha256 } => write!(
                f,
                "Credential::Ha1 {{ md5: {}, sha256: {} }}",
                md5.is_some(),
                sha256.is_some()
            ),
        }
    }
}

/// Proof that a request carried a correct digest response. Only
/// [`Authenticator::verify`] can make one, so code that demands it (the
/// registrar, call setup) cannot be reached without authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    username: String,
    realm: String,
    algorithm: Algorithm,
}

impl Authenticated {
    /// The authenticated user name.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The realm it was authenticated in.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The algorithm the client used.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

/// Which header carries credentials, and so which status and challenge
/// header answer a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialsHeader {
    /// `Authorization`, answered by 401 with `WWW-Authenticate` (registrars, UAS).
    Authorization,
    /// `Proxy-Authorization`, answered by 407 with `Proxy-Authenticate` (call setup).
    ProxyAuthorization,
}

impl CredentialsHeader {
    /// The header name carrying the credentials.
    pub fn name(self) -> &'static str {
        match self {
            CredentialsHeader::Authorization => "Authorization",
            CredentialsHeader::ProxyAuthorization => "Proxy-Authorization",
        }
    }

    /// The header name for the challenge values.
    pub fn challenge_name(self) -> &'static str {
        match self {
            CredentialsHeader::Authorization => "WWW-Authenticate",
            CredentialsHeader::ProxyAuthorization => "Proxy-Authenticate",
        }
    }

    /// The status code of a challenge: 401 or 407.
    pub fn challenge_status(self) -> u16 {
        match self {
            CredentialsHeader::Authorization => 401,
            CredentialsHeader::ProxyAuthorization => 407,
        }
    }
}

/// Why a request was not authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    /// The request carried no credentials at all (the normal first attempt).
    NoCredentials,
    /// The header could not be parsed or asks for something not offered.
    Malformed(MalformedHeader),
    /// The response was for another realm.
    WrongRealm {
        /// Our realm.
        expected: String,
        /// The realm in the header.
        found: String,
    },
    /// The digest-uri differs from the Request-URI.
    UriMismatch {
        /// The Request-URI.
        expected: String,
        /// The `uri` parameter.
        found: String,
    },
    /// The nonce (or opaque) was not issued by this server: tampered, or from before a restart.
    UnknownNonce,
    /// The response was correct but its nonce has expired: challenge again with `stale=true`.
    Stale,
    /// The user is unknown or the password is wrong (deliberately indistinguishable).
    WrongCredentials {
        /// The user name the client claimed.
        username: String,
    },
    /// The nonce count did not increase: a replayed or reordered request.
    Replay {
        /// The nonce count received.
        nc: u32,
        /// The highest nonce count seen before for this nonce.
        last: u32,
    },
}

impl AuthFailure {
    /// Whether the new challenge should say `stale=true`.
    pub fn is_stale(&self) -> bool {
        matches!(self, AuthFailure::Stale)
    }

    /// Whether this failure should count against the source in an
    /// [`AuthGuard`](super::AuthGuard): wrong credentials and replays do; a
    /// missing credentials or a stale or unknown nonce is what an honest
    /// client meets first, after a pause or after a server restart, so they do not.
    pub fn counts_against_source(&self) -> bool {
        !matches!(
            self,
            AuthFailure::NoCredentials | AuthFailure::Stale | AuthFailure::UnknownNonce
        )
    }
}

impl fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthFailure::NoCredentials => f.write_str("no credentials in the request"),
            AuthFailure::Malformed(m) => m.fmt(f),
            AuthFailure::WrongRealm { expected, found } => {
                write!(f, "wrong realm: expected `{expected}`, found `{found}`")
            }
            AuthFailure::UriMismatch { expected, found } => write!(
                f,
                "digest uri does not match the Request-URI: expected `{expected}`, found `{found}`"
            ),
            AuthFailure::UnknownNonce => f.write_str("nonce was not issued by this server"),
            AuthFailure::Stale => f.write_str("nonce has expired (stale)"),
            AuthFailure::WrongCredentials { username } => {
                write!(f, "wrong credentials for user `{username}`")
            }
            AuthFailure::Replay { nc, last } => write!(
                f,
                "replayed nonce count: expected above {last:08x}, found {nc:08x}"
            ),
        }
    }
}

impl std::error::Error for AuthFailure {}

impl From<MalformedHeader> for AuthFailure {
    fn from(m: MalformedHeader) -> Self {
        AuthFailure::Malformed(m)
    }
}

/// Per-nonce state kept while the nonce is alive.
#[derive(Debug, Clone, Copy)]
struct NonceUse {
    issued_ms: u64,
    last_nc: u32,
}

/// Digest authentication for one realm: issues challenges and verifies responses.
///
/// ```
/// use sip::auth::{AuthConfig, Authenticator, Credential, respond_to_challenge};
/// use std::time::Instant;
/// let now = Instant::now(); // in the server; tests use any Instant
/// let mut auth = Authenticator::new(AuthConfig::new("pbx", b"secret".to_vec()), now);
/// let challenges = auth.challenge(now, false);
/// let answer = respond_to_challenge(&challenges[0], "REGISTER", "sip:pbx", "201",
///     "secret201", "c1", 1).unwrap();
/// let who = auth
///     .verify(now, "REGISTER", "sip:pbx", &answer, |user| {
///         (user == "201").then(|| Credential::Plain("secret201".into()))
///     })
///     .unwrap();
/// assert_eq!(who.username(), "201");
/// ```
pub struct Authenticator {
    config: AuthConfig,
    origin: Instant,
    minter: NonceMinter,
    opaque: String,
    dummy_password: String,
    next_serial: u64,
    /// Nonce serial → use state; serial order is issue order, so the first
    /// entries are the oldest.
    used: BTreeMap<u64, NonceUse>,
    /// Nonces with a serial at or below this had their state evicted for
    /// lack of room; they are treated as stale.
    evicted_upto: Option<u64>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("config", &self.config)
            .field("tracked_nonces", &self.used.len())
            .finish()
    }
}

impl Authenticator {
    /// An authenticator whose nonce clock starts at `now`.
    pub fn new(config: AuthConfig, now: Instant) -> Self {
        let minter = NonceMinter::new(&config.secret, &config.realm);
        Authenticator {
            opaque: minter.opaque(),
            dummy_password: minter.dummy_password(),
            minter,
            config,
            origin: now,
            next_serial: 0,
            used: BTreeMap::new(),
            evicted_upto: None,
        }
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.config.realm
    }

    fn ms(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.origin).as_millis()).unwrap_or(u64::MAX)
    }

    fn ttl_ms(&self) -> u64 {
        u64::try_from(self.config.nonce_ttl.as_millis()).unwrap_or(u64::MAX)
    }

    /// Challenge header values (for `WWW-Authenticate` or `Proxy-Authenticate`),
    /// one per configured algorithm in order of preference (SHA-256 first by
    /// default), all with `qop="auth"`, the realm, one fresh nonce and the opaque.
    /// `stale` marks a re-challenge after [`AuthFailure::Stale`].
    pub fn challenge(&mut self, now: Instant, stale: bool) -> Vec<String> {
        let nonce = self.minter.mint(NonceInfo {
            issued_ms: self.ms(now),
            serial: self.next_serial,
        });
        self.next_serial += 1;
        self.config
            .algorithms
            .iter()
            .map(|&algorithm| {
                Challenge {
                    realm: self.config.realm.clone(),
                    nonce: nonce.clone(),
                    opaque: Some(self.opaque.clone()),
                    algorithm,
                    qop: vec!["auth".to_string()],
                    stale,
                }
                .to_string()
            })
            .collect()
    }

    /// Verifies one `Authorization` / `Proxy-Authorization` header value of a
    /// request with `method` and `request_uri` (as written on the request line).
    ///
    /// `lookup` maps a user name to its credential. It is called exactly once
    /// for every request that reaches the credential check (a well-formed
    /// header for this realm, uri and a nonce of ours), whether the user
    /// exists or not, so neither its cost nor the path taken reveals which
    /// users exist.
    pub fn verify(
        &mut self,
        now: Instant,
        method: &str,
        request_uri: &str,
        header_value: &str,
        lookup: impl Fn(&str) -> Option<Credential>,
    ) -> Result<Authenticated, AuthFailure> {
        let resp = DigestResponse::parse(header_value)?;
        self.check_shape(&resp, request_uri)?;
        let nonce = self
            .minter
            .open(&resp.nonce)
            .ok_or(AuthFailure::UnknownNonce)?;

        let credential = lookup(&resp.username);
        let (base_ha1, known) = self.base_ha1(credential.as_ref(), &resp);
        let expected = digest::response(
            resp.algorithm,
            &base_ha1,
            &DigestInput {
                method,
                uri: &resp.uri,
                nonce: &resp.nonce,
                cnonce: resp.cnonce.as_deref(),
                nc: resp.nc.as_deref(),
                qop: resp.qop.as_deref(),
            },
        );
        let given = resp.response.to_ascii_lowercase();
        let correct = expected.as_bytes().ct_eq(given.as_bytes()) & known;
        if !bool::from(correct) {
            return Err(AuthFailure::WrongCredentials {
                username: resp.username,
            });
        }

        let now_ms = self.ms(now);
        if nonce.issued_ms.saturating_add(self.ttl_ms()) <= now_ms || nonce.issued_ms > now_ms {
            return Err(AuthFailure::Stale);
        }
        let nc = resp.nc_value().unwrap_or(0);
        self.record_nonce_count(now_ms, nonce, nc)?;
        Ok(Authenticated {
            username: resp.username,
            realm: resp.realm,
            algorithm: resp.algorithm,
        })
    }

    /// Verifies the credentials a request carries in `header`
    /// (`Authorization` for a registrar, `Proxy-Authorization` for call
    /// setup), using its method and Request-URI. When several values are
    /// present, the one for this realm is used. A request without any gives
    /// [`AuthFailure::NoCredentials`].
    pub fn verify_request(
        &mut self,
        now: Instant,
        req: &Request,
        header: CredentialsHeader,
        lookup: impl Fn(&str) -> Option<Credential>,
    ) -> Result<Authenticated, AuthFailure> {
        let values: Vec<&str> = req.headers.get_all_lines(header.name()).collect();
        let ours = values
            .iter()
            .copied()
            .find(|v| DigestResponse::parse(v).is_ok_and(|r| r.realm == self.config.realm));
        let value = ours
            .or_else(|| values.first().copied())
            .ok_or(AuthFailure::NoCredentials)?;
        let uri = req.uri.to_string();
        self.verify(now, req.method.as_str(), &uri, value, lookup)
    }

    /// Checks everything that needs no secret: realm, algorithm, qop, opaque, uri.
    fn check_shape(&self, resp: &DigestResponse, request_uri: &str) -> Result<(), AuthFailure> {
        if resp.realm != self.config.realm {
            return Err(AuthFailure::WrongRealm {
                expected: self.config.realm.clone(),
                found: resp.realm.clone(),
            });
        }
        if !self.config.algorithms.contains(&resp.algorithm) {
            let offered: Vec<&str> = self.config.algorithms.iter().map(|a| a.as_str()).collect();
            return Err(MalformedHeader::new(
                format!("algorithm {}", offered.join(" or ")),
                resp.algorithm.as_str(),
            )
            .into());
        }
        match resp.qop.as_deref() {
            Some(q) if q.eq_ignore_ascii_case("auth") => {}
            other => {
                return Err(MalformedHeader::new("qop=auth", other.unwrap_or("no qop")).into());
            }
        }
        if let Some(o) = &resp.opaque
            && o != &self.opaque
        {
            // The opaque is bound to the secret like the nonce: another value
            // means a challenge from elsewhere (or from before a restart).
            return Err(AuthFailure::UnknownNonce);
        }
        if !same_uri(&resp.uri, request_uri) {
            return Err(AuthFailure::UriMismatch {
                expected: request_uri.to_string(),
                found: resp.uri.clone(),
            });
        }
        Ok(())
    }

    /// The base HA1 to compute with and whether it belongs to a real user.
    ///
    /// Every path hashes `user:realm:password` exactly once: with the plain
    /// password when there is one, otherwise with a secret stand-in password
    /// (whose result is used for unknown users and for users without an HA1
    /// for this hash, and discarded for users with one). So the work done does
    /// not depend on whether, or how, the user is configured.
    fn base_ha1(&self, credential: Option<&Credential>, resp: &DigestResponse) -> (String, Choice) {
        let alg = resp.algorithm;
        let password = match credential {
            Some(Credential::Plain(pw)) => pw.as_str(),
            _ => self.dummy_password.as_str(),
        };
        let hashed = digest::ha1(alg, &resp.username, &resp.realm, password);
        let stored = match credential {
            Some(Credential::Plain(_)) => Some(hashed.clone()),
            Some(Credential::Ha1 { md5, sha256 }) => {
                let h = if alg.is_sha256() { sha256 } else { md5 };
                h.as_deref()
                    .map(str::to_ascii_lowercase)
                    .filter(|h| h.len() == alg.hex_len())
            }
            None => None,
        };
        match stored {
            Some(h) => (h, Choice::from(1)),
            None => (hashed, Choice::from(0)),
        }
    }

    /// Enforces an increasing nonce count per nonce, with bounded memory.
    fn record_nonce_count(
        &mut self,
        now_ms: u64,
        nonce: NonceInfo,
        nc: u32,
    ) -> Result<(), AuthFailure> {
        let ttl = self.ttl_ms();
        // Forget expired nonces: serial order is issue order.
        while let Some((&serial, u)) = self.used.first_key_value() {
            if u.issued_ms.saturating_add(ttl) > now_ms {
                break;
            }
            self.used.remove(&serial);
        }
        if let Some(u) = self.used.get_mut(&nonce.serial) {
            if nc <= u.last_nc {
                return Err(AuthFailure::Replay {
                    nc,
                    last: u.last_nc,
                });
            }
            u.last_nc = nc;
            return Ok(());
        }
        if self.evicted_upto.is_some_and(|e| nonce.serial <= e) {
            return Err(AuthFailure::Stale);
        }
        if nc == 0 {
            return Err(AuthFailure::Replay { nc, last: 0 });
        }
        while self.used.len() >= self.config.max_tracked_nonces.max(1) {
            if let Some((serial, _)) = self.used.pop_first() {
                self.evicted_upto = Some(self.evicted_upto.map_or(serial, |e| e.max(serial)));
            }
        }
        self.used.insert(
            nonce.serial,
            NonceUse {
                issued_ms: nonce.issued_ms,
                last_nc: nc,
            },
        );
        Ok(())
    }

    /// How many nonces currently have remembered nonce counts.
    pub fn tracked_nonces(&self) -> usize {
        self.used.len()
    }
}

/// Whether the digest-uri names the Request-URI: the same text, or the same
/// parsed URI (so whitespace and scheme case do not matter).
/// Whether the digest `uri` names the request's target. Equal URIs match; so
/// does a digest URI without a user part that names the same host and port,
/// the form several clients (sipp among them) compute for INVITE challenges.
/// The user part adds nothing against replay: the nonce count already
/// refuses a reused response.
fn same_uri(digest_uri: &str, request_uri: &str) -> bool {
    if digest_uri.trim() == request_uri.trim() {
        return true;
    }
    match (Uri::parse(digest_uri), Uri::parse(request_uri)) {
        (Ok(a), Ok(b)) => {
            a == b
                || (a.user.is_none()
                    && a.is_sip()
                    && a.scheme == b.scheme
                    && a.host == b.host
                    && a.port == b.port)
        }
        _ => false,
    }
}
