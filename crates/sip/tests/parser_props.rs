//! Property tests of the message parser, the printers and the stream framer:
//! no input makes them panic, everything printed parses back to the same
//! value, and framing does not depend on how a stream is cut into reads.

use proptest::prelude::*;
use sip::framing::{Frame, StreamFramer};
use sip::message::{
    Headers, Host, Message, Method, NameAddr, Params, Request, Response, Scheme, Uri, Via,
};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

const TOKEN_CHARS: &str =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~";

fn token() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        proptest::sample::select(TOKEN_CHARS.chars().collect::<Vec<_>>()),
        1..12,
    )
    .prop_map(|c| c.into_iter().collect())
}

/// Characters allowed in a SIP URI user part besides escapes (RFC 3261 §25.1).
fn uri_user() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9\\-_.!~*'()&=+$,;?/]{1,16}(%[0-9A-F]{2})?"
}

fn host() -> impl Strategy<Value = Host> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,10}(\\.[a-z][a-z0-9-]{0,10}){0,3}".prop_map(Host::Domain),
        any::<u32>().prop_map(|a| Host::V4(Ipv4Addr::from(a))),
        any::<u128>().prop_map(|a| Host::V6(Ipv6Addr::from(a))),
    ]
}

fn params() -> impl Strategy<Value = Params> {
    proptest::collection::vec((token(), proptest::option::of(token())), 0..4).prop_map(|list| {
        let mut p = Params::new();
        for (name, value) in list {
            // Names compare case-insensitively, so a later duplicate would replace an earlier one.
            if !p.contains(&name) {
                p.set(&name, value.as_deref());
            }
        }
        p
    })
}

fn sip_uri() -> impl Strategy<Value = Uri> {
    (
        prop_oneof![Just(Scheme::Sip), Just(Scheme::Sips)],
        proptest::option::of(uri_user()),
        proptest::option::of("[a-zA-Z0-9&=+$,]{1,8}"),
        host(),
        proptest::option::of(any::<u16>()),
        params(),
        proptest::option::of("[a-zA-Z]{1,6}=[a-zA-Z0-9%]{0,8}"),
    )
        .prop_map(
            |(scheme, user, password, host, port, params, headers)| Uri {
                scheme,
                password: user.as_ref().and(password),
                user,
                host,
                port,
                params,
                headers,
            },
        )
}

fn name_addr() -> impl Strategy<Value = NameAddr> {
    (proptest::option::of("[ -~]{0,20}"), sip_uri(), params()).prop_map(|(display, uri, params)| {
        NameAddr {
            display: display.map(|d| d.trim().to_string()),
            uri,
            params,
        }
    })
}

fn via() -> impl Strategy<Value = Via> {
    (
        prop_oneof![
            Just("UDP"),
            Just("TCP"),
            Just("TLS"),
            Just("SCTP"),
            Just("WS")
        ],
        host(),
        proptest::option::of(any::<u16>()),
        token(),
        params(),
    )
        .prop_map(|(transport, host, port, branch, extra)| {
            let mut v = Via::new(transport, host, port, &format!("z9hG4bK{branch}"));
            for (name, value) in extra.iter() {
                if !v.params.contains(name) {
                    v.params.set(name, value);
                }
            }
            v
        })
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::Invite),
        Just(Method::Register),
        Just(Method::Options),
        Just(Method::Bye),
        Just(Method::Info),
        token().prop_map(|t| t.parse::<Method>().expect("a token is a method")),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    (
        method(),
        sip_uri().prop_map(|mut u| {
            u.headers = None; // not allowed in a Request-URI
            u
        }),
        proptest::collection::vec(via(), 1..4),
        name_addr(),
        name_addr(),
        "[a-zA-Z0-9.@_-]{1,30}",
        0u32..(1 << 31),
        proptest::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(|(method, uri, vias, from, to, call_id, seq, body)| {
            let mut headers = Headers::new();
            for v in &vias {
                headers.push("Via", v.to_string());
            }
            headers.push("Max-Forwards", "70");
            headers.push("From", from.to_string());
            headers.push("To", to.to_string());
            headers.push("Call-ID", call_id);
            headers.push("CSeq", format!("{seq} {method}"));
            if !body.is_empty() {
                headers.push("Content-Type", "application/sdp");
            }
            Request {
                method,
                uri,
                headers,
                body,
            }
        })
}

fn without_content_length(mut m: Message) -> Message {
    match &mut m {
        Message::Request(r) => r.headers.remove("Content-Length"),
        Message::Response(r) => r.headers.remove("Content-Length"),
    }
    m
}

/// The RFC 4475 messages that parse, as seeds for mutation.
fn seeds() -> Vec<Vec<u8>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rfc4475");
    let mut out = Vec::new();
    for dir in ["valid", "invalid", "semantic"] {
        let mut entries: Vec<_> = std::fs::read_dir(root.join(dir))
            .expect("fixture directory")
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "dat"))
            .collect();
        entries.sort();
        out.extend(
            entries
                .into_iter()
                .map(|p| std::fs::read(p).expect("fixture")),
        );
    }
    out
}

