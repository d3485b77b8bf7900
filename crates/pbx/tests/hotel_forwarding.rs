//! Forwarding switched from the phones (always, busy, no answer; one hop), and numbers
//! that changed: a renumbered extension's old number, retired numbers, hotline phones.

mod support;

use pbx::LineChangeKind;
use pbx::hotel::{Forwarding, LineSettings};
use pbx::sdp::parse_audio;
use records::ForwardKind;
use sip::message::Method;
use std::time::Duration;
use support::hotel::guest;
use support::{Incoming, Outgoing, PhoneId, World, office, plan_from_str, repo_root};

/// 201, 202 and 203 registered with the shipped plan, and room 8105's phone (occupied).
struct Desk {
    w: World,
    p201: PhoneId,
    p202: PhoneId,
    p203: PhoneId,
    room: PhoneId,
}

fn desk() -> Desk {
    let o = office();
    let mut w = o.w;
    let p203 = w.add_phone("203", "203", "203", "secret203", "10.0.0.23:5060", 8000);
    w.register(p203);
    let room = w.room_phone("8105", 5);
    w.check_in("8105", guest("Anna Berg", None, None, false));
    w.take_ladder();
    w.take_media();
    Desk {
        w,
        p201: o.p201,
        p202: o.p202,
        p203,
        room,
    }
}

/// Phone `p` dials a feature code; returns the prompt that answered it.
fn dial_code(w: &mut World, p: PhoneId, code: &str) -> String {
    let prompt = w.operator_feature(p, code);
    w.take_media();
    prompt
}

fn forward(kind: ForwardKind, target: Option<&str>) -> LineChangeKind {
    LineChangeKind::Forward {
        reason: kind,
        target: target.map(str::to_string),
    }
}

/// The line changes so far as (number, change).
fn changes(w: &World) -> Vec<(String, LineChangeKind)> {
    w.line_changes
        .iter()
        .map(|c| (c.number.clone(), c.change.clone()))
        .collect()
}

/// `p` rings for `call`: its INVITE, with the To of the number it was called by.
fn rings(w: &mut World, p: PhoneId) -> Incoming {
    w.expect_invite(p)
}

fn a_plan(edit: impl Fn(String) -> String) -> World {
    let text = std::fs::read_to_string(repo_root().join("dialplan/default.yaml"))
        .expect("the shipped dialplan");
    let (plan, prompts) = plan_from_str(&edit(text));
    World::new(plan, prompts)
}

/// Expects `call` refused with an explanation as early media: 183 with our SDP, the
/// `prompts` played on the caller's leg, then `status` (if any) once they have played.
fn early_media(w: &mut World, call: &Outgoing, prompts: &str, status: Option<u16>) {
    let early = w.take_responses(call.phone, call.tx);
    let statuses: Vec<u16> = early.iter().map(|r| r.status).collect();
    let Some(progress) = early.iter().find(|r| r.status == 183) else {
        w.fail(&format!("expected 183, got {statuses:?}"))
    };
    let sdp = parse_audio(&progress.body).expect("SDP in the 183");
    assert_eq!(sdp.rtp.map(|a| a.ip()), Some(World::public_ip()));
    assert!(statuses.iter().all(|s| *s < 200), "{statuses:?}");
    let a = w.leg_towards(w.rtp_of(call.phone));
    let plays: Vec<String> = w
        .take_media()
        .into_iter()
        .filter(|m| m.starts_with("Play"))
        .collect();
    assert_eq!(plays, [format!("Play {} [{prompts}]", a.0)]);
    w.play_out(a);
    assert!(w.heard(call.phone).audible > 0, "the prompts are heard");
    if let Some(status) = status {
        assert_eq!(w.take_final(call.phone, call.tx).status, status);
    }
}

