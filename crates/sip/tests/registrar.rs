//! The REGISTER rules of RFC 3261 §10.3 as a table of cases: existing
//! bindings and a request in, status, binding changes and listed contacts out.

use sip::auth::{AuthConfig, Authenticated, Authenticator, Credential, respond_to_challenge};
use sip::message::{Method, Request, Uri};
use sip::registrar::{
    Binding, BindingChange, BindingSource, BindingTransport, RegisterError, RegistrarPolicy,
    register, uri_equivalent,
};
use std::time::Instant;

const AOR: &str = "sip:201@pbx.example";
const NOW_MS: i64 = 1_700_000_000_000;

/// An arbitrary origin for the virtual clock; only differences from it matter.
#[allow(
    clippy::disallowed_methods,
    reason = "tests need one arbitrary Instant to count from"
)]
fn origin() -> Instant {
    Instant::now()
}

/// A real proof, obtained the only way there is: a verified digest response.
fn proof() -> Authenticated {
    let t0 = origin();
    let mut auth = Authenticator::new(AuthConfig::new("pbx.example", b"k".to_vec()), t0);
    let ch = auth.challenge(t0, false);
    let answer =
        respond_to_challenge(&ch[0], "REGISTER", "sip:pbx.example", "201", "pw", "c", 1).unwrap();
    auth.verify(t0, "REGISTER", "sip:pbx.example", &answer, |_| {
        Some(Credential::Plain("pw".into()))
    })
    .unwrap()
}

fn source() -> BindingSource {
    BindingSource {
        transport: BindingTransport::Udp,
        addr: "203.0.113.7:40001".parse().unwrap(),
        connection: None,
    }
}

fn binding(aor: &str, contact: &str, call_id: &str, cseq: u32, remaining_s: i64) -> Binding {
    Binding {
        aor: aor.into(),
        contact: contact.into(),
        source: source(),
        call_id: call_id.into(),
        cseq,
        expires_at_ms: NOW_MS + remaining_s * 1000,
        q: None,
        user_agent: None,
        instance: None,
        user: None,
    }
}

struct Case {
    name: &'static str,
    /// (contact, call-id, cseq, seconds left) of bindings of AOR.
    existing: &'static [(&'static str, &'static str, u32, i64)],
    method: Method,
    /// Contact header lines.
    contacts: &'static [&'static str],
    expires: Option<&'static str>,
    call_id: &'static str,
    cseq: u32,
    status: u16,
    /// `upsert CONTACT SECONDS`, `remove CONTACT`, `remove-all`.
    changes: &'static [&'static str],
    /// Contact values of the 200 response.
    listed: &'static [&'static str],
}

const A: &str = "sip:201@10.0.0.5:5062";
const B: &str = "sip:201@10.0.0.6:5060;transport=tcp";

