//! The front desk against the real server: every `switchboard guest | room | dnd | forward |
//! logbook` verb and its refusals (exit status 1 with the API's reason), the same changes and
//! refusals over the admin API (JSON 4xx), the log book naming who made each change, and a restart
//! that keeps the stays, do-not-disturb and forwarding, with the PBX routing calls by them.
// The waits for calls and records are bounded by wall-clock deadlines.
#![allow(clippy::disallowed_methods)]

mod hotel_support;

use hotel_support::{
    EVENT_TIMEOUT, api_expect, api_refused, assert_heard, auto_phone, check_in, cli_ok,
    cli_refused, dial, heard_by, hotel_server, logbook, room, sipp_caller, sipp_phone, wait_record,
};
use serde_json::Value;
use std::time::Duration;

/// The entries of the log book made by `by`, as `(kind, subject)`.
fn entries_by(server: &switchboard_e2e::Server, by: &str) -> Vec<(String, String)> {
    logbook(server)
        .iter()
        .filter(|e| e["by"] == by)
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or_default().to_string(),
                e["subject"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn pair(kind: &str, subject: &str) -> (String, String) {
    (kind.to_string(), subject.to_string())
}

#[test]
fn every_front_desk_verb_works_from_the_command_line_and_refusals_exit_1_with_the_reason() {
    let server = hotel_server(&[]);

    // Check-in prints the guest as the desk says it and a generated four-digit PIN.
    let out = cli_ok(
        &server,
        &[
            "guest",
            "check-in",
            "8105",
            "--name",
            "Li Wei",
            "--title",
            "Dr",
            "--vip",
            "honeymoon",
            "--language",
            "zh",
            "--companion",
            "Zhang Min",
        ],
    );
    assert!(
        out.contains("Dr Li Wei ★ (VIP: honeymoon) checked in to room 8105."),
        "{out}"
    );
    let pin = out
        .split("Voicemail PIN: ")
        .nth(1)
        .map(str::trim)
        .unwrap_or_default();
    assert!(
        pin.len() == 4 && pin.bytes().all(|b| b.is_ascii_digit()),
        "expected a four-digit PIN, got {pin:?} in {out}"
    );
    // A PIN given is kept.
    let out = cli_ok(
        &server,
        &[
            "guest",
            "check-in",
            "8106",
            "--name",
            "Ola Nordmann",
            "--pin",
            "24680",
        ],
    );
    assert!(out.contains("Voicemail PIN: 24680"), "{out}");

    let out = cli_ok(
        &server,
        &[
            "guest",
            "expect",
            "8107",
            "--name",
            "Anna Berg",
            "--arrival",
            "2099-05-01",
        ],
    );
    assert!(
        out.contains("Anna Berg expected in room 8107 on 2099-05-01."),
        "{out}"
    );

    let out = cli_ok(&server, &["guest", "list"]);
    assert!(
        out.contains("8105") && out.contains("Dr Li Wei ★") && out.contains("Ola Nordmann"),
        "the list shows the guests in house: {out}"
    );
    assert!(!out.contains("Anna Berg"), "not expected today: {out}");
    let out = cli_ok(&server, &["guest", "list", "--date", "2099-05-01"]);
    assert!(
        out.contains("Expected arrivals on 2099-05-01:") && out.contains("Anna Berg"),
        "{out}"
    );
    let out = cli_ok(&server, &["guest", "find", "zhang"]);
    assert!(
        out.contains("8105") && out.contains("in house"),
        "found by a companion: {out}"
    );
    let out = cli_ok(&server, &["guest", "find", "BERG"]);
    assert!(out.contains("8107") && out.contains("expected"), "{out}");
    let out = cli_ok(&server, &["guest", "find", "nobody-like-this"]);
    assert!(out.contains("No guest matches"), "{out}");

    let out = cli_ok(&server, &["room", "8105"]);
    for line in [
        "Room 8105 (Room 8105): occupied",
        "Calls show as: 8105 Dr Li Wei ★",
        "With: Zhang Min",
        "Language: zh",
        "Do not disturb: off",
        "Forwarding: -",
    ] {
        assert!(out.contains(line), "expected `{line}` in: {out}");
    }
    let out = cli_ok(&server, &["room", "8110"]);
    assert!(
        out.contains("Room 8110 (Room 8110): vacant") && out.contains("Room 8110 (vacant)"),
        "{out}"
    );

    // Do-not-disturb on and off, for a room and for a staff extension.
    assert!(cli_ok(&server, &["dnd", "8105", "on"]).contains("8105: do not disturb on"));
    assert!(cli_ok(&server, &["room", "8105"]).contains("Do not disturb: on"));
    assert!(cli_ok(&server, &["dnd", "202", "on"]).contains("202: do not disturb on"));
    assert!(cli_ok(&server, &["dnd", "202", "off"]).contains("202: do not disturb off"));
    assert!(cli_ok(&server, &["dnd", "8105", "off"]).contains("8105: do not disturb off"));

    // Forwarding set and cleared.
    let out = cli_ok(&server, &["forward", "8105", "busy", "201"]);
    assert!(out.contains("8105: forwarding busy → 201"), "{out}");
    let out = cli_ok(&server, &["forward", "8105", "no-answer", "202"]);
    assert!(
        out.contains("busy → 201") && out.contains("no-answer → 202"),
        "{out}"
    );
    assert!(cli_ok(&server, &["room", "8105"]).contains("Forwarding: busy → 201, no-answer → 202"));
    cli_ok(&server, &["forward", "8105", "no-answer", "off"]);
    let out = cli_ok(&server, &["forward", "8105", "busy", "off"]);
    assert!(out.contains("8105: forwarding -"), "{out}");

    // Refusals: exit status 1 and the reason.
    cli_refused(
        &server,
        &["guest", "check-in", "8105", "--name", "Someone Else"],
        "room 8105 is occupied by",
    );
    cli_refused(
        &server,
        &["guest", "check-out", "8110"],
        "room 8110 is vacant",
    );
    cli_refused(&server, &["room", "9999"], "9999 is not a room");
    cli_refused(
        &server,
        &["guest", "check-in", "9999", "--name", "Nobody"],
        "refused (404)",
    );
    cli_refused(
        &server,
        &["guest", "check-in", "201", "--name", "Front Desk"],
        "201 is not a room",
    );
    cli_refused(
        &server,
        &[
            "guest",
            "check-in",
            "8111",
            "--name",
            "X",
            "--language",
            "fr",
        ],
        "language `fr`",
    );
    cli_refused(
        &server,
        &["forward", "8105", "always", "8105"],
        "cannot forward to itself",
    );
    cli_refused(
        &server,
        &["forward", "8105", "always", "5555"],
        "5555 is not a number of this system",
    );
    cli_ok(&server, &["forward", "201", "always", "202"]);
    cli_refused(
        &server,
        &["forward", "202", "busy", "201"],
        "forwarding would loop: 202 -> 201 -> 202",
    );
    cli_ok(&server, &["forward", "201", "always", "off"]);
    cli_refused(
        &server,
        &["guest", "move", "8105", "8106"],
        "room 8106 is occupied",
    );

    // The move carries the guest; the check-out empties the room.
    let out = cli_ok(&server, &["guest", "move", "8105", "8112"]);
    assert!(
        out.contains("Dr Li Wei ★ (VIP: honeymoon) moved from 8105 to 8112."),
        "{out}"
    );
    let out = cli_ok(&server, &["room", "8112"]);
    assert!(
        out.contains("occupied")
            && out.contains("Calls show as: 8112 Dr Li Wei ★")
            && out.contains("Moved from 8105 to 8112 by cli"),
        "{out}"
    );
    assert!(cli_ok(&server, &["room", "8105"]).contains("vacant"));
    let out = cli_ok(&server, &["guest", "check-out", "8106"]);
    assert!(
        out.contains("Ola Nordmann checked out of room 8106."),
        "{out}"
    );
    cli_refused(
        &server,
        &["guest", "check-out", "8106"],
        "room 8106 is vacant",
    );

    // The log book lists every change, made by `cli`; refusals left no entry.
    let out = cli_ok(&server, &["logbook"]);
    assert!(out.contains("cli") && out.contains("check_in"), "{out}");
    let by_cli = entries_by(&server, "cli");
    println!("log book entries by cli: {by_cli:?}");
    let expected = [
        pair("check_in", "8105"),
        pair("check_in", "8106"),
        pair("expect", "8107"),
        pair("dnd", "8105"),
        pair("dnd", "202"),
        pair("dnd", "202"),
        pair("dnd", "8105"),
        pair("forward", "8105"),
        pair("forward", "8105"),
        pair("forward", "8105"),
        pair("forward", "8105"),
        pair("forward", "201"),
        pair("forward", "201"),
        pair("move", "8112"),
        pair("check_out", "8106"),
    ];
    let mut remaining = by_cli.clone();
    for entry in &expected {
        let at = remaining
            .iter()
            .position(|e| e == entry)
            .unwrap_or_else(|| {
                panic!("expected a log book entry {entry:?} by cli in order; entries: {by_cli:?}")
            });
        remaining.drain(..=at);
    }
    assert_eq!(
        by_cli.len(),
        expected.len(),
        "one entry per change (refusals write none): {by_cli:?}"
    );
    let json = cli_ok(&server, &["logbook", "--json"]);
    let parsed: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed.as_array().map(Vec::len), Some(expected.len()));
}

#[test]
fn the_admin_api_makes_the_same_changes_and_refuses_with_json_errors() {
    let server = hotel_server(&[]);
    let answer = check_in(
        &server,
        r#"{"room":"8120","name":"Mia Wong","language":"en","vip":""}"#,
    );
    assert_eq!(answer["stay"]["room"], "8120", "{answer}");
    assert_eq!(answer["stay"]["state"], "in_house", "{answer}");
    assert_eq!(answer["stay"]["vip"], true, "{answer}");
    assert!(
        answer["pin"].as_str().is_some_and(|p| p.len() == 4),
        "{answer}"
    );
    api_expect(
        &server,
        "POST",
        "/api/guests/expect",
        r#"{"room":"8121","name":"Tom Lee","arrival":"2099-06-01"}"#,
        201,
    );
    let list = api_expect(&server, "GET", "/api/guests?date=2099-06-01", "", 200);
    assert_eq!(list["in_house"][0]["room"], "8120", "{list}");
    assert_eq!(list["expected"][0]["name"], "Tom Lee", "{list}");
    let found = api_expect(&server, "GET", "/api/guests/search?q=wong", "", 200);
    assert_eq!(found[0]["room"], "8120", "{found}");

    let line = api_expect(&server, "PUT", "/api/lines/8120/dnd", r#"{"on":true}"#, 200);
    assert_eq!(line["dnd"], true, "{line}");
    let line = api_expect(
        &server,
        "PUT",
        "/api/lines/8120/forward/no_answer",
        r#"{"target":"0"}"#,
        200,
    );
    assert_eq!(line["forwarding"]["no_answer"], "0", "{line}");
    let state = room(&server, "8120");
    assert_eq!(state["guest"]["dnd"], true, "{state}");
    assert_eq!(state["caller_display"], "8120 Mia Wong ★", "{state}");

    api_expect(
        &server,
        "POST",
        "/api/guests/move",
        r#"{"from":"8120","to":"8122"}"#,
        200,
    );
    let state = room(&server, "8122");
    assert_eq!(
        (
            &state["guest"]["dnd"],
            &state["guest"]["forwarding"]["no_answer"]
        ),
        (&Value::Bool(true), &Value::from("0")),
        "the move carries DND and forwarding: {state}"
    );
    assert_eq!(state["moves"][0]["by"], "api", "{state}");
    assert_eq!(room(&server, "8120")["state"], "vacant");

    // Refusals with their statuses and reasons.
    let post = "POST";
    api_refused(
        &server,
        post,
        "/api/guests/check-in",
        r#"{"room":"8122","name":"X"}"#,
        409,
        "occupied",
    );
    api_refused(
        &server,
        post,
        "/api/guests/check-out",
        r#"{"room":"8120"}"#,
        409,
        "vacant",
    );
    api_refused(
        &server,
        post,
        "/api/guests/check-in",
        r#"{"room":"9999","name":"X"}"#,
        404,
        "9999 is not a room",
    );
    api_refused(
        &server,
        post,
        "/api/guests/check-in",
        r#"{"room":"202","name":"X"}"#,
        422,
        "202 is not a room",
    );
    api_refused(
        &server,
        post,
        "/api/guests/check-in",
        r#"{"room":"8123","name":"X","language":"de"}"#,
        422,
        "language `de`",
    );
    api_refused(
        &server,
        post,
        "/api/guests/check-in",
        r#"{"room":"8123","name":"X","pin":"12"}"#,
        422,
        "PIN",
    );
    api_refused(
        &server,
        post,
        "/api/guests/check-in",
        r#"{"room":"8123","name":"X","floor":3}"#,
        400,
        "floor",
    );
    api_refused(
        &server,
        post,
        "/api/guests/check-in",
        r#"{"room":"8123""#,
        400,
        "",
    );
    api_refused(
        &server,
        post,
        "/api/guests/move",
        r#"{"from":"8122","to":"8122"}"#,
        409,
        "same room",
    );
    api_refused(
        &server,
        "GET",
        "/api/rooms/9999",
        "",
        404,
        "9999 is not a room",
    );
    api_refused(&server, "GET", "/api/guests/search?q=%20", "", 400, "text");
    let put = "PUT";
    api_refused(
        &server,
        put,
        "/api/lines/8122/forward/always",
        r#"{"target":"8122"}"#,
        422,
        "itself",
    );
    api_refused(
        &server,
        put,
        "/api/lines/8122/forward/always",
        r#"{"target":"4444"}"#,
        422,
        "4444 is not a number",
    );
    api_refused(
        &server,
        put,
        "/api/lines/8122/forward/sometimes",
        r#"{"target":"201"}"#,
        404,
        "sometimes",
    );
    api_refused(
        &server,
        put,
        "/api/lines/9999/dnd",
        r#"{"on":true}"#,
        404,
        "9999 is not an extension",
    );
    api_expect(
        &server,
        put,
        "/api/lines/201/forward/always",
        r#"{"target":"8122"}"#,
        200,
    );
    api_refused(
        &server,
        put,
        "/api/lines/8122/forward/busy",
        r#"{"target":"201"}"#,
        422,
        "loop",
    );

    // Every change is in the log book as made by `api`; nothing else was written.
    let book = logbook(&server);
    let by_api: Vec<(String, String)> = book
        .iter()
        .filter(|e| e["by"] == "api")
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or("").into(),
                e["subject"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert_eq!(
        by_api,
        vec![
            pair("check_in", "8120"),
            pair("expect", "8121"),
            pair("dnd", "8120"),
            pair("forward", "8120"),
            pair("move", "8122"),
            pair("forward", "201"),
        ],
        "log book: {book:#?}"
    );
}

#[test]
fn stays_dnd_and_forwarding_survive_a_restart_and_calls_are_routed_by_them() {
    let mut server = hotel_server(&[]);
    cli_ok(
        &server,
        &["guest", "check-in", "8105", "--name", "Li Wei", "--vip", ""],
    );
    cli_ok(
        &server,
        &["guest", "check-in", "8106", "--name", "Ola Nordmann"],
    );
    cli_ok(&server, &["dnd", "8105", "on"]);
    cli_ok(&server, &["forward", "8106", "always", "202"]);

    let status = server.stop().unwrap();
    assert!(
        status.success(),
        "switchboard exited with {status} on SIGTERM"
    );
    server.restart().unwrap();

    let list = api_expect(&server, "GET", "/api/guests", "", 200);
    let rooms: Vec<&str> = list["in_house"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["room"].as_str())
        .collect();
    assert_eq!(rooms, ["8105", "8106"], "{list}");
    assert_eq!(room(&server, "8105")["guest"]["dnd"], true);
    assert_eq!(
        room(&server, "8106")["guest"]["forwarding"]["always"],
        "202"
    );

    // The forwarding routes: 201 dials 8106, 202 rings (8106's phone is not rung).
    let concierge = sipp_phone(&server, "202", "uas_answer", Duration::from_secs(40))
        .spawn()
        .unwrap();
    let room_8106 = sipp_phone(&server, "8106", "uas_answer", Duration::from_secs(20))
        .spawn()
        .unwrap();
    let caller = sipp_caller(&server, "201", "uac_call", "8106")
        .run()
        .unwrap();
    caller.expect_success().unwrap();
    concierge
        .wait()
        .unwrap()
        .expect_success()
        .unwrap_or_else(|e| panic!("expected 8106's call to be forwarded to 202: {e}"));
    let not_rung = room_8106.wait().unwrap();
    assert!(
        !not_rung.messages.contains("INVITE sip:"),
        "8106's phone was rung despite forwarding: {}",
        not_rung.describe()
    );
    let record = wait_record(&server, "201 -> 8106", |r| r["callee"] == "8106");
    assert_eq!(
        (&record["forwarded_to"], &record["forward_reason"]),
        (&Value::from("202"), &Value::from("always")),
        "{record:#}"
    );

    // Do-not-disturb: 201 hears guest_dnd, 8105's phone is not rung.
    let (room_8105, _) = auto_phone(&server, "8105", 8105, 60.0);
    let (desk, _) = auto_phone(&server, "201", 201, 60.0);
    dial(&desk, &server, "8105");
    desk.wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT).unwrap();
    // guest_dnd (3.2 s) and press_0_operator (2.2 s), then hang up.
    std::thread::sleep(Duration::from_secs(6));
    let _ = desk.hangup();
    desk.wait_event("CALL_CLOSED", EVENT_TIMEOUT).unwrap();
    assert_heard(
        &heard_by(&desk),
        "en/guest_dnd.wav",
        "201 calling 8105 on DND",
    );
    assert!(
        !room_8105.has_event("CALL_INCOMING") && !room_8105.has_event("CALL_ESTABLISHED"),
        "8105 was rung despite do-not-disturb after the restart"
    );
}
