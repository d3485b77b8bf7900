//! Shared by the operator-queue and operator-transfer tests: a server in manual mode (outside
//! calls to 1000 wait for an operator), operator softphones, callers, and the queue records.
// Some test files use only part of this module.
#![allow(dead_code)]

use std::time::{Duration, Instant};
use switchboard_e2e::{
    Account, AnswerMode, Audio, Baresip, BaresipOptions, Dialplan, Server, ServerOptions, Sipp,
    Transport, http_get, party_signal, read_wav, repo_root,
};

/// Reference chunk length for the heard-checks.
pub const CHUNK_SECONDS: f32 = 0.5;
/// How long a call may take to be answered, rung or closed.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(15);

/// A server on the demo dialplan in manual mode (every outside call to 1000 goes to the operator
/// queue), with `replacements` applied to the demo file. Only MD5 digests are offered, since
/// baresip 1.0 gives up on a challenge set that names SHA-256.
pub fn queue_server(replacements: &[(&str, &str)]) -> Server {
    let mut all = vec![("mode: automatic", "mode: manual")];
    all.extend_from_slice(replacements);
    let dialplan = Dialplan::demo_with(&all).unwrap();
    Server::start(ServerOptions {
        dialplan,
        extra_args: vec!["--digest-algorithms".into(), "md5".into()],
        env: vec![("SWITCHBOARD_LOG".into(), "info,pbx=debug".into())],
        ..ServerOptions::new()
    })
    .unwrap()
}

/// A baresip softphone logged in to the operator position `0` as `account` (password
/// `secret<account>`), answering at once; its microphone plays `seconds` of a seeded signal, after
/// which it hangs up.
pub fn operator(server: &Server, account: &str, seed: u64, seconds: f32) -> Baresip {
    operator_with(
        server,
        account,
        party_signal(seed, seconds),
        AnswerMode::Auto,
    )
}

/// Like [`operator`], with a given microphone signal and answer mode.
pub fn operator_with(server: &Server, account: &str, source: Audio, answer: AnswerMode) -> Baresip {
    let phone = Baresip::start(BaresipOptions {
        name: account.into(),
        account: Account::registered_as(
            "0",
            account,
            &format!("secret{account}"),
            server.sip_addr(),
            answer,
        ),
        source,
        safety_timeout: Duration::from_secs(120),
    })
    .unwrap();
    phone.wait_registered(Duration::from_secs(10)).unwrap();
    phone
}

/// A softphone registered as demo extension `ext`, answering at once, playing a seeded signal.
pub fn extension(server: &Server, ext: &str, seed: u64, seconds: f32) -> (Baresip, Audio) {
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

/// An unregistered softphone (an outside caller) whose microphone plays a seeded test signal.
pub fn guest(name: &str, seed: u64, seconds: f32) -> (Baresip, Audio) {
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

/// A sipp outside caller `number` dialling 1000 and waiting for the PBX's BYE (`queue_caller`).
pub fn queue_caller(server: &Server, number: &str) -> Sipp {
    Sipp::new("queue_caller")
        .unwrap()
        .remote(server.sip_addr())
        .service("1000")
        .key("caller", number)
        .timeout(Duration::from_secs(55))
}

/// A prompt of the repository, e.g. `en/welcome.wav`.
pub fn prompt(relative: &str) -> Audio {
    read_wav(&repo_root().join("prompts").join(relative)).unwrap()
}

/// What `phone` heard in its latest call.
///
/// baresip's sndfile module completes the WAV header when it closes the file, which may be a
/// moment after CALL_CLOSED; until then the file reads as empty. So this waits (up to 5 s) for a
/// recording of at least one second.
pub fn heard_by(phone: &Baresip) -> Audio {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let path = phone.recordings().unwrap().heard;
        let audio = read_wav(&path).unwrap();
        if audio.seconds() >= 1.0 || Instant::now() > deadline {
            return audio;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One queued call's record, as the server stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRecord {
    pub caller: String,
    pub position_on_entry: i64,
    pub wait_ms: Option<i64>,
    pub answered_by: Option<String>,
    pub answered_at_ms: Option<i64>,
    pub talk_ms: Option<i64>,
    /// The transfers as JSON text (`[]` when none).
    pub transfers: String,
    pub outcome: Option<String>,
}

impl QueueRecord {
    fn from_json(v: &serde_json::Value) -> Self {
        let int = |k: &str| v.get(k).and_then(serde_json::Value::as_i64);
        let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
        let transfers = match v.get("transfers") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => "[]".into(),
        };
        Self {
            caller: text("caller").unwrap_or_default(),
            position_on_entry: int("position_on_entry").unwrap_or(0),
            wait_ms: int("wait_ms"),
            answered_by: text("answered_by"),
            answered_at_ms: int("answered_at_ms"),
            talk_ms: int("talk_ms"),
            transfers,
            outcome: text("outcome"),
        }
    }
}

/// The queue records, from `GET /api/queue-calls` (most recent first).
pub fn queue_records(server: &Server) -> Vec<QueueRecord> {
    let (status, body) = http_get(server.http_addr(), "/api/queue-calls");
    assert_eq!(
        status, 200,
        "GET /api/queue-calls answered {status}: {body}"
    );
    let value: serde_json::Value = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("GET /api/queue-calls returned invalid JSON ({e}): {body}"));
    let list = value
        .as_array()
        .unwrap_or_else(|| panic!("GET /api/queue-calls: expected a list of records, got {body}"));
    list.iter().map(QueueRecord::from_json).collect()
}

/// Polls the queue records until `done` holds for them, at most `timeout`.
pub fn wait_records(
    server: &Server,
    timeout: Duration,
    done: impl Fn(&[QueueRecord]) -> bool,
) -> Vec<QueueRecord> {
    let deadline = Instant::now() + timeout;
    loop {
        let records = queue_records(server);
        if done(&records) {
            return records;
        }
        assert!(
            Instant::now() < deadline,
            "the queue records did not reach the expected state within {timeout:?}; they are: {records:#?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
