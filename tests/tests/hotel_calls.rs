//! Calls from guests' rooms: a VIP guest calling the operator is shown by name and star on the
//! operator's phone, in the waiting queue and in the call record; a Mandarin guest calling the main
//! number hears the Mandarin greeting (recordings matched against the prompt WAVs), while a room
//! whose guest has no language hears the English one.
// The waits for calls and records are bounded by wall-clock deadlines.
#![allow(clippy::disallowed_methods)]

mod hotel_support;

use hotel_support::{
    EVENT_TIMEOUT, api_expect, assert_heard, assert_not_heard, assert_party_heard, auto_phone,
    check_in, dial, hang_up, heard_by, hotel_server, operator, wait_record,
};
use std::time::{Duration, Instant};
use switchboard_e2e::AnswerMode;

const VIP_DISPLAY: &str = "8105 Dr Li Wei ★";

#[test]
fn a_vip_guest_calling_the_operator_is_shown_by_name_in_the_queue_and_the_record() {
    let server = hotel_server(&[]);
    check_in(
        &server,
        r#"{"room":"8105","name":"Li Wei","title":"Dr","vip":"honeymoon"}"#,
    );
    let (op1, op_signal) = operator(&server, "op1", 11, 60.0, AnswerMode::Manual);
    let (guest, guest_signal) = auto_phone(&server, "8105", 8105, 60.0);

    dial(&guest, &server, "0");
    let ringing = op1.wait_event("CALL_INCOMING", EVENT_TIMEOUT).unwrap();
    println!("op1's CALL_INCOMING: {}", ringing.raw);
    assert_eq!(
        ringing.raw["peerdisplayname"], VIP_DISPLAY,
        "the operator's phone shows the guest's name and VIP star in From"
    );

    // While op1's phone rings, the caller waits in the queue under the guest's name.
    let deadline = Instant::now() + Duration::from_secs(5);
    let waiting = loop {
        let queue = api_expect(&server, "GET", "/api/queue", "", 200);
        if let Some(w) = queue["waiting"].as_array().and_then(|w| w.first()) {
            break w.clone();
        }
        assert!(Instant::now() < deadline, "nobody waiting: {queue}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(waiting["caller"], "8105", "{waiting}");
    assert_eq!(waiting["name"], VIP_DISPLAY, "{waiting}");
    assert_eq!(
        waiting["vip"], true,
        "a VIP guest waits as a VIP: {waiting}"
    );

    op1.accept().unwrap();
    op1.wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT).unwrap();
    guest.wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT).unwrap();
    std::thread::sleep(Duration::from_secs(4));
    hang_up(&guest);
    op1.wait_event("CALL_CLOSED", EVENT_TIMEOUT).unwrap();
    assert_party_heard(&heard_by(&op1), &guest_signal, 1.5, "op1", "the guest");
    assert_party_heard(&heard_by(&guest), &op_signal, 1.5, "the guest", "op1");

    let record = wait_record(&server, "8105 -> 0", |r| r["caller"] == "8105");
    assert_eq!(record["caller_name"], VIP_DISPLAY, "{record:#}");
    assert_eq!(record["outcome"], "answered", "{record:#}");
}

#[test]
fn a_mandarin_guest_calling_the_main_number_hears_mandarin_prompts() {
    let server = hotel_server(&[]);
    check_in(
        &server,
        r#"{"room":"8106","name":"Wang Fang","language":"zh"}"#,
    );
    check_in(&server, r#"{"room":"8107","name":"John Smith"}"#);
    let (mandarin, _) = auto_phone(&server, "8106", 8106, 60.0);
    let (english, _) = auto_phone(&server, "8107", 8107, 60.0);

    for phone in [&mandarin, &english] {
        dial(phone, &server, "1000");
    }
    for phone in [&mandarin, &english] {
        phone.wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT).unwrap();
    }
    // The greetings' welcome lasts 1.9 s (en) and 2.4 s (zh).
    std::thread::sleep(Duration::from_secs(4));
    for phone in [&mandarin, &english] {
        hang_up(phone);
    }
    let heard = heard_by(&mandarin);
    assert_heard(&heard, "zh/welcome.wav", "the Mandarin guest in 8106");
    assert_not_heard(&heard, "en/welcome.wav", "the Mandarin guest in 8106");
    let heard = heard_by(&english);
    assert_heard(&heard, "en/welcome.wav", "the guest in 8107 (no language)");
    assert_not_heard(&heard, "zh/welcome.wav", "the guest in 8107 (no language)");
}
