//! Scripted phones: SIP endpoints acting as user agents. A test tells a
//! phone what to send (REGISTER with digest auth, INVITE with an SDP offer,
//! 180/200/486, ACK, BYE, CANCEL, re-INVITE, INFO); every request goes to the
//! PBX (its outbound proxy). What a phone receives waits in its inbox until
//! the test takes it with one of the `expect_*` / `take_*` methods.

use super::World;
use super::keypad::{Heard, Keypad};
use sip::auth::respond_to_challenge;
use sip::dialog::Dialog;
use sip::endpoint::{ClientTxId, Endpoint, EndpointConfig, Event, Peer, ServerTxId, Transport};
use sip::message::{Method, Request, Response, Uri};
use std::collections::VecDeque;
use std::net::SocketAddr;

/// A phone of the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneId(pub usize);

pub(crate) struct Phone {
    pub label: String,
    pub aor: String,
    pub user: String,
    pub password: String,
    pub addr: SocketAddr,
    pub rtp: SocketAddr,
    pub ep: Endpoint,
    pub inbox: VecDeque<Event>,
    reg_call_id: String,
    reg_tag: String,
    reg_cseq: u32,
    nc: u32,
    /// The SDP this phone offers in its INVITEs, when not the default G.711 one.
    pub offer: Option<Vec<u8>>,
    /// Whether its SDP lists telephone-event (else its digits go in-band).
    pub telephone_event: bool,
    /// What it heard over RTP.
    pub heard: Heard,
    /// Its RTP sender.
    pub keypad: Keypad,
}

impl Phone {
    pub(crate) fn pull_events(&mut self) {
        while let Some(ev) = self.ep.poll_event() {
            self.inbox.push_back(ev);
        }
    }
}

/// A request a phone sent and is waiting on (an INVITE, or a re-INVITE).
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The phone.
    pub phone: PhoneId,
    /// Its client transaction.
    pub tx: ClientTxId,
    /// The request as handed to the endpoint (without Via).
    pub req: Request,
}

/// An INVITE a phone received.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The phone.
    pub phone: PhoneId,
    /// The server transaction to answer on.
    pub tx: ServerTxId,
    /// The INVITE.
    pub req: Request,
    /// The To tag this phone answers with.
    pub tag: String,
}

/// An established dialog of a phone.
#[derive(Debug, Clone)]
pub struct Leg {
    /// The phone.
    pub phone: PhoneId,
    /// The dialog.
    pub dialog: Dialog,
}

impl World {
    /// Adds a phone at `addr` that registers address-of-record `aor` as
    /// digest user `user` (an extension registers as itself; an operator
    /// registers `0` as `op1`). Its RTP address is the same IP at `rtp_port`.
    pub fn add_phone(
        &mut self,
        label: &str,
        aor: &str,
        user: &str,
        password: &str,
        addr: &str,
        rtp_port: u16,
    ) -> PhoneId {
        let addr: SocketAddr = addr.parse().expect("phone address");
        let seed = 1000 + self.phones.len() as u64;
        let mut ep = Endpoint::new(EndpointConfig {
            local: vec![(Transport::Udp, addr)],
            rng_seed: sip::endpoint::seed_from_u64(seed),
            server_name: format!("TestPhone-{label}"),
            ..EndpointConfig::default()
        });
        let reg_call_id = ep.new_call_id();
        let reg_tag = ep.new_tag();
        self.phones.push(Phone {
            label: label.to_string(),
            aor: aor.to_string(),
            user: user.to_string(),
            password: password.to_string(),
            addr,
            rtp: SocketAddr::new(addr.ip(), rtp_port),
            ep,
            inbox: VecDeque::new(),
            reg_call_id,
            reg_tag,
            reg_cseq: 0,
            nc: 0,
            offer: None,
            telephone_event: true,
            heard: Heard::default(),
            keypad: Keypad::new(seed),
        });
        PhoneId(self.phones.len() - 1)
    }

    /// A phone of an outside caller: it never registers.
    pub fn add_guest(&mut self, label: &str, addr: &str, rtp_port: u16) -> PhoneId {
        self.add_phone(label, label, label, "", addr, rtp_port)
    }

    /// The phone's SIP address.
    pub fn addr_of(&self, p: PhoneId) -> SocketAddr {
        self.phones[p.0].addr
    }

    /// The phone's RTP address (as in its SDP).
    pub fn rtp_of(&self, p: PhoneId) -> SocketAddr {
        self.phones[p.0].rtp
    }

