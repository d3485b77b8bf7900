//! Digest authentication: RFC 7616 test vectors, challenge → response →
//! verify round trips, and every way verification must fail.

use md5::{Digest, Md5};
use sip::auth::{
    Algorithm, AuthConfig, AuthFailure, Authenticator, Challenge, Credential, DigestInput,
    DigestResponse, ha1, respond_to_challenge, response,
};
use std::cell::Cell;
use std::time::{Duration, Instant};

/// An arbitrary origin for the virtual clock; only differences from it matter.
#[allow(
    clippy::disallowed_methods,
    reason = "tests need one arbitrary Instant to count from"
)]
fn origin() -> Instant {
    Instant::now()
}

const RFC_NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
const RFC_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
const RFC_REALM: &str = "http-auth@example.org";
const RFC_OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";

/// RFC 7616 §3.9.1: user Mufasa, password "Circle of Life", GET /dir/index.html.
#[test]
fn rfc7616_vectors() {
    let cases = [
        (Algorithm::Md5, "8ca523f5e9506fed4657c9700eebdbec"),
        (
            Algorithm::Sha256,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
        ),
    ];
    for (alg, expected) in cases {
        let base = ha1(alg, "Mufasa", RFC_REALM, "Circle of Life");
        let got = response(
            alg,
            &base,
            &DigestInput {
                method: "GET",
                uri: "/dir/index.html",
                nonce: RFC_NONCE,
                cnonce: Some(RFC_CNONCE),
                nc: Some("00000001"),
                qop: Some("auth"),
            },
        );
        assert_eq!(got, expected, "{alg}");

        // The same through the client helper, from the RFC's challenge text.
        let challenge = format!(
            "Digest\n realm=\"{RFC_REALM}\",\n qop=\"auth, auth-int\",\n algorithm={alg},\n \
             nonce=\"{RFC_NONCE}\",\n opaque=\"{RFC_OPAQUE}\""
        );
        let header = respond_to_challenge(
            &challenge,
            "GET",
            "/dir/index.html",
            "Mufasa",
            "Circle of Life",
            RFC_CNONCE,
            1,
        )
        .unwrap();
        let parsed = DigestResponse::parse(&header).unwrap();
        assert_eq!(parsed.response, expected);
        assert_eq!(parsed.opaque.as_deref(), Some(RFC_OPAQUE));
        assert_eq!(parsed.nc.as_deref(), Some("00000001"));
        assert_eq!(parsed.qop.as_deref(), Some("auth"));
    }
}

/// The RFC's own Authorization header parses, params in any order and quoting.
#[test]
fn rfc7616_authorization_header_parses() {
    let text = format!(
        "Digest username=\"Mufasa\",\n realm=\"{RFC_REALM}\",\n uri=\"/dir/index.html\",\n \
         algorithm=SHA-256,\n nonce=\"{RFC_NONCE}\",\n nc=00000001,\n cnonce=\"{RFC_CNONCE}\",\n \
         qop=auth,\n response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\",\n \
         opaque=\"{RFC_OPAQUE}\""
    );
    let r = DigestResponse::parse(&text).unwrap();
    assert_eq!(r.username, "Mufasa");
    assert_eq!(r.algorithm, Algorithm::Sha256);
    assert_eq!(r.nc_value(), Some(1));
    let reordered = format!(
        "DIGEST qop=\"auth\",nc=\"00000001\",response={},uri=\"/dir/index.html\",nonce={RFC_NONCE},\
         realm=\"{RFC_REALM}\",cnonce={RFC_CNONCE},username=Mufasa,algorithm=\"sha-256\",opaque={RFC_OPAQUE}",
        r.response
    );
    assert_eq!(DigestResponse::parse(&reordered).unwrap(), r);
}

