//! The HTTP admin API (JSON): health, registrations, live calls, the
//! operator queue, call records and queue call records (also as CSV),
//! the attendant mode, dialplan reload and calls the PBX places itself
//! (`POST /api/originate`). It listens on
//! `--http-listen` (loopback by default) and asks the core loop for live
//! state through [`AdminRequest`]s.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use store::Store;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

/// A question for the core loop.
#[derive(Debug)]
pub enum AdminRequest {
    /// Current registrations.
    Registrations(oneshot::Sender<Vec<RegistrationView>>),
    /// Calls in progress.
    Calls(oneshot::Sender<Vec<CallView>>),
    /// The operator queue now: waiting callers and operators.
    Queue(oneshot::Sender<QueueView>),
    /// Reload the dialplan; the answer is `Ok` or the problems found.
    Reload(oneshot::Sender<Result<(), String>>),
    /// The attendant mode now.
    Mode(oneshot::Sender<ModeView>),
    /// Set the mode override (`None`: follow the schedule again).
    SetMode(Option<dialplan::Mode>, oneshot::Sender<ModeView>),
    /// Place a call from the PBX (`POST /api/originate`); the answer is the new call's number
    /// (the PBX's `CallKey`) or why it was not placed.
    Originate(
        OriginateRequest,
        oneshot::Sender<Result<u64, OriginateFailure>>,
    ),
}

/// A call for the PBX to place, as `POST /api/originate` accepted it (every field checked
/// against the limits in [`OriginateBody`]); the core loop turns it into a `pbx::Originate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginateRequest {
    /// The extension number to call.
    pub target: String,
    /// The From display name; `None`: the PBX's default ("Switchboard").
    pub display: Option<String>,
    /// Prompt names of the dialplan to play, in order (at least one).
    pub prompts: Vec<String>,
    /// The prompts' language; `None`: the dialplan's default language.
    pub language: Option<String>,
    /// How many digits to collect (0: just play the prompts).
    pub max_digits: usize,
    /// How long to wait for digits after the prompts ended.
    pub digit_timeout: Duration,
}

/// Why a call was not placed: the HTTP status to answer and a message for the `error` field.
///
/// The statuses `POST /api/originate` documents: 404 the target is no extension of the plan,
/// 409 it has no registered phone, 422 a prompt is not in the plan (in that language), 503 no
/// dialplan, no free media ports or too many calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginateFailure {
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong, for people.
    pub message: String,
}

impl OriginateFailure {
    /// A failure answered with `status` and `message`.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        OriginateFailure {
            status,
            message: message.into(),
        }
    }
}

impl From<OriginateRequest> for pbx::Originate {
    fn from(r: OriginateRequest) -> Self {
        pbx::Originate {
            target: r.target,
            display: r.display,
            purpose: pbx::Purpose::Announcement(pbx::Announcement {
                prompts: r.prompts,
                language: r.language,
                max_digits: r.max_digits,
                digit_timeout: r.digit_timeout,
            }),
        }
    }
}

impl From<&pbx::OriginateError> for OriginateFailure {
    fn from(e: &pbx::OriginateError) -> Self {
        use pbx::OriginateError as E;
        let status = match e {
            E::UnknownTarget(_) => 404,
            E::NotRegistered(_) => 409,
            E::UnknownPrompt(_) => 422,
            E::NoDialplan | E::NoMediaPorts | E::TooManyCalls => 503,
        };
        OriginateFailure::new(status, e.to_string())
    }
}

/// The most digits a placed call may collect.
pub const MAX_ORIGINATE_DIGITS: usize = 20;
/// The digit timeout a placed call gets when the request names none, seconds.
pub const DEFAULT_DIGIT_TIMEOUT_S: u64 = 10;
/// The longest digit timeout a request may ask for, seconds.
pub const MAX_DIGIT_TIMEOUT_S: u64 = 120;
/// The most prompts one placed call may play.
pub const MAX_ORIGINATE_PROMPTS: usize = 32;
/// The longest target, prompt name, language or display name accepted, in characters.
const MAX_ORIGINATE_TEXT: usize = 64;
/// The largest `POST /api/originate` body accepted, bytes.
pub const ORIGINATE_BODY_LIMIT: usize = 16 * 1024;

