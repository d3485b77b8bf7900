//! The operator queue as transcripts on the virtual clock: callers dial the
//! hotel number 1000, which goes straight to the operator queue; operators
//! log in by registering `0` as op1, op2, op3. Each test walks a timeline
//! and checks who rings, in which order, what the callers hear, the live
//! snapshot and the queue records.

mod support;

use pbx::{OperatorActivity, QueueOutcome};
use std::time::Duration;
use support::queue::{Caller, QueueOpts, queue_world};
use support::{PhoneId, World};

/// A world with the queue plan and no announcements (so transcripts stay short).
fn quiet(o: QueueOpts) -> World {
    queue_world(&QueueOpts {
        announce_every: 0,
        ..o
    })
}

/// The caller hangs up and the operator talking with them gets the BYE.
fn caller_hangs_up(w: &mut World, c: &mut Caller, op: &mut support::queue::OperatorCall) {
    let bye = w.bye(&mut c.leg);
    w.expect_bye(&mut op.leg);
    assert_eq!(w.take_final(c.phone, bye).status, 200);
}

fn labels(w: &mut World, ops: &[PhoneId]) -> Vec<String> {
    w.ringing_among(ops)
}

#[test]
fn two_operators_answer_three_callers_in_arrival_order() {
    let mut w = quiet(QueueOpts::default());
    let op1 = w.login_operator(1);
    let op2 = w.login_operator(2);
    let ops = [op1, op2];
    let g: Vec<PhoneId> = (1..=3)
        .map(|i| w.outside_caller(&format!("555000{i}"), i))
        .collect();

    let mut c1 = w.dial_queue(g[0], "1000");
    w.wait_secs(1);
    let c2 = w.dial_queue(g[1], "1000");
    w.wait_secs(1);
    let mut c3 = w.dial_queue(g[2], "1000");
    // op1 logged in first, so has been idle longest: the first caller rings op1, the second op2.
    assert_eq!(w.offered_to(op1).as_deref(), Some("5550001"));
    assert_eq!(w.offered_to(op2).as_deref(), Some("5550002"));
    assert_eq!(w.waiting(), ["5550001", "5550002", "5550003"]);
    let snap = w.snapshot();
    assert_eq!(
        snap.waiting
            .iter()
            .map(|c| (c.position, c.ringing.clone()))
            .collect::<Vec<_>>(),
        [
            (1, Some("op1".to_string())),
            (2, Some("op2".to_string())),
            (3, None)
        ]
    );
    assert_eq!(
        w.operator_states(),
        ["op1=ringing", "op2=ringing", "op3=logged_out"]
    );

    let mut a1 = w.operator_answers(op1, "5550001");
    w.wait_secs(2);
    let _a2 = w.operator_answers(op2, "5550002");
    assert_eq!(w.waiting(), ["5550003"]);
    assert_eq!(
        w.operator_states(),
        ["op1=talking", "op2=talking", "op3=logged_out"]
    );
    assert!(
        labels(&mut w, &ops).is_empty(),
        "nobody is free for caller 3"
    );

    // op1's caller hangs up after 30 s: op1 (wrap-up 0) takes caller 3 at once.
    w.wait_secs(30);
    caller_hangs_up(&mut w, &mut c1, &mut a1);
    let mut a3 = w.operator_answers(op1, "5550003");
    w.wait_secs(10);
    caller_hangs_up(&mut w, &mut c3, &mut a3);

    let r1 = w.record_of(&c1.call_id);
    let r2 = w.record_of(&c2.call_id);
    let r3 = w.record_of(&c3.call_id);
    assert_eq!(
        [&r1, &r2, &r3].map(|r| (r.position_on_entry, r.answered_by.clone(), r.outcome)),
        [
            (1, Some("op1".into()), Some(QueueOutcome::Answered)),
            (2, Some("op2".into()), Some(QueueOutcome::Answered)),
            (3, Some("op1".into()), Some(QueueOutcome::Answered)),
        ]
    );
    // Caller 3 entered 1 s after caller 2, 2 s after caller 1, and waited for caller 1's talk.
    let gap = |a: i64, b: i64| (1_000..1_010).contains(&(b - a));
    assert!(gap(r1.entered_ms, r2.entered_ms), "{r1:?} {r2:?}");
    assert!(gap(r2.entered_ms, r3.entered_ms), "{r2:?} {r3:?}");
    for r in [&r1, &r3] {
        assert_eq!(
            r.wait_ms,
            Some(r.answered_ms.unwrap() - r.entered_ms),
            "wait is entry to answer: {r:?}"
        );
    }
    let w1 = r1.wait_ms.unwrap();
    assert!(
        (2_000..2_100).contains(&w1),
        "op1 picked up ~2 s after caller 1 entered, got {w1}"
    );
    let w3 = r3.wait_ms.unwrap();
    assert!(
        (32_000..33_000).contains(&w3),
        "caller 3 waited ~32 s, got {w3}"
    );
    // Talk time runs from the answer to the hang-up.
    assert_eq!(
        r1.talk_ms,
        Some(r1.ended_ms.unwrap() - r1.answered_ms.unwrap())
    );
    let t1 = r1.talk_ms.unwrap();
    assert!(
        (32_000..32_100).contains(&t1),
        "op1 talked ~32 s with caller 1, got {t1}"
    );
    let t3 = r3.talk_ms.unwrap();
    assert!(
        (10_000..10_100).contains(&t3),
        "op1 talked ~10 s with caller 3, got {t3}"
    );
    assert_eq!(r2.talk_ms, None, "caller 2 is still talking");
    assert_eq!(r2.ended_ms, None);
}

