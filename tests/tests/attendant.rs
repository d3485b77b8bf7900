//! The automatic attendant end to end, with real clients only: baresip callers whose recordings are
//! checked against the prompt WAVs by cross-correlation, sipp callers sending RFC 4733 digits from the
//! stock `dtmf_2833_N.pcap` files, sipp phones answering as extensions and as the operator position,
//! the `*28` feature code (manual mode, also across a restart) and a refused reload of a broken file
//! while a call is in progress.
//!
//! Every test starts its own server; outside callers are unregistered (no authentication), so the
//! demo dialplan sends them to the main menu whatever they dial.

use std::time::Duration;
use switchboard_e2e::pbx::{SIPP_TIMEOUT, register};
use switchboard_e2e::{
    Account, AnswerMode, Audio, Baresip, BaresipOptions, Dialplan, RunningSipp, Server,
    ServerOptions, Similarity, Sipp, Transport, http_post, party_signal, read_wav, repo_root,
    similarity,
};

/// Reference chunk length for the heard-checks (as in the harness's own call tests).
const CHUNK_SECONDS: f32 = 0.5;
/// How long a call may take to be answered, rung or closed.
const EVENT_TIMEOUT: Duration = Duration::from_secs(15);
/// A key that starts no route, extension, room, conference or group number of the demo plan.
const INVALID_KEY: &str = "5";
/// Time between invalid keys: longer than the digit timeout (3 s) plus invalid.wav (2.2 s), during
/// which keys are ignored, so every press counts.
const KEY_SPACING: Duration = Duration::from_millis(6500);

// ---------------------------------------------------------------------------------------------
// Private helpers.

/// A server on a copy of the demo dialplan (written into its data directory, prompts made absolute).
///
/// Only MD5 is offered: baresip 1.0 (libre) fails a REGISTER with "Function not implemented" as
/// soon as one of several WWW-Authenticate challenges names an algorithm it lacks (SHA-256), even
/// when the MD5 one comes first. sipp answers the first (MD5) challenge either way.
fn demo_server() -> Server {
    let dialplan = Dialplan::demo_with(&[]).unwrap();
    Server::start(ServerOptions {
        dialplan,
        extra_args: vec!["--digest-algorithms".into(), "md5".into()],
        env: debug_log(),
        ..ServerOptions::new()
    })
    .unwrap()
}

/// The attendant's events and actions in the server log (printed when a test fails).
fn debug_log() -> Vec<(String, String)> {
    vec![("SWITCHBOARD_LOG".into(), "info,pbx=debug".into())]
}

/// The dialplan file the server reads (the copy in its data directory).
fn dialplan_file(server: &Server) -> std::path::PathBuf {
    server.data_dir().join("dialplan.yaml")
}

/// A prompt of the repository, e.g. `en/welcome.wav`.
fn prompt(relative: &str) -> Audio {
    read_wav(&repo_root().join("prompts").join(relative)).unwrap()
}

/// An unregistered softphone (an outside caller) whose microphone plays a seeded test signal.
fn guest(name: &str, seed: u64, seconds: f32) -> (Baresip, Audio) {
    let signal = party_signal(seed, seconds);
    let phone = Baresip::start(BaresipOptions {
        name: name.into(),
        account: Account::local(name, AnswerMode::Manual),
        source: signal.clone(),
        safety_timeout: Duration::from_secs(120),
    })
    .unwrap();
    (phone, signal)
}

/// A softphone registered as demo extension `ext` that answers at once.
fn extension(server: &Server, ext: &str, seed: u64, seconds: f32) -> (Baresip, Audio) {
    let signal = party_signal(seed, seconds);
    let phone = Baresip::start(BaresipOptions {
        name: format!("ext{ext}"),
        account: Account::registered(
            ext,
            &format!("secret{ext}"),
            server.sip_addr(),
            Transport::Udp,
            AnswerMode::Auto,
        ),
        source: signal.clone(),
        safety_timeout: Duration::from_secs(120),
    })
    .unwrap();
    phone.wait_registered(Duration::from_secs(10)).unwrap();
    (phone, signal)
}

