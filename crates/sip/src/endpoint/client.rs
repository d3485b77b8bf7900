//! The client half of the endpoint: our requests out through client
//! transactions, their responses matched back (§17.1.3), ACK for 2xx sent
//! statelessly, and CANCEL (§9.1).

use super::wire::{default_header, our_via};
use super::{CancelState, ClientMachine, ClientTx, ClientTxId, Endpoint, Event, Peer, TxRef};
use crate::message::{Method, Request, Response};
use crate::transaction::client_invite::{ClientInvite, State as InviteState};
use crate::transaction::client_non_invite::ClientNonInvite;
use crate::transaction::{Action, ClientKey};
use std::time::Instant;

impl Endpoint {
    /// Sends `req` to `to` through a new client transaction. The endpoint
    /// pushes our Via on top (fresh `z9hG4bK` branch, `rport`), and adds
    /// `Max-Forwards: 70` and `User-Agent` when the TU did not set them.
    /// The TU builds everything else (Request-URI, From, To, Call-ID, CSeq,
    /// Contact, Route, body). ACKs go through [`Endpoint::send_ack`] and
    /// CANCELs through [`Endpoint::cancel`]; an ACK given here is sent
    /// statelessly and its id never produces events.
    pub fn send_request(&mut self, now: Instant, mut req: Request, to: Peer) -> ClientTxId {
        let branch = self.fresh_branch();
        self.add_our_headers(&mut req, to, &branch);
        let id = self.fresh_id();
        if req.method == Method::Ack {
            self.transmit(to, req.to_bytes());
            return ClientTxId(id);
        }
        let key = ClientKey {
            branch,
            method: req.method.clone(),
        };
        let reliable = to.transport.is_reliable();
        let timers = self.config.timers;
        let (machine, first) = match req.method {
            Method::Invite => {
                let (m, first) = ClientInvite::new(now, req, reliable, timers);
                (ClientMachine::Invite(Box::new(m)), first)
            }
            _ => {
                let (m, first) = ClientNonInvite::new(now, req.to_bytes(), reliable, timers);
                (ClientMachine::NonInvite(Box::new(m)), first)
            }
        };
        self.client_keys.insert(key.clone(), id);
        self.clients.insert(
            id,
            ClientTx {
                key,
                peer: to,
                machine,
                cancel: CancelState::None,
            },
        );
        self.apply_client(id, vec![first], None);
        ClientTxId(id)
    }

    /// Sends the ACK for a 2xx, statelessly (RFC 3261 §13.2.2.4): the TU
    /// builds it from the dialog ([`crate::dialog::Dialog::ack_for`]); the
    /// endpoint pushes a Via with a fresh branch. Call it again for each
    /// retransmitted 2xx.
    pub fn send_ack(&mut self, mut ack: Request, to: Peer) {
        let branch = self.fresh_branch();
        self.add_our_headers(&mut ack, to, &branch);
        self.transmit(to, ack.to_bytes());
    }

    /// Cancels the INVITE of client transaction `tx` (RFC 3261 §9.1). The
    /// CANCEL copies the INVITE's Request-URI, Call-ID, From, To, CSeq number,
    /// top Via (same branch) and Route headers. It is sent at once if a
    /// provisional response has arrived; before that it is deferred until one
    /// does, and dropped if a final response comes first (the TU then sees
    /// that final response). Returns the CANCEL's transaction (the same one
    /// if called again), or `None` if `tx` is not an INVITE that can still
    /// be cancelled. If no final response follows within 64*T1 of the
    /// CANCEL, the INVITE transaction ends with [`Event::Timeout`].
    pub fn cancel(&mut self, now: Instant, tx: ClientTxId) -> Option<ClientTxId> {
        let c = self.clients.get(&tx.0)?;
        let ClientMachine::Invite(m) = &c.machine else {
            return None;
        };
        match c.cancel {
            CancelState::Deferred(cid) | CancelState::Sent(cid) => return Some(ClientTxId(cid)),
            CancelState::None => {}
        }
        let deferred = match m.state() {
            InviteState::Calling { .. } => true,
            InviteState::Proceeding => false,
            _ => return None,
        };
        let cid = self.fresh_id();
        if deferred {
            if let Some(c) = self.clients.get_mut(&tx.0) {
                c.cancel = CancelState::Deferred(cid);
            }
        } else {
            self.start_cancel(now, tx.0, cid);
        }
        Some(ClientTxId(cid))
    }

