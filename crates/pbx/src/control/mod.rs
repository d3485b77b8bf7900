//! Call control: the component that owns registrations, calls and their legs,
//! and offers the verbs features use (answer, play, ring, bridge, forward,
//! hang up, place a call). It sits below every feature: nothing here names
//! the attendant, the queue, transfers or conferences. What features must
//! hear about as it happens (a call offered, a bridge failed, a call ended, a
//! request only a feature understands) goes up through the [`Features`] trait
//! that the feature layer implements.
//!
//! - `calls`: the call model and the tables that find a call.
//! - `setup`: a new INVITE (admission, caller authentication, offer, media ports).
//! - `answer`: the responses and the 200 (with our SDP) the caller gets.
//! - `bridge`: ringing extensions (forking), the first answer winning, failures.
//! - `midcall`: requests inside dialogs, forwarding, and ending a call.
//! - `dispatch`: responses, CANCEL, ACK, media events and timers to their call.
//! - `release`: freeing a call's media and forgetting the call.
//! - `register`: REGISTER with digest authentication and the throttling guard.
//! - `placed`: calls the PBX places itself.

pub(crate) mod answer;
pub(crate) mod bridge;
pub(crate) mod calls;
pub(crate) mod dispatch;
pub(crate) mod features;
pub(crate) mod midcall;
pub(crate) mod placed;
pub(crate) mod register;
pub(crate) mod release;
pub(crate) mod setup;

pub use bridge::RINGBACK_CLASS;

use crate::ctx::{self, Ctx};
use crate::directory::Directory;
use crate::ports::PortPool;
use crate::{Output, PbxConfig};
use media::LegId;
use sip::auth::{AuthGuard, Authenticator};
use sip::endpoint::{Endpoint, ServerTxId, Transport};
use sip::message::{Request, Response, Uri};
use sip::registrar::Binding;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

/// Who asks for credentials: the registrar (401, WWW-Authenticate) or the proxy that
/// a caller's INVITE goes through (407, Proxy-Authenticate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Challenge {
    Registrar,
    Proxy,
}

/// Call control's state (see the module doc).
pub(crate) struct Core {
    pub config: PbxConfig,
    pub directory: Arc<dyn Directory>,
    pub auth: Authenticator,
    pub guard: AuthGuard,
    /// Registrations by address-of-record (the cache of the database's table).
    pub bindings: HashMap<String, Vec<Binding>>,
    pub calls: calls::Calls,
    pub placed: placed::PlacedCalls,
    pub ports: PortPool,
    pub outputs: VecDeque<Output>,
    pub next_leg: u64,
    pub rate: calls::RateWindow,
    /// The operator position's number (`0` unless the dialplan says otherwise).
    pub position: String,
}

impl Core {
    /// Call control with no registrations and no calls.
    pub fn new(
        config: PbxConfig,
        directory: Arc<dyn Directory>,
        auth: Authenticator,
        guard: AuthGuard,
        ports: PortPool,
    ) -> Core {
        Core {
            config,
            directory,
            auth,
            guard,
            bindings: HashMap::new(),
            calls: Default::default(),
            placed: Default::default(),
            ports,
            outputs: VecDeque::new(),
            next_leg: 1,
            rate: Default::default(),
            position: "0".into(),
        }
    }

    /// The current (unexpired) bindings of an address-of-record.
    pub fn bindings(&self, aor: &str, wall_ms: i64) -> Vec<&Binding> {
        ctx::live_bindings(&self.bindings, aor, wall_ms)
    }

    /// The operator position's number.
    pub fn operator_position(&self) -> String {
        self.position.clone()
    }

    /// Counts an authentication failure against a source and logs a ban when it starts.
    pub fn auth_failed(&mut self, ip: IpAddr, now: Instant) {
        if let Some(ban) = self.guard.record_failure(ip, now) {
            tracing::warn!(source = %ip, ?ban, "too many authentication failures: source refused for a while");
        }
    }

    /// Answers `req` with a digest challenge (`stale`: the nonce expired, the credentials
    /// were right) and our To tag.
    pub fn challenge(
        &mut self,
        now: Instant,
        ep: &mut Endpoint,
        tx: ServerTxId,
        req: &Request,
        who: Challenge,
        stale: bool,
    ) {
        let (status, header) = match who {
            Challenge::Registrar => (401, "WWW-Authenticate"),
            Challenge::Proxy => (407, "Proxy-Authenticate"),
        };
        let mut resp = Response::for_request(req, status);
        for value in self.auth.challenge(now, stale) {
            resp.headers.push(header, value);
        }
        resp.headers.set(
            "To",
            crate::headers::with_tag(req.headers.get("To").unwrap_or(""), &ep.new_tag()),
        );
        ep.respond(now, tx, resp);
    }

    /// A fresh media leg id.
    pub fn new_leg(&mut self) -> LegId {
        let id = LegId(self.next_leg);
        self.next_leg += 1;
        id
    }

    /// Our Contact URI for a transport.
    pub fn contact_uri(&self, transport: Transport, user: Option<&str>) -> Uri {
        ctx::contact_uri(&self.config, transport, user)
    }

    /// The borrowed context the placed calls work in, and the placed calls.
    pub fn split(&mut self) -> (Ctx<'_>, &mut placed::PlacedCalls) {
        let ctx = Ctx {
            config: &self.config,
            ports: &mut self.ports,
            outputs: &mut self.outputs,
            next_leg: &mut self.next_leg,
        };
        (ctx, &mut self.placed)
    }

    /// Calls in progress, including the ones the PBX placed.
    pub fn active_calls(&self) -> usize {
        self.calls.len() + self.placed.active()
    }
}
