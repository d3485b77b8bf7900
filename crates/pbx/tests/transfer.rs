//! Transfers by REFER from the operator's phone: blind (the caller rings the
//! target, the operator is told by NOTIFY and let go; a failed target sends
//! the caller back to the head of the queue), attended (REFER with Replaces
//! joins the caller and the target), refused REFERs, and hold with music.

mod support;

use media::LegId;
use sip::message::{Method, Request};
use support::{Incoming, Leg, PhoneId, World};

struct Desk {
    w: World,
    op: PhoneId,
    guest: PhoneId,
    p201: PhoneId,
}

fn desk() -> Desk {
    let mut w = World::with_default_plan();
    let op = w.add_phone("op1", "0", "op1", "secretop1", "10.0.0.30:5060", 9000);
    w.register(op);
    let p201 = w.add_phone("201", "201", "201", "secret201", "10.0.0.21:5060", 4000);
    w.register(p201);
    let guest = w.add_guest("5551234", "192.0.2.50:5060", 7000);
    Desk { w, op, guest, p201 }
}

/// A guest dials 1000, presses 0 and is answered by op1. Returns the guest's leg,
/// the guest's media leg at the PBX, and the operator's leg.
fn answered_by_operator(d: &mut Desk, guest: PhoneId) -> (Leg, LegId, Leg) {
    let w = &mut d.w;
    let call = w.invite(guest, "1000");
    let ok = w.take_final(guest, call.tx);
    assert_eq!(ok.status, 200);
    let leg = w.ack(&call, &ok);
    let a = w.leg_towards(w.rtp_of(guest));
    w.press(guest, '0');
    let inc = w.expect_invite(d.op);
    let op_leg = w.answer(&inc);
    w.expect_ack(d.op);
    w.take_media();
    (leg, a, op_leg)
}

fn refer(w: &mut World, leg: &mut Leg, refer_to: Option<&str>) -> sip::message::Response {
    let mut req: Request = leg.dialog.new_request(Method::Refer);
    if let Some(to) = refer_to {
        req.headers.push("Refer-To", to);
    }
    req.headers
        .push("Referred-By", "<sip:op1@10.0.0.30>".to_string());
    let tx = w.send_from(leg.phone, req);
    w.take_final(leg.phone, tx)
}

/// Takes the next NOTIFY at the operator, answers it, returns (sipfrag, Subscription-State).
fn notify(w: &mut World, op: PhoneId) -> (String, String) {
    let (tx, req) = w.expect_request(op, Method::Notify);
    assert_eq!(req.headers.get("Event"), Some("refer"));
    assert!(
        req.headers
            .get("Content-Type")
            .is_some_and(|c| c.starts_with("message/sipfrag"))
    );
    w.reply(op, tx, &req, 200);
    (
        String::from_utf8_lossy(&req.body).trim().to_string(),
        req.headers
            .get("Subscription-State")
            .unwrap_or("")
            .to_string(),
    )
}

fn caller_of(inc: &Incoming) -> String {
    inc.req
        .headers
        .from()
        .ok()
        .and_then(|f| f.uri.user)
        .unwrap_or_default()
}

#[test]
fn blind_transfer_connects_the_caller_to_the_target_and_lets_the_operator_go() {
    let mut d = desk();
    let guest = d.guest;
    let (mut guest_leg, a, mut op_leg) = answered_by_operator(&mut d, guest);
    let w = &mut d.w;
    let resp = refer(w, &mut op_leg, Some("<sip:201@10.0.0.1:5060>"));
    assert_eq!(resp.status, 202);
    assert_eq!(
        notify(w, d.op),
        (
            "SIP/2.0 100 Trying".to_string(),
            "active;expires=60".to_string()
        )
    );
    let inc = w.expect_invite(d.p201);
    assert_eq!(caller_of(&inc), "5551234", "201 sees the guest calling");
    let mut desk_leg = w.answer(&inc);
    w.expect_ack(d.p201);
    let (frag, state) = notify(w, d.op);
    assert_eq!(frag, "SIP/2.0 200 OK");
    assert!(state.starts_with("terminated"), "{state}");
    w.expect_bye(&mut op_leg);
    let b = w.leg_towards(w.rtp_of(d.p201));
    let media = w.take_media();
    assert!(
        media.contains(&format!("Bridge {} {}", a.0, b.0)),
        "the guest is bridged to 201: {media:?}"
    );
    let record = w.queue_records.last().expect("a queue record");
    assert_eq!(record.answered_by.as_deref(), Some("op1"));
    assert_eq!(record.transfers.len(), 1);
    assert_eq!(record.transfers[0].kind.as_str(), "blind");
    assert_eq!(record.transfers[0].to, "201");
    assert_eq!(
        record.transfers[0].result.map(|r| r.as_str()),
        Some("connected")
    );
    // The guest and 201 talk until the guest hangs up; then 201 gets BYE.
    w.bye(&mut guest_leg);
    w.expect_bye(&mut desk_leg);
    let last = w.queue_records.last().unwrap();
    assert!(last.ended_ms.is_some());
    assert_eq!(w.pbx.active_calls(), 0);
}

