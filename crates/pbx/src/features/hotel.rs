//! The hotel's routing on the attendant's calls: who a room's caller is shown as,
//! class of service for vacant rooms, do-not-disturb, call forwarding (always
//! before ringing; on busy and on no answer after it), and the phone's codes that
//! switch them (`*78`/`*79`/`*76`, `*72…`/`*73`, `*90…`/`*91`, `*52…`/`*53`).
//!
//! The state is [`crate::hotel::Hotel`]; the decisions on it are pure functions
//! there. This module applies them to calls.

use super::Apps;
use crate::control::{Core, bridge};
use crate::hotel::{self, CallerClass, Screened};
use crate::{CallKey, CdrEvent, LineChange, LineChangeKind, Output, PbxEvent};
use dialplan::{
    DndSwitch, Event, ExtensionKind, FailReason, Feature, FeatureResult, Refusal, Screening, Target,
};
use records::ForwardKind;
use sip::endpoint::Endpoint;
use std::time::{Duration, Instant};

/// The number a call was put through to by the attendant, for forwarding on busy or no
/// answer (once: a forwarded call is not forwarded again).
#[derive(Debug, Clone)]
pub(crate) struct Dialled {
    pub number: String,
    pub forwarded: bool,
    pub ring_timeout: Duration,
}

/// A new call from a phone: names the caller for staff (a room shows its guest, or that it
/// is vacant) and returns the guest's language for the attendant's prompts.
pub(crate) fn on_offered(
    apps: &Apps,
    core: &mut Core,
    key: CallKey,
    auth_user: Option<&str>,
) -> Option<String> {
    let plan = &apps.attendant.as_ref()?.plan;
    let room = auth_user.and_then(|u| hotel::extension_of(plan, u))?;
    if room.kind != ExtensionKind::Room {
        return None;
    }
    let display = staff_display(apps, &room.number);
    if let Some(call) = core.calls.calls.get_mut(&key) {
        call.display = Some(display.clone());
    }
    core.outputs.push_back(Output::call(CdrEvent::CallerNamed {
        call: key,
        name: display,
    }));
    apps.hotel
        .guest(&room.number)
        .and_then(|g| g.language.clone())
}

/// How staff and operators are shown a call from `room`: its guest, or that it is vacant.
fn staff_display(apps: &Apps, room: &str) -> String {
    match apps.hotel.guest(room) {
        Some(g) => g.caller_display(room),
        None => hotel::vacant_display(room),
    }
}

/// Who the phones about to ring are shown as the caller of a room's call: staff phones and
/// operators see the guest (`8105 Dr Li Wei ★`); another room sees only the calling room's
/// name (`Room 8105`), so guests do not learn each other's names.
fn show_caller(apps: &Apps, core: &mut Core, key: CallKey, numbers: &[String]) {
    let Some(plan) = apps.attendant.as_ref().map(|a| &a.plan) else {
        return;
    };
    let Some(room) = apps
        .ivrs
        .get(&key)
        .and_then(|i| i.auth_user.as_deref())
        .and_then(|u| hotel::extension_of(plan, u))
        .filter(|e| e.kind == ExtensionKind::Room)
    else {
        return;
    };
    let to_a_room = numbers.iter().any(|n| {
        plan.extension(n)
            .is_some_and(|e| e.kind == ExtensionKind::Room)
    });
    let display = if to_a_room {
        room.name.clone()
    } else {
        staff_display(apps, &room.number)
    };
    if let Some(call) = core.calls.calls.get_mut(&key) {
        call.display = Some(display);
    }
}

/// The caller's class of service.
fn class_of(apps: &Apps, key: CallKey) -> CallerClass {
    match (apps.attendant.as_ref(), apps.ivrs.get(&key)) {
        (Some(a), Some(ivr)) => hotel::caller_class(&a.plan, &apps.hotel, ivr.auth_user.as_deref()),
        _ => CallerClass::Outside,
    }
}

/// The caller's own line (an old number stands for its extension's), if they are an extension.
fn caller_line(apps: &Apps, key: CallKey) -> Option<String> {
    let plan = &apps.attendant.as_ref()?.plan;
    let user = apps.ivrs.get(&key)?.auth_user.as_deref()?;
    hotel::extension_of(plan, user).map(|e| e.number.clone())
}