    /// A response, matched to its client transaction by branch and method
    /// (§17.1.3) and accepted only from where the request went: a forger
    /// who guessed the branch still has to send from the peer's address.
    pub(super) fn handle_response(&mut self, now: Instant, from: Peer, resp: Response) {
        let Some(id) = ClientKey::for_response(&resp)
            .ok()
            .and_then(|k| self.client_keys.get(&k).copied())
        else {
            self.stats.dropped += 1;
            return;
        };
        let Some(c) = self.clients.get_mut(&id) else {
            self.stats.dropped += 1;
            return;
        };
        if !same_source(&c.peer, &from) {
            self.stats.dropped += 1;
            self.stats.wrong_source += 1;
            return;
        }
        let mut start_cancel = None;
        let actions = match &mut c.machine {
            ClientMachine::Invite(m) => {
                let actions = m.on_response(now, &resp);
                if let CancelState::Deferred(cid) = c.cancel {
                    if matches!(m.state(), InviteState::Proceeding) {
                        start_cancel = Some(cid);
                    } else if !matches!(m.state(), InviteState::Calling { .. }) {
                        c.cancel = CancelState::None;
                    }
                }
                actions
            }
            ClientMachine::NonInvite(m) => m.on_response(now, resp.status),
        };
        self.apply_client(id, actions, Some(resp));
        if let Some(cid) = start_cancel {
            self.start_cancel(now, id, cid);
        }
    }

    pub(super) fn client_timer(&mut self, now: Instant, id: u64) {
        let actions = match self.clients.get_mut(&id).map(|c| &mut c.machine) {
            Some(ClientMachine::Invite(m)) if m.next_deadline().is_some_and(|d| d <= now) => {
                m.on_timer(now)
            }
            Some(ClientMachine::NonInvite(m)) if m.next_deadline().is_some_and(|d| d <= now) => {
                m.on_timer(now)
            }
            _ => return,
        };
        self.apply_client(id, actions, None);
    }

    pub(super) fn client_transport_error(&mut self, id: u64) {
        let actions = match self.clients.get_mut(&id).map(|c| &mut c.machine) {
            Some(ClientMachine::Invite(m)) => m.on_transport_error(),
            Some(ClientMachine::NonInvite(m)) => m.on_transport_error(),
            None => return,
        };
        self.apply_client(id, actions, None);
    }

    /// Builds and sends the CANCEL for INVITE transaction `invite` as client transaction `cid`.
    fn start_cancel(&mut self, now: Instant, invite: u64, cid: u64) {
        let Some(c) = self.clients.get_mut(&invite) else {
            return;
        };
        let ClientMachine::Invite(m) = &mut c.machine else {
            return;
        };
        let cancel = cancel_for(m.request());
        m.on_cancel_sent(now);
        let invite_deadline = m.next_deadline();
        c.cancel = CancelState::Sent(cid);
        let peer = c.peer;
        let key = ClientKey {
            branch: c.key.branch.clone(),
            method: Method::Cancel,
        };
        self.schedule(TxRef::Client(invite), invite_deadline);
        let (machine, first) = ClientNonInvite::new(
            now,
            cancel.to_bytes(),
            peer.transport.is_reliable(),
            self.config.timers,
        );
        self.client_keys.insert(key.clone(), cid);
        self.clients.insert(
            cid,
            ClientTx {
                key,
                peer,
                machine: ClientMachine::NonInvite(Box::new(machine)),
                cancel: CancelState::None,
            },
        );
        self.apply_client(cid, vec![first], None);
    }

    fn add_our_headers(&mut self, req: &mut Request, to: Peer, branch: &str) {
        let via = our_via(to.transport, self.local_addr(to.transport), branch);
        req.headers.push_front("Via", via.to_string());
        default_header(&mut req.headers, "Max-Forwards", "70");
        let name = self.config.server_name.clone();
        default_header(&mut req.headers, "User-Agent", &name);
    }

