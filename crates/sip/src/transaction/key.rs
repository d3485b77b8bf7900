//! Matching messages to transactions (RFC 3261 §17.1.3 and §17.2.3).

use crate::message::{HeaderError, Method, Request, Response};

/// What identifies a server transaction.
///
/// With an RFC 3261 branch (magic cookie `z9hG4bK`) a request belongs to a
/// transaction when branch, sent-by and method match, where an ACK matches
/// the INVITE. Without the cookie, the RFC 2543 rule applies: Request-URI,
/// From tag, Call-ID, CSeq number, method and the whole top Via. The To tag
/// is left out on purpose: the ACK for a 3xx-6xx carries the tag the INVITE
/// lacked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServerKey {
    /// The RFC 3261 rule.
    Rfc3261 {
        /// The top Via's branch.
        branch: String,
        /// The top Via's sent-by, lower-cased, with the default port filled in.
        sent_by: String,
        /// The method, ACK counted as INVITE.
        method: Method,
    },
    /// The RFC 2543 fallback.
    Rfc2543 {
        /// The Request-URI as printed.
        request_uri: String,
        /// The From tag (empty if none).
        from_tag: String,
        /// The Call-ID.
        call_id: String,
        /// The CSeq number.
        cseq: u32,
        /// The method, ACK counted as INVITE.
        method: Method,
        /// The top Via as printed.
        via: String,
    },
}

impl ServerKey {
    /// The key of the transaction `req` belongs to (an ACK maps to its INVITE).
    pub fn for_request(req: &Request) -> Result<ServerKey, HeaderError> {
        let method = match req.method {
            Method::Ack => Method::Invite,
            ref m => m.clone(),
        };
        Self::with_method(req, method)
    }

    /// The key of the INVITE transaction a CANCEL refers to (RFC 3261 §9.2).
    pub fn for_cancelled_invite(cancel: &Request) -> Result<ServerKey, HeaderError> {
        Self::with_method(cancel, Method::Invite)
    }

    fn with_method(req: &Request, method: Method) -> Result<ServerKey, HeaderError> {
        let via = req.headers.top_via()?;
        if via.is_rfc3261_branch() {
            return Ok(ServerKey::Rfc3261 {
                branch: via.branch().unwrap_or_default().to_string(),
                sent_by: via.sent_by().to_ascii_lowercase(),
                method,
            });
        }
        let from = req.headers.from()?;
        Ok(ServerKey::Rfc2543 {
            request_uri: req.uri.to_string(),
            from_tag: from.tag().unwrap_or_default().to_string(),
            call_id: req.headers.call_id()?.to_string(),
            cseq: req.headers.cseq()?.seq,
            method,
            via: via.to_string(),
        })
    }
}

/// What identifies a client transaction: the branch we generated and the
/// CSeq method (so a CANCEL, which shares the INVITE's branch, is its own
/// transaction).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey {
    /// The branch of our Via.
    pub branch: String,
    /// The method of the request (from CSeq in responses).
    pub method: Method,
}

impl ClientKey {
    /// The key of a request we send.
    pub fn for_request(req: &Request) -> Result<ClientKey, HeaderError> {
        let via = req.headers.top_via()?;
        Ok(ClientKey {
            branch: via.branch().unwrap_or_default().to_string(),
            method: req.method.clone(),
        })
    }

    /// The key of the transaction a response belongs to.
    pub fn for_response(resp: &Response) -> Result<ClientKey, HeaderError> {
        let via = resp.headers.top_via()?;
        Ok(ClientKey {
            branch: via.branch().unwrap_or_default().to_string(),
            method: resp.headers.cseq()?.method,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    fn req(text: &str) -> Request {
        match Message::parse(text.as_bytes()) {
            Ok(Message::Request(r)) => r,
            other => panic!("test request did not parse: {other:?}"),
        }
    }

    fn msg(method: &str, via: &str, to_tag: &str) -> String {
        format!(
            "{method} sip:b@h SIP/2.0\r\nVia: {via}\r\nFrom: <sip:a@h>;tag=f\r\nTo: <sip:b@h>{to_tag}\r\n\
Call-ID: c\r\nCSeq: 1 {method}\r\nMax-Forwards: 70\r\n\r\n"
        )
    }

    #[test]
    fn ack_and_cancel_map_to_the_invite() {
        let via = "SIP/2.0/UDP Host.example;branch=z9hG4bKx";
        let invite = ServerKey::for_request(&req(&msg("INVITE", via, ""))).unwrap();
        let ack = ServerKey::for_request(&req(&msg("ACK", via, ";tag=t"))).unwrap();
        assert_eq!(invite, ack);
        let cancel = req(&msg("CANCEL", via, ""));
        assert_ne!(ServerKey::for_request(&cancel).unwrap(), invite);
        assert_eq!(ServerKey::for_cancelled_invite(&cancel).unwrap(), invite);
        let other_host = "SIP/2.0/UDP other.example;branch=z9hG4bKx";
        assert_ne!(
            ServerKey::for_request(&req(&msg("INVITE", other_host, ""))).unwrap(),
            invite
        );
        // sent-by compares with the default port and case-insensitively.
        let explicit = "SIP/2.0/UDP host.example:5060;branch=z9hG4bKx";
        assert_eq!(
            ServerKey::for_request(&req(&msg("INVITE", explicit, ""))).unwrap(),
            invite
        );
    }

    #[test]
    fn rfc2543_fallback_matches_ack_with_to_tag() {
        let via = "SIP/2.0/UDP old.example;branch=1234";
        let invite = ServerKey::for_request(&req(&msg("INVITE", via, ""))).unwrap();
        assert!(matches!(invite, ServerKey::Rfc2543 { .. }));
        let ack = ServerKey::for_request(&req(&msg("ACK", via, ";tag=t"))).unwrap();
        assert_eq!(invite, ack);
        let no_branch = "SIP/2.0/UDP old.example";
        assert_ne!(
            ServerKey::for_request(&req(&msg("INVITE", no_branch, ""))).unwrap(),
            invite
        );
    }
}
