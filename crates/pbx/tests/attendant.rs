//! The automatic attendant of the shipped dialplan, as transcripts: an
//! outside caller dials the hotel's number 1000, hears the greeting, keys
//! 2 0 1 (RFC 4733 from the media engine, or SIP INFO) and is connected to
//! the front desk; an operator switches to manual mode with *28, after which
//! outside calls ring the operator position directly.
//!
//! The world runs the real media engine: the guest's keys travel as RTP,
//! and prompts end when their audio has been played.

mod support;

use media::LegId;
use pbx::sdp::parse_audio;
use sip::message::Method;
use std::time::Duration;
use support::{Leg, Outgoing, PhoneId, World};

const GREETING: &str = "[welcome language_menu dial_extension press_9_information]";

struct Hotel {
    w: World,
    guest: PhoneId,
    desk: PhoneId,
}

fn hotel() -> Hotel {
    let mut w = World::with_default_plan();
    let desk = w.add_phone("201", "201", "201", "secret201", "10.0.0.21:5060", 4000);
    w.register(desk);
    let guest = w.add_guest("5551234", "192.0.2.50:5060", 7000);
    Hotel { w, guest, desk }
}

/// The guest dials 1000; the attendant answers and plays the greeting.
/// Returns the call, the guest's dialog and the guest's media leg.
fn guest_reaches_the_greeting(h: &mut Hotel) -> (Outgoing, Leg, LegId) {
    let w = &mut h.w;
    let call = w.invite(h.guest, "1000");
    let ok = w.take_final(h.guest, call.tx);
    assert_eq!(ok.status, 200, "the attendant answers an outside call");
    let answer = parse_audio(&ok.body).expect("SDP answer");
    assert_eq!(answer.rtp.map(|a| a.ip()), Some(World::public_ip()));
    let leg = w.ack(&call, &ok);
    let a = w.leg_towards(w.rtp_of(h.guest));
    assert_eq!(
        w.take_media(),
        [
            format!("AddLeg {} remote={}", a.0, w.rtp_of(h.guest)),
            format!("Play {} {GREETING}", a.0),
        ]
    );
    assert_eq!(w.cdr_lines(), ["Started 5551234->1000", "Answered"]);
    (call, leg, a)
}

/// After "2 0 1": please_hold plays, then 201's phone rings and answers.
fn desk_answers_after_please_hold(h: &mut Hotel, a: LegId) -> Leg {
    let w = &mut h.w;
    assert_eq!(w.take_media(), [format!("Play {} [please_hold]", a.0)]);
    assert!(
        !w.has_request(h.desk, Method::Invite),
        "201 rings only after the prompt"
    );
    w.play_out(a);
    let inc = w.expect_invite(h.desk);
    let from = inc.req.headers.from().expect("From");
    assert_eq!(
        from.uri.user.as_deref(),
        Some("5551234"),
        "201 sees the guest's number"
    );
    let offer = parse_audio(&inc.req.body)
        .expect("offer")
        .rtp
        .expect("addr");
    assert_eq!(offer.ip(), World::public_ip());
    assert_eq!(w.take_media(), [format!("StartMoh {} ringback", a.0)]);
    w.respond(&inc, 180);
    let b = w.answer(&inc);
    w.expect_ack(h.desk);
    let b_leg = w.leg_towards(w.rtp_of(h.desk));
    assert_eq!(
        w.take_media(),
        [
            format!("UpdateRemote {} remote={}", a.0, w.rtp_of(h.guest)),
            format!("AddLeg {} remote={}", b_leg.0, w.rtp_of(h.desk)),
            format!("StopMoh {}", a.0),
            format!("StopPlay {}", a.0),
            format!("Bridge {} {}", a.0, b_leg.0),
        ]
    );
    b
}

#[test]
fn outside_caller_dials_201_with_rfc4733_digits() {
    let mut h = hotel();
    let (_, mut guest, a) = guest_reaches_the_greeting(&mut h);
    // Barge-in: the first key stops the greeting.
    h.w.press(h.guest, '2');
    assert_eq!(h.w.take_media(), [format!("StopPlay {}", a.0)]);
    h.w.press(h.guest, '0');
    h.w.press(h.guest, '1');
    let mut desk = desk_answers_after_please_hold(&mut h, a);

    // The guest hangs up; the desk phone gets BYE.
    let w = &mut h.w;
    let bye = w.bye(&mut guest);
    w.expect_bye(&mut desk);
    assert_eq!(w.take_final(h.guest, bye).status, 200);
    assert_eq!(
        w.cdr_lines(),
        [
            "Started 5551234->1000",
            "Answered",
            "Ended answered by caller"
        ]
    );
}

#[test]
fn outside_caller_without_telephone_event_dials_201_with_in_band_tones() {
    let mut h = hotel();
    h.w.without_telephone_event(h.guest);
    let (_, _guest, a) = guest_reaches_the_greeting(&mut h);
    assert_eq!(h.w.pbx_media_of(h.guest).telephone_event, None);
    h.w.press_inband(h.guest, '2');
    assert_eq!(h.w.take_media(), [format!("StopPlay {}", a.0)]);
    h.w.press_inband(h.guest, '0');
    h.w.press_inband(h.guest, '1');
    desk_answers_after_please_hold(&mut h, a);
}

