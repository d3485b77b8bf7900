//! REGISTER: throttle check, digest challenge and verification, the
//! account's right to the address-of-record, then the registrar rules.
//! The 200 is sent only after the server has made the change durable
//! (the `Persist` output carries the response).

use super::features::{Features, Turn};
use super::{Challenge, Core};
use crate::{OperatorChangeKind, Output};
use sip::auth::GuardDecision;
use sip::endpoint::{Endpoint, Peer, ServerTxId, Transport};
use sip::message::{Request, Response};
use sip::registrar::{self, BindingChange, BindingSource, BindingTransport};
use std::time::Instant;

#[allow(clippy::too_many_arguments)]
pub(crate) fn handle(
    core: &mut Core,
    f: &mut dyn Features,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    tx: ServerTxId,
    req: Request,
    from: Peer,
) {
    let ip = from.addr.ip();
    if let GuardDecision::Refuse { .. } = core.guard.check(ip, now) {
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
    let Some(proof) = authenticate(core, now, wall_ms, ep, tx, &req, from, &aor) else {
        return;
    };
    core.guard.record_success(ip, now);
    if !core.directory.may_register(proof.username(), &aor) {
        tracing::info!(source = %from.addr, user = %proof.username(), aor = %aor, "REGISTER refused: account may not register this address");
        ep.respond(now, tx, Response::for_request(&req, 403));
        return;
    }
    // A renumbered extension's phone, still configured with its old number, binds the new one.
    let aor = core.directory.current_number(&aor).unwrap_or(aor);
    let source = BindingSource {
        transport: match from.transport {
            Transport::Udp => BindingTransport::Udp,
            Transport::Tcp => BindingTransport::Tcp,
        },
        addr: from.addr,
        connection: from.conn.map(|c| c.0),
    };
    let existing: Vec<_> = core.bindings.get(&aor).cloned().unwrap_or_default();
    let outcome = registrar::register(
        &req,
        &aor,
        &proof,
        source,
        &existing,
        wall_ms,
        &core.config.registrar,
    );
    let mut outcome = outcome;
    if let Some(to) = outcome.response.headers.get("To").map(str::to_string) {
        let tagged = crate::headers::with_tag(&to, &ep.new_tag());
        outcome.response.headers.set("To", tagged);
    }
    if let Some(err) = &outcome.error {
        tracing::info!(source = %from.addr, aor = %aor, error = %err, "REGISTER refused");
    }
    if aor == core.operator_position() {
        log_operator_changes(
            core,
            &existing,
            &outcome.changes,
            proof.username(),
            from,
            wall_ms,
        );
    }
    apply(core, &outcome.changes);
    if aor == core.operator_position() && !outcome.changes.is_empty() {
        f.registrations_changed(core, &mut Turn { now, wall_ms, ep }, &aor);
    }
    if outcome.changes.is_empty() {
        ep.respond(now, tx, outcome.response);
    } else {
        tracing::info!(aor = %aor, source = %from.addr, changes = outcome.changes.len(), "registration changed");
        core.outputs.push_back(Output::Persist {
            changes: outcome.changes,
            then: Some((tx, outcome.response)),
        });
    }
}

/// The digest proof of a REGISTER, or `None` when it was answered with a (new)
/// challenge; a failure that is the sender's fault counts against its address.
#[allow(clippy::too_many_arguments)]
fn authenticate(
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    tx: ServerTxId,
    req: &Request,
    from: Peer,
    aor: &str,
) -> Option<sip::auth::Authenticated> {
    let Some(auth_header) = req.headers.get("Authorization").map(str::to_string) else {
        core.challenge(now, ep, tx, req, Challenge::Registrar, false);
        return None;
    };
    let directory = core.directory.clone();
    let method = req.method.to_string();
    let uri = req.uri.to_string();
    let verified = core.auth.verify(now, &method, &uri, &auth_header, |user| {
        directory.credential(user, wall_ms)
    });
    match verified {
        Ok(p) => Some(p),
        Err(failure) => {
            if failure.is_stale() {
                core.challenge(now, ep, tx, req, Challenge::Registrar, true);
                return None;
            }
            if failure.counts_against_source() {
                core.auth_failed(from.addr.ip(), now);
            }
            tracing::info!(source = %from.addr, aor = %aor, reason = %failure, "REGISTER authentication failed");
            core.challenge(now, ep, tx, req, Challenge::Registrar, false);
            None
        }
    }
}

/// Applies binding changes to the in-memory cache.
pub(crate) fn apply(core: &mut Core, changes: &[BindingChange]) {
    for change in changes {
        match change {
            BindingChange::Upsert(b) => {
                let list = core.bindings.entry(b.aor.clone()).or_default();
                match list.iter_mut().find(|x| x.contact == b.contact) {
                    Some(slot) => *slot = b.clone(),
                    None => list.push(b.clone()),
                }
            }
            BindingChange::Remove { aor, contact } => {
                if let Some(list) = core.bindings.get_mut(aor) {
                    list.retain(|x| &x.contact != contact);
                }
            }
            BindingChange::RemoveAll { aor } => {
                core.bindings.remove(aor);
            }
        }
    }
}

/// Moves the registrations made under a number that is now a renumbered extension's old
/// number to the new number (after a reload or a restart that renumbered), so calls to the
/// new number ring those phones before they register again; the move is persisted.
pub(crate) fn rekey_renumbered(core: &mut Core) {
    let moves: Vec<(String, String)> = core
        .bindings
        .keys()
        .filter_map(|aor| core.directory.current_number(aor).map(|n| (aor.clone(), n)))
        .collect();
    let mut changes = Vec::new();
    for (old, new) in moves {
        for b in core.bindings.get(&old).cloned().unwrap_or_default() {
            tracing::info!(old = %old, new = %new, contact = %b.contact, "registration moved to the extension's new number");
            changes.push(BindingChange::Remove {
                aor: old.clone(),
                contact: b.contact.clone(),
            });
            let mut moved = b;
            moved.aor = new.clone();
            changes.push(BindingChange::Upsert(moved));
        }
        core.bindings.remove(&old);
    }
    apply(core, &changes);
    if !changes.is_empty() {
        core.outputs.push_back(Output::Persist {
            changes,
            then: None,
        });
    }
}

/// Operators log in by registering the operator position and out by removing
/// that registration: both go into the operator's shift log.
fn log_operator_changes(
    core: &mut Core,
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
        core.outputs
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
