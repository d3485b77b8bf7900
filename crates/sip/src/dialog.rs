//! Dialogs (RFC 3261 §12): the state two user agents share after an INVITE
//! is answered with a tag: the dialog id, both CSeq spaces, the remote
//! target and the route set. A [`Dialog`] builds in-dialog requests and the
//! ACK for a 2xx, and checks incoming in-dialog requests.
//!
//! ```
//! use sip::dialog::Dialog;
//! use sip::message::{Message, Method, Response};
//! let invite = b"INVITE sip:202@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n\
//! From: <sip:201@pbx>;tag=a\r\nTo: <sip:202@pbx>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\
//! Contact: <sip:201@10.0.0.1>\r\nMax-Forwards: 70\r\n\r\n";
//! let Ok(Message::Request(invite)) = Message::parse(invite) else { unreachable!() };
//! let mut ok = Response::for_request(&invite, 200);
//! ok.headers.set("To", "<sip:202@pbx>;tag=b");
//! ok.headers.push("Contact", "<sip:202@10.0.0.2>");
//! let mut dialog = Dialog::new_uas(&invite, &ok).unwrap();
//! let bye = dialog.new_request(Method::Bye);
//! assert_eq!(bye.uri.to_string(), "sip:201@10.0.0.1");
//! assert_eq!(bye.headers.get("To"), Some("<sip:201@pbx>;tag=a"));
//! ```

use crate::message::{HeaderError, Method, NameAddr, Request, Response, Uri};
use std::fmt;

/// What identifies a dialog at one end: Call-ID, our tag and the peer's tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    /// The Call-ID.
    pub call_id: String,
    /// Our tag.
    pub local_tag: String,
    /// The peer's tag (empty for an RFC 2543 peer that sent none).
    pub remote_tag: String,
}

impl DialogId {
    /// The dialog an in-dialog request belongs to. `as_uas` is true for a
    /// request we received (our tag is in To, the peer's in From) and false
    /// for one we sent. `None` when the request has no To tag (it is not
    /// in a dialog) or its Call-ID, From or To do not parse.
    pub fn from_request(req: &Request, as_uas: bool) -> Option<DialogId> {
        let call_id = req.headers.call_id().ok()?.to_string();
        let from = req.headers.from().ok()?;
        let to = req.headers.to().ok()?;
        let to_tag = to.tag()?.to_string();
        let from_tag = from.tag().unwrap_or_default().to_string();
        let (local_tag, remote_tag) = if as_uas {
            (to_tag, from_tag)
        } else {
            (from_tag, to_tag)
        };
        Some(DialogId {
            call_id,
            local_tag,
            remote_tag,
        })
    }

    /// The dialog a response to one of our requests belongs to (our tag in
    /// From, the peer's in To). `None` when the response has no To tag.
    pub fn from_response(resp: &Response) -> Option<DialogId> {
        let call_id = resp.headers.call_id().ok()?.to_string();
        let from = resp.headers.from().ok()?;
        let to = resp.headers.to().ok()?;
        Some(DialogId {
            call_id,
            local_tag: from.tag().unwrap_or_default().to_string(),
            remote_tag: to.tag()?.to_string(),
        })
    }
}

/// Whether the dialog was created by a provisional or a final response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    /// Created by a 1xx with a To tag; may still end without a 2xx.
    Early,
    /// Created or confirmed by a 2xx.
    Confirmed,
}

/// Why a dialog could not be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogError {
    /// A header the dialog needs is missing or malformed.
    Header(HeaderError),
    /// The response that should create the dialog has no To tag.
    MissingToTag {
        /// The status of that response.
        status: u16,
    },
    /// The message gives no Contact, so there is no remote target.
    MissingContact(&'static str),
    /// The response cannot create a dialog (only 101-299 to an INVITE can).
    NotDialogCreating {
        /// The status that arrived.
        status: u16,
    },
}

impl fmt::Display for DialogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DialogError::Header(e) => write!(f, "cannot create a dialog: {e}"),
            DialogError::MissingToTag { status } => {
                write!(f, "expected a To tag in the {status} response, found none")
            }
            DialogError::MissingContact(which) => {
                write!(f, "expected a Contact in the {which}, found none")
            }
            DialogError::NotDialogCreating { status } => write!(
                f,
                "expected a 101-299 response to create a dialog, found {status}"
            ),
        }
    }
}

impl std::error::Error for DialogError {}

impl From<HeaderError> for DialogError {
    fn from(e: HeaderError) -> Self {
        DialogError::Header(e)
    }
}

