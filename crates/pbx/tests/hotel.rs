//! Hotel routing on the attendant's calls: rooms' callers named for staff, the guest's
//! language, class of service for vacant rooms, do-not-disturb switched from the phones
//! and the operator's override. Forwarding, renumbered, retired and hotline numbers are
//! in `hotel_forwarding.rs`, paging in `hotel_paging.rs`.
//!
//! The guests and the lines' settings are set with `Pbx::update_hotel`, as the server
//! does after each database commit.

mod support;

use pbx::sdp::parse_audio;
use pbx::{LineChange, LineChangeKind};
use sip::message::Method;
use support::hotel::guest;
use support::{Outgoing, PhoneId, World, office};

/// 201 and 202 (the office) plus room phones registered for `rooms`: room 81NN at 10.0.1.NN.
fn hotel(rooms: &[&str]) -> (World, PhoneId, PhoneId, Vec<PhoneId>) {
    let o = office();
    let mut w = o.w;
    let phones = rooms
        .iter()
        .map(|r| {
            let host = r[2..].parse().expect("a room 81NN");
            w.room_phone(r, host)
        })
        .collect();
    w.take_ladder();
    w.take_media();
    (w, o.p201, o.p202, phones)
}

/// Operator op1 logged in at the operator position (10.0.0.30).
fn operator(w: &mut World) -> PhoneId {
    let op = w.add_phone("op1", "0", "op1", "secretop1", "10.0.0.30:5060", 9000);
    w.register(op);
    op
}

/// The Dr Li Wei, a VIP, in room 8105 (Mandarin).
fn li_wei() -> pbx::hotel::Guest {
    guest("Li Wei", Some("Dr"), Some("zh"), true)
}

/// Expects `call` refused with an explanation as early media: 183 with our SDP, `prompt`
/// played on the caller's leg, then `status` once the prompt has played.
fn refused_with(w: &mut World, call: &Outgoing, prompt: &str, status: u16) {
    let early = w.take_responses(call.phone, call.tx);
    let progress = early
        .iter()
        .find(|r| r.status == 183)
        .unwrap_or_else(|| w.fail(&format!("expected 183, got {:?}", statuses(&early))));
    let sdp = parse_audio(&progress.body).expect("SDP in the 183");
    assert_eq!(sdp.rtp.map(|a| a.ip()), Some(World::public_ip()));
    assert!(
        early.iter().all(|r| r.status < 200),
        "no final response yet"
    );
    let a = w.leg_towards(w.rtp_of(call.phone));
    assert_eq!(
        w.take_media(),
        [
            format!("AddLeg {} remote={}", a.0, w.rtp_of(call.phone)),
            format!("Play {} [{prompt}]", a.0)
        ]
    );
    w.play_out(a);
    assert!(w.heard(call.phone).audible > 0, "the prompt is heard");
    assert_eq!(w.take_final(call.phone, call.tx).status, status);
}

fn statuses(rs: &[sip::message::Response]) -> Vec<u16> {
    rs.iter().map(|r| r.status).collect()
}

/// Phone `p` dials a feature code; returns the prompt that answered it.
fn dial_code(w: &mut World, p: PhoneId, code: &str) -> String {
    let prompt = w.operator_feature(p, code);
    w.take_media();
    prompt
}

fn dnd(number: &str, on: bool, room: bool, by: &str) -> (String, bool, LineChangeKind, String) {
    (number.into(), room, LineChangeKind::Dnd(on), by.into())
}

/// The line changes so far without their times.
fn changes(w: &World) -> Vec<(String, bool, LineChangeKind, String)> {
    w.line_changes
        .iter()
        .map(
            |LineChange {
                 number,
                 room,
                 change,
                 by,
                 ..
             }| { (number.clone(), *room, change.clone(), by.clone()) },
        )
        .collect()
}

#[test]
fn a_vip_guests_room_calls_staff_with_the_guests_name() {
    let (mut w, p201, _, rooms) = hotel(&["8105"]);
    w.check_in("8105", li_wei());
    w.call(rooms[0], "201");
    let inc = w.expect_invite(p201);
    let from = inc.req.headers.from().expect("From");
    assert_eq!(from.display.as_deref(), Some("8105 Dr Li Wei ★"));
    assert_eq!(from.uri.user.as_deref(), Some("8105"));
    assert_eq!(
        w.cdr_lines(),
        ["Started 8105->201", "Named 8105 Dr Li Wei ★"]
    );
}