fn base() -> Case {
    Case {
        name: "",
        existing: &[],
        method: Method::Register,
        contacts: &[],
        expires: None,
        call_id: "reg-1",
        cseq: 2,
        status: 200,
        changes: &[],
        listed: &[],
    }
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "add with the default lifetime",
            contacts: &["<sip:201@10.0.0.5:5062>"],
            changes: &["upsert sip:201@10.0.0.5:5062 3600"],
            listed: &["<sip:201@10.0.0.5:5062>;expires=3600"],
            ..base()
        },
        Case {
            name: "Expires header sets the lifetime",
            contacts: &["<sip:201@10.0.0.5:5062>"],
            expires: Some("120"),
            changes: &["upsert sip:201@10.0.0.5:5062 120"],
            listed: &["<sip:201@10.0.0.5:5062>;expires=120"],
            ..base()
        },
        Case {
            name: "contact expires param beats the header",
            contacts: &["<sip:201@10.0.0.5:5062>;expires=90"],
            expires: Some("600"),
            changes: &["upsert sip:201@10.0.0.5:5062 90"],
            listed: &["<sip:201@10.0.0.5:5062>;expires=90"],
            ..base()
        },
        Case {
            name: "lifetime above the maximum is shortened",
            contacts: &["<sip:201@10.0.0.5:5062>"],
            expires: Some("7200"),
            changes: &["upsert sip:201@10.0.0.5:5062 3600"],
            listed: &["<sip:201@10.0.0.5:5062>;expires=3600"],
            ..base()
        },
        Case {
            name: "huge lifetime saturates and is shortened",
            contacts: &["<sip:201@10.0.0.5:5062>;expires=99999999999999"],
            changes: &["upsert sip:201@10.0.0.5:5062 3600"],
            listed: &["<sip:201@10.0.0.5:5062>;expires=3600"],
            ..base()
        },
        Case {
            name: "malformed Expires counts as the default",
            contacts: &["<sip:201@10.0.0.5:5062>"],
            expires: Some("soon"),
            changes: &["upsert sip:201@10.0.0.5:5062 3600"],
            listed: &["<sip:201@10.0.0.5:5062>;expires=3600"],
            ..base()
        },
        Case {
            name: "lifetime below the minimum is 423",
            contacts: &["<sip:201@10.0.0.5:5062>"],
            expires: Some("30"),
            status: 423,
            ..base()
        },
        Case {
            name: "one brief contact refuses the whole request",
            contacts: &["<sip:201@10.0.0.5:5062>", "<sip:201@10.0.0.6>;expires=59"],
            status: 423,
            ..base()
        },
        Case {
            name: "refresh with a higher CSeq",
            existing: &[(A, "reg-1", 1, 10)],
            contacts: &["<sip:201@10.0.0.5:5062>"],
            expires: Some("300"),
            changes: &["upsert sip:201@10.0.0.5:5062 300"],
            listed: &["<sip:201@10.0.0.5:5062>;expires=300"],
            ..base()
        },
        Case {
            name: "same Call-ID and same CSeq is out of order",
            existing: &[(A, "reg-1", 2, 10)],
            contacts: &["<sip:201@10.0.0.5:5062>"],
            status: 500,
            ..base()
        },
        Case {
            name: "same Call-ID and lower CSeq is out of order",
            existing: &[(A, "reg-1", 7, 10)],
            contacts: &["<sip:201@10.0.0.5:5062>"],
            status: 500,
            ..base()
        },
        Case {
            name: "another Call-ID replaces the binding whatever its CSeq",
            existing: &[(A, "reg-0", 7, 10)],
            contacts: &["<sip:201@10.0.0.5:5062>"],
            expires: Some("60"),
            changes: &["upsert sip:201@10.0.0.5:5062 60"],
            listed: &["<sip:201@10.0.0.5:5062>;expires=60"],
            ..base()
        },
        Case {
            name: "an out-of-order contact aborts the others too",
            existing: &[(A, "reg-1", 9, 10)],
            contacts: &["<sip:201@10.0.0.7>", "<sip:201@10.0.0.5:5062>"],
            status: 500,
            ..base()
        },
        Case {
            name: "remove with Expires header 0",
            existing: &[(A, "reg-1", 1, 10), (B, "reg-2", 1, 100)],
            contacts: &["<sip:201@10.0.0.5:5062>"],
            expires: Some("0"),
            changes: &["remove sip:201@10.0.0.5:5062"],
            listed: &["<sip:201@10.0.0.6:5060;transport=tcp>;expires=100"],
            ..base()
        },
        Case {
            name: "remove with the expires=0 param",
            existing: &[(A, "reg-1", 1, 10)],
            contacts: &["<sip:201@10.0.0.5:5062>;expires=0"],
            expires: Some("3600"),
            changes: &["remove sip:201@10.0.0.5:5062"],
            ..base()
        },
        Case {
            name: "removing an unknown contact changes nothing",
            existing: &[(B, "reg-2", 1, 100)],
            contacts: &["<sip:201@10.9.9.9>;expires=0"],
            listed: &["<sip:201@10.0.0.6:5060;transport=tcp>;expires=100"],
            ..base()
        },
        Case {
            name: "several contacts per AOR",
            existing: &[(A, "reg-1", 1, 10)],
            call_id: "other-phone",
            contacts: &["<sip:201@10.0.0.6:5060;transport=tcp>;expires=200"],
            changes: &["upsert sip:201@10.0.0.6:5060;transport=tcp 200"],
            listed: &[
                "<sip:201@10.0.0.5:5062>;expires=10",
                "<sip:201@10.0.0.6:5060;transport=tcp>;expires=200",
            ],
            ..base()
        },
        Case {
            name: "several contacts in one request, comma-joined and on separate lines",
            contacts: &[
                "<sip:201@10.0.0.5:5062>;expires=100, <sip:201@10.0.0.8>",
                "\"Desk\" <sip:201@10.0.0.9>;expires=0",
            ],
            expires: Some("600"),
            changes: &[
                "upsert sip:201@10.0.0.5:5062 100",
                "upsert sip:201@10.0.0.8 600",
            ],
            listed: &[
                "<sip:201@10.0.0.5:5062>;expires=100",
                "<sip:201@10.0.0.8>;expires=600",
            ],
            ..base()
        },
        Case {
            name: "star with Expires 0 removes all",
            existing: &[(A, "reg-0", 1, 10), (B, "reg-2", 1, 100)],
            contacts: &["*"],
            expires: Some("0"),
            changes: &["remove-all"],
            ..base()
        },
        Case {
            name: "star without Expires is 400",
            existing: &[(A, "reg-0", 1, 10)],
            contacts: &["*"],
            status: 400,
            ..base()
        },
        Case {
            name: "star with a non-zero Expires is 400",
            contacts: &["*"],
            expires: Some("60"),
            status: 400,
            ..base()
        },
        Case {
            name: "star with another contact is 400",
            contacts: &["*", "<sip:201@10.0.0.5:5062>"],
            expires: Some("0"),
            status: 400,
            ..base()
        },
        Case {
            name: "star with an old CSeq of the same Call-ID is out of order",
            existing: &[(A, "reg-1", 5, 10)],
            contacts: &["*"],
            expires: Some("0"),
            status: 500,
            ..base()
        },
        Case {
            name: "fetch lists the bindings and changes nothing",
            existing: &[(A, "reg-1", 9, 10), (B, "reg-2", 1, 100)],
            listed: &[
                "<sip:201@10.0.0.5:5062>;expires=10",
                "<sip:201@10.0.0.6:5060;transport=tcp>;expires=100",
            ],
            ..base()
        },
        Case {
            name: "expired bindings are neither listed nor compared",
            existing: &[(A, "reg-1", 9, 0), (B, "reg-2", 1, -5)],
            contacts: &["<sip:201@10.0.0.5:5062>"],
            expires: Some("60"),
            changes: &["upsert sip:201@10.0.0.5:5062 60"],
            listed: &["<sip:201@10.0.0.5:5062>;expires=60"],
            ..base()
        },
        Case {
            name: "host case and transport case do not make a new binding",
            existing: &[("sip:201@Phone.Example:5062;transport=TCP", "reg-1", 1, 10)],
            contacts: &["<sip:201@phone.example:5062;transport=tcp>"],
            expires: Some("60"),
            changes: &[
                "remove sip:201@Phone.Example:5062;transport=TCP",
                "upsert sip:201@phone.example:5062;transport=tcp 60",
            ],
            listed: &["<sip:201@phone.example:5062;transport=tcp>;expires=60"],
            ..base()
        },
        Case {
            name: "a different user case is another contact",
            existing: &[("sip:Bob@10.0.0.5", "reg-1", 1, 10)],
            contacts: &["<sip:bob@10.0.0.5>"],
            expires: Some("60"),
            changes: &["upsert sip:bob@10.0.0.5 60"],
            listed: &[
                "<sip:Bob@10.0.0.5>;expires=10",
                "<sip:bob@10.0.0.5>;expires=60",
            ],
            ..base()
        },
        Case {
            name: "an explicit default port is another contact",
            existing: &[("sip:201@10.0.0.5", "reg-1", 1, 10)],
            contacts: &["<sip:201@10.0.0.5:5060>"],
            expires: Some("60"),
            changes: &["upsert sip:201@10.0.0.5:5060 60"],
            listed: &[
                "<sip:201@10.0.0.5>;expires=10",
                "<sip:201@10.0.0.5:5060>;expires=60",
            ],
            ..base()
        },
        Case {
            name: "different transports are different contacts",
            existing: &[("sip:201@10.0.0.5;transport=udp", "reg-1", 1, 10)],
            contacts: &["<sip:201@10.0.0.5;transport=tcp>"],
            expires: Some("60"),
            changes: &["upsert sip:201@10.0.0.5;transport=tcp 60"],
            listed: &[
                "<sip:201@10.0.0.5;transport=udp>;expires=10",
                "<sip:201@10.0.0.5;transport=tcp>;expires=60",
            ],
            ..base()
        },
        Case {
            name: "q and +sip.instance are kept and listed",
            contacts: &["<sip:201@10.0.0.5>;q=0.5;+sip.instance=\"<urn:uuid:f81d4fae>\""],
            expires: Some("60"),
            changes: &["upsert sip:201@10.0.0.5 60"],
            listed: &["<sip:201@10.0.0.5>;expires=60;q=0.5;+sip.instance=\"<urn:uuid:f81d4fae>\""],
            ..base()
        },
        Case {
            name: "q above 1 is 400",
            contacts: &["<sip:201@10.0.0.5>;q=1.5"],
            status: 400,
            ..base()
        },
        Case {
            name: "an unparsable contact is 400",
            contacts: &["<sip:201@10.0.0.5"],
            status: 400,
            ..base()
        },
        Case {
            name: "another method is 405",
            method: Method::Invite,
            contacts: &["<sip:201@10.0.0.5>"],
            status: 405,
            ..base()
        },
    ]
}