    fn pbx_peer() -> Peer {
        Peer {
            transport: Transport::Udp,
            addr: World::pbx_addr(),
            conn: None,
        }
    }

    fn pbx_uri(user: Option<&str>) -> Uri {
        let addr = World::pbx_addr();
        Uri::sip(user, addr.ip().into(), Some(addr.port()))
    }

    /// Sends a request from phone `p` to the PBX.
    pub fn send_from(&mut self, p: PhoneId, req: Request) -> ClientTxId {
        let tx = self.phones[p.0]
            .ep
            .send_request(self.now, req, World::pbx_peer());
        self.collect_phones();
        tx
    }

    /// A digest answer to `challenge` from phone `p` with `password`.
    fn digest(&mut self, p: PhoneId, challenge: &str, method: &str, uri: &str, pw: &str) -> String {
        let phone = &mut self.phones[p.0];
        phone.nc += 1;
        let cnonce = format!("cn{}{}", phone.label, phone.nc);
        respond_to_challenge(challenge, method, uri, &phone.user, pw, &cnonce, 1)
            .unwrap_or_else(|e| panic!("expected an answerable challenge `{challenge}`: {e}"))
    }

    /// Sends one REGISTER (with `authorization` if given) asking for `expires` seconds.
    pub fn send_register(
        &mut self,
        p: PhoneId,
        authorization: Option<String>,
        expires: u32,
    ) -> ClientTxId {
        let phone = &mut self.phones[p.0];
        phone.reg_cseq += 1;
        let mut req = Request::new(Method::Register, World::pbx_uri(None));
        let aor = World::pbx_uri(Some(&phone.aor));
        req.headers
            .push("From", format!("<{aor}>;tag={}", phone.reg_tag));
        req.headers.push("To", format!("<{aor}>"));
        req.headers.push("Call-ID", phone.reg_call_id.clone());
        req.headers
            .push("CSeq", format!("{} REGISTER", phone.reg_cseq));
        req.headers
            .push("Contact", format!("<sip:{}@{}>", phone.aor, phone.addr));
        req.headers.push("Expires", expires.to_string());
        req.headers
            .push("User-Agent", format!("TestPhone {}", phone.label));
        if let Some(a) = authorization {
            req.headers.push("Authorization", a);
        }
        self.send_from(p, req)
    }

    /// Registers phone `p` with `password`: REGISTER, the 401 challenge, the
    /// authenticated REGISTER. Returns the final response to the second one
    /// (or the first if it was not a 401).
    pub fn register_with(&mut self, p: PhoneId, password: &str) -> Response {
        self.register_for(p, password, 3600)
    }

    /// Like [`World::register_with`], asking for `expires` seconds (0 removes the binding).
    pub fn register_for(&mut self, p: PhoneId, password: &str, expires: u32) -> Response {
        let tx = self.send_register(p, None, expires);
        let first = self.take_final(p, tx);
        if first.status != 401 {
            return first;
        }
        let challenge = first
            .headers
            .get("WWW-Authenticate")
            .unwrap_or_else(|| self.fail("expected WWW-Authenticate in the 401"))
            .to_string();
        let uri = World::pbx_uri(None).to_string();
        let auth = self.digest(p, &challenge, "REGISTER", &uri, password);
        let tx = self.send_register(p, Some(auth), expires);
        self.take_final(p, tx)
    }

    /// Registers phone `p` with its own password and expects 200.
    pub fn register(&mut self, p: PhoneId) -> Response {
        let pw = self.phones[p.0].password.clone();
        let resp = self.register_with(p, &pw);
        if resp.status != 200 {
            let label = self.phones[p.0].label.clone();
            self.fail(&format!(
                "expected 200 to {label}'s REGISTER, got {}",
                resp.status
            ));
        }
        resp
    }

    /// Responses that arrived at `p` for `tx` (provisional and final), taken from its inbox.
    pub fn take_responses(&mut self, p: PhoneId, tx: ClientTxId) -> Vec<Response> {
        self.settle();
        let inbox = &mut self.phones[p.0].inbox;
        let mut out = Vec::new();
        inbox.retain(|ev| match ev {
            Event::Response { tx: t, resp } if *t == tx => {
                out.push(resp.clone());
                false
            }
            _ => true,
        });
        out
    }

