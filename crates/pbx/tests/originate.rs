//! Calls the PBX places itself: an announcement to a registered phone. The
//! phone answers, hears the prompt over RTP from the media engine, and its
//! key (RFC 4733 or in-band tones) or the digit timeout after the prompt's
//! audio ended decides when the PBX hangs up.

mod support;

use pbx::{Announcement, OriginateError, Purpose};
use std::time::Duration;
use support::{Leg, Office, office};

const DIGIT_TIMEOUT: Duration = Duration::from_secs(5);

fn announce(target: &str) -> pbx::Originate {
    pbx::Originate {
        target: target.into(),
        display: Some("Front desk".into()),
        purpose: Purpose::Announcement(Announcement {
            prompts: vec!["welcome".into()],
            language: None,
            max_digits: 1,
            digit_timeout: DIGIT_TIMEOUT,
        }),
    }
}

/// The PBX calls 201 with the welcome announcement; 201 answers and hears
/// the first half second of it.
fn desk_answers(o: &mut Office) -> Leg {
    let w = &mut o.w;
    let (now, wall) = (w.now, w.wall_ms());
    w.pbx
        .originate(now, wall, &mut w.ep, announce("201"))
        .unwrap_or_else(|e| panic!("expected the call to be placed, got {e:?}"));
    w.drain_pbx();
    let inc = w.expect_invite(o.p201);
    let from = inc.req.headers.from().expect("From");
    assert_eq!(from.display.as_deref(), Some("Front desk"));
    let live = |w: &support::World| -> Vec<(String, String, &'static str)> {
        w.pbx
            .call_summaries()
            .into_iter()
            .map(|c| (c.caller, c.callee, c.state.as_str()))
            .collect()
    };
    let ringing = ("Front desk".to_string(), "201".to_string(), "ringing");
    assert_eq!(live(w), [ringing], "the live view shows the placed call");
    w.respond(&inc, 180);
    let leg = w.answer(&inc);
    w.expect_ack(o.p201);
    let answered = ("Front desk".to_string(), "201".to_string(), "answered");
    assert_eq!(live(w), [answered]);
    w.advance(Duration::from_millis(500));
    let heard = w.heard(o.p201);
    assert!(
        heard.packets >= 20,
        "expected about 25 packets of prompt in 500 ms, got {heard:?}"
    );
    assert!(
        heard.audible > 0,
        "expected the prompt to be audible, got {heard:?}"
    );
    leg
}

#[test]
fn the_answerer_hears_the_prompt_and_presses_7_by_rfc4733() {
    let mut o = office();
    let mut leg = desk_answers(&mut o);
    let w = &mut o.w;
    w.take_media();
    w.press_rfc4733(o.p201, '7');
    let media = w.take_media();
    assert!(
        media.iter().any(|m| m.starts_with("StopPlay")),
        "the key stops the prompt: {media:?}"
    );
    w.expect_bye(&mut leg);
    assert_eq!(
        w.cdr_lines(),
        [
            "Started Front desk->201",
            "Answered",
            "Digits 7",
            "Ended answered by system"
        ]
    );
    // The prompt stopped: nothing more reaches the phone.
    let heard = w.heard(o.p201).packets;
    w.advance(Duration::from_secs(2));
    assert_eq!(w.heard(o.p201).packets, heard);
}

#[test]
fn an_in_band_7_is_heard_by_the_engine_too() {
    let mut o = office();
    o.w.without_telephone_event(o.p201);
    let mut leg = desk_answers(&mut o);
    let w = &mut o.w;
    assert_eq!(
        w.pbx_media_of(o.p201).telephone_event,
        None,
        "the PBX answered without telephone-event"
    );
    w.press_inband(o.p201, '7');
    w.expect_bye(&mut leg);
    assert_eq!(
        w.cdr_lines(),
        [
            "Started Front desk->201",
            "Answered",
            "Digits 7",
            "Ended answered by system"
        ]
    );
}

#[test]
fn without_a_key_the_pbx_hangs_up_the_digit_timeout_after_the_prompt() {
    let mut o = office();
    let mut leg = desk_answers(&mut o);
    let w = &mut o.w;
    let a = w.leg_towards(w.rtp_of(o.p201));
    w.play_out(a);
    let prompt_end = w.elapsed();
    assert!(
        w.heard(o.p201).audible > 50,
        "the whole prompt was heard: {:?}",
        w.heard(o.p201)
    );
    w.advance(DIGIT_TIMEOUT - Duration::from_millis(100));
    assert!(
        !w.has_request(o.p201, sip::message::Method::Bye),
        "no BYE before the digit timeout"
    );
    w.advance(Duration::from_millis(200));
    w.expect_bye(&mut leg);
    let hangup = w.elapsed() - prompt_end;
    assert!(
        hangup >= DIGIT_TIMEOUT && hangup < DIGIT_TIMEOUT + Duration::from_millis(200),
        "hung up {hangup:?} after the prompt ended"
    );
    assert_eq!(
        w.cdr_lines(),
        [
            "Started Front desk->201",
            "Answered",
            "Ended answered by system"
        ]
    );
}

#[test]
fn an_unregistered_extension_cannot_be_called() {
    let mut o = office();
    let w = &mut o.w;
    let (now, wall) = (w.now, w.wall_ms());
    let result = w.pbx.originate(now, wall, &mut w.ep, announce("203"));
    assert!(
        matches!(&result, Err(OriginateError::NotRegistered(t)) if t == "203"),
        "expected NotRegistered, got {result:?}"
    );
    w.drain_pbx();
    w.settle();
    assert!(w.cdr_lines().is_empty(), "nothing is recorded");
    assert!(w.take_ladder().iter().all(|l| !l.contains("INVITE")));
    assert!(w.rtp_opened.is_empty(), "no media leg was opened");
}

#[test]
fn a_placed_call_counts_against_the_concurrent_call_limit() {
    let text = std::fs::read_to_string(support::repo_root().join("dialplan/default.yaml"))
        .expect("the shipped dialplan")
        .replace("max_concurrent_calls: 500", "max_concurrent_calls: 1");
    let (plan, prompts) = support::plan_from_str(&text);
    let mut w = support::World::new(plan, prompts);
    let p201 = w.add_phone("201", "201", "201", "secret201", "10.0.0.21:5060", 4000);
    let p202 = w.add_phone("202", "202", "202", "secret202", "10.0.0.22:5060", 6000);
    w.register(p201);
    w.register(p202);
    let (now, wall) = (w.now, w.wall_ms());
    let placed = w.pbx.originate(now, wall, &mut w.ep, announce("201"));
    assert!(
        placed.is_ok(),
        "expected the first call to be placed, got {placed:?}"
    );
    w.drain_pbx();
    // The placed call holds the one call the plan allows: a caller is refused with 503 …
    let call = w.invite(p202, "201");
    let refused = w.take_final(p202, call.tx);
    assert_eq!(refused.status, 503);
    // … and so is a second placed call.
    let (now, wall) = (w.now, w.wall_ms());
    let second = w.pbx.originate(now, wall, &mut w.ep, announce("202"));
    assert!(
        matches!(second, Err(OriginateError::TooManyCalls)),
        "expected TooManyCalls, got {second:?}"
    );
}