fn request(c: &Case) -> Request {
    let mut req = Request::new(c.method.clone(), Uri::parse("sip:pbx.example").unwrap());
    req.headers
        .push("Via", "SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK77;rport");
    req.headers.push("From", "<sip:201@pbx.example>;tag=f1");
    req.headers.push("To", "<sip:201@pbx.example>");
    req.headers.push("Call-ID", c.call_id);
    req.headers
        .push("CSeq", format!("{} {}", c.cseq, c.method.as_str()));
    for contact in c.contacts {
        req.headers.push("Contact", *contact);
    }
    if let Some(e) = c.expires {
        req.headers.push("Expires", e);
    }
    req.headers.push("User-Agent", "TestPhone");
    req
}

fn describe(change: &BindingChange) -> String {
    match change {
        BindingChange::Upsert(b) => {
            format!("upsert {} {}", b.contact, (b.expires_at_ms - NOW_MS) / 1000)
        }
        BindingChange::Remove { aor, contact } => {
            assert_eq!(aor, AOR);
            format!("remove {contact}")
        }
        BindingChange::RemoveAll { aor } => {
            assert_eq!(aor, AOR);
            "remove-all".into()
        }
    }
}

#[test]
fn register_rules() {
    let proof = proof();
    let policy = RegistrarPolicy::default();
    let mut failures = Vec::new();
    for case in cases() {
        let mut existing: Vec<Binding> = case
            .existing
            .iter()
            .map(|&(contact, call_id, cseq, left)| binding(AOR, contact, call_id, cseq, left))
            .collect();
        // A binding of another AOR with the same contact never interferes.
        existing.push(binding("sip:202@pbx.example", A, case.call_id, 99, 500));
        let out = register(
            &request(&case),
            AOR,
            &proof,
            source(),
            &existing,
            NOW_MS,
            &policy,
        );
        let changes: Vec<String> = out.changes.iter().map(describe).collect();
        let listed: Vec<&str> = out.response.headers.get_all_lines("Contact").collect();
        let ok = out.response.status == case.status
            && changes == case.changes
            && listed == case.listed
            && (out.error.is_none() == (case.status == 200));
        if !ok {
            failures.push(format!(
                "{}:\n  status {} (expected {})\n  changes {:?}\n  expected {:?}\n  listed {:?}\n  expected {:?}\n  error {:?}",
                case.name,
                out.response.status,
                case.status,
                changes,
                case.changes,
                listed,
                case.listed,
                out.error.map(|e| e.to_string())
            ));
        }
        // Every response answers the request it was given.
        assert_eq!(out.response.headers.get("Call-ID"), Some(case.call_id));
        if case.status != 200 {
            assert!(
                out.changes.is_empty(),
                "{}: no changes on failure",
                case.name
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn interval_too_brief_names_the_minimum() {
    let case = Case {
        contacts: &["<sip:201@10.0.0.5>"],
        expires: Some("59"),
        ..base()
    };
    let out = register(
        &request(&case),
        AOR,
        &proof(),
        source(),
        &[],
        NOW_MS,
        &RegistrarPolicy::default(),
    );
    assert_eq!(out.response.status, 423);
    assert_eq!(out.response.reason, "Interval Too Brief");
    assert_eq!(out.response.headers.get("Min-Expires"), Some("60"));
    let err = out.error.unwrap();
    assert_eq!(
        err,
        RegisterError::IntervalTooBrief {
            contact: "sip:201@10.0.0.5".into(),
            requested: 59,
            min: 60
        }
    );
    assert_eq!(
        err.to_string(),
        "expected expires of at least 60 s (or 0) for sip:201@10.0.0.5, found 59"
    );
}

#[test]
fn binding_keeps_the_source_and_request_details() {
    let case = Case {
        contacts: &["<sip:201@192.168.1.20:5062;transport=tcp>"],
        call_id: "abc@phone",
        cseq: 41,
        ..base()
    };
    let tcp = BindingSource {
        transport: BindingTransport::Tcp,
        addr: "198.51.100.4:53211".parse().unwrap(),
        connection: Some(17),
    };
    let out = register(
        &request(&case),
        AOR,
        &proof(),
        tcp,
        &[],
        NOW_MS,
        &RegistrarPolicy::default(),
    );
    let [BindingChange::Upsert(b)] = out.changes.as_slice() else {
        panic!("expected one upsert, got {:?}", out.changes);
    };
    assert_eq!(b.aor, AOR);
    assert_eq!(b.contact, "sip:201@192.168.1.20:5062;transport=tcp");
    assert_eq!(
        b.source, tcp,
        "the NATed phone is reached where it came from"
    );
    assert_eq!(b.call_id, "abc@phone");
    assert_eq!(b.cseq, 41);
    assert_eq!(b.expires_at_ms, NOW_MS + 3_600_000);
    assert_eq!(b.user_agent.as_deref(), Some("TestPhone"));
    assert_eq!(b.q, None);
    assert_eq!(b.instance, None);
    assert_eq!(
        out.response.headers.get("Date"),
        Some("Tue, 14 Nov 2023 22:13:20 GMT")
    );
    assert_eq!(
        out.response.headers.get("Via"),
        request(&case).headers.get("Via")
    );
}

#[test]
fn too_many_bindings_is_refused() {
    let policy = RegistrarPolicy {
        max_bindings_per_aor: 2,
        ..RegistrarPolicy::default()
    };
    let existing = vec![
        binding(AOR, "sip:201@10.0.0.1", "x", 1, 100),
        binding(AOR, "sip:201@10.0.0.2", "y", 1, 100),
    ];
    let add = Case {
        contacts: &["<sip:201@10.0.0.3>"],
        ..base()
    };
    let out = register(
        &request(&add),
        AOR,
        &proof(),
        source(),
        &existing,
        NOW_MS,
        &policy,
    );
    assert_eq!(out.response.status, 403);
    assert_eq!(out.error, Some(RegisterError::TooManyBindings { max: 2 }));
    // Refreshing one of them is still fine.
    let refresh = Case {
        contacts: &["<sip:201@10.0.0.2>"],
        call_id: "y",
        cseq: 2,
        ..base()
    };
    let out = register(
        &request(&refresh),
        AOR,
        &proof(),
        source(),
        &existing,
        NOW_MS,
        &policy,
    );
    assert_eq!(out.response.status, 200);
}

#[test]
fn uri_equivalence_rules_of_19_1_4() {
    let eq = |a: &str, b: &str| uri_equivalent(&Uri::parse(a).unwrap(), &Uri::parse(b).unwrap());
    // RFC 3261 §19.1.4 examples of equivalent URIs.
    assert!(eq(
        "sip:%61lice@atlanta.com;transport=TCP",
        "sip:alice@AtLanTa.CoM;Transport=tcp"
    ));
    assert!(eq(
        "sip:carol@chicago.com",
        "sip:carol@chicago.com;newparam=5"
    ));
    assert!(eq(
        "sip:carol@chicago.com;security=on",
        "sip:carol@chicago.com;newparam=5"
    ));
    assert!(eq(
        "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
        "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"
    ));
    // …and of URIs that are not.
    assert!(!eq(
        "SIP:ALICE@AtLanTa.CoM;Transport=udp",
        "sip:alice@AtLanTa.CoM;Transport=UDP"
    ));
    assert!(!eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
    assert!(!eq(
        "sip:bob@biloxi.com",
        "sip:bob@biloxi.com;transport=udp"
    ));
    assert!(!eq(
        "sip:bob@biloxi.com",
        "sip:bob@biloxi.com:6000;transport=tcp"
    ));
    assert!(eq(
        "sip:carol@chicago.com",
        "sip:carol@chicago.com;security=on"
    ));
    assert!(!eq(
        "sip:carol@chicago.com",
        "sip:carol@chicago.com?Subject=next%20meeting"
    ));
    assert!(!eq("sip:alice@atlanta.com", "sips:alice@atlanta.com"));
    assert!(!eq("sip:bob@192.0.2.4", "sip:bob@phone21.boxesbybob.com"));
    assert!(!eq(
        "sip:carol@chicago.com",
        "sip:carol@chicago.com;user=phone"
    ));
    assert!(!eq(
        "sip:carol@chicago.com;maddr=239.0.0.1",
        "sip:carol@chicago.com"
    ));
    assert!(eq("sip:a@[2001:db8::1]:5060", "sip:a@[2001:DB8:0::1]:5060"));
}