/// Calls the main number and waits until the attendant has answered.
fn call_main_number(caller: &Baresip, server: &Server) {
    caller
        .dial(&format!("sip:1000@{}", server.sip_addr()))
        .unwrap();
    caller
        .wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap();
}

/// What `phone` heard in its latest call (complete once the call has closed).
fn heard_by(phone: &Baresip) -> Audio {
    read_wav(&phone.recordings().unwrap().heard).unwrap()
}

/// A prompt counts as heard when every spoken chunk but one is found. One chunk may be missing: the
/// first 0.2-0.3 s of a greeting that starts with the answer do not reach baresip's recording (its
/// audio starts after the 200 OK), and a key press may cut a prompt's last chunk.
fn is_heard(found: &Similarity) -> bool {
    found.matched >= 1 && found.matched + 1 >= found.chunk_scores.len()
}

fn assert_heard(recording: &Audio, prompt_path: &str, who: &str) {
    let found = similarity(&prompt(prompt_path), recording, CHUNK_SECONDS);
    println!("{prompt_path} in {who}'s recording: {found}");
    assert!(
        is_heard(&found),
        "expected {who} to hear prompts/{prompt_path} (all of its chunks but one scoring >= 0.7 in \
         a {:.1} s recording): {found}",
        recording.seconds()
    );
}

fn assert_not_heard(recording: &Audio, prompt_path: &str, who: &str) {
    let found = similarity(&prompt(prompt_path), recording, CHUNK_SECONDS);
    println!("{prompt_path} in {who}'s recording (must be absent): {found}");
    assert_eq!(
        found.matched, 0,
        "expected {who} NOT to hear prompts/{prompt_path}: {found}"
    );
}

fn assert_party_heard(recording: &Audio, signal: &Audio, listener: &str, talker: &str) {
    let found = similarity(signal, recording, CHUNK_SECONDS);
    println!("{talker}'s signal in {listener}'s recording: {found}");
    assert!(
        found.matched >= 4,
        "expected {listener} to hear at least 2 s of {talker}'s signal: {found}"
    );
}

/// Starts sipp `scenario` as a phone logged in to the operator position `0` as `op1`: the REGISTER
/// (AOR 0, digest user op1) comes from the port the scenario then answers on.
fn operator_phone(server: &Server, scenario: &str, timeout: Duration) -> RunningSipp {
    let phone = Sipp::new(scenario).unwrap().rtp_echo().timeout(timeout);
    register_operator(server, phone.sip_port());
    phone.spawn().unwrap()
}

/// Registers op1 to the operator position from `port`.
fn register_operator(server: &Server, port: u16) {
    Sipp::new("register")
        .unwrap()
        .remote(server.sip_addr())
        .local_port(port)
        .key("user", "0")
        .key("expires", 300)
        .auth("op1", "secretop1")
        .timeout(SIPP_TIMEOUT)
        .run()
        .unwrap()
        .expect_success()
        .unwrap_or_else(|e| panic!("op1 logging in to position 0 from port {port}: {e}"));
}

/// A sipp phone registered as demo extension `ext` running `scenario` (answering, RTP echoed).
fn extension_phone(server: &Server, ext: &str, scenario: &str, timeout: Duration) -> RunningSipp {
    let phone = Sipp::new(scenario).unwrap().rtp_echo().timeout(timeout);
    register(server, ext, phone.sip_port(), Transport::Udp).unwrap();
    phone.spawn().unwrap()
}

/// An outside caller (no registration, no credentials) running `scenario` to `number`.
fn sipp_guest(server: &Server, scenario: &str, number: &str) -> Sipp {
    Sipp::new(scenario)
        .unwrap()
        .remote(server.sip_addr())
        .service(number)
        .timeout(Duration::from_secs(45))
}

