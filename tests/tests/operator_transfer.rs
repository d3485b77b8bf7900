//! Transfers by the operator end to end, with real softphones:
//!
//! - blind transfer (REFER) from a baresip operator (`transfer` command) to a baresip at 201: the
//!   caller and 201 hear each other (recordings cross-correlated against each other's signal);
//! - a blind transfer to an unregistered and to a busy extension returns the caller to the queue,
//!   where the operator is offered them again;
//! - attended transfer (REFER with Replaces) from linphonec: the operator answers, holds the caller,
//!   calls 201, then transfers; caller and 201 stay connected after the operator's calls end and
//!   hear each other;
//! - linphonec as an outside caller reaches an extension by RFC 4733 digits in the menu.
// The waits below are bounded by wall-clock deadlines.
#![allow(clippy::disallowed_methods)]

mod operator_support;

use operator_support::{
    CHUNK_SECONDS, EVENT_TIMEOUT, QueueRecord, extension, guest, heard_by, operator, prompt,
    queue_server, wait_records,
};
use std::time::Duration;
use switchboard_e2e::pbx::register;
use switchboard_e2e::{
    Audio, Baresip, Dialplan, Linphone, LinphoneAccount, LinphoneOptions, Server, ServerOptions,
    Sipp, Transport, party_signal, similarity,
};

fn assert_party_heard(recording: &Audio, signal: &Audio, listener: &str, talker: &str) {
    let found = similarity(signal, recording, CHUNK_SECONDS);
    println!("{talker}'s signal in {listener}'s recording: {found}");
    assert!(
        found.matched >= 4,
        "expected {listener} to hear at least 2 s of {talker}'s signal: {found}"
    );
}

/// Dials 1000 from `caller` and waits until the operator `op` has the call.
fn reach_operator(server: &Server, caller: &Baresip, op: &Baresip) {
    caller
        .dial(&format!("sip:1000@{}", server.sip_addr()))
        .unwrap();
    caller
        .wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap();
    op.wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT).unwrap();
}

/// The only record of the test (one caller), once `done` holds for it.
fn the_record(server: &Server, done: impl Fn(&QueueRecord) -> bool) -> QueueRecord {
    let records = wait_records(server, Duration::from_secs(10), |rs| {
        rs.len() == 1 && done(&rs[0])
    });
    records[0].clone()
}

#[test]
fn operator_blind_transfer_from_baresip_connects_the_caller_and_201_both_ways() {
    let server = queue_server(&[]);
    let op1 = operator(&server, "op1", 41, 60.0);
    let (ext201, signal201) = extension(&server, "201", 42, 30.0);
    // The caller's 12 s microphone ends the call (after about 9 s with 201).
    let (caller, caller_signal) = guest("caller", 43, 12.0);
    reach_operator(&server, &caller, &op1);
    std::thread::sleep(Duration::from_millis(800));
    op1.command("transfer", &format!("sip:201@{}", server.sip_addr()))
        .unwrap();
    ext201
        .wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap();
    op1.wait_event("CALL_CLOSED", EVENT_TIMEOUT).unwrap();
    assert!(
        !caller.has_event("CALL_CLOSED"),
        "the caller's call ended with the transfer"
    );
    caller
        .wait_event("CALL_CLOSED", Duration::from_secs(20))
        .unwrap();
    ext201.wait_event("CALL_CLOSED", EVENT_TIMEOUT).unwrap();

    assert_party_heard(&heard_by(&caller), &signal201, "the caller", "201");
    assert_party_heard(&heard_by(&ext201), &caller_signal, "201", "the caller");
    let record = the_record(&server, |r| {
        r.talk_ms.is_some() && r.transfers.contains("connected")
    });
    println!("{record:?}");
    assert_eq!(record.answered_by.as_deref(), Some("op1"), "{record:?}");
    assert_eq!(record.outcome.as_deref(), Some("answered"), "{record:?}");
    assert!(
        record.transfers.contains("201") && record.transfers.contains("blind"),
        "expected a blind transfer to 201 that connected: {record:?}"
    );
}

