//! Paging group 7100 of the shipped plan (members 201, 202, 203): the PBX places one
//! auto-answered call per free member and joins them, muted, to a room where the person
//! paging speaks.

mod support;

use sip::message::Method;
use std::time::Duration;
use support::{Incoming, Leg, PhoneId, World, office};

struct Staff {
    w: World,
    members: [PhoneId; 3],
    op: PhoneId,
}

/// 201, 202, 203 and operator op1 registered.
fn staff() -> Staff {
    let o = office();
    let mut w = o.w;
    let p203 = w.add_phone("203", "203", "203", "secret203", "10.0.0.23:5060", 8000);
    w.register(p203);
    let op = w.add_phone("op1", "0", "op1", "secretop1", "10.0.0.30:5060", 9000);
    w.register(op);
    w.take_ladder();
    w.take_media();
    Staff {
        w,
        members: [o.p201, o.p202, p203],
        op,
    }
}

/// The page's INVITE at `p`, checked for the auto-answer headers.
fn paged(w: &mut World, p: PhoneId) -> Incoming {
    let inc = w.expect_invite(p);
    assert_eq!(
        inc.req.headers.get("Call-Info"),
        Some(format!("<sip:{}>;answer-after=0", World::public_ip()).as_str())
    );
    assert_eq!(inc.req.headers.get("Alert-Info"), Some("auto-answer"));
    inc
}

/// `JoinConference` commands since the last look, as (leg, muted).
fn joins(media: &[String]) -> Vec<String> {
    media
        .iter()
        .filter(|m| m.starts_with("JoinConference"))
        .cloned()
        .collect()
}

/// The operator pages 7100: every member's phone answers by itself and hears the
/// operator; the members are muted; the operator hanging up ends every member's call.
#[test]
fn an_operator_pages_every_member() {
    let Staff {
        mut w, members, op, ..
    } = staff();
    let call = w.call(op, "7100");
    let ok = w.take_final(op, call.tx);
    assert_eq!(ok.status, 200, "the person paging is answered at once");
    let mut op_leg = w.ack(&call, &ok);
    let invites: Vec<Incoming> = members.iter().map(|p| paged(&mut w, *p)).collect();
    let mut legs: Vec<Leg> = invites.iter().map(|inc| w.answer(inc)).collect();
    for p in members {
        w.expect_ack(p);
    }
    let media = w.take_media();
    let op_a = w.leg_towards(w.rtp_of(op));
    let joined = joins(&media);
    assert_eq!(joined.len(), 4, "{media:?}");
    assert!(
        joined[0].contains(&format!("leg: LegId({})", op_a.0))
            && joined[0].contains("muted: false"),
        "the operator speaks: {joined:?}"
    );
    for (p, j) in members.iter().zip(&joined[1..]) {
        let leg = w.leg_towards(w.rtp_of(*p));
        assert!(
            j.contains(&format!("leg: LegId({})", leg.0)) && j.contains("muted: true"),
            "members listen: {joined:?}"
        );
    }

    // The operator speaks: every member hears it.
    w.speak(op, Duration::from_millis(400));
    for p in members {
        assert!(w.heard(p).audible > 5, "{:?}", w.heard(p));
    }
    // A member speaks: muted, nobody hears it.
    let before = w.heard(op).audible;
    let others = w.heard(members[1]).audible;
    w.speak(members[0], Duration::from_millis(400));
    assert_eq!(w.heard(op).audible, before, "the operator hears no member");
    assert_eq!(
        w.heard(members[1]).audible,
        others,
        "members hear no member"
    );

    w.bye(&mut op_leg);
    for leg in &mut legs {
        w.expect_bye(leg);
    }
    let cdr = w.cdr_lines();
    assert_eq!(
        cdr.iter().filter(|l| l.starts_with("Started")).count(),
        4,
        "the page and one placed call per member: {cdr:?}"
    );
}

/// A member paging is not called itself.
#[test]
fn the_member_paging_is_skipped() {
    let Staff { mut w, members, .. } = staff();
    let [p201, p202, p203] = members;
    let call = w.call(p201, "7100");
    let ok = w.take_final(p201, call.tx);
    assert_eq!(ok.status, 200);
    w.ack(&call, &ok);
    paged(&mut w, p202);
    paged(&mut w, p203);
    assert!(!w.has_request(p201, Method::Invite), "201 is not paged");
}

/// A member on a call is skipped; a member who hangs up leaves the others on.
#[test]
fn a_busy_member_is_skipped() {
    let Staff {
        mut w, members, op, ..
    } = staff();
    let [p201, p202, p203] = members;
    // 202 talks to 203.
    let call = w.call(p202, "203");
    let inc = w.expect_invite(p203);
    w.answer(&inc);
    w.expect_ack(p203);
    let ok = w.take_final(p202, call.tx);
    w.ack(&call, &ok);

    let call = w.call(op, "7100");
    let ok = w.take_final(op, call.tx);
    let mut op_leg = w.ack(&call, &ok);
    let inc = paged(&mut w, p201);
    let mut leg = w.answer(&inc);
    w.expect_ack(p201);
    assert!(!w.has_request(p202, Method::Invite), "202 is busy");
    assert!(!w.has_request(p203, Method::Invite), "203 is busy");
    w.bye(&mut op_leg);
    w.expect_bye(&mut leg);
}

