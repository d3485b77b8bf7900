//! The front desk's API: check-in, expected arrivals, room moves, check-out, guest lists
//! and search, a room's state, a line's do-not-disturb and forwarding, and the log book.
//!
//! Each change is checked against the dialplan the server runs (the room exists and is a
//! room, the language is one of the plan's, the forwarding target exists and makes no
//! loop), committed in one database transaction with its log book entry, and only then
//! handed to the PBX, which routes new calls by it at once. A refusal is a 4xx with a
//! JSON `{"error": ...}` naming the reason; nothing of a refused change is written.

use super::desk_views::*;
use super::{AdminRequest, AppState, ask, json_error};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use dialplan::{ExtensionKind, Plan};
use serde::Deserialize;
use std::sync::Arc;
use store::{ForwardKind, GuestError, Line, NewStay, StoreError};

/// The largest front-desk request body accepted (a guest with companions fits many times over).
pub const DESK_BODY_LIMIT: usize = 16 * 1024;

/// The header a client names itself with in the log book (`cli` for the command line).
pub const ACTOR_HEADER: &str = "x-switchboard-actor";

/// Who the log book names for a request: the client's `X-Switchboard-Actor` (lower-case
/// letters, digits, `.`, `_`, `-`; at most 32), else `api`. Until the API has users this
/// is what the client says, not who proved it.
pub(super) fn actor(headers: &HeaderMap) -> String {
    headers
        .get(ACTOR_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=32).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        })
        .unwrap_or("api")
        .to_string()
}

/// A refusal as the API answers it.
struct Refused(StatusCode, String);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        json_error(self.0, self.1)
    }
}

impl From<GuestError> for Refused {
    fn from(e: GuestError) -> Self {
        match e {
            GuestError::RoomOccupied { .. }
            | GuestError::RoomVacant { .. }
            | GuestError::SameRoom { .. } => Refused(StatusCode::CONFLICT, e.to_string()),
            GuestError::Store(e) => Refused::from(e),
        }
    }
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid { .. } => Refused(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
            other => {
                tracing::error!(error = %other, "front desk: database failure");
                Refused(StatusCode::INTERNAL_SERVER_ERROR, other.to_string())
            }
        }
    }
}

type Answer<T> = Result<T, Refused>;

fn body<T>(body: Result<Json<T>, JsonRejection>) -> Answer<T> {
    body.map(|Json(b)| b)
        .map_err(|r| Refused(StatusCode::BAD_REQUEST, r.body_text()))
}

async fn plan(state: &AppState) -> Answer<Arc<Plan>> {
    let unavailable = || {
        Refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "server is shutting down".into(),
        )
    };
    ask(state, AdminRequest::Plan)
        .await
        .map_err(|_| unavailable())?
        .ok_or_else(|| {
            Refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "no dialplan is loaded".into(),
            )
        })
}

/// Tells the PBX about a committed change.
async fn publish(state: &AppState, update: pbx::hotel::HotelUpdate) {
    let _ = ask(state, |tx| AdminRequest::Hotel(update, tx)).await;
}

/// `number` must be a room of the plan.
fn room<'p>(plan: &'p Plan, number: &str) -> Answer<&'p dialplan::Extension> {
    match plan.extension(number) {
        Some(e) if e.kind == ExtensionKind::Room => Ok(e),
        Some(_) => Err(Refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{number} is not a room (its kind in the dialplan is not `room`)"),
        )),
        None if plan.is_retired(number) => Err(Refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{number} is a retired number"),
        )),
        None => Err(Refused(
            StatusCode::NOT_FOUND,
            format!("{number} is not a room of the dialplan"),
        )),
    }
}

/// The line of an extension number: a room's belongs to its guest.
fn line<'n>(plan: &Plan, number: &'n str) -> Answer<Line<'n>> {
    match plan.extension(number) {
        Some(e) if e.kind == ExtensionKind::Room => Ok(Line::Room(number)),
        Some(_) => Ok(Line::Extension(number)),
        None => Err(Refused(
            StatusCode::NOT_FOUND,
            format!("{number} is not an extension of the dialplan"),
        )),
    }
}