#[test]
fn a_vacant_room_calls_staff_as_vacant() {
    let (mut w, p201, _, rooms) = hotel(&["8105"]);
    w.call(rooms[0], "201");
    let inc = w.expect_invite(p201);
    let from = inc.req.headers.from().expect("From");
    assert_eq!(from.display.as_deref(), Some("Room 8105 (vacant)"));
    assert_eq!(
        w.cdr_lines(),
        ["Started 8105->201", "Named Room 8105 (vacant)"]
    );
}

/// Checking out names the room vacant again; a guest without title or VIP mark is just named.
#[test]
fn the_name_follows_check_in_and_check_out() {
    let (mut w, p201, _, rooms) = hotel(&["8105"]);
    w.check_in("8105", guest("Anna Berg", None, None, false));
    w.call(rooms[0], "201");
    let inc = w.expect_invite(p201);
    assert_eq!(
        inc.req.headers.from().expect("From").display.as_deref(),
        Some("8105 Anna Berg")
    );
    w.respond(&inc, 486);
    w.settle();
    w.pbx.update_hotel(pbx::hotel::HotelUpdate::Room {
        room: "8105".into(),
        stay: None,
    });
    w.call(rooms[0], "201");
    let inc = w.expect_invite(p201);
    assert_eq!(
        inc.req.headers.from().expect("From").display.as_deref(),
        Some("Room 8105 (vacant)")
    );
}

/// A VIP guest dialling 0 waits in the operator queue named and placed as a VIP.
#[test]
fn a_vip_guest_waits_for_the_operator_named_and_as_vip() {
    let (mut w, _, _, rooms) = hotel(&["8105", "8106"]);
    let op = operator(&mut w);
    w.check_in("8105", li_wei());
    let call = w.call(rooms[0], "0");
    let ok = w.take_final(rooms[0], call.tx);
    assert_eq!(ok.status, 200, "the queue answers the caller");
    w.ack(&call, &ok);
    let inc = w.expect_invite(op);
    assert_eq!(
        inc.req.headers.from().expect("From").display.as_deref(),
        Some("8105 Dr Li Wei ★"),
        "the operator's phone shows the guest"
    );
    // A vacant room's call waits too, named as vacant and not a VIP.
    let call = w.call(rooms[1], "0");
    let ok = w.take_final(rooms[1], call.tx);
    w.ack(&call, &ok);
    w.settle();
    let waiting: Vec<_> = w
        .snapshot()
        .waiting
        .into_iter()
        .map(|c| (c.caller, c.name, c.vip))
        .collect();
    assert_eq!(
        waiting,
        [
            ("8105".into(), Some("8105 Dr Li Wei ★".into()), true),
            ("8106".into(), Some("Room 8106 (vacant)".into()), false),
        ]
    );
}

/// The guest's language wins over the room's: Mandarin prompts on the main number.
#[test]
fn a_guests_language_chooses_the_prompts() {
    let (mut w, _, _, rooms) = hotel(&["8105", "8106"]);
    w.check_in("8105", li_wei());
    w.check_in("8106", guest("Tom Hill", None, Some("en"), false));
    let mut paths = Vec::new();
    for room in &rooms {
        let call = w.call(*room, "1000");
        let ok = w.take_final(*room, call.tx);
        assert_eq!(ok.status, 200);
        w.ack(&call, &ok);
        w.settle();
        let a = w.leg_towards(w.rtp_of(*room));
        let played = w.played_paths(a);
        let welcome = played
            .first()
            .and_then(|p| p.first())
            .cloned()
            .unwrap_or_else(|| w.fail("expected the greeting"));
        paths.push(welcome);
    }
    assert!(paths[0].ends_with("/zh/welcome.wav"), "{paths:?}");
    assert!(paths[1].ends_with("/en/welcome.wav"), "{paths:?}");
}