#[test]
fn outside_caller_dials_201_with_sip_info_digits() {
    let mut h = hotel();
    let (_, mut guest, a) = guest_reaches_the_greeting(&mut h);
    for digit in ['2', '0', '1'] {
        let tx = h.w.info_digit(&mut guest, digit);
        assert_eq!(
            h.w.take_final(h.guest, tx).status,
            200,
            "INFO {digit} accepted"
        );
    }
    assert_eq!(h.w.take_media()[0], format!("StopPlay {}", a.0));
    // take_media consumed the please_hold Play too: check it was there.
    let plays: Vec<String> =
        h.w.media
            .iter()
            .map(support::describe_media)
            .filter(|m| m.starts_with("Play"))
            .collect();
    assert_eq!(
        plays.last().map(String::as_str),
        Some(format!("Play {} [please_hold]", a.0).as_str())
    );
    h.w.play_out(a);
    let inc = h.w.expect_invite(h.desk);
    let _desk = h.w.answer(&inc);
    h.w.expect_ack(h.desk);
    let b_leg = h.w.leg_towards(h.w.rtp_of(h.desk));
    assert!(
        h.w.take_media()
            .contains(&format!("Bridge {} {}", a.0, b_leg.0)),
        "the guest is bridged to the desk"
    );
}

#[test]
fn a_non_dtmf_info_body_is_refused_with_415() {
    let mut h = hotel();
    let (_, mut guest, _) = guest_reaches_the_greeting(&mut h);
    let w = &mut h.w;
    let mut info = guest.dialog.new_request(Method::Info);
    info.headers.push("Content-Type", "application/dtmf-relay");
    info.body = b"Duration=160\r\n".to_vec();
    let tx = w.send_from(h.guest, info);
    assert_eq!(w.take_final(h.guest, tx).status, 415);
}

#[test]
fn silence_leads_through_the_retries_to_the_operator_fallback() {
    let mut h = hotel();
    let (_, mut guest, a) = guest_reaches_the_greeting(&mut h);
    let w = &mut h.w;
    // Each round: the greeting ends, 5 s of silence, "no_input", the greeting again.
    for round in 1..=3 {
        w.play_out(a);
        w.advance(Duration::from_secs(5));
        assert_eq!(
            w.take_media(),
            [format!("Play {} [no_input]", a.0)],
            "round {round}"
        );
        w.play_out(a);
        assert_eq!(
            w.take_media(),
            [format!("Play {} {GREETING}", a.0)],
            "round {round}"
        );
    }
    // The fourth silence exhausts the retries: the operator queue, where nobody is logged in.
    w.play_out(a);
    w.advance(Duration::from_secs(5));
    assert_eq!(
        w.take_media(),
        [format!("Play {} [operator_unavailable goodbye]", a.0)]
    );
    w.play_out(a);
    w.expect_bye(&mut guest);
    assert_eq!(
        w.cdr_lines(),
        [
            "Started 5551234->1000",
            "Answered",
            "Ended answered by system"
        ]
    );
}

#[test]
fn operator_switches_to_manual_and_outside_calls_ring_the_operator() {
    let mut h = hotel();
    let w = &mut h.w;
    let op = w.add_phone("op1", "0", "op1", "secretop1", "10.0.0.30:5060", 9000);
    w.register(op);

    // The operator dials *28: answered, the mode switched and stored, announced, hung up.
    let call = w.call(op, "*28");
    let ok = w.take_final(op, call.tx);
    assert_eq!(ok.status, 200);
    let mut op_leg = w.ack(&call, &ok);
    // The attendant speaks (and acts) once the caller's ACK has arrived.
    w.settle();
    assert_eq!(
        w.settings,
        [(pbx::MODE_OVERRIDE_KEY, Some("manual".to_string()))]
    );
    assert_eq!(w.pbx.mode_override(), Some(dialplan::Mode::Manual));
    let op_media = w.leg_towards(w.rtp_of(op));
    let media = w.take_media();
    assert_eq!(
        media.last().map(String::as_str),
        Some(format!("Play {} [mode_manual]", op_media.0).as_str())
    );
    w.play_out(op_media);
    w.expect_bye(&mut op_leg);
    assert_eq!(
        w.cdr_lines(),
        ["Started 0->*28", "Answered", "Ended answered by system"]
    );
    w.cdrs.clear();

    // An outside call to 1000 now goes straight to the operator queue: answered (so the
    // caller hears music and their position), then the operator's phone rings.
    let call = w.invite(h.guest, "1000");
    let ok = w.take_final(h.guest, call.tx);
    assert_eq!(ok.status, 200);
    w.ack(&call, &ok);
    let inc = w.expect_invite(op);
    let to = inc.req.headers.to().expect("To");
    assert_eq!(
        to.uri.user.as_deref(),
        Some("0"),
        "the operator position is called"
    );
    w.respond(&inc, 180);
    let _b = w.answer(&inc);
    w.expect_ack(op);
    assert!(
        !w.has_request(h.desk, Method::Invite),
        "the attendant menu is skipped"
    );
    assert_eq!(w.cdr_lines(), ["Started 5551234->1000", "Answered"]);
    let media = w.take_media();
    assert!(
        media
            .iter()
            .any(|m| m.starts_with("StartMoh") && m.contains("default")),
        "the caller hears the queue's music while the operator rings: {media:?}"
    );
    assert!(
        media.iter().any(|m| m.starts_with("Bridge")),
        "guest and operator are bridged: {media:?}"
    );
}

#[test]
fn feature_codes_are_refused_to_non_operators() {
    let mut h = hotel();
    let w = &mut h.w;
    let call = w.call(h.desk, "*28");
    let ok = w.take_final(h.desk, call.tx);
    assert_eq!(ok.status, 200);
    let mut leg = w.ack(&call, &ok);
    let a = w.leg_towards(w.rtp_of(h.desk));
    assert_eq!(
        w.take_media().last().map(String::as_str),
        Some(format!("Play {} [invalid]", a.0).as_str())
    );
    w.play_out(a);
    w.expect_bye(&mut leg);
    assert!(w.settings.is_empty());
    assert_eq!(w.pbx.mode_override(), None);
}
