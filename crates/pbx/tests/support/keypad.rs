//! Phones' media: their SDP, and their RTP: what they send (key presses as RFC 4733 events or in-band
//! tones, or any packet a test builds) and what they hear.
//!
//! A phone learns where to send from the SDP the PBX sent it last (address,
//! audio payload type, telephone-event payload type). What it receives is
//! not stored: it counts packets, how many carried audible sound, and the
//! RFC 4733 digits it heard, which is all tests ask.

use super::audio::Datagram;
use super::{LATENCY, PhoneId, World};
use media::dtmf::{TelephoneEvent, digit_of, event_code, telephone_event_packets};
use media::rtp::RtpStream;
use media::{CodecKind, g711};
use std::net::SocketAddr;
use std::time::Duration;

/// One RTP frame (20 ms at 8 kHz).
const FRAME: Duration = Duration::from_millis(20);
const FRAME_SAMPLES: usize = 160;
/// A decoded sample above this (about −40 dBFS) is sound, not silence.
const AUDIBLE: i16 = 300;

/// What a phone heard over RTP.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Heard {
    /// RTP packets received.
    pub packets: usize,
    /// Audio packets with a sample above the silence threshold.
    pub audible: usize,
    /// The loudest decoded sample.
    pub peak: i16,
    /// RFC 4733 digits received (one per event).
    pub digits: String,
    last_event: Option<u32>,
}

impl Heard {
    pub(crate) fn receive(&mut self, bytes: &[u8]) {
        self.packets += 1;
        let Ok(p) = media::rtp::parse(bytes) else {
            return;
        };
        let decode: fn(u8) -> i16 = match p.header.payload_type {
            0 => g711::ulaw_decode,
            8 => g711::alaw_decode,
            _ => {
                if let Some(ev) = TelephoneEvent::parse(p.payload)
                    && ev.end
                    && self.last_event != Some(p.header.timestamp)
                {
                    self.last_event = Some(p.header.timestamp);
                    self.digits.extend(digit_of(ev.event));
                }
                return;
            }
        };
        let peak = p
            .payload
            .iter()
            .map(|b| decode(*b).saturating_abs())
            .max()
            .unwrap_or(0);
        self.peak = self.peak.max(peak);
        if peak > AUDIBLE {
            self.audible += 1;
        }
    }
}

/// Where and how a phone sends RTP to the PBX, from the PBX's latest SDP to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PbxMedia {
    /// The PBX's RTP address for this phone's call.
    pub addr: SocketAddr,
    /// The audio codec (the first one the PBX listed; its static payload type).
    pub codec: CodecKind,
    /// The telephone-event payload type, if the PBX offered or answered one.
    pub telephone_event: Option<u8>,
}

/// A phone's sending side.
#[derive(Debug, Clone)]
pub(crate) struct Keypad {
    pub stream: RtpStream,
    pub pbx: Option<PbxMedia>,
    /// In-band tone phase (samples sent).
    pub samples: u64,
}

impl Keypad {
    pub(crate) fn new(seed: u64) -> Keypad {
        Keypad {
            stream: RtpStream::from_seed(seed),
            pbx: None,
            samples: 0,
        }
    }

    /// Remembers the PBX's media description if `bytes` (a SIP message from the PBX) has one,
    /// as negotiated with this phone's SDP (G.711 only; telephone-event if `events`).
    pub(crate) fn learn(&mut self, bytes: &[u8], events: bool) {
        let Ok(msg) = sip::message::Message::parse(bytes) else {
            return;
        };
        let body = match &msg {
            sip::message::Message::Request(r) => &r.body,
            sip::message::Message::Response(r) => &r.body,
        };
        if body.is_empty() {
            return;
        }
        let Ok(audio) = pbx::sdp::parse_audio(body) else {
            return;
        };
        let codec = audio.codecs.iter().find(|c| c.is_g711());
        if let (Some(addr), Some(codec)) = (audio.rtp, codec) {
            self.pbx = Some(PbxMedia {
                addr,
                codec: *codec,
                telephone_event: audio.telephone_event.filter(|_| events),
            });
        }
    }
}

/// A phone's SDP: G.711 both laws and telephone-event, at `rtp`, with `direction`.
pub fn phone_sdp(rtp: SocketAddr, direction: &str) -> Vec<u8> {
    format!(
        "v=0\r\no=phone 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
m=audio {port} RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na={direction}\r\n",
        ip = rtp.ip(),
        port = rtp.port()
    )
    .into_bytes()
}

impl super::phone::Phone {
    /// Its SDP with `direction`.
    pub(crate) fn sdp(&self, direction: &str) -> Vec<u8> {
        let sdp = phone_sdp(self.rtp, direction);
        if self.telephone_event {
            return sdp;
        }
        String::from_utf8_lossy(&sdp)
            .replace(" 0 8 101\r\n", " 0 8\r\n")
            .replace(
                "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n",
                "",
            )
            .into_bytes()
    }
}

