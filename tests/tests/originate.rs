//! Calls the PBX places itself (`POST /api/originate`, `switchboard originate`): a baresip phone
//! registered as demo extension 201 answers automatically, hears the prompt (its recording is
//! matched against the prompt WAV), types one RFC 4733 digit, and the PBX hangs up; the call record
//! says who placed the call, why, and what was typed. Refused requests answer a JSON error with
//! the documented status and leave no call record.
//!
//! The test bounds its waits and measures how soon the PBX hangs up, so it reads the clock.
#![allow(clippy::disallowed_methods)]

use serde_json::Value;
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};
use switchboard_e2e::{
    Account, AnswerMode, Audio, Baresip, BaresipOptions, Server, ServerOptions, Transport,
    http_get, http_post_json, party_signal, read_wav, repo_root, similarity, switchboard_binary,
};

/// How long a call may take to be answered or closed.
const EVENT_TIMEOUT: Duration = Duration::from_secs(15);
/// Reference chunk length for the heard-check (as in the attendant tests).
const CHUNK_SECONDS: f32 = 0.5;
/// The digit the phone types.
const DIGIT: &str = "7";
/// The digit timeout asked for: long enough that a hang-up soon after the digit can only be the
/// PBX noticing that `max_digits` was reached.
const DIGIT_TIMEOUT_S: u64 = 20;

/// A server on the demo dialplan. Only MD5 is offered: baresip 1.0 refuses a REGISTER whose
/// challenges include SHA-256 (see `baresip_call.rs`).
fn demo_server() -> Server {
    Server::start(ServerOptions {
        extra_args: vec!["--digest-algorithms".into(), "md5".into()],
        env: vec![("SWITCHBOARD_LOG".into(), "info,pbx=debug".into())],
        ..ServerOptions::new()
    })
    .unwrap()
}

/// A softphone registered as demo extension `ext` that answers at once. Its microphone plays a
/// 60 s test signal (baresip hangs up when the source ends, so it must outlast the call).
fn extension(server: &Server, ext: &str) -> Baresip {
    let phone = Baresip::start(BaresipOptions {
        name: format!("ext{ext}"),
        account: Account::registered(
            ext,
            &format!("secret{ext}"),
            server.sip_addr(),
            Transport::Udp,
            AnswerMode::Auto,
        ),
        source: party_signal(ext.parse().unwrap_or(1), 60.0),
        safety_timeout: Duration::from_secs(120),
    })
    .unwrap();
    phone.wait_registered(Duration::from_secs(10)).unwrap();
    phone
}

/// A prompt of the repository, e.g. `en/welcome.wav`.
fn prompt(relative: &str) -> Audio {
    read_wav(&repo_root().join("prompts").join(relative)).unwrap()
}

fn json(text: &str, what: &str) -> Value {
    serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("{what}: expected JSON, got {text:?}: {e}"))
}

/// `POST /api/originate` with `body`; returns the status and the parsed JSON answer.
fn originate(server: &Server, body: &str) -> (u16, Value) {
    let (status, answer) = http_post_json(server.http_addr(), "/api/originate", body);
    (
        status,
        json(&answer, &format!("POST /api/originate {body}")),
    )
}

/// The stored call records, newest first.
fn call_records(http: SocketAddr) -> Vec<Value> {
    let (status, body) = http_get(http, "/api/cdr");
    assert_eq!(status, 200, "GET /api/cdr: {body}");
    match json(&body, "GET /api/cdr") {
        Value::Array(rows) => rows,
        other => panic!("expected an array from /api/cdr, got {other}"),
    }
}

/// Waits until the newest call record has ended (the store writes it after the hang-up).
fn finished_record(http: SocketAddr) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let rows = call_records(http);
        if let Some(row) = rows.first()
            && !row["ended_at_ms"].is_null()
        {
            assert_eq!(rows.len(), 1, "expected one call record, got {rows:#?}");
            return row.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no finished call record within 10 s: {rows:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn placed_call_plays_the_prompt_collects_a_digit_and_is_recorded() {
    let server = demo_server();
    let phone = extension(&server, "201");

    let (status, answer) = originate(
        &server,
        &format!(
            r#"{{"target":"201","prompts":["welcome"],"language":"en","max_digits":1,"digit_timeout_s":{DIGIT_TIMEOUT_S},"display":"Front desk"}}"#
        ),
    );
    assert_eq!(status, 202, "POST /api/originate: {answer}");
    assert!(
        answer["call"].is_u64(),
        "expected {{\"call\": <number>}}, got {answer}"
    );

    let established = phone.wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT).unwrap();
    println!("the phone's CALL_ESTABLISHED event: {}", established.raw);
    assert_eq!(
        established.raw["peerdisplayname"], "Front desk",
        "the phone shows the display name asked for"
    );

    // welcome.wav lasts 1.9 s: type the digit once it has played.
    std::thread::sleep(Duration::from_millis(3500));
    phone.send_dtmf(DIGIT).unwrap();
    let typed = Instant::now();
    phone.wait_event("CALL_CLOSED", EVENT_TIMEOUT).unwrap();
    let waited = typed.elapsed();
    assert!(
        waited < Duration::from_secs(8),
        "the PBX should hang up once max_digits (1) was reached, well before the {DIGIT_TIMEOUT_S} s \
         digit timeout; it took {waited:?}"
    );

    let record = finished_record(server.http_addr());
    println!("call record: {record:#}");
    assert_eq!(record["kind"], "placed", "{record:#}");
    assert_eq!(record["purpose"], "announcement", "{record:#}");
    assert_eq!(record["digits"], DIGIT, "{record:#}");
    assert_eq!(record["outcome"], "answered", "{record:#}");
    assert_eq!(record["hangup_by"], "system", "{record:#}");
    assert_eq!(record["callee"], "201", "{record:#}");
    assert!(!record["answered_at_ms"].is_null(), "{record:#}");
    // The PBX is the caller, under the display name the request gave it.
    assert_eq!(record["caller"], "Front desk", "{record:#}");

    let (status, csv) = http_get(server.http_addr(), "/api/cdr.csv");
    assert_eq!(status, 200, "GET /api/cdr.csv: {csv}");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "id,call_id,caller,callee,kind,started_at_ms,answered_at_ms,ended_at_ms,outcome,\
             hangup_by,quality,purpose,digits,caller_name,forwarded_to,forward_reason"
        )
    );
    let row = lines.next().unwrap_or_default();
    assert!(
        row.contains(",201,placed,") && row.ends_with(&format!(",announcement,{DIGIT},,,")),
        "expected the placed call in the CSV: {csv}"
    );

    let heard = read_wav(&phone.recordings().unwrap().heard).unwrap();
    let found = similarity(&prompt("en/welcome.wav"), &heard, CHUNK_SECONDS);
    println!("en/welcome.wav in 201's recording: {found}");
    // One chunk may be missing: the first 0.2-0.3 s of a prompt that starts with the answer do not
    // reach baresip's recording (its audio starts after the 200 OK).
    assert!(
        found.matched >= 1 && found.matched + 1 >= found.chunk_scores.len(),
        "expected 201 to hear prompts/en/welcome.wav (all of its chunks but one scoring >= 0.7 in a \
         {:.1} s recording): {found}",
        heard.seconds()
    );
}

