//! RFC 4475 torture messages against the parser and the UAS checks.
//!
//! The fixtures in `tests/fixtures/rfc4475/` are the RFC's messages byte for
//! byte (see the README there). Each is listed below with the outcome this
//! stack must produce and the RFC's own words on what an element should do.
//! Every message that parses must also survive print → parse unchanged.

use sip::message::{Host, Message, Method, ParseError, Request, Scheme};
use sip::validate::{check_request, forward_max_forwards};
use std::path::PathBuf;

/// What must happen to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Parses; a request also passes `validate::check_request`.
    Accept,
    /// Parses, but `validate::check_request` refuses it with this status.
    Refuse(u16),
    /// The parser rejects it and `ParseError::status()` gives this status.
    Reject(u16),
    /// The parser rejects it and no response can or should be sent.
    Drop,
}

use Outcome::{Accept, Drop, Refuse, Reject};

struct Case {
    dir: &'static str,
    name: &'static str,
    outcome: Outcome,
    /// What RFC 4475 says an element should do (quoted or closely paraphrased).
    rfc: &'static str,
}

const fn case(dir: &'static str, name: &'static str, outcome: Outcome, rfc: &'static str) -> Case {
    Case {
        dir,
        name,
        outcome,
        rfc,
    }
}

const CASES: &[Case] = &[
    // §3.1.1 valid messages.
    case(
        "valid",
        "wsinv",
        Accept,
        "3.1.1.1: All elements should treat this as a well-formed request.",
    ),
    case(
        "valid",
        "intmeth",
        Refuse(501),
        "3.1.1.2: Endpoints will generate a 501 listing the methods they understand in an Allow header field.",
    ),
    case(
        "valid",
        "esc01",
        Accept,
        "3.1.1.3: A parser must accept this as a well-formed message.",
    ),
    case(
        "valid",
        "escnull",
        Accept,
        "3.1.1.4: The message is well formed - parsers must accept this message.",
    ),
    case(
        "valid",
        "esc02",
        Refuse(501),
        "3.1.1.5: A parser should accept this message as well formed. An endpoint would reject this message with a 501.",
    ),
    case(
        "valid",
        "lwsdisp",
        Accept,
        "3.1.1.6: Elements should accept this request as well formed.",
    ),
    case(
        "valid",
        "longreq",
        Accept,
        "3.1.1.7: This well-formed request contains header fields with many values and values that are very long.",
    ),
    case(
        "valid",
        "dblreq",
        Accept,
        "3.1.1.8: handle the REGISTER request normally and ignore the extra bits that look like an INVITE request.",
    ),
    case(
        "valid",
        "semiuri",
        Accept,
        "3.1.1.9: Receiving elements will accept this as a well-formed message.",
    ),
    case(
        "valid",
        "transports",
        Accept,
        "3.1.1.10: Parsers must accept this message as well formed.",
    ),
    case(
        "valid",
        "mpart01",
        Refuse(501),
        "3.1.1.11: Parsers must accept this message as well formed (MESSAGE is not a method this UA implements: 501).",
    ),
    case(
        "valid",
        "unreason",
        Accept,
        "3.1.1.12: This response is well formed. A parser must accept this message.",
    ),
    case(
        "valid",
        "noreason",
        Accept,
        "3.1.1.13: This well-formed response contains no reason phrase. A parser must accept this message.",
    ),
    // §3.1.2 invalid messages.
    case(
        "invalid",
        "badinv01",
        Reject(400),
        "3.1.2.1: An element receiving this request should respond with a 400 Bad Request error.",
    ),
    case(
        "invalid",
        "clerr",
        Reject(400),
        "3.1.2.2: When sent over UDP, the receiving element should respond with a 400 Bad Request error.",
    ),
    case(
        "invalid",
        "ncl",
        Reject(400),
        "3.1.2.3: An element receiving this message should respond with an error.",
    ),
    case(
        "invalid",
        "scalar02",
        Reject(400),
        "3.1.2.4: An element receiving this request should respond with a 400 Bad Request due to the CSeq error.",
    ),
    case(
        "invalid",
        "scalarlg",
        Drop,
        "3.1.2.5: An element receiving this response will simply discard it.",
    ),
    case(
        "invalid",
        "quotbal",
        Reject(400),
        "3.1.2.6: An element receiving this request should return a 400 Bad Request error.",
    ),
    case(
        "invalid",
        "ltgtruri",
        Reject(400),
        "3.1.2.7: It is reasonable always to reject a request with this error with a 400 Bad Request.",
    ),
    case(
        "invalid",
        "lwsruri",
        Reject(400),
        "3.1.2.8: An element receiving this request should respond with a 400 Bad Request.",
    ),
    case(
        "invalid",
        "lwsstart",
        Reject(400),
        "3.1.2.9: It is acceptable to reject this request as malformed.",
    ),
    case(
        "invalid",
        "trws",
        Reject(400),
        "3.1.2.10: It is acceptable to reject this request as malformed.",
    ),
    case(
        "invalid",
        "escruri",
        Reject(400),
        "3.1.2.11: It is acceptable for an element to reject this request with a 400 Bad Request.",
    ),
    case(
        "invalid",
        "baddate",
        Accept,
        "3.1.2.12: an element shouldn't [reject] unless the contents of the Date header field were actually important to its processing (Date is unused here).",
    ),
    case(
        "invalid",
        "regbadct",
        Reject(400),
        "3.1.2.13: It is reasonable for an element receiving this request to respond with a 400 Bad Request.",
    ),
    case(
        "invalid",
        "badaspec",
        Reject(400),
        "3.1.2.14: It is reasonable to reject this request with a 400 Bad Request response.",
    ),
    case(
        "invalid",
        "baddn",
        Reject(400),
        "3.1.2.15: It is reasonable always to reject this kind of error with a 400 Bad Request response.",
    ),
    case(
        "invalid",
        "badvers",
        Reject(505),
        "3.1.2.16: The element should respond to the request with a 505 Version Not Supported error.",
    ),
    case(
        "invalid",
        "mismatch01",
        Reject(400),
        "3.1.2.17: Any element receiving this request will respond with a 400 Bad Request.",
    ),
    case(
        "invalid",
        "mismatch02",
        Reject(400),
        "3.1.2.18: should respond with a 501 Not Implemented. A 400 Bad Request is also acceptable (the parser sees the mismatch before the method is looked up).",
    ),
    case(
        "invalid",
        "bigcode",
        Drop,
        "3.1.2.19: An element receiving this response should simply drop it.",
    ),
    // §3.2-3.4: well-formed messages with transaction- or application-layer problems.
    case(
        "semantic",
        "badbranch",
        Accept,
        "3.2.1: A parser must not break ... could reject the request with a 400 Response ... or it could fall back to the RFC 2543-style transaction identifier.",
    ),
    case(
        "semantic",
        "insuf",
        Reject(400),
        "3.3.1: An element receiving this message must not break ... Ideally, it will respond with a 400 Bad Request error.",
    ),
    case(
        "semantic",
        "unkscm",
        Refuse(416),
        "3.3.2: An element receiving this request will reject it with a 416 Unsupported URI Scheme response.",
    ),
    case(
        "semantic",
        "novelsc",
        Refuse(416),
        "3.3.3: If an element will never accept this scheme as meaningful in a Request-URI, it is appropriate to ... return a 416.",
    ),
    case(
        "semantic",
        "unksm2",
        Refuse(400),
        "3.3.4: A registrar would reject this request with a 400 Bad Request response, since the To: header field is required to contain a SIP or SIPS URI.",
    ),
    case(
        "semantic",
        "bext01",
        Refuse(420),
        "3.3.5: An element ... will respond with a 420 Bad Extension ... listing the option-tags in Unsupported.",
    ),
    case(
        "semantic",
        "invut",
        Refuse(415),
        "3.3.6: An element receiving this request ... will respond with a 415 Unsupported Media Type, listing the acceptable types in Accept.",
    ),
    case(
        "semantic",
        "regaut01",
        Accept,
        "3.3.7: A registrar that does care about challenge-response authentication will reject this request with a 401 (the auth layer's job, after these checks).",
    ),
    case(
        "semantic",
        "multi01",
        Refuse(400),
        "3.3.8: An element receiving this request would respond with a 400 Bad Request.",
    ),
    case(
        "semantic",
        "mcl01",
        Reject(400),
        "3.3.9: There is no way to know how many octets are supposed to be here ... should respond with a 400 Bad Request.",
    ),
    case(
        "semantic",
        "bcast",
        Accept,
        "3.3.10: A UAC would process this response normally; only a proxy forwarding it must watch the broadcast Via.",
    ),
    case(
        "semantic",
        "zeromf",
        Accept,
        "3.3.11: An endpoint should process the request as if the Max-Forwards field value were still positive (483 is a proxy's answer).",
    ),
    case(
        "semantic",
        "cparam01",
        Accept,
        "3.3.12: This REGISTER is well formed; unknownparam is a Contact header parameter, not a URI parameter.",
    ),
    case(
        "semantic",
        "cparam02",
        Accept,
        "3.3.13: This REGISTER is well formed; unknownparam is a parameter of the Contact URI.",
    ),
    case(
        "semantic",
        "regescrt",
        Accept,
        "3.3.14: This is a valid REGISTER; the registrar stores the contact URI with its escaped Route header.",
    ),
    case(
        "semantic",
        "sdp01",
        Refuse(406),
        "3.3.15: The recipient of this request could respond with a 406 Not Acceptable ... It is also appropriate to respond with a 400.",
    ),
    case(
        "semantic",
        "inv2543",
        Accept,
        "3.4.1: should be accepted by RFC 3261 elements that want to maintain backwards compatibility.",
    ),
];