/// The row and column frequencies of a DTMF key.
fn tones(digit: char) -> Option<(f64, f64)> {
    const ROWS: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
    const COLS: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
    let keys = ["123A", "456B", "789C", "*0#D"];
    keys.iter().enumerate().find_map(|(r, row)| {
        row.chars()
            .position(|c| c == digit.to_ascii_uppercase())
            .map(|c| (ROWS[r], COLS[c]))
    })
}

impl World {
    /// Makes phone `p` leave telephone-event out of its SDP from now on (its keys go in-band).
    pub fn without_telephone_event(&mut self, p: PhoneId) {
        self.phones[p.0].telephone_event = false;
    }

    /// What phone `p` received over RTP so far.
    pub fn heard(&self, p: PhoneId) -> Heard {
        self.phones[p.0].heard.clone()
    }

    /// Where phone `p` sends RTP, from the PBX's latest SDP to it.
    pub fn pbx_media_of(&self, p: PhoneId) -> PbxMedia {
        self.phones[p.0].keypad.pbx.unwrap_or_else(|| {
            self.fail(&format!(
                "expected the PBX to have sent SDP to {}",
                self.phones[p.0].label
            ))
        })
    }

    /// Sends one RTP datagram from phone `p`'s RTP address to the PBX address
    /// of its call; it arrives after the network latency.
    pub fn send_rtp(&mut self, p: PhoneId, packet: Vec<u8>) {
        self.send_rtp_after(p, Duration::ZERO, packet);
    }

    pub(crate) fn send_rtp_after(&mut self, p: PhoneId, delay: Duration, bytes: Vec<u8>) {
        let to = self.pbx_media_of(p).addr;
        self.audio.in_flight.push(Datagram {
            at: self.now + delay + LATENCY,
            from: self.phones[p.0].rtp,
            to,
            bytes,
        });
    }

    /// Phone `p` presses `digit` as RFC 4733 events (the default way phones send digits).
    pub fn press(&mut self, p: PhoneId, digit: char) {
        self.press_rfc4733(p, digit);
    }

    /// Phone `p` presses `digit` for 100 ms as RFC 4733 telephone-events (updates every 20 ms,
    /// the end packet three times) with the payload type the PBX's SDP names; the clock runs
    /// until the last packet arrived.
    pub fn press_rfc4733(&mut self, p: PhoneId, digit: char) {
        let Some(pt) = self.pbx_media_of(p).telephone_event else {
            self.fail("expected telephone-event in the PBX's SDP")
        };
        let code = event_code(digit).unwrap_or_else(|| panic!("not a DTMF digit: {digit}"));
        let packets = telephone_event_packets(code, 100, 10);
        let keypad = &mut self.phones[p.0].keypad;
        let start = keypad.stream.next_timestamp();
        let bytes: Vec<Vec<u8>> = packets
            .iter()
            .map(|pk| {
                keypad
                    .stream
                    .packet_at(pt, pk.marker, start, &pk.event.to_bytes())
            })
            .collect();
        let n = bytes.len() as u32;
        keypad.stream.skip(n * FRAME_SAMPLES as u32);
        for (i, b) in bytes.into_iter().enumerate() {
            self.send_rtp_after(p, FRAME * i as u32, b);
        }
        self.advance(FRAME * (n - 1) + LATENCY);
        self.settle();
    }

    /// Phone `p` presses `digit` in-band: 100 ms of its two tones in G.711 frames of 20 ms,
    /// then 100 ms of silence; the clock runs until the engine's detector had time to hear it.
    pub fn press_inband(&mut self, p: PhoneId, digit: char) {
        let media = self.pbx_media_of(p);
        let (low, high) = tones(digit).unwrap_or_else(|| panic!("not a DTMF digit: {digit}"));
        let keypad = &mut self.phones[p.0].keypad;
        let mut frames = Vec::new();
        for f in 0..10 {
            let mut pcm = [0i16; FRAME_SAMPLES];
            for s in pcm.iter_mut() {
                let t = keypad.samples as f64 / 8000.0;
                keypad.samples += 1;
                if f < 5 {
                    let v = (2.0 * std::f64::consts::PI * low * t).sin()
                        + (2.0 * std::f64::consts::PI * high * t).sin();
                    *s = (v * 6000.0) as i16;
                }
            }
            let (pt, encode): (u8, fn(i16) -> u8) = match media.codec {
                CodecKind::Pcma => (8, g711::alaw_encode),
                CodecKind::Pcmu => (0, g711::ulaw_encode),
                CodecKind::G722 => panic!("in-band tones are sent in G.711 only"),
            };
            let payload: Vec<u8> = pcm.iter().map(|s| encode(*s)).collect();
            frames.push(keypad.stream.packet(pt, &payload, FRAME_SAMPLES as u32));
        }
        let n = frames.len() as u32;
        for (i, b) in frames.into_iter().enumerate() {
            self.send_rtp_after(p, FRAME * i as u32, b);
        }
        // The engine decodes through a jitter buffer (at most 120 ms behind).
        self.advance(FRAME * n + Duration::from_millis(140));
        self.settle();
    }
}
