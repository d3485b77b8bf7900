//! The server's HTTP admin API as the tests use it: one request, its status and body.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Sends `method path` (no body) to the admin API at `addr`; returns the status and body.
/// Panics with what was expected and what arrived when the server does not answer HTTP.
pub fn admin_request(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    admin_request_with_body(addr, method, path, "")
}

/// Like [`admin_request`], sending `body` (JSON, or anything a test wants refused) with
/// `Content-Type: application/json`; an empty body is sent without a content type.
pub fn admin_request_with_body(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("connecting to the HTTP API at {addr}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let content_type = if body.is_empty() {
        ""
    } else {
        "Content-Type: application/json\r\n"
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{content_type}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap_or_else(|e| panic!("sending {method} {path}: {e}"));
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap_or_else(|e| {
        panic!("reading the response to {method} {path}: {e}; so far: {response}")
    });
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            panic!("expected an HTTP status line from {method} {path}, got {response:?}")
        });
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// `GET path`.
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    admin_request(addr, "GET", path)
}

/// `POST path` with an empty body.
pub fn http_post(addr: SocketAddr, path: &str) -> (u16, String) {
    admin_request(addr, "POST", path)
}

/// `POST path` with `body` as JSON.
pub fn http_post_json(addr: SocketAddr, path: &str, body: &str) -> (u16, String) {
    admin_request_with_body(addr, "POST", path, body)
}