/// A language the plan has no prompts for is ignored: the room's language stays.
#[test]
fn a_guest_language_without_prompts_keeps_the_rooms() {
    let (mut w, _, _, rooms) = hotel(&["8105"]);
    w.check_in("8105", guest("Jean Roux", None, Some("fr"), false));
    let call = w.call(rooms[0], "1000");
    let ok = w.take_final(rooms[0], call.tx);
    w.ack(&call, &ok);
    w.settle();
    let a = w.leg_towards(w.rtp_of(rooms[0]));
    let welcome = w.played_paths(a)[0][0].clone();
    assert!(welcome.ends_with("/en/welcome.wav"), "{welcome}");
}

/// A vacant room may not call another room: `restricted` as early media, then 403.
#[test]
fn a_vacant_room_may_not_call_a_room() {
    let (mut w, _, _, rooms) = hotel(&["8101", "8102"]);
    let call = w.call(rooms[0], "8102");
    refused_with(&mut w, &call, "restricted", 403);
    assert!(!w.has_request(rooms[1], Method::Invite), "8102 never rang");
    assert_eq!(
        w.cdr_lines(),
        [
            "Started 8101->8102",
            "Named Room 8101 (vacant)",
            "Ended rejected by system"
        ]
    );
}

/// A vacant room may call staff; an occupied room calls rooms, and the room it calls is
/// shown the calling room's name only (guests do not learn each other's names).
#[test]
fn a_vacant_room_calls_staff_and_an_occupied_room_calls_rooms() {
    let (mut w, p201, _, rooms) = hotel(&["8101", "8102"]);
    w.call(rooms[0], "201");
    let inc = w.expect_invite(p201);
    w.respond(&inc, 486);
    w.settle();
    w.check_in("8101", guest("Anna Berg", None, None, false));
    w.call(rooms[0], "8102");
    let inc = w.expect_invite(rooms[1]);
    assert_eq!(
        inc.req.headers.from().expect("From").display.as_deref(),
        Some("Room 8101"),
        "another guest sees the room, never the guest's name"
    );
}

/// A vacant room may call the operator.
#[test]
fn a_vacant_room_may_call_the_operator() {
    let (mut w, _, _, rooms) = hotel(&["8101"]);
    let op = operator(&mut w);
    let call = w.call(rooms[0], "0");
    let ok = w.take_final(rooms[0], call.tx);
    assert_eq!(ok.status, 200);
    w.ack(&call, &ok);
    w.expect_invite(op);
}

/// 202 switches do-not-disturb on with *78: `dnd_on`, and a line change for the store.
/// A caller is then answered by the attendant, offered the operator, and 0 queues them.
#[test]
fn dnd_from_the_phone_offers_callers_the_operator() {
    let (mut w, p201, p202, _) = hotel(&[]);
    let op = operator(&mut w);
    assert_eq!(dial_code(&mut w, p202, "*78"), "dnd_on");
    assert_eq!(changes(&w), [dnd("202", true, false, "202")]);
    let at = w.line_changes[0].at_ms;
    assert!(
        (support::WALL_START_MS..=w.wall_ms()).contains(&at),
        "stamped with the wall clock: {at}"
    );

    let call = w.call(p201, "202");
    let ok = w.take_final(p201, call.tx);
    assert_eq!(ok.status, 200, "the attendant answers for 202");
    w.ack(&call, &ok);
    assert!(!w.has_request(p202, Method::Invite), "202 does not ring");
    let a = w.leg_towards(w.rtp_of(p201));
    assert_eq!(
        w.take_plays(),
        [format!("Play {} [guest_dnd press_0_operator]", a.0)]
    );
    w.play_out(a);
    w.press(p201, '0');
    let inc = w.expect_invite(op);
    assert_eq!(
        inc.req.headers.from().expect("From").uri.user.as_deref(),
        Some("201")
    );
    assert_eq!(w.waiting(), ["201"]);
}

