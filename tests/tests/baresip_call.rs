//! Two real softphones (baresip) registered as 201 and 202 call each other through the PBX, and each
//! side's recording must contain the other side's audio (chunked normalised cross-correlation).

use std::time::Duration;
use switchboard_e2e::{
    Account, AnswerMode, Baresip, BaresipOptions, Server, ServerOptions, Transport, party_signal,
    read_wav, similarity,
};

/// baresip 1.0 (libre 1.x, Debian 12) refuses a REGISTER challenge set that contains any non-MD5
/// challenge, so the audio test offers MD5 only; the default challenge set is tested on its own below.
fn md5_only_server() -> Server {
    Server::start(ServerOptions {
        extra_args: vec!["--digest-algorithms".into(), "md5".into()],
        ..ServerOptions::new()
    })
    .unwrap()
}

#[test]
fn baresip_registers_with_the_default_digest_challenges() {
    let server = Server::start(ServerOptions::new()).unwrap();
    let phone = Baresip::start(BaresipOptions {
        name: "ext203".into(),
        account: Account::registered(
            "203",
            "secret203",
            server.sip_addr(),
            Transport::Udp,
            AnswerMode::Auto,
        ),
        source: party_signal(203, 1.0),
        safety_timeout: Duration::from_secs(60),
    })
    .unwrap();
    phone.wait_registered(Duration::from_secs(10)).unwrap_or_else(|e| {
        panic!("{e}\nbaresip log (\"Function not implemented\" = libre refused a non-MD5 challenge):\n{}", phone.log())
    });
}

#[test]
fn baresip_201_calls_202_and_each_hears_the_other() {
    let server = md5_only_server();
    let caller_signal = party_signal(201, 4.0);
    let callee_signal = party_signal(202, 6.0);
    let caller = Baresip::start(BaresipOptions {
        name: "ext201".into(),
        account: Account::registered(
            "201",
            "secret201",
            server.sip_addr(),
            Transport::Udp,
            AnswerMode::Manual,
        ),
        source: caller_signal.clone(),
        safety_timeout: Duration::from_secs(90),
    })
    .unwrap();
    let callee = Baresip::start(BaresipOptions {
        name: "ext202".into(),
        account: Account::registered(
            "202",
            "secret202",
            server.sip_addr(),
            Transport::Udp,
            AnswerMode::Auto,
        ),
        source: callee_signal.clone(),
        safety_timeout: Duration::from_secs(90),
    })
    .unwrap();
    caller.wait_registered(Duration::from_secs(10)).unwrap();
    callee.wait_registered(Duration::from_secs(10)).unwrap();

    caller
        .dial(&format!("sip:202@{}", server.sip_addr()))
        .unwrap();
    // An auto-answering baresip reports CALL_ESTABLISHED without a CALL_INCOMING first.
    callee
        .wait_event("CALL_ESTABLISHED", Duration::from_secs(10))
        .unwrap();
    caller
        .wait_event("CALL_ESTABLISHED", Duration::from_secs(10))
        .unwrap();
    // The caller's 4 s source ends first; baresip then hangs up and the PBX ends the other leg.
    caller
        .wait_event("CALL_CLOSED", Duration::from_secs(20))
        .unwrap();
    callee
        .wait_event("CALL_CLOSED", Duration::from_secs(10))
        .unwrap();

    let caller_heard = read_wav(&caller.recordings().unwrap().heard).unwrap();
    let callee_heard = read_wav(&callee.recordings().unwrap().heard).unwrap();
    let callee_in_caller = similarity(&callee_signal, &caller_heard, 0.5);
    let caller_in_callee = similarity(&caller_signal, &callee_heard, 0.5);
    let control = similarity(&caller_signal, &caller_heard, 0.5);
    println!("202's audio in 201's recording: {callee_in_caller}");
    println!("201's audio in 202's recording: {caller_in_callee}");
    println!("control, 201's own audio in 201's recording: {control}");
    assert!(
        callee_in_caller.matched >= 4,
        "201 did not hear 202 (expected at least 2 s of 202's signal): {callee_in_caller}"
    );
    assert!(
        caller_in_callee.matched >= 4,
        "202 did not hear 201 (expected at least 2 s of 201's signal): {caller_in_callee}"
    );
    assert_eq!(
        control.matched, 0,
        "201 heard its own signal (echo or loop): {control}"
    );
}
