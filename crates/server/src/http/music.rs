//! Background music on paging groups: `GET /api/paging` lists the paging groups with what
//! their music does, `PUT /api/paging/{number}/music` with `{"mode": "on"|"off"|"schedule"}`
//! sets the operator's override. The PBX acts at once, keeps the override across restarts
//! (a setting) and writes a log book entry naming the `X-Switchboard-Actor`.

use super::desk::actor;
use super::{AdminRequest, AppState, ask, json_error};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// A paging group and its background music.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PagingGroupView {
    /// The group's number, name and member extensions.
    pub number: String,
    pub name: String,
    pub members: Vec<String>,
    /// The music-on-hold class; absent when the group has no background music.
    pub music_on_hold: Option<String>,
    /// Whether the music has a schedule, and whether it says the music plays now.
    pub has_schedule: bool,
    pub scheduled: bool,
    /// Whether the music plays now, and to how many member phones.
    pub playing: bool,
    pub listeners: usize,
    /// The operator's override: `on`, `off` or `schedule` (none).
    #[serde(rename = "override")]
    pub override_mode: String,
}

impl From<&pbx::MusicStatus> for PagingGroupView {
    fn from(s: &pbx::MusicStatus) -> Self {
        PagingGroupView {
            number: s.number.clone(),
            name: s.name.clone(),
            members: s.members.clone(),
            music_on_hold: s.music_on_hold.clone(),
            has_schedule: s.has_schedule,
            scheduled: s.scheduled,
            playing: s.playing,
            listeners: s.listeners,
            override_mode: mode_name(s.override_on).into(),
        }
    }
}

/// The body of `PUT /api/paging/{number}/music`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MusicBody {
    /// `on`, `off` or `schedule`.
    pub mode: String,
}

/// `on`, `off` or `schedule` for an override.
pub fn mode_name(on: Option<bool>) -> &'static str {
    match on {
        Some(true) => "on",
        Some(false) => "off",
        None => "schedule",
    }
}

/// The override a mode names (`Err` for anything else).
pub fn parse_mode(text: &str) -> Result<Option<bool>, String> {
    match text {
        "on" => Ok(Some(true)),
        "off" => Ok(Some(false)),
        "schedule" => Ok(None),
        other => Err(format!(
            "unknown mode `{other}`: expected `on`, `off` or `schedule`"
        )),
    }
}

/// The status and message the API answers a refused override with.
pub fn refusal(e: &pbx::MusicError) -> (StatusCode, String) {
    let status = match e {
        pbx::MusicError::NoDialplan => StatusCode::SERVICE_UNAVAILABLE,
        pbx::MusicError::UnknownGroup(_) => StatusCode::NOT_FOUND,
        pbx::MusicError::NoMusic(_) => StatusCode::CONFLICT,
    };
    (status, e.to_string())
}

/// `GET /api/paging`.
pub async fn list(State(state): State<AppState>) -> Response {
    match ask(&state, AdminRequest::Music).await {
        Ok(groups) => {
            let views: Vec<PagingGroupView> = groups.iter().map(PagingGroupView::from).collect();
            Json(views).into_response()
        }
        Err(r) => r,
    }
}

/// `PUT /api/paging/{number}/music`.
pub async fn set(
    State(state): State<AppState>,
    Path(number): Path<String>,
    headers: HeaderMap,
    body: Result<Json<MusicBody>, JsonRejection>,
) -> Response {
    let body = match body {
        Ok(Json(b)) => b,
        Err(r) => return json_error(StatusCode::BAD_REQUEST, r.body_text()),
    };
    let on = match parse_mode(&body.mode) {
        Ok(on) => on,
        Err(e) => return json_error(StatusCode::UNPROCESSABLE_ENTITY, e),
    };
    let by = actor(&headers);
    let answer = ask(&state, |reply| AdminRequest::SetMusic {
        group: number.clone(),
        on,
        by: by.clone(),
        reply,
    })
    .await;
    match answer {
        Ok(Ok(status)) => {
            tracing::info!(group = %number, mode = mode_name(on), by = %by, "background music override set");
            Json(PagingGroupView::from(&status)).into_response()
        }
        Ok(Err(e)) => {
            let (status, message) = refusal(&e);
            json_error(status, message)
        }
        Err(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip() {
        for on in [Some(true), Some(false), None] {
            assert_eq!(parse_mode(mode_name(on)), Ok(on));
        }
        assert!(parse_mode("loud").is_err_and(|e| e.contains("`on`, `off` or `schedule`")));
    }

    #[test]
    fn refusals_have_their_status() {
        assert_eq!(
            refusal(&pbx::MusicError::UnknownGroup("7199".into())).0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            refusal(&pbx::MusicError::NoMusic("7100".into())),
            (
                StatusCode::CONFLICT,
                "paging group 7100 has no background_music".into()
            )
        );
        assert_eq!(
            refusal(&pbx::MusicError::NoDialplan).0,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[test]
    fn the_view_names_the_override() {
        let status = pbx::MusicStatus {
            number: "7100".into(),
            name: "Lobby".into(),
            members: vec!["201".into()],
            music_on_hold: Some("default".into()),
            has_schedule: true,
            scheduled: true,
            playing: false,
            listeners: 0,
            override_on: Some(false),
        };
        let json = serde_json::to_value(PagingGroupView::from(&status)).expect("json");
        assert_eq!(json["override"], "off");
        assert_eq!(json["music_on_hold"], "default");
        assert_eq!(json["playing"], false);
    }
}