/// One dialog, from our side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    /// Call-ID and tags.
    pub id: DialogId,
    /// Early or confirmed.
    pub state: DialogState,
    /// Our URI (From in our requests), without tag.
    pub local_uri: NameAddr,
    /// The peer's URI (To in our requests), without tag.
    pub remote_uri: NameAddr,
    /// Where in-dialog requests go: the peer's Contact.
    pub remote_target: Uri,
    /// Our Contact, added to target-refresh requests we build.
    pub local_target: Option<NameAddr>,
    /// The route set, in the order our requests list it.
    pub route_set: Vec<NameAddr>,
    /// The CSeq number of the last request we sent in this dialog.
    pub local_seq: u32,
    /// The CSeq number of the last request the peer sent, if any.
    pub remote_seq: Option<u32>,
}

impl Dialog {
    /// The dialog a UAS creates when it answers `invite` with `resp` (our
    /// 2xx, or a 1xx with a To tag for an early dialog) (§12.1.1): the
    /// remote target is the INVITE's Contact, the route set its
    /// Record-Route in order, the remote CSeq the INVITE's.
    pub fn new_uas(invite: &Request, resp: &Response) -> Result<Dialog, DialogError> {
        let state = creating_state(resp)?;
        let from = invite.headers.from()?;
        let to = resp.headers.to()?;
        let local_tag = to
            .tag()
            .ok_or(DialogError::MissingToTag {
                status: resp.status,
            })?
            .to_string();
        let remote_target = first_contact(&invite.headers, "INVITE")?;
        let route_set = invite.headers.routes("Record-Route")?;
        Ok(Dialog {
            id: DialogId {
                call_id: invite.headers.call_id()?.to_string(),
                local_tag,
                remote_tag: from.tag().unwrap_or_default().to_string(),
            },
            state,
            local_uri: without_tag(to),
            remote_uri: without_tag(from),
            remote_target,
            local_target: contact_name_addr(&resp.headers),
            route_set,
            local_seq: 0,
            remote_seq: Some(invite.headers.cseq()?.seq),
        })
    }

    /// The dialog a UAC creates when `resp` (their 2xx, or a 1xx with a To
    /// tag) answers our `invite` (§12.1.2): the remote target is the
    /// response's Contact, the route set its Record-Route reversed, the local
    /// CSeq the INVITE's.
    pub fn new_uac(invite: &Request, resp: &Response) -> Result<Dialog, DialogError> {
        let state = creating_state(resp)?;
        let from = invite.headers.from()?;
        let to = resp.headers.to()?;
        let remote_tag = to
            .tag()
            .ok_or(DialogError::MissingToTag {
                status: resp.status,
            })?
            .to_string();
        let remote_target = first_contact(&resp.headers, "response")?;
        let mut route_set = resp.headers.routes("Record-Route")?;
        route_set.reverse();
        Ok(Dialog {
            id: DialogId {
                call_id: invite.headers.call_id()?.to_string(),
                local_tag: from.tag().unwrap_or_default().to_string(),
                remote_tag,
            },
            state,
            local_uri: without_tag(from),
            remote_uri: without_tag(to),
            remote_target,
            local_target: contact_name_addr(&invite.headers),
            route_set,
            local_seq: invite.headers.cseq()?.seq,
            remote_seq: None,
        })
    }

    /// Takes a response to a request we sent in this dialog: a 2xx confirms
    /// an early dialog (recomputing the route set, §12.1.2), and a 2xx to a
    /// target-refresh request (re-INVITE, UPDATE) replaces the remote target
    /// with its Contact (§12.2.1.2).
    pub fn on_response(&mut self, resp: &Response) {
        if !resp.is_success() {
            return;
        }
        if self.state == DialogState::Early {
            if let Ok(mut routes) = resp.headers.routes("Record-Route") {
                routes.reverse();
                self.route_set = routes;
            }
            self.state = DialogState::Confirmed;
        }
        let refresh = resp
            .headers
            .cseq()
            .is_ok_and(|c| is_target_refresh(&c.method));
        if refresh && let Ok(target) = first_contact(&resp.headers, "response") {
            self.remote_target = target;
        }
    }

    /// Marks an early dialog as confirmed (the UAS sent its 2xx).
    pub fn confirm(&mut self) {
        self.state = DialogState::Confirmed;
    }

