//! Shared by the hotel tests (`hotel_*.rs`): a server on the demo hotel, baresip phones for rooms,
//! staff, operators and outside callers, the front desk through `switchboard` (CLI) and through the
//! admin API, the call records and the log book, and "did this phone hear that prompt".
// Each test file uses only part of this module; the waits are bounded by wall-clock deadlines.
#![allow(dead_code, clippy::disallowed_methods)]

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};
use switchboard_e2e::admin::admin_request_with_body;
use switchboard_e2e::pbx::{SIPP_TIMEOUT, registration};
use switchboard_e2e::{
    Account, AnswerMode, Audio, Baresip, BaresipOptions, Dialplan, Server, ServerOptions,
    Similarity, Sipp, SippRun, Transport, http_get, party_signal, read_wav, repo_root, similarity,
    switchboard_binary,
};

/// Reference chunk length for the heard-checks (as in the attendant tests).
pub const CHUNK_SECONDS: f32 = 0.5;
/// How long a call may take to be answered, rung or closed.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------------------------
// Servers and phones.

/// A server on a copy of the demo hotel with `replacements` applied (see
/// [`Dialplan::demo_with`]). Only MD5 is offered: baresip 1.0 gives up on a challenge set that
/// names SHA-256.
pub fn hotel_server(replacements: &[(&str, &str)]) -> Server {
    let dialplan = Dialplan::demo_with(replacements).unwrap();
    Server::start(ServerOptions {
        dialplan,
        extra_args: vec!["--digest-algorithms".into(), "md5".into()],
        env: vec![(
            "SWITCHBOARD_LOG".into(),
            "info,pbx=debug,server=debug".into(),
        )],
        ..ServerOptions::new()
    })
    .unwrap()
}

/// The dialplan file the server reads (the copy in its data directory).
pub fn dialplan_file(server: &Server) -> PathBuf {
    server.data_dir().join("dialplan.yaml")
}

/// The demo password of a room (`room8105`) or a staff extension (`secret201`).
pub fn password_of(user: &str) -> String {
    if user.starts_with("81") {
        format!("room{user}")
    } else {
        format!("secret{user}")
    }
}

/// A softphone registered as `user` (its demo password), answering as `answer`, whose microphone
/// plays `seconds` of the signal seeded `seed` (baresip hangs up when it ends).
pub fn phone(
    server: &Server,
    user: &str,
    seed: u64,
    seconds: f32,
    answer: AnswerMode,
) -> (Baresip, Audio) {
    let signal = party_signal(seed, seconds);
    let phone = Baresip::start(BaresipOptions {
        name: format!("ext{user}"),
        account: Account::registered(
            user,
            &password_of(user),
            server.sip_addr(),
            Transport::Udp,
            answer,
        ),
        source: signal.clone(),
        safety_timeout: Duration::from_secs(150),
    })
    .unwrap();
    phone.wait_registered(Duration::from_secs(10)).unwrap();
    (phone, signal)
}

/// A softphone that answers at once, registered as `user`.
pub fn auto_phone(server: &Server, user: &str, seed: u64, seconds: f32) -> (Baresip, Audio) {
    phone(server, user, seed, seconds, AnswerMode::Auto)
}

/// A softphone logged in to the operator position `0` as `account`, answering as `answer`.
pub fn operator(
    server: &Server,
    account: &str,
    seed: u64,
    seconds: f32,
    answer: AnswerMode,
) -> (Baresip, Audio) {
    let signal = party_signal(seed, seconds);
    let phone = Baresip::start(BaresipOptions {
        name: account.into(),
        account: Account::registered_as(
            "0",
            account,
            &format!("secret{account}"),
            server.sip_addr(),
            answer,
        ),
        source: signal.clone(),
        safety_timeout: Duration::from_secs(150),
    })
    .unwrap();
    phone.wait_registered(Duration::from_secs(10)).unwrap();
    (phone, signal)
}

/// An unregistered softphone (an outside caller) whose microphone plays a seeded signal.
pub fn outside(name: &str, seed: u64, seconds: f32) -> (Baresip, Audio) {
    let signal = party_signal(seed, seconds);
    let phone = Baresip::start(BaresipOptions {
        name: name.into(),
        account: Account::local(name, AnswerMode::Manual),
        source: signal.clone(),
        safety_timeout: Duration::from_secs(150),
    })
    .unwrap();
    (phone, signal)
}

/// Starts a call from `phone` to `number` at the server.
pub fn dial(phone: &Baresip, server: &Server, number: &str) {
    phone
        .dial(&format!("sip:{number}@{}", server.sip_addr()))
        .unwrap();
}

