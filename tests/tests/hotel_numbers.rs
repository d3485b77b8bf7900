//! Who may call what, and numbers that changed: a vacant room's call to another room is refused
//! with the `restricted` announcement as early media (183, then 403) while its calls to staff and
//! the operator go through; a reload that renumbers 203 to 204 (old number kept under
//! `previous_numbers`) and retires 8130: the phone still logging in as 203 answers calls to 204,
//! dialling 203 announces the new number before connecting, 8130 can neither register nor be
//! called (410), the log book records both changes, and all of it holds after a restart.
// The waits for calls and records are bounded by wall-clock deadlines.
#![allow(clippy::disallowed_methods)]

mod hotel_support;

use hotel_support::{
    EVENT_TIMEOUT, api_expect, assert_heard, assert_party_heard, auto_phone, dial, dialplan_file,
    hang_up, heard_by, hotel_server, logbook, operator, sipp_caller,
};
use std::time::Duration;
use switchboard_e2e::pbx::registration;
use switchboard_e2e::{AnswerMode, Server, Transport, free_port, http_post};

/// A refused call leaves the caller's phone closed without having been answered.
fn assert_closed_unanswered(phone: &switchboard_e2e::Baresip, who: &str) {
    phone
        .wait_event("CALL_CLOSED", Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{who}: expected the PBX to refuse the call: {e}"));
    assert!(
        !phone.has_event("CALL_ESTABLISHED"),
        "{who}: the refused call was answered"
    );
}

#[test]
fn a_vacant_room_may_call_staff_and_the_operator_but_not_another_room() {
    let server = hotel_server(&[]);
    let (vacant, _) = auto_phone(&server, "8110", 8110, 120.0);
    let (other_room, _) = auto_phone(&server, "8111", 8111, 60.0);

    // Signalling: 183 (the announcement), then 403.
    sipp_caller(&server, "8110", "uac_call_restricted", "8111")
        .run()
        .unwrap()
        .expect_success()
        .unwrap_or_else(|e| panic!("8110 (vacant) calling 8111: expected 183 then 403: {e}"));
    // What the phone hears: `restricted`, before the refusal.
    dial(&vacant, &server, "8111");
    assert_closed_unanswered(&vacant, "8110 calling 8111");
    assert_heard(&heard_by(&vacant), "en/restricted.wav", "8110 calling 8111");
    assert!(
        !other_room.has_event("CALL_INCOMING"),
        "8111 was rung by a vacant room"
    );

    // Staff and the operator are allowed.
    let (front_desk, desk_signal) = auto_phone(&server, "201", 201, 60.0);
    dial(&vacant, &server, "201");
    front_desk
        .wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap_or_else(|e| panic!("a vacant room may call 201: {e}"));
    vacant
        .wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    hang_up(&vacant);
    assert_party_heard(&heard_by(&vacant), &desk_signal, 1.0, "8110", "201");
    let (op1, _) = operator(&server, "op1", 11, 60.0, AnswerMode::Auto);
    dial(&vacant, &server, "0");
    op1.wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap_or_else(|e| panic!("a vacant room may call the operator: {e}"));
    hang_up(&vacant);
}

/// The demo plan with 203 renumbered to 204 (same password, old number kept) and 8130 retired.
fn renumbered_plan(current: &str) -> String {
    let replacements = [
        (
            "  - number: 203\n    name: Housekeeping\n",
            "  - number: 204\n    name: Housekeeping\n    previous_numbers: [203]\n",
        ),
        ("members: [201, 202, 203]", "members: [201, 202, 204]"),
        ("\nranges:\n", "\nretired: [8130]\n\nranges:\n"),
    ];
    let mut text = current.to_string();
    for (from, to) in replacements {
        assert!(text.contains(from), "expected `{from}` in the demo plan");
        text = text.replacen(from, to, 1);
    }
    text
}

/// What must hold once 203 became 204 and 8130 was retired (before and after a restart).
fn check_renumbered(server: &Server, housekeeping: &switchboard_e2e::Baresip, round: &str) {
    // 201 dials the old number: 183 + number_changed, then the call is put through to 204.
    sipp_caller(server, "201", "uac_call_early_media", "203")
        .run()
        .unwrap()
        .expect_success()
        .unwrap_or_else(|e| panic!("{round}: 201 dialling 203: expected 183 then 200: {e}"));
    housekeeping
        .wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap_or_else(|e| panic!("{round}: the phone logged in as 203 answers for 204: {e}"));
    housekeeping
        .wait_event("CALL_CLOSED", EVENT_TIMEOUT)
        .unwrap();
    // The new number rings it directly.
    sipp_caller(server, "201", "uac_call", "204")
        .run()
        .unwrap()
        .expect_success()
        .unwrap_or_else(|e| panic!("{round}: 201 dialling 204: {e}"));
    housekeeping
        .wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap();
    housekeeping
        .wait_event("CALL_CLOSED", EVENT_TIMEOUT)
        .unwrap();

    // 8130 is retired: no login, and calls hear not_in_service and get 410.
    let refused = registration(
        server,
        "8130",
        "room8130",
        free_port().unwrap(),
        Transport::Udp,
        300,
    )
    .unwrap()
    .run()
    .unwrap();
    let answers: Vec<&str> = refused
        .messages
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("SIP/2.0 "))
        .collect();
    println!("{round}: REGISTER 8130 answered {answers:?}");
    // The right password is challenged again: the registrar knows no 8130 any more.
    assert!(
        !refused.succeeded()
            && !refused.messages.contains("SIP/2.0 200")
            && answers
                .iter()
                .filter(|a| a.starts_with("SIP/2.0 401"))
                .count()
                >= 2,
        "{round}: REGISTER as the retired 8130 must be refused: {}",
        refused.describe()
    );
    sipp_caller(server, "201", "uac_call_gone", "8130")
        .run()
        .unwrap()
        .expect_success()
        .unwrap_or_else(|e| panic!("{round}: 201 dialling 8130: expected 183 then 410: {e}"));

    let changes: Vec<(String, String)> = logbook(server)
        .iter()
        .filter(|e| e["kind"] == "number_change")
        .map(|e| {
            (
                e["subject"].as_str().unwrap_or("").to_string(),
                e["detail"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        vec![
            (
                "203".to_string(),
                "number 203 changed to 204 (Housekeeping)".to_string()
            ),
            ("8130".to_string(), "number 8130 retired".to_string()),
        ],
        "{round}: the log book's number changes"
    );
}

#[test]
fn renumbered_and_retired_numbers_after_a_reload_and_after_a_restart() {
    let mut server = hotel_server(&[]);
    // Before: 8130 is an ordinary room and registers.
    let before = registration(
        &server,
        "8130",
        "room8130",
        free_port().unwrap(),
        Transport::Udp,
        0,
    )
    .unwrap()
    .run()
    .unwrap();
    before.expect_success().unwrap();

    let path = dialplan_file(&server);
    let changed = renumbered_plan(&std::fs::read_to_string(&path).unwrap());
    std::fs::write(&path, changed).unwrap();
    let (status, body) = http_post(server.http_addr(), "/api/reload");
    assert_eq!(status, 200, "POST /api/reload: {body}");

    // The housekeeping phone still logs in with its old credentials (user 203).
    let (housekeeping, hk_signal) = auto_phone(&server, "203", 203, 150.0);
    let registrations = api_expect(&server, "GET", "/api/registrations", "", 200);
    assert!(
        registrations
            .as_array()
            .is_some_and(|r| r.iter().any(|b| b["aor"] == "204")),
        "the phone logging in as 203 registers 204: {registrations:#}"
    );

    // 201's softphone dialling 203 hears the announcement, then 204's phone.
    let (front_desk, _) = auto_phone(&server, "201", 201, 60.0);
    dial(&front_desk, &server, "203");
    housekeeping
        .wait_event("CALL_ESTABLISHED", Duration::from_secs(20))
        .unwrap();
    front_desk
        .wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    hang_up(&front_desk);
    housekeeping
        .wait_event("CALL_CLOSED", EVENT_TIMEOUT)
        .unwrap();
    let heard = heard_by(&front_desk);
    assert_heard(&heard, "en/number_changed.wav", "201 dialling 203");
    assert_party_heard(&heard, &hk_signal, 1.0, "201", "the phone of 204");

    check_renumbered(&server, &housekeeping, "after the reload");

    let status = server.stop().unwrap();
    assert!(
        status.success(),
        "switchboard exited with {status} on SIGTERM"
    );
    server.restart().unwrap();
    check_renumbered(&server, &housekeeping, "after the restart");
}
