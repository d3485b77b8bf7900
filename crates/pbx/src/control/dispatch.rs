//! Call control's inputs: endpoint events other than new requests (responses,
//! transaction failures, CANCEL, ACK), media events and timers, routed to the
//! call they belong to; and the end of a call's life (its media freed, the
//! call forgotten once nothing is outstanding).

use super::calls::{Phase, Purpose, Side};
use super::features::{Features, Turn};
use super::release::maybe_remove;
use super::{Core, bridge, midcall, setup};
use crate::{CallKey, CdrEvent, Output, Party};
use media::MediaEvent;
use sip::endpoint::{Endpoint, Event};
use std::time::Instant;

pub(crate) fn handle_event(
    core: &mut Core,
    f: &mut dyn Features,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    event: Event,
) {
    match event {
        Event::Response { tx, resp } => {
            let Some((key, purpose)) = core.calls.by_client.get(&tx).map(|(k, p)| (*k, p.kind()))
            else {
                return;
            };
            match purpose {
                PurposeKind::Fork(i) => {
                    bridge::on_fork_response(core, f, now, wall_ms, ep, key, i, tx, resp)
                }
                PurposeKind::Forward => {
                    midcall::on_forward_response(core, now, wall_ms, ep, key, tx, resp)
                }
                PurposeKind::Fire => {
                    if resp.status >= 200 {
                        core.calls.by_client.remove(&tx);
                        maybe_remove(core, key);
                    }
                }
            }
        }
        Event::Timeout { tx } | Event::TransportError { tx } => {
            let Some((key, purpose)) = core.calls.by_client.get(&tx).map(|(k, p)| (*k, p.kind()))
            else {
                return;
            };
            match purpose {
                PurposeKind::Fork(i) => {
                    bridge::on_fork_failed(core, f, now, wall_ms, ep, key, i, tx, 408)
                }
                PurposeKind::Forward => {
                    midcall::on_forward_timeout(core, f, now, wall_ms, ep, key, tx)
                }
                PurposeKind::Fire => {
                    core.calls.by_client.remove(&tx);
                    maybe_remove(core, key);
                }
            }
        }
        Event::Cancelled { invite, .. } => setup::on_cancel(core, f, now, wall_ms, ep, invite),
        Event::AckTimeout { tx } => {
            let key = core.calls.by_invite.get(&tx).copied();
            if let Some(key) = key
                && core
                    .calls
                    .calls
                    .get(&key)
                    .is_some_and(|c| c.phase == Phase::Answered)
            {
                tracing::warn!(
                    call = key.0,
                    "caller never acknowledged the 200 OK: hanging up"
                );
                midcall::hangup(core, f, now, wall_ms, ep, key, Party::System);
            }
        }
        Event::Ack { req, .. } => {
            let call_id = req.headers.call_id().unwrap_or("").to_string();
            let to_tag = req
                .headers
                .to()
                .ok()
                .and_then(|t| t.tag().map(str::to_string))
                .unwrap_or_default();
            if let Some((key, side)) = core.calls.by_dialog.get(&(call_id, to_tag)).copied() {
                let attendant_waits = side == Side::A
                    && core
                        .calls
                        .calls
                        .get_mut(&key)
                        .is_some_and(|c| std::mem::take(&mut c.answered_awaiting_ack));
                if attendant_waits {
                    f.acknowledged(core, &mut Turn { now, wall_ms, ep }, key);
                } else {
                    midcall::on_ack(core, key, side, &req, ep);
                }
            }
        }
        Event::Request { .. } => {}
    }
}

#[derive(Debug, Clone, Copy)]
enum PurposeKind {
    Fork(usize),
    Forward,
    Fire,
}

impl Purpose {
    fn kind(&self) -> PurposeKind {
        match self {
            Purpose::Fork(i) => PurposeKind::Fork(*i),
            Purpose::Forward { .. } => PurposeKind::Forward,
            Purpose::Fire => PurposeKind::Fire,
        }
    }
}

/// Media events: a silent leg ends its call.
pub(crate) fn handle_media(
    core: &mut Core,
    f: &mut dyn Features,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    event: MediaEvent,
) {
    match event {
        MediaEvent::Dtmf { leg, digit, .. } => {
            f.digit(core, &mut Turn { now, wall_ms, ep }, leg, digit)
        }
        MediaEvent::PlayFinished { leg } => {
            f.play_finished(core, &mut Turn { now, wall_ms, ep }, leg)
        }
        MediaEvent::RtpUnavailable { leg, reason } => {
            let key = core
                .calls
                .calls
                .values()
                .find(|c| c.phase != Phase::Ended && (c.a_media.leg == leg || c.b_media.leg == leg))
                .map(|c| c.key);
            if let Some(key) = key {
                // A call without a media socket would be silent: end it (503 if unanswered).
                tracing::error!(call = key.0, leg = leg.0, %reason, "no RTP socket for the call: ending it");
                midcall::hangup(core, f, now, wall_ms, ep, key, Party::System);
            }
        }
        MediaEvent::RtpTimeout { leg } => {
            let key = core
                .calls
                .calls
                .values()
                .find(|c| c.a_media.leg == leg || c.b_media.leg == leg)
                .map(|c| c.key);
            if let Some(key) = key {
                tracing::warn!(call = key.0, leg = leg.0, "no RTP received: hanging up");
                midcall::hangup(core, f, now, wall_ms, ep, key, Party::System);
            }
        }
        MediaEvent::Quality { leg, report } => {
            let found = core.calls.ended_legs.remove(&leg);
            if let Some((call, which)) = found {
                core.outputs.push_back(Output::call(CdrEvent::Quality {
                    call,
                    leg: which,
                    report,
                }));
            }
        }
        MediaEvent::RecordingFinished {
            leg,
            path,
            duration,
            reason,
        } => match reason {
            media::RecordStop::Error(e) => {
                tracing::error!(leg = leg.0, path = %path.display(), error = %e, "recording failed");
            }
            _ => tracing::info!(
                leg = leg.0,
                path = %path.display(),
                seconds = duration.as_secs_f32(),
                ?reason,
                "recording finished"
            ),
        },
        other => tracing::debug!(?other, "media event"),
    }
}

/// Ring timeouts of bridge attempts that nobody answered.
pub(crate) fn handle_timeout(
    core: &mut Core,
    f: &mut dyn Features,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
) {
    let ring_due: Vec<CallKey> = core
        .calls
        .calls
        .values()
        .filter(|c| {
            c.phase != Phase::Ended && c.forking && c.ring_deadline.is_some_and(|d| d <= now)
        })
        .map(|c| c.key)
        .collect();
    for key in ring_due {
        tracing::info!(call = key.0, "no answer within the ring timeout");
        bridge::ring_timeout(core, f, now, wall_ms, ep, key);
    }
}