/// *72203 forwards every call to 202 to 203 before 202 rings; *73 ends it.
#[test]
fn forward_always_rings_the_target_instead() {
    let Desk {
        mut w,
        p201,
        p202,
        p203,
        room,
    } = desk();
    assert_eq!(dial_code(&mut w, p202, "*72203"), "forward_on");
    assert_eq!(
        changes(&w),
        [("202".into(), forward(ForwardKind::Always, Some("203")))]
    );
    assert!(!w.line_changes[0].room);
    w.call(p201, "202");
    let inc = rings(&mut w, p203);
    assert!(
        !w.has_request(p202, Method::Invite),
        "202 itself does not ring"
    );
    w.answer(&inc);
    w.expect_ack(p203);
    assert!(
        w.cdr_lines()
            .contains(&"Forwarded 202->203 always".to_string()),
        "{:?}",
        w.cdr_lines()
    );

    assert_eq!(dial_code(&mut w, p202, "*73"), "forward_off");
    assert_eq!(
        changes(&w)[1],
        ("202".into(), forward(ForwardKind::Always, None))
    );
    w.call(room, "202");
    rings(&mut w, p202);
}

/// *90203: a busy 202 (486) passes the call on to 203.
#[test]
fn forward_busy_rings_the_target_after_486() {
    let Desk {
        mut w,
        p201,
        p202,
        p203,
        ..
    } = desk();
    assert_eq!(dial_code(&mut w, p202, "*90203"), "forward_on");
    assert_eq!(
        changes(&w),
        [("202".into(), forward(ForwardKind::Busy, Some("203")))]
    );
    w.call(p201, "202");
    let inc = rings(&mut w, p202);
    assert!(
        !w.has_request(p203, Method::Invite),
        "203 waits for 202's answer"
    );
    w.respond(&inc, 486);
    rings(&mut w, p203);
    assert!(
        w.cdr_lines()
            .contains(&"Forwarded 202->203 busy".to_string()),
        "{:?}",
        w.cdr_lines()
    );
}

/// *52203: 202 rings for the ring timeout (30 s), then 203 rings instead.
#[test]
fn forward_no_answer_rings_the_target_after_the_ring_timeout() {
    let Desk {
        mut w,
        p201,
        p202,
        p203,
        ..
    } = desk();
    assert_eq!(dial_code(&mut w, p202, "*52203"), "forward_on");
    w.call(p201, "202");
    let inc = rings(&mut w, p202);
    w.respond(&inc, 180);
    let rang_at = w.elapsed();
    w.advance(Duration::from_secs(29));
    assert!(
        !w.has_request(p203, Method::Invite),
        "not before the timeout"
    );
    w.advance(Duration::from_secs(2));
    w.expect_cancelled(&inc);
    rings(&mut w, p203);
    assert!(w.elapsed() - rang_at >= Duration::from_secs(30));
    assert!(
        w.cdr_lines()
            .contains(&"Forwarded 202->203 no_answer".to_string()),
        "{:?}",
        w.cdr_lines()
    );
}

/// A line with no phone registered counts as not answering: its no-answer forwarding
/// rings the target at once.
#[test]
fn forward_no_answer_applies_at_once_to_a_line_without_a_phone() {
    let Desk {
        mut w,
        p201,
        p202,
        p203,
        ..
    } = desk();
    assert_eq!(dial_code(&mut w, p203, "*52202"), "forward_on");
    assert_eq!(w.register_for(p203, "secret203", 0).status, 200);
    let call = w.call(p201, "203");
    let inc = rings(&mut w, p202);
    w.answer(&inc);
    w.expect_ack(p202);
    assert_eq!(w.take_final(p201, call.tx).status, 200);
    assert!(
        w.cdr_lines()
            .contains(&"Forwarded 203->202 no_answer".to_string()),
        "{:?}",
        w.cdr_lines()
    );
}

/// Forwarding to itself or to a number nobody has is refused (`forward_refused`).
#[test]
fn forwarding_to_itself_or_nowhere_is_refused() {
    let Desk { mut w, p202, .. } = desk();
    assert_eq!(dial_code(&mut w, p202, "*72202"), "forward_refused");
    assert_eq!(dial_code(&mut w, p202, "*729999"), "forward_refused");
    assert!(w.line_changes.is_empty());
    assert!(w.pbx.hotel().settings("202").is_none());
}

