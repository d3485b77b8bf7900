//! Sans-IO SIP for Switchboard.
//!
//! This crate knows the SIP protocol and nothing else: it never opens a
//! socket, never reads a clock and never touches a database. Bytes and the
//! current time go in; messages to send, events for the call logic and the
//! next deadline come out. The `server` crate drives it from tokio.
//!
//! - [`message`]: the message model, parser and printer.
//! - [`framing`]: splitting a TCP byte stream into messages.
//! - [`transaction`]: the four RFC 3261 §17 state machines (with the RFC 6026
//!   Accepted states) and the timer table.
//! - [`endpoint`]: the driver-facing API joining parsing, transactions and
//!   response routing: `handle_bytes` / `handle_timeout` in,
//!   `poll_transmit` / `poll_event` / `poll_timeout` out.
//! - [`dialog`]: RFC 3261 §12 dialogs (route sets, CSeq rules, in-dialog requests).
//! - [`auth`]: server-side digest authentication (MD5, SHA-256, `-sess`) and the
//!   throttling guard against password guessing.
//! - [`registrar`]: REGISTER processing as a pure function over the current bindings.
//! - [`validate`]: the semantic checks a UAS applies before acting on a request.
//!
//! ```
//! use sip::message::{Message, Method};
//! let bytes = b"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n\
//! From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n\r\n";
//! let Message::Request(req) = Message::parse(bytes).unwrap() else { unreachable!() };
//! assert_eq!(req.method, Method::Options);
//! ```

pub mod auth;
pub mod dialog;
pub mod endpoint;
pub mod framing;
pub mod message;
pub mod registrar;
pub mod transaction;
pub mod validate;