#[test]
fn failed_blind_transfer_returns_the_caller_to_the_head_of_the_queue() {
    let mut d = desk();
    let guest = d.guest;
    let (_guest_leg, a, mut op_leg) = answered_by_operator(&mut d, guest);
    // A second caller waits behind (op1 is busy).
    let second = d.w.add_guest("5559999", "192.0.2.60:5060", 7100);
    let call2 = d.w.invite(second, "1000");
    let ok2 = d.w.take_final(second, call2.tx);
    d.w.ack(&call2, &ok2);
    d.w.press(second, '0');
    assert!(!d.w.has_request(d.op, Method::Invite), "op1 is busy");
    let w = &mut d.w;
    let resp = refer(w, &mut op_leg, Some("<sip:201@10.0.0.1>"));
    assert_eq!(resp.status, 202);
    notify(w, d.op);
    let inc = w.expect_invite(d.p201);
    w.respond(&inc, 486);
    let (frag, state) = notify(w, d.op);
    assert_eq!(frag, "SIP/2.0 486 Busy Here");
    assert!(state.starts_with("terminated"));
    w.expect_bye(&mut op_leg);
    // The operator's phone also hangs up its side (crossing our BYE, as baresip does after
    // the final NOTIFY): confirmed, and the caller stays.
    let late = w.bye(&mut op_leg);
    assert_eq!(w.take_final(d.op, late).status, 200);
    let mut info = op_leg.dialog.new_request(Method::Info);
    info.headers.push("Content-Type", "application/dtmf-relay");
    info.body = b"Signal=1\r\nDuration=160\r\n".to_vec();
    let tx = w.send_from(d.op, info);
    assert_eq!(w.take_final(d.op, tx).status, 481, "the dialog is over");
    let media = w.take_media();
    assert!(
        media
            .iter()
            .any(|m| m.starts_with(&format!("Play {} [transfer_failed", a.0))),
        "the guest hears that the transfer failed: {media:?}"
    );
    // op1 is free again, but nobody is offered a caller until the guest has heard why they
    // are back; then op1 gets the returned guest first, not the second caller.
    assert!(
        !w.has_request(d.op, Method::Invite),
        "the explanation is not cut short"
    );
    w.advance(std::time::Duration::from_secs(10));
    let again = w.expect_invite(d.op);
    assert_eq!(caller_of(&again), "5551234");
    let snapshot = w.pbx.queue_snapshot(w.now, w.wall_ms());
    let order: Vec<&str> = snapshot.waiting.iter().map(|c| c.caller.as_str()).collect();
    assert_eq!(order, ["5551234", "5559999"]);
    let record = w
        .queue_records
        .iter()
        .rev()
        .find(|r| r.caller == "5551234")
        .unwrap();
    assert_eq!(record.transfers[0].result.map(|r| r.as_str()), Some("busy"));
}