fn check_language(plan: &Plan, language: Option<&str>) -> Answer<()> {
    let Some(language) = language else {
        return Ok(());
    };
    if plan.languages().iter().any(|(code, _)| code == language) {
        return Ok(());
    }
    let codes: Vec<&str> = plan.languages().iter().map(|(c, _)| c.as_str()).collect();
    Err(Refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        format!(
            "language `{language}` is not one of the dialplan's prompt languages: {}",
            codes.join(", ")
        ),
    ))
}

/// The hotel's date today, `YYYY-MM-DD`, in the plan's time zone.
fn today(plan: &Plan) -> String {
    let now =
        jiff::Timestamp::from_millisecond(crate::wall_ms()).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    now.to_zoned_datetime(plan.settings().time_zone.clone())
        .date()
        .to_string()
}

/// A random voicemail PIN of four digits.
fn new_pin() -> String {
    let mut bytes = [0u8; 4];
    if getrandom::fill(&mut bytes).is_err() {
        tracing::error!("the OS random generator failed; cannot generate a PIN");
    }
    format!("{:04}", u32::from_le_bytes(bytes) % 10_000)
}

fn check_pin(pin: &str) -> Answer<()> {
    if (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the PIN must be 4 to 8 digits".into(),
        ))
    }
}

fn new_stay(b: GuestBody) -> NewStay {
    NewStay {
        room: b.room,
        name: b.name,
        title: b.title,
        language: b.language,
        vip_note: b.vip,
        companions: b.companions,
        arrival: b.arrival,
        departure: b.departure,
        pin: b.pin,
    }
}

fn reply<T: serde::Serialize>(status: StatusCode, answer: Answer<T>) -> Response {
    match answer {
        Ok(v) => (status, Json(v)).into_response(),
        Err(r) => r.into_response(),
    }
}

/// `POST /api/guests/check-in`.
pub async fn check_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    b: Result<Json<GuestBody>, JsonRejection>,
) -> Response {
    reply(StatusCode::CREATED, do_check_in(&state, &headers, b).await)
}

async fn do_check_in(
    state: &AppState,
    headers: &HeaderMap,
    b: Result<Json<GuestBody>, JsonRejection>,
) -> Answer<CheckedInView> {
    let mut b = body(b)?;
    let plan = plan(state).await?;
    room(&plan, &b.room)?;
    check_language(&plan, b.language.as_deref())?;
    match &b.pin {
        Some(pin) => check_pin(pin)?,
        None => b.pin = Some(new_pin()),
    }
    if b.arrival.is_none() {
        b.arrival = Some(today(&plan));
    }
    let stay = state
        .store
        .check_in(&new_stay(b), &actor(headers), crate::wall_ms())
        .await?;
    publish(
        state,
        crate::hotel_state::room_update(&stay.room, Some(&stay)),
    )
    .await;
    tracing::info!(room = %stay.room, stay = stay.id, "guest checked in");
    Ok(CheckedInView {
        pin: stay.pin.clone().unwrap_or_default(),
        stay: StayView::from(&stay),
    })
}

/// `POST /api/guests/expect`.
pub async fn expect(
    State(state): State<AppState>,
    headers: HeaderMap,
    b: Result<Json<GuestBody>, JsonRejection>,
) -> Response {
    let answer = async {
        let b = body(b)?;
        let plan = plan(&state).await?;
        room(&plan, &b.room)?;
        check_language(&plan, b.language.as_deref())?;
        if let Some(pin) = &b.pin {
            check_pin(pin)?;
        }
        let stay = state
            .store
            .expect_arrival(&new_stay(b), &actor(&headers), crate::wall_ms())
            .await?;
        Ok(StayView::from(&stay))
    }
    .await;
    reply(StatusCode::CREATED, answer)
}

/// `POST /api/guests/move`.
pub async fn move_stay(
    State(state): State<AppState>,
    headers: HeaderMap,
    b: Result<Json<MoveBody>, JsonRejection>,
) -> Response {
    let answer = async {
        let b = body(b)?;
        let plan = plan(&state).await?;
        room(&plan, &b.from)?;
        room(&plan, &b.to)?;
        let stay = state
            .store
            .move_stay(&b.from, &b.to, &actor(&headers), crate::wall_ms())
            .await?;
        publish(&state, crate::hotel_state::room_update(&b.from, None)).await;
        publish(&state, crate::hotel_state::room_update(&b.to, Some(&stay))).await;
        tracing::info!(from = %b.from, to = %b.to, stay = stay.id, "guest moved");
        Ok(StayView::from(&stay))
    }
    .await;
    reply(StatusCode::OK, answer)
}

