//! `switchboard guest | room | dnd | forward | logbook | music`: the front desk on the
//! command line. Each verb is one request to the running server's admin API
//! (`/api/guests/...`, `/api/rooms/...`, `/api/lines/...`, `/api/logbook`, `/api/paging`); a refusal prints the API's reason
//! and exits 1. The log book names these changes `cli`.

use crate::cli::{ForwardWhen, GuestAction, GuestArgs, MusicMode, OnOff};
use crate::http::{
    ApiError, CheckedInView, DndBody, ForwardBody, ForwardingView, GuestBody, GuestListView,
    LineView, LogEntryView, MoveBody, MusicBody, PagingGroupView, RoomBody, RoomView, StayView,
};
use crate::queue_report::{http_request, table};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Sends one request; the answer's body on a 2xx, else the API's reason.
fn call<B: Serialize, T: DeserializeOwned>(
    http: &str,
    method: &str,
    path: &str,
    body: Option<&B>,
) -> Result<(T, String), String> {
    let json = body
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| e.to_string())?;
    let (status, answer) = http_request(http, method, path, json.as_deref())?;
    if !(200..300).contains(&status) {
        let reason = serde_json::from_str::<ApiError>(&answer)
            .map(|e| e.error)
            .unwrap_or_else(|_| answer.trim().to_string());
        return Err(format!("refused ({status}): {reason}"));
    }
    let value = serde_json::from_str(&answer).map_err(|e| {
        format!(
            "the admin API at {http} answered {answer:?}, which this version cannot read ({e}); \
             is it the same switchboard version?"
        )
    })?;
    Ok((value, answer))
}

/// A path segment or query value, percent-encoded.
fn enc(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn body_of(a: GuestArgs) -> GuestBody {
    GuestBody {
        room: a.room,
        name: a.name,
        title: a.title,
        language: a.language,
        vip: a.vip,
        companions: a.companions,
        arrival: a.arrival,
        departure: a.departure,
        pin: a.pin,
    }
}

fn pretty(raw: &str) -> String {
    serde_json::from_str::<serde_json::Value>(raw)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .map(|t| format!("{t}\n"))
        .unwrap_or_else(|_| raw.to_string())
}

/// The guest as the desk says it: `Dr Li Wei ★ (VIP: honeymoon)`.
fn who(s: &StayView) -> String {
    let mut out = match s.title.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => format!("{t} {}", s.name),
        None => s.name.clone(),
    };
    if s.vip {
        out.push_str(" ★");
        if let Some(note) = s.vip_note.as_deref().filter(|n| !n.is_empty()) {
            out.push_str(&format!(" (VIP: {note})"));
        }
    }
    out
}

fn forwarding(f: &ForwardingView) -> String {
    let parts: Vec<String> = [
        ("always", &f.always),
        ("busy", &f.busy),
        ("no-answer", &f.no_answer),
    ]
    .iter()
    .filter_map(|(k, t)| t.as_ref().map(|t| format!("{k} → {t}")))
    .collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}

fn stay_rows(stays: &[StayView]) -> Vec<Vec<String>> {
    stays
        .iter()
        .map(|s| {
            vec![
                s.room.clone(),
                who(s),
                s.language.clone().unwrap_or_else(|| "-".into()),
                s.arrival.clone().unwrap_or_else(|| "-".into()),
                s.departure.clone().unwrap_or_else(|| "-".into()),
                if s.dnd { "DND" } else { "-" }.into(),
                forwarding(&s.forwarding),
            ]
        })
        .collect()
}

const STAY_HEADER: &[&str] = &[
    "room",
    "guest",
    "language",
    "arrival",
    "departure",
    "dnd",
    "forwarding",
];