    /// The final response `p` received for `tx` (provisional ones are dropped).
    pub fn take_final(&mut self, p: PhoneId, tx: ClientTxId) -> Response {
        let all = self.take_responses(p, tx);
        let statuses: Vec<u16> = all.iter().map(|r| r.status).collect();
        match all.into_iter().rev().find(|r| r.status >= 200) {
            Some(r) => r,
            None => self.fail(&format!(
                "expected a final response at {} for {tx:?}, got {statuses:?}; inbox: {}",
                self.phones[p.0].label,
                self.inbox_summary(p)
            )),
        }
    }

    /// The statuses of the provisional responses `p` received for `tx`.
    pub fn take_provisional(&mut self, p: PhoneId, tx: ClientTxId) -> Vec<u16> {
        self.take_responses(p, tx)
            .into_iter()
            .map(|r| {
                if r.status >= 200 {
                    self.fail(&format!(
                        "expected only provisional responses, got {}",
                        r.status
                    ))
                }
                r.status
            })
            .collect()
    }

    /// Makes phone `p` offer `sdp` in its INVITEs from now on.
    pub fn set_offer(&mut self, p: PhoneId, sdp: Vec<u8>) {
        self.phones[p.0].offer = Some(sdp);
    }

    /// Phone `p` sends an INVITE for `number` with its SDP offer, without credentials.
    pub fn invite(&mut self, p: PhoneId, number: &str) -> Outgoing {
        let phone = &mut self.phones[p.0];
        let tag = phone.ep.new_tag();
        let call_id = phone.ep.new_call_id();
        let mut req = Request::new(Method::Invite, World::pbx_uri(Some(number)));
        req.headers.push(
            "From",
            format!(
                "\"{}\" <sip:{}@{}>;tag={tag}",
                phone.label,
                phone.aor,
                World::pbx_addr().ip()
            ),
        );
        req.headers
            .push("To", format!("<{}>", World::pbx_uri(Some(number))));
        req.headers.push("Call-ID", call_id);
        req.headers.push("CSeq", "1 INVITE");
        req.headers
            .push("Contact", format!("<sip:{}@{}>", phone.aor, phone.addr));
        req.headers.push("Content-Type", "application/sdp");
        req.body = phone.offer.clone().unwrap_or_else(|| phone.sdp("sendrecv"));
        let tx = self.send_from(p, req.clone());
        Outgoing { phone: p, tx, req }
    }

    /// Phone `p` calls `number` as a registered phone does: the INVITE, the
    /// 407 challenge, the INVITE again with Proxy-Authorization (CSeq 2).
    pub fn call(&mut self, p: PhoneId, number: &str) -> Outgoing {
        let first = self.invite(p, number);
        let challenge = self.take_final(p, first.tx);
        if challenge.status != 407 {
            self.fail(&format!(
                "expected 407 to the first INVITE, got {}",
                challenge.status
            ));
        }
        let header = challenge
            .headers
            .get("Proxy-Authenticate")
            .unwrap_or_else(|| self.fail("expected Proxy-Authenticate in the 407"))
            .to_string();
        let mut req = first.req.clone();
        let uri = req.uri.to_string();
        let pw = self.phones[p.0].password.clone();
        let auth = self.digest(p, &header, "INVITE", &uri, &pw);
        req.headers.set("CSeq", "2 INVITE");
        req.headers.push("Proxy-Authorization", auth);
        let tx = self.send_from(p, req.clone());
        Outgoing { phone: p, tx, req }
    }

    /// Acknowledges a 2xx to `out` and returns the dialog.
    pub fn ack(&mut self, out: &Outgoing, ok: &Response) -> Leg {
        let dialog = Dialog::new_uac(&out.req, ok)
            .unwrap_or_else(|e| self.fail(&format!("expected a dialog-forming 2xx: {e:?}")));
        let seq = out.req.headers.cseq().expect("CSeq").seq;
        self.phones[out.phone.0]
            .ep
            .send_ack(dialog.ack_for(seq), World::pbx_peer());
        self.collect_phones();
        Leg {
            phone: out.phone,
            dialog,
        }
    }

    /// Acknowledges a 2xx that carried an offer, with our SDP answer in the ACK.
    pub fn ack_with_answer(&mut self, out: &Outgoing, ok: &Response, dialog: &Dialog) {
        let seq = ok.headers.cseq().expect("CSeq").seq;
        let mut ack = dialog.ack_for(seq);
        ack.headers.push("Content-Type", "application/sdp");
        ack.body = self.phones[out.phone.0].sdp("sendrecv");
        self.phones[out.phone.0].ep.send_ack(ack, World::pbx_peer());
        self.collect_phones();
    }

