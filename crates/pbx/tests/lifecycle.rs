//! The less travelled paths of a call's life: early media, the callee
//! holding, media loss, a silent callee, hang-ups while the attendant rings
//! an extension, unregistering, shutdown, and that every call gives its RTP
//! ports back and is forgotten once its transactions are over.

mod support;

use media::{MediaEvent, QualityReport};
use pbx::sdp::{Direction, parse_audio};
use sip::message::Method;
use std::time::Duration;
use support::{Leg, Office, World, office};

fn connected(o: &mut Office) -> (Leg, Leg) {
    let w = &mut o.w;
    let call = w.call(o.p201, "202");
    let inc = w.expect_invite(o.p202);
    let b = w.answer(&inc);
    let ok = w.take_final(o.p201, call.tx);
    assert_eq!(ok.status, 200);
    let a = w.ack(&call, &ok);
    w.expect_ack(o.p202);
    (a, b)
}

/// Lets every transaction run out, then checks the call is gone and its ports are back.
fn assert_cleaned_up(w: &mut World) {
    w.advance(Duration::from_secs(40));
    assert_eq!(w.pbx.active_calls(), 0);
    assert!(
        w.pbx.call_summaries().is_empty(),
        "{:?}",
        w.pbx.call_summaries()
    );
    let mut opened: Vec<_> = w.rtp_opened.iter().map(|(l, _)| *l).collect();
    let mut closed = w.rtp_closed.clone();
    opened.sort();
    closed.sort();
    assert_eq!(opened, closed, "every RTP socket opened is closed again");
}

#[test]
fn early_media_183_is_relayed_with_the_pbx_address() {
    let mut o = office();
    let w = &mut o.w;
    let call = w.call(o.p201, "202");
    let inc = w.expect_invite(o.p202);
    w.respond_with_sdp(&inc, 183);
    let early = w
        .take_responses(o.p201, call.tx)
        .into_iter()
        .find(|r| r.status == 183)
        .unwrap_or_else(|| w.fail("expected 183 relayed to the caller"));
    let sdp = parse_audio(&early.body).expect("SDP in the 183");
    assert_eq!(sdp.rtp.map(|a| a.ip()), Some(World::public_ip()));
    let media = w.take_media();
    assert!(media.iter().any(|m| m.starts_with("Bridge")), "{media:?}");

    w.answer(&inc);
    let ok = w.take_final(o.p201, call.tx);
    assert_eq!(ok.status, 200);
    let final_sdp = parse_audio(&ok.body).expect("SDP in the 200");
    assert_eq!(final_sdp.rtp, sdp.rtp, "the same PBX port after the answer");
    w.ack(&call, &ok);
    w.expect_ack(o.p202);
    assert_eq!(w.cdr_lines(), ["Started 201->202", "Answered"]);
}

#[test]
fn callee_puts_the_caller_on_hold() {
    let mut o = office();
    let (mut a, mut b) = connected(&mut o);
    let w = &mut o.w;
    let hold = w.reinvite(&mut b, "sendonly");
    let reinv = w.expect_reinvite(&mut a);
    let offer = parse_audio(&reinv.req.body).expect("SDP");
    assert_eq!(offer.direction, Direction::SendOnly);
    assert_eq!(offer.rtp.map(|x| x.ip()), Some(World::public_ip()));
    w.answer_with(&reinv, "recvonly");
    w.expect_ack(o.p201);
    let ok = w.take_final(o.p202, hold.tx);
    assert_eq!(ok.status, 200);
    assert_eq!(
        parse_audio(&ok.body).expect("SDP").direction,
        Direction::RecvOnly
    );
    w.ack(&hold, &ok);
    // The call still ends normally afterwards.
    let bye = w.bye(&mut a);
    w.expect_bye(&mut b);
    assert_eq!(w.take_final(o.p201, bye).status, 200);
    assert_cleaned_up(w);
}

