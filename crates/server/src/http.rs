//! The HTTP admin API (JSON): health, registrations, live calls, call
//! records (also as CSV) and dialplan reload. It listens on
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