#[test]
fn vips_go_ahead_of_ordinary_callers_but_behind_earlier_vips() {
    let mut w = quiet(QueueOpts::default());
    let op1 = w.login_operator(1);
    let first = w.outside_caller("5550001", 1);
    let mut c1 = w.dial_queue(first, "1000");
    let mut talk = w.operator_answers(op1, "5550001");

    // op1 is busy; four callers arrive: ordinary, VIP, ordinary, VIP.
    let g2 = w.outside_caller("5550002", 2);
    let v401 = w.extension_phone("401", 41);
    let g3 = w.outside_caller("5550003", 3);
    let v402 = w.extension_phone("402", 42);
    let c2 = w.dial_queue(g2, "1000");
    let c401 = w.dial_queue(v401, "1000");
    let c3 = w.dial_queue(g3, "1000");
    let c402 = w.dial_queue(v402, "1000");
    assert_eq!(w.waiting(), ["401", "402", "5550002", "5550003"]);
    let snap = w.snapshot();
    assert_eq!(
        snap.waiting
            .iter()
            .map(|c| (c.position, c.caller.as_str(), c.vip))
            .collect::<Vec<_>>(),
        [
            (1, "401", true),
            (2, "402", true),
            (3, "5550002", false),
            (4, "5550003", false)
        ]
    );
    let entry = |w: &World, c: &Caller| {
        let r = w.record_of(&c.call_id);
        (r.caller, r.vip, r.position_on_entry)
    };
    assert_eq!(entry(&w, &c2), ("5550002".into(), false, 1));
    assert_eq!(entry(&w, &c401), ("401".into(), true, 1));
    assert_eq!(entry(&w, &c3), ("5550003".into(), false, 3));
    assert_eq!(entry(&w, &c402), ("402".into(), true, 2));

    // They are answered in that order as op1 becomes free.
    caller_hangs_up(&mut w, &mut c1, &mut talk);
    for (mut c, number) in [
        (c401, "401"),
        (c402, "402"),
        (c2, "5550002"),
        (c3, "5550003"),
    ] {
        let mut a = w.operator_answers(op1, number);
        w.wait_secs(5);
        caller_hangs_up(&mut w, &mut c, &mut a);
    }
    assert!(w.waiting().is_empty());
}

#[test]
fn the_operator_idle_longest_is_offered_the_caller() {
    let mut w = quiet(QueueOpts::default());
    let op1 = w.login_operator(1);
    w.wait_secs(1);
    let op2 = w.login_operator(2);
    let ops = [op1, op2];

    // op1 has been idle longest.
    let ga = w.outside_caller("5550001", 1);
    let mut ca = w.dial_queue(ga, "1000");
    assert_eq!(labels(&mut w, &ops), ["op1"]);
    let mut a = w.operator_answers(op1, "5550001");
    w.wait_secs(5);
    caller_hangs_up(&mut w, &mut ca, &mut a);

    // op1 has just finished; op2 has been idle since it logged in: op2 is next.
    w.wait_secs(1);
    let gb = w.outside_caller("5550002", 2);
    let _cb = w.dial_queue(gb, "1000");
    assert_eq!(labels(&mut w, &ops), ["op2"]);
    let _b = w.operator_answers(op2, "5550002");

    // op3 logs in after op1 finished: op1 is still the longer idle of the two.
    w.wait_secs(3);
    let op3 = w.login_operator(3);
    let gc = w.outside_caller("5550003", 3);
    let _cc = w.dial_queue(gc, "1000");
    assert_eq!(labels(&mut w, &[op1, op2, op3]), ["op1"]);
}

#[test]
fn ring_timeout_tries_the_next_operator_and_the_silent_one_goes_to_the_back() {
    let mut w = quiet(QueueOpts {
        ring_timeout: 10,
        ..QueueOpts::default()
    });
    let op1 = w.login_operator(1);
    let op2 = w.login_operator(2);
    let op3 = w.login_operator(3);
    let ops = [op1, op2, op3];
    let g = w.outside_caller("5550001", 1);
    let c = w.dial_queue(g, "1000");
    let offered_at = w.elapsed();

    let inc1 = w.expect_invite(op1);
    // Nobody answers: 1 ms before the timeout op1 still rings, then op2 is tried.
    w.advance(Duration::from_millis(9_990));
    assert!(labels(&mut w, &ops).is_empty(), "only op1 rings so far");
    assert_eq!(w.operator_state("op1"), OperatorActivity::Ringing);
    w.advance(Duration::from_millis(20));
    w.expect_cancelled(&inc1);
    assert_eq!(labels(&mut w, &ops), ["op2"]);
    assert_eq!(w.operator_states(), ["op1=idle", "op2=ringing", "op3=idle"]);
    assert_eq!(w.snapshot().waiting[0].ringing.as_deref(), Some("op2"));
    let inc2 = w.expect_invite(op2);
    w.wait_secs(10);
    w.expect_cancelled(&inc2);
    // op3 has now been idle longest (op1 went to the back when it did not answer).
    assert_eq!(labels(&mut w, &ops), ["op3"]);
    let inc3 = w.expect_invite(op3);
    w.wait_secs(10);
    w.expect_cancelled(&inc3);
    // Round again: op1, who failed first, is next.
    assert_eq!(labels(&mut w, &ops), ["op1"]);
    let _a = w.operator_answers(op1, "5550001");
    let r = w.record_of(&c.call_id);
    assert_eq!(r.answered_by.as_deref(), Some("op1"));
    assert_eq!(r.outcome, Some(QueueOutcome::Answered));
    let waited = r.wait_ms.unwrap();
    assert!(
        (30_000..30_100).contains(&waited),
        "three ring timeouts of 10 s, got {waited} ms (offered at {offered_at:?})"
    );
}