/// `POST /api/guests/check-out`.
pub async fn check_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    b: Result<Json<RoomBody>, JsonRejection>,
) -> Response {
    let answer = async {
        let b = body(b)?;
        let plan = plan(&state).await?;
        room(&plan, &b.room)?;
        let stay = state
            .store
            .check_out(&b.room, &actor(&headers), crate::wall_ms())
            .await?;
        publish(&state, crate::hotel_state::room_update(&b.room, None)).await;
        tracing::info!(room = %b.room, stay = stay.id, "guest checked out");
        Ok(StayView::from(&stay))
    }
    .await;
    reply(StatusCode::OK, answer)
}

/// `GET /api/guests?date=YYYY-MM-DD`.
#[derive(Deserialize)]
pub struct ListQuery {
    date: Option<String>,
}

/// `GET /api/guests`: guests in house and the day's expected arrivals.
pub async fn list(State(state): State<AppState>, Query(q): Query<ListQuery>) -> Response {
    let answer = async {
        let plan = plan(&state).await?;
        let date = match q.date {
            Some(d) => d
                .parse::<jiff::civil::Date>()
                .map_err(|_| {
                    Refused(
                        StatusCode::BAD_REQUEST,
                        format!("expected a date YYYY-MM-DD, got `{d}`"),
                    )
                })?
                .to_string(),
            None => today(&plan),
        };
        let in_house = state.store.stays_in_house().await?;
        let expected = state.store.stays_expected(Some(&date)).await?;
        Ok(GuestListView {
            date,
            in_house: in_house.iter().map(StayView::from).collect(),
            expected: expected.iter().map(StayView::from).collect(),
        })
    }
    .await;
    reply(StatusCode::OK, answer)
}

/// `GET /api/guests/search?q=TEXT`.
#[derive(Deserialize)]
pub struct SearchQuery {
    q: String,
}

/// `GET /api/guests/search`: in-house and expected guests whose name, title, room or
/// companions contain the text (case-insensitive).
pub async fn search(State(state): State<AppState>, Query(q): Query<SearchQuery>) -> Response {
    let answer = async {
        if q.q.trim().is_empty() {
            return Err(Refused(
                StatusCode::BAD_REQUEST,
                "expected some text to search for".into(),
            ));
        }
        let found = state.store.find_stays(q.q.trim()).await?;
        Ok(found.iter().map(StayView::from).collect::<Vec<_>>())
    }
    .await;
    reply(StatusCode::OK, answer)
}

/// `GET /api/rooms/{room}`.
pub async fn room_state(State(state): State<AppState>, Path(number): Path<String>) -> Response {
    let answer = async {
        let plan = plan(&state).await?;
        let ext = room(&plan, &number)?;
        let guest = state.store.stay_in(&number).await?;
        let expected: Vec<_> = state
            .store
            .stays_expected(None)
            .await?
            .into_iter()
            .filter(|s| s.room == number)
            .collect();
        let moves = match &guest {
            Some(g) => state.store.stay_moves(g.id).await?,
            None => Vec::new(),
        };
        let caller_display = match &guest {
            Some(g) => crate::hotel_state::guest_of(g).0.caller_display(&number),
            None => pbx::hotel::vacant_display(&number),
        };
        Ok(RoomView {
            room: number.clone(),
            name: ext.name.clone(),
            state: if guest.is_some() {
                "occupied"
            } else {
                "vacant"
            }
            .into(),
            guest: guest.as_ref().map(StayView::from),
            expected: expected.iter().map(StayView::from).collect(),
            caller_display,
            moves: moves
                .into_iter()
                .map(|m| MoveView {
                    from: m.from_room,
                    to: m.to_room,
                    at_ms: m.at_ms,
                    by: m.actor,
                })
                .collect(),
        })
    }
    .await;
    reply(StatusCode::OK, answer)
}

/// After a line's change: the PBX gets the room's stay or the extension's settings.
async fn publish_line(
    state: &AppState,
    line: Line<'_>,
    settings: &store::LineSettings,
) -> Answer<()> {
    let update = match line {
        Line::Room(room) => {
            let stay = state.store.stay_in(room).await?;
            crate::hotel_state::room_update(room, stay.as_ref())
        }
        Line::Extension(number) => pbx::hotel::HotelUpdate::Line {
            number: number.to_string(),
            settings: settings.clone(),
        },
    };
    publish(state, update).await;
    Ok(())
}

