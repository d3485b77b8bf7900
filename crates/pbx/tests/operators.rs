//! The operator position: a guest pressing 0 waits with music on hold while
//! logged-in operators ring; operators pause, unpause and log out with
//! feature codes, and a paused or absent operator sends callers to the
//! queue's fallback.

mod support;

use media::LegId;
use support::{Leg, PhoneId, World};

struct Desk {
    w: World,
    op: PhoneId,
    guest: PhoneId,
}

fn desk() -> Desk {
    let mut w = World::with_default_plan();
    let op = w.add_phone("op1", "0", "op1", "secretop1", "10.0.0.30:5060", 9000);
    w.register(op);
    let guest = w.add_guest("5551234", "192.0.2.50:5060", 7000);
    Desk { w, op, guest }
}

/// The guest dials 1000 and presses 0 during the greeting.
fn guest_presses_0(d: &mut Desk) -> (Leg, LegId) {
    let w = &mut d.w;
    let call = w.invite(d.guest, "1000");
    let ok = w.take_final(d.guest, call.tx);
    assert_eq!(ok.status, 200);
    let leg = w.ack(&call, &ok);
    let a = w.leg_towards(w.rtp_of(d.guest));
    w.take_media();
    w.press(d.guest, '0');
    (leg, a)
}

/// The operator dials a feature code; returns what was announced.
fn feature(d: &mut Desk, code: &str) -> String {
    let w = &mut d.w;
    let call = w.call(d.op, code);
    let ok = w.take_final(d.op, call.tx);
    assert_eq!(ok.status, 200, "{code} is answered");
    let mut leg = w.ack(&call, &ok);
    let op_legs: Vec<LegId> = w
        .added_legs()
        .into_iter()
        .filter(|(_, r)| *r == Some(w.rtp_of(d.op)))
        .map(|(l, _)| l)
        .collect();
    let a = *op_legs.last().expect("a leg towards the operator");
    let announced = w
        .take_media()
        .into_iter()
        .rfind(|m| m.starts_with("Play"))
        .unwrap_or_default();
    w.play_out(a);
    w.expect_bye(&mut leg);
    announced
}

#[test]
fn pressing_0_rings_the_operator_with_music_on_hold() {
    let mut d = desk();
    let (_, a) = guest_presses_0(&mut d);
    let w = &mut d.w;
    let inc = w.expect_invite(d.op);
    let media = w.take_media();
    assert_eq!(
        media.iter().rfind(|m| m.starts_with("StartMoh")),
        Some(&format!("StartMoh {} default", a.0)),
        "the caller hears the queue's music, got {media:?}"
    );
    w.answer(&inc);
    w.expect_ack(d.op);
    let op_leg = w.leg_towards(w.rtp_of(d.op));
    let media = w.take_media();
    assert!(
        media.contains(&format!("StopMoh {}", a.0))
            && media.contains(&format!("Bridge {} {}", a.0, op_leg.0)),
        "{media:?}"
    );
}

#[test]
fn paused_operator_is_skipped_and_the_caller_gets_the_fallback() {
    let mut d = desk();
    assert!(feature(&mut d, "*45").ends_with("[operator_paused]"));
    assert_eq!(
        d.w.operator_events.last(),
        Some(&("op1".to_string(), "pause"))
    );
    let (mut guest, a) = guest_presses_0(&mut d);
    let w = &mut d.w;
    assert!(!w.has_request(d.op, sip::message::Method::Invite));
    assert_eq!(
        w.take_media(),
        [
            format!("StopPlay {}", a.0),
            format!("Play {} [operator_unavailable goodbye]", a.0)
        ]
    );
    w.play_out(a);
    w.expect_bye(&mut guest);

    // Unpaused, the operator rings again.
    assert!(feature(&mut d, "*46").ends_with("[operator_available]"));
    guest_presses_0(&mut d);
    d.w.expect_invite(d.op);
}

#[test]
fn operator_logout_removes_the_registration() {
    let mut d = desk();
    assert!(feature(&mut d, "*47").ends_with("[operator_logged_out]"));
    let w = &mut d.w;
    let wall = w.wall_ms();
    assert!(w.pbx.bindings("0", wall).is_empty());
    assert!(
        w.persisted
            .iter()
            .any(|c| matches!(c, sip::registrar::BindingChange::Remove { aor, .. } if aor == "0")),
        "the removal is written to the database: {:?}",
        w.persisted
    );
    assert_eq!(
        w.operator_events
            .iter()
            .map(|(_, e)| *e)
            .collect::<Vec<_>>(),
        ["login", "logout"]
    );
}