/// The JSON body of `POST /api/originate` (what `switchboard originate` sends). Unknown fields are
/// refused, so a misspelt option is an error rather than silently ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OriginateBody {
    /// The extension number to call.
    pub target: String,
    /// Prompt names of the dialplan, at least one.
    pub prompts: Vec<String>,
    /// The prompts' language (default: the dialplan's default language).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// How many digits to collect, 0 to [`MAX_ORIGINATE_DIGITS`] (default 0: just play).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_digits: Option<usize>,
    /// Seconds to wait for digits after the prompts, 1 to [`MAX_DIGIT_TIMEOUT_S`] (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digit_timeout_s: Option<u64>,
    /// The display name the called phone shows (default "Switchboard").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl OriginateBody {
    /// Reads a request body: a JSON object with these fields (serde would also take an array of
    /// the values in order, which this refuses), checked with [`OriginateBody::validate`].
    pub fn parse(body: &[u8]) -> Result<OriginateRequest, String> {
        let expected = r#"expected a JSON object such as {"target":"201","prompts":["welcome"]}"#;
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| format!("{expected}: {e}"))?;
        if !value.is_object() {
            return Err(format!("{expected}, found {}", json_type(&value)));
        }
        serde_json::from_value::<OriginateBody>(value)
            .map_err(|e| format!("{expected}: {e}"))?
            .validate()
    }

    /// Checks the limits and fills in the defaults; the error says which field is wrong.
    pub fn validate(self) -> Result<OriginateRequest, String> {
        text_field("target", &self.target)?;
        if self.prompts.is_empty() {
            return Err("`prompts` must name at least one prompt".into());
        }
        if self.prompts.len() > MAX_ORIGINATE_PROMPTS {
            return Err(format!(
                "`prompts` may name at most {MAX_ORIGINATE_PROMPTS} prompts, found {}",
                self.prompts.len()
            ));
        }
        for p in &self.prompts {
            text_field("prompts", p)?;
        }
        if let Some(l) = &self.language {
            text_field("language", l)?;
        }
        if let Some(d) = &self.display {
            text_field("display", d)?;
        }
        let max_digits = self.max_digits.unwrap_or(0);
        if max_digits > MAX_ORIGINATE_DIGITS {
            return Err(format!(
                "`max_digits` must be 0 to {MAX_ORIGINATE_DIGITS}, found {max_digits}"
            ));
        }
        let timeout = self.digit_timeout_s.unwrap_or(DEFAULT_DIGIT_TIMEOUT_S);
        if !(1..=MAX_DIGIT_TIMEOUT_S).contains(&timeout) {
            return Err(format!(
                "`digit_timeout_s` must be 1 to {MAX_DIGIT_TIMEOUT_S} seconds, found {timeout}"
            ));
        }
        Ok(OriginateRequest {
            target: self.target,
            display: self.display,
            prompts: self.prompts,
            language: self.language,
            max_digits,
            digit_timeout: Duration::from_secs(timeout),
        })
    }
}

/// The JSON type of `value`, for messages.
fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Refuses empty text, control characters (they could end a SIP header line) and text longer than
/// [`MAX_ORIGINATE_TEXT`] characters in field `name`.
fn text_field(name: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("`{name}` must not be empty"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("`{name}` must not contain control characters"));
    }
    let length = value.chars().count();
    if length > MAX_ORIGINATE_TEXT {
        return Err(format!(
            "`{name}` may have at most {MAX_ORIGINATE_TEXT} characters, found {length}"
        ));
    }
    Ok(())
}

/// The answer to a successful `POST /api/originate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginateAccepted {
    /// The placed call's number (the PBX's `CallKey`, as in the server's log).
    pub call: u64,
}

/// The body of an error answer of `POST /api/originate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// What went wrong.
    pub error: String,
}

/// A JSON error answer.
fn json_error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(ApiError {
            error: message.into(),
        }),
    )
        .into_response()
}

/// The attendant mode, as shown by the API.
#[derive(Debug, Clone, Serialize)]
pub struct ModeView {
    /// The mode new calls get now: `automatic` or `manual`.
    pub mode: Option<String>,
    /// The operator's override, if one is set; otherwise the schedule decides.
    pub override_mode: Option<String>,
}

#[derive(Deserialize)]
struct SetMode {
    mode: String,
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

#[derive(Clone)]
struct AppState {
    admin: mpsc::Sender<AdminRequest>,
    store: Store,
}

#[derive(Deserialize)]
struct Limit {
    limit: Option<u32>,
}

/// Serves the API until the process ends.
pub async fn serve(listener: TcpListener, admin: mpsc::Sender<AdminRequest>, store: Store) {
    let app = Router::new()
        .route("/health", get(|| async { "ok\n" }))
        .route("/api/registrations", get(registrations))
        .route("/api/calls", get(calls))
        .route("/api/cdr", get(cdr))
        .route("/api/cdr.csv", get(cdr_csv))
        .route("/api/queue", get(queue))
        .route("/api/queue-calls", get(queue_calls))
        .route("/api/queue-calls.csv", get(queue_calls_csv))
        .route("/api/reload", post(reload))
        .route("/api/mode", get(mode).post(set_mode))
        .route(
            "/api/originate",
            post(originate).layer(DefaultBodyLimit::max(ORIGINATE_BODY_LIMIT)),
        )
        .with_state(AppState { admin, store });
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "HTTP admin API stopped");
    }
}