/// `switchboard guest ...`.
pub fn guest(action: GuestAction, http: &str, json: bool) -> Result<String, String> {
    match action {
        GuestAction::CheckIn(a) => {
            let (v, raw): (CheckedInView, _) =
                call(http, "POST", "/api/guests/check-in", Some(&body_of(a)))?;
            Ok(if json {
                pretty(&raw)
            } else {
                format!(
                    "{} checked in to room {}. Voicemail PIN: {}\n",
                    who(&v.stay),
                    v.stay.room,
                    v.pin
                )
            })
        }
        GuestAction::Expect(a) => {
            let (v, raw): (StayView, _) =
                call(http, "POST", "/api/guests/expect", Some(&body_of(a)))?;
            Ok(if json {
                pretty(&raw)
            } else {
                format!(
                    "{} expected in room {} on {}.\n",
                    who(&v),
                    v.room,
                    v.arrival.as_deref().unwrap_or("?")
                )
            })
        }
        GuestAction::Move { from, to } => {
            let body = MoveBody { from, to };
            let (v, raw): (StayView, _) = call(http, "POST", "/api/guests/move", Some(&body))?;
            Ok(if json {
                pretty(&raw)
            } else {
                format!("{} moved from {} to {}.\n", who(&v), body.from, v.room)
            })
        }
        GuestAction::CheckOut { room } => {
            let body = RoomBody { room };
            let (v, raw): (StayView, _) = call(http, "POST", "/api/guests/check-out", Some(&body))?;
            Ok(if json {
                pretty(&raw)
            } else {
                format!("{} checked out of room {}.\n", who(&v), v.room)
            })
        }
        GuestAction::List { date } => {
            let path = match date {
                Some(d) => format!("/api/guests?date={}", enc(&d)),
                None => "/api/guests".into(),
            };
            let (v, raw): (GuestListView, _) = call::<(), _>(http, "GET", &path, None)?;
            if json {
                return Ok(pretty(&raw));
            }
            let mut out = String::new();
            if v.in_house.is_empty() {
                out.push_str("No guests in house.\n");
            } else {
                out.push_str(&table(STAY_HEADER, &stay_rows(&v.in_house), &[]));
            }
            out.push_str(&format!("\nExpected arrivals on {}:\n", v.date));
            if v.expected.is_empty() {
                out.push_str("none\n");
            } else {
                out.push_str(&table(STAY_HEADER, &stay_rows(&v.expected), &[]));
            }
            Ok(out)
        }
        GuestAction::Find { text } => {
            let path = format!("/api/guests/search?q={}", enc(&text));
            let (v, raw): (Vec<StayView>, _) = call::<(), _>(http, "GET", &path, None)?;
            if json {
                return Ok(pretty(&raw));
            }
            if v.is_empty() {
                return Ok(format!("No guest matches `{text}`.\n"));
            }
            let mut header = STAY_HEADER.to_vec();
            header.insert(1, "state");
            let rows = v
                .iter()
                .zip(stay_rows(&v))
                .map(|(s, mut row)| {
                    row.insert(1, s.state.replace('_', " "));
                    row
                })
                .collect::<Vec<_>>();
            Ok(table(&header, &rows, &[]))
        }
    }
}

/// `switchboard room ROOM`.
pub fn room(room: &str, http: &str, json: bool) -> Result<String, String> {
    let path = format!("/api/rooms/{}", enc(room));
    let (v, raw): (RoomView, _) = call::<(), _>(http, "GET", &path, None)?;
    if json {
        return Ok(pretty(&raw));
    }
    let mut out = format!("Room {} ({}): {}\n", v.room, v.name, v.state);
    out.push_str(&format!("Calls show as: {}\n", v.caller_display));
    if let Some(g) = &v.guest {
        out.push_str(&format!("Guest: {}\n", who(g)));
        if !g.companions.is_empty() {
            out.push_str(&format!("With: {}\n", g.companions.join(", ")));
        }
        if let Some(l) = &g.language {
            out.push_str(&format!("Language: {l}\n"));
        }
        out.push_str(&format!(
            "Stay: {} to {}\n",
            g.arrival.as_deref().unwrap_or("?"),
            g.departure.as_deref().unwrap_or("?")
        ));
        out.push_str(&format!(
            "Do not disturb: {}\n",
            if g.dnd { "on" } else { "off" }
        ));
        out.push_str(&format!("Forwarding: {}\n", forwarding(&g.forwarding)));
        for m in &v.moves {
            out.push_str(&format!("Moved from {} to {} by {}\n", m.from, m.to, m.by));
        }
    }
    for e in &v.expected {
        out.push_str(&format!(
            "Expected: {} on {}\n",
            who(e),
            e.arrival.as_deref().unwrap_or("?")
        ));
    }
    Ok(out)
}

/// `switchboard dnd EXT on|off`.
pub fn dnd(ext: &str, state: OnOff, http: &str) -> Result<String, String> {
    let path = format!("/api/lines/{}/dnd", enc(ext));
    let body = DndBody {
        on: state == OnOff::On,
    };
    let (v, _): (LineView, _) = call(http, "PUT", &path, Some(&body))?;
    Ok(format!(
        "{}: do not disturb {}\n",
        v.number,
        if v.dnd { "on" } else { "off" }
    ))
}