/// The attendant's Bridge: screens the target (class of service, do-not-disturb,
/// unconditional forwarding) and rings what is left; an event for the interpreter if
/// the call cannot ring.
#[allow(clippy::too_many_arguments)]
pub(crate) fn bridge(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    target: Target,
    screening: Screening,
    ring_timeout: Duration,
) -> Option<Event> {
    let Some(a) = apps.attendant.as_ref() else {
        return Some(Event::BridgeFailed {
            reason: FailReason::NotFound,
        });
    };
    let plan = a.plan.clone();
    let class = class_of(apps, key);
    let numbers = match target {
        Target::Extension(number) => {
            match hotel::screen(&plan, &apps.hotel, class, &number, screening) {
                Screened::Refuse(reason) => return Some(Event::BridgeFailed { reason }),
                // The forwarding target calling the forwarded line rings the line itself
                // (its own phone would be rung otherwise).
                Screened::Ring {
                    forwarded: Some(fw),
                    number,
                } if caller_line(apps, key).as_deref() == Some(number.as_str()) => {
                    apps.dialled.insert(
                        key,
                        Dialled {
                            number: fw.from.clone(),
                            forwarded: false,
                            ring_timeout,
                        },
                    );
                    vec![fw.from]
                }
                Screened::Ring { number, forwarded } => {
                    if let Some(fw) = &forwarded {
                        record_forward(core, key, &fw.from, &number, fw.reason);
                    }
                    if screening == Screening::Normal {
                        apps.dialled.insert(
                            key,
                            Dialled {
                                number: number.clone(),
                                forwarded: forwarded.is_some(),
                                ring_timeout,
                            },
                        );
                    }
                    vec![number]
                }
            }
        }
        Target::Group { name, members } => {
            if class == CallerClass::VacantRoom && !hotel::vacant_room_may_call(&plan, &name) {
                let staff_only = members
                    .iter()
                    .all(|m| hotel::vacant_room_may_call(&plan, m));
                if !staff_only {
                    return Some(Event::BridgeFailed {
                        reason: FailReason::Restricted,
                    });
                }
            }
            // Members on do-not-disturb are left out; a group of only those is on DND.
            let ringing: Vec<String> = members
                .into_iter()
                .filter(|m| !apps.hotel.settings(m).is_some_and(|s| s.dnd))
                .collect();
            if ringing.is_empty() {
                return Some(Event::BridgeFailed {
                    reason: FailReason::DoNotDisturb,
                });
            }
            apps.dialled.remove(&key);
            ringing
        }
    };
    show_caller(apps, core, key, &numbers);
    match bridge::start(core, &*apps, now, wall_ms, ep, key, numbers, ring_timeout) {
        Ok(()) => None,
        // No phone of the line to ring: its no-answer forwarding applies at once.
        Err(reason) if forward_on_failure(apps, core, now, wall_ms, ep, key, reason) => None,
        Err(reason) => Some(Event::BridgeFailed { reason }),
    }
}

fn record_forward(core: &mut Core, key: CallKey, from: &str, to: &str, reason: ForwardKind) {
    tracing::info!(
        call = key.0,
        from,
        to,
        reason = reason.as_str(),
        "call forwarded"
    );
    core.outputs.push_back(Output::call(CdrEvent::Forwarded {
        call: key,
        from: from.to_string(),
        to: to.to_string(),
        reason,
    }));
}

/// The record's name for a forwarding condition.
pub(crate) fn forward_reason(kind: dialplan::ForwardKind) -> ForwardKind {
    match kind {
        dialplan::ForwardKind::Always => ForwardKind::Always,
        dialplan::ForwardKind::Busy => ForwardKind::Busy,
        dialplan::ForwardKind::NoAnswer => ForwardKind::NoAnswer,
    }
}