#[test]
fn an_operator_on_a_call_is_never_rung() {
    let mut w = quiet(QueueOpts::default());
    let op1 = w.login_operator(1);
    let ga = w.outside_caller("5550001", 1);
    let mut ca = w.dial_queue(ga, "1000");
    let mut a = w.operator_answers(op1, "5550001");

    let gb = w.outside_caller("5550002", 2);
    let _cb = w.dial_queue(gb, "1000");
    for _ in 0..6 {
        w.wait_secs(10);
        assert!(!w.rings(op1), "op1 talks and must not ring");
        assert_eq!(w.operator_state("op1"), OperatorActivity::Talking);
    }
    // A second operator logs in: the waiting caller goes to op2, not op1.
    let op2 = w.login_operator(2);
    assert_eq!(labels(&mut w, &[op1, op2]), ["op2"]);
    assert_eq!(w.offered_to(op2).as_deref(), Some("5550002"));
    caller_hangs_up(&mut w, &mut ca, &mut a);
    assert!(!w.rings(op1), "op1 is free but nobody is waiting unoffered");
    assert_eq!(
        w.operator_states(),
        ["op1=idle", "op2=ringing", "op3=logged_out"]
    );
}

#[test]
fn pause_and_unpause_from_the_operator_phone() {
    let mut w = quiet(QueueOpts::default());
    let op1 = w.login_operator(1);
    let op2 = w.login_operator(2);
    let ops = [op1, op2];
    assert_eq!(w.operator_feature(op1, "*45"), "operator_paused");
    assert_eq!(w.operator_state("op1"), OperatorActivity::Paused);

    // op1 is idle longest but paused: the caller rings op2.
    let ga = w.outside_caller("5550001", 1);
    let _ca = w.dial_queue(ga, "1000");
    assert_eq!(labels(&mut w, &ops), ["op2"]);
    let _a = w.operator_answers(op2, "5550001");

    // op2 talks, op1 is paused: the next caller waits (op2 is logged in and unpaused).
    let gb = w.outside_caller("5550002", 2);
    let cb = w.dial_queue(gb, "1000");
    w.wait_secs(30);
    assert!(labels(&mut w, &ops).is_empty());
    assert_eq!(w.waiting(), ["5550002"]);
    assert_eq!(w.record_of(&cb.call_id).outcome, None, "still waiting");

    // op1 unpauses: the waiting caller rings op1 at once.
    assert_eq!(w.operator_feature(op1, "*46"), "operator_available");
    assert_eq!(labels(&mut w, &ops), ["op1"]);
    let _b = w.operator_answers(op1, "5550002");
    assert_eq!(
        w.operator_states(),
        ["op1=talking", "op2=talking", "op3=logged_out"]
    );
    let events: Vec<(&str, &str)> = w
        .operator_events
        .iter()
        .map(|(o, e)| (o.as_str(), *e))
        .collect();
    assert_eq!(
        events,
        [
            ("op1", "login"),
            ("op2", "login"),
            ("op1", "pause"),
            ("op1", "unpause")
        ]
    );
}

#[test]
fn wrap_up_delays_the_next_offer() {
    let mut w = quiet(QueueOpts {
        wrap_up: 5,
        ..QueueOpts::default()
    });
    let op1 = w.login_operator(1);
    let ga = w.outside_caller("5550001", 1);
    let mut ca = w.dial_queue(ga, "1000");
    let mut a = w.operator_answers(op1, "5550001");
    let gb = w.outside_caller("5550002", 2);
    let _cb = w.dial_queue(gb, "1000");

    // The operator hangs up on caller A: 5 s of wrap-up before caller B rings.
    let bye = w.bye(&mut a.leg);
    w.expect_bye(&mut ca.leg);
    assert_eq!(w.take_final(op1, bye).status, 200);
    assert_eq!(w.operator_state("op1"), OperatorActivity::WrapUp);
    w.advance(Duration::from_millis(4_900));
    assert!(!w.rings(op1), "op1 is in wrap-up");
    assert_eq!(w.operator_state("op1"), OperatorActivity::WrapUp);
    w.advance(Duration::from_millis(200));
    assert!(w.rings(op1), "wrap-up over: caller B rings op1");
    assert_eq!(w.operator_state("op1"), OperatorActivity::Ringing);
    let r = w.record_of(&ca.call_id);
    assert_eq!(r.outcome, Some(QueueOutcome::Answered));
    assert!(r.ended_ms.is_some() && r.talk_ms.is_some(), "{r:?}");
}

#[test]
fn callers_beyond_max_length_overflow_to_the_fallback() {
    let mut w = quiet(QueueOpts {
        max_length: 2,
        ..QueueOpts::default()
    });
    let op1 = w.login_operator(1);
    let g1 = w.outside_caller("5550001", 1);
    let _c1 = w.dial_queue(g1, "1000");
    let _a = w.operator_answers(op1, "5550001");
    let g2 = w.outside_caller("5550002", 2);
    let g3 = w.outside_caller("5550003", 3);
    let g4 = w.outside_caller("5550004", 4);
    let _c2 = w.dial_queue(g2, "1000");
    let _c3 = w.dial_queue(g3, "1000");
    w.take_media();
    w.wait_secs(2);
    let mut c4 = w.dial_queue(g4, "1000");
    assert_eq!(
        w.take_media(),
        [
            format!("AddLeg {} remote={}", c4.a.0, w.rtp_of(g4)),
            format!("Play {} [operator_unavailable goodbye]", c4.a.0)
        ],
        "the fourth caller hears the fallback and no music"
    );
    assert_eq!(w.waiting(), ["5550002", "5550003"]);
    let r = w.record_of(&c4.call_id);
    assert_eq!(
        (
            r.outcome,
            r.wait_ms,
            r.position_on_entry,
            r.answered_by.clone()
        ),
        (Some(QueueOutcome::Overflow), Some(0), 3, None)
    );
    w.play_out(c4.a);
    w.expect_bye(&mut c4.leg);
    let r = w.record_of(&c4.call_id);
    assert_eq!(r.outcome, Some(QueueOutcome::Overflow));
    assert_eq!(r.ended_ms, Some(w.wall_ms() - 1), "{r:?}");
}

