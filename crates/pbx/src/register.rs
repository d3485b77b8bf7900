//! REGISTER: throttle check, digest challenge and verification, the
//! account's right to the address-of-record, then the registrar rules.
//! The 200 is sent only after the server has made the change durable
//! (the `Persist` output carries the response).

use crate::{OperatorChangeKind, Output, Pbx};
use sip::auth::GuardDecision;
use sip::endpoint::{Endpoint, Peer, ServerTxId, Transport};
use sip::message::{Request, Response};
use sip::registrar::{self, BindingChange, BindingSource, BindingTransport};
use std::time::Instant;

pub(crate) fn handle(
    pbx: &mut Pbx,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    tx: ServerTxId,
    req: Request,
    from: Peer,
) {
    let ip = from.addr.ip();
    if let GuardDecision::Refuse { .. } = pbx.guard.check(ip, now) {
        tracing::warn!(source = %from.addr, "REGISTER refused: source is banned after repeated authentication failures");
        ep.respond(now, tx, Response::for_request(&req, 403));
        return;
    }
    let Some(aor) = req.headers.to().ok().and_then(|to| to.uri.user_unescaped()) else {
        let mut resp = Response::for_request(&req, 400);
        resp.reason = "Bad Request (expected a user in the To URI)".into();
        ep.respond(now, tx, resp);
        return;
    };
    let Some(auth_header) = req.headers.get("Authorization").map(str::to_string) else {
        challenge(pbx, now, ep, tx, &req, false);
        return;
    };
    let directory = pbx.directory.clone();
    let method = req.method.to_string();
    let uri = req.uri.to_string();
    let verified = pbx.auth.verify(now, &method, &uri, &auth_header, |user| {
        directory.credential(user)
    });
    let proof = match verified {
        Ok(p) => p,
        Err(failure) => {
            if failure.is_stale() {
                challenge(pbx, now, ep, tx, &req, true);
                return;
            }
            if failure.counts_against_source() {
                pbx.auth_failed(ip, now);
            }
            tracing::info!(source = %from.addr, aor = %aor, reason = %failure, "REGISTER authentication failed");
            challenge(pbx, now, ep, tx, &req, false);
            return;
        }
    };
    pbx.guard.record_success(ip, now);
    if !pbx.directory.may_register(proof.username(), &aor) {
        tracing::info!(source = %from.addr, user = %proof.username(), aor = %aor, "REGISTER refused: account may not register this address");
        ep.respond(now, tx, Response::for_request(&req, 403));
        return;
    }
    let source = BindingSource {
        transport: match from.transport {
            Transport::Udp => BindingTransport::Udp,
            Transport::Tcp => BindingTransport::Tcp,
        },
        addr: from.addr,
        connection: from.conn.map(|c| c.0),
    };
    let existing: Vec<_> = pbx.bindings.get(&aor).cloned().unwrap_or_default();
    let outcome = registrar::register(
        &req,
        &aor,
        &proof,
        source,
        &existing,
        wall_ms,
        &pbx.config.registrar,
    );
    let mut outcome = outcome;
    if let Some(to) = outcome.response.headers.get("To").map(str::to_string) {
        let tagged = crate::call::with_tag(&to, &ep.new_tag());
        outcome.response.headers.set("To", tagged);
    }
    if let Some(err) = &outcome.error {
        tracing::info!(source = %from.addr, aor = %aor, error = %err, "REGISTER refused");
    }
    if aor == pbx.operator_position() {
        log_operator_changes(
            pbx,
            &existing,
            &outcome.changes,
            proof.username(),
            from,
            wall_ms,
        );
    }
    apply(pbx, &outcome.changes);
    if aor == pbx.operator_position() && !outcome.changes.is_empty() {
        crate::queue_glue::operators_changed(pbx, now, wall_ms, ep);
    }
    if outcome.changes.is_empty() {
        ep.respond(now, tx, outcome.response);
    } else {
        tracing::info!(aor = %aor, source = %from.addr, changes = outcome.changes.len(), "registration changed");
        pbx.outputs.push_back(Output::Persist {
            changes: outcome.changes,
            then: Some((tx, outcome.response)),
        });
    }
}

fn challenge(
    pbx: &mut Pbx,
    now: Instant,
    ep: &mut Endpoint,
    tx: ServerTxId,
    req: &Request,
    stale: bool,
) {
    let mut resp = Response::for_request(req, 401);
    for value in pbx.auth.challenge(now, stale) {
        resp.headers.push("WWW-Authenticate", value);
    }
    resp.headers.set(
        "To",
        crate::call::with_tag(req.headers.get("To").unwrap_or(""), &ep.new_tag()),
    );
    ep.respond(now, tx, resp);
}

/// Applies binding changes to the in-memory cache.
pub(crate) fn apply(pbx: &mut Pbx, changes: &[BindingChange]) {
    for change in changes {
        match change {
            BindingChange::Upsert(b) => {
                let list = pbx.bindings.entry(b.aor.clone()).or_default();
                match list.iter_mut().find(|x| x.contact == b.contact) {
                    Some(slot) => *slot = b.clone(),
                    None => list.push(b.clone()),
                }
            }
            BindingChange::Remove { aor, contact } => {
                if let Some(list) = pbx.bindings.get_mut(aor) {
                    list.retain(|x| &x.contact != contact);
                }
            }
            BindingChange::RemoveAll { aor } => {
                pbx.bindings.remove(aor);
            }
        }
    }
}

/// Operators log in by registering the operator position and out by removing
/// that registration: both go into the operator's shift log.
fn log_operator_changes(
    pbx: &mut Pbx,
    existing: &[sip::registrar::Binding],
    changes: &[BindingChange],
    operator: &str,
    from: Peer,
    wall_ms: i64,
) {
    for change in changes {
        let kind = match change {
            BindingChange::Upsert(b) if !existing.iter().any(|x| x.contact == b.contact) => {
                OperatorChangeKind::Login
            }
            BindingChange::Remove { .. } | BindingChange::RemoveAll { .. } => {
                OperatorChangeKind::Logout
            }
            _ => continue,
        };
        tracing::info!(operator, ?kind, source = %from.addr, "operator shift");
        pbx.outputs
            .push_back(Output::Event(crate::PbxEvent::Operator(
                crate::OperatorChange {
                    operator: operator.to_string(),
                    kind,
                    source: from.addr.to_string(),
                    at_ms: wall_ms,
                },
            )));
    }
}