/// Asserts that a phone's sipp run received no INVITE (it was not rung).
fn assert_not_rung(phone: RunningSipp, who: &str) {
    let run = phone.wait().unwrap();
    assert!(
        !run.messages.contains("INVITE sip:"),
        "expected {who} not to be rung; {}",
        run.describe()
    );
}

// ---------------------------------------------------------------------------------------------
// 1. A softphone hears the greeting, dials 2 0 1 and talks to extension 201.

#[test]
fn guest_hears_welcome_then_dials_201_and_both_parties_hear_each_other() {
    let server = demo_server();
    let (front_desk, desk_signal) = extension(&server, "201", 201, 40.0);
    // The caller's microphone ends after 16 s, and baresip then hangs up.
    let (caller, caller_signal) = guest("guest", 5551, 16.0);

    call_main_number(&caller, &server);
    // welcome.wav lasts 1.9 s; at 4 s the language menu is playing.
    std::thread::sleep(Duration::from_secs(4));
    caller.send_dtmf("201").unwrap();

    front_desk
        .wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap();
    caller
        .wait_event("CALL_CLOSED", Duration::from_secs(30))
        .unwrap();
    front_desk.wait_event("CALL_CLOSED", EVENT_TIMEOUT).unwrap();

    let caller_heard = heard_by(&caller);
    let desk_heard = heard_by(&front_desk);
    assert_heard(&caller_heard, "en/welcome.wav", "the caller");
    assert_heard(&caller_heard, "en/please_hold.wav", "the caller");
    // The key press stopped the greeting before "please dial the extension".
    assert_not_heard(&caller_heard, "en/dial_extension.wav", "the caller");
    assert_party_heard(&caller_heard, &desk_signal, "the caller", "201");
    assert_party_heard(&desk_heard, &caller_signal, "201", "the caller");
    let echo = similarity(&caller_signal, &caller_heard, CHUNK_SECONDS);
    assert_eq!(
        echo.matched, 0,
        "the caller heard its own signal (echo or loop): {echo}"
    );
}

// ---------------------------------------------------------------------------------------------
// 2. RFC 4733 digits from sipp's stock pcaps route to the extension they spell.

#[test]
fn sipp_guest_pressing_2_0_1_rings_201() {
    let server = demo_server();
    let front_desk = extension_phone(&server, "201", "uas_answer", Duration::from_secs(45));
    let caller = sipp_guest(&server, "attendant_guest_dial_201", "1000")
        .run()
        .unwrap();
    let desk = front_desk.wait().unwrap();
    caller.expect_success().unwrap();
    desk.expect_success().unwrap();
    assert!(
        desk.messages.contains("INVITE sip:"),
        "expected 201's phone to receive an INVITE; {}",
        desk.describe()
    );
}

#[test]
fn sipp_guest_pressing_2_0_3_rings_203_and_not_201() {
    let server = demo_server();
    let housekeeping = extension_phone(&server, "203", "uas_answer", Duration::from_secs(45));
    // 201 is registered too and must stay silent: its sipp ends by timeout without a call.
    let front_desk = extension_phone(&server, "201", "uas_answer", Duration::from_secs(25));
    let caller = sipp_guest(&server, "attendant_guest_dial_203", "1000")
        .run()
        .unwrap();
    let housekeeping = housekeeping.wait().unwrap();
    caller.expect_success().unwrap();
    housekeeping.expect_success().unwrap();
    assert_not_rung(front_desk, "201");
}

#[test]
fn sipp_guest_sending_2_0_2_as_sip_info_rings_202() {
    let server = demo_server();
    let concierge = extension_phone(&server, "202", "uas_answer", Duration::from_secs(45));
    let caller = sipp_guest(&server, "attendant_guest_info_202", "1000")
        .run()
        .unwrap();
    let concierge = concierge.wait().unwrap();
    caller.expect_success().unwrap();
    concierge.expect_success().unwrap_or_else(|e| {
        panic!("expected 2 0 2 sent as SIP INFO (the 2 repeated) to ring 202: {e}")
    });
}

