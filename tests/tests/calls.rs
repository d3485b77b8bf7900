//! Calls between sipp phones registered as extensions, through the PBX: answered with RTP relayed
//! both ways (also for a caller offering video, refused in the answer), busy, no answer,
//! unregistered, unknown number and caller cancel.
// The ring-timeout test measures wall-clock time.
#![allow(clippy::disallowed_methods)]

use std::time::Duration;
use switchboard_e2e::pbx::{answer_as, caller, demo_password, register, registration};
use switchboard_e2e::{
    Capture, Dialplan, Server, ServerOptions, Transport, count_from_port, count_to_port,
};

/// Packets in /usr/share/sip-tester/g711a.pcap.
const PCAP_PACKETS: usize = 236;
/// The caller must get at least this much of the pcap out (half of it) for the counts to mean anything.
const MIN_SENT: usize = PCAP_PACKETS / 2;

fn demo_server() -> Server {
    Server::start(ServerOptions::new()).unwrap()
}

fn answered_call(caller_transport: Transport) {
    answered_call_from(caller_transport, "uac_call");
}

/// `scenario` is a sipp caller scenario that plays g711a.pcap once answered.
fn answered_call_from(caller_transport: Transport, scenario: &str) {
    let server = demo_server();
    let callee = answer_as(&server, "202", "uas_answer", Transport::Udp, true).unwrap();
    let uac = caller(&server, "201", scenario, "202", caller_transport).unwrap();
    let (caller_media, callee_media) = (uac.media_port(), callee.media_port());
    let capture = Capture::start(
        &format!("udp port {caller_media} or udp port {callee_media}"),
        Duration::from_secs(60),
    )
    .unwrap();
    let caller_run = uac.run().unwrap();
    let callee_run = callee.wait().unwrap();
    let datagrams = capture.stop().unwrap();
    caller_run.expect_success().unwrap();
    callee_run.expect_success().unwrap();
    // sipp paces the pcap itself; on a loaded machine it may not send every packet before its BYE.
    // What the PBX must do is relay what it got: compare each leg's arrivals with what was sent.
    let sent_by_caller = count_from_port(&datagrams, caller_media, 100);
    let to_callee = count_to_port(&datagrams, callee_media, 100);
    let echoed_by_callee = count_from_port(&datagrams, callee_media, 100);
    let back_to_caller = count_to_port(&datagrams, caller_media, 100);
    println!(
        "RTP: caller sent {sent_by_caller}, PBX relayed {to_callee} to the callee; callee echoed \
         {echoed_by_callee}, PBX relayed {back_to_caller} back to the caller"
    );
    assert!(
        sent_by_caller >= MIN_SENT,
        "expected the caller to send most of the {PCAP_PACKETS} packets of g711a.pcap, counted {sent_by_caller}"
    );
    assert!(
        to_callee * 100 >= sent_by_caller * 95,
        "expected the PBX to relay at least 95% of the caller's {sent_by_caller} RTP packets to the callee, counted {to_callee}"
    );
    assert!(
        back_to_caller * 100 >= echoed_by_callee * 95 && echoed_by_callee * 100 >= to_callee * 95,
        "expected the callee's echo ({echoed_by_callee} of {to_callee} packets) relayed back to the caller, counted {back_to_caller}"
    );
}

#[test]
fn answered_call_relays_rtp_both_ways() {
    answered_call(Transport::Udp);
}

#[test]
fn answered_call_from_a_tcp_caller_relays_rtp_both_ways() {
    answered_call(Transport::Tcp);
}

/// A caller offering audio and video (Linphone, Zoiper with video on): the 200's SDP keeps both
/// m= lines in order, video refused with port 0 (the scenario checks it), and the call connects
/// with audio relayed both ways.
#[test]
fn a_caller_offering_video_gets_audio_with_video_refused() {
    answered_call_from(Transport::Udp, "uac_call_video");
}

#[test]
fn busy_callee_gives_486_to_the_caller() {
    let server = demo_server();
    let callee = answer_as(&server, "202", "uas_busy", Transport::Udp, false).unwrap();
    let caller_run = caller(&server, "201", "uac_call_busy", "202", Transport::Udp)
        .unwrap()
        .run()
        .unwrap();
    let callee_run = callee.wait().unwrap();
    caller_run.expect_success().unwrap();
    callee_run.expect_success().unwrap();
}

#[test]
fn unanswered_call_is_cancelled_after_the_ring_timeout_with_480() {
    let dialplan = Dialplan::demo_with(&[("ring_timeout: 30s", "ring_timeout: 3s")]).unwrap();
    let server = Server::start(ServerOptions {
        dialplan,
        ..ServerOptions::new()
    })
    .unwrap();
    let callee = answer_as(&server, "202", "uas_ring_noanswer", Transport::Udp, false).unwrap();
    let started = std::time::Instant::now();
    let caller_run = caller(
        &server,
        "201",
        "uac_call_unavailable",
        "202",
        Transport::Udp,
    )
    .unwrap()
    .run()
    .unwrap();
    let elapsed = started.elapsed();
    let callee_run = callee.wait().unwrap();
    caller_run.expect_success().unwrap();
    callee_run.expect_success().unwrap();
    assert!(
        elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(15),
        "expected 480 after the 3 s ring timeout, got it after {elapsed:?}"
    );
}