/// A member on do-not-disturb is not paged.
#[test]
fn a_member_on_do_not_disturb_is_skipped() {
    let Staff {
        mut w, members, op, ..
    } = staff();
    let [p201, p202, p203] = members;
    w.set_line(
        "202",
        pbx::hotel::LineSettings {
            dnd: true,
            ..Default::default()
        },
    );
    let call = w.call(op, "7100");
    let ok = w.take_final(op, call.tx);
    let mut op_leg = w.ack(&call, &ok);
    let inc = paged(&mut w, p201);
    let mut leg = w.answer(&inc);
    w.expect_ack(p201);
    paged(&mut w, p203);
    assert!(
        !w.has_request(p202, Method::Invite),
        "202 is on do-not-disturb"
    );
    w.bye(&mut op_leg);
    w.expect_bye(&mut leg);
}

/// Nobody free to page: the caller is told (not answered with an empty room).
#[test]
fn a_page_with_no_free_member_fails() {
    let Staff { mut w, members, .. } = staff();
    let [p201, p202, p203] = members;
    let call = w.call(p202, "203");
    let inc = w.expect_invite(p203);
    w.answer(&inc);
    w.expect_ack(p203);
    let ok = w.take_final(p202, call.tx);
    w.ack(&call, &ok);
    let call = w.call(p201, "7100");
    let r = w.take_final(p201, call.tx);
    assert_eq!(r.status, 480, "unavailable");
}

/// Room phones may not page: `restricted` as early media, then 403.
#[test]
fn a_room_may_not_page() {
    let Staff { mut w, members, .. } = staff();
    let room = w.room_phone("8105", 5);
    w.check_in(
        "8105",
        support::hotel::guest("Anna Berg", None, None, false),
    );
    w.take_media();
    let call = w.call(room, "7100");
    let early: Vec<u16> = w
        .take_responses(room, call.tx)
        .iter()
        .map(|r| r.status)
        .collect();
    assert!(early.contains(&183), "{early:?}");
    let a = w.leg_towards(w.rtp_of(room));
    assert!(
        w.take_media()
            .contains(&format!("Play {} [restricted]", a.0)),
    );
    w.play_out(a);
    assert_eq!(w.take_final(room, call.tx).status, 403);
    for p in members {
        assert!(!w.has_request(p, Method::Invite));
    }
}

/// The person paging hangs up before the phones answered: every ringing member is cancelled.
#[test]
fn hanging_up_before_the_members_answer_cancels_them() {
    let Staff {
        mut w, members, op, ..
    } = staff();
    let call = w.call(op, "7100");
    let ok = w.take_final(op, call.tx);
    let mut op_leg = w.ack(&call, &ok);
    let invites: Vec<Incoming> = members.iter().map(|p| paged(&mut w, *p)).collect();
    for inc in &invites {
        w.respond(inc, 180);
    }
    w.bye(&mut op_leg);
    for inc in &invites {
        w.expect_cancelled(inc);
    }
    w.settle();
    assert_eq!(w.pbx.active_calls(), 0, "{:?}", w.pbx.call_summaries());
}

/// A member who hangs up leaves the page; the others stay until the person paging
/// hangs up, and a second page afterwards reaches every member again.
#[test]
fn a_member_leaves_and_the_next_page_reaches_everyone() {
    let Staff {
        mut w, members, op, ..
    } = staff();
    let call = w.call(op, "7100");
    let ok = w.take_final(op, call.tx);
    let mut op_leg = w.ack(&call, &ok);
    let invites: Vec<Incoming> = members.iter().map(|p| paged(&mut w, *p)).collect();
    let mut legs: Vec<Leg> = invites.iter().map(|inc| w.answer(inc)).collect();
    for p in members {
        w.expect_ack(p);
    }
    let bye = w.bye(&mut legs[0]);
    assert_eq!(w.take_final(members[0], bye).status, 200);
    w.speak(op, Duration::from_millis(200));
    assert!(w.heard(members[1]).audible > 0);
    w.bye(&mut op_leg);
    w.expect_bye(&mut legs[1]);
    w.expect_bye(&mut legs[2]);
    assert!(!w.has_request(members[0], Method::Bye), "201 already left");
    w.settle();
    assert_eq!(w.pbx.active_calls(), 0, "{:?}", w.pbx.call_summaries());

    let call = w.call(op, "7100");
    let ok = w.take_final(op, call.tx);
    w.ack(&call, &ok);
    for p in members {
        paged(&mut w, p);
    }
}