// ---------------------------------------------------------------------------------------------
// 3. No input and invalid input follow their routes; the retry limit leads to the operator.

#[test]
fn silent_caller_hears_no_input_after_the_greeting() {
    let server = demo_server();
    // Greeting 13.4 s, then 5 s of silence counts as no input, then no_input.wav (2.4 s).
    let (caller, _) = guest("silent", 5552, 27.0);
    call_main_number(&caller, &server);
    caller
        .wait_event("CALL_CLOSED", Duration::from_secs(45))
        .unwrap();
    let heard = heard_by(&caller);
    assert_heard(&heard, "en/welcome.wav", "the silent caller");
    assert_heard(&heard, "en/dial_extension.wav", "the silent caller");
    assert_heard(&heard, "en/no_input.wav", "the silent caller");
    assert_not_heard(&heard, "en/invalid.wav", "the silent caller");
}

#[test]
fn silence_past_the_retry_limit_rings_the_operator() {
    // The demo's limits shortened (1 s of silence, 1 retry) so that the route is reached in ~32 s:
    // greeting, silence, no_input.wav, greeting again, silence, then `after_retries: operator`.
    let dialplan = Dialplan::demo_with(&[
        ("input_timeout: 5s", "input_timeout: 1s"),
        ("retries: 3", "retries: 1"),
    ])
    .unwrap();
    let server = Server::start(ServerOptions {
        dialplan,
        extra_args: vec!["--digest-algorithms".into(), "md5".into()],
        env: debug_log(),
        ..ServerOptions::new()
    })
    .unwrap();
    let operator = operator_phone(&server, "uas_answer", Duration::from_secs(75));
    // The caller stays 42 s (its microphone's length) and then hangs up, also on the operator.
    let (caller, _) = guest("speechless", 5557, 42.0);
    call_main_number(&caller, &server);
    caller
        .wait_event("CALL_CLOSED", Duration::from_secs(60))
        .unwrap();
    let operator = operator.wait().unwrap();
    operator.expect_success().unwrap_or_else(|e| {
        panic!("expected op1 (position 0) to be rung after the second silence: {e}")
    });
    assert_heard(
        &heard_by(&caller),
        "en/no_input.wav",
        "the speechless caller",
    );
}

#[test]
fn invalid_keys_play_invalid_and_after_three_retries_ring_the_operator() {
    let server = demo_server();
    let operator = operator_phone(&server, "uas_answer", Duration::from_secs(60));
    let (caller, _) = guest("lost", 5553, 60.0);
    call_main_number(&caller, &server);
    std::thread::sleep(Duration::from_secs(3));
    // `5` starts no route and no number. Each press barges into the greeting and plays invalid.wav
    // (2.2 s, keys ignored meanwhile; were a longer entry possible, after the 3 s digit timeout
    // first); the demo allows 3 retries, so the 4th goes to the operator.
    for _ in 0..4 {
        caller.send_dtmf(INVALID_KEY).unwrap();
        std::thread::sleep(KEY_SPACING);
    }
    // Talk to the operator briefly, then hang up; the BYE must reach the operator's phone.
    std::thread::sleep(Duration::from_secs(2));
    caller.hangup().unwrap();
    caller.wait_event("CALL_CLOSED", EVENT_TIMEOUT).unwrap();
    let operator = operator.wait().unwrap();
    operator.expect_success().unwrap_or_else(|e| {
        panic!("expected op1 (registered to position 0) to be rung after the 4th invalid key: {e}")
    });
    assert_heard(
        &heard_by(&caller),
        "en/invalid.wav",
        "the caller pressing 5",
    );
}

