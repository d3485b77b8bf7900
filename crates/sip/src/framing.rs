//! Stream framing (RFC 3261 §18.3): a TCP connection delivers bytes in
//! arbitrary pieces; messages are delimited by the empty line and
//! Content-Length. CRLF keep-alives (RFC 5626 §3.5.1) are recognised:
//! a double CRLF ping is reported so the driver can answer with a single CRLF.

use crate::message::{ParseError, ParseErrorKind, message_len};

/// What the framer found in the buffered bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// One complete message's bytes (parse with [`crate::message::Message::parse`]).
    Message(Vec<u8>),
    /// A CRLFCRLF keep-alive ping: answer with a CRLF pong.
    Ping,
}

/// Accumulates stream bytes and yields complete frames.
#[derive(Debug)]
pub struct StreamFramer {
    buf: Vec<u8>,
    max_message: usize,
}

/// The largest message a stream may carry before the connection is closed.
pub const DEFAULT_MAX_MESSAGE: usize = 64 * 1024;

impl Default for StreamFramer {
    /// The same as [`StreamFramer::new`].
    fn default() -> Self {
        Self::new()
    }
}

impl StreamFramer {
    /// A framer that refuses messages larger than [`DEFAULT_MAX_MESSAGE`].
    pub fn new() -> Self {
        Self {
            buf: Vec::new(),
            max_message: DEFAULT_MAX_MESSAGE,
        }
    }

    /// A framer that refuses messages larger than `max_message` bytes.
    pub fn with_max_message(max_message: usize) -> Self {
        Self {
            buf: Vec::new(),
            max_message,
        }
    }

    /// Number of bytes received but not yet returned in a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Adds received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame, `Ok(None)` when more bytes are needed, or an
    /// error when the stream cannot be framed (the connection should be closed).
    pub fn next_frame(&mut self) -> Result<Option<Frame>, ParseError> {
        if self.buf.starts_with(b"\r\n\r\n") {
            self.buf.drain(..4);
            return Ok(Some(Frame::Ping));
        }
        // Lone CRLFs between messages (pongs, or stray line ends) are skipped.
        let crlf = self
            .buf
            .iter()
            .take_while(|b| **b == b'\r' || **b == b'\n')
            .count();
        if crlf == self.buf.len() {
            // Keep a possible partial ping.
            if crlf > 4 {
                self.buf.drain(..crlf - 2);
            }
            return Ok(None);
        }
        match message_len(&self.buf)? {
            Some(total) if total.saturating_sub(crlf) > self.max_message => {
                Err(self.too_large(total - crlf))
            }
            Some(total) if self.buf.len() >= total => {
                let frame: Vec<u8> = self.buf.drain(..total).collect();
                Ok(Some(Frame::Message(frame[crlf..].to_vec())))
            }
            None if self.buf.len().saturating_sub(crlf) > self.max_message => {
                Err(self.too_large(self.buf.len() - crlf))
            }
            Some(_) | None => Ok(None),
        }
    }

    fn too_large(&self, found: usize) -> ParseError {
        ParseError {
            kind: ParseErrorKind::Unanswerable,
            detail: format!(
                "expected a message of at most {} bytes, found one of {found} bytes",
                self.max_message
            ),
            head: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nContent-Length: 3\r\n\r\nabc";

    #[test]
    fn byte_by_byte_and_several_per_read() {
        let mut f = StreamFramer::new();
        for b in MSG {
            assert_eq!(f.next_frame().unwrap(), None);
            f.push(&[*b]);
        }
        assert_eq!(f.next_frame().unwrap(), Some(Frame::Message(MSG.to_vec())));
        let mut both = MSG.to_vec();
        both.extend_from_slice(b"\r\n\r\n");
        both.extend_from_slice(MSG);
        f.push(&both);
        assert_eq!(f.next_frame().unwrap(), Some(Frame::Message(MSG.to_vec())));
        assert_eq!(f.next_frame().unwrap(), Some(Frame::Ping));
        assert_eq!(f.next_frame().unwrap(), Some(Frame::Message(MSG.to_vec())));
        assert_eq!(f.next_frame().unwrap(), None);
    }

    #[test]
    fn oversized_messages_are_refused_early() {
        let mut f = StreamFramer::with_max_message(100);
        f.push(b"OPTIONS sip:x SIP/2.0\r\nContent-Length: 5000\r\n\r\n");
        let e = f.next_frame().unwrap_err();
        assert!(e.detail.contains("at most 100"), "{}", e.detail);
        let mut f = StreamFramer::with_max_message(10);
        f.push(b"OPTIONS sip:x SIP/2.0\r\nVia: still going");
        assert!(f.next_frame().is_err());
        let mut f = StreamFramer::default();
        f.push(b"OPTIONS sip:x SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab");
        assert!(
            f.next_frame().is_err(),
            "conflicting lengths cannot be framed"
        );
    }

    #[test]
    fn missing_content_length_is_an_error() {
        let mut f = StreamFramer::new();
        f.push(b"OPTIONS sip:x SIP/2.0\r\nVia: x\r\n\r\n");
        assert!(f.next_frame().is_err());
    }
}