/// 203 already forwards to 202: 202 forwarding to 203 would loop and is refused.
#[test]
fn a_forwarding_loop_is_refused() {
    let Desk { mut w, p202, .. } = desk();
    w.set_line(
        "203",
        LineSettings {
            dnd: false,
            forwarding: Forwarding {
                always: Some("202".into()),
                ..Default::default()
            },
        },
    );
    assert_eq!(dial_code(&mut w, p202, "*72203"), "forward_refused");
    assert_eq!(dial_code(&mut w, p202, "*90203"), "forward_refused");
    assert!(w.line_changes.is_empty());
}

/// Forwarding is one hop: 202 → 203 rings 203 even though 203 forwards to 201, and a
/// forwarded call that finds 203 busy is not forwarded again.
#[test]
fn a_forwarded_call_is_not_forwarded_again() {
    let Desk {
        mut w,
        p201,
        p202,
        p203,
        room,
    } = desk();
    let to = |n: &str| Some(n.to_string());
    w.set_line(
        "202",
        LineSettings {
            dnd: false,
            forwarding: Forwarding {
                always: to("203"),
                ..Default::default()
            },
        },
    );
    w.set_line(
        "203",
        LineSettings {
            dnd: false,
            forwarding: Forwarding {
                always: to("201"),
                busy: to("201"),
                no_answer: to("201"),
            },
        },
    );
    let call = w.call(room, "202");
    let inc = rings(&mut w, p203);
    assert!(!w.has_request(p201, Method::Invite));
    assert!(!w.has_request(p202, Method::Invite));
    w.respond(&inc, 486);
    let r = w.take_final(room, call.tx);
    assert_eq!(r.status, 486, "the caller hears busy");
    assert!(!w.has_request(p201, Method::Invite), "no second hop");
    assert_eq!(
        w.cdr_lines()
            .iter()
            .filter(|l| l.starts_with("Forwarded"))
            .collect::<Vec<_>>(),
        ["Forwarded 202->203 always"]
    );
}

/// A guest's forwarding belongs to the stay (`room: true`).
#[test]
fn a_guest_forwards_the_room() {
    let Desk {
        mut w,
        p201,
        p203,
        room,
        ..
    } = desk();
    assert_eq!(dial_code(&mut w, room, "*72203"), "forward_on");
    assert!(w.line_changes[0].room);
    assert_eq!(w.line_changes[0].by, "8105");
    w.call(p201, "8105");
    rings(&mut w, p203);
    assert!(!w.has_request(room, Method::Invite));
}

/// Housekeeping was renumbered from 203 to 204 (same password).
fn renumbered(login_until: Option<&str>) -> World {
    a_plan(|text| {
        let previous = match login_until {
            Some(day) => format!("[{{ number: 203, login_until: {day} }}]"),
            None => "[203]".into(),
        };
        text.replace(
            "  - number: 203\n",
            &format!("  - number: 204\n    previous_numbers: {previous}\n"),
        )
        .replace("members: [201, 202, 203]", "members: [201, 202, 204]")
    })
}

/// A phone still configured as 203 logs in and binds 204; 201 dialling 203 hears the new
/// number as early media, then 204 rings.
#[test]
fn a_renumbered_extension_keeps_its_old_number_for_a_while() {
    let mut w = renumbered(None);
    let p201 = w.add_phone("201", "201", "201", "secret201", "10.0.0.21:5060", 4000);
    w.register(p201);
    let old = w.add_phone("203", "203", "203", "secret203", "10.0.0.23:5060", 8000);
    assert_eq!(w.register(old).status, 200);
    let wall = w.wall_ms();
    assert_eq!(
        w.pbx.bindings("204", wall).len(),
        1,
        "bound under the new number"
    );
    assert!(w.pbx.bindings("203", wall).is_empty());

    w.call(p201, "204");
    let inc = w.expect_invite(old);
    w.respond(&inc, 486);
    w.settle();
    w.take_media();

    let call = w.call(p201, "203");
    early_media(
        &mut w,
        &call,
        "number_changed digit_2 digit_0 digit_4",
        None,
    );
    let inc = w.expect_invite(old);
    assert_eq!(
        inc.req.uri.user.as_deref(),
        Some("203"),
        "the phone's contact"
    );
    w.answer(&inc);
    w.expect_ack(old);
    assert_eq!(w.take_final(p201, call.tx).status, 200);
    assert!(
        w.cdr_lines().contains(&"Started 201->203".to_string()),
        "{:?}",
        w.cdr_lines()
    );
}

