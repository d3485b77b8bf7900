//! Paging group 7100 with real phones: the three member phones (baresip, answering by themselves)
//! each hear what the operator paging says (their recordings contain the pager's signal) and not
//! one another (members are muted); a room's phone may not page (183 `restricted`, then 403).
// The waits for calls are bounded by wall-clock deadlines.
#![allow(clippy::disallowed_methods)]

mod hotel_support;

use hotel_support::{
    CHUNK_SECONDS, EVENT_TIMEOUT, assert_party_heard, auto_phone, check_in, dial, heard_by,
    hotel_server, opening, operator, sipp_caller,
};
use std::time::Duration;
use switchboard_e2e::{AnswerMode, similarity};

#[test]
fn a_page_reaches_every_member_phone_and_rooms_may_not_page() {
    let server = hotel_server(&[]);
    let members: Vec<_> = ["201", "202", "203"]
        .into_iter()
        .map(|ext| {
            let (phone, signal) = auto_phone(&server, ext, ext.parse().unwrap(), 60.0);
            (ext, phone, signal)
        })
        .collect();
    // The operator pages for 8 s (the microphone's length), then baresip hangs up.
    let (pager, page) = operator(&server, "op1", 7100, 8.0, AnswerMode::Auto);
    dial(&pager, &server, "7100");
    pager.wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT).unwrap();
    for (ext, phone, _) in &members {
        let answered = phone
            .wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
            .unwrap_or_else(|e| panic!("member {ext} was not paged: {e}"));
        println!("{ext} paged: {}", answered.raw);
    }
    pager
        .wait_event("CALL_CLOSED", Duration::from_secs(20))
        .unwrap();
    for (ext, phone, _) in &members {
        phone
            .wait_event("CALL_CLOSED", EVENT_TIMEOUT)
            .unwrap_or_else(|e| {
                panic!("the page to {ext} did not end with the pager's hang-up: {e}")
            });
    }
    for (ext, phone, _) in &members {
        let heard = heard_by(phone);
        assert_party_heard(&heard, &page, 3.0, ext, "the operator paging");
        for (other, _, signal) in &members {
            if other != ext {
                let found = similarity(&opening(signal, &heard), &heard, CHUNK_SECONDS);
                assert_eq!(
                    found.matched, 0,
                    "{ext} heard member {other}, who should be muted: {found}"
                );
            }
        }
    }

    // A room's phone (with a guest, so not for lack of one) is refused.
    check_in(&server, r#"{"room":"8105","name":"Li Wei"}"#);
    sipp_caller(&server, "8105", "uac_call_restricted", "7100")
        .run()
        .unwrap()
        .expect_success()
        .unwrap_or_else(|e| panic!("8105 dialling 7100: expected 183 then 403: {e}"));
    std::thread::sleep(Duration::from_millis(500));
    for (ext, phone, _) in &members {
        assert!(
            !phone.has_event("CALL_INCOMING") && !phone.has_event("CALL_ESTABLISHED"),
            "{ext} was paged by a room"
        );
    }
}