#[test]
fn operator_blind_transfer_to_unregistered_or_busy_returns_the_caller_to_the_queue() {
    let server = queue_server(&[]);
    let op1 = operator(&server, "op1", 51, 60.0);
    // 203 is registered but busy (a sipp phone that answers 486).
    let busy = Sipp::new("uas_busy")
        .unwrap()
        .timeout(Duration::from_secs(40));
    register(&server, "203", busy.sip_port(), Transport::Udp).unwrap();
    let busy = busy.spawn().unwrap();
    let (caller, _) = guest("caller", 52, 30.0);
    reach_operator(&server, &caller, &op1);

    // 202 is not registered: the caller comes back and op1, the only operator, is offered them again.
    std::thread::sleep(Duration::from_millis(800));
    op1.command("transfer", &format!("sip:202@{}", server.sip_addr()))
        .unwrap();
    // baresip reports the failed transfer and hangs its leg up itself, crossing the PBX's BYE;
    // it reports CALL_CLOSED for that leg only when the PBX's BYE wins the race.
    op1.wait_event("TRANSFER_FAILED", EVENT_TIMEOUT).unwrap();
    op1.wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap_or_else(|e| {
            panic!("the caller was not offered to op1 again after 202 failed: {e}")
        });
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        !caller.has_event("CALL_CLOSED"),
        "after the failed transfer to 202 the caller must stay and talk to op1 again, but the \
         caller's call ended"
    );
    op1.command("transfer", &format!("sip:203@{}", server.sip_addr()))
        .unwrap();
    op1.wait_event("TRANSFER_FAILED", EVENT_TIMEOUT).unwrap();
    op1.wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap_or_else(|e| {
            panic!("the caller was not offered to op1 again after 203 was busy: {e}")
        });
    assert!(
        !caller.has_event("CALL_CLOSED"),
        "the caller was lost by a failed transfer"
    );
    std::thread::sleep(Duration::from_millis(500));
    caller.hangup().unwrap();
    caller.wait_event("CALL_CLOSED", EVENT_TIMEOUT).unwrap();
    op1.wait_event("CALL_CLOSED", EVENT_TIMEOUT).unwrap();

    let busy = busy.wait().unwrap();
    assert!(
        busy.messages.contains("INVITE sip:"),
        "203 was never rung; {}",
        busy.describe()
    );
    let failed = similarity(
        &prompt("en/transfer_failed.wav"),
        &heard_by(&caller),
        CHUNK_SECONDS,
    );
    println!("transfer_failed.wav in the caller's recording: {failed}");
    assert!(
        failed.matched >= 1 && failed.matched + 1 >= failed.chunk_scores.len(),
        "expected the caller to hear transfer_failed.wav after each failed transfer, before being \
         offered to an operator again (docs/operators.md: the caller hears \"the transfer failed\" \
         and goes back to the head of the queue): {failed}"
    );
    let record = the_record(&server, |r| r.talk_ms.is_some());
    println!("{record:?}");
    let transfers: serde_json::Value = serde_json::from_str(&record.transfers)
        .unwrap_or_else(|e| panic!("transfers are not JSON ({e}): {record:?}"));
    let list = transfers.as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 2, "two transfers expected: {record:?}");
    let results: Vec<String> = list
        .iter()
        .map(|t| {
            t.get("result")
                .and_then(|r| r.as_str())
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert!(
        results.iter().all(|r| !r.is_empty() && r != "connected") && results[1] == "busy",
        "expected two failed transfers, the second `busy`: {results:?} in {record:?}"
    );
    assert_eq!(record.answered_by.as_deref(), Some("op1"), "{record:?}");
}

/// linphonec as op1: answers, holds the caller (who hears music on hold), calls 201, then
/// `transfer 1 --to-call 2` sends REFER with Replaces. The operator's calls end; the caller and
/// 201 stay connected and hear each other until the caller hangs up.
#[test]
fn operator_attended_transfer_from_linphonec_connects_the_caller_and_201() {
    let server = queue_server(&[]);
    let op = Linphone::start(LinphoneOptions {
        name: "op1".into(),
        account: LinphoneAccount::Registered {
            aor: "0".into(),
            auth_user: "op1".into(),
            password: "secretop1".into(),
            server: server.sip_addr(),
        },
        source: party_signal(61, 30.0),
        auto_answer: true,
    })
    .unwrap();
    op.wait_registered(Duration::from_secs(10)).unwrap();
    let (ext201, signal201) = extension(&server, "201", 62, 40.0);
    // The caller's microphone lasts 16 s: about 9 s with 201 after the transfer.
    let (caller, caller_signal) = guest("caller", 63, 16.0);
    caller
        .dial(&format!("sip:1000@{}", server.sip_addr()))
        .unwrap();
    caller
        .wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap();
    let calls = op
        .wait_calls("the queued caller's call running", EVENT_TIMEOUT, |c| {
            c.len() == 1 && c[0].state == "StreamsRunning"
        })
        .unwrap();
    let held = calls[0].id;
    std::thread::sleep(Duration::from_millis(500));
    op.command("pause").unwrap();
    op.wait_calls("the caller's call paused", EVENT_TIMEOUT, |c| {
        c.iter().any(|c| c.id == held && c.state == "Paused")
    })
    .unwrap();
    // The caller hears music on hold while the operator consults 201.
    std::thread::sleep(Duration::from_secs(2));
    op.command(&format!("call sip:201@{}", server.sip_addr()))
        .unwrap();
    ext201
        .wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap();
    let calls = op
        .wait_calls("the consultation call to 201 running", EVENT_TIMEOUT, |c| {
            c.iter()
                .any(|c| c.id != held && c.state == "StreamsRunning")
        })
        .unwrap();
    let consult = calls.iter().find(|c| c.id != held).map(|c| c.id).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    op.command(&format!("transfer {held} --to-call {consult}"))
        .unwrap();
    op.wait_calls("both operator calls ended", EVENT_TIMEOUT, <[_]>::is_empty)
        .unwrap();
    assert!(
        !caller.has_event("CALL_CLOSED") && !ext201.has_event("CALL_CLOSED"),
        "the caller's or 201's call ended with the operator's"
    );
    caller
        .wait_event("CALL_CLOSED", Duration::from_secs(25))
        .unwrap();
    ext201.wait_event("CALL_CLOSED", EVENT_TIMEOUT).unwrap();

    let caller_heard = heard_by(&caller);
    assert_party_heard(&caller_heard, &signal201, "the caller", "201");
    assert_party_heard(&heard_by(&ext201), &caller_signal, "201", "the caller");
    let moh = similarity(
        &prompt("moh/default/soft_chords.wav"),
        &caller_heard,
        CHUNK_SECONDS,
    );
    println!("music on hold in the caller's recording: {moh}");
    assert!(
        moh.matched >= 2,
        "the held caller heard no music on hold: {moh}"
    );
    assert!(
        server.log().contains("attended transfer"),
        "the server did not log an attended transfer"
    );
    let record = the_record(&server, |r| r.talk_ms.is_some());
    println!("{record:?}");
    assert_eq!(record.answered_by.as_deref(), Some("op1"), "{record:?}");
    assert!(
        record.transfers.contains("attended") && record.transfers.contains("201"),
        "expected an attended transfer to 201 in {record:?}"
    );
}

/// Issue 3's leftover: linphonec (offering opus, speex, PCMU, PCMA…) calls the main number as an
/// outside caller and types 2 0 1; the PBX hears the RFC 4733 digits and rings 201.
#[test]
fn operator_menu_hears_linphonec_digits_and_rings_201() {
    let dialplan = Dialplan::demo_with(&[]).unwrap();
    let server = Server::start(ServerOptions {
        dialplan,
        extra_args: vec!["--digest-algorithms".into(), "md5".into()],
        env: vec![("SWITCHBOARD_LOG".into(), "info,pbx=debug".into())],
        ..ServerOptions::new()
    })
    .unwrap();
    let (ext201, _) = extension(&server, "201", 71, 5.0);
    let guest = Linphone::start(LinphoneOptions {
        name: "guest".into(),
        account: LinphoneAccount::Local,
        source: party_signal(72, 30.0),
        auto_answer: false,
    })
    .unwrap();
    guest
        .command(&format!("call sip:1000@{}", server.sip_addr()))
        .unwrap();
    guest
        .wait_calls("the call to 1000 answered", EVENT_TIMEOUT, |c| {
            c.len() == 1 && c[0].state == "StreamsRunning"
        })
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    guest.command("201").unwrap();
    ext201
        .wait_event("CALL_ESTABLISHED", Duration::from_secs(20))
        .unwrap_or_else(|e| {
            panic!(
                "201 was not rung after linphonec typed 201: {e}\nserver log:\n{}",
                server.log()
            )
        });
    guest.command("terminate").unwrap();
    ext201.wait_event("CALL_CLOSED", EVENT_TIMEOUT).unwrap();
}