/// A phone registered as 203 before a reload renumbered it to 204: the reload moves its
/// registration (in memory and in the database) so calls to 204 ring it at once.
#[test]
fn a_reload_that_renumbers_moves_the_old_numbers_registrations() {
    let mut w = a_plan(|text| text);
    let p201 = w.add_phone("201", "201", "201", "secret201", "10.0.0.21:5060", 4000);
    w.register(p201);
    let old = w.add_phone("203", "203", "203", "secret203", "10.0.0.23:5060", 8000);
    w.register(old);
    w.persisted.clear();

    let text = std::fs::read_to_string(repo_root().join("dialplan/default.yaml"))
        .expect("the shipped dialplan")
        .replace(
            "  - number: 203\n",
            "  - number: 204\n    previous_numbers: [203]\n",
        )
        .replace("members: [201, 202, 203]", "members: [201, 202, 204]");
    let (plan, prompts) = plan_from_str(&text);
    let plan = std::sync::Arc::new(plan);
    w.pbx.reconfigure(
        support::pbx_config(&plan),
        std::sync::Arc::new(pbx::PlanDirectory(plan.clone())),
    );
    w.pbx.set_attendant(pbx::Attendant {
        music: support::music_classes(&plan),
        plan,
        prompts: std::sync::Arc::new(prompts),
    });
    w.drain_pbx();
    let wall = w.wall_ms();
    assert_eq!(w.pbx.bindings("204", wall).len(), 1, "moved to 204");
    assert!(w.pbx.bindings("203", wall).is_empty());
    let moved: Vec<String> = w
        .persisted
        .iter()
        .map(|c| match c {
            sip::registrar::BindingChange::Upsert(b) => format!("upsert {}", b.aor),
            sip::registrar::BindingChange::Remove { aor, .. } => format!("remove {aor}"),
            sip::registrar::BindingChange::RemoveAll { aor } => format!("remove all {aor}"),
        })
        .collect();
    assert_eq!(
        moved,
        ["remove 203", "upsert 204"],
        "written to the database"
    );
    w.call(p201, "204");
    w.expect_invite(old);
}

/// With `login_until` past (the world's clock is 2026-01-01), the old number cannot log in:
/// the phone is challenged again (401) and never bound; the new number still logs in.
#[test]
fn the_old_number_cannot_log_in_after_login_until() {
    let mut w = renumbered(Some("2025-12-31"));
    let old = w.add_phone("203", "203", "203", "secret203", "10.0.0.23:5060", 8000);
    let r = w.register_with(old, "secret203");
    assert_eq!(r.status, 401, "refused");
    let wall = w.wall_ms();
    assert!(w.pbx.bindings("204", wall).is_empty());
    assert!(w.pbx.bindings("203", wall).is_empty());
    let new = w.add_phone("204", "204", "204", "secret203", "10.0.0.24:5060", 8100);
    assert_eq!(w.register(new).status, 200);
}

/// `login_until` is the last day the old number logs in (inclusive).
#[test]
fn the_old_number_logs_in_on_its_last_day() {
    let mut w = renumbered(Some("2026-01-01"));
    let old = w.add_phone("203", "203", "203", "secret203", "10.0.0.23:5060", 8000);
    assert_eq!(w.register(old).status, 200);
}

