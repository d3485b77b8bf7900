//! The RFC 4475 torture messages (fixtures of the `sip` crate) sent to the running server over UDP.
//!
//! Each message gets an extra topmost Via naming the test's socket, exactly as a proxy forwarding it
//! would add one, so responses come back to the test whatever the message's own Via says; the rest
//! of the message is byte for byte the RFC's. Expectations:
//! - §3.1.1 valid requests get a final response, and not 400; valid responses get no answer;
//! - §3.1.2 invalid messages get no answer or the rejection the RFC names (400; 400 or 501 for
//!   mismatch02; baddate may also be processed normally); badvers must get its 505, also when sent
//!   as is, with only its own `SIP/7.0` Via (answered to the source address);
//! - §3.2–3.4 messages get the refusal the RFC names (400, 416, 420, 415, 406), or, when they are
//!   acceptable, neither 400 nor a server error;
//! - afterwards the server still answers OPTIONS.

use std::path::PathBuf;
use std::time::Duration;
use switchboard_e2e::{Server, ServerOptions, SipResponse, UdpProbe, options_udp, repo_root};

fn fixtures(dir: &str) -> Vec<(String, Vec<u8>)> {
    let path: PathBuf = repo_root()
        .join("crates/sip/tests/fixtures/rfc4475")
        .join(dir);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("expected RFC 4475 fixtures in {}: {e}", path.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", path.display());
    files
}

/// Inserts `via` after the start line, keeping the message's own line ending style.
fn with_top_via(message: &[u8], via: &str) -> Vec<u8> {
    let Some(newline) = message.iter().position(|&b| b == b'\n') else {
        return message.to_vec();
    };
    let crlf = newline > 0 && message[newline - 1] == b'\r';
    let mut out = message[..=newline].to_vec();
    out.extend_from_slice(via.as_bytes());
    out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
    out.extend_from_slice(&message[newline + 1..]);
    out
}

fn is_response(message: &[u8]) -> bool {
    message.starts_with(b"SIP/")
}

/// Sends one fixture and returns the first final response arriving within `window`, if any.
fn exchange(server: &Server, name: &str, message: &[u8], window: Duration) -> Option<SipResponse> {
    let probe = UdpProbe::bind().unwrap();
    let local = probe.local_addr().unwrap();
    let bytes = if is_response(message) {
        message.to_vec()
    } else {
        with_top_via(
            message,
            &format!("Via: SIP/2.0/UDP {local};branch=z9hG4bK-rfc4475-{name};rport"),
        )
    };
    probe.send(&bytes, server.sip_addr()).unwrap();
    probe.final_response(window).unwrap()
}

fn finals(response: Option<SipResponse>) -> Vec<u16> {
    response.map(|r| r.status).into_iter().collect()
}

#[test]
fn rfc4475_messages_get_the_right_answers_and_the_server_survives() {
    let server = Server::start(ServerOptions::new()).unwrap();
    let window = Duration::from_secs(1);
    let mut failures = Vec::new();

    for (name, message) in fixtures("valid") {
        let codes = finals(exchange(&server, &name, &message, window));
        let ok = if is_response(&message) {
            codes.is_empty()
        } else {
            !codes.is_empty() && !codes.contains(&400)
        };
        println!("valid/{name}: final responses {codes:?}");
        if !ok {
            failures.push(format!(
                "valid/{name}: expected {}, got {codes:?}",
                if is_response(&message) {
                    "no answer to a response"
                } else {
                    "a final response other than 400"
                }
            ));
        }
    }

    for (name, message) in fixtures("invalid") {
        let codes = finals(exchange(&server, &name, &message, window));
        let allowed: &[u16] = match name.as_str() {
            "badvers" => &[505],
            "mismatch02" => &[400, 501],
            _ => &[400],
        };
        // baddate: RFC 4475 §3.1.2.12 lets an element process the request normally.
        // badvers: §3.1.2.16 says the element should answer 505, so it must.
        let ok = match name.as_str() {
            "baddate" => true,
            "badvers" => codes == [505],
            _ => codes.iter().all(|c| allowed.contains(c)),
        };
        println!("invalid/{name}: final responses {codes:?}");
        if !ok {
            failures.push(format!(
                "invalid/{name}: expected no answer or one of {allowed:?}, got {codes:?}"
            ));
        }
    }

    for (name, message) in fixtures("semantic") {
        let codes = finals(exchange(&server, &name, &message, window));
        println!("semantic/{name}: final responses {codes:?}");
        let ok = match expected_refusal(&name) {
            // The RFC names the response an element should send.
            Some(code) => codes == [code],
            // Well-formed and acceptable: no 400 and no server error (a response gets no answer).
            None => !codes.iter().any(|c| *c == 400 || *c >= 500),
        };
        if !ok {
            failures.push(format!(
                "semantic/{name}: expected {}, got {codes:?}",
                expected_refusal(&name).map_or("no 400 or 5xx".to_owned(), |c| c.to_string())
            ));
        }
    }

    let alive = options_udp(server.sip_addr(), Duration::from_secs(5)).unwrap();
    match alive {
        Some(response) if response.status == 200 => {}
        other => failures.push(format!(
            "after the torture messages, expected 200 to OPTIONS, got {other:?}"
        )),
    }
    assert!(
        failures.is_empty(),
        "RFC 4475 failures:\n{}",
        failures.join("\n")
    );
}

/// RFC 4475 §3.1.2.16 byte for byte, with no Via of ours on top: its only Via says
/// `SIP/7.0/UDP c.example.com`, so the 505 must go back to the address it came from.
#[test]
fn badvers_as_sent_gets_505_at_its_source_address() {
    let server = Server::start(ServerOptions::new()).unwrap();
    let (_, message) = fixtures("invalid")
        .into_iter()
        .find(|(name, _)| name == "badvers")
        .expect("the badvers fixture");
    let probe = UdpProbe::bind().unwrap();
    probe.send(&message, server.sip_addr()).unwrap();
    let response = probe.final_response(Duration::from_secs(3)).unwrap();
    let status = response.as_ref().map(|r| r.status);
    assert_eq!(
        status,
        Some(505),
        "expected 505 at the source, got {response:?}"
    );
    let response = response.unwrap();
    assert_eq!(
        response.header("Call-ID"),
        Some("badvers.31417@c.example.com")
    );
}

/// The response RFC 4475 §3.2–3.4 says an element sends for a semantically bad request, if any.
fn expected_refusal(name: &str) -> Option<u16> {
    match name {
        "insuf" | "unksm2" | "multi01" | "mcl01" => Some(400), // §3.3.1, §3.3.4, §3.3.8, §3.3.9
        "unkscm" | "novelsc" => Some(416), // §3.3.2, §3.3.3 Unsupported URI Scheme
        "bext01" => Some(420),             // §3.3.5 Bad Extension
        "invut" => Some(415),              // §3.3.6 Unsupported Media Type
        "sdp01" => Some(406),              // §3.3.15 Not Acceptable
        _ => None,
    }
}

#[test]
fn top_via_insertion_keeps_line_endings() {
    assert_eq!(
        with_top_via(b"OPTIONS sip:x SIP/2.0\r\nTo: y\r\n\r\n", "Via: v"),
        b"OPTIONS sip:x SIP/2.0\r\nVia: v\r\nTo: y\r\n\r\n".to_vec()
    );
    assert_eq!(with_top_via(b"A\nB\n", "V"), b"A\nV\nB\n".to_vec());
}
