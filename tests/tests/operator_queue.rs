//! The operator queue end to end, with real clients only: baresip softphones logged in to the
//! operator position `0` with their own accounts (op1, op2), sipp and baresip callers reaching the
//! operators through the main number in manual mode (outside calls to 1000 go to the queue), and
//! the queue records the server stores.
//!
//! - Callers are answered strictly in arrival order, by the operator idle longest.
//! - A waiting caller hears "you are caller number 1" and the music on hold (recording matched
//!   against the prompt WAVs by cross-correlation).
//! - With no operator logged in, the fallback applies: operator_unavailable, goodbye, hang-up, and
//!   the record says `no_operator`.
//!
//! The queue records come from `GET /api/queue-calls`.
// The waits for the server's records are bounded by wall-clock deadlines.
#![allow(clippy::disallowed_methods)]

mod operator_support;

use operator_support::{
    CHUNK_SECONDS, EVENT_TIMEOUT, QueueRecord, guest, heard_by, operator, prompt, queue_caller,
    queue_server, wait_records,
};
use std::time::Duration;
use switchboard_e2e::{Audio, Sipp, similarity};

/// Two operators and four callers 300 ms apart: the first two are answered at once (op1, logged in
/// first and so idle longest, then op2); the third and fourth wait and are answered, in that order,
/// as op1 and then op2 hang up. A LIFO or unordered queue would give op1 the fourth caller.
#[test]
fn operator_queue_answers_callers_in_arrival_order_by_the_longest_idle_operator() {
    let server = queue_server(&[]);
    // Each operator hangs up when its microphone file ends: op1 after 4 s, op2 after 7 s.
    let op1 = operator(&server, "op1", 11, 4.0);
    std::thread::sleep(Duration::from_millis(300));
    let op2 = operator(&server, "op2", 12, 7.0);

    let callers = ["5550001", "5550002", "5550003", "5550004"];
    let mut running = Vec::new();
    for number in callers {
        running.push((number, queue_caller(&server, number).spawn().unwrap()));
        std::thread::sleep(Duration::from_millis(300));
    }
    for (number, sipp) in running {
        let run = sipp.wait().unwrap();
        run.expect_success()
            .unwrap_or_else(|e| panic!("caller {number}: {e}"));
    }
    let records = wait_records(&server, Duration::from_secs(10), |rs| {
        rs.len() >= callers.len()
            && rs
                .iter()
                .all(|r| r.outcome.is_some() && r.talk_ms.is_some())
    });
    let by_caller = |number: &str| -> &QueueRecord {
        records
            .iter()
            .find(|r| r.caller == number)
            .unwrap_or_else(|| panic!("no queue record for caller {number}; records: {records:#?}"))
    };
    let got: Vec<&QueueRecord> = callers.iter().map(|c| by_caller(c)).collect();
    for r in &got {
        println!("{r:?}");
        assert_eq!(
            r.outcome.as_deref(),
            Some("answered"),
            "every caller is answered: {r:?}"
        );
    }
    let answered_by: Vec<&str> = got
        .iter()
        .map(|r| r.answered_by.as_deref().unwrap_or("-"))
        .collect();
    assert_eq!(
        answered_by,
        ["op1", "op2", "op1", "op2"],
        "expected op1 (idle longest) then op2 for the first two callers, then op1 (free first) and op2; records: {got:#?}"
    );
    let answered_at: Vec<i64> = got.iter().map(|r| r.answered_at_ms.unwrap_or(0)).collect();
    assert!(
        answered_at.windows(2).all(|w| w[0] < w[1]),
        "expected answer times in arrival order, got {answered_at:?}; records: {got:#?}"
    );
    // The third caller waited for op1's first call to end (4 s of talk), the fourth for op2's.
    let first_end = got[0].answered_at_ms.unwrap_or(0) + got[0].talk_ms.unwrap_or(0);
    assert!(
        got[2].answered_at_ms.unwrap_or(0) >= first_end - 200,
        "caller 3 answered at {:?}, before op1's first call ended at {first_end}; records: {got:#?}",
        got[2].answered_at_ms
    );
    assert!(
        got[2].wait_ms.unwrap_or(0) >= 2500 && got[3].wait_ms.unwrap_or(0) >= 5000,
        "callers 3 and 4 waited for a free operator; records: {got:#?}"
    );
    assert_eq!(
        (got[2].position_on_entry, got[3].position_on_entry),
        (1, 2),
        "callers 3 and 4 entered as numbers 1 and 2 of the waiting line; records: {got:#?}"
    );
    drop((op1, op2));
}