#[test]
fn max_wait_runs_the_after_max_wait_actions() {
    let mut w = quiet(QueueOpts {
        max_wait: 30,
        ..QueueOpts::default()
    });
    let op1 = w.login_operator(1);
    let g1 = w.outside_caller("5550001", 1);
    let _c1 = w.dial_queue(g1, "1000");
    let _a = w.operator_answers(op1, "5550001");
    let g2 = w.outside_caller("5550002", 2);
    let mut c2 = w.dial_queue(g2, "1000");
    w.take_media();
    w.advance(Duration::from_millis(29_900));
    assert!(w.take_media().is_empty(), "still waiting");
    w.advance(Duration::from_millis(200));
    let a = c2.a.0;
    assert_eq!(
        w.take_media(),
        [
            format!("StopMoh {a}"),
            format!("StopPlay {a}"),
            format!("Play {a} [no_answer goodbye]")
        ]
    );
    assert!(w.waiting().is_empty());
    let r = w.record_of(&c2.call_id);
    assert_eq!(r.outcome, Some(QueueOutcome::MaxWait));
    assert_eq!(r.wait_ms, Some(30_000));
    assert_eq!(r.answered_by, None);
    w.play_out(c2.a);
    w.expect_bye(&mut c2.leg);
    let r = w.record_of(&c2.call_id);
    assert_eq!(r.outcome, Some(QueueOutcome::MaxWait));
    assert!(r.ended_ms.is_some());
}

#[test]
fn max_wait_while_an_operator_rings_cancels_the_ring() {
    let mut w = quiet(QueueOpts {
        max_wait: 15,
        ring_timeout: 20,
        ..QueueOpts::default()
    });
    let op1 = w.login_operator(1);
    let g1 = w.outside_caller("5550001", 1);
    let c1 = w.dial_queue(g1, "1000");
    let inc = w.expect_invite(op1);
    w.wait_secs(15);
    w.expect_cancelled(&inc);
    assert_eq!(w.operator_state("op1"), OperatorActivity::Idle);
    let r = w.record_of(&c1.call_id);
    assert_eq!(r.outcome, Some(QueueOutcome::MaxWait));
    assert_eq!(r.wait_ms, Some(15_000));
}

#[test]
fn a_caller_who_hangs_up_while_waiting_is_abandoned() {
    let mut w = quiet(QueueOpts::default());
    let op1 = w.login_operator(1);
    let g1 = w.outside_caller("5550001", 1);
    let _c1 = w.dial_queue(g1, "1000");
    let _a = w.operator_answers(op1, "5550001");
    let g2 = w.outside_caller("5550002", 2);
    let g3 = w.outside_caller("5550003", 3);
    let mut c2 = w.dial_queue(g2, "1000");
    let c3 = w.dial_queue(g3, "1000");
    w.wait_secs(7);
    let bye = w.bye(&mut c2.leg);
    assert_eq!(w.take_final(g2, bye).status, 200);
    assert_eq!(w.waiting(), ["5550003"]);
    assert_eq!(w.snapshot().waiting[0].position, 1);
    let r = w.record_of(&c2.call_id);
    assert_eq!(r.outcome, Some(QueueOutcome::Abandoned));
    let waited = r.wait_ms.unwrap();
    assert!((7_000..7_010).contains(&waited), "{r:?}");
    assert_eq!(r.ended_ms, Some(r.entered_ms + waited));
    assert_eq!(w.record_of(&c3.call_id).outcome, None);
    assert!(
        w.cdr_lines()
            .contains(&"Ended answered by caller".to_string())
    );
}

#[test]
fn a_caller_who_hangs_up_while_the_operator_rings_cancels_the_ring() {
    let mut w = quiet(QueueOpts::default());
    let op1 = w.login_operator(1);
    let op2 = w.login_operator(2);
    let g1 = w.outside_caller("5550001", 1);
    let mut c1 = w.dial_queue(g1, "1000");
    let inc = w.expect_invite(op1);
    w.wait_secs(3);
    let bye = w.bye(&mut c1.leg);
    assert_eq!(w.take_final(g1, bye).status, 200);
    w.expect_cancelled(&inc);
    assert_eq!(
        w.operator_states(),
        ["op1=idle", "op2=idle", "op3=logged_out"]
    );
    let r = w.record_of(&c1.call_id);
    assert_eq!(r.outcome, Some(QueueOutcome::Abandoned));
    assert_eq!(r.answered_by, None);
    let waited = r.wait_ms.unwrap();
    assert!((3_000..3_010).contains(&waited), "{r:?}");
    // op1 was never offered anything else: it keeps its place and takes the next caller.
    let g2 = w.outside_caller("5550002", 2);
    let _c2 = w.dial_queue(g2, "1000");
    assert_eq!(labels(&mut w, &[op1, op2]), ["op1"]);
}

#[test]
fn an_operator_logging_out_mid_ring_passes_the_caller_to_the_next_operator() {
    let mut w = quiet(QueueOpts::default());
    let op1 = w.login_operator(1);
    let op2 = w.login_operator(2);
    let g1 = w.outside_caller("5550001", 1);
    let c1 = w.dial_queue(g1, "1000");
    let inc1 = w.expect_invite(op1);
    w.wait_secs(2);
    let resp = w.register_for(op1, "secretop1", 0);
    assert_eq!(resp.status, 200);
    w.expect_cancelled(&inc1);
    assert_eq!(labels(&mut w, &[op1, op2]), ["op2"]);
    assert_eq!(
        w.operator_states(),
        ["op1=logged_out", "op2=ringing", "op3=logged_out"]
    );

    // op2 logs out too while ringing: nobody is left, the caller gets the fallback.
    let inc2 = w.expect_invite(op2);
    w.take_media();
    let resp = w.register_for(op2, "secretop2", 0);
    assert_eq!(resp.status, 200);
    w.expect_cancelled(&inc2);
    let a = c1.a.0;
    let media = w.take_media();
    assert_eq!(
        media.last(),
        Some(&format!("Play {a} [operator_unavailable goodbye]")),
        "{media:?}"
    );
    assert!(media.contains(&format!("StopMoh {a}")), "{media:?}");
    let r = w.record_of(&c1.call_id);
    assert_eq!(r.outcome, Some(QueueOutcome::NoOperator));
    assert!(w.waiting().is_empty());
    assert!(!w.rings(op1) && !w.rings(op2));
}

