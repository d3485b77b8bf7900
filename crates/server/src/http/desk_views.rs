//! What the front-desk API takes and shows: guests' stays, rooms, lines (do-not-disturb
//! and forwarding) and the log book, as JSON. `switchboard guest | room | dnd | forward`
//! read the same types.

use serde::{Deserialize, Serialize};

/// Where a line's calls are forwarded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardingView {
    /// Every call, without ringing the line.
    pub always: Option<String>,
    /// Calls that find the line busy.
    pub busy: Option<String>,
    /// Calls the line does not answer within the ring timeout.
    pub no_answer: Option<String>,
}

impl From<&store::Forwarding> for ForwardingView {
    fn from(f: &store::Forwarding) -> Self {
        ForwardingView {
            always: f.always.clone(),
            busy: f.busy.clone(),
            no_answer: f.no_answer.clone(),
        }
    }
}

/// A guest's stay (booked, in house or departed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StayView {
    /// The stay's id.
    pub id: i64,
    /// The room number.
    pub room: String,
    /// `expected`, `in_house` or `departed`.
    pub state: String,
    /// The guest's name.
    pub name: String,
    /// Title or salutation.
    pub title: Option<String>,
    /// The guest's language (prompts to and from the room).
    pub language: Option<String>,
    /// Whether the guest is a VIP.
    pub vip: bool,
    /// Why.
    pub vip_note: Option<String>,
    /// The people staying with the guest.
    pub companions: Vec<String>,
    /// Arrival day, `YYYY-MM-DD`.
    pub arrival: Option<String>,
    /// Departure day, `YYYY-MM-DD`.
    pub departure: Option<String>,
    /// Do-not-disturb (in house only).
    pub dnd: bool,
    /// Call forwarding (in house only).
    pub forwarding: ForwardingView,
    /// When the guest checked in, unix ms.
    pub checked_in_at_ms: Option<i64>,
    /// When the guest checked out, unix ms.
    pub checked_out_at_ms: Option<i64>,
}

impl From<&store::Stay> for StayView {
    fn from(s: &store::Stay) -> Self {
        StayView {
            id: s.id,
            room: s.room.clone(),
            state: s.state.as_str().to_string(),
            name: s.name.clone(),
            title: s.title.clone(),
            language: s.language.clone(),
            vip: s.vip,
            vip_note: s.vip_note.clone(),
            companions: s.companions.clone(),
            arrival: s.arrival.clone(),
            departure: s.departure.clone(),
            dnd: s.settings.dnd,
            forwarding: ForwardingView::from(&s.settings.forwarding),
            checked_in_at_ms: s.checked_in_at_ms,
            checked_out_at_ms: s.checked_out_at_ms,
        }
    }
}

/// `GET /api/guests`: who is in house, and who is expected on the day asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestListView {
    /// The day the expected arrivals are listed for, `YYYY-MM-DD` (the hotel's today unless asked).
    pub date: String,
    /// Guests in house, by room.
    pub in_house: Vec<StayView>,
    /// Expected arrivals of that day.
    pub expected: Vec<StayView>,
}

/// The answer to a check-in: the stay and the voicemail PIN (generated if none was given;
/// shown only here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckedInView {
    /// The new stay.
    pub stay: StayView,
    /// The room's voicemail PIN.
    pub pin: String,
}

/// `GET /api/rooms/{room}`: a room's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomView {
    /// The room number.
    pub room: String,
    /// The room's name in the dialplan.
    pub name: String,
    /// `occupied` or `vacant`.
    pub state: String,
    /// The guest in house.
    pub guest: Option<StayView>,
    /// Expected arrivals booked into this room, earliest first.
    pub expected: Vec<StayView>,
    /// How staff phones show a call from the room.
    pub caller_display: String,
    /// The in-house guest's room moves, oldest first.
    pub moves: Vec<MoveView>,
}

/// One room move of a stay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveView {
    /// The room left.
    pub from: String,
    /// The room moved to.
    pub to: String,
    /// When, unix ms.
    pub at_ms: i64,
    /// Who moved the guest.
    pub by: String,
}

/// A line's do-not-disturb and forwarding (`PUT /api/lines/...`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineView {
    /// The extension or room number.
    pub number: String,
    /// Do-not-disturb.
    pub dnd: bool,
    /// Call forwarding.
    pub forwarding: ForwardingView,
}

/// One log book entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntryView {
    /// The entry's id.
    pub id: i64,
    /// When, unix ms.
    pub at_ms: i64,
    /// Who: `cli`, `api`, or a phone's account.
    pub by: String,
    /// What kind of change (`check_in`, `move`, `dnd`, `forward`, `number_change`, ...).
    pub kind: String,
    /// The room or extension concerned.
    pub subject: String,
    /// What happened, in words.
    pub detail: String,
}

impl From<&store::LogEntry> for LogEntryView {
    fn from(e: &store::LogEntry) -> Self {
        LogEntryView {
            id: e.id,
            at_ms: e.at_ms,
            by: e.actor.clone(),
            kind: e.kind.as_str().to_string(),
            subject: e.subject.clone(),
            detail: e.detail.clone(),
        }
    }
}

/// The body of `POST /api/guests/check-in` and `POST /api/guests/expect`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuestBody {
    /// The room number.
    pub room: String,
    /// The guest's name.
    pub name: String,
    /// Title or salutation.
    #[serde(default)]
    pub title: Option<String>,
    /// One of the dialplan's prompt languages.
    #[serde(default)]
    pub language: Option<String>,
    /// Makes the guest a VIP, with a note (may be empty).
    #[serde(default)]
    pub vip: Option<String>,
    /// The people staying with the guest.
    #[serde(default)]
    pub companions: Vec<String>,
    /// Arrival day (`YYYY-MM-DD`); required for an expected arrival.
    #[serde(default)]
    pub arrival: Option<String>,
    /// Departure day (`YYYY-MM-DD`).
    #[serde(default)]
    pub departure: Option<String>,
    /// The voicemail PIN (4 to 8 digits); generated at check-in when missing.
    #[serde(default)]
    pub pin: Option<String>,
}

/// The body of `POST /api/guests/move`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveBody {
    /// The room the guest is in.
    pub from: String,
    /// The vacant room the guest moves to.
    pub to: String,
}

/// The body of `POST /api/guests/check-out`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomBody {
    /// The room number.
    pub room: String,
}

/// The body of `PUT /api/lines/{number}/dnd`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DndBody {
    /// On or off.
    pub on: bool,
}

/// The body of `PUT /api/lines/{number}/forward/{kind}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardBody {
    /// The target number; `null` turns this forwarding off.
    pub target: Option<String>,
}
