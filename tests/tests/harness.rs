//! Self-tests of the harness without the server: sipp scenarios against sipp stand-ins, and a direct
//! baresip-to-baresip call whose recordings are checked by cross-correlation.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use switchboard_e2e::digest::{credential_param, verify_md5_credentials};
use switchboard_e2e::{
    Account, AnswerMode, Baresip, BaresipOptions, Capture, Sipp, SippRun, Transport,
    count_from_port, count_to_port, party_signal, read_wav, similarity,
};

const TIMEOUT: Duration = Duration::from_secs(30);

fn local(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Runs `server` in the background and `client` against it; returns (server run, client run).
fn run_pair(server: Sipp, client: Sipp) -> (SippRun, SippRun) {
    let address = server.sip_addr();
    let background = server.spawn().expect("start sipp stand-in");
    let client = client.remote(address).run().expect("run sipp client");
    let server = background.wait().expect("wait for sipp stand-in");
    (server, client)
}

fn registrar(transport: Transport) -> Sipp {
    Sipp::new("standin_registrar")
        .unwrap()
        .transport(transport)
        .key("user", "201")
        .key("password", "secret201")
        .timeout(TIMEOUT)
}

fn register(scenario: &str, transport: Transport, password: &str) -> Sipp {
    Sipp::new(scenario)
        .unwrap()
        .transport(transport)
        .key("user", "201")
        .key("expires", "300")
        .auth("201", password)
        .timeout(TIMEOUT)
}

#[test]
fn register_scenarios_pass_and_fail_against_a_digest_registrar() {
    for transport in [Transport::Udp, Transport::Tcp] {
        let (server, client) = run_pair(
            registrar(transport),
            register("register", transport, "secret201"),
        );
        client.expect_success().unwrap();
        server.expect_success().unwrap();

        let (server, client) = run_pair(
            registrar(transport),
            register("register_rejected", transport, "wrong"),
        );
        client.expect_success().unwrap();
        server.expect_success().unwrap();

        // The scenario can fail: the plain one must not accept a second 401.
        let (_, client) = run_pair(
            registrar(transport),
            register("register", transport, "wrong"),
        );
        assert!(
            !client.succeeded(),
            "register.xml accepted a rejected password: {}",
            client.describe()
        );
    }
}

fn proxy_standin(scenario: &str) -> Sipp {
    Sipp::new(scenario).unwrap().timeout(TIMEOUT)
}

fn caller(scenario: &str) -> Sipp {
    Sipp::new(scenario)
        .unwrap()
        .key("caller", "201")
        .auth("201", "secret201")
        .service("202")
        .timeout(TIMEOUT)
}

#[test]
fn uac_call_answers_407_with_proxy_authorization_and_its_rtp_is_echoed() {
    let server = proxy_standin("standin_proxy_answer").rtp_echo();
    let client = caller("uac_call");
    let (server_media, client_media) = (server.media_port(), client.media_port());
    let capture = Capture::start(
        &format!("udp port {server_media} or udp port {client_media}"),
        Duration::from_secs(40),
    )
    .unwrap();
    let (server, client) = run_pair(server, client);
    let datagrams = capture.stop().unwrap();
    client.expect_success().unwrap();
    server.expect_success().unwrap();
    assert_proxy_authorization_valid(&client);
    let played = count_from_port(&datagrams, client_media, 100);
    let arrived = count_to_port(&datagrams, server_media, 100);
    let echoed = count_to_port(&datagrams, client_media, 100);
    println!("RTP played by the caller: {played}, arrived: {arrived}, echoed back: {echoed}");
    // sipp paces the pcap in real time; a loaded machine may cut the tail off, so require half.
    assert!(
        played >= 118,
        "expected most of the 236 packets of g711a.pcap to be played, counted {played}"
    );
    assert!(
        arrived == played,
        "{played} packets played but {arrived} arrived"
    );
    assert!(
        echoed * 100 >= played * 95,
        "expected the echo of {played} packets, counted {echoed}"
    );
}

/// Checks the Proxy-Authorization that the caller sent: valid MD5 digest, uri equal to the Request-URI.
fn assert_proxy_authorization_valid(client: &SippRun) {
    let sent = client
        .messages
        .split("-----------------------------------------------")
        .find(|m| m.contains("message sent") && m.contains("Proxy-Authorization:"))
        .unwrap_or_else(|| panic!("caller sent no Proxy-Authorization: {}", client.describe()));
    let request_uri = sent
        .lines()
        .find_map(|l| l.strip_prefix("INVITE "))
        .and_then(|l| l.split(' ').next())
        .expect("request line");
    let credentials = sent
        .lines()
        .find_map(|l| l.strip_prefix("Proxy-Authorization:"))
        .expect("header")
        .trim();
    verify_md5_credentials(credentials, "INVITE", "secret201").unwrap();
    assert_eq!(
        credential_param(credentials, "uri").as_deref(),
        Some(request_uri),
        "digest uri != Request-URI"
    );
}

#[test]
fn uac_failure_and_cancel_scenarios_match_their_responses() {
    let (server, client) = run_pair(proxy_standin("standin_proxy_busy"), caller("uac_call_busy"));
    client.expect_success().unwrap();
    server.expect_success().unwrap();
    assert_proxy_authorization_valid(&client);

    // The failure scenarios differ only in the expected code; one must fail on another code.
    let (_, client) = run_pair(
        proxy_standin("standin_proxy_busy"),
        caller("uac_call_not_found").timeout(Duration::from_secs(8)),
    );
    assert!(
        !client.succeeded(),
        "uac_call_not_found accepted 486: {}",
        client.describe()
    );

    let (server, client) = run_pair(proxy_standin("standin_proxy_ring"), caller("uac_cancel"));
    client.expect_success().unwrap();
    server.expect_success().unwrap();
}

/// The hotel's refusals after an announcement: 183 with SDP, then the final response. Each
/// scenario requires the 183 and its own code, so one fails on the other's code, and the
/// early-media call scenario fails when the 183 is followed by a refusal.
#[test]
fn early_media_refusal_scenarios_require_the_183_and_their_own_code() {
    let (server, client) = run_pair(
        proxy_standin("standin_proxy_early_refusal"),
        caller("uac_call_restricted"),
    );
    client.expect_success().unwrap();
    server.expect_success().unwrap();
    assert_proxy_authorization_valid(&client);

    for other in ["uac_call_gone", "uac_call_early_media"] {
        let (_, client) = run_pair(
            proxy_standin("standin_proxy_early_refusal"),
            caller(other).timeout(Duration::from_secs(8)),
        );
        assert!(
            !client.succeeded(),
            "{other} accepted 183 then 403: {}",
            client.describe()
        );
    }
    // Without the 183, the restricted scenario fails even on its final code's neighbour (486).
    let (_, client) = run_pair(
        proxy_standin("standin_proxy_busy"),
        caller("uac_call_restricted").timeout(Duration::from_secs(8)),
    );
    assert!(
        !client.succeeded(),
        "uac_call_restricted accepted 486 without 183: {}",
        client.describe()
    );
}

#[test]
fn uas_scenarios_answer_reject_and_accept_cancel() {
    let callee = Sipp::new("uas_answer").unwrap().rtp_echo().timeout(TIMEOUT);
    let callee_media = callee.media_port();
    let capture =
        Capture::start(&format!("udp port {callee_media}"), Duration::from_secs(40)).unwrap();
    let (server, client) = run_pair(
        callee,
        Sipp::new("standin_caller")
            .unwrap()
            .service("202")
            .timeout(TIMEOUT),
    );
    let datagrams = capture.stop().unwrap();
    client.expect_success().unwrap();
    server.expect_success().unwrap();
    let received = count_to_port(&datagrams, callee_media, 100);
    let echoed = count_from_port(&datagrams, callee_media, 100);
    assert!(
        received >= 118 && echoed * 100 >= received * 95,
        "expected most of the 236 RTP packets in and all echoed, got {received} in, {echoed} echoed"
    );

    let (server, client) = run_pair(
        Sipp::new("uas_busy").unwrap().timeout(TIMEOUT),
        Sipp::new("standin_caller_rejected")
            .unwrap()
            .service("202")
            .timeout(TIMEOUT),
    );
    client.expect_success().unwrap();
    server.expect_success().unwrap();

    let (server, client) = run_pair(
        Sipp::new("uas_ring_noanswer").unwrap().timeout(TIMEOUT),
        Sipp::new("standin_caller_cancel")
            .unwrap()
            .service("202")
            .timeout(TIMEOUT),
    );
    client.expect_success().unwrap();
    server.expect_success().unwrap();
}

#[test]
fn direct_baresip_call_each_recording_contains_the_other_party() {
    let alice_signal = party_signal(101, 4.0);
    let bob_signal = party_signal(202, 6.0);
    let alice = Baresip::start(BaresipOptions {
        name: "alice".into(),
        account: Account::local("alice", AnswerMode::Auto),
        source: alice_signal.clone(),
        safety_timeout: Duration::from_secs(60),
    })
    .unwrap();
    let bob = Baresip::start(BaresipOptions {
        name: "bob".into(),
        account: Account::local("bob", AnswerMode::Auto),
        source: bob_signal.clone(),
        safety_timeout: Duration::from_secs(60),
    })
    .unwrap();
    alice.dial(&bob.direct_uri("bob")).unwrap();
    alice
        .wait_event("CALL_ESTABLISHED", Duration::from_secs(10))
        .unwrap();
    bob.wait_event("CALL_ESTABLISHED", Duration::from_secs(10))
        .unwrap();
    // Alice's 4 s source ends first and baresip then hangs up.
    alice
        .wait_event("CALL_CLOSED", Duration::from_secs(15))
        .unwrap();
    bob.wait_event("CALL_CLOSED", Duration::from_secs(10))
        .unwrap();

    let alice_heard = read_wav(&alice.recordings().unwrap().heard).unwrap();
    let bob_heard = read_wav(&bob.recordings().unwrap().heard).unwrap();
    let bob_in_alice = similarity(&bob_signal, &alice_heard, 0.5);
    let alice_in_bob = similarity(&alice_signal, &bob_heard, 0.5);
    let alice_in_alice = similarity(&alice_signal, &alice_heard, 0.5);
    println!("bob's signal in alice's recording: {bob_in_alice}");
    println!("alice's signal in bob's recording: {alice_in_bob}");
    println!("alice's own signal in alice's recording (control): {alice_in_alice}");
    assert!(
        bob_in_alice.matched >= 4,
        "alice did not hear bob: {bob_in_alice}"
    );
    assert!(
        alice_in_bob.matched >= 4,
        "bob did not hear alice: {alice_in_bob}"
    );
    assert_eq!(
        alice_in_alice.matched, 0,
        "control matched: {alice_in_alice}"
    );
}

#[test]
fn baresip_controller_accepts_sends_dtmf_hangs_up_and_quits() {
    let start = |name: &str, answer| {
        Baresip::start(BaresipOptions {
            name: name.into(),
            account: Account::local(name, answer),
            source: party_signal(7, 20.0),
            safety_timeout: Duration::from_secs(60),
        })
        .unwrap()
    };
    let mut carol = start("carol", AnswerMode::Auto);
    let mut dave = start("dave", AnswerMode::Manual);
    carol.dial(&dave.direct_uri("dave")).unwrap();
    let incoming = dave
        .wait_event("CALL_INCOMING", Duration::from_secs(10))
        .unwrap();
    assert!(
        incoming.peer_uri.contains("carol"),
        "unexpected caller: {incoming:?}"
    );
    assert!(
        !dave.has_event("CALL_ESTABLISHED"),
        "a manual phone answered by itself"
    );
    dave.accept().unwrap();
    carol
        .wait_event("CALL_ESTABLISHED", Duration::from_secs(10))
        .unwrap();
    dave.wait_event("CALL_ESTABLISHED", Duration::from_secs(10))
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    carol.send_dtmf("1").unwrap();
    let digit = dave
        .wait_event("CALL_DTMF_START", Duration::from_secs(5))
        .unwrap();
    assert_eq!(digit.param, "1", "unexpected DTMF event {digit:?}");
    carol.hangup().unwrap();
    carol
        .wait_event("CALL_CLOSED", Duration::from_secs(5))
        .unwrap();
    dave.wait_event("CALL_CLOSED", Duration::from_secs(5))
        .unwrap();
    let heard = read_wav(&dave.recordings().unwrap().heard).unwrap();
    assert!(
        heard.seconds() > 0.2,
        "dave's recording is {} s long",
        heard.seconds()
    );
    carol.quit().unwrap();
    dave.quit().unwrap();
}

#[test]
fn baresip_registers_with_md5_digest_and_reginfo_shows_it() {
    let registrar = registrar(Transport::Udp).spawn().unwrap();
    let phone = Baresip::start(BaresipOptions {
        name: "reg201".into(),
        account: Account::registered(
            "201",
            "secret201",
            local(registrar.sip_port()),
            Transport::Udp,
            AnswerMode::Auto,
        ),
        source: party_signal(1, 1.0),
        safety_timeout: Duration::from_secs(30),
    })
    .unwrap();
    phone.wait_registered(Duration::from_secs(10)).unwrap();
    registrar.wait().unwrap().expect_success().unwrap();
    // The registrar is gone, so baresip's un-REGISTER goes unanswered: stop() must still end it
    // without SIGKILL.
    let mut phone = phone;
    phone.stop().unwrap();
}

#[test]
fn sipp_reports_a_missing_peer_as_failure() {
    // Nobody listens on this port: the REGISTER times out, so a scenario never succeeds vacuously.
    let nobody = local(switchboard_e2e::free_port().unwrap());
    let run = register("register", Transport::Udp, "secret201")
        .timeout(Duration::from_secs(3))
        .remote(nobody)
        .run()
        .unwrap();
    assert!(
        !run.succeeded(),
        "sipp succeeded without a peer: {}",
        run.describe()
    );
}

/// Runs `Server` against the stand-in binary `fake-switchboard` of this package.
fn fake_server() -> switchboard_e2e::Server {
    switchboard_e2e::Server::start_binary(
        std::path::PathBuf::from(env!("CARGO_BIN_EXE_fake-switchboard")),
        switchboard_e2e::ServerOptions::new(),
    )
    .unwrap()
}

#[test]
fn server_runner_passes_its_flags_waits_for_readiness_and_restarts() {
    let mut server = fake_server();
    let log = server.log();
    for flag in [
        "serve",
        "--dialplan",
        "--sip-listen",
        "--rtp-ports",
        "--database-url",
        "--http-listen",
        "--public-address",
    ] {
        assert!(log.contains(flag), "flag {flag} not passed; log:\n{log}");
    }
    assert!(
        log.contains(&format!("--sip-listen {}", server.sip_addr())),
        "log:\n{log}"
    );
    let response = switchboard_e2e::options_udp(server.sip_addr(), Duration::from_secs(2))
        .unwrap()
        .expect("OPTIONS answered");
    assert_eq!(response.status, 200);
    switchboard_e2e::options_tcp(server.sip_addr(), Duration::from_secs(2)).unwrap();
    let sip = server.sip_addr();
    server.stop().unwrap();
    assert!(!server.is_running());
    assert!(
        switchboard_e2e::options_udp(sip, Duration::from_millis(300))
            .unwrap()
            .is_none(),
        "a stopped server still answers"
    );
    server.restart().unwrap();
    assert!(server.is_running());
    for transport in [Transport::Udp, Transport::Tcp] {
        Sipp::new("options")
            .unwrap()
            .remote(server.sip_addr())
            .transport(transport)
            .timeout(Duration::from_secs(10))
            .run()
            .unwrap()
            .expect_success()
            .unwrap();
    }
    assert_eq!(server.sip_addr(), sip, "restart must keep the SIP address");
    assert_eq!(
        server.log().matches("listening").count(),
        2,
        "expected two runs in the log"
    );
}
