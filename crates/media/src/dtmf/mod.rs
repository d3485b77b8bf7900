//! DTMF: RFC 4733 telephone-event receive and send, in-band (Goertzel) detection, and SIP INFO
//! bodies.
//!
//! Digits are `char`s: `'0'..='9'`, `'*'`, `'#'`, `'A'..='D'`, matching RFC 4733 events 0–15.

mod inband;
#[cfg(test)]
pub(crate) use inband::tests as inband_tests;
mod receiver;
mod sender;
mod sip_info;

pub use inband::{InbandDetector, classify as classify_inband_block};
pub use receiver::{DtmfReceiver, ReceivedDigit, STALE};
pub use sender::{TelephoneEventPacket, telephone_event_packets};
pub use sip_info::{SipInfoDtmf, SipInfoError, parse_sip_info};

/// The RFC 4733 event code of a DTMF digit, or `None` if `digit` is not one.
pub fn event_code(digit: char) -> Option<u8> {
    match digit {
        '0'..='9' => Some(digit as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        'A'..='D' => Some(digit as u8 - b'A' + 12),
        'a'..='d' => Some(digit as u8 - b'a' + 12),
        _ => None,
    }
}

/// The digit of an RFC 4733 event code, or `None` for codes above 15 (flash, tones, …).
pub fn digit_of(code: u8) -> Option<char> {
    match code {
        0..=9 => Some((b'0' + code) as char),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some((b'A' + code - 12) as char),
        _ => None,
    }
}

/// The fields of an RFC 4733 telephone-event payload (§2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// The event code (0–15 are DTMF digits).
    pub event: u8,
    /// The E bit: this packet ends the event.
    pub end: bool,
    /// The power level in −dBm0 (0–63).
    pub volume: u8,
    /// The duration so far, in timestamp units (samples at 8 kHz).
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parses the first four bytes of a payload; `None` if fewer than four arrived.
    pub fn parse(payload: &[u8]) -> Option<Self> {
        let b = payload.get(..4)?;
        Some(TelephoneEvent {
            event: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3F,
            duration: u16::from_be_bytes([b[2], b[3]]),
        })
    }

    /// The four payload bytes.
    pub fn to_bytes(&self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            u8::from(self.end) << 7 | (self.volume & 0x3F),
            d[0],
            d[1],
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_and_codes_map_both_ways() {
        for code in 0..16u8 {
            let d = digit_of(code).unwrap();
            assert_eq!(event_code(d), Some(code));
        }
        assert_eq!(digit_of(16), None);
        assert_eq!(event_code('x'), None);
        assert_eq!(event_code('a'), Some(12));
    }

    #[test]
    fn payload_round_trip() {
        let e = TelephoneEvent {
            event: 11,
            end: true,
            volume: 10,
            duration: 1280,
        };
        assert_eq!(e.to_bytes(), [11, 0x8A, 0x05, 0x00]);
        assert_eq!(TelephoneEvent::parse(&e.to_bytes()), Some(e));
        assert_eq!(TelephoneEvent::parse(&[1, 2, 3]), None);
    }
}