    /// Sends CANCEL for the INVITE of `out`.
    pub fn cancel(&mut self, out: &Outgoing) {
        let now = self.now;
        if self.phones[out.phone.0].ep.cancel(now, out.tx).is_none() {
            self.fail("expected the INVITE to be cancellable");
        }
        self.collect_phones();
    }

    /// Takes the first request of `method` that reached `p`.
    pub fn expect_request(&mut self, p: PhoneId, method: Method) -> (ServerTxId, Request) {
        self.settle();
        let inbox = &mut self.phones[p.0].inbox;
        let pos = inbox
            .iter()
            .position(|ev| matches!(ev, Event::Request { req, .. } if req.method == method));
        match pos.and_then(|i| inbox.remove(i)) {
            Some(Event::Request { tx, req, .. }) => (tx, req),
            _ => self.fail(&format!(
                "expected a {method} at {}; inbox: {}",
                self.phones[p.0].label,
                self.inbox_summary(p)
            )),
        }
    }

    /// Whether a request of `method` waits in `p`'s inbox.
    pub fn has_request(&mut self, p: PhoneId, method: Method) -> bool {
        self.settle();
        self.phones[p.0]
            .inbox
            .iter()
            .any(|ev| matches!(ev, Event::Request { req, .. } if req.method == method))
    }

    /// Takes the INVITE that reached `p`.
    pub fn expect_invite(&mut self, p: PhoneId) -> Incoming {
        let (tx, req) = self.expect_request(p, Method::Invite);
        let tag = self.phones[p.0].ep.new_tag();
        Incoming {
            phone: p,
            tx,
            req,
            tag,
        }
    }

    /// Answers a request `p` received with `status` (no body).
    pub fn reply(&mut self, p: PhoneId, tx: ServerTxId, req: &Request, status: u16) {
        let resp = Response::for_request(req, status);
        self.phones[p.0].ep.respond(self.now, tx, resp);
        self.collect_phones();
    }

    fn tagged(inc: &Incoming, status: u16) -> Response {
        let mut resp = Response::for_request(&inc.req, status);
        let has_tag = resp.headers.to().is_ok_and(|t| t.tag().is_some());
        if status > 100 && !has_tag {
            let to = resp.headers.get("To").unwrap_or_default().to_string();
            resp.headers.set("To", format!("{to};tag={}", inc.tag));
        }
        resp
    }

    /// Answers an incoming INVITE with a status without SDP (180, 486, 487 …).
    pub fn respond(&mut self, inc: &Incoming, status: u16) {
        let resp = World::tagged(inc, status);
        self.phones[inc.phone.0].ep.respond(self.now, inc.tx, resp);
        self.collect_phones();
    }

    /// Answers an incoming INVITE with a provisional `status` carrying SDP (183 early media).
    pub fn respond_with_sdp(&mut self, inc: &Incoming, status: u16) {
        let phone = &self.phones[inc.phone.0];
        let mut resp = World::tagged(inc, status);
        resp.headers
            .push("Contact", format!("<sip:{}@{}>", phone.aor, phone.addr));
        resp.headers.push("Content-Type", "application/sdp");
        resp.body = phone.sdp("sendrecv");
        self.phones[inc.phone.0].ep.respond(self.now, inc.tx, resp);
        self.collect_phones();
    }

    /// Answers an incoming INVITE (or re-INVITE) with 200, a Contact and an SDP
    /// answer with `direction`, and returns the dialog.
    pub fn answer_with(&mut self, inc: &Incoming, direction: &str) -> Leg {
        let body = self.phones[inc.phone.0].sdp(direction);
        self.answer_with_body(inc, body)
    }

    /// Answers an incoming INVITE (or re-INVITE) with 200, a Contact and `sdp`,
    /// and returns the dialog.
    pub fn answer_with_body(&mut self, inc: &Incoming, sdp: Vec<u8>) -> Leg {
        let phone = &self.phones[inc.phone.0];
        let mut ok = World::tagged(inc, 200);
        ok.headers
            .push("Contact", format!("<sip:{}@{}>", phone.aor, phone.addr));
        ok.headers.push("Content-Type", "application/sdp");
        ok.body = sdp;
        let dialog = Dialog::new_uas(&inc.req, &ok)
            .unwrap_or_else(|e| self.fail(&format!("expected a dialog from our 200: {e:?}")));
        self.phones[inc.phone.0].ep.respond(self.now, inc.tx, ok);
        self.collect_phones();
        Leg {
            phone: inc.phone,
            dialog,
        }
    }