#[test]
fn call_to_an_unregistered_extension_gives_480() {
    let server = demo_server();
    // 203 exists in the demo dialplan but nothing registered for it.
    caller(
        &server,
        "201",
        "uac_call_unavailable",
        "203",
        Transport::Udp,
    )
    .unwrap()
    .run()
    .unwrap()
    .expect_success()
    .unwrap();
}

#[test]
fn call_to_an_unknown_number_gives_404() {
    let server = demo_server();
    caller(&server, "201", "uac_call_not_found", "299", Transport::Udp)
        .unwrap()
        .run()
        .unwrap()
        .expect_success()
        .unwrap();
}

#[test]
fn caller_cancel_gives_487_and_stops_the_callee_ringing() {
    let server = demo_server();
    let callee = answer_as(&server, "202", "uas_ring_noanswer", Transport::Udp, false).unwrap();
    let caller_run = caller(&server, "201", "uac_cancel", "202", Transport::Udp)
        .unwrap()
        .run()
        .unwrap();
    let callee_run = callee.wait().unwrap();
    caller_run.expect_success().unwrap();
    // The callee saw CANCEL, answered 487 and got the ACK: its ringing stopped.
    callee_run.expect_success().unwrap();
}

#[test]
fn callee_hangup_reaches_the_caller_as_bye() {
    let server = demo_server();
    let callee = answer_as(&server, "202", "uas_answer_hangup", Transport::Udp, true).unwrap();
    let caller_run = caller(
        &server,
        "201",
        "uac_call_remote_hangup",
        "202",
        Transport::Udp,
    )
    .unwrap()
    .run()
    .unwrap();
    let callee_run = callee.wait().unwrap();
    caller_run.expect_success().unwrap();
    callee_run.expect_success().unwrap();
}

#[test]
fn calls_beyond_the_concurrent_limit_get_503_with_retry_after() {
    let dialplan = Dialplan::demo_with(&[
        ("ring_timeout: 30s", "ring_timeout: 4s"),
        ("max_concurrent_calls: 500", "max_concurrent_calls: 1"),
    ])
    .unwrap();
    let server = Server::start(ServerOptions {
        dialplan,
        ..ServerOptions::new()
    })
    .unwrap();
    // The first call rings 202 for 4 s and then ends with 480; meanwhile the PBX is full.
    let callee = answer_as(&server, "202", "uas_ring_noanswer", Transport::Udp, false).unwrap();
    let first = caller(
        &server,
        "201",
        "uac_call_unavailable",
        "202",
        Transport::Udp,
    )
    .unwrap()
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let refused = caller(&server, "203", "uac_invite_refused", "201", Transport::Udp)
        .unwrap()
        .run()
        .unwrap();
    let first = first.wait().unwrap();
    let callee = callee.wait().unwrap();
    refused.expect_success().unwrap();
    first.expect_success().unwrap();
    callee.expect_success().unwrap();
}

#[test]
fn call_forks_to_every_contact_and_cancels_the_others_when_one_answers() {
    let server = demo_server();
    // 202 has two phones: one answers, the other rings and must be cancelled by the PBX.
    let answering = answer_as(&server, "202", "uas_answer", Transport::Udp, true).unwrap();
    let ringing = answer_as(&server, "202", "uas_ring_noanswer", Transport::Udp, false).unwrap();
    let caller_run = caller(&server, "201", "uac_call", "202", Transport::Udp)
        .unwrap()
        .run()
        .unwrap();
    let answering = answering.wait().unwrap();
    let ringing = ringing.wait().unwrap();
    caller_run.expect_success().unwrap();
    answering.expect_success().unwrap();
    ringing.expect_success().unwrap();
}

#[test]
fn unregistered_binding_is_no_longer_called() {
    let server = demo_server();
    let port = switchboard_e2e::free_port().unwrap();
    register(&server, "202", port, Transport::Udp).unwrap();
    registration(
        &server,
        "202",
        &demo_password("202"),
        port,
        Transport::Udp,
        0,
    )
    .unwrap()
    .run()
    .unwrap()
    .expect_success()
    .unwrap();
    caller(
        &server,
        "201",
        "uac_call_unavailable",
        "202",
        Transport::Udp,
    )
    .unwrap()
    .run()
    .unwrap()
    .expect_success()
    .unwrap();
}

#[test]
fn hold_and_unhold_re_invites_pass_through_to_the_callee() {
    let server = demo_server();
    let callee = answer_as(&server, "202", "uas_answer_hold", Transport::Udp, true).unwrap();
    let caller_run = caller(&server, "201", "uac_call_hold", "202", Transport::Udp)
        .unwrap()
        .run()
        .unwrap();
    let callee_run = callee.wait().unwrap();
    caller_run.expect_success().unwrap();
    callee_run.expect_success().unwrap();
}
