//! The server half of the endpoint: requests in, matched to server
//! transactions (§17.2.3), CANCEL handling (§9.2), the TU's responses out.

use super::wire::{default_header, response_peer, stamp_request};
use super::{AckKey, Endpoint, Event, Peer, ServerMachine, ServerTx, ServerTxId, TAG_LEN, TxRef};
use crate::message::{Method, Request, Response};
use crate::transaction::server_invite::ServerInvite;
use crate::transaction::server_non_invite::ServerNonInvite;
use crate::transaction::{Action, ServerKey};
use std::time::Instant;

impl Endpoint {
    /// Answers the request of server transaction `tx`. The response is routed
    /// per RFC 3261 §18.2.2 and RFC 3581 (the source address and port on
    /// UDP, the same connection on TCP). The TU sets the To tag; should it
    /// leave it out of a response other than 100, the endpoint adds the tag
    /// this transaction already used (in an earlier response, or in its 200
    /// to a CANCEL), else a fresh one (RFC 3261 §8.2.6.2). The endpoint adds
    /// `Server` if absent. After the final response, further responses
    /// are refused (counted in [`super::EndpointStats::late_responses`]),
    /// except repeated 2xx to an INVITE.
    pub fn respond(&mut self, now: Instant, tx: ServerTxId, mut resp: Response) {
        let id = tx.0;
        if !self.servers.contains_key(&id) {
            self.stats.late_responses += 1;
            return;
        }
        let fresh = self.rng.token(TAG_LEN);
        let Some(server) = self.servers.get_mut(&id) else {
            return;
        };
        default_header(&mut resp.headers, "Server", &self.config.server_name);
        let tag = resp
            .headers
            .to()
            .ok()
            .and_then(|to| to.tag().map(str::to_string));
        match tag {
            Some(tag) => server.to_tag = Some(tag),
            None if resp.status > 100 => {
                let tag = server.to_tag.get_or_insert(fresh).clone();
                if let Some(to) = resp.headers.get("To") {
                    let tagged = format!("{to};tag={tag}");
                    resp.headers.set("To", tagged);
                }
            }
            None => {}
        }
        let status = resp.status;
        let bytes = resp.to_bytes();
        let actions = match &mut server.machine {
            ServerMachine::Invite(m) => m.on_tu_response(now, status, bytes),
            ServerMachine::NonInvite(m) => m.on_tu_response(now, status, bytes),
        };
        if actions.is_empty() {
            self.stats.late_responses += 1;
            return;
        }
        if let ServerMachine::Invite(m) = &server.machine
            && m.is_accepted()
            && server.ack_key.is_none()
            && let Some(key) = ack_key(&resp.headers)
        {
            server.ack_key = Some(key.clone());
            self.accepted.insert(key, id);
        }
        self.apply_server(now, id, actions, None);
    }

    /// Forgets server transaction `tx` without answering it, for requests
    /// the TU decides to drop (a flood from a refused source, say). A
    /// retransmission of the request then arrives as a new
    /// [`Event::Request`]. Unanswered non-INVITE transactions are forgotten
    /// by themselves after 64*T1; INVITE ones wait for the TU.
    pub fn forget(&mut self, tx: ServerTxId) {
        if let Some(server) = self.servers.remove(&tx.0) {
            self.server_keys.remove(&server.key);
            if let Some(k) = server.ack_key {
                self.accepted.remove(&k);
            }
        }
    }

    pub(super) fn handle_request(&mut self, now: Instant, from: Peer, mut req: Request) {
        let Some(via) = stamp_request(&mut req, from.addr) else {
            self.stats.dropped += 1;
            return;
        };
        let Ok(key) = ServerKey::for_request(&req) else {
            self.stats.dropped += 1;
            return;
        };
        if req.method == Method::Ack {
            self.handle_ack(now, from, key, req);
            return;
        }
        if let Some(&id) = self.server_keys.get(&key) {
            let actions = match self.servers.get_mut(&id).map(|s| &mut s.machine) {
                Some(ServerMachine::Invite(m)) => m.on_invite_retransmission(),
                Some(ServerMachine::NonInvite(m)) => m.on_retransmission(),
                None => Vec::new(),
            };
            self.apply_server(now, id, actions, None);
            return;
        }
        let peer = response_peer(from, &via);
        let reliable = from.transport.is_reliable();
        let timers = self.config.timers;
        let id = self.fresh_id();
        let (machine, first) = match req.method {
            Method::Invite => {
                let mut trying = Response::for_request(&req, 100);
                // §8.2.6.1: a 100 Trying echoes the request's Timestamp.
                if let Some(ts) = req.headers.get("Timestamp") {
                    trying.headers.push("Timestamp", ts);
                }
                trying
                    .headers
                    .push("Server", self.config.server_name.as_str());
                let (m, first) = ServerInvite::new(trying.to_bytes(), reliable, timers);
                (ServerMachine::Invite(m), vec![first])
            }
            _ => (
                ServerMachine::NonInvite(ServerNonInvite::new(now, reliable, timers)),
                Vec::new(),
            ),
        };
        self.server_keys.insert(key.clone(), id);
        self.servers.insert(
            id,
            ServerTx {
                key,
                peer,
                machine,
                to_tag: None,
                ack_key: None,
            },
        );
        if req.method == Method::Cancel {
            self.handle_cancel(now, id, req);
            return;
        }
        self.apply_server(now, id, first, None);
        self.events.push_back(Event::Request {
            tx: ServerTxId(id),
            req,
            from,
        });
    }