async fn ask<T>(
    state: &AppState,
    make: impl FnOnce(oneshot::Sender<T>) -> AdminRequest,
) -> Result<T, Response> {
    let (tx, rx) = oneshot::channel();
    let unavailable =
        || (StatusCode::SERVICE_UNAVAILABLE, "server is shutting down\n").into_response();
    state
        .admin
        .send(make(tx))
        .await
        .map_err(|_| unavailable())?;
    rx.await.map_err(|_| unavailable())
}

async fn registrations(State(state): State<AppState>) -> Response {
    match ask(&state, AdminRequest::Registrations).await {
        Ok(v) => Json(v).into_response(),
        Err(r) => r,
    }
}

async fn calls(State(state): State<AppState>) -> Response {
    match ask(&state, AdminRequest::Calls).await {
        Ok(v) => Json(v).into_response(),
        Err(r) => r,
    }
}

#[derive(Serialize)]
struct CdrView {
    id: i64,
    call_id: String,
    caller: String,
    callee: String,
    /// `internal` (a phone called) or `placed` (the PBX called, see `purpose`).
    kind: &'static str,
    /// Why the PBX placed the call (`announcement`); `null` for other calls.
    purpose: Option<String>,
    /// The digits the called party typed in a placed call, if any.
    digits: Option<String>,
    started_at_ms: i64,
    answered_at_ms: Option<i64>,
    ended_at_ms: Option<i64>,
    outcome: Option<String>,
    hangup_by: Option<String>,
    /// Per-leg media quality (packets, loss, jitter, RTT), as recorded.
    quality: Option<serde_json::Value>,
}

