//! What the admin API shows: the JSON views of registrations, live calls, the
//! attendant mode, the operator queue and queue call records.

use serde::{Deserialize, Serialize};

/// The attendant mode, as shown by the API.
#[derive(Debug, Clone, Serialize)]
pub struct ModeView {
    /// The mode new calls get now: `automatic` or `manual`.
    pub mode: Option<String>,
    /// The operator's override, if one is set; otherwise the schedule decides.
    pub override_mode: Option<String>,
}

/// The body of `POST /api/mode`.
#[derive(Deserialize)]
pub struct SetMode {
    /// `automatic`, `manual` or `schedule`.
    pub mode: String,
}

/// One registration, as shown by the API.
#[derive(Debug, Clone, Serialize)]
pub struct RegistrationView {
    /// Address-of-record (extension).
    pub aor: String,
    /// Contact URI.
    pub contact: String,
    /// Where the phone is reached.
    pub source: String,
    /// udp or tcp.
    pub transport: String,
    /// Seconds until expiry.
    pub expires_in: i64,
    /// The phone's User-Agent.
    pub user_agent: Option<String>,
}

/// One live call, as shown by the API.
#[derive(Debug, Clone, Serialize)]
pub struct CallView {
    /// Internal call number.
    pub id: u64,
    /// Caller.
    pub caller: String,
    /// Callee.
    pub callee: String,
    /// ringing, answered, ending.
    pub state: String,
    /// Start time, unix ms.
    pub started_at_ms: i64,
}

/// The operator queue as `GET /api/queue` shows it (and `switchboard queue` reads it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueView {
    /// The server's wall-clock time when the snapshot was taken, unix ms.
    pub now_ms: i64,
    /// Waiting callers, queue by queue, each queue in the order they will be answered.
    pub waiting: Vec<WaitingView>,
    /// Every operator account of the dialplan (and any other seen since the start).
    pub operators: Vec<OperatorView>,
}

/// One waiting caller in [`QueueView`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingView {
    /// The queue's name.
    pub queue: String,
    /// 1-based position in that queue.
    pub position: u32,
    /// The internal call number (as `id` in `/api/calls`).
    pub call: u64,
    /// Who is waiting.
    pub caller: String,
    /// The caller's name (a room's guest, `8105 Dr Li Wei ★`), if the PBX names them.
    #[serde(default)]
    pub name: Option<String>,
    /// The caller's prompt language.
    pub language: String,
    /// Whether the caller is placed as a VIP.
    pub vip: bool,
    /// How long the caller has waited so far, ms.
    pub wait_ms: i64,
    /// When the caller entered the queue, unix ms.
    pub entered_ms: i64,
    /// The operator whose phone rings for this caller now, if any.
    pub ringing: Option<String>,
}

/// One operator in [`QueueView`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorView {
    /// The operator's account (`op1`).
    pub account: String,
    /// The display name from the dialplan.
    pub name: String,
    /// idle, ringing, talking, paused, wrap_up or logged_out.
    pub state: String,
    /// Since when the operator is in this state, unix ms.
    pub since_ms: i64,
    /// The Contact URIs the operator's phone(s) registered.
    pub contacts: Vec<String>,
    /// The caller they are ringing for or talking to, if any.
    pub caller: Option<String>,
}

impl QueueView {
    /// The view of snapshot `s`, taken at wall-clock time `now_ms`.
    pub fn new(now_ms: i64, s: &pbx::QueueSnapshot) -> Self {
        QueueView {
            now_ms,
            waiting: s
                .waiting
                .iter()
                .map(|w| WaitingView {
                    queue: w.queue.clone(),
                    position: w.position,
                    call: w.call.0,
                    caller: w.caller.clone(),
                    name: w.name.clone(),
                    language: w.language.clone(),
                    vip: w.vip,
                    wait_ms: w.wait_ms,
                    entered_ms: w.entered_ms,
                    ringing: w.ringing.clone(),
                })
                .collect(),
            operators: s
                .operators
                .iter()
                .map(|o| OperatorView {
                    account: o.account.clone(),
                    name: o.name.clone(),
                    state: o.activity.as_str().to_string(),
                    since_ms: o.since_ms,
                    contacts: o.contacts.clone(),
                    caller: o.caller.clone(),
                })
                .collect(),
        }
    }
}

/// One stored queue call record, as `GET /api/queue-calls` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueCallView {
    /// The record's id.
    pub id: i64,
    /// The SIP Call-ID of the caller's leg (as `call_id` in `/api/cdr`).
    pub call_id: String,
    /// Who waited.
    pub caller: String,
    /// Whether the caller was placed as a VIP.
    pub vip: bool,
    /// When the caller entered the queue, unix ms.
    pub entered_at_ms: i64,
    /// The caller's position right after entering.
    pub position_on_entry: u32,
    /// How long the caller waited, ms (once answered or gone).
    pub wait_ms: Option<i64>,
    /// The operator who answered.
    pub answered_by: Option<String>,
    /// When the operator answered, unix ms.
    pub answered_at_ms: Option<i64>,
    /// Time spent talking with operators, ms.
    pub talk_ms: Option<i64>,
    /// Transfers made: `[{"kind","by","to","at_ms","result"}]`.
    pub transfers: serde_json::Value,
    /// answered, abandoned, overflow, max_wait or no_operator; `null` while waiting.
    pub outcome: Option<String>,
    /// When the call ended, unix ms.
    pub ended_at_ms: Option<i64>,
}

impl From<store::QueueCallRecord> for QueueCallView {
    fn from(r: store::QueueCallRecord) -> Self {
        QueueCallView {
            id: r.id,
            call_id: r.call_id,
            caller: r.caller,
            vip: r.vip,
            entered_at_ms: r.entered_at_ms,
            position_on_entry: r.position_on_entry,
            wait_ms: r.state.wait_ms,
            answered_by: r.state.answered_by,
            answered_at_ms: r.state.answered_at_ms,
            talk_ms: r.state.talk_ms,
            // Written by the server as JSON; kept as text should it ever not parse.
            transfers: serde_json::from_str(&r.state.transfers)
                .unwrap_or(serde_json::Value::String(r.state.transfers)),
            outcome: r.state.outcome.map(|o| o.as_str().to_string()),
            ended_at_ms: r.state.ended_at_ms,
        }
    }
}