/// `switchboard forward EXT always|busy|no-answer TARGET|off`.
pub fn forward(ext: &str, kind: ForwardWhen, target: &str, http: &str) -> Result<String, String> {
    let kind = match kind {
        ForwardWhen::Always => "always",
        ForwardWhen::Busy => "busy",
        ForwardWhen::NoAnswer => "no_answer",
    };
    let path = format!("/api/lines/{}/forward/{kind}", enc(ext));
    let body = ForwardBody {
        target: (target != "off").then(|| target.to_string()),
    };
    let (v, _): (LineView, _) = call(http, "PUT", &path, Some(&body))?;
    Ok(format!(
        "{}: forwarding {}\n",
        v.number,
        forwarding(&v.forwarding)
    ))
}

/// `switchboard logbook`.
pub fn logbook(hours: u32, http: &str, json: bool) -> Result<String, String> {
    let since = crate::wall_ms() - i64::from(hours) * 3_600_000;
    let path = format!("/api/logbook?since_ms={since}");
    let (v, raw): (Vec<LogEntryView>, _) = call::<(), _>(http, "GET", &path, None)?;
    if json {
        return Ok(pretty(&raw));
    }
    if v.is_empty() {
        return Ok(format!("No log book entries in the last {hours} hours.\n"));
    }
    let rows: Vec<Vec<String>> = v
        .iter()
        .map(|e| {
            let at = jiff::Timestamp::from_millisecond(e.at_ms)
                .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_else(|_| e.at_ms.to_string());
            vec![
                at,
                e.by.clone(),
                e.kind.clone(),
                e.subject.clone(),
                e.detail.clone(),
            ]
        })
        .collect();
    Ok(table(&["at", "by", "kind", "subject", "what"], &rows, &[]))
}

/// `switchboard music [GROUP [on|off|schedule]]`.
pub fn music(
    group: Option<&str>,
    mode: Option<MusicMode>,
    http: &str,
    json: bool,
) -> Result<String, String> {
    let groups: Vec<PagingGroupView> = match (group, mode) {
        (Some(group), Some(mode)) => {
            let path = format!("/api/paging/{}/music", enc(group));
            let mode = match mode {
                MusicMode::On => "on",
                MusicMode::Off => "off",
                MusicMode::Schedule => "schedule",
            };
            let body = MusicBody { mode: mode.into() };
            let (v, raw): (PagingGroupView, _) = call(http, "PUT", &path, Some(&body))?;
            if json {
                return Ok(pretty(&raw));
            }
            vec![v]
        }
        (group, _) => {
            let (v, raw): (Vec<PagingGroupView>, _) =
                call::<(), _>(http, "GET", "/api/paging", None)?;
            if json && group.is_none() {
                return Ok(pretty(&raw));
            }
            let v: Vec<PagingGroupView> = v
                .into_iter()
                .filter(|g| group.is_none_or(|n| g.number == n))
                .collect();
            if let Some(n) = group.filter(|_| v.is_empty()) {
                return Err(format!("{n} is not a paging group"));
            }
            v
        }
    };
    if groups.is_empty() {
        return Ok("No paging groups.\n".into());
    }
    Ok(table(
        &[
            "group", "name", "members", "music", "schedule", "override", "now",
        ],
        &music_rows(&groups),
        &[],
    ))
}

fn music_rows(groups: &[PagingGroupView]) -> Vec<Vec<String>> {
    groups
        .iter()
        .map(|g| {
            let now = if g.playing {
                format!("playing ({} phones)", g.listeners)
            } else {
                "silent".into()
            };
            let schedule = match (g.has_schedule, g.scheduled) {
                (false, _) => "-",
                (true, true) => "plays now",
                (true, false) => "silent now",
            };
            vec![
                g.number.clone(),
                g.name.clone(),
                g.members.join(" "),
                g.music_on_hold.clone().unwrap_or_else(|| "-".into()),
                schedule.into(),
                g.override_mode.clone(),
                now,
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn music_rows_say_what_plays() {
        let group = PagingGroupView {
            number: "7100".into(),
            name: "Lobby".into(),
            members: vec!["211".into(), "212".into()],
            music_on_hold: Some("default".into()),
            has_schedule: true,
            scheduled: true,
            playing: true,
            listeners: 2,
            override_mode: "schedule".into(),
        };
        let plain = PagingGroupView {
            number: "7101".into(),
            music_on_hold: None,
            has_schedule: false,
            scheduled: false,
            playing: false,
            listeners: 0,
            ..group.clone()
        };
        assert_eq!(
            music_rows(&[group, plain]),
            [
                [
                    "7100",
                    "Lobby",
                    "211 212",
                    "default",
                    "plays now",
                    "schedule",
                    "playing (2 phones)"
                ],
                ["7101", "Lobby", "211 212", "-", "-", "schedule", "silent"]
            ]
        );
    }
}