/// An outside caller dials the main number, waits for the greeting to start and types `number`
/// (the menu's direct dial).
pub fn via_menu(caller: &Baresip, server: &Server, number: &str) {
    dial(caller, server, "1000");
    caller
        .wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    caller.send_dtmf(number).unwrap();
}

/// Hangs up `phone`'s call (if any) and waits for it to close.
pub fn hang_up(phone: &Baresip) {
    let _ = phone.hangup();
    phone.wait_event("CALL_CLOSED", EVENT_TIMEOUT).unwrap();
}

// ---------------------------------------------------------------------------------------------
// What a phone heard.

/// A prompt of the repository, e.g. `en/welcome.wav`.
pub fn prompt(relative: &str) -> Audio {
    read_wav(&repo_root().join("prompts").join(relative)).unwrap()
}

/// What `phone` heard in its latest call; waits (up to 5 s) for sndfile to finish the file.
pub fn heard_by(phone: &Baresip) -> Audio {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let audio = read_wav(&phone.recordings().unwrap().heard).unwrap();
        if audio.seconds() >= 1.0 || Instant::now() > deadline {
            return audio;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A prompt counts as heard when every spoken chunk but one is found (the first 0.2-0.3 s of a
/// prompt that starts with the answer may miss the recording; a key may cut its end).
fn is_heard(found: &Similarity) -> bool {
    found.matched >= 1 && found.matched + 1 >= found.chunk_scores.len()
}

pub fn assert_heard(recording: &Audio, prompt_path: &str, who: &str) {
    let found = similarity(&prompt(prompt_path), recording, CHUNK_SECONDS);
    println!("{prompt_path} in {who}'s recording: {found}");
    assert!(
        is_heard(&found),
        "expected {who} to hear prompts/{prompt_path} (all of its chunks but one scoring >= 0.7 in \
         a {:.1} s recording): {found}",
        recording.seconds()
    );
}

pub fn assert_not_heard(recording: &Audio, prompt_path: &str, who: &str) {
    let found = similarity(&prompt(prompt_path), recording, CHUNK_SECONDS);
    println!("{prompt_path} in {who}'s recording (must be absent): {found}");
    assert_eq!(
        found.matched, 0,
        "expected {who} NOT to hear prompts/{prompt_path}: {found}"
    );
}

/// The part of a party's `signal` that can be in `recording`: baresip's file source starts
/// again with each call, so a call's audio is the signal's opening, as long as the call. (This
/// keeps the correlation fast: the phones' signals outlast their calls many times.)
pub fn opening(signal: &Audio, recording: &Audio) -> Audio {
    let keep = ((recording.seconds() + 2.0) * signal.rate as f32) as usize;
    Audio {
        rate: signal.rate,
        samples: signal.samples[..keep.min(signal.samples.len())].to_vec(),
    }
}

/// At least `seconds` of `talker`'s signal are in `listener`'s recording.
pub fn assert_party_heard(
    recording: &Audio,
    signal: &Audio,
    seconds: f32,
    listener: &str,
    talker: &str,
) {
    let found = similarity(&opening(signal, recording), recording, CHUNK_SECONDS);
    println!("{talker}'s signal in {listener}'s recording: {found}");
    assert!(
        found.matched_seconds(CHUNK_SECONDS) >= seconds,
        "expected {listener} to hear at least {seconds} s of {talker}'s signal: {found}"
    );
}

// ---------------------------------------------------------------------------------------------
// The front desk: command line and API.

/// What one `switchboard` command printed.
#[derive(Debug)]
pub struct CliRun {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `switchboard ARGS --http ADDR` against the server.
pub fn cli(server: &Server, args: &[&str]) -> CliRun {
    let output = Command::new(switchboard_binary().unwrap())
        .args(args)
        .arg("--http")
        .arg(server.http_addr().to_string())
        .output()
        .unwrap();
    let run = CliRun {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    println!(
        "$ switchboard {} -> {:?}\n{}{}",
        args.join(" "),
        run.code,
        run.stdout,
        run.stderr
    );
    run
}

/// Runs a command that must succeed; returns its stdout.
pub fn cli_ok(server: &Server, args: &[&str]) -> String {
    let run = cli(server, args);
    assert_eq!(
        run.code,
        Some(0),
        "`switchboard {}` failed: {run:?}",
        args.join(" ")
    );
    run.stdout
}

/// Runs a command that must be refused: exit status 1 and `reason` on stderr.
pub fn cli_refused(server: &Server, args: &[&str], reason: &str) {
    let run = cli(server, args);
    assert_eq!(
        run.code,
        Some(1),
        "`switchboard {}` should be refused: {run:?}",
        args.join(" ")
    );
    assert!(
        run.stderr.contains(reason),
        "`switchboard {}`: expected the reason `{reason}` on stderr: {run:?}",
        args.join(" ")
    );
}

/// One request to the admin API; its status and JSON answer (`Null` for an empty body).
pub fn api(server: &Server, method: &str, path: &str, body: &str) -> (u16, Value) {
    let (status, text) = admin_request_with_body(server.http_addr(), method, path, body);
    let value = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {path}: expected JSON, got {text:?}: {e}"))
    };
    println!("{method} {path} {body} -> {status} {value}");
    (status, value)
}

/// A request that must answer `expected`; returns the answer.
pub fn api_expect(server: &Server, method: &str, path: &str, body: &str, expected: u16) -> Value {
    let (status, value) = api(server, method, path, body);
    assert_eq!(status, expected, "{method} {path} {body}: {value}");
    value
}

/// A request that must be refused with `expected` and a JSON `{"error": ...}` containing `reason`.
pub fn api_refused(
    server: &Server,
    method: &str,
    path: &str,
    body: &str,
    expected: u16,
    reason: &str,
) {
    let value = api_expect(server, method, path, body, expected);
    let error = value["error"].as_str().unwrap_or_default();
    assert!(
        error.contains(reason),
        "{method} {path} {body}: expected an error naming `{reason}`, got {value}"
    );
}

/// Checks a guest in over the API (`body` is the JSON of `POST /api/guests/check-in`).
pub fn check_in(server: &Server, body: &str) -> Value {
    api_expect(server, "POST", "/api/guests/check-in", body, 201)
}

/// `PUT /api/lines/{number}/dnd`.
pub fn set_dnd(server: &Server, number: &str, on: bool) {
    api_expect(
        server,
        "PUT",
        &format!("/api/lines/{number}/dnd"),
        &format!(r#"{{"on":{on}}}"#),
        200,
    );
}

/// `PUT /api/lines/{number}/forward/{kind}` to `target`.
pub fn set_forward(server: &Server, number: &str, kind: &str, target: &str) {
    api_expect(
        server,
        "PUT",
        &format!("/api/lines/{number}/forward/{kind}"),
        &format!(r#"{{"target":"{target}"}}"#),
        200,
    );
}

/// `GET /api/rooms/{room}`.
pub fn room(server: &Server, room: &str) -> Value {
    api_expect(server, "GET", &format!("/api/rooms/{room}"), "", 200)
}

/// The log book of the last 24 hours, oldest first.
pub fn logbook(server: &Server) -> Vec<Value> {
    match api_expect(server, "GET", "/api/logbook", "", 200) {
        Value::Array(rows) => rows,
        other => panic!("expected a list from /api/logbook, got {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Call records.

/// The stored call records, newest first.
pub fn call_records(server: &Server) -> Vec<Value> {
    let (status, body) = http_get(server.http_addr(), "/api/cdr");
    assert_eq!(status, 200, "GET /api/cdr: {body}");
    match serde_json::from_str(&body) {
        Ok(Value::Array(rows)) => rows,
        other => panic!("expected a list from /api/cdr, got {other:?}: {body}"),
    }
}

/// Waits (up to 10 s) for an ended call record that satisfies `matches`.
pub fn wait_record(server: &Server, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = call_records(server);
        if let Some(row) = rows
            .iter()
            .find(|r| !r["ended_at_ms"].is_null() && matches(r))
        {
            println!("call record ({what}): {row}");
            return row.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no ended call record {what} within 10 s; records: {rows:#?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

// ---------------------------------------------------------------------------------------------
// sipp phones.

/// sipp `scenario` as the registered phone `user` (demo password) calling `number`; the phone
/// registers from the port it calls from first, so the PBX challenges and recognises it.
pub fn sipp_caller(server: &Server, user: &str, scenario: &str, number: &str) -> Sipp {
    let uac = Sipp::new(scenario)
        .unwrap()
        .remote(server.sip_addr())
        .key("caller", user)
        .auth(user, &password_of(user))
        .service(number)
        .timeout(SIPP_TIMEOUT);
    register_sipp(server, user, &password_of(user), uac.sip_port());
    uac
}

/// Registers `user` with `password` from `port`, which must succeed.
pub fn register_sipp(server: &Server, user: &str, password: &str, port: u16) -> SippRun {
    let run = registration(server, user, password, port, Transport::Udp, 300)
        .unwrap()
        .run()
        .unwrap();
    run.expect_success()
        .unwrap_or_else(|e| panic!("registering {user} from port {port}: {e}"));
    run
}

/// sipp `scenario` (a `uas_*`) answering as `user`, registered from its own port.
pub fn sipp_phone(server: &Server, user: &str, scenario: &str, timeout: Duration) -> Sipp {
    let uas = Sipp::new(scenario).unwrap().rtp_echo().timeout(timeout);
    register_sipp(server, user, &password_of(user), uas.sip_port());
    uas
}