    /// Answers an incoming INVITE with 200 and a sendrecv SDP answer.
    pub fn answer(&mut self, inc: &Incoming) -> Leg {
        self.answer_with(inc, "sendrecv")
    }

    /// Takes the ACK that reached `p`.
    pub fn expect_ack(&mut self, p: PhoneId) -> Request {
        self.settle();
        let inbox = &mut self.phones[p.0].inbox;
        let pos = inbox.iter().position(|ev| matches!(ev, Event::Ack { .. }));
        match pos.and_then(|i| inbox.remove(i)) {
            Some(Event::Ack { req, .. }) => req,
            _ => self.fail(&format!(
                "expected an ACK at {}; inbox: {}",
                self.phones[p.0].label,
                self.inbox_summary(p)
            )),
        }
    }

    /// Expects the PBX's CANCEL of `inc` (the endpoint already answered it
    /// 200) and answers the INVITE 487.
    pub fn expect_cancelled(&mut self, inc: &Incoming) {
        self.settle();
        let inbox = &mut self.phones[inc.phone.0].inbox;
        let pos = inbox
            .iter()
            .position(|ev| matches!(ev, Event::Cancelled { invite, .. } if *invite == inc.tx));
        if pos.and_then(|i| inbox.remove(i)).is_none() {
            self.fail(&format!(
                "expected a CANCEL of the INVITE at {}; inbox: {}",
                self.phones[inc.phone.0].label,
                self.inbox_summary(inc.phone)
            ));
        }
        self.respond(inc, 487);
    }

    /// Sends BYE in `leg`'s dialog.
    pub fn bye(&mut self, leg: &mut Leg) -> ClientTxId {
        let bye = leg.dialog.new_request(Method::Bye);
        self.send_from(leg.phone, bye)
    }

    /// Expects a BYE in `leg`'s dialog and answers it 200.
    pub fn expect_bye(&mut self, leg: &mut Leg) {
        let (tx, req) = self.expect_request(leg.phone, Method::Bye);
        if let Err(status) = leg.dialog.accept_incoming(&req) {
            self.fail(&format!("expected the BYE in our dialog, it gets {status}"));
        }
        self.reply(leg.phone, tx, &req, 200);
    }

    /// Sends a re-INVITE in `leg`'s dialog offering SDP with `direction`.
    pub fn reinvite(&mut self, leg: &mut Leg, direction: &str) -> Outgoing {
        let mut req = leg.dialog.new_request(Method::Invite);
        req.headers.push("Content-Type", "application/sdp");
        req.body = self.phones[leg.phone.0].sdp(direction);
        let tx = self.send_from(leg.phone, req.clone());
        Outgoing {
            phone: leg.phone,
            tx,
            req,
        }
    }

    /// Takes an in-dialog INVITE that reached `leg`'s phone, checked against the dialog.
    pub fn expect_reinvite(&mut self, leg: &mut Leg) -> Incoming {
        let inc = self.expect_invite(leg.phone);
        if let Err(status) = leg.dialog.accept_incoming(&inc.req) {
            self.fail(&format!(
                "expected the re-INVITE in our dialog, it gets {status}"
            ));
        }
        Incoming {
            tag: leg.dialog.id.local_tag.clone(),
            ..inc
        }
    }

    /// Sends a SIP INFO with one DTMF digit (`application/dtmf-relay`).
    pub fn info_digit(&mut self, leg: &mut Leg, digit: char) -> ClientTxId {
        let mut info = leg.dialog.new_request(Method::Info);
        info.headers.push("Content-Type", "application/dtmf-relay");
        info.body = format!("Signal={digit}\r\nDuration=160\r\n").into_bytes();
        self.send_from(leg.phone, info)
    }

    /// What waits in `p`'s inbox, one event per line.
    pub fn inbox_summary(&self, p: PhoneId) -> String {
        let lines: Vec<String> = self.phones[p.0]
            .inbox
            .iter()
            .map(|ev| match ev {
                Event::Request { req, .. } => format!("request {}", req.method),
                Event::Response { resp, .. } => format!("response {}", resp.status),
                Event::Ack { .. } => "ACK".into(),
                Event::Cancelled { .. } => "CANCEL".into(),
                Event::Timeout { .. } => "timeout".into(),
                Event::AckTimeout { .. } => "ACK timeout".into(),
                Event::TransportError { .. } => "transport error".into(),
            })
            .collect();
        if lines.is_empty() {
            "(empty)".into()
        } else {
            lines.join(", ")
        }
    }
}