#[test]
fn rtp_timeout_hangs_up_both_sides_and_quality_is_recorded() {
    let mut o = office();
    let (mut a, mut b) = connected(&mut o);
    let w = &mut o.w;
    let a_leg = w.leg_towards(w.rtp_of(o.p201));
    let b_leg = w.leg_towards(w.rtp_of(o.p202));
    w.media_event(MediaEvent::RtpTimeout { leg: a_leg });
    w.expect_bye(&mut a);
    w.expect_bye(&mut b);
    assert_eq!(
        w.cdr_lines(),
        ["Started 201->202", "Answered", "Ended answered by system"]
    );
    // The engine answers RemoveLeg with a final report per leg: both go into the record.
    for leg in [a_leg, b_leg] {
        w.media_event(MediaEvent::Quality {
            leg,
            report: QualityReport::default(),
        });
    }
    let legs: Vec<&str> = w
        .cdrs
        .iter()
        .filter_map(|c| match c {
            pbx::CdrEvent::Quality { leg, .. } => Some(leg.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(legs, ["caller", "callee"]);
    assert_cleaned_up(w);
}

#[test]
fn silent_callee_gives_480_at_the_ring_timeout() {
    let mut o = office();
    let w = &mut o.w;
    // 202's phone takes the INVITE but never answers anything (not even 180).
    let call = w.call(o.p201, "202");
    let inc = w.expect_invite(o.p202);
    w.advance(Duration::from_secs(31));
    assert_eq!(w.take_final(o.p201, call.tx).status, 480);
    w.expect_cancelled(&inc);
    assert_cleaned_up(w);
}

#[test]
fn completed_calls_release_everything() {
    let mut o = office();
    let (mut a, mut b) = connected(&mut o);
    let w = &mut o.w;
    let bye = w.bye(&mut b);
    w.expect_bye(&mut a);
    assert_eq!(w.take_final(o.p202, bye).status, 200);
    assert_cleaned_up(w);
    // Busy, unavailable and cancelled calls leave nothing behind either.
    let call = w.call(o.p201, "202");
    let inc = w.expect_invite(o.p202);
    w.respond(&inc, 486);
    assert_eq!(w.take_final(o.p201, call.tx).status, 486);
    let call = w.call(o.p201, "203");
    assert_eq!(w.take_final(o.p201, call.tx).status, 480);
    let call = w.call(o.p201, "202");
    let inc = w.expect_invite(o.p202);
    w.respond(&inc, 180);
    w.settle();
    w.cancel(&call);
    w.expect_cancelled(&inc);
    assert_eq!(w.take_final(o.p201, call.tx).status, 487);
    assert_cleaned_up(w);
}

#[test]
fn guest_hanging_up_while_201_rings_cancels_201() {
    let mut w = World::with_default_plan();
    let desk = w.add_phone("201", "201", "201", "secret201", "10.0.0.21:5060", 4000);
    w.register(desk);
    let guest = w.add_guest("5551234", "192.0.2.50:5060", 7000);
    let call = w.invite(guest, "1000");
    let ok = w.take_final(guest, call.tx);
    let mut g = w.ack(&call, &ok);
    let a = w.leg_towards(w.rtp_of(guest));
    for d in ['2', '0', '1'] {
        w.dtmf(a, d);
    }
    w.play_finished(a);
    let inc = w.expect_invite(desk);
    w.respond(&inc, 180);
    let bye = w.bye(&mut g);
    assert_eq!(w.take_final(guest, bye).status, 200);
    w.expect_cancelled(&inc);
    assert_eq!(
        w.cdr_lines(),
        [
            "Started 5551234->1000",
            "Answered",
            "Ended answered by caller"
        ]
    );
    assert_cleaned_up(&mut w);
}

#[test]
fn busy_extension_from_the_menu_plays_busy_and_returns_to_the_menu() {
    let mut w = World::with_default_plan();
    let desk = w.add_phone("201", "201", "201", "secret201", "10.0.0.21:5060", 4000);
    w.register(desk);
    let guest = w.add_guest("5551234", "192.0.2.50:5060", 7000);
    let call = w.invite(guest, "1000");
    let ok = w.take_final(guest, call.tx);
    w.ack(&call, &ok);
    let a = w.leg_towards(w.rtp_of(guest));
    for d in ['2', '0', '1'] {
        w.dtmf(a, d);
    }
    w.play_finished(a);
    w.take_media();
    let inc = w.expect_invite(desk);
    w.respond(&inc, 486);
    assert_eq!(
        w.take_media(),
        [format!("StopMoh {}", a.0), format!("Play {} [busy]", a.0)]
    );
    w.play_finished(a);
    assert_eq!(
        w.take_media(),
        [format!(
            "Play {} [welcome language_menu dial_extension press_9_information]",
            a.0
        )]
    );
    assert_eq!(w.pbx.active_calls(), 1, "the guest is still in the menu");
}

#[test]
fn unregistered_phone_is_no_longer_rung() {
    let mut o = office();
    let w = &mut o.w;
    let resp = w.register_for(o.p202, "secret202", 0);
    assert_eq!(resp.status, 200);
    let wall = w.wall_ms();
    assert!(w.pbx.bindings("202", wall).is_empty());
    let call = w.call(o.p201, "202");
    assert_eq!(w.take_final(o.p201, call.tx).status, 480);
    assert!(!w.has_request(o.p202, Method::Invite));
}

#[test]
fn shutdown_hangs_up_every_call() {
    let mut o = office();
    let (mut a, mut b) = connected(&mut o);
    let w = &mut o.w;
    let wall = w.wall_ms();
    w.pbx.hangup_all(w.now, wall, &mut w.ep);
    w.drain_pbx();
    w.expect_bye(&mut a);
    w.expect_bye(&mut b);
    assert_eq!(
        w.cdr_lines().last().map(String::as_str),
        Some("Ended answered by system")
    );
    assert_cleaned_up(w);
}

#[test]
fn cancel_crossing_the_answer_leaves_no_half_call() {
    for cancel_first in [true, false] {
        let mut o = office();
        let w = &mut o.w;
        let call = w.call(o.p201, "202");
        let inc = w.expect_invite(o.p202);
        w.respond(&inc, 180);
        w.settle();
        // Both messages leave in the same instant.
        let mut b = if cancel_first {
            w.cancel(&call);
            w.answer(&inc)
        } else {
            let b = w.answer(&inc);
            w.cancel(&call);
            b
        };
        let fin = w.take_final(o.p201, call.tx);
        // The PBX handles whichever arrives first: here the order they were sent in.
        assert_eq!(fin.status, if cancel_first { 487 } else { 200 });
        match fin.status {
            // The CANCEL won: 202's late answer is acknowledged and hung up.
            487 => {
                w.expect_ack(o.p202);
                let (tx, bye) = w.expect_request(o.p202, Method::Bye);
                w.reply(o.p202, tx, &bye, 200);
                assert_eq!(
                    w.cdr_lines(),
                    ["Started 201->202", "Ended cancelled by caller"],
                    "cancel_first={cancel_first}"
                );
            }
            // The answer won: the call is up and ends with a BYE as usual.
            200 => {
                let mut a = w.ack(&call, &fin);
                w.expect_ack(o.p202);
                w.bye(&mut a);
                w.expect_bye(&mut b);
            }
            other => w.fail(&format!("expected 487 or 200, got {other}")),
        }
        assert_cleaned_up(w);
    }
}

#[test]
fn a_call_whose_rtp_socket_cannot_open_is_refused_not_left_silent() {
    let mut o = office();
    let w = &mut o.w;
    let call = w.call(o.p201, "202");
    let inc = w.expect_invite(o.p202);
    // The server could not bind the caller leg's port (taken, or out of file descriptors).
    let (caller_leg, _) = *w.rtp_opened.first().expect("the caller's leg was opened");
    w.media_event(MediaEvent::RtpUnavailable {
        leg: caller_leg,
        reason: "cannot bind RTP port 20000: Too many open files".into(),
    });
    assert_eq!(w.take_final(o.p201, call.tx).status, 503);
    w.expect_cancelled(&inc);
    assert_eq!(
        w.cdr_lines().last().map(String::as_str),
        Some("Ended failed by system")
    );
    assert_cleaned_up(w);
}
