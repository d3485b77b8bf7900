//! Do-not-disturb and forwarding with real phones: a guest's `*78`/`*79` (announcements matched
//! against the prompt WAVs), an outside caller meeting `guest_dnd` and reaching the operator with 0,
//! the operator's `*80` override; forwarding always, on busy and on no answer reaching their
//! targets with the reason in the call record, a loop refused from a phone and from the API; and a
//! room move carrying do-not-disturb, forwarding and VIP to the new room.
// The waits for calls and records are bounded by wall-clock deadlines.
#![allow(clippy::disallowed_methods)]

mod hotel_support;

use hotel_support::{
    EVENT_TIMEOUT, api_refused, assert_heard, auto_phone, check_in, cli_ok, dial, hang_up,
    heard_by, hotel_server, logbook, operator, outside, phone, room, set_dnd, set_forward,
    sipp_caller, sipp_phone, via_menu, wait_record,
};
use serde_json::Value;
use std::time::Duration;
use switchboard_e2e::{AnswerMode, Baresip, Server};

/// `phone` dials a feature code, the PBX answers and announces the result; returns when the call
/// has closed (the PBX hangs up, or the phone after `listen`).
fn feature_code(phone: &Baresip, server: &Server, code: &str, listen: Duration) {
    dial(phone, server, code);
    phone.wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT).unwrap();
    std::thread::sleep(listen);
    if !phone.has_event("CALL_CLOSED") {
        let _ = phone.hangup();
    }
    phone.wait_event("CALL_CLOSED", EVENT_TIMEOUT).unwrap();
}

fn assert_not_rung(phone: &Baresip, who: &str) {
    assert!(
        !phone.has_event("CALL_INCOMING") && !phone.has_event("CALL_ESTABLISHED"),
        "{who} was rung"
    );
}