    /// A new in-dialog request (§12.2.1.1) with the next local CSeq:
    /// Request-URI and Route from the remote target and route set (loose
    /// routing when the first route has `lr`, strict routing otherwise),
    /// From and To with tags, Call-ID, `Max-Forwards: 70`, and our Contact
    /// on target-refresh methods. Use [`Dialog::ack_for`] for ACK; CANCEL
    /// is not an in-dialog request (see [`crate::endpoint::Endpoint::cancel`]).
    pub fn new_request(&mut self, method: Method) -> Request {
        self.local_seq = self.local_seq.wrapping_add(1) & 0x7fff_ffff;
        let seq = self.local_seq;
        self.build(method, seq)
    }

    /// The ACK for a 2xx to the INVITE with CSeq number `invite_cseq`
    /// (§13.2.2.4): same CSeq number, method ACK, routed like any in-dialog
    /// request; the local CSeq does not advance.
    pub fn ack_for(&self, invite_cseq: u32) -> Request {
        self.build(Method::Ack, invite_cseq)
    }

    /// Checks an incoming request that carries this dialog's id (§12.2.2):
    /// `Err(481)` if it belongs to another dialog, `Err(500)` if its CSeq is
    /// lower than the last one (out of order). ACK and CANCEL reuse their
    /// INVITE's number and are not checked against it. On success the
    /// remote CSeq advances, and a target-refresh request with a Contact
    /// replaces the remote target.
    pub fn accept_incoming(&mut self, req: &Request) -> Result<(), u16> {
        if DialogId::from_request(req, true).as_ref() != Some(&self.id) {
            return Err(481);
        }
        let cseq = req.headers.cseq().map_err(|_| 400u16)?;
        if matches!(req.method, Method::Ack | Method::Cancel) {
            return Ok(());
        }
        if let Some(last) = self.remote_seq
            && cseq.seq < last
        {
            return Err(500);
        }
        self.remote_seq = Some(cseq.seq);
        if is_target_refresh(&req.method)
            && let Ok(target) = first_contact(&req.headers, "request")
        {
            self.remote_target = target;
        }
        Ok(())
    }

    fn build(&self, method: Method, seq: u32) -> Request {
        let (uri, routes) = self.request_uri_and_routes();
        let mut req = Request::new(method.clone(), uri);
        for route in routes {
            req.headers.push("Route", route.to_string());
        }
        req.headers.push("Max-Forwards", "70");
        let mut from = self.local_uri.clone();
        from.params.set("tag", Some(&self.id.local_tag));
        req.headers.push("From", from.to_string());
        let mut to = self.remote_uri.clone();
        if !self.id.remote_tag.is_empty() {
            to.params.set("tag", Some(&self.id.remote_tag));
        }
        req.headers.push("To", to.to_string());
        req.headers.push("Call-ID", self.id.call_id.as_str());
        req.headers.push("CSeq", format!("{seq} {method}"));
        if is_target_refresh(&method)
            && let Some(contact) = &self.local_target
        {
            req.headers.push("Contact", contact.to_string());
        }
        req
    }

    /// §12.2.1.1: with no route set, the remote target and no Route; with a
    /// loose router first (`lr`), the remote target and the whole route set;
    /// with a strict router first, its URI, then the rest of the route set and
    /// the remote target as Route.
    fn request_uri_and_routes(&self) -> (Uri, Vec<NameAddr>) {
        match self.route_set.first() {
            None => (self.remote_target.clone(), Vec::new()),
            Some(first) if first.uri.params.contains("lr") => {
                (self.remote_target.clone(), self.route_set.clone())
            }
            Some(first) => {
                let mut uri = first.uri.clone();
                uri.headers = None;
                let mut routes: Vec<NameAddr> = self.route_set[1..].to_vec();
                routes.push(NameAddr::new(self.remote_target.clone()));
                (uri, routes)
            }
        }
    }
}

/// Methods that refresh the remote target (RFC 3261 §12.2, RFC 3311, RFC 6665).
fn is_target_refresh(method: &Method) -> bool {
    matches!(
        method,
        Method::Invite | Method::Update | Method::Subscribe | Method::Notify | Method::Refer
    )
}

fn creating_state(resp: &Response) -> Result<DialogState, DialogError> {
    match resp.status {
        101..=199 => Ok(DialogState::Early),
        200..=299 => Ok(DialogState::Confirmed),
        status => Err(DialogError::NotDialogCreating { status }),
    }
}

fn without_tag(mut addr: NameAddr) -> NameAddr {
    addr.params.remove("tag");
    addr
}

fn first_contact(
    headers: &crate::message::Headers,
    which: &'static str,
) -> Result<Uri, DialogError> {
    match headers.contacts()? {
        Some(list) if !list.is_empty() => Ok(list[0].uri.clone()),
        _ => Err(DialogError::MissingContact(which)),
    }
}

