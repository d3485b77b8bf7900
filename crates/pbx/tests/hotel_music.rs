//! Background music on paging group 7100 (members 201, 202, 203) by schedule and by the
//! operator's override, on the virtual clock. The world starts on Thursday 2026-01-01 at
//! 12:00 UTC (13:00 in Berlin); the schedule plays from 13:02 to 13:05 local time.

mod support;

use sip::message::Method;
use std::time::Duration;
use support::{Incoming, Leg, PhoneId, World, plan_from_str, repo_root};

struct Lobby {
    w: World,
    members: [PhoneId; 3],
    op: PhoneId,
}

/// The shipped plan with the commented background music enabled, on a short schedule.
fn music_plan() -> String {
    let text =
        std::fs::read_to_string(repo_root().join("dialplan/default.yaml")).expect("default.yaml");
    let music = "    background_music:\n      music_on_hold: default\n      schedule:\n        rules:\n          - { days: daily, from: \"13:02\", to: \"13:05\" }\n        holidays: [ { date: 12-24, name: Christmas Eve } ]\n";
    let at = "    members: [201, 202, 203]\n";
    assert!(text.contains(at), "the paging group of the demo");
    text.replacen(at, &format!("{at}{music}"), 1)
}

/// 201, 202, 203 and operator op1 registered; the PBX has checked the music once (silent).
fn lobby() -> Lobby {
    let (plan, prompts) = plan_from_str(&music_plan());
    let mut w = World::new(plan, prompts);
    let p201 = w.add_phone("201", "201", "201", "secret201", "10.0.0.21:5060", 4000);
    let p202 = w.add_phone("202", "202", "202", "secret202", "10.0.0.22:5060", 6000);
    let p203 = w.add_phone("203", "203", "203", "secret203", "10.0.0.23:5060", 8000);
    let op = w.add_phone("op1", "0", "op1", "secretop1", "10.0.0.30:5060", 9000);
    for p in [p201, p202, p203, op] {
        w.register(p);
    }
    check(&mut w);
    w.take_ladder();
    w.take_media();
    Lobby {
        w,
        members: [p201, p202, p203],
        op,
    }
}

/// What the server does at start and after a reload.
fn check(w: &mut World) {
    let (now, wall) = (w.now, w.wall_ms());
    w.pbx.check_music(now, wall, &mut w.ep);
    w.drain_pbx();
}

/// Runs the clock to `hh:mm` UTC of the first day (plus a little).
fn run_until(w: &mut World, hh: i64, mm: i64) {
    let target = support::WALL_START_MS + ((hh - 12) * 60 + mm) * 60_000 + 5;
    let wait = target - w.wall_ms();
    assert!(wait >= 0, "the clock is already past {hh}:{mm}");
    w.advance(Duration::from_millis(u64::try_from(wait).unwrap_or(0)));
}

/// The music's INVITE at `p`, with the group's auto-answer headers.
fn called(w: &mut World, p: PhoneId) -> Incoming {
    let inc = w.expect_invite(p);
    assert_eq!(
        inc.req.headers.get("Call-Info"),
        Some(format!("<sip:{}>;answer-after=0", World::public_ip()).as_str())
    );
    assert_eq!(inc.req.headers.get("Alert-Info"), Some("auto-answer"));
    inc
}

/// Every member answers; returns their legs.
fn answer_all(w: &mut World, phones: &[PhoneId]) -> Vec<Leg> {
    let invites: Vec<Incoming> = phones.iter().map(|p| called(w, *p)).collect();
    let legs = invites.iter().map(|inc| w.answer(inc)).collect();
    for p in phones {
        w.expect_ack(*p);
    }
    legs
}

fn set(w: &mut World, on: Option<bool>) -> pbx::MusicStatus {
    let (now, wall) = (w.now, w.wall_ms());
    let status = w
        .pbx
        .set_music_override(now, wall, &mut w.ep, "7100", on, "cli")
        .expect("7100 has background music");
    w.drain_pbx();
    status
}

fn status(w: &World) -> pbx::MusicStatus {
    w.pbx
        .music_status(w.wall_ms())
        .into_iter()
        .find(|s| s.number == "7100")
        .expect("7100")
}

