//! The hotel's live state as call routing needs it: who stays in which room (the
//! guest, not the room, carries the name, language, VIP mark, do-not-disturb and
//! forwarding), and the do-not-disturb and forwarding of staff extensions.
//!
//! The database is the source of truth; the server loads this state at start and
//! sends a [`HotelUpdate`] after every change it commits (check-in, move, a
//! setting from the API). A change made from a phone (`*78`, `*72…`) is applied
//! here at once and goes out as [`crate::PbxEvent::Line`] for the store.
//!
//! This module is a leaf: plain data, and the pure decisions made on it
//! ([`screen`], [`check_forward`], [`caller_class`]).

use dialplan::{ExtensionKind, FailReason, Plan, Screening};
pub use records::{ForwardKind, Forwarding, LineSettings};
use std::collections::HashMap;

/// The guest staying in a room, as callers and operators see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guest {
    /// The stay's database id.
    pub stay: i64,
    /// The guest's name.
    pub name: String,
    /// Title or salutation (`Dr`, `Ms`).
    pub title: Option<String>,
    /// The language the guest's prompts are played in.
    pub language: Option<String>,
    /// Whether the guest is a VIP.
    pub vip: bool,
}

impl Guest {
    /// How staff phones show a call from this guest's room: `8105 Dr Li Wei ★`.
    pub fn caller_display(&self, room: &str) -> String {
        let mut s = String::from(room);
        if let Some(title) = self.title.as_deref().filter(|t| !t.is_empty()) {
            s.push(' ');
            s.push_str(title);
        }
        s.push(' ');
        s.push_str(&self.name);
        if self.vip {
            s.push_str(" ★");
        }
        s
    }
}

/// How staff phones show a call from a room nobody stays in.
pub fn vacant_display(room: &str) -> String {
    format!("Room {room} (vacant)")
}

/// A change of the hotel state, committed to the database by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HotelUpdate {
    /// Everything, at start-up: the in-house guests with their rooms' settings, and
    /// the staff lines' settings.
    Load {
        /// (room, guest, the stay's settings).
        guests: Vec<(String, Guest, LineSettings)>,
        /// (extension, settings).
        lines: Vec<(String, LineSettings)>,
    },
    /// A room's occupant now (`None`: vacant) and the stay's settings.
    Room {
        /// The room number.
        room: String,
        /// The guest and the stay's settings.
        stay: Option<(Guest, LineSettings)>,
    },
    /// A staff extension's settings.
    Line {
        /// The extension number.
        number: String,
        /// Its settings now.
        settings: LineSettings,
    },
}

/// The hotel state the PBX routes by.
#[derive(Debug, Default)]
pub struct Hotel {
    guests: HashMap<String, (Guest, LineSettings)>,
    lines: HashMap<String, LineSettings>,
}

impl Hotel {
    /// Applies a committed change.
    pub fn apply(&mut self, update: HotelUpdate) {
        match update {
            HotelUpdate::Load { guests, lines } => {
                self.guests = guests.into_iter().map(|(r, g, s)| (r, (g, s))).collect();
                self.lines = lines.into_iter().collect();
            }
            HotelUpdate::Room { room, stay } => match stay {
                Some(stay) => {
                    self.guests.insert(room, stay);
                }
                None => {
                    self.guests.remove(&room);
                }
            },
            HotelUpdate::Line { number, settings } => {
                if settings == LineSettings::default() {
                    self.lines.remove(&number);
                } else {
                    self.lines.insert(number, settings);
                }
            }
        }
    }

    /// The guest in `room`, if any.
    pub fn guest(&self, room: &str) -> Option<&Guest> {
        self.guests.get(room).map(|(g, _)| g)
    }

    /// The settings of a line: an occupied room's stay, or a staff extension's.
    pub fn settings(&self, number: &str) -> Option<&LineSettings> {
        match self.guests.get(number) {
            Some((_, s)) => Some(s),
            None => self.lines.get(number),
        }
    }

    /// The settings of a line for changing: an occupied room's stay when `room` (None if
    /// the room is vacant), else the extension's (created empty).
    pub(crate) fn settings_mut(&mut self, number: &str, room: bool) -> Option<&mut LineSettings> {
        if room {
            self.guests.get_mut(number).map(|(_, s)| s)
        } else {
            Some(self.lines.entry(number.to_string()).or_default())
        }
    }

    /// Rooms with a guest, in no particular order.
    pub fn occupied(&self) -> impl Iterator<Item = (&str, &Guest)> {
        self.guests.iter().map(|(r, (g, _))| (r.as_str(), g))
    }
}

/// Who is calling, for class of service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerClass {
    /// A room nobody stays in: staff, the operator and emergency numbers only.
    VacantRoom,
    /// A room with a guest: what the plan allows.
    OccupiedRoom,
    /// A staff or service phone, or an operator.
    Staff,
    /// A caller who did not authenticate (an outside line).
    Outside,
}

/// The extension an authenticated user is: its own number, or the old number of a renumbered
/// extension whose phone still logs in with it.
pub fn extension_of<'p>(plan: &'p Plan, auth_user: &str) -> Option<&'p dialplan::Extension> {
    plan.extension(auth_user)
        .or_else(|| plan.renumbered(auth_user))
}

