//! Feeds arbitrary bytes to `Message::parse` as if they were one UDP datagram.
//! Whatever parses must print to bytes that parse back to the same message,
//! and every typed view and the UAS checks must answer without panicking.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sip::message::{Message, NameAddr, Uri, Via};

fn without_content_length(mut m: Message) -> Message {
    match &mut m {
        Message::Request(r) => r.headers.remove("Content-Length"),
        Message::Response(r) => r.headers.remove("Content-Length"),
    }
    m
}

fuzz_target!(|data: &[u8]| {
    let parsed = match Message::parse(data) {
        Ok(m) => m,
        Err(e) => {
            // A rejection must be answerable from what it kept.
            if let (Some(_), Some(head)) = (e.status(), &e.head) {
                let _ = sip::message::Response::for_headers(&head.headers, 400).to_bytes();
            }
            return;
        }
    };
    let headers = parsed.headers();
    let _ = headers.vias();
    let _ = headers.from();
    let _ = headers.to();
    let _ = headers.contacts();
    let _ = headers.routes("Route");
    let _ = headers.routes("Record-Route");
    let _ = headers.number("Expires");
    for header in headers.iter() {
        let _ = Uri::parse(&header.value);
        let _ = NameAddr::parse(&header.value);
        let _ = Via::parse(&header.value);
    }
    if let Message::Request(req) = &parsed {
        if let Err(rejection) = sip::validate::check_request(req) {
            let _ = rejection.to_response(req).to_bytes();
        }
        let _ = req.uri.user_unescaped();
    }
    let printed = parsed.to_bytes();
    let again = Message::parse(&printed).expect("a printed message parses");
    assert_eq!(
        without_content_length(again),
        without_content_length(parsed),
        "print → parse changed the message"
    );
});