#[test]
fn fewer_invalid_keys_than_the_limit_do_not_ring_the_operator() {
    let server = demo_server();
    let operator = operator_phone(&server, "uas_answer", Duration::from_secs(35));
    let (caller, _) = guest("unsure", 5554, 60.0);
    call_main_number(&caller, &server);
    std::thread::sleep(Duration::from_secs(3));
    for _ in 0..3 {
        caller.send_dtmf(INVALID_KEY).unwrap();
        std::thread::sleep(KEY_SPACING);
    }
    caller.hangup().unwrap();
    caller.wait_event("CALL_CLOSED", EVENT_TIMEOUT).unwrap();
    assert_not_rung(
        operator,
        "op1 after only 3 invalid keys (the demo allows 3 retries)",
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Language choice.

#[test]
fn pressing_2_then_pausing_switches_the_next_prompt_to_mandarin() {
    let server = demo_server();
    let (caller, _) = guest("zhongwen", 5555, 16.0);
    call_main_number(&caller, &server);
    std::thread::sleep(Duration::from_secs(1));
    // `2` could begin 201, so the menu waits the 3 s digit timeout, then switches to Chinese and
    // presents the reception menu: zh/dial_extension.wav (5.6 s).
    caller.send_dtmf("2").unwrap();
    caller
        .wait_event("CALL_CLOSED", Duration::from_secs(30))
        .unwrap();
    let heard = heard_by(&caller);
    assert_heard(&heard, "zh/dial_extension.wav", "the caller who pressed 2");
    assert_not_heard(&heard, "en/dial_extension.wav", "the caller who pressed 2");
}

// ---------------------------------------------------------------------------------------------
// 5. Manual mode by the operator's feature code, kept across a restart.

#[test]
fn operator_star28_makes_outside_calls_ring_position_0_also_after_a_restart() {
    let mut server = demo_server();
    // op1's phone: logs in to position 0, dials *28 from the same address (so the PBX challenges
    // and recognises op1), and later answers there.
    let port = switchboard_e2e::free_port().unwrap();
    register_operator(&server, port);
    let toggle = Sipp::new("attendant_feature_code")
        .unwrap()
        .remote(server.sip_addr())
        .local_port(port)
        .key("caller", "op1")
        .auth("op1", "secretop1")
        .service("*28")
        .timeout(SIPP_TIMEOUT)
        .run()
        .unwrap();
    toggle
        .expect_success()
        .unwrap_or_else(|e| panic!("op1 dialling *28: {e}\nserver log:\n{}", server.log()));
    assert!(
        server
            .log()
            .contains("attendant mode switched by an operator"),
        "expected the server to log the mode switch; log:\n{}",
        server.log()
    );

    for round in ["after *28", "after *28 and a restart"] {
        let operator = Sipp::new("uas_answer")
            .unwrap()
            .local_port(port)
            .rtp_echo()
            .timeout(SIPP_TIMEOUT)
            .spawn()
            .unwrap();
        // The outside caller presses nothing: in automatic mode nobody would ring within its call.
        let caller = sipp_guest(&server, "attendant_guest_call", "1000")
            .run()
            .unwrap();
        let operator = operator.wait().unwrap();
        caller
            .expect_success()
            .unwrap_or_else(|e| panic!("{round}: outside caller to 1000: {e}"));
        operator.expect_success().unwrap_or_else(|e| {
            panic!("{round}: expected the call to 1000 to ring op1 at position 0 directly: {e}")
        });
        if round == "after *28" {
            let status = server.stop().unwrap();
            assert!(
                status.success(),
                "switchboard exited with {status} on SIGTERM"
            );
            server.restart().unwrap();
        }
    }
}

#[test]
fn in_automatic_mode_an_outside_call_to_1000_meets_the_menu_not_the_operator() {
    let server = demo_server();
    let operator = operator_phone(&server, "uas_answer", Duration::from_secs(20));
    let caller = sipp_guest(&server, "attendant_guest_call", "1000")
        .run()
        .unwrap();
    caller.expect_success().unwrap();
    assert_not_rung(operator, "op1 in automatic mode");
}

// ---------------------------------------------------------------------------------------------
// 6. A broken dialplan is refused while a call is in progress.

#[test]
fn broken_reload_is_refused_while_a_bridged_call_continues_and_new_calls_use_the_old_plan() {
    let server = demo_server();
    let path = dialplan_file(&server);
    let good = std::fs::read_to_string(&path).unwrap();
    let (front_desk, _) = extension(&server, "201", 201, 60.0);

    let first = sipp_guest(&server, "attendant_guest_dial_201", "1000")
        .spawn()
        .unwrap();
    front_desk
        .wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap();

    // Break one value; the problem must be reported at its line and column.
    let needle = "    max_digits: 4\n";
    let offset = good.find(needle).expect("demo dialplan sets max_digits: 4");
    let line = good[..offset].lines().count() + 1;
    let broken = good.replacen(needle, "    max_digits: four\n", 1);
    std::fs::write(&path, &broken).unwrap();
    let (status, body) = http_post(server.http_addr(), "/api/reload");
    println!("POST /api/reload -> {status}: {body}");
    assert_eq!(
        status, 422,
        "expected 422 for a broken dialplan, got {status}: {body}"
    );
    let position = format!("dialplan.yaml:{line}:17");
    assert!(
        body.contains(&position),
        "expected the reload error to name {position} (the `four`), got: {body}"
    );
    assert!(
        !front_desk.has_event("CALL_CLOSED"),
        "the bridged call was dropped by the refused reload; log:\n{}",
        server.log()
    );

    // The caller hangs up on its own schedule: BYE answered 200 and relayed to 201.
    let first = first.wait().unwrap();
    first
        .expect_success()
        .unwrap_or_else(|e| panic!("the call bridged during the reload did not end normally: {e}"));
    front_desk.wait_event("CALL_CLOSED", EVENT_TIMEOUT).unwrap();

    // The broken file is still on disk (and polled): new calls still get the old plan's menu.
    let second = sipp_guest(&server, "attendant_guest_dial_201", "1000")
        .run()
        .unwrap();
    second
        .expect_success()
        .unwrap_or_else(|e| panic!("a new call after the refused reload failed: {e}"));
    front_desk
        .wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap();
    front_desk.wait_event("CALL_CLOSED", EVENT_TIMEOUT).unwrap();
}

#[test]
fn broken_reload_while_a_caller_is_in_the_menu_leaves_the_menu_working() {
    let server = demo_server();
    let path = dialplan_file(&server);
    let (front_desk, _) = extension(&server, "201", 201, 60.0);
    let (caller, _) = guest("menu", 5556, 20.0);
    call_main_number(&caller, &server);

    std::fs::write(&path, "menus: [unclosed\n").unwrap();
    let (status, body) = http_post(server.http_addr(), "/api/reload");
    println!("POST /api/reload -> {status}: {body}");
    assert_eq!(
        status, 422,
        "expected 422 for invalid YAML, got {status}: {body}"
    );
    assert!(
        body.contains("dialplan.yaml:"),
        "expected the reload error to name the file with a position, got: {body}"
    );

    // Still in the greeting of the plan the call started on: 2 0 1 reaches the front desk.
    std::thread::sleep(Duration::from_secs(1));
    caller.send_dtmf("201").unwrap();
    front_desk
        .wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap();
    caller.hangup().unwrap();
    caller.wait_event("CALL_CLOSED", EVENT_TIMEOUT).unwrap();
    front_desk.wait_event("CALL_CLOSED", EVENT_TIMEOUT).unwrap();
    assert_heard(
        &heard_by(&caller),
        "en/welcome.wav",
        "the caller in the menu",
    );
}