/// MD5-sess computed from first principles, independently of the crate.
#[test]
fn md5_sess_matches_hand_computation() {
    let h = |s: String| {
        Md5::digest(s.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let a1 = h(format!(
        "{}:{}:{}",
        h("bob:pbx:pw".to_string()),
        "n0nce",
        "cn"
    ));
    let a2 = h("INVITE:sip:202@pbx".to_string());
    let expected = h(format!("{a1}:n0nce:0000000a:cn:auth:{a2}"));
    let got = response(
        Algorithm::Md5Sess,
        &ha1(Algorithm::Md5Sess, "bob", "pbx", "pw"),
        &DigestInput {
            method: "INVITE",
            uri: "sip:202@pbx",
            nonce: "n0nce",
            cnonce: Some("cn"),
            nc: Some("0000000a"),
            qop: Some("auth"),
        },
    );
    assert_eq!(got, expected);
    // And -sess differs from the plain algorithm.
    let plain = response(
        Algorithm::Md5,
        &ha1(Algorithm::Md5, "bob", "pbx", "pw"),
        &DigestInput {
            method: "INVITE",
            uri: "sip:202@pbx",
            nonce: "n0nce",
            cnonce: Some("cn"),
            nc: Some("0000000a"),
            qop: Some("auth"),
        },
    );
    assert_ne!(got, plain);
}

/// SHA-256-sess computed from first principles with sha2 directly.
#[test]
fn sha256_sess_matches_hand_computation() {
    use sha2::Sha256;
    let h = |s: String| {
        Sha256::digest(s.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let a1 = h(format!("{}:n:cn", h("alice:pbx:pw".to_string())));
    let a2 = h("REGISTER:sip:pbx".to_string());
    let expected = h(format!("{a1}:n:00000001:cn:auth:{a2}"));
    let header = respond_to_challenge(
        "Digest realm=\"pbx\", nonce=\"n\", algorithm=SHA-256-sess, qop=\"auth\"",
        "REGISTER",
        "sip:pbx",
        "alice",
        "pw",
        "cn",
        1,
    )
    .unwrap();
    assert_eq!(DigestResponse::parse(&header).unwrap().response, expected);
}

const URI: &str = "sip:pbx.example";

fn config(algorithms: Vec<Algorithm>) -> AuthConfig {
    let mut c = AuthConfig::new("pbx.example", b"test secret".to_vec());
    c.algorithms = algorithms;
    c
}

fn users(user: &str) -> Option<Credential> {
    match user {
        "201" => Some(Credential::Plain("secret201".into())),
        "202" => Some(Credential::Ha1 {
            md5: Some(ha1(Algorithm::Md5, "202", "pbx.example", "secret202")),
            sha256: Some(ha1(Algorithm::Sha256, "202", "pbx.example", "secret202").to_uppercase()),
        }),
        "203" => Some(Credential::Ha1 {
            md5: Some(ha1(Algorithm::Md5, "203", "pbx.example", "secret203")),
            sha256: None,
        }),
        _ => None,
    }
}

fn header_for(challenges: &[String], alg: Algorithm) -> &str {
    challenges
        .iter()
        .find(|c| Challenge::parse(c).unwrap().algorithm == alg)
        .expect("challenge for the algorithm")
}

#[test]
fn challenge_shape() {
    let t0 = origin();
    let mut auth = Authenticator::new(AuthConfig::new("pbx.example", b"k".to_vec()), t0);
    let values = auth.challenge(t0, false);
    assert_eq!(values.len(), 2);
    let a = Challenge::parse(&values[0]).unwrap();
    let b = Challenge::parse(&values[1]).unwrap();
    assert_eq!(a.algorithm, Algorithm::Sha256);
    assert_eq!(b.algorithm, Algorithm::Md5);
    for c in [&a, &b] {
        assert_eq!(c.realm, "pbx.example");
        assert_eq!(c.qop, vec!["auth"]);
        assert!(c.opaque.is_some());
        assert!(!c.stale);
    }
    assert!(values[0].contains("qop=\"auth\""), "{}", values[0]);
    assert!(values[0].contains("algorithm=SHA-256"), "{}", values[0]);
    assert_eq!(a.nonce, b.nonce, "one nonce per challenge");
    let again = auth.challenge(t0, true);
    let c = Challenge::parse(&again[0]).unwrap();
    assert_ne!(c.nonce, a.nonce, "every challenge has a fresh nonce");
    assert!(c.stale);
    assert!(again[0].contains("stale=true"));
}

#[test]
fn round_trips_for_every_algorithm_and_credential_kind() {
    let algs = [
        Algorithm::Sha256,
        Algorithm::Md5,
        Algorithm::Sha256Sess,
        Algorithm::Md5Sess,
    ];
    for alg in algs {
        for (user, pw) in [("201", "secret201"), ("202", "secret202")] {
            let t0 = origin();
            let mut auth = Authenticator::new(config(algs.to_vec()), t0);
            let ch = auth.challenge(t0, false);
            let answer =
                respond_to_challenge(header_for(&ch, alg), "REGISTER", URI, user, pw, "abc", 1)
                    .unwrap();
            let proof = auth
                .verify(t0, "REGISTER", URI, &answer, users)
                .unwrap_or_else(|e| panic!("{alg} {user}: {e}"));
            assert_eq!(proof.username(), user);
            assert_eq!(proof.algorithm(), alg);
            assert_eq!(proof.realm(), "pbx.example");
            // The same nonce again with the next count, another method and cnonce.
            let t1 = t0 + Duration::from_secs(10);
            let next =
                respond_to_challenge(header_for(&ch, alg), "INVITE", URI, user, pw, "xyz", 2)
                    .unwrap();
            auth.verify(t1, "INVITE", URI, &next, users).unwrap();
        }
    }
}

#[test]
fn ha1_credential_without_the_requested_hash_fails() {
    let t0 = origin();
    let mut auth = Authenticator::new(config(vec![Algorithm::Sha256, Algorithm::Md5]), t0);
    let ch = auth.challenge(t0, false);
    let sha = respond_to_challenge(&ch[0], "REGISTER", URI, "203", "secret203", "c", 1).unwrap();
    assert_eq!(
        auth.verify(t0, "REGISTER", URI, &sha, users),
        Err(AuthFailure::WrongCredentials {
            username: "203".into()
        })
    );
    let md5 = respond_to_challenge(&ch[1], "REGISTER", URI, "203", "secret203", "c", 1).unwrap();
    assert!(auth.verify(t0, "REGISTER", URI, &md5, users).is_ok());
}

#[test]
fn stale_nonce_only_for_correct_responses() {
    let t0 = origin();
    let mut cfg = config(vec![Algorithm::Sha256]);
    cfg.nonce_ttl = Duration::from_secs(30);
    let mut auth = Authenticator::new(cfg, t0);
    let ch = auth.challenge(t0, false);
    let good = respond_to_challenge(&ch[0], "REGISTER", URI, "201", "secret201", "c", 1).unwrap();
    let bad = respond_to_challenge(&ch[0], "REGISTER", URI, "201", "wrong", "c", 1).unwrap();
    let late = t0 + Duration::from_secs(30);
    let err = auth
        .verify(late, "REGISTER", URI, &good, users)
        .unwrap_err();
    assert_eq!(err, AuthFailure::Stale);
    assert!(err.is_stale() && !err.counts_against_source());
    assert_eq!(
        auth.verify(late, "REGISTER", URI, &bad, users),
        Err(AuthFailure::WrongCredentials {
            username: "201".into()
        })
    );
    // Just inside the lifetime it is accepted.
    let mut auth = Authenticator::new(
        {
            let mut c = config(vec![Algorithm::Sha256]);
            c.nonce_ttl = Duration::from_secs(30);
            c
        },
        t0,
    );
    let ch = auth.challenge(t0, false);
    let good = respond_to_challenge(&ch[0], "REGISTER", URI, "201", "secret201", "c", 1).unwrap();
    let almost = t0 + Duration::from_millis(29_999);
    assert!(auth.verify(almost, "REGISTER", URI, &good, users).is_ok());
}

#[test]
fn tampered_and_foreign_nonces_are_unknown() {
    let t0 = origin();
    let mut auth = Authenticator::new(config(vec![Algorithm::Md5]), t0);
    let ch = Challenge::parse(&auth.challenge(t0, false)[0]).unwrap();
    // Move the timestamp forward by one (to extend the lifetime) and answer correctly.
    let mut chars: Vec<char> = ch.nonce.chars().collect();
    chars[15] = if chars[15] == 'f' { 'e' } else { 'f' };
    let forged = Challenge {
        nonce: chars.into_iter().collect(),
        ..ch.clone()
    };
    let answer = respond_to_challenge(
        &forged.to_string(),
        "REGISTER",
        URI,
        "201",
        "secret201",
        "c",
        1,
    )
    .unwrap();
    assert_eq!(
        auth.verify(t0, "REGISTER", URI, &answer, users),
        Err(AuthFailure::UnknownNonce)
    );
    // A nonce from another server (other secret) is unknown as well.
    let mut other =
        Authenticator::new(AuthConfig::new("pbx.example", b"other secret".to_vec()), t0);
    let theirs = other.challenge(t0, false);
    let answer =
        respond_to_challenge(&theirs[1], "REGISTER", URI, "201", "secret201", "c", 1).unwrap();
    assert_eq!(
        auth.verify(t0, "REGISTER", URI, &answer, users),
        Err(AuthFailure::UnknownNonce)
    );
}

#[test]
fn nonce_count_must_increase() {
    let t0 = origin();
    let mut auth = Authenticator::new(config(vec![Algorithm::Sha256]), t0);
    let ch = auth.challenge(t0, false);
    let at =
        |nc| respond_to_challenge(&ch[0], "REGISTER", URI, "201", "secret201", "c", nc).unwrap();
    assert!(auth.verify(t0, "REGISTER", URI, &at(1), users).is_ok());
    assert_eq!(
        auth.verify(t0, "REGISTER", URI, &at(1), users),
        Err(AuthFailure::Replay { nc: 1, last: 1 })
    );
    assert!(auth.verify(t0, "REGISTER", URI, &at(5), users).is_ok());
    let err = auth.verify(t0, "REGISTER", URI, &at(3), users).unwrap_err();
    assert_eq!(err, AuthFailure::Replay { nc: 3, last: 5 });
    assert!(err.counts_against_source());
    assert!(
        err.to_string()
            .contains("expected above 00000005, found 00000003")
    );
    // nc=0 is never valid.
    let ch2 = auth.challenge(t0, false);
    let zero = respond_to_challenge(&ch2[0], "REGISTER", URI, "201", "secret201", "c", 0).unwrap();
    assert!(matches!(
        auth.verify(t0, "REGISTER", URI, &zero, users),
        Err(AuthFailure::Replay { nc: 0, .. })
    ));
}

#[test]
fn nonce_memory_is_bounded_and_expires() {
    let t0 = origin();
    let mut cfg = config(vec![Algorithm::Md5]);
    cfg.max_tracked_nonces = 2;
    cfg.nonce_ttl = Duration::from_secs(60);
    let mut auth = Authenticator::new(cfg, t0);
    let chs: Vec<Vec<String>> = (0..3).map(|_| auth.challenge(t0, false)).collect();
    let ans = |i: usize, nc| {
        respond_to_challenge(&chs[i][0], "REGISTER", URI, "201", "secret201", "c", nc).unwrap()
    };
    for i in 0..3 {
        auth.verify(t0, "REGISTER", URI, &ans(i, 1), users).unwrap();
    }
    assert_eq!(auth.tracked_nonces(), 2);
    // The evicted (oldest) nonce cannot be replayed: it is treated as stale.
    assert_eq!(
        auth.verify(t0, "REGISTER", URI, &ans(0, 2), users),
        Err(AuthFailure::Stale)
    );
    // The others go on.
    auth.verify(t0, "REGISTER", URI, &ans(2, 2), users).unwrap();
    // After expiry the state is forgotten when the next nonce is used.
    let later = t0 + Duration::from_secs(61);
    let fresh = auth.challenge(later, false);
    let a = respond_to_challenge(&fresh[0], "REGISTER", URI, "201", "secret201", "c", 1).unwrap();
    auth.verify(later, "REGISTER", URI, &a, users).unwrap();
    assert_eq!(auth.tracked_nonces(), 1);
}

#[test]
fn uri_realm_qop_algorithm_and_opaque_are_checked() {
    let t0 = origin();
    let mut auth = Authenticator::new(config(vec![Algorithm::Sha256]), t0);
    let ch = auth.challenge(t0, false);
    let ans = respond_to_challenge(
        &ch[0],
        "REGISTER",
        "sip:other.example",
        "201",
        "secret201",
        "c",
        1,
    )
    .unwrap();
    assert_eq!(
        auth.verify(t0, "REGISTER", URI, &ans, users),
        Err(AuthFailure::UriMismatch {
            expected: URI.into(),
            found: "sip:other.example".into()
        })
    );
    // Equivalent spelling of the same URI (scheme case) is accepted.
    let ans = respond_to_challenge(
        &ch[0],
        "REGISTER",
        "SIP:pbx.example",
        "201",
        "secret201",
        "c",
        1,
    )
    .unwrap();
    assert!(auth.verify(t0, "REGISTER", URI, &ans, users).is_ok());

    let good = respond_to_challenge(&ch[0], "REGISTER", URI, "201", "secret201", "c", 2).unwrap();
    let other_realm = good.replace("realm=\"pbx.example\"", "realm=\"evil\"");
    assert!(matches!(
        auth.verify(t0, "REGISTER", URI, &other_realm, users),
        Err(AuthFailure::WrongRealm { .. })
    ));
    let md5 = good.replace("algorithm=SHA-256", "algorithm=MD5");
    match auth.verify(t0, "REGISTER", URI, &md5, users) {
        Err(AuthFailure::Malformed(m)) => {
            assert_eq!(m.expected, "algorithm SHA-256");
            assert_eq!(m.found, "MD5");
        }
        other => panic!("expected a malformed algorithm, got {other:?}"),
    }
    let no_qop = good.replace(", qop=auth", "");
    assert!(matches!(
        auth.verify(t0, "REGISTER", URI, &no_qop, users),
        Err(AuthFailure::Malformed(m)) if m.expected == "qop=auth"
    ));
    let opaque = Challenge::parse(&ch[0]).unwrap().opaque.unwrap();
    let wrong_opaque = good.replace(&opaque, "00");
    assert_eq!(
        auth.verify(t0, "REGISTER", URI, &wrong_opaque, users),
        Err(AuthFailure::UnknownNonce)
    );
    // A wrong method (the response was computed for REGISTER) is a wrong response.
    assert!(matches!(
        auth.verify(t0, "INVITE", URI, &good, users),
        Err(AuthFailure::WrongCredentials { .. })
    ));
    assert!(auth.verify(t0, "REGISTER", URI, &good, users).is_ok());
}

#[test]
fn unknown_and_known_users_fail_identically() {
    let t0 = origin();
    let mut auth = Authenticator::new(config(vec![Algorithm::Sha256]), t0);
    let ch = auth.challenge(t0, false);
    let attempt = respond_to_challenge(&ch[0], "REGISTER", URI, "201", "guess", "c", 1).unwrap();
    let calls = Cell::new(0);
    let known = auth.verify(t0, "REGISTER", URI, &attempt, |u| {
        calls.set(calls.get() + 1);
        users(u)
    });
    let unknown = auth.verify(t0, "REGISTER", URI, &attempt, |_| {
        calls.set(calls.get() + 1);
        None
    });
    assert_eq!(
        calls.get(),
        2,
        "the lookup runs once per attempt either way"
    );
    assert_eq!(known, unknown);
    assert_eq!(
        known,
        Err(AuthFailure::WrongCredentials {
            username: "201".into()
        })
    );
    // Guessing the stand-in password of unknown users is not possible either:
    // an empty password for an unknown user fails the same way.
    let empty = respond_to_challenge(&ch[0], "REGISTER", URI, "999", "", "c", 2).unwrap();
    assert!(matches!(
        auth.verify(t0, "REGISTER", URI, &empty, users),
        Err(AuthFailure::WrongCredentials { .. })
    ));
}

#[test]
fn client_refuses_what_it_cannot_answer() {
    let e = respond_to_challenge(
        "Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"",
        "INVITE",
        URI,
        "u",
        "p",
        "c",
        1,
    )
    .unwrap_err();
    assert_eq!(e.found, "auth-int");
    // Without qop the RFC 2069 form is produced: no cnonce, no nc.
    let old = respond_to_challenge(
        "Digest realm=\"r\", nonce=\"n\"",
        "INVITE",
        URI,
        "u",
        "p",
        "c",
        1,
    )
    .unwrap();
    let parsed = DigestResponse::parse(&old).unwrap();
    assert_eq!(parsed.qop, None);
    assert_eq!(parsed.cnonce, None);
    assert!(respond_to_challenge("Digest realm=\"r\"", "INVITE", URI, "u", "p", "c", 1).is_err());
}

fn register(authorization: &[String]) -> sip::message::Request {
    let mut req = sip::message::Request::new(
        sip::message::Method::Register,
        sip::message::Uri::parse(URI).unwrap(),
    );
    for a in authorization {
        req.headers.push("Authorization", a.as_str());
    }
    req
}

#[test]
fn verify_request_picks_our_realm_and_reports_missing_credentials() {
    use sip::auth::CredentialsHeader;
    let t0 = origin();
    let mut auth = Authenticator::new(config(vec![Algorithm::Sha256]), t0);
    assert_eq!(
        auth.verify_request(t0, &register(&[]), CredentialsHeader::Authorization, users),
        Err(AuthFailure::NoCredentials)
    );
    assert!(!AuthFailure::NoCredentials.counts_against_source());
    let ch = auth.challenge(t0, false);
    let ours = respond_to_challenge(&ch[0], "REGISTER", URI, "201", "secret201", "c", 1).unwrap();
    let foreign = ours.replace("realm=\"pbx.example\"", "realm=\"upstream\"");
    let req = register(&[foreign, ours]);
    let proof = auth
        .verify_request(t0, &req, CredentialsHeader::Authorization, users)
        .unwrap();
    assert_eq!(proof.username(), "201");
    // The credentials are in Authorization, not Proxy-Authorization.
    assert_eq!(
        auth.verify_request(t0, &req, CredentialsHeader::ProxyAuthorization, users),
        Err(AuthFailure::NoCredentials)
    );
    assert_eq!(
        CredentialsHeader::ProxyAuthorization.challenge_status(),
        407
    );
    assert_eq!(
        CredentialsHeader::Authorization.challenge_name(),
        "WWW-Authenticate"
    );
}

#[test]
fn digest_uri_without_user_part_for_the_same_host_is_accepted() {
    // sipp and some phones answer an INVITE challenge with uri=sip:host:port.
    let t0 = origin();
    let mut auth = Authenticator::new(config(vec![Algorithm::Md5]), t0);
    let ch = auth.challenge(t0, false);
    let request_uri = "sip:202@127.0.0.1:5060";
    let ans = respond_to_challenge(
        &ch[0],
        "INVITE",
        "sip:127.0.0.1:5060",
        "201",
        "secret201",
        "c",
        1,
    )
    .unwrap();
    assert!(auth.verify(t0, "INVITE", request_uri, &ans, users).is_ok());
    // Another host or port is still refused.
    let other = respond_to_challenge(
        &ch[0],
        "INVITE",
        "sip:127.0.0.1:5070",
        "201",
        "secret201",
        "c",
        2,
    )
    .unwrap();
    assert!(matches!(
        auth.verify(t0, "INVITE", request_uri, &other, users),
        Err(AuthFailure::UriMismatch { .. })
    ));
}
