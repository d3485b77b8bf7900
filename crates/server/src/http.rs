//! The HTTP admin API (JSON): health, registrations, live calls, the
//! operator queue, call records and queue call records (also as CSV),
//! the attendant mode and dialplan reload. It listens on
//! `--http-listen` (loopback by default) and asks the core loop for live
//! state through [`AdminRequest`]s.

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
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
