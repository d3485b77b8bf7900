//! The parts of the PBX that call-control verbs work on, borrowed apart from
//! the [`crate::Pbx`] so that a component gets exactly what it needs and no
//! feature holds the whole PBX: settings, RTP ports, media leg numbering and
//! the output queue.

use crate::directory::Identity;
use crate::ports::PortPool;
use crate::{Output, PbxConfig};
use media::LegId;
use sip::endpoint::{ConnId, Peer, Transport};
use sip::message::{Method, NameAddr, Request, Uri};
use sip::registrar::{Binding, BindingTransport};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

/// Borrowed call-control state (see the module doc).
pub(crate) struct Ctx<'a> {
    pub config: &'a PbxConfig,
    pub ports: &'a mut PortPool,
    pub outputs: &'a mut VecDeque<Output>,
    pub next_leg: &'a mut u64,
}

impl Ctx<'_> {
    /// A fresh media leg id.
    pub fn new_leg(&mut self) -> LegId {
        let id = LegId(*self.next_leg);
        *self.next_leg += 1;
        id
    }

    /// Our Contact URI for a transport.
    pub fn contact_uri(&self, transport: Transport, user: Option<&str>) -> Uri {
        contact_uri(self.config, transport, user)
    }
}

/// The unexpired bindings of `aor`.
pub(crate) fn live_bindings<'b>(
    bindings: &'b HashMap<String, Vec<Binding>>,
    aor: &str,
    wall_ms: i64,
) -> Vec<&'b Binding> {
    bindings
        .get(aor)
        .map(|v| v.iter().filter(|b| b.expires_at_ms > wall_ms).collect())
        .unwrap_or_default()
}

/// Our Contact URI for a transport: the public address and the listening port of that
/// transport (the first listener's when there is none for it).
pub(crate) fn contact_uri(config: &PbxConfig, transport: Transport, user: Option<&str>) -> Uri {
    let addr = config
        .contacts
        .iter()
        .find(|(t, _)| *t == transport)
        .or(config.contacts.first())
        .map(|(_, a)| *a)
        .unwrap_or_else(|| SocketAddr::new(config.public_ip, 5060));
    let mut uri = Uri::sip(user, config.public_ip.into(), Some(addr.port()));
    if transport == Transport::Tcp {
        uri.params.set("transport", Some("tcp"));
    }
    uri
}

/// A phone to ring: the binding's Contact as Request-URI, sent to where the
/// REGISTER came from (the phone may be behind NAT), named as `ext`.
pub(crate) type RingTarget = (Uri, Peer, Identity);

/// Where to send an INVITE for one binding of `ext`.
pub(crate) fn ring_target(b: &Binding, ext: &Identity) -> Option<RingTarget> {
    let uri = Uri::parse(&b.contact).ok()?;
    let transport = match b.source.transport {
        BindingTransport::Tcp => Transport::Tcp,
        _ => Transport::Udp,
    };
    let peer = Peer {
        transport,
        addr: b.source.addr,
        conn: b.source.connection.map(ConnId),
    };
    Some((uri, peer, ext.clone()))
}

/// Who an INVITE of ours comes from: the From user (a number the callee can call back),
/// its display name and our tag, on our public address.
pub(crate) struct Caller<'a> {
    pub user: &'a str,
    pub display: Option<String>,
    pub tag: &'a str,
}

/// Our INVITE to one phone: Request-URI the phone's Contact, From the caller on our
/// public address, To the extension rung, our Contact and SDP offer.
pub(crate) fn invite_to(
    config: &PbxConfig,
    target: &RingTarget,
    caller: &Caller,
    call_id: &str,
    offer: Vec<u8>,
) -> Request {
    let (uri, peer, ext) = target;
    let public = config.public_ip;
    let mut invite = Request::new(Method::Invite, uri.clone());
    let mut from = NameAddr::new(Uri::sip(Some(caller.user), public.into(), None));
    from.display = caller.display.clone();
    from.params.set("tag", Some(caller.tag));
    let to = NameAddr {
        display: ext.display.clone(),
        uri: Uri::sip(Some(&ext.number), public.into(), None),
        params: Default::default(),
    };
    let contact = contact_uri(config, peer.transport, Some(caller.user));
    invite.headers.push("From", from.to_string());
    invite.headers.push("To", to.to_string());
    invite.headers.push("Call-ID", call_id);
    invite.headers.push("CSeq", "1 INVITE");
    invite.headers.push("Max-Forwards", "70");
    invite.headers.push("Contact", format!("<{contact}>"));
    invite.headers.push("Allow", crate::ALLOW);
    invite.headers.push("Content-Type", "application/sdp");
    invite.body = offer;
    invite
}