#[test]
fn the_music_plays_from_the_scheduled_minute_until_its_end() {
    let Lobby { mut w, members, .. } = lobby();
    assert!(!status(&w).playing);
    run_until(&mut w, 12, 1);
    for p in members {
        assert!(!w.has_request(p, Method::Invite), "not yet");
    }
    run_until(&mut w, 12, 2);
    let mut legs = answer_all(&mut w, &members);
    let media = w.take_media();
    let play: Vec<&String> = media
        .iter()
        .filter(|m| m.starts_with("PlayToConference"))
        .collect();
    assert_eq!(play.len(), 1, "{media:?}");
    assert!(
        play[0].ends_with("[soft_chords] loop=true"),
        "the class loops: {media:?}"
    );
    let joins: Vec<&String> = media
        .iter()
        .filter(|m| m.starts_with("JoinConference"))
        .collect();
    assert_eq!(joins.len(), 3, "{media:?}");
    for (p, j) in members.iter().zip(&joins) {
        let leg = w.leg_towards(w.rtp_of(*p));
        assert!(
            j.contains(&format!("leg: LegId({})", leg.0)) && j.contains("muted: true"),
            "members listen, muted: {joins:?}"
        );
    }
    w.advance(Duration::from_millis(500));
    for p in members {
        assert!(w.heard(p).audible > 5, "{:?}", w.heard(p));
    }
    let s = status(&w);
    assert!(s.playing && s.scheduled && s.has_schedule, "{s:?}");
    assert_eq!((s.listeners, s.override_on), (3, None));
    let music_calls = w
        .cdrs
        .iter()
        .filter(|c| {
            matches!(c, pbx::CdrEvent::Started { origin, .. }
                if *origin == pbx::CallOrigin::Pbx(pbx::PurposeKind::Music))
        })
        .count();
    assert_eq!(music_calls, 3, "the member calls are recorded as music");

    // 13:05 Berlin: every member's call ends.
    run_until(&mut w, 12, 5);
    for leg in &mut legs {
        w.expect_bye(leg);
    }
    let media = w.take_media();
    assert!(
        media
            .iter()
            .any(|m| m.starts_with("PlayToConference") && m.ends_with("[] loop=false")),
        "the room stops playing: {media:?}"
    );
    w.settle();
    assert_eq!(w.pbx.active_calls(), 0, "{:?}", w.pbx.call_summaries());
    assert!(!status(&w).playing);
    run_until(&mut w, 12, 7);
    for p in members {
        assert!(!w.has_request(p, Method::Invite), "the music stays off");
    }
}

#[test]
fn a_member_who_hangs_up_stays_off_until_the_next_start() {
    let Lobby { mut w, members, .. } = lobby();
    run_until(&mut w, 12, 2);
    let mut legs = answer_all(&mut w, &members);
    let bye = w.bye(&mut legs[0]);
    assert_eq!(w.take_final(members[0], bye).status, 200);
    run_until(&mut w, 12, 4);
    assert!(!w.has_request(members[0], Method::Invite), "201 stays off");
    assert_eq!(status(&w).listeners, 2);
    run_until(&mut w, 12, 5);
    w.expect_bye(&mut legs[1]);
    w.expect_bye(&mut legs[2]);
}

#[test]
fn the_operator_overrides_the_schedule() {
    let Lobby { mut w, members, .. } = lobby();
    // On before the schedule: at once.
    let s = set(&mut w, Some(true));
    assert!(s.playing && !s.scheduled, "{s:?}");
    assert_eq!(s.override_on, Some(true));
    let mut legs = answer_all(&mut w, &members);
    let change = w.music_changes.last().cloned().expect("an event");
    assert_eq!(
        (
            change.group.as_str(),
            change.on,
            change.by.as_str(),
            change.mode_name()
        ),
        ("7100", Some(true), "cli", "on")
    );
    // Off while the schedule says on: the calls end, and stay ended.
    run_until(&mut w, 12, 2);
    let s = set(&mut w, Some(false));
    assert!(!s.playing && s.scheduled, "{s:?}");
    for leg in &mut legs {
        w.expect_bye(leg);
    }
    run_until(&mut w, 12, 3);
    for p in members {
        assert!(!w.has_request(p, Method::Invite), "forced off");
    }
    // Back to the schedule: it plays again at once.
    let s = set(&mut w, None);
    assert_eq!(s.override_on, None);
    let mut legs = answer_all(&mut w, &members);
    assert_eq!(w.music_changes.len(), 3);
    assert_eq!(w.music_changes[2].mode_name(), "schedule");
    run_until(&mut w, 12, 5);
    for leg in &mut legs {
        w.expect_bye(leg);
    }
}

#[test]
fn a_restored_override_acts_at_the_first_check() {
    let (plan, prompts) = plan_from_str(&music_plan());
    let mut w = World::new(plan, prompts);
    let p201 = w.add_phone("201", "201", "201", "secret201", "10.0.0.21:5060", 4000);
    w.register(p201);
    w.pbx.restore_music_overrides([("7100".to_string(), true)]);
    check(&mut w);
    called(&mut w, p201);
}