    /// An ACK: absorbed by the INVITE transaction of a 3xx-6xx, or passed up
    /// as the ACK of a 2xx (stopping that 2xx's retransmission).
    fn handle_ack(&mut self, now: Instant, from: Peer, key: ServerKey, req: Request) {
        let id = self
            .server_keys
            .get(&key)
            .or_else(|| ack_key(&req.headers).and_then(|k| self.accepted.get(&k)))
            .copied();
        let actions = match id.and_then(|id| self.servers.get_mut(&id)) {
            Some(ServerTx {
                machine: ServerMachine::Invite(m),
                ..
            }) => m.on_ack(now),
            _ => vec![Action::PassUp],
        };
        match id {
            Some(id) => self.apply_server(now, id, actions, Some((req, from))),
            None => self.events.push_back(Event::Ack { req, from }),
        }
    }

    /// A new CANCEL, already given server transaction `id`: 200 and
    /// [`Event::Cancelled`] if it matches a pending INVITE, 200 alone if the
    /// INVITE has its final response, 481 if there is no such INVITE.
    fn handle_cancel(&mut self, now: Instant, id: u64, cancel: Request) {
        let invite = ServerKey::for_cancelled_invite(&cancel)
            .ok()
            .and_then(|k| self.server_keys.get(&k).copied());
        let found = invite.and_then(|i| self.servers.get(&i).map(|s| (i, s)));
        let (status, cancelled, tag) = match found {
            Some((i, s)) => {
                let pending = matches!(&s.machine, ServerMachine::Invite(m) if m.is_pending());
                (200, pending.then_some(i), s.to_tag.clone())
            }
            None => (481, None, None),
        };
        let mut resp = Response::for_request(&cancel, status);
        let tag = tag.unwrap_or_else(|| self.rng.token(TAG_LEN));
        // The TU's later 487 without a tag gets this same tag (§9.2: SHOULD match).
        if let Some(invite) = cancelled.and_then(|i| self.servers.get_mut(&i)) {
            invite.to_tag.get_or_insert_with(|| tag.clone());
        }
        if let Some(to) = resp.headers.get("To")
            && !to.to_ascii_lowercase().contains("tag=")
        {
            let tagged = format!("{to};tag={tag}");
            resp.headers.set("To", tagged);
        }
        self.respond(now, ServerTxId(id), resp);
        if let Some(invite) = cancelled {
            self.events.push_back(Event::Cancelled {
                invite: ServerTxId(invite),
                cancel,
            });
        }
    }

    pub(super) fn server_timer(&mut self, now: Instant, id: u64) {
        let actions = match self.servers.get_mut(&id).map(|s| &mut s.machine) {
            Some(ServerMachine::Invite(m)) if m.next_deadline().is_some_and(|d| d <= now) => {
                m.on_timer(now)
            }
            Some(ServerMachine::NonInvite(m)) if m.next_deadline().is_some_and(|d| d <= now) => {
                m.on_timer(now)
            }
            _ => return,
        };
        self.apply_server(now, id, actions, None);
    }

    pub(super) fn server_transport_error(&mut self, now: Instant, id: u64) {
        let actions = match self.servers.get_mut(&id).map(|s| &mut s.machine) {
            Some(ServerMachine::Invite(m)) => m.on_transport_error(),
            Some(ServerMachine::NonInvite(m)) => m.on_transport_error(),
            None => return,
        };
        self.apply_server(now, id, actions, None);
    }

    /// Carries out a server transaction's actions; `ack` is the ACK being
    /// processed, passed up on [`Action::PassUp`].
    fn apply_server(
        &mut self,
        _now: Instant,
        id: u64,
        actions: Vec<Action>,
        mut ack: Option<(Request, Peer)>,
    ) {
        let Some(server) = self.servers.get(&id) else {
            return;
        };
        let peer = server.peer;
        for action in actions {
            match action {
                Action::Send(bytes) => self.transmit(peer, bytes),
                Action::Retransmit(bytes) => {
                    self.stats.retransmissions_sent += 1;
                    self.transmit(peer, bytes);
                }
                Action::Absorbed => self.stats.retransmissions_absorbed += 1,
                Action::PassUp => {
                    if let Some((req, from)) = ack.take() {
                        self.events.push_back(Event::Ack { req, from });
                    }
                }
                Action::AckTimeout => self
                    .events
                    .push_back(Event::AckTimeout { tx: ServerTxId(id) }),
                // A response could not be delivered: the server side has no
                // event for it; the transaction simply ends.
                Action::TransportError | Action::Timeout => {}
            }
        }
        let (terminated, deadline) = match &self.servers.get(&id).map(|s| &s.machine) {
            Some(ServerMachine::Invite(m)) => (m.is_terminated(), m.next_deadline()),
            Some(ServerMachine::NonInvite(m)) => (m.is_terminated(), m.next_deadline()),
            None => return,
        };
        if terminated {
            if let Some(server) = self.servers.remove(&id) {
                self.server_keys.remove(&server.key);
                if let Some(k) = server.ack_key {
                    self.accepted.remove(&k);
                }
            }
        } else {
            self.schedule(TxRef::Server(id), deadline);
        }
    }
}

/// The identity of the ACK for a 2xx: Call-ID, From tag, CSeq number.
fn ack_key(headers: &crate::message::Headers) -> Option<AckKey> {
    let call_id = headers.call_id().ok()?.to_string();
    let from_tag = headers.from().ok()?.tag().unwrap_or_default().to_string();
    let seq = headers.cseq().ok()?.seq;
    Some((call_id, from_tag, seq))
}