fn line_view(number: &str, s: &store::LineSettings) -> LineView {
    LineView {
        number: number.to_string(),
        dnd: s.dnd,
        forwarding: ForwardingView::from(&s.forwarding),
    }
}

/// `PUT /api/lines/{number}/dnd`.
pub async fn set_dnd(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(number): Path<String>,
    b: Result<Json<DndBody>, JsonRejection>,
) -> Response {
    let answer = async {
        let b = body(b)?;
        let plan = plan(&state).await?;
        let line = line(&plan, &number)?;
        let settings = state
            .store
            .set_dnd(line, b.on, &actor(&headers), crate::wall_ms())
            .await?;
        publish_line(&state, line, &settings).await?;
        tracing::info!(line = %number, on = b.on, "do-not-disturb set from the admin API");
        Ok(line_view(&number, &settings))
    }
    .await;
    reply(StatusCode::OK, answer)
}

/// `PUT /api/lines/{number}/forward/{kind}` (`always`, `busy`, `no_answer`).
pub async fn set_forward(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((number, kind)): Path<(String, String)>,
    b: Result<Json<ForwardBody>, JsonRejection>,
) -> Response {
    let answer = async {
        let b = body(b)?;
        let kind = ForwardKind::parse(&kind).ok_or_else(|| {
            Refused(
                StatusCode::NOT_FOUND,
                format!("expected forwarding `always`, `busy` or `no_answer`, got `{kind}`"),
            )
        })?;
        let plan = plan(&state).await?;
        let line = line(&plan, &number)?;
        if let Some(target) = &b.target {
            let check = ask(&state, |reply| AdminRequest::CheckForward {
                number: number.clone(),
                target: target.clone(),
                reply,
            })
            .await
            .map_err(|_| {
                Refused(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "server is shutting down".into(),
                )
            })?;
            check.map_err(|why| Refused(StatusCode::UNPROCESSABLE_ENTITY, why))?;
        }
        let settings = state
            .store
            .set_forward(line, kind, b.target.as_deref(), &actor(&headers), crate::wall_ms())
            .await?;
        publish_line(&state, line, &settings).await?;
        tracing::info!(line = %number, kind = kind.as_str(), target = ?b.target, "forwarding set from the admin API");
        Ok(line_view(&number, &settings))
    }
    .await;
    reply(StatusCode::OK, answer)
}

/// `GET /api/logbook?since_ms=…&limit=…`.
#[derive(Deserialize)]
pub struct LogQuery {
    since_ms: Option<i64>,
    limit: Option<u32>,
}

/// `GET /api/logbook`: entries from `since_ms` (default: the last 24 hours), oldest first.
pub async fn logbook(State(state): State<AppState>, Query(q): Query<LogQuery>) -> Response {
    let since = q
        .since_ms
        .unwrap_or_else(|| crate::wall_ms() - 24 * 3_600_000);
    let answer = async {
        let entries = state
            .store
            .logbook(since, q.limit.unwrap_or(500).min(5_000))
            .await?;
        Ok(entries.iter().map(LogEntryView::from).collect::<Vec<_>>())
    }
    .await;
    reply(StatusCode::OK, answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actor_is_what_the_client_says_within_limits() {
        let mut h = HeaderMap::new();
        assert_eq!(actor(&h), "api");
        h.insert(ACTOR_HEADER, "cli".parse().unwrap());
        assert_eq!(actor(&h), "cli");
        h.insert(ACTOR_HEADER, "Robert'); DROP".parse().unwrap());
        assert_eq!(actor(&h), "api");
        h.insert(ACTOR_HEADER, "a".repeat(33).parse().unwrap());
        assert_eq!(actor(&h), "api");
    }

    #[test]
    fn pins_are_four_digits_and_checked() {
        for _ in 0..50 {
            let pin = new_pin();
            assert_eq!(pin.len(), 4);
            assert!(check_pin(&pin).is_ok());
        }
        assert!(check_pin("123").is_err());
        assert!(check_pin("12a4").is_err());
        assert!(check_pin("123456789").is_err());
    }
}