/// Silence after the do-not-disturb offer says goodbye and hangs up.
#[test]
fn dnd_offer_without_a_key_says_goodbye() {
    let (mut w, p201, p202, _) = hotel(&[]);
    w.set_line(
        "202",
        pbx::hotel::LineSettings {
            dnd: true,
            ..Default::default()
        },
    );
    let call = w.call(p201, "202");
    let ok = w.take_final(p201, call.tx);
    let mut leg = w.ack(&call, &ok);
    let a = w.leg_towards(w.rtp_of(p201));
    w.play_out(a);
    w.advance(std::time::Duration::from_secs(6));
    assert_eq!(
        w.take_plays().last(),
        Some(&format!("Play {} [goodbye]", a.0))
    );
    w.play_out(a);
    w.expect_bye(&mut leg);
    assert!(!w.has_request(p202, Method::Invite));
}

/// *79 clears do-not-disturb and *76 toggles it; the phone rings again when it is off.
#[test]
fn dnd_off_and_toggle() {
    let (mut w, p201, p202, _) = hotel(&[]);
    assert_eq!(dial_code(&mut w, p202, "*78"), "dnd_on");
    assert_eq!(dial_code(&mut w, p202, "*79"), "dnd_off");
    assert_eq!(dial_code(&mut w, p202, "*76"), "dnd_on");
    assert_eq!(dial_code(&mut w, p202, "*76"), "dnd_off");
    assert_eq!(
        changes(&w),
        [
            dnd("202", true, false, "202"),
            dnd("202", false, false, "202"),
            dnd("202", true, false, "202"),
            dnd("202", false, false, "202"),
        ]
    );
    assert!(!w.pbx.hotel().settings("202").is_some_and(|s| s.dnd));
    w.call(p201, "202");
    w.expect_invite(p202);
}

/// A vacant room has no line to switch: `feature_refused`, and nothing changes.
#[test]
fn a_vacant_room_cannot_switch_dnd() {
    let (mut w, _, _, rooms) = hotel(&["8105"]);
    assert_eq!(dial_code(&mut w, rooms[0], "*78"), "feature_refused");
    assert!(w.line_changes.is_empty());
    assert!(w.pbx.hotel().settings("8105").is_none());
}

/// A guest's do-not-disturb belongs to the stay (`room: true`) and holds off staff calls.
#[test]
fn a_guest_switches_dnd_for_the_stay() {
    let (mut w, p201, _, rooms) = hotel(&["8105"]);
    w.check_in("8105", li_wei());
    assert_eq!(dial_code(&mut w, rooms[0], "*78"), "dnd_on");
    assert_eq!(changes(&w), [dnd("8105", true, true, "8105")]);
    let call = w.call(p201, "8105");
    let ok = w.take_final(p201, call.tx);
    w.ack(&call, &ok);
    let a = w.leg_towards(w.rtp_of(p201));
    assert_eq!(
        w.take_plays(),
        [format!("Play {} [guest_dnd press_0_operator]", a.0)]
    );
    assert!(!w.has_request(rooms[0], Method::Invite));
    // Checking out ends the stay and its do-not-disturb.
    w.pbx.update_hotel(pbx::hotel::HotelUpdate::Room {
        room: "8105".into(),
        stay: None,
    });
    w.call(p201, "8105");
    w.expect_invite(rooms[0]);
}

/// Operators' own feature codes: dnd codes are not theirs (`feature_refused`).
#[test]
fn an_operator_cannot_switch_dnd() {
    let (mut w, _, _, _) = hotel(&[]);
    let op = operator(&mut w);
    assert_eq!(dial_code(&mut w, op, "*78"), "feature_refused");
    assert!(w.line_changes.is_empty());
}

/// An operator rings a do-not-disturb phone with *80 + extension.
#[test]
fn an_operator_overrides_dnd_with_star_80() {
    let (mut w, _, p202, _) = hotel(&[]);
    let op = operator(&mut w);
    assert_eq!(dial_code(&mut w, p202, "*78"), "dnd_on");
    w.call(op, "*80202");
    let inc = w.expect_invite(p202);
    assert_eq!(inc.req.uri.user.as_deref(), Some("202"));
}

/// Anyone else dialling *80 + extension hears `invalid`, and the phone stays quiet.
#[test]
fn star_80_is_for_operators_only() {
    let (mut w, p201, p202, _) = hotel(&[]);
    assert_eq!(dial_code(&mut w, p202, "*78"), "dnd_on");
    assert_eq!(dial_code(&mut w, p201, "*80202"), "invalid");
    assert!(!w.has_request(p202, Method::Invite));
}