    /// Carries out a client transaction's actions; `resp` is the response
    /// being processed, passed up on [`Action::PassUp`].
    fn apply_client(&mut self, id: u64, actions: Vec<Action>, mut resp: Option<Response>) {
        let Some(c) = self.clients.get(&id) else {
            return;
        };
        let peer = c.peer;
        for action in actions {
            match action {
                Action::Send(bytes) => self.transmit(peer, bytes),
                Action::Retransmit(bytes) => {
                    self.stats.retransmissions_sent += 1;
                    self.transmit(peer, bytes);
                }
                Action::Absorbed => self.stats.retransmissions_absorbed += 1,
                Action::PassUp => {
                    if let Some(resp) = resp.take() {
                        self.events.push_back(Event::Response {
                            tx: ClientTxId(id),
                            resp,
                        });
                    }
                }
                Action::Timeout => self.events.push_back(Event::Timeout { tx: ClientTxId(id) }),
                Action::TransportError => self
                    .events
                    .push_back(Event::TransportError { tx: ClientTxId(id) }),
                Action::AckTimeout => {}
            }
        }
        let (terminated, deadline) = match self.clients.get(&id).map(|c| &c.machine) {
            Some(ClientMachine::Invite(m)) => (m.is_terminated(), m.next_deadline()),
            Some(ClientMachine::NonInvite(m)) => (m.is_terminated(), m.next_deadline()),
            None => return,
        };
        if terminated {
            if let Some(c) = self.clients.remove(&id) {
                self.client_keys.remove(&c.key);
            }
        } else {
            self.schedule(TxRef::Client(id), deadline);
        }
    }
}

/// The CANCEL for `invite` (RFC 3261 §9.1).
fn cancel_for(invite: &Request) -> Request {
    let h = &invite.headers;
    let mut cancel = Request::new(Method::Cancel, invite.uri.clone());
    if let Some(via) = h.get_all("Via").first() {
        cancel.headers.push("Via", *via);
    }
    for route in h.get_all_lines("Route") {
        cancel.headers.push("Route", route);
    }
    cancel.headers.push("Max-Forwards", "70");
    for name in ["From", "To", "Call-ID"] {
        if let Some(v) = h.get(name) {
            cancel.headers.push(name, v);
        }
    }
    let seq = h.cseq().map(|c| c.seq).unwrap_or(1);
    cancel.headers.push("CSeq", format!("{seq} CANCEL"));
    if let Some(ua) = h.get("User-Agent") {
        cancel.headers.push("User-Agent", ua);
    }
    cancel
}

/// Whether a response from `from` can answer a request sent to `to`: the same
/// transport, IP and port. A NAT'd UDP phone answers from the address we sent
/// to (its registered source address). Over TCP the handshake fixes the
/// connection's address, so a response on any connection from that address
/// passes (the driver may have reconnected, or reused another connection to
/// it: the connection id we asked for is not necessarily the one used).
/// IPv4-mapped IPv6 addresses compare equal to their IPv4 form.
fn same_source(to: &Peer, from: &Peer) -> bool {
    to.transport == from.transport
        && to.addr.port() == from.addr.port()
        && to.addr.ip().to_canonical() == from.addr.ip().to_canonical()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    #[test]
    fn cancel_copies_the_invite_fields() {
        let text = "INVITE sip:202@h SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4:5060;branch=z9hG4bKq;rport\r\n\
Route: <sip:p1;lr>\r\nRoute: <sip:p2;lr>\r\nMax-Forwards: 70\r\nFrom: <sip:201@h>;tag=a\r\nTo: <sip:202@h>\r\n\
Call-ID: cid\r\nCSeq: 3 INVITE\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n";
        let Ok(Message::Request(inv)) = Message::parse(text.as_bytes()) else {
            panic!("test INVITE did not parse")
        };
        let c = cancel_for(&inv);
        assert_eq!(c.method, Method::Cancel);
        assert_eq!(c.uri, inv.uri);
        assert_eq!(c.headers.top_via().unwrap().branch(), Some("z9hG4bKq"));
        assert_eq!(
            c.headers.get_all("Route"),
            vec!["<sip:p1;lr>", "<sip:p2;lr>"]
        );
        assert_eq!(c.headers.get("CSeq"), Some("3 CANCEL"));
        assert_eq!(c.headers.get("To"), Some("<sip:202@h>"));
        assert!(c.body.is_empty());
        assert!(c.headers.get("Content-Type").is_none());
    }
}