/// A failed ring of a dialled number: rings its busy or no-answer forwarding target
/// instead, once. True if the call now rings the target.
pub(crate) fn forward_on_failure(
    apps: &mut Apps,
    core: &mut Core,
    now: Instant,
    wall_ms: i64,
    ep: &mut Endpoint,
    key: CallKey,
    reason: FailReason,
) -> bool {
    let kind = match reason {
        FailReason::Busy => ForwardKind::Busy,
        FailReason::NoAnswer | FailReason::Unavailable => ForwardKind::NoAnswer,
        _ => return false,
    };
    let Some(dialled) = apps.dialled.get(&key).cloned() else {
        return false;
    };
    if dialled.forwarded {
        return false;
    }
    let Some(target) = apps
        .hotel
        .settings(&dialled.number)
        .and_then(|s| s.forwarding.get(kind))
        .map(str::to_string)
    else {
        return false;
    };
    if apps.hotel.settings(&target).is_some_and(|s| s.dnd) {
        return false;
    }
    // Class of service holds for the target too, and a caller is not rung by their own call.
    let restricted = class_of(apps, key) == CallerClass::VacantRoom
        && apps
            .attendant
            .as_ref()
            .is_some_and(|a| !hotel::vacant_room_may_call(&a.plan, &target));
    if restricted || caller_line(apps, key).as_deref() == Some(target.as_str()) {
        return false;
    }
    apps.dialled.insert(
        key,
        Dialled {
            number: target.clone(),
            forwarded: true,
            ring_timeout: dialled.ring_timeout,
        },
    );
    record_forward(core, key, &dialled.number, &target, kind);
    show_caller(apps, core, key, std::slice::from_ref(&target));
    let rung = bridge::start(
        core,
        &*apps,
        now,
        wall_ms,
        ep,
        key,
        vec![target],
        dialled.ring_timeout,
    );
    rung.is_ok()
}

/// The line a phone's code acts on: its extension (a room only while a guest stays).
fn line_of(apps: &Apps, auth_user: Option<&str>) -> Result<(String, bool), Refusal> {
    let plan = &apps.attendant.as_ref().ok_or(Refusal::NotAvailable)?.plan;
    let ext = auth_user
        .and_then(|u| hotel::extension_of(plan, u))
        .ok_or(Refusal::NotAvailable)?;
    let room = ext.kind == ExtensionKind::Room;
    if room && apps.hotel.guest(&ext.number).is_none() {
        return Err(Refusal::NotAvailable);
    }
    Ok((ext.number.clone(), room))
}

/// Carries out a do-not-disturb or forwarding code from a phone; what the caller hears.
pub(crate) fn feature_code(
    apps: &mut Apps,
    core: &mut Core,
    wall_ms: i64,
    key: CallKey,
    feature: Feature,
) -> FeatureResult {
    let auth_user = apps.ivrs.get(&key).and_then(|i| i.auth_user.clone());
    let (number, room) = match line_of(apps, auth_user.as_deref()) {
        Ok(line) => line,
        Err(refusal) => return FeatureResult::Refused(refusal),
    };
    let plan = apps.attendant.as_ref().map(|a| a.plan.clone());
    let (change, result) = match feature {
        Feature::Dnd(switch) => {
            let now_on = apps.hotel.settings(&number).is_some_and(|s| s.dnd);
            let on = match switch {
                DndSwitch::On => true,
                DndSwitch::Off => false,
                DndSwitch::Toggle => !now_on,
            };
            let result = if on {
                FeatureResult::DndOn
            } else {
                FeatureResult::DndOff
            };
            (LineChangeKind::Dnd(on), result)
        }
        Feature::ForwardSet { kind, target } => {
            let Some(plan) = plan else {
                return FeatureResult::Refused(Refusal::NotAvailable);
            };
            if let Err(why) = hotel::check_forward(&plan, &apps.hotel, &number, &target) {
                tracing::info!(line = %number, %target, %why, "forwarding refused");
                return FeatureResult::Refused(Refusal::BadTarget);
            }
            let change = LineChangeKind::Forward {
                reason: forward_reason(kind),
                target: Some(target),
            };
            (change, FeatureResult::ForwardOn(kind))
        }
        Feature::ForwardClear(kind) => {
            let change = LineChangeKind::Forward {
                reason: forward_reason(kind),
                target: None,
            };
            (change, FeatureResult::ForwardOff(kind))
        }
        _ => return FeatureResult::Refused(Refusal::NotAvailable),
    };
    let change = LineChange {
        number,
        room,
        change,
        by: auth_user.unwrap_or_default(),
        at_ms: wall_ms,
    };
    apply_change(&mut apps.hotel, &change);
    core.outputs
        .push_back(Output::Event(PbxEvent::Line(change)));
    result
}

/// Applies a line change to the live state (from a phone, or committed by the server).
pub(crate) fn apply_change(hotel: &mut hotel::Hotel, change: &LineChange) {
    let Some(settings) = hotel.settings_mut(&change.number, change.room) else {
        return;
    };
    match &change.change {
        LineChangeKind::Dnd(on) => settings.dnd = *on,
        LineChangeKind::Forward { reason, target } => {
            settings.forwarding.set(*reason, target.clone());
        }
    }
}