fn fixture(dir: &str, name: &str) -> Vec<u8> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests/fixtures/rfc4475", dir]
        .iter()
        .collect::<PathBuf>()
        .join(format!("{name}.dat"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("expected fixture {}: {e}", path.display()))
}

fn describe(result: &Result<Message, ParseError>) -> String {
    match result {
        Ok(Message::Request(r)) => format!("a parsed {} request", r.method),
        Ok(Message::Response(r)) => format!("a parsed {} response", r.status),
        Err(e) => format!("{:?} (status {:?}): {}", e.kind, e.status(), e.detail),
    }
}

/// The message without its Content-Length header fields, which printing regenerates.
fn without_content_length(mut m: Message) -> Message {
    match &mut m {
        Message::Request(r) => r.headers.remove("Content-Length"),
        Message::Response(r) => r.headers.remove("Content-Length"),
    }
    m
}

#[test]
fn every_fixture_has_a_case_and_every_case_a_fixture() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rfc4475");
    let mut on_disk = Vec::new();
    for dir in ["valid", "invalid", "semantic"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("fixture directory") {
            let name = entry.expect("directory entry").file_name();
            let name = name.to_string_lossy();
            if let Some(stem) = name.strip_suffix(".dat") {
                on_disk.push(format!("{dir}/{stem}"));
            }
        }
    }
    on_disk.sort();
    let mut listed: Vec<String> = CASES
        .iter()
        .map(|c| format!("{}/{}", c.dir, c.name))
        .collect();
    listed.sort();
    assert_eq!(on_disk, listed);
    assert_eq!(CASES.iter().filter(|c| c.dir == "valid").count(), 13);
    assert_eq!(CASES.iter().filter(|c| c.dir == "invalid").count(), 19);
}

