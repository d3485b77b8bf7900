//! The hotel state the PBX routes by, read from the database: the in-house guests with
//! their stays' do-not-disturb and forwarding, and the staff lines' settings. Loaded at
//! start; after every committed change the front desk sends the PBX the part that changed.

use pbx::hotel::{Forwarding, Guest, HotelUpdate, LineSettings};
use store::{ForwardKind, Stay, Store, StoreError};

/// The PBX's forwarding kind for the store's.
pub fn forward_kind(kind: ForwardKind) -> dialplan::ForwardKind {
    match kind {
        ForwardKind::Always => dialplan::ForwardKind::Always,
        ForwardKind::Busy => dialplan::ForwardKind::Busy,
        ForwardKind::NoAnswer => dialplan::ForwardKind::NoAnswer,
    }
}

/// A line's settings as the PBX keeps them.
pub fn line_settings(s: &store::LineSettings) -> LineSettings {
    let mut forwarding = Forwarding::default();
    for kind in ForwardKind::ALL {
        forwarding.set(
            forward_kind(*kind),
            s.forwarding.get(*kind).map(str::to_string),
        );
    }
    LineSettings {
        dnd: s.dnd,
        forwarding,
    }
}

/// The guest of an in-house stay and the stay's settings, as the PBX keeps them.
pub fn guest_of(stay: &Stay) -> (Guest, LineSettings) {
    let guest = Guest {
        stay: stay.id,
        name: stay.name.clone(),
        title: stay.title.clone(),
        language: stay.language.clone(),
        vip: stay.vip,
    };
    (guest, line_settings(&stay.settings))
}

/// The change that tells the PBX who is in `room` now (`None`: nobody).
pub fn room_update(room: &str, stay: Option<&Stay>) -> HotelUpdate {
    HotelUpdate::Room {
        room: room.to_string(),
        stay: stay.map(guest_of),
    }
}

/// Everything the PBX routes by, from the database.
pub async fn load(store: &Store) -> Result<HotelUpdate, StoreError> {
    let guests = store
        .stays_in_house()
        .await?
        .iter()
        .map(|stay| {
            let (guest, settings) = guest_of(stay);
            (stay.room.clone(), guest, settings)
        })
        .collect();
    let lines = store
        .line_settings()
        .await?
        .iter()
        .map(|(number, s)| (number.clone(), line_settings(s)))
        .collect();
    Ok(HotelUpdate::Load { guests, lines })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_carry_every_forwarding_kind() {
        let mut s = store::LineSettings {
            dnd: true,
            ..Default::default()
        };
        s.forwarding.set(ForwardKind::Always, Some("201".into()));
        s.forwarding.set(ForwardKind::Busy, Some("202".into()));
        s.forwarding.set(ForwardKind::NoAnswer, Some("203".into()));
        let p = line_settings(&s);
        assert!(p.dnd);
        assert_eq!(p.forwarding.always.as_deref(), Some("201"));
        assert_eq!(p.forwarding.busy.as_deref(), Some("202"));
        assert_eq!(p.forwarding.no_answer.as_deref(), Some("203"));
    }
}