#[test]
fn refused_originate_requests_answer_json_errors_and_leave_no_record() {
    let server = demo_server();
    // 201 is registered, so the unknown prompt is the only thing wrong with its request; 202 is not.
    let phone = extension(&server, "201");

    let cases: &[(&str, u16, &str)] = &[
        (
            r#"{"target":"999","prompts":["welcome"]}"#,
            404,
            "a number that is no extension",
        ),
        (
            r#"{"target":"202","prompts":["welcome"]}"#,
            409,
            "an extension with no registered phone",
        ),
        (
            r#"{"target":"201","prompts":["no_such_prompt"],"max_digits":1}"#,
            422,
            "a prompt the plan does not have",
        ),
        (
            r#"{"target":"201","prompts":["welcome"]"#,
            400,
            "broken JSON",
        ),
        (r#"{"target":"201","prompts":[]}"#, 400, "no prompt"),
        (r#"{"target":"201"}"#, 400, "no prompts field"),
        (
            r#"{"target":"201","prompts":["welcome"],"max_digits":21}"#,
            400,
            "too many digits",
        ),
        (
            r#"{"target":"201","prompts":["welcome"],"digit_timeout_s":0}"#,
            400,
            "a zero digit timeout",
        ),
        (
            r#"{"target":"201","prompts":["welcome"],"priority":1}"#,
            400,
            "an unknown field",
        ),
    ];
    for (body, expected, what) in cases {
        let (status, answer) = originate(&server, body);
        println!("{what}: {status} {answer}");
        assert_eq!(status, *expected, "{what}: {body} answered {answer}");
        assert!(
            answer["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{what}: expected {{\"error\": \"...\"}}, got {answer}"
        );
    }
    let huge = format!(
        r#"{{"target":"201","prompts":["welcome"],"display":"{}"}}"#,
        "x".repeat(20_000)
    );
    let (status, answer) = originate(&server, &huge);
    assert_eq!(status, 413, "a 20 kB body: {answer}");
    assert!(answer["error"].is_string(), "{answer}");

    // The command-line client reports a refusal with the API's message and exit status 1.
    let output = Command::new(switchboard_binary().unwrap())
        .args(["originate", "202", "--prompt", "welcome", "--http"])
        .arg(server.http_addr().to_string())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("the call was not placed (409)"),
        "stderr: {stderr}"
    );

    // Nothing rang and nothing was recorded (records are written asynchronously: give them time).
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !phone.has_event("CALL_INCOMING") && !phone.has_event("CALL_ESTABLISHED"),
        "201 was rung by a refused request"
    );
    assert_eq!(call_records(server.http_addr()), Vec::<Value>::new());
    let (_, live) = http_get(server.http_addr(), "/api/calls");
    assert_eq!(json(&live, "GET /api/calls"), Value::Array(Vec::new()));
}

#[test]
fn switchboard_originate_prints_the_call_number() {
    let server = demo_server();
    let phone = extension(&server, "201");
    let output = Command::new(switchboard_binary().unwrap())
        .args([
            "originate",
            "201",
            "--prompt",
            "welcome",
            "--language",
            "en",
            "--http",
        ])
        .arg(server.http_addr().to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "switchboard originate failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.trim().parse::<u64>().is_ok(),
        "expected the call number alone on stdout, got {stdout:?}"
    );
    phone.wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT).unwrap();
    // No digits asked for: the PBX hangs up after the prompt.
    phone.wait_event("CALL_CLOSED", EVENT_TIMEOUT).unwrap();
    let record = finished_record(server.http_addr());
    assert_eq!(
        (&record["kind"], &record["purpose"], &record["digits"]),
        (
            &Value::from("placed"),
            &Value::from("announcement"),
            &Value::Null
        ),
        "{record:#}"
    );
    // Without a display name the PBX calls as itself.
    assert_eq!(record["caller"], "Switchboard", "{record:#}");
    assert_eq!(record["hangup_by"], "system", "{record:#}");
}