fn contact_name_addr(headers: &crate::message::Headers) -> Option<NameAddr> {
    let first = headers.contacts().ok()??.into_iter().next()?;
    Some(NameAddr::new(first.uri))
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

    /// The INVITE of RFC 3261 §24.2 (F1 after both proxies), shortened.
    fn invite() -> Request {
        req("INVITE sip:bob@192.0.2.4 SIP/2.0\r\n\
Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9\r\n\
Max-Forwards: 68\r\n\
Record-Route: <sip:ss2.biloxi.example.com;lr>\r\n\
Record-Route: <sip:ss1.atlanta.example.com;lr>\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
Call-ID: 3848276298220188511@atlanta.example.com\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:alice@client.atlanta.example.com>\r\n\r\n")
    }

    fn ok_for(invite: &Request, to_tag: &str, contact: &str) -> Response {
        let mut ok = Response::for_request(invite, 200);
        let to = ok.headers.get("To").unwrap_or_default().to_string();
        ok.headers.set("To", format!("{to};tag={to_tag}"));
        ok.headers.push("Contact", contact);
        for rr in invite.headers.get_all_lines("Record-Route") {
            ok.headers.push("Record-Route", rr);
        }
        ok
    }

    #[test]
    fn uas_keeps_record_route_order_and_routes_loosely() {
        let inv = invite();
        let ok = ok_for(&inv, "314159", "<sip:bob@192.0.2.4>");
        let mut d = Dialog::new_uas(&inv, &ok).unwrap();
        assert_eq!(d.id.local_tag, "314159");
        assert_eq!(d.id.remote_tag, "9fxced76sl");
        assert_eq!(d.remote_seq, Some(1));
        assert_eq!(
            d.remote_target.to_string(),
            "sip:alice@client.atlanta.example.com"
        );
        let bye = d.new_request(Method::Bye);
        assert_eq!(bye.uri.to_string(), "sip:alice@client.atlanta.example.com");
        assert_eq!(
            bye.headers.get_all("Route"),
            vec![
                "<sip:ss2.biloxi.example.com;lr>",
                "<sip:ss1.atlanta.example.com;lr>"
            ]
        );
        assert_eq!(
            bye.headers.get("From"),
            Some("\"Bob\" <sip:bob@biloxi.example.com>;tag=314159")
        );
        assert_eq!(
            bye.headers.get("To"),
            Some("\"Alice\" <sip:alice@atlanta.example.com>;tag=9fxced76sl")
        );
        assert_eq!(bye.headers.get("CSeq"), Some("1 BYE"));
        assert_eq!(bye.headers.get("Max-Forwards"), Some("70"));
        assert!(
            bye.headers.get("Contact").is_none(),
            "BYE is not a target refresh"
        );
        assert_eq!(
            d.new_request(Method::Info).headers.get("CSeq"),
            Some("2 INFO")
        );
        let reinvite = d.new_request(Method::Invite);
        assert_eq!(reinvite.headers.get("Contact"), Some("<sip:bob@192.0.2.4>"));
    }

    #[test]
    fn uac_reverses_record_route_and_acks_with_the_invite_cseq() {
        let inv = invite();
        let ok = ok_for(&inv, "314159", "<sip:bob@192.0.2.4>");
        let mut d = Dialog::new_uac(&inv, &ok).unwrap();
        assert_eq!(d.id.local_tag, "9fxced76sl");
        assert_eq!(d.id.remote_tag, "314159");
        assert_eq!(d.remote_target.to_string(), "sip:bob@192.0.2.4");
        let ack = d.ack_for(1);
        assert_eq!(ack.method, Method::Ack);
        assert_eq!(ack.uri.to_string(), "sip:bob@192.0.2.4");
        assert_eq!(ack.headers.get("CSeq"), Some("1 ACK"));
        assert_eq!(
            ack.headers.get_all("Route"),
            vec![
                "<sip:ss1.atlanta.example.com;lr>",
                "<sip:ss2.biloxi.example.com;lr>"
            ]
        );
        assert_eq!(
            d.new_request(Method::Bye).headers.get("CSeq"),
            Some("2 BYE")
        );
        assert_eq!(DialogId::from_response(&ok), Some(d.id.clone()));
    }

    #[test]
    fn strict_router_goes_into_the_request_uri() {
        let inv = req(&invite().to_bytes().iter().map(|b| *b as char).collect::<String>().replace(
            "Record-Route: <sip:ss2.biloxi.example.com;lr>\r\nRecord-Route: <sip:ss1.atlanta.example.com;lr>\r\n",
            "Record-Route: <sip:strict.example.com>, <sip:loose.example.com;lr>\r\n",
        ));
        let ok = ok_for(&inv, "t", "<sip:bob@192.0.2.4>");
        let mut d = Dialog::new_uas(&inv, &ok).unwrap();
        let bye = d.new_request(Method::Bye);
        assert_eq!(bye.uri.to_string(), "sip:strict.example.com");
        assert_eq!(
            bye.headers.get_all("Route"),
            vec![
                "<sip:loose.example.com;lr>",
                "<sip:alice@client.atlanta.example.com>"
            ]
        );
    }

    #[test]
    fn incoming_cseq_rules_and_target_refresh() {
        let inv = invite();
        let ok = ok_for(&inv, "314159", "<sip:bob@192.0.2.4>");
        let mut d = Dialog::new_uas(&inv, &ok).unwrap();
        let in_dialog = |method: &str, seq: u32, to_tag: &str, contact: &str| {
            req(&format!(
                "{method} sip:bob@192.0.2.4 SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK{seq}{method}\r\n\
From: <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\nTo: <sip:bob@biloxi.example.com>;tag={to_tag}\r\n\
Call-ID: 3848276298220188511@atlanta.example.com\r\nCSeq: {seq} {method}\r\nMax-Forwards: 70\r\n{contact}\r\n"
            ))
        };
        assert_eq!(
            d.accept_incoming(&in_dialog("ACK", 1, "314159", "")),
            Ok(())
        );
        assert_eq!(
            d.accept_incoming(&in_dialog("INFO", 2, "314159", "")),
            Ok(())
        );
        assert_eq!(d.remote_seq, Some(2));
        assert_eq!(
            d.accept_incoming(&in_dialog("INFO", 1, "314159", "")),
            Err(500)
        );
        assert_eq!(
            d.accept_incoming(&in_dialog("BYE", 3, "other", "")),
            Err(481)
        );
        let reinvite = in_dialog(
            "INVITE",
            5,
            "314159",
            "Contact: <sip:alice@10.9.9.9:5070>\r\n",
        );
        assert_eq!(d.accept_incoming(&reinvite), Ok(()));
        assert_eq!(d.remote_target.to_string(), "sip:alice@10.9.9.9:5070");
        assert_eq!(
            d.accept_incoming(&in_dialog("BYE", 4, "314159", "")),
            Err(500)
        );
        assert_eq!(
            d.accept_incoming(&in_dialog("BYE", 6, "314159", "")),
            Ok(())
        );
        let id = DialogId::from_request(&in_dialog("BYE", 6, "314159", ""), true).unwrap();
        assert_eq!(id, d.id);
        assert_eq!(
            DialogId::from_request(&inv, true),
            None,
            "no To tag, no dialog"
        );
    }

    #[test]
    fn early_dialog_is_confirmed_by_2xx_with_a_new_route_set() {
        let inv = invite();
        let mut ringing = ok_for(&inv, "e1", "<sip:bob@192.0.2.4>");
        ringing.status = 180;
        let mut d = Dialog::new_uac(&inv, &ringing).unwrap();
        assert_eq!(d.state, DialogState::Early);
        let mut ok = ok_for(&inv, "e1", "<sip:bob@192.0.2.99>");
        ok.headers.remove("Record-Route");
        ok.headers.push("Record-Route", "<sip:only.example.com;lr>");
        d.on_response(&ok);
        assert_eq!(d.state, DialogState::Confirmed);
        assert_eq!(d.route_set.len(), 1);
        assert_eq!(d.remote_target.to_string(), "sip:bob@192.0.2.99");
    }

    #[test]
    fn creation_errors_say_what_is_missing() {
        let inv = invite();
        let mut no_tag = Response::for_request(&inv, 200);
        no_tag.headers.push("Contact", "<sip:bob@192.0.2.4>");
        assert_eq!(
            Dialog::new_uac(&inv, &no_tag),
            Err(DialogError::MissingToTag { status: 200 })
        );
        let mut no_contact = ok_for(&inv, "t", "<sip:x@y>");
        no_contact.headers.remove("Contact");
        let err = Dialog::new_uac(&inv, &no_contact).unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected a Contact in the response, found none"
        );
        let mut busy = ok_for(&inv, "t", "<sip:x@y>");
        busy.status = 486;
        assert_eq!(
            Dialog::new_uas(&inv, &busy),
            Err(DialogError::NotDialogCreating { status: 486 })
        );
    }
}