/// The only operator is busy with a first caller; a second caller (baresip, recording what it hears)
/// waits, hears "you are caller number 1" on entry and again 5 s later, and music on hold between.
#[test]
fn operator_queue_caller_hears_its_position_and_music_on_hold() {
    let server = queue_server(&[(
        "announce_position_every: 30s",
        "announce_position_every: 5s",
    )]);
    let op1 = operator(&server, "op1", 21, 30.0);
    let busy = queue_caller(&server, "5550001").spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    op1.wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT).unwrap();

    // The caller's microphone lasts 12 s; then baresip hangs up (the caller abandons).
    let (caller, _) = guest("waiting", 22, 12.0);
    caller
        .dial(&format!("sip:1000@{}", server.sip_addr()))
        .unwrap();
    caller
        .wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap();
    caller
        .wait_event("CALL_CLOSED", Duration::from_secs(25))
        .unwrap();
    let heard = heard_by(&caller);

    // On entry, and again every 5 s: once in the first 4 s, once more after that.
    let split = 4 * heard.rate as usize;
    assert!(
        heard.samples.len() > 2 * split,
        "the caller's recording lasts only {} s",
        heard.seconds()
    );
    let reference = prompt("en/you_are_caller_number.wav");
    for (part, samples) in [
        ("first 4 s", &heard.samples[..split]),
        ("rest", &heard.samples[split..]),
    ] {
        let part_audio = Audio {
            rate: heard.rate,
            samples: samples.to_vec(),
        };
        let found = similarity(&reference, &part_audio, CHUNK_SECONDS);
        println!("you_are_caller_number.wav in the {part} of the caller's recording: {found}");
        assert!(
            found.matched >= 1 && found.matched + 1 >= found.chunk_scores.len(),
            "expected the caller to hear \"you are caller number\" in the {part} of the wait: {found}"
        );
    }
    // The digits are shorter than half a second: compare in 0.25 s chunks.
    let one = similarity(&prompt("en/digit_1.wav"), &heard, 0.25);
    let two = similarity(&prompt("en/digit_2.wav"), &heard, 0.25);
    println!("digit_1.wav: {one}; digit_2.wav (control): {two}");
    assert!(
        one.matched >= 1 && one.best() > two.best(),
        "expected the caller to hear \"one\" (and match it better than \"two\"): one {one}; two {two}"
    );
    let moh = similarity(
        &prompt("moh/default/soft_chords.wav"),
        &heard,
        CHUNK_SECONDS,
    );
    println!("moh/default/soft_chords.wav in the caller's recording: {moh}");
    assert!(
        moh.matched >= 6,
        "expected at least 3 s of the music on hold in 12 s of waiting: {moh}"
    );

    let records = wait_records(&server, Duration::from_secs(10), |rs| {
        rs.iter().any(|r| r.outcome.as_deref() == Some("abandoned"))
    });
    let abandoned: Vec<&QueueRecord> = records
        .iter()
        .filter(|r| r.outcome.as_deref() == Some("abandoned"))
        .collect();
    assert_eq!(abandoned.len(), 1, "records: {records:#?}");
    assert_eq!(abandoned[0].position_on_entry, 1, "records: {records:#?}");
    assert!(
        abandoned[0].answered_by.is_none() && abandoned[0].wait_ms.unwrap_or(0) >= 8000,
        "the waiting caller was never answered and waited about 12 s: {records:#?}"
    );
    drop((op1, busy));
}

/// Nobody is logged in to position 0: a caller to 1000 in manual mode hears operator_unavailable
/// and goodbye, is hung up, and the queue record says `no_operator`.
#[test]
fn operator_queue_without_operators_plays_the_fallback_and_hangs_up() {
    let server = queue_server(&[]);
    // 20 s of microphone: the call must end well before, by the PBX's hang-up.
    let (caller, _) = guest("unserved", 31, 20.0);
    let started = std::time::Instant::now();
    caller
        .dial(&format!("sip:1000@{}", server.sip_addr()))
        .unwrap();
    caller
        .wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap();
    caller
        .wait_event("CALL_CLOSED", Duration::from_secs(15))
        .unwrap();
    let lasted = started.elapsed();
    assert!(
        lasted < Duration::from_secs(15),
        "the PBX should hang up after about 6 s of prompts, the call lasted {lasted:?}"
    );
    let heard = heard_by(&caller);
    for name in ["en/operator_unavailable.wav", "en/goodbye.wav"] {
        let found = similarity(&prompt(name), &heard, CHUNK_SECONDS);
        println!("{name} in the caller's recording: {found}");
        assert!(
            found.matched >= 1 && found.matched + 1 >= found.chunk_scores.len(),
            "expected the caller to hear {name}: {found}"
        );
    }
    let moh = similarity(
        &prompt("moh/default/soft_chords.wav"),
        &heard,
        CHUNK_SECONDS,
    );
    assert_eq!(moh.matched, 0, "no music on hold without a queue: {moh}");
    let records = wait_records(&server, Duration::from_secs(10), |rs| {
        rs.iter().any(|r| r.outcome.is_some())
    });
    assert_eq!(records.len(), 1, "records: {records:#?}");
    assert_eq!(
        records[0].outcome.as_deref(),
        Some("no_operator"),
        "records: {records:#?}"
    );
    assert!(records[0].answered_by.is_none(), "records: {records:#?}");
}

/// A sipp caller that is turned away by the fallback still gets a proper call (answered, then a
/// BYE from the PBX), and is never rung through to anybody.
#[test]
fn operator_queue_without_operators_the_pbx_sends_the_bye() {
    let server = queue_server(&[]);
    let run: switchboard_e2e::SippRun = Sipp::new("queue_caller")
        .unwrap()
        .remote(server.sip_addr())
        .service("1000")
        .key("caller", "5550009")
        .timeout(Duration::from_secs(30))
        .run()
        .unwrap();
    run.expect_success().unwrap();
    assert!(
        run.messages.contains("BYE sip:5550009@"),
        "expected the PBX to send the BYE; {}",
        run.describe()
    );
}
