//! The digest header parsers and the verifier never panic, whatever arrives.

use proptest::prelude::*;
use sip::auth::{AuthConfig, Authenticator, Challenge, Credential, DigestResponse};
use std::time::Instant;

/// An arbitrary origin for the virtual clock; only differences from it matter.
#[allow(
    clippy::disallowed_methods,
    reason = "tests need one arbitrary Instant to count from"
)]
fn origin() -> Instant {
    Instant::now()
}

/// Strings made of the pieces digest headers are built from, so the parser
/// gets deep into its states rather than failing on the first character.
fn digestish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("Digest ".to_string()),
        Just("username=".to_string()),
        Just("realm=".to_string()),
        Just("nonce=".to_string()),
        Just("uri=".to_string()),
        Just("response=".to_string()),
        Just("qop=".to_string()),
        Just("nc=".to_string()),
        Just("cnonce=".to_string()),
        Just("algorithm=".to_string()),
        Just("opaque=".to_string()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just(",".to_string()),
        Just(" ".to_string()),
        Just("=".to_string()),
        Just("auth".to_string()),
        Just("SHA-256-sess".to_string()),
        Just("00000001".to_string()),
        "[a-f0-9]{0,70}",
        "\\PC{0,4}",
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parsers_never_panic_on_arbitrary_strings(s in "\\PC*") {
        let _ = DigestResponse::parse(&s);
        let _ = Challenge::parse(&s);
        let _ = Challenge::parse(&format!("Digest {s}"));
        let _ = DigestResponse::parse(&format!("Digest {s}"));
    }

    #[test]
    fn parsers_and_verify_never_panic_on_digest_like_strings(s in digestish()) {
        let _ = Challenge::parse(&s);
        if let Ok(r) = DigestResponse::parse(&s) {
            // What parses prints back to something that parses to the same value.
            let again = DigestResponse::parse(&r.to_string());
            prop_assert_eq!(again, Ok(r));
        }
        let t0 = origin();
        let mut auth = Authenticator::new(AuthConfig::new("r", b"k".to_vec()), t0);
        let _ = auth.verify(t0, "REGISTER", "sip:r", &s, |_| Some(Credential::Plain("p".into())));
    }
}