#[test]
fn do_not_disturb_from_the_room_phone_the_operator_override_and_clearing_it() {
    let server = hotel_server(&[]);
    check_in(&server, r#"{"room":"8105","name":"Li Wei"}"#);
    let (guest, _) = auto_phone(&server, "8105", 8105, 120.0);
    let (op1, _) = operator(&server, "op1", 11, 120.0, AnswerMode::Auto);

    feature_code(&guest, &server, "*78", Duration::from_secs(3));
    assert_heard(&heard_by(&guest), "en/dnd_on.wav", "the guest dialling *78");
    assert_eq!(room(&server, "8105")["guest"]["dnd"], true);
    assert!(
        logbook(&server)
            .iter()
            .any(|e| e["kind"] == "dnd" && e["subject"] == "8105" && e["by"] == "8105"),
        "the phone's change is in the log book: {:#?}",
        logbook(&server)
    );

    // An outside caller dials the room from the menu: guest_dnd, the offer of 0, then 0 rings op1.
    let (caller, _) = outside("outside", 31, 60.0);
    via_menu(&caller, &server, "8105");
    // please_hold (2.2 s), guest_dnd (3.2 s), press_0_operator (2.2 s); then 5 s for the key.
    std::thread::sleep(Duration::from_secs(9));
    caller.send_dtmf("0").unwrap();
    op1.wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap_or_else(|e| panic!("0 after guest_dnd should reach the operator: {e}"));
    std::thread::sleep(Duration::from_secs(1));
    hang_up(&caller);
    op1.wait_event("CALL_CLOSED", EVENT_TIMEOUT).unwrap();
    let heard = heard_by(&caller);
    assert_heard(&heard, "en/guest_dnd.wav", "the outside caller");
    assert_heard(&heard, "en/press_0_operator.wav", "the outside caller");
    assert_not_rung(&guest, "8105 on do-not-disturb");

    // The operator's override rings the room anyway.
    dial(&op1, &server, "*808105");
    guest
        .wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap_or_else(|e| panic!("*80 8105 from op1 should ring the room past DND: {e}"));
    std::thread::sleep(Duration::from_secs(1));
    hang_up(&op1);
    guest.wait_event("CALL_CLOSED", EVENT_TIMEOUT).unwrap();

    // *79 clears it; the next outside call rings the room.
    feature_code(&guest, &server, "*79", Duration::from_secs(3));
    assert_heard(
        &heard_by(&guest),
        "en/dnd_off.wav",
        "the guest dialling *79",
    );
    assert_eq!(room(&server, "8105")["guest"]["dnd"], false);
    let (caller, _) = outside("outside2", 32, 60.0);
    via_menu(&caller, &server, "8105");
    guest
        .wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap_or_else(|e| panic!("after *79 a call should ring the room: {e}"));
    hang_up(&caller);
}

#[test]
fn forwarding_always_on_busy_and_on_no_answer_reach_their_targets_and_loops_are_refused() {
    let server = hotel_server(&[("ring_timeout: 30s", "ring_timeout: 4s")]);
    for (room, name) in [("8105", "Ann"), ("8106", "Ben"), ("8107", "Cai")] {
        check_in(&server, &format!(r#"{{"room":"{room}","name":"{name}"}}"#));
    }
    let (front_desk, _) = auto_phone(&server, "201", 201, 120.0);
    let (concierge, _) = auto_phone(&server, "202", 202, 120.0);

    // Always, set from the room's phone: *72 201.
    let (guest, _) = auto_phone(&server, "8105", 8105, 120.0);
    feature_code(&guest, &server, "*72201", Duration::from_secs(3));
    assert_heard(
        &heard_by(&guest),
        "en/forward_on.wav",
        "the guest dialling *72201",
    );
    assert_eq!(
        room(&server, "8105")["guest"]["forwarding"]["always"],
        "201"
    );
    sipp_caller(&server, "203", "uac_call", "8105")
        .run()
        .unwrap()
        .expect_success()
        .unwrap();
    front_desk
        .wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap();
    front_desk.wait_event("CALL_CLOSED", EVENT_TIMEOUT).unwrap();
    assert!(
        !guest.has_event("CALL_INCOMING"),
        "8105 rang despite forwarding always"
    );
    let record = wait_record(&server, "203 -> 8105", |r| r["callee"] == "8105");
    assert_eq!(
        (&record["forwarded_to"], &record["forward_reason"]),
        (&Value::from("201"), &Value::from("always")),
        "{record:#}"
    );

    // Busy: 8106's phone answers 486, the call goes to 202.
    set_forward(&server, "8106", "busy", "202");
    let busy = sipp_phone(&server, "8106", "uas_busy", Duration::from_secs(30))
        .spawn()
        .unwrap();
    sipp_caller(&server, "203", "uac_call", "8106")
        .run()
        .unwrap()
        .expect_success()
        .unwrap();
    busy.wait().unwrap().expect_success().unwrap();
    concierge
        .wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap();
    concierge.wait_event("CALL_CLOSED", EVENT_TIMEOUT).unwrap();
    let record = wait_record(&server, "203 -> 8106", |r| r["callee"] == "8106");
    assert_eq!(
        (&record["forwarded_to"], &record["forward_reason"]),
        (&Value::from("202"), &Value::from("busy")),
        "{record:#}"
    );

    // No answer: 8107 rings for the ring timeout (4 s), is cancelled, and 201 rings.
    set_forward(&server, "8107", "no_answer", "201");
    let silent = sipp_phone(
        &server,
        "8107",
        "uas_ring_noanswer",
        Duration::from_secs(30),
    )
    .spawn()
    .unwrap();
    sipp_caller(&server, "203", "uac_call", "8107")
        .run()
        .unwrap()
        .expect_success()
        .unwrap();
    silent.wait().unwrap().expect_success().unwrap();
    front_desk
        .wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap();
    front_desk.wait_event("CALL_CLOSED", EVENT_TIMEOUT).unwrap();
    let record = wait_record(&server, "203 -> 8107", |r| r["callee"] == "8107");
    assert_eq!(
        (&record["forwarded_to"], &record["forward_reason"]),
        (&Value::from("201"), &Value::from("no_answer")),
        "{record:#}"
    );

    // A loop: 8105 forwards to 201, so 201 may not forward to 8105, from its phone or the API.
    feature_code(&front_desk, &server, "*728105", Duration::from_secs(4));
    assert_heard(
        &heard_by(&front_desk),
        "en/forward_refused.wav",
        "201 dialling *728105",
    );
    api_refused(
        &server,
        "PUT",
        "/api/lines/201/forward/busy",
        r#"{"target":"8105"}"#,
        422,
        "forwarding would loop",
    );
    let forwarding = &room(&server, "8105")["guest"]["forwarding"];
    assert_eq!(forwarding["always"], "201", "{forwarding}");
    drop(concierge);
}

#[test]
fn a_room_move_carries_dnd_forwarding_and_vip_and_leaves_the_old_room_vacant() {
    let server = hotel_server(&[]);
    check_in(
        &server,
        r#"{"room":"8105","name":"Li Wei","title":"Dr","vip":""}"#,
    );
    set_dnd(&server, "8105", true);
    set_forward(&server, "8105", "busy", "201");
    cli_ok(&server, &["guest", "move", "8105", "8112"]);

    let moved = room(&server, "8112");
    assert_eq!(moved["guest"]["dnd"], true, "{moved}");
    assert_eq!(moved["guest"]["forwarding"]["busy"], "201", "{moved}");
    assert_eq!(moved["guest"]["vip"], true, "{moved}");
    assert_eq!(room(&server, "8105")["state"], "vacant");

    // A call to 8112 gets the do-not-disturb treatment; the phone is not rung.
    let (guest, _) = auto_phone(&server, "8112", 8112, 60.0);
    let (caller, _) = outside("outside", 41, 60.0);
    via_menu(&caller, &server, "8112");
    std::thread::sleep(Duration::from_secs(8));
    hang_up(&caller);
    assert_heard(&heard_by(&caller), "en/guest_dnd.wav", "the caller of 8112");
    assert_not_rung(&guest, "8112 on do-not-disturb (moved)");

    // A call from 8112 shows the guest's name.
    let (front_desk, _) = phone(&server, "201", 201, 60.0, AnswerMode::Manual);
    dial(&guest, &server, "201");
    let ringing = front_desk
        .wait_event("CALL_INCOMING", EVENT_TIMEOUT)
        .unwrap();
    assert_eq!(
        ringing.raw["peerdisplayname"], "8112 Dr Li Wei ★",
        "{}",
        ringing.raw
    );
    front_desk.accept().unwrap();
    front_desk
        .wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap();
    hang_up(&guest);
    let record = wait_record(&server, "8112 -> 201", |r| r["caller"] == "8112");
    assert_eq!(record["caller_name"], "8112 Dr Li Wei ★", "{record:#}");

    // 8105 is vacant now: its call to another room is refused (183 restricted, then 403).
    sipp_caller(&server, "8105", "uac_call_restricted", "8106")
        .run()
        .unwrap()
        .expect_success()
        .unwrap_or_else(|e| panic!("the vacant 8105 calling 8106 should be restricted: {e}"));
}
