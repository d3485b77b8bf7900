//! The HTTP admin API (JSON): health, registrations, live calls, the
//! operator queue, call records and queue call records (also as CSV),
//! the attendant mode, dialplan reload, calls the PBX places itself
//! (`POST /api/originate`), the front desk and paging groups' background music. It listens on
//! `--http-listen` (loopback by default) and asks the core loop for live
//! state through [`AdminRequest`]s.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use store::Store;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

mod desk;
mod desk_views;
mod music;
mod originate;
mod views;
pub use desk::ACTOR_HEADER;
pub use desk_views::*;
pub use music::{MusicBody, PagingGroupView};
pub use originate::{
    ApiError, DEFAULT_DIGIT_TIMEOUT_S, ORIGINATE_BODY_LIMIT, OriginateAccepted, OriginateBody,
    OriginateFailure, OriginateRequest,
};
pub use views::*;

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
    /// The plan new calls run (the front desk checks rooms and languages against it).
    Plan(oneshot::Sender<Option<std::sync::Arc<dialplan::Plan>>>),
    /// Whether line `number` may forward to `target`, with every line's forwarding as it
    /// is now (the reason if not).
    CheckForward {
        /// The line.
        number: String,
        /// The target asked for.
        target: String,
        /// `Ok`, or why not.
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// A committed change of guests or line settings, for the PBX to route by.
    Hotel(pbx::hotel::HotelUpdate, oneshot::Sender<()>),
    /// The paging groups and their background music now.
    Music(oneshot::Sender<Vec<pbx::MusicStatus>>),
    /// Set a paging group's background-music override (`None`: its schedule again).
    SetMusic {
        /// The paging group's number.
        group: String,
        /// Forced on, forced off, or the schedule.
        on: Option<bool>,
        /// Who the log book names.
        by: String,
        /// The group's state after it, or why not.
        reply: oneshot::Sender<Result<pbx::MusicStatus, pbx::MusicError>>,
    },
}

/// A JSON error answer.
pub(crate) fn json_error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(ApiError {
            error: message.into(),
        }),
    )
        .into_response()
}

#[derive(Clone)]
pub(crate) struct AppState {
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
        .route("/api/guests", get(desk::list))
        .route("/api/guests/search", get(desk::search))
        .route(
            "/api/guests/check-in",
            post(desk::check_in).layer(DefaultBodyLimit::max(desk::DESK_BODY_LIMIT)),
        )
        .route(
            "/api/guests/expect",
            post(desk::expect).layer(DefaultBodyLimit::max(desk::DESK_BODY_LIMIT)),
        )
        .route(
            "/api/guests/move",
            post(desk::move_stay).layer(DefaultBodyLimit::max(desk::DESK_BODY_LIMIT)),
        )
        .route(
            "/api/guests/check-out",
            post(desk::check_out).layer(DefaultBodyLimit::max(desk::DESK_BODY_LIMIT)),
        )
        .route("/api/rooms/{room}", get(desk::room_state))
        .route(
            "/api/lines/{number}/dnd",
            put(desk::set_dnd).layer(DefaultBodyLimit::max(desk::DESK_BODY_LIMIT)),
        )
        .route(
            "/api/lines/{number}/forward/{kind}",
            put(desk::set_forward).layer(DefaultBodyLimit::max(desk::DESK_BODY_LIMIT)),
        )
        .route("/api/logbook", get(desk::logbook))
        .route("/api/paging", get(music::list))
        .route(
            "/api/paging/{number}/music",
            put(music::set).layer(DefaultBodyLimit::max(desk::DESK_BODY_LIMIT)),
        )
        .with_state(AppState { admin, store });
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "HTTP admin API stopped");
    }
}

pub(crate) async fn ask<T>(
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
    purpose: Option<&'static str>,
    /// The digits the called party typed in a placed call, if any.
    digits: Option<String>,
    started_at_ms: i64,
    answered_at_ms: Option<i64>,
    ended_at_ms: Option<i64>,
    outcome: Option<&'static str>,
    hangup_by: Option<&'static str>,
    /// Per-leg media quality (packets, loss, jitter, RTT), as recorded.
    quality: Option<serde_json::Value>,
    /// The name staff phones were shown for the caller (a hotel room's guest).
    caller_name: Option<String>,
    /// The number rung instead of `callee` by the dialled line's forwarding.
    forwarded_to: Option<String>,
    /// Which forwarding applied: `always`, `busy` or `no_answer`.
    forward_reason: Option<&'static str>,
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
                    purpose: r.purpose.map(|p| p.as_str()),
                    digits: r.digits,
                    started_at_ms: r.started_at_ms,
                    answered_at_ms: r.answered_at_ms,
                    ended_at_ms: r.ended_at_ms,
                    outcome: r.outcome.map(|o| o.as_str()),
                    hangup_by: r.hangup_by.map(|h| h.as_str()),
                    quality: r.quality.and_then(|q| serde_json::from_str(&q).ok()),
                    caller_name: r.caller_name,
                    forwarded_to: r.forwarded_to,
                    forward_reason: r.forward_reason.map(|f| f.as_str()),
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