#[test]
fn attended_transfer_joins_the_held_caller_and_the_target() {
    let mut d = desk();
    let guest = d.guest;
    let (mut guest_leg, a, mut op_leg) = answered_by_operator(&mut d, guest);
    let w = &mut d.w;
    // Hold: the PBX answers the operator itself and plays music to the guest.
    let hold = w.reinvite(&mut op_leg, "sendonly");
    let held = w.take_final(d.op, hold.tx);
    assert_eq!(held.status, 200);
    assert!(String::from_utf8_lossy(&held.body).contains("a=recvonly"));
    w.ack(&hold, &held);
    assert!(
        !w.has_request(d.guest, Method::Invite),
        "the guest's phone is not re-INVITEd"
    );
    let media = w.take_media();
    assert!(
        media.contains(&format!("Unbridge {}", a.0))
            && media.contains(&format!("StartMoh {} default", a.0)),
        "{media:?}"
    );
    // The operator calls 201 and talks.
    let consult = w.call(d.op, "201");
    let inc = w.expect_invite(d.p201);
    let mut desk_leg = w.answer(&inc);
    w.expect_ack(d.p201);
    let ok = w.take_final(d.op, consult.tx);
    assert_eq!(ok.status, 200);
    let mut consult_leg = w.ack(&consult, &ok);
    let b = w.leg_towards(w.rtp_of(d.p201));
    w.take_media();
    // Transfer: REFER on the guest's call with Replaces naming the consultation call.
    let id = consult_leg.dialog.id.clone();
    let refer_to = format!(
        "<sip:201@10.0.0.1?Replaces={}%3Bto-tag%3D{}%3Bfrom-tag%3D{}>",
        id.call_id, id.remote_tag, id.local_tag
    );
    let resp = refer(w, &mut op_leg, Some(&refer_to));
    assert_eq!(resp.status, 202);
    let (frag, _) = notify(w, d.op);
    assert_eq!(frag, "SIP/2.0 200 OK");
    // Both of the operator's legs end; the guest and 201 stay.
    // (The consultation call's BYE goes first, then the transferred call's.)
    w.expect_bye(&mut consult_leg);
    w.expect_bye(&mut op_leg);
    // The operator's phone hanging up the consultation call itself, crossing our BYE, is
    // confirmed and does not touch the joined call.
    let late = w.bye(&mut consult_leg);
    assert_eq!(w.take_final(d.op, late).status, 200);
    assert!(!w.has_request(d.p201, Method::Bye));
    let media = w.take_media();
    assert!(
        media.contains(&format!("Bridge {} {}", a.0, b.0)),
        "guest and 201 bridged: {media:?}"
    );
    let record = w.queue_records.last().unwrap();
    assert_eq!(record.transfers[0].kind.as_str(), "attended");
    assert_eq!(record.transfers[0].to, "201");
    assert_eq!(
        record.transfers[0].result.map(|r| r.as_str()),
        Some("connected")
    );
    // 201 hangs up: the guest gets BYE.
    w.bye(&mut desk_leg);
    w.expect_bye(&mut guest_leg);
    assert_eq!(w.pbx.active_calls(), 0);
}

#[test]
fn malformed_or_self_referencing_refers_are_refused_and_the_call_goes_on() {
    let mut d = desk();
    let guest = d.guest;
    let (mut guest_leg, _a, mut op_leg) = answered_by_operator(&mut d, guest);
    let w = &mut d.w;
    assert_eq!(refer(w, &mut op_leg, None).status, 400);
    assert_eq!(refer(w, &mut op_leg, Some("<sip:0@10.0.0.1>")).status, 400);
    assert_eq!(
        refer(w, &mut op_leg, Some("<sip:5551234@10.0.0.1>")).status,
        400
    );
    assert_eq!(refer(w, &mut op_leg, Some("<tel:+4930123>")).status, 416);
    assert_eq!(
        refer(
            w,
            &mut op_leg,
            Some("<sip:201@10.0.0.1?Replaces=nope%3Bto-tag%3Dx%3Bfrom-tag%3Dy>")
        )
        .status,
        481
    );
    assert!(!w.has_request(d.op, Method::Notify));
    assert!(!w.has_request(d.p201, Method::Invite));
    // Still connected: the guest hangs up and the operator gets BYE.
    w.bye(&mut guest_leg);
    w.expect_bye(&mut op_leg);
}

#[test]
fn operator_unhold_bridges_the_caller_again() {
    let mut d = desk();
    let guest = d.guest;
    let (_guest_leg, a, mut op_leg) = answered_by_operator(&mut d, guest);
    let w = &mut d.w;
    let op_media = w.leg_towards(w.rtp_of(d.op));
    let hold = w.reinvite(&mut op_leg, "inactive");
    let held = w.take_final(d.op, hold.tx);
    assert!(String::from_utf8_lossy(&held.body).contains("a=inactive"));
    w.ack(&hold, &held);
    w.take_media();
    let resume = w.reinvite(&mut op_leg, "sendrecv");
    let ok = w.take_final(d.op, resume.tx);
    assert_eq!(ok.status, 200);
    assert!(String::from_utf8_lossy(&ok.body).contains("a=sendrecv"));
    w.ack(&resume, &ok);
    let media = w.take_media();
    assert!(
        media.contains(&format!("StopMoh {}", a.0))
            && media.contains(&format!("Bridge {} {}", a.0, op_media.0)),
        "{media:?}"
    );
}