async fn cdr(State(state): State<AppState>, Query(q): Query<Limit>) -> Response {
    match state.store.recent_calls(q.limit.unwrap_or(100)).await {
        Ok(rows) => Json(
            rows.into_iter()
                .map(|r| CdrView {
                    id: r.id,
                    call_id: r.call_id,
                    caller: r.caller,
                    callee: r.callee,
                    kind: r.kind.as_str(),
                    purpose: r.purpose,
                    digits: r.digits,
                    started_at_ms: r.started_at_ms,
                    answered_at_ms: r.answered_at_ms,
                    ended_at_ms: r.ended_at_ms,
                    outcome: r.outcome.map(|o| o.as_str().to_string()),
                    hangup_by: r.hangup_by.map(|h| h.as_str().to_string()),
                    quality: r.quality.and_then(|q| serde_json::from_str(&q).ok()),
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

async fn cdr_csv(State(state): State<AppState>, Query(q): Query<Limit>) -> Response {
    match state.store.calls_csv(q.limit.unwrap_or(1000)).await {
        Ok(csv) => ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

async fn queue(State(state): State<AppState>) -> Response {
    match ask(&state, AdminRequest::Queue).await {
        Ok(v) => Json(v).into_response(),
        Err(r) => r,
    }
}

async fn queue_calls(State(state): State<AppState>, Query(q): Query<Limit>) -> Response {
    match state.store.recent_queue_calls(q.limit.unwrap_or(100)).await {
        Ok(rows) => Json(
            rows.into_iter()
                .map(QueueCallView::from)
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

async fn queue_calls_csv(State(state): State<AppState>, Query(q): Query<Limit>) -> Response {
    match state.store.queue_calls_csv(q.limit.unwrap_or(1000)).await {
        Ok(csv) => ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

async fn reload(State(state): State<AppState>) -> Response {
    match ask(&state, AdminRequest::Reload).await {
        Ok(Ok(())) => (StatusCode::OK, "reloaded\n").into_response(),
        Ok(Err(problems)) => (StatusCode::UNPROCESSABLE_ENTITY, problems).into_response(),
        Err(r) => r,
    }
}

async fn mode(State(state): State<AppState>) -> Response {
    match ask(&state, AdminRequest::Mode).await {
        Ok(v) => Json(v).into_response(),
        Err(r) => r,
    }
}

async fn set_mode(State(state): State<AppState>, Json(body): Json<SetMode>) -> Response {
    let mode = match body.mode.as_str() {
        "automatic" => Some(dialplan::Mode::Automatic),
        "manual" => Some(dialplan::Mode::Manual),
        "schedule" => None,
        other => {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("expected mode `automatic`, `manual` or `schedule`, found `{other}`\n"),
            )
                .into_response();
        }
    };
    match ask(&state, |tx| AdminRequest::SetMode(mode, tx)).await {
        Ok(v) => Json(v).into_response(),
        Err(r) => r,
    }
}

async fn originate(State(state): State<AppState>, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return json_error(rejection.status(), rejection.body_text()),
    };
    let request = match OriginateBody::parse(&body) {
        Ok(request) => request,
        Err(message) => return json_error(StatusCode::BAD_REQUEST, message),
    };
    let (tx, rx) = oneshot::channel();
    let shutting_down = || json_error(StatusCode::SERVICE_UNAVAILABLE, "server is shutting down");
    if state
        .admin
        .send(AdminRequest::Originate(request, tx))
        .await
        .is_err()
    {
        return shutting_down();
    }
    match rx.await {
        Ok(Ok(call)) => (StatusCode::ACCEPTED, Json(OriginateAccepted { call })).into_response(),
        Ok(Err(failure)) => json_error(
            StatusCode::from_u16(failure.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            failure.message,
        ),
        Err(_) => shutting_down(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> Result<OriginateRequest, String> {
        OriginateBody::parse(json.as_bytes())
    }

    #[test]
    fn originate_body_defaults_and_limits() {
        assert_eq!(
            body(r#"{"target":"201","prompts":["welcome"]}"#),
            Ok(OriginateRequest {
                target: "201".into(),
                display: None,
                prompts: vec!["welcome".into()],
                language: None,
                max_digits: 0,
                digit_timeout: Duration::from_secs(10),
            })
        );
        assert_eq!(
            body(
                r#"{"target":"201","prompts":["welcome","goodbye"],"language":"en","max_digits":1,"digit_timeout_s":10,"display":"Front desk"}"#
            ),
            Ok(OriginateRequest {
                target: "201".into(),
                display: Some("Front desk".into()),
                prompts: vec!["welcome".into(), "goodbye".into()],
                language: Some("en".into()),
                max_digits: 1,
                digit_timeout: Duration::from_secs(10),
            })
        );
        let refused = [
            (r#"{"target":"201","prompts":[]}"#, "at least one prompt"),
            (r#"{"target":"201"}"#, "missing field `prompts`"),
            (r#"{"prompts":["welcome"]}"#, "missing field `target`"),
            (
                r#"{"target":"","prompts":["welcome"]}"#,
                "`target` must not be empty",
            ),
            (
                r#"{"target":"201","prompts":["welcome"],"max_digits":21}"#,
                "`max_digits` must be 0 to 20",
            ),
            (
                r#"{"target":"201","prompts":["welcome"],"max_digits":-1}"#,
                "invalid value",
            ),
            (
                r#"{"target":"201","prompts":["welcome"],"digit_timeout_s":0}"#,
                "1 to 120 seconds, found 0",
            ),
            (
                r#"{"target":"201","prompts":["welcome"],"digit_timeout_s":121}"#,
                "found 121",
            ),
            (
                r#"{"target":"201","prompts":["welcome"],"digits":1}"#,
                "unknown field `digits`",
            ),
            (
                r#"{"target":"201","prompts":["welcome"],"display":"a\r\nX-Evil: 1"}"#,
                "control characters",
            ),
            (
                r#"{"target":"201","prompts":[""]}"#,
                "`prompts` must not be empty",
            ),
            (
                r#"["201",["welcome"],null,null,null,null]"#,
                "found an array",
            ),
            ("{", "EOF while parsing"),
        ];
        for (json, expected) in refused {
            let err = body(json).expect_err(json);
            assert!(
                err.contains(expected),
                "{json}: expected `{expected}` in `{err}`"
            );
        }
        let long = "x".repeat(65);
        let err = body(&format!(
            r#"{{"target":"201","prompts":["welcome"],"display":"{long}"}}"#
        ))
        .unwrap_err();
        assert!(err.contains("at most 64 characters, found 65"), "{err}");
    }

    #[test]
    fn originate_errors_map_to_the_documented_statuses() {
        use pbx::OriginateError as E;
        let cases = [
            (E::UnknownTarget("999".into()), 404),
            (E::NotRegistered("202".into()), 409),
            (E::UnknownPrompt("nope (en)".into()), 422),
            (E::NoDialplan, 503),
            (E::NoMediaPorts, 503),
            (E::TooManyCalls, 503),
        ];
        for (error, status) in cases {
            let failure = OriginateFailure::from(&error);
            assert_eq!(failure.status, status, "{error:?}");
            assert_eq!(failure.message, error.to_string());
        }
    }

    #[test]
    fn originate_body_serializes_only_what_was_given() {
        let body = OriginateBody {
            target: "201".into(),
            prompts: vec!["welcome".into()],
            language: None,
            max_digits: Some(1),
            digit_timeout_s: None,
            display: None,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"target":"201","prompts":["welcome"],"max_digits":1}"#
        );
    }
}