/// The class of a call's authenticated user (`None`: an outside caller).
pub fn caller_class(plan: &Plan, hotel: &Hotel, auth_user: Option<&str>) -> CallerClass {
    let Some(user) = auth_user else {
        return CallerClass::Outside;
    };
    let Some(ext) = extension_of(plan, user) else {
        return CallerClass::Staff;
    };
    match ext.kind {
        ExtensionKind::Room if hotel.guest(&ext.number).is_some() => CallerClass::OccupiedRoom,
        ExtensionKind::Room => CallerClass::VacantRoom,
        _ => CallerClass::Staff,
    }
}

/// Why a call rings a number other than the one dialled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    /// The number dialled.
    pub from: String,
    /// The condition that forwarded it.
    pub reason: ForwardKind,
}

/// What routing decided for a call to one number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screened {
    /// Ring this number (forwarded from another, or as dialled).
    Ring {
        /// The number to ring.
        number: String,
        /// Set when unconditional forwarding chose `number`.
        forwarded: Option<Forwarded>,
    },
    /// Do not ring: the attendant tells the caller why.
    Refuse(FailReason),
}

/// Whether a vacant room may call `number`: staff and service extensions, the
/// operator position, and groups of those only.
pub fn vacant_room_may_call(plan: &Plan, number: &str) -> bool {
    if number == plan.operators().position {
        return true;
    }
    let staff = |n: &str| {
        n == plan.operators().position
            || plan
                .extension(n)
                .is_some_and(|e| e.kind != ExtensionKind::Room)
    };
    if let Some(group) = plan.group(number) {
        return group.members.iter().all(|m| staff(m));
    }
    staff(number)
}

/// The routing of a call to `number`, in the order a professional PBX applies it:
/// class of service, then do-not-disturb, then unconditional forwarding (one hop;
/// the forward target's own do-not-disturb still applies), then ringing. An
/// operator's override rings the number as dialled.
pub fn screen(
    plan: &Plan,
    hotel: &Hotel,
    caller: CallerClass,
    number: &str,
    screening: Screening,
) -> Screened {
    let ring = |n: &str, forwarded| Screened::Ring {
        number: n.to_string(),
        forwarded,
    };
    if screening == Screening::Override {
        return ring(number, None);
    }
    if caller == CallerClass::VacantRoom && !vacant_room_may_call(plan, number) {
        return Screened::Refuse(FailReason::Restricted);
    }
    let Some(settings) = hotel.settings(number) else {
        return ring(number, None);
    };
    if settings.dnd {
        return Screened::Refuse(FailReason::DoNotDisturb);
    }
    let Some(target) = settings.forwarding.always.as_deref() else {
        return ring(number, None);
    };
    if hotel.settings(target).is_some_and(|s| s.dnd) {
        return Screened::Refuse(FailReason::DoNotDisturb);
    }
    let forwarded = Forwarded {
        from: number.to_string(),
        reason: ForwardKind::Always,
    };
    if caller == CallerClass::VacantRoom && !vacant_room_may_call(plan, target) {
        return Screened::Refuse(FailReason::Restricted);
    }
    ring(target, Some(forwarded))
}

/// Why a forwarding target was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardRefusal {
    /// The target is the line itself.
    ToItself,
    /// Nothing answers at the target number.
    UnknownTarget(String),
    /// The target no longer exists.
    RetiredTarget(String),
    /// The target forwards (unconditionally) back to the line.
    Loop(Vec<String>),
}

impl std::fmt::Display for ForwardRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ForwardRefusal::ToItself => write!(f, "a line cannot forward to itself"),
            ForwardRefusal::UnknownTarget(n) => write!(f, "{n} is not a number of this system"),
            ForwardRefusal::RetiredTarget(n) => write!(f, "{n} is a retired number"),
            ForwardRefusal::Loop(path) => {
                write!(f, "forwarding would loop: {}", path.join(" -> "))
            }
        }
    }
}

/// Checks forwarding `line` to `target` for `kind`: the target must be another
/// extension, a ring group or the operator position, and following the lines'
/// forwarding from it (any condition) must not come back to `line`.
pub fn check_forward(
    plan: &Plan,
    hotel: &Hotel,
    line: &str,
    target: &str,
) -> Result<(), ForwardRefusal> {
    if target == line {
        return Err(ForwardRefusal::ToItself);
    }
    if plan.is_retired(target) {
        return Err(ForwardRefusal::RetiredTarget(target.to_string()));
    }
    let known = plan.extension(target).is_some()
        || plan
            .group(target)
            .is_some_and(|g| g.number.as_deref() == Some(target))
        || target == plan.operators().position;
    if !known {
        return Err(ForwardRefusal::UnknownTarget(target.to_string()));
    }
    // Walk every forwarding edge from the target; a path back to `line` is a loop.
    let mut path = vec![line.to_string(), target.to_string()];
    let mut stack = vec![(target.to_string(), path.clone())];
    let mut seen = std::collections::HashSet::new();
    while let Some((at, trail)) = stack.pop() {
        if !seen.insert(at.clone()) {
            continue;
        }
        let Some(s) = hotel.settings(&at) else {
            continue;
        };
        for kind in ForwardKind::ALL {
            if let Some(next) = s.forwarding.get(*kind) {
                let mut t = trail.clone();
                t.push(next.to_string());
                if next == line {
                    path = t;
                    return Err(ForwardRefusal::Loop(path));
                }
                stack.push((next.to_string(), t));
            }
        }
    }
    Ok(())
}