/// A retired number: no login, and a call hears `not_in_service` before 410 (recorded as
/// not found).
#[test]
fn a_retired_number_is_out_of_service() {
    let mut w = a_plan(|text| format!("{text}\nretired: [8130]\n"));
    let p201 = w.add_phone("201", "201", "201", "secret201", "10.0.0.21:5060", 4000);
    w.register(p201);
    let retired = w.add_phone("8130", "8130", "8130", "room8130", "10.0.1.30:5060", 10030);
    let r = w.register_with(retired, "room8130");
    assert_eq!(r.status, 401, "no login with a retired number");
    w.take_media();
    let call = w.call(p201, "8130");
    early_media(&mut w, &call, "not_in_service", Some(410));
    assert!(!w.has_request(retired, Method::Invite));
    assert_eq!(
        w.cdr_lines(),
        ["Started 201->8130", "Ended not_found by system"]
    );
}

/// A hotline phone reaches 201 whatever it dials (numbers, the main number, feature codes).
#[test]
fn a_hotline_phone_always_calls_its_target() {
    let mut w = a_plan(|text| {
        text.replace(
            "  - number: 202\n",
            "  - number: 210\n    name: Lobby\n    password: secret210\n    hotline: 201\n  - number: 202\n",
        )
    });
    let p201 = w.add_phone("201", "201", "201", "secret201", "10.0.0.21:5060", 4000);
    w.register(p201);
    let lobby = w.add_phone("210", "210", "210", "secret210", "10.0.0.40:5060", 8200);
    w.register(lobby);
    for dialled in ["202", "1000", "0", "*78", "7100"] {
        let call = w.call(lobby, dialled);
        let inc = w.expect_invite(p201);
        assert_eq!(
            inc.req.headers.from().expect("From").uri.user.as_deref(),
            Some("210"),
            "dialled {dialled}"
        );
        w.respond(&inc, 486);
        let r = w.take_final(lobby, call.tx);
        assert_eq!(r.status, 486, "dialled {dialled}");
    }
    assert!(w.line_changes.is_empty(), "*78 was not a feature code");
}

/// Class of service holds after ringing too: a vacant room's call to 202 that finds it
/// busy is not passed on to a room by 202's busy forwarding; the caller hears busy.
#[test]
fn busy_forwarding_does_not_take_a_vacant_room_to_a_room() {
    let Desk {
        mut w, p202, room, ..
    } = desk();
    let vacant = w.room_phone("8101", 1);
    assert_eq!(dial_code(&mut w, p202, "*908105"), "forward_on");
    let call = w.call(vacant, "202");
    let inc = rings(&mut w, p202);
    w.respond(&inc, 486);
    assert_eq!(w.take_final(vacant, call.tx).status, 486);
    assert!(!w.has_request(room, Method::Invite), "8105 must not ring");
    assert!(
        !w.cdr_lines().iter().any(|l| l.starts_with("Forwarded")),
        "{:?}",
        w.cdr_lines()
    );
}

/// The forwarding target calling the forwarded line rings that line, not the caller's own
/// phone; and a busy line does not forward the call back to its caller.
#[test]
fn the_forward_target_calling_the_line_rings_it() {
    let Desk {
        mut w, p202, p203, ..
    } = desk();
    assert_eq!(dial_code(&mut w, p202, "*72203"), "forward_on");
    w.call(p203, "202");
    let inc = rings(&mut w, p202);
    assert!(
        !w.has_request(p203, Method::Invite),
        "203 is not rung by its own call"
    );
    assert!(
        !w.cdr_lines().iter().any(|l| l.starts_with("Forwarded")),
        "{:?}",
        w.cdr_lines()
    );
    w.respond(&inc, 486);
    w.settle();

    assert_eq!(dial_code(&mut w, p202, "*73"), "forward_off");
    assert_eq!(dial_code(&mut w, p202, "*90203"), "forward_on");
    let call = w.call(p203, "202");
    let inc = rings(&mut w, p202);
    w.respond(&inc, 486);
    assert_eq!(w.take_final(p203, call.tx).status, 486);
    assert!(
        !w.has_request(p203, Method::Invite),
        "not forwarded back to the caller"
    );
}
