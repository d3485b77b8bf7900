//! The hotel's live state in the test world, set as the server sets it after a database
//! commit ([`pbx::Pbx::update_hotel`]), and a phone that speaks into its call.

use super::{PhoneId, World};
use media::{CodecKind, g711};
use pbx::hotel::{Guest, HotelUpdate, LineSettings};
use std::time::Duration;

/// A guest as the front desk checks them in.
pub fn guest(name: &str, title: Option<&str>, language: Option<&str>, vip: bool) -> Guest {
    Guest {
        stay: 1,
        name: name.to_string(),
        title: title.map(str::to_string),
        language: language.map(str::to_string),
        vip,
    }
}

impl World {
    /// Checks `guest` into `room` with the stay's `settings` (committed by the server).
    pub fn check_in_with(&mut self, room: &str, guest: Guest, settings: LineSettings) {
        self.pbx.update_hotel(HotelUpdate::Room {
            room: room.to_string(),
            stay: Some((guest, settings)),
        });
    }

    /// Checks `guest` into `room` (no do-not-disturb, no forwarding).
    pub fn check_in(&mut self, room: &str, guest: Guest) {
        self.check_in_with(room, guest, LineSettings::default());
    }

    /// Sets a staff line's do-not-disturb and forwarding (committed by the server).
    pub fn set_line(&mut self, number: &str, settings: LineSettings) {
        self.pbx.update_hotel(HotelUpdate::Line {
            number: number.to_string(),
            settings,
        });
    }

    /// A room's phone at 10.0.1.`host` (RTP 10000 + host), registered as the room.
    pub fn room_phone(&mut self, room: &str, host: u8) -> PhoneId {
        let p = self.add_phone(
            room,
            room,
            room,
            &format!("room{room}"),
            &format!("10.0.1.{host}:5060"),
            10_000 + u16::from(host),
        );
        self.register(p);
        p
    }

    /// Phone `p` speaks into its call for `length`: a 1 kHz tone (not a DTMF key) in
    /// G.711 frames of 20 ms; the clock runs until the last frame arrived.
    pub fn speak(&mut self, p: PhoneId, length: Duration) {
        let media = self.pbx_media_of(p);
        let (pt, encode): (u8, fn(i16) -> u8) = match media.codec {
            CodecKind::Pcma => (8, g711::alaw_encode),
            CodecKind::Pcmu => (0, g711::ulaw_encode),
            CodecKind::G722 => panic!("the test phones speak G.711 only"),
        };
        let frames = (length.as_millis() / 20) as u32;
        for f in 0..frames {
            let keypad = &mut self.phones[p.0].keypad;
            let pcm: Vec<u8> = (0..160)
                .map(|_| {
                    let t = keypad.samples as f64 / 8000.0;
                    keypad.samples += 1;
                    encode(((2.0 * std::f64::consts::PI * 1000.0 * t).sin() * 8000.0) as i16)
                })
                .collect();
            let packet = keypad.stream.packet(pt, &pcm, 160);
            self.send_rtp_after(p, Duration::from_millis(20) * f, packet);
        }
        self.advance(Duration::from_millis(20) * frames + Duration::from_millis(200));
    }
}