/// One change to a byte string; positions are taken modulo its length.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting = prop_oneof![
        proptest::collection::vec(any::<u8>(), 1..8),
        proptest::sample::select(vec![
            b"\r\n".to_vec(),
            b"\r\n ".to_vec(),
            b"\r\n\r\n".to_vec(),
            b":".to_vec(),
            b";".to_vec(),
            b",".to_vec(),
            b"\"".to_vec(),
            b"<".to_vec(),
            b"@".to_vec(),
            b"%".to_vec(),
            b"[".to_vec(),
            b"Content-Length: 99999999999999999999\r\n".to_vec(),
            b"l: 3\r\n".to_vec(),
        ]),
    ];
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(p, b)| Mutation::FlipBit(p, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), interesting).prop_map(|(p, b)| Mutation::Insert(p, b)),
        (any::<usize>(), 1usize..16).prop_map(|(p, n)| Mutation::Remove(p, n)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len().max(1);
    match m {
        Mutation::FlipBit(p, b) => {
            if let Some(byte) = bytes.get_mut(p % len) {
                *byte ^= 1 << b;
            }
        }
        Mutation::Truncate(p) => bytes.truncate(p % len),
        Mutation::Insert(p, ins) => {
            let at = (p % len).min(bytes.len());
            bytes.splice(at..at, ins.iter().copied());
        }
        Mutation::Remove(p, n) => {
            let at = (p % len).min(bytes.len());
            let end = (at + n).min(bytes.len());
            bytes.drain(at..end);
        }
    }
}

/// Anything that parses must print to something that parses to the same message.
fn assert_reparses(bytes: &[u8]) {
    if let Ok(first) = Message::parse(bytes) {
        let printed = first.to_bytes();
        let second = Message::parse(&printed).unwrap_or_else(|e| {
            panic!(
                "expected the printed message to parse, got {e}\ninput: {:?}\nprinted: {:?}",
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(&printed)
            )
        });
        assert_eq!(
            without_content_length(second),
            without_content_length(first)
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let _ = Message::parse(&bytes);
        let _ = sip::message::message_len(&bytes);
        let mut framer = StreamFramer::new();
        framer.push(&bytes);
        for _ in 0..4 {
            if !matches!(framer.next_frame(), Ok(Some(_))) {
                break;
            }
        }
    }

    #[test]
    fn sip_like_text_never_panics(text in "(INVITE|SIP/2\\.0|[A-Za-z:;,<>@\"\\[\\]% /=.0-9\r\n-]){0,300}") {
        assert_reparses(text.as_bytes());
    }

    #[test]
    fn mutated_torture_messages_never_panic_and_reparse(
        seed in any::<prop::sample::Index>(),
        mutations in proptest::collection::vec(mutation(), 1..5),
    ) {
        let seeds = seeds();
        let mut bytes = seed.get(&seeds).clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        assert_reparses(&bytes);
    }

    #[test]
    fn generated_requests_round_trip(req in request()) {
        let bytes = req.to_bytes();
        let parsed = Message::parse(&bytes)
            .unwrap_or_else(|e| panic!("expected {:?} to parse, got {e}", String::from_utf8_lossy(&bytes)));
        prop_assert_eq!(without_content_length(parsed), Message::Request(req));
    }

    #[test]
    fn generated_responses_round_trip(
        req in request(),
        status in 100u16..700,
        reason in "[ -~\u{a0}-\u{17f}]{0,30}",
    ) {
        let mut response = Response::for_request(&req, status);
        response.reason = reason.trim().to_string();
        response.body = req.body.clone();
        let bytes = response.to_bytes();
        let parsed = Message::parse(&bytes)
            .unwrap_or_else(|e| panic!("expected {:?} to parse, got {e}", String::from_utf8_lossy(&bytes)));
        prop_assert_eq!(without_content_length(parsed), Message::Response(response));
    }

    #[test]
    fn uri_round_trips(uri in sip_uri()) {
        prop_assert_eq!(Uri::parse(&uri.to_string()), Ok(uri));
    }

    #[test]
    fn name_addr_round_trips(na in name_addr()) {
        prop_assert_eq!(NameAddr::parse(&na.to_string()), Ok(na));
    }

    #[test]
    fn via_round_trips(v in via()) {
        prop_assert_eq!(Via::parse(&v.to_string()), Ok(v));
    }

    #[test]
    fn framing_does_not_depend_on_read_boundaries(
        reqs in proptest::collection::vec((request(), any::<bool>()), 1..5),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for (req, ping_after) in &reqs {
            let bytes = req.to_bytes();
            stream.extend_from_slice(&bytes);
            expected.push(Frame::Message(bytes));
            if *ping_after {
                stream.extend_from_slice(b"\r\n\r\n");
                expected.push(Frame::Ping);
            }
        }
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        points.push(0);
        points.push(stream.len());
        points.sort_unstable();
        points.dedup();
        let mut framer = StreamFramer::new();
        let mut frames = Vec::new();
        for pair in points.windows(2) {
            framer.push(&stream[pair[0]..pair[1]]);
            while let Some(frame) = framer.next_frame().expect("a well-formed stream frames") {
                frames.push(frame);
            }
        }
        prop_assert_eq!(frames, expected);
        prop_assert_eq!(framer.buffered(), 0);
    }
}