#[test]
fn with_no_operator_logged_in_the_fallback_applies_at_once() {
    let mut w = queue_world(&QueueOpts::default());
    let g1 = w.outside_caller("5550001", 1);
    let mut c1 = w.dial_queue(g1, "1000");
    let a = c1.a.0;
    assert_eq!(
        w.take_media(),
        [
            format!("AddLeg {a} remote={}", w.rtp_of(g1)),
            format!("Play {a} [operator_unavailable goodbye]")
        ],
        "no music, no position: the fallback at once"
    );
    let r = w.record_of(&c1.call_id);
    assert_eq!(
        (r.outcome, r.wait_ms, r.position_on_entry),
        (Some(QueueOutcome::NoOperator), Some(0), 1)
    );
    w.play_out(c1.a);
    w.expect_bye(&mut c1.leg);
    assert!(w.record_of(&c1.call_id).ended_ms.is_some());
}

#[test]
fn waiting_callers_get_the_fallback_when_the_last_free_operator_leaves() {
    let mut w = quiet(QueueOpts::default());
    let op1 = w.login_operator(1);
    let op2 = w.login_operator(2);
    let g1 = w.outside_caller("5550001", 1);
    let _c1 = w.dial_queue(g1, "1000");
    let _a = w.operator_answers(op1, "5550001");
    let g2 = w.outside_caller("5550002", 2);
    let g3 = w.outside_caller("5550003", 3);
    let c2 = w.dial_queue(g2, "1000");
    let _inc = w.expect_invite(op2);
    let _a2 = w.answer(&_inc);
    w.expect_ack(op2);
    let c3 = w.dial_queue(g3, "1000");

    // op2 pauses (from a second line while talking), op1 logs out while talking:
    // nobody will ever answer caller 3.
    assert_eq!(w.operator_feature(op2, "*45"), "operator_paused");
    assert_eq!(w.waiting(), ["5550003"], "op1 is still logged in");
    w.take_media();
    let resp = w.register_for(op1, "secretop1", 0);
    assert_eq!(resp.status, 200);
    let a3 = c3.a.0;
    let media = w.take_media();
    assert_eq!(
        media.last(),
        Some(&format!("Play {a3} [operator_unavailable goodbye]")),
        "{media:?}"
    );
    assert!(w.waiting().is_empty());
    assert_eq!(
        w.record_of(&c3.call_id).outcome,
        Some(QueueOutcome::NoOperator)
    );
    // The calls in progress go on.
    assert_eq!(
        w.record_of(&c2.call_id).outcome,
        Some(QueueOutcome::Answered)
    );
    assert_eq!(w.operator_state("op1"), OperatorActivity::Talking);
    assert_eq!(w.operator_state("op2"), OperatorActivity::Talking);
}

#[test]
fn positions_are_announced_on_entry_and_every_interval_in_the_callers_language() {
    let mut w = queue_world(&QueueOpts {
        announce_every: 20,
        ..QueueOpts::default()
    });
    let op1 = w.login_operator(1);
    let g1 = w.outside_caller("5550001", 1);
    let _c1 = w.dial_queue(g1, "1000");
    assert!(
        w.take_plays().is_empty(),
        "a caller offered at once hears no position"
    );
    let _a = w.operator_answers(op1, "5550001");
    w.take_media();

    let g2 = w.outside_caller("5550002", 2);
    let mut c2 = w.dial_queue(g2, "1000");
    let a2 = c2.a.0;
    assert_eq!(
        w.take_media(),
        [
            format!("AddLeg {a2} remote={}", w.rtp_of(g2)),
            format!("StartMoh {a2} default"),
            format!("Play {a2} [you_are_caller_number digit_1]")
        ]
    );
    // Room 303 speaks Mandarin.
    let zh = w.extension_phone("303", 33);
    w.wait_secs(5);
    let c3 = w.dial_queue(zh, "1000");
    let a3 = c3.a.0;
    assert_eq!(
        w.take_plays(),
        [format!("Play {a3} [you_are_caller_number digit_2]")]
    );
    let paths = w.played_paths(c3.a);
    assert!(
        paths[0].iter().all(|p| p.contains("/zh/")),
        "Mandarin prompts for 303: {paths:?}"
    );
    assert!(
        w.played_paths(c2.a)[0].iter().all(|p| p.contains("/en/")),
        "{:?}",
        w.played_paths(c2.a)
    );

    // 20 s after entry each hears the position again.
    w.advance(Duration::from_millis(14_900));
    assert!(w.take_plays().is_empty());
    w.advance(Duration::from_millis(200));
    assert_eq!(
        w.take_plays(),
        [format!("Play {a2} [you_are_caller_number digit_1]")]
    );
    w.wait_secs(5);
    assert_eq!(
        w.take_plays(),
        [format!("Play {a3} [you_are_caller_number digit_2]")]
    );
    // Caller 2 hangs up: 303 moves up and hears "1" next time.
    let bye = w.bye(&mut c2.leg);
    assert_eq!(w.take_final(g2, bye).status, 200);
    w.wait_secs(20);
    assert_eq!(
        w.take_plays(),
        [format!("Play {a3} [you_are_caller_number digit_1]")]
    );
    let paths = w.played_paths(c3.a);
    assert!(
        paths.last().unwrap()[1].ends_with("zh/digit_1.wav"),
        "{paths:?}"
    );
}