#[test]
fn a_page_interrupts_the_music_which_resumes_after_it() {
    let Lobby {
        mut w, members, op, ..
    } = lobby();
    run_until(&mut w, 12, 2);
    let mut legs = answer_all(&mut w, &members);
    // The operator pages 7100: the music's calls end, and the page reaches every member.
    let call = w.call(op, "7100");
    let ok = w.take_final(op, call.tx);
    assert_eq!(ok.status, 200);
    let mut op_leg = w.ack(&call, &ok);
    for leg in &mut legs {
        w.expect_bye(leg);
    }
    let mut page_legs = answer_all(&mut w, &members);
    assert!(!status(&w).playing, "the page has the speakers");
    // A minute check during the page leaves the music off.
    run_until(&mut w, 12, 3);
    assert!(!status(&w).playing);
    w.bye(&mut op_leg);
    for leg in &mut page_legs {
        w.expect_bye(leg);
    }
    // The next check after the page: the music again.
    run_until(&mut w, 12, 4);
    answer_all(&mut w, &members);
    assert!(status(&w).playing);
}

#[test]
fn busy_and_do_not_disturb_members_are_skipped() {
    let Lobby { mut w, members, .. } = lobby();
    let [p201, p202, p203] = members;
    w.set_line(
        "201",
        pbx::hotel::LineSettings {
            dnd: true,
            ..Default::default()
        },
    );
    // 202 talks to 203.
    let call = w.call(p202, "203");
    let inc = w.expect_invite(p203);
    w.answer(&inc);
    w.expect_ack(p203);
    let ok = w.take_final(p202, call.tx);
    w.ack(&call, &ok);
    run_until(&mut w, 12, 2);
    for p in members {
        assert!(!w.has_request(p, Method::Invite));
    }
    assert!(!status(&w).playing, "nobody to play to: silent");
    // 201 switches do-not-disturb off: the next check calls it.
    w.set_line("201", pbx::hotel::LineSettings::default());
    run_until(&mut w, 12, 3);
    answer_all(&mut w, &[p201]);
    assert!(!w.has_request(p202, Method::Invite), "202 is busy");
    assert_eq!(status(&w).listeners, 1);
}

#[test]
fn an_override_needs_a_group_with_background_music() {
    let mut w = World::with_default_plan();
    let (now, wall) = (w.now, w.wall_ms());
    assert_eq!(
        w.pbx
            .set_music_override(now, wall, &mut w.ep, "7100", Some(true), "cli"),
        Err(pbx::MusicError::NoMusic("7100".into()))
    );
    assert_eq!(
        w.pbx
            .set_music_override(now, wall, &mut w.ep, "7199", Some(true), "cli"),
        Err(pbx::MusicError::UnknownGroup("7199".into()))
    );
    assert!(w.music_changes.is_empty());
    let s = w.pbx.music_status(wall);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].music_on_hold, None);
    // Without background music the PBX sets no minute deadline.
    assert_eq!(w.pbx.poll_timeout(), None);
}

#[test]
fn shutdown_hangs_up_the_music_for_good() {
    let Lobby { mut w, members, .. } = lobby();
    run_until(&mut w, 12, 2);
    let mut legs = answer_all(&mut w, &members);
    let (now, wall) = (w.now, w.wall_ms());
    w.pbx.hangup_all(now, wall, &mut w.ep);
    w.drain_pbx();
    for leg in &mut legs {
        w.expect_bye(leg);
    }
    // Neither the schedule nor an override starts it again.
    set(&mut w, Some(false));
    set(&mut w, Some(true));
    run_until(&mut w, 12, 4);
    for p in members {
        assert!(!w.has_request(p, Method::Invite), "no music after shutdown");
    }
}

#[test]
fn a_reload_without_the_music_stops_it() {
    let Lobby { mut w, members, .. } = lobby();
    run_until(&mut w, 12, 2);
    let mut legs = answer_all(&mut w, &members);
    let (plan, prompts) = support::default_plan();
    let plan = std::sync::Arc::new(plan);
    w.pbx.set_attendant(pbx::Attendant {
        music: support::music_classes(&plan),
        plan,
        prompts: std::sync::Arc::new(prompts),
    });
    check(&mut w);
    for leg in &mut legs {
        w.expect_bye(leg);
    }
    run_until(&mut w, 12, 3);
    for p in members {
        assert!(
            !w.has_request(p, Method::Invite),
            "the plan has no music now"
        );
    }
    assert!(w.pbx.music_status(w.wall_ms()).iter().all(|s| !s.playing));
}
