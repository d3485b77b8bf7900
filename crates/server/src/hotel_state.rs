//! The hotel state the PBX routes by, read from the database: the in-house guests with
//! their stays' do-not-disturb and forwarding, and the staff lines' settings. Loaded at
//! start; after every committed change the front desk sends the PBX the part that changed.

use pbx::hotel::{Guest, HotelUpdate};
use store::{LineSettings, Stay, Store, StoreError};

/// The guest of an in-house stay and the stay's settings, as the PBX keeps them.
pub fn guest_of(stay: &Stay) -> (Guest, LineSettings) {
    let guest = Guest {
        stay: stay.id,
        name: stay.name.clone(),
        title: stay.title.clone(),
        language: stay.language.clone(),
        vip: stay.vip,
    };
    (guest, stay.settings.clone())
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
    let lines = store.line_settings().await?;
    Ok(HotelUpdate::Load { guests, lines })
}