#[test]
fn a_language_chosen_in_the_menu_is_the_language_of_the_announcements() {
    let mut w = queue_world(&QueueOpts {
        max_length: 20,
        ..QueueOpts::default()
    });
    let op1 = w.login_operator(1);
    let g1 = w.outside_caller("5550001", 1);
    let _c1 = w.dial_queue(g1, "1000");
    let _a = w.operator_answers(op1, "5550001");

    // Eleven more callers wait, the last one after choosing 中文 in the menu at 2000.
    for i in 2..=11u8 {
        let g = w.outside_caller(&format!("55500{i:02}"), i);
        w.dial_queue(g, "1000");
    }
    let g = w.outside_caller("5550012", 12);
    let c = w.dial_queue(g, "2000");
    assert_eq!(
        w.take_plays().last(),
        Some(&format!("Play {} [language_menu]", c.a.0))
    );
    w.press(g, '2');
    let plays = w.take_plays();
    assert_eq!(
        plays,
        [format!(
            "Play {} [you_are_caller_number digit_1 digit_1]",
            c.a.0
        )],
        "the twelfth caller is eleventh in the queue"
    );
    let paths = w.played_paths(c.a);
    let last = paths.last().unwrap();
    assert!(last.iter().all(|p| p.contains("/zh/")), "{last:?}");
    let snap = w.snapshot();
    let me = snap.waiting.last().unwrap();
    assert_eq!((me.position, me.language.as_str()), (11, "zh"));
}