#[test]
fn outcomes_match_rfc_4475() {
    let mut failures = Vec::new();
    for c in CASES {
        let bytes = fixture(c.dir, c.name);
        let parsed = Message::parse(&bytes);
        let got = match &parsed {
            Ok(Message::Request(req)) => match check_request(req) {
                Ok(()) => Accept,
                Err(r) => Refuse(r.status),
            },
            Ok(Message::Response(_)) => Accept,
            Err(e) => match e.status() {
                Some(code) => Reject(code),
                None => Drop,
            },
        };
        if got != c.outcome {
            failures.push(format!(
                "{}/{}: expected {:?}, got {:?} from {}\n    RFC 4475 §{}",
                c.dir,
                c.name,
                c.outcome,
                got,
                describe(&parsed),
                c.rfc
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn parsed_messages_survive_print_and_parse() {
    for c in CASES {
        let Ok(first) = Message::parse(&fixture(c.dir, c.name)) else {
            continue;
        };
        let printed = first.to_bytes();
        let second = Message::parse(&printed).unwrap_or_else(|e| {
            panic!(
                "{}: expected the printed message to parse, got {e}\n{}",
                c.name,
                String::from_utf8_lossy(&printed)
            )
        });
        assert_eq!(
            without_content_length(second),
            without_content_length(first),
            "{}: print → parse changed the message",
            c.name
        );
    }
}

fn request(dir: &str, name: &str) -> Request {
    match Message::parse(&fixture(dir, name)) {
        Ok(Message::Request(r)) => r,
        other => panic!("{name}: expected a request, got {}", describe(&other)),
    }
}

#[test]
fn wsinv_fields() {
    let r = request("valid", "wsinv");
    assert_eq!(r.method, Method::Invite);
    assert!(r.uri.params.contains("unknownparam"));
    assert_eq!(r.headers.to().unwrap().tag(), Some("1918181833n"));
    let from = r.headers.from().unwrap();
    assert_eq!(from.display.as_deref(), Some("J Rosenberg \\\""));
    assert_eq!(from.tag(), Some("98asjd8"));
    assert_eq!(r.headers.number("Max-Forwards").unwrap(), Some(68));
    assert_eq!(r.headers.cseq().unwrap().seq, 9);
    let vias = r.headers.vias().unwrap();
    let hosts: Vec<String> = vias.iter().map(|v| v.host.to_string()).collect();
    assert_eq!(
        hosts,
        ["192.0.2.2", "spindle.example.com", "192.168.255.111"]
    );
    assert_eq!(vias[1].transport, "TCP");
    assert_eq!(vias[2].branch(), Some("z9hG4bK30239"));
    assert_eq!(r.headers.get("Subject"), Some(""));
    assert_eq!(
        r.headers.get("NewFangledHeader"),
        Some("newfangled value continued newfangled value")
    );
    assert_eq!(
        r.headers.get("UnknownHeaderWithUnusualValue"),
        Some(";;,,;;,;")
    );
    let contact = &r.headers.contacts().unwrap().unwrap()[0];
    assert_eq!(contact.display.as_deref(), Some("Quoted string \"\""));
    assert_eq!(contact.params.value("newparam"), Some("newvalue"));
    assert_eq!(contact.params.get("secondparam"), Some(None));
    assert_eq!(contact.params.value("q"), Some("0.33"));
    let route = &r.headers.routes("Route").unwrap()[0];
    assert!(route.uri.params.contains("lr"));
    assert_eq!(r.body.len(), 150);
}

#[test]
fn intmeth_fields() {
    let r = request("valid", "intmeth");
    assert_eq!(
        r.method,
        Method::Extension("!interesting-Method0123456789_*+`.%indeed'~".into())
    );
    assert_eq!(
        r.uri.user.as_deref(),
        Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    );
    assert_eq!(
        r.uri.password.as_deref(),
        Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
    );
    assert_eq!(r.uri.host, Host::Domain("example.com".into()));
    assert_eq!(
        r.headers.to().unwrap().display.as_deref(),
        Some("BEL:\u{7} NUL:\u{0} DEL:\u{7f}")
    );
    let from = r.headers.from().unwrap();
    assert_eq!(
        from.display.as_deref(),
        Some("token1~` token2'+_ token3*%!.-")
    );
    assert_eq!(from.tag(), Some("_token~1'+`*%!-."));
    assert_eq!(
        from.params.value("fromParam''~+*_!.-%"),
        Some("\"работающий\"")
    );
    assert_eq!(
        r.headers.call_id().unwrap(),
        "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    );
    assert_eq!(
        r.headers.vias().unwrap()[0].branch(),
        Some("z9hG4bK-.!%66*_+`'~")
    );
    assert_eq!(
        r.headers.get("extensionHeader-!.%*+_`'~"),
        Some("\u{feff}大停電")
    );
}

#[test]
fn escaping_fixtures() {
    let r = request("valid", "esc01");
    assert_eq!(
        r.uri.user_unescaped().as_deref(),
        Some("sips:user@example.com")
    );
    assert_eq!(
        r.headers.to().unwrap().uri.user_unescaped().as_deref(),
        Some("user")
    );
    let contact = &r.headers.contacts().unwrap().unwrap()[0];
    assert_eq!(contact.uri.user_unescaped().as_deref(), Some("caller"));
    assert_eq!(contact.uri.params.value("n%61me"), Some("v%61lue%25%34%31"));
    let r = request("valid", "escnull");
    let contacts = r.headers.contacts().unwrap().unwrap();
    assert_eq!(contacts.len(), 2);
    assert_eq!(contacts[0].uri.user_unescaped().as_deref(), Some("\0"));
    assert_eq!(contacts[1].uri.user_unescaped().as_deref(), Some("\0\0"));
    let r = request("valid", "esc02");
    assert_eq!(r.method, Method::Extension("RE%47IST%45R".into()));
    assert_eq!(r.headers.contacts().unwrap().unwrap().len(), 2);
    assert_eq!(
        r.headers.get("C%6Fntact"),
        Some("<sip:alias2@host2.example.com>")
    );
    assert_eq!(r.headers.to().unwrap().display.as_deref(), Some("%Z%45"));
    let r = request("valid", "semiuri");
    assert_eq!(
        r.uri.user_unescaped().as_deref(),
        Some("user;par=u@example.net")
    );
    assert_eq!(r.headers.get_all("Accept").len(), 6);
}

#[test]
fn long_and_double_messages() {
    let r = request("valid", "longreq");
    assert_eq!(r.headers.vias().unwrap().len(), 34);
    let to = r.headers.to().unwrap();
    assert_eq!(to.uri.port, Some(6000));
    assert!(to.display.unwrap().ends_with("extreme proportion"));
    assert_eq!(r.headers.from().unwrap().tag().map(str::len), Some(155));
    let r = request("valid", "dblreq");
    assert_eq!(r.method, Method::Register);
    assert!(
        r.body.is_empty(),
        "the trailing INVITE is not part of the REGISTER"
    );
    let r = request("valid", "transports");
    let transports: Vec<String> = r
        .headers
        .vias()
        .unwrap()
        .into_iter()
        .map(|v| v.transport)
        .collect();
    assert_eq!(transports, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
    let r = request("valid", "mpart01");
    assert_eq!(r.body.len(), 553);
    assert!(r.body.contains(&0));
}

#[test]
fn responses_and_odd_schemes() {
    let Ok(Message::Response(r)) = Message::parse(&fixture("valid", "unreason")) else {
        panic!("expected unreason to parse as a response")
    };
    assert_eq!(r.status, 200);
    assert_eq!(r.reason, "= 2**3 * 5**2 но сто девяносто девять - простое");
    let Ok(Message::Response(r)) = Message::parse(&fixture("valid", "noreason")) else {
        panic!("expected noreason to parse as a response")
    };
    assert_eq!((r.status, r.reason.as_str()), (100, ""));
    let r = request("semantic", "unkscm");
    assert_eq!(r.uri.scheme, Scheme::Other("nobodyknowsthisscheme".into()));
    let r = request("semantic", "cparam01");
    let contact = &r.headers.contacts().unwrap().unwrap()[0];
    assert!(contact.params.contains("unknownparam") && contact.uri.params.is_empty());
    let r = request("semantic", "cparam02");
    let contact = &r.headers.contacts().unwrap().unwrap()[0];
    assert!(contact.uri.params.contains("unknownparam") && contact.params.is_empty());
}

#[test]
fn semantic_rejections_carry_their_headers() {
    let r = request("semantic", "bext01");
    let rejection = check_request(&r).unwrap_err();
    let response = rejection.to_response(&r);
    assert_eq!(
        response.headers.get("Unsupported"),
        Some("nothingSupportsThis, nothingSupportsThisEither")
    );
    assert_eq!(
        response.headers.get("Call-ID"),
        Some("bext01.0ha0isndaksdj")
    );
    let r = request("semantic", "invut");
    let response = check_request(&r).unwrap_err().to_response(&r);
    assert!(
        response
            .headers
            .get("Accept")
            .unwrap()
            .contains("application/sdp")
    );
    let r = request("valid", "intmeth");
    let response = check_request(&r).unwrap_err().to_response(&r);
    assert!(response.headers.get("Allow").unwrap().contains("OPTIONS"));
    // §3.3.11: "A proxy should not forward the request and should respond 483"; the
    // UAS answers it itself, and a B2BUA leg may not be created from it.
    let r = request("semantic", "zeromf");
    assert_eq!(check_request(&r), Ok(()));
    assert_eq!(forward_max_forwards(&r).unwrap_err().status, 483);
    assert_eq!(forward_max_forwards(&request("valid", "wsinv")), Ok(67));
}

#[test]
fn rejected_requests_keep_what_a_response_needs() {
    for c in CASES.iter().filter(|c| matches!(c.outcome, Reject(_))) {
        let e = Message::parse(&fixture(c.dir, c.name)).unwrap_err();
        let head = e.head.as_ref().expect("a rejected request keeps its head");
        assert!(head.headers.contains("Via"), "{}: {e}", c.name);
        assert!(!e.detail.is_empty());
    }
}

/// Over TCP the same bytes are framed by Content-Length (RFC 3261 §18.3).
#[test]
fn stream_transport_framing() {
    use sip::framing::{Frame, StreamFramer};
    let frames = |bytes: &[u8]| {
        let mut framer = StreamFramer::new();
        framer.push(bytes);
        let mut out = Vec::new();
        loop {
            match framer.next_frame() {
                Ok(Some(Frame::Message(m))) => out.push(m),
                Ok(Some(Frame::Ping)) => {}
                Ok(None) => return Ok((out, framer.buffered())),
                Err(e) => return Err(e.detail),
            }
        }
    };
    // "If this message arrived over a stream-based transport, such as TCP, there's
    // not much the receiving party could do but wait for more data" (§3.1.2.2).
    let (got, buffered) = frames(&fixture("invalid", "clerr")).unwrap();
    assert!(got.is_empty() && buffered > 0);
    // "If a request like this arrives over TCP, the framing error is not
    // recoverable, and the connection should be closed" (§3.1.2.3).
    assert!(frames(&fixture("invalid", "ncl")).is_err());
    assert!(frames(&fixture("semantic", "mcl01")).is_err());
    // RFC 2543 allowed a missing Content-Length; a stream cannot be framed without it.
    assert!(frames(&fixture("semantic", "inv2543")).is_err());
    // On a stream the octets after dblreq's REGISTER are the next message.
    let (got, buffered) = frames(&fixture("valid", "dblreq")).unwrap();
    assert_eq!(got.len(), 2);
    // The INVITE's body ("m =video …") is 153 octets against a Content-Length of 150.
    assert_eq!(buffered, 3);
    assert!(
        matches!(Message::parse(&got[1]), Ok(Message::Request(r)) if r.method == Method::Invite)
    );
    let (got, _) = frames(&fixture("valid", "mpart01")).unwrap();
    assert_eq!(got, [fixture("valid", "mpart01")]);
}
