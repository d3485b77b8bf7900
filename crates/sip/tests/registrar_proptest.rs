//! The registrar never panics and always answers with one of its statuses,
//! whatever Contact and Expires values arrive; failures never change bindings.

use proptest::prelude::*;
use sip::auth::{AuthConfig, Authenticated, Authenticator, Credential, respond_to_challenge};
use sip::message::{Method, Request, Uri};
use sip::registrar::{Binding, BindingSource, BindingTransport, RegistrarPolicy, register};
use std::time::Instant;

/// An arbitrary origin for the virtual clock; only differences from it matter.
#[allow(
    clippy::disallowed_methods,
    reason = "tests need one arbitrary Instant to count from"
)]
fn origin() -> Instant {
    Instant::now()
}

fn proof() -> Authenticated {
    let t0 = origin();
    let mut auth = Authenticator::new(AuthConfig::new("r", b"k".to_vec()), t0);
    let ch = auth.challenge(t0, false);
    let answer = respond_to_challenge(&ch[0], "REGISTER", "sip:r", "u", "p", "c", 1).unwrap();
    auth.verify(t0, "REGISTER", "sip:r", &answer, |_| {
        Some(Credential::Plain("p".into()))
    })
    .unwrap()
}

fn contactish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("<sip:201@10.0.0.5".to_string()),
        Just("sip:201@H".to_string()),
        Just(">".to_string()),
        Just(";expires=".to_string()),
        Just(";q=".to_string()),
        Just(";transport=".to_string()),
        Just(";+sip.instance=\"<urn:uuid:1>\"".to_string()),
        Just("*".to_string()),
        Just(",".to_string()),
        Just(":5060".to_string()),
        "[0-9.]{0,12}",
        "\\PC{0,3}",
    ];
    prop::collection::vec(piece, 0..10).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn register_never_panics(
        contacts in prop::collection::vec(contactish(), 0..4),
        expires in prop::option::of("[0-9a-z]{0,12}"),
        cseq in 1u32..5,
    ) {
        let mut req = Request::new(Method::Register, Uri::parse("sip:r").unwrap());
        req.headers.push("Via", "SIP/2.0/UDP h;branch=z9hG4bK1");
        req.headers.push("Call-ID", "c1");
        req.headers.push("CSeq", format!("{cseq} REGISTER"));
        for c in &contacts {
            req.headers.push("Contact", c.as_str());
        }
        if let Some(e) = &expires {
            req.headers.push("Expires", e.as_str());
        }
        let source = BindingSource {
            transport: BindingTransport::Udp,
            addr: "192.0.2.1:5060".parse().unwrap(),
            connection: None,
        };
        let existing = vec![Binding {
            aor: "sip:u@r".into(),
            contact: "sip:201@10.0.0.5".into(),
            source,
            call_id: "c1".into(),
            cseq: 2,
            expires_at_ms: 10_000,
            q: None,
            user_agent: None,
            instance: None,
            user: None,
        }];
        let out = register(&req, "sip:u@r", &proof(), source, &existing, 0, &RegistrarPolicy::default());
        prop_assert!([200u16, 400, 403, 423, 500].contains(&out.response.status));
        prop_assert_eq!(out.error.is_none(), out.response.status == 200);
        if out.response.status != 200 {
            prop_assert!(out.changes.is_empty());
        }
    }
}