#[test]
fn the_snapshot_shows_callers_in_order_and_each_operators_state() {
    let mut w = quiet(QueueOpts {
        wrap_up: 10,
        ..QueueOpts::default()
    });
    let op1 = w.login_operator(1);
    let op2 = w.login_operator(2);
    let op3 = w.login_operator(3);
    assert_eq!(w.operator_feature(op3, "*45"), "operator_paused");
    let g1 = w.outside_caller("5550001", 1);
    let mut c1 = w.dial_queue(g1, "1000");
    let mut a1 = w.operator_answers(op1, "5550001");
    w.wait_secs(2);
    caller_hangs_up(&mut w, &mut c1, &mut a1);
    // op1 in wrap-up, op2 idle; caller 2 rings op2, callers 3 and 4 (VIP) wait.
    let g2 = w.outside_caller("5550002", 2);
    let c2 = w.dial_queue(g2, "1000");
    w.wait_secs(1);
    let g3 = w.outside_caller("5550003", 3);
    let c3 = w.dial_queue(g3, "1000");
    let zh = w.extension_phone("303", 33);
    let _c303 = w.dial_queue(zh, "1000");
    let vip = w.extension_phone("302", 32);
    w.wait_secs(2);
    let c302 = w.dial_queue(vip, "1000");
    let _ = op2;

    let snap = w.snapshot();
    let rows: Vec<_> = snap
        .waiting
        .iter()
        .map(|c| {
            (
                c.queue.as_str(),
                c.position,
                c.caller.as_str(),
                c.language.as_str(),
                c.vip,
                c.ringing.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("operators", 1, "302", "en", true, None),
            ("operators", 2, "5550002", "en", false, Some("op2")),
            ("operators", 3, "5550003", "en", false, None),
            ("operators", 4, "303", "zh", false, None),
        ]
    );
    let now = w.wall_ms();
    let r2 = w.record_of(&c2.call_id);
    let r3 = w.record_of(&c3.call_id);
    let r302 = w.record_of(&c302.call_id);
    assert_eq!(snap.waiting[1].entered_ms, r2.entered_ms);
    assert_eq!(snap.waiting[1].wait_ms, now - r2.entered_ms);
    assert_eq!(snap.waiting[2].wait_ms, now - r3.entered_ms);
    assert_eq!(snap.waiting[0].wait_ms, now - r302.entered_ms);
    let ops: Vec<_> = snap
        .operators
        .iter()
        .map(|o| {
            (
                o.account.as_str(),
                o.name.as_str(),
                o.activity,
                o.caller.as_deref(),
                o.contacts.len(),
            )
        })
        .collect();
    assert_eq!(
        ops,
        [
            ("op1", "Operator 1", OperatorActivity::WrapUp, None, 1),
            (
                "op2",
                "Operator 2",
                OperatorActivity::Ringing,
                Some("5550002"),
                1
            ),
            ("op3", "Operator 3", OperatorActivity::Paused, None, 1),
        ]
    );
    assert_eq!(
        Some(snap.operators[0].since_ms),
        w.record_of(&c1.call_id).ended_ms,
        "wrap-up began at the hang-up"
    );
    // Wrap-up over: op1 is offered the VIP at the head.
    w.wait_secs(10);
    assert_eq!(w.offered_to(op1).as_deref(), Some("302"));
    assert_eq!(w.operator_state("op1"), OperatorActivity::Ringing);
}

#[test]
fn a_caller_whose_first_offer_failed_hears_position_announcements() {
    let mut w = queue_world(&QueueOpts {
        announce_every: 20,
        ..QueueOpts::default()
    });
    let op1 = w.login_operator(1);
    let op2 = w.login_operator(2);
    // op1 takes caller X and stays busy.
    let gx = w.outside_caller("5550009", 9);
    let _cx = w.dial_queue(gx, "1000");
    let _x = w.operator_answers(op1, "5550009");
    let g1 = w.outside_caller("5550001", 1);
    let c1 = w.dial_queue(g1, "1000");
    let inc = w.expect_invite(op2);
    assert!(
        w.take_plays().is_empty(),
        "offered at once: no position yet"
    );
    // op2 logs out while ringing; op1 still talks: the caller waits.
    let resp = w.register_for(op2, "secretop2", 0);
    assert_eq!(resp.status, 200);
    w.expect_cancelled(&inc);
    assert_eq!(w.waiting(), ["5550001"]);
    w.take_media();
    w.wait_secs(20);
    assert_eq!(
        w.take_plays(),
        [format!("Play {} [you_are_caller_number digit_1]", c1.a.0)],
        "a waiting caller hears the position every 20 s, even if first offered at once"
    );
}

#[test]
fn an_operator_who_pauses_while_ringing_is_paused_when_the_ring_ends() {
    let mut w = quiet(QueueOpts {
        ring_timeout: 10,
        ..QueueOpts::default()
    });
    let op1 = w.login_operator(1);
    let op2 = w.login_operator(2);
    let g1 = w.outside_caller("5550001", 1);
    let _c1 = w.dial_queue(g1, "1000");
    let inc = w.expect_invite(op1);
    // op1 pauses from a second line while the queue call rings.
    assert_eq!(w.operator_feature(op1, "*45"), "operator_paused");
    assert_eq!(w.operator_state("op1"), OperatorActivity::Ringing);
    w.wait_secs(10);
    w.expect_cancelled(&inc);
    assert_eq!(w.offered_to(op2).as_deref(), Some("5550001"));
    assert_eq!(
        w.operator_states(),
        ["op1=paused", "op2=ringing", "op3=logged_out"],
        "op1 paused itself: it is paused, not idle, once its ring ended"
    );
}

#[test]
fn a_paused_operator_stays_paused_when_the_caller_ringing_it_hangs_up() {
    let mut w = quiet(QueueOpts::default());
    let op1 = w.login_operator(1);
    let _op2 = w.login_operator(2);
    let g1 = w.outside_caller("5550001", 1);
    let mut c1 = w.dial_queue(g1, "1000");
    let inc = w.expect_invite(op1);
    assert_eq!(w.operator_feature(op1, "*45"), "operator_paused");
    let bye = w.bye(&mut c1.leg);
    assert_eq!(w.take_final(g1, bye).status, 200);
    w.expect_cancelled(&inc);
    assert_eq!(
        w.operator_states(),
        ["op1=paused", "op2=idle", "op3=logged_out"]
    );
    assert_eq!(
        w.record_of(&c1.call_id).outcome,
        Some(QueueOutcome::Abandoned)
    );
}

#[test]
fn an_operator_who_declines_is_passed_over_for_the_next() {
    let mut w = quiet(QueueOpts::default());
    let op1 = w.login_operator(1);
    let op2 = w.login_operator(2);
    let g1 = w.outside_caller("5550001", 1);
    let c1 = w.dial_queue(g1, "1000");
    let inc = w.expect_invite(op1);
    w.respond(&inc, 486);
    assert_eq!(labels(&mut w, &[op1, op2]), ["op2"]);
    let _a = w.operator_answers(op2, "5550001");
    assert_eq!(w.record_of(&c1.call_id).answered_by.as_deref(), Some("op2"));
    assert_eq!(
        w.operator_states(),
        ["op1=idle", "op2=talking", "op3=logged_out"]
    );
}

#[test]
fn waiting_callers_get_the_fallback_when_the_last_operator_registration_expires() {
    let mut w = quiet(QueueOpts::default());
    let op1 = w.login_operator_for(1, 60);
    let g1 = w.outside_caller("5550001", 1);
    let _c1 = w.dial_queue(g1, "1000");
    let _a = w.operator_answers(op1, "5550001");
    let g2 = w.outside_caller("5550002", 2);
    let c2 = w.dial_queue(g2, "1000");
    w.take_media();
    w.wait_secs(50);
    assert_eq!(w.waiting(), ["5550002"]);
    // op1's phone never refreshes its registration: at 60 s op1 is logged out.
    w.wait_secs(11);
    let a2 = c2.a.0;
    let media = w.take_media();
    assert_eq!(
        media.last(),
        Some(&format!("Play {a2} [operator_unavailable goodbye]")),
        "nobody is logged in any more: the fallback applies, got {media:?}"
    );
    let r = w.record_of(&c2.call_id);
    assert_eq!(r.outcome, Some(QueueOutcome::NoOperator));
    let waited = r.wait_ms.unwrap();
    assert!((59_000..61_000).contains(&waited), "{r:?}");
}

#[test]
fn an_operator_whose_registration_expires_mid_ring_stops_ringing() {
    let mut w = quiet(QueueOpts {
        ring_timeout: 30,
        ..QueueOpts::default()
    });
    let op1 = w.login_operator_for(1, 60);
    let op2 = w.login_operator(2);
    let gx = w.outside_caller("5550009", 9);
    let _cx = w.dial_queue(gx, "1000");
    let _x = w.operator_answers(op1, "5550009");
    let gy = w.outside_caller("5550008", 8);
    let _cy = w.dial_queue(gy, "1000");
    let _y = w.operator_answers(op2, "5550008");
    // Both talk; op1 hangs up with X at 40 s and gets caller 1, whose ring outlasts op1's login.
    let _ = op2;
    let g1 = w.outside_caller("5550001", 1);
    let c1 = w.dial_queue(g1, "1000");
    w.wait_secs(40);
    let mut x = _x;
    let bye = w.bye(&mut x.leg);
    w.settle();
    assert_eq!(w.take_final(op1, bye).status, 200);
    let inc = w.expect_invite(op1);
    w.wait_secs(21);
    w.expect_cancelled(&inc);
    assert_eq!(w.operator_state("op1"), OperatorActivity::LoggedOut);
    assert_eq!(
        w.waiting(),
        ["5550001"],
        "op2 still talks, so caller 1 waits"
    );
    assert_eq!(w.snapshot().waiting[0].ringing, None);
    assert_eq!(w.record_of(&c1.call_id).outcome, None);
}

#[test]
fn an_operator_logging_out_with_star_47_mid_ring_passes_the_caller_on() {
    let mut w = quiet(QueueOpts::default());
    let op1 = w.login_operator(1);
    let op2 = w.login_operator(2);
    let g1 = w.outside_caller("5550001", 1);
    let c1 = w.dial_queue(g1, "1000");
    let inc = w.expect_invite(op1);
    assert_eq!(w.operator_feature(op1, "*47"), "operator_logged_out");
    w.expect_cancelled(&inc);
    assert_eq!(w.offered_to(op2).as_deref(), Some("5550001"));
    assert_eq!(
        w.operator_states(),
        ["op1=logged_out", "op2=ringing", "op3=logged_out"]
    );
    let _a = w.operator_answers(op2, "5550001");
    assert_eq!(w.record_of(&c1.call_id).answered_by.as_deref(), Some("op2"));
}

#[test]
fn an_operator_who_declines_is_not_rung_again_before_the_ring_timeout() {
    let mut w = quiet(QueueOpts {
        ring_timeout: 10,
        ..QueueOpts::default()
    });
    let op1 = w.login_operator(1);
    let g1 = w.outside_caller("5550001", 1);
    let c1 = w.dial_queue(g1, "1000");
    let offered = w.elapsed();
    w.wait_secs(2);
    let inc = w.expect_invite(op1);
    w.respond(&inc, 603);
    assert!(
        !w.rings(op1),
        "op1 declined: it is not offered the caller again at once"
    );
    assert_eq!(w.waiting(), ["5550001"]);
    assert_eq!(w.operator_state("op1"), OperatorActivity::Idle);
    // 10 s after the first offer (when the ring would have timed out) op1 rings again.
    let until_timeout = offered + Duration::from_secs(10) - w.elapsed();
    w.advance(until_timeout - Duration::from_millis(50));
    assert!(!w.rings(op1));
    w.advance(Duration::from_millis(100));
    assert_eq!(w.offered_to(op1).as_deref(), Some("5550001"));
    let _a = w.operator_answers(op1, "5550001");
    assert_eq!(w.record_of(&c1.call_id).answered_by.as_deref(), Some("op1"));
}

#[test]
fn when_every_operator_declines_the_caller_waits_for_the_first_to_be_free_again() {
    let mut w = quiet(QueueOpts {
        ring_timeout: 10,
        ..QueueOpts::default()
    });
    let op1 = w.login_operator(1);
    let op2 = w.login_operator(2);
    let ops = [op1, op2];
    let g1 = w.outside_caller("5550001", 1);
    let _c1 = w.dial_queue(g1, "1000");
    let inc1 = w.expect_invite(op1);
    w.wait_secs(1);
    w.respond(&inc1, 486);
    let inc2 = w.expect_invite(op2);
    w.wait_secs(1);
    w.respond(&inc2, 486);
    assert!(labels(&mut w, &ops).is_empty());
    // op1's rest ends 10 s after it was offered the caller, op2's a second later.
    w.wait_secs(8);
    assert_eq!(labels(&mut w, &ops), ["op1"]);
}

#[test]
fn shutdown_hangs_up_without_offering_waiting_callers_to_the_freed_operator() {
    let mut w = quiet(QueueOpts::default());
    let op1 = w.login_operator(1);
    let g1 = w.outside_caller("5550001", 1);
    let g2 = w.outside_caller("5550002", 2);
    let _c1 = w.dial_queue(g1, "1000");
    let mut talk = w.operator_answers(op1, "5550001");
    let _c2 = w.dial_queue(g2, "1000");
    assert_eq!(w.waiting(), ["5550002"]);
    let (now, wall) = (w.now, w.wall_ms());
    w.pbx.hangup_all(now, wall, &mut w.ep);
    w.drain_pbx();
    w.expect_bye(&mut talk.leg);
    assert!(
        !w.rings(op1),
        "the operator freed by the shutdown is not offered the second caller"
    );
    assert_eq!(w.pbx.active_calls(), 0);
}

#[test]
fn logging_out_ends_a_pause_so_the_next_login_takes_callers() {
    let mut w = quiet(QueueOpts::default());
    let op1 = w.login_operator(1);
    assert_eq!(w.operator_feature(op1, "*45"), "operator_paused");
    assert_eq!(w.operator_state("op1"), OperatorActivity::Paused);
    // Unregistering logs op1 out; logging in again starts available.
    assert_eq!(w.register_for(op1, "secretop1", 0).status, 200);
    assert_eq!(w.operator_state("op1"), OperatorActivity::LoggedOut);
    assert_eq!(w.register_for(op1, "secretop1", 3600).status, 200);
    assert_eq!(w.operator_state("op1"), OperatorActivity::Idle);
    let g = w.outside_caller("5550001", 1);
    let _c = w.dial_queue(g, "1000");
    assert_eq!(w.offered_to(op1).as_deref(), Some("5550001"));
}

#[test]
fn an_outside_number_listed_as_vip_caller_goes_ahead_of_ordinary_callers() {
    let mut w = quiet(QueueOpts::default());
    let op1 = w.login_operator(1);
    let first = w.outside_caller("5550001", 1);
    let _c1 = w.dial_queue(first, "1000");
    let _talk = w.operator_answers(op1, "5550001");
    let ordinary = w.outside_caller("5550002", 2);
    let owner = w.outside_caller("+15550009", 9);
    let _c2 = w.dial_queue(ordinary, "1000");
    let c9 = w.dial_queue(owner, "1000");
    assert_eq!(w.waiting(), ["+15550009", "5550002"]);
    let r = w.record_of(&c9.call_id);
    assert!(r.vip, "{r:?}");
    assert_eq!(r.position_on_entry, 1);
}
