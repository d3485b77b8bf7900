//! The audio codecs a leg can negotiate, and the conversions between them.
//!
//! Both G.711 variants run at 8 kHz with one byte per sample, so a 20 ms frame is 160 samples
//! and 160 payload bytes whichever law is used, and RTP timestamps advance by 160 per frame.

use crate::g711;

/// The sample rate of every codec the engine speaks, in Hz.
pub const SAMPLE_RATE: u32 = 8000;

/// Samples in one 20 ms frame at [`SAMPLE_RATE`].
pub const FRAME_SAMPLES: usize = 160;

/// The family of a negotiated codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodecKind {
    /// G.711 µ-law (static payload type 0).
    Pcmu,
    /// G.711 A-law (static payload type 8).
    Pcma,
}

/// A codec as negotiated for one leg: its family and the RTP payload type used for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Codec {
    /// Which codec.
    pub kind: CodecKind,
    /// The RTP payload type carrying it on this leg.
    pub payload_type: u8,
}

impl Codec {
    /// PCMU with its static payload type 0.
    pub const fn pcmu() -> Self {
        Codec {
            kind: CodecKind::Pcmu,
            payload_type: 0,
        }
    }

    /// PCMA with its static payload type 8.
    pub const fn pcma() -> Self {
        Codec {
            kind: CodecKind::Pcma,
            payload_type: 8,
        }
    }

    /// The codec for an SDP `a=rtpmap:<pt> <name>/<rate>` (or a static payload type without
    /// rtpmap: pass the static name, e.g. `PCMU` and 8000 for PT 0). Names are compared
    /// case-insensitively; `None` for codecs the engine does not speak.
    pub fn from_rtpmap(payload_type: u8, encoding_name: &str, clock_rate: u32) -> Option<Codec> {
        if clock_rate != SAMPLE_RATE || payload_type > 127 {
            return None;
        }
        let kind = if encoding_name.eq_ignore_ascii_case("PCMU") {
            CodecKind::Pcmu
        } else if encoding_name.eq_ignore_ascii_case("PCMA") {
            CodecKind::Pcma
        } else {
            return None;
        };
        Some(Codec { kind, payload_type })
    }

    /// The codec of a static payload type offered without rtpmap (0 = PCMU, 8 = PCMA).
    pub const fn from_static_payload_type(payload_type: u8) -> Option<Codec> {
        match payload_type {
            0 => Some(Codec::pcmu()),
            8 => Some(Codec::pcma()),
            _ => None,
        }
    }

    /// The SDP encoding name (`PCMU` or `PCMA`).
    pub const fn encoding_name(&self) -> &'static str {
        match self.kind {
            CodecKind::Pcmu => "PCMU",
            CodecKind::Pcma => "PCMA",
        }
    }

    /// The RTP clock rate of this codec in Hz.
    pub const fn clock_rate(&self) -> u32 {
        SAMPLE_RATE
    }

    /// The number of samples one payload of `len` bytes carries.
    pub const fn samples_in(&self, len: usize) -> usize {
        len
    }

    /// Encodes linear samples, appending the payload bytes to `out`.
    pub fn encode(&self, pcm: &[i16], out: &mut Vec<u8>) {
        match self.kind {
            CodecKind::Pcmu => g711::ulaw_encode_into(pcm, out),
            CodecKind::Pcma => g711::alaw_encode_into(pcm, out),
        }
    }

    /// Decodes a payload, appending the linear samples to `out`.
    pub fn decode(&self, payload: &[u8], out: &mut Vec<i16>) {
        match self.kind {
            CodecKind::Pcmu => g711::ulaw_decode_into(payload, out),
            CodecKind::Pcma => g711::alaw_decode_into(payload, out),
        }
    }

    /// The payload byte that decodes to silence (zero).
    pub const fn silence_byte(&self) -> u8 {
        match self.kind {
            CodecKind::Pcmu => 0xFF,
            CodecKind::Pcma => 0xD5,
        }
    }
}

/// Converts a payload of codec `from` into codec `to`, appending to `out`, without going
/// through a full decode/encode pass (one table lookup per byte for G.711 ↔ G.711).
pub fn transcode(from: CodecKind, to: CodecKind, payload: &[u8], out: &mut Vec<u8>) {
    match (from, to) {
        (CodecKind::Pcmu, CodecKind::Pcma) => {
            out.extend(payload.iter().map(|b| g711::ulaw_to_alaw(*b)));
        }
        (CodecKind::Pcma, CodecKind::Pcmu) => {
            out.extend(payload.iter().map(|b| g711::alaw_to_ulaw(*b)));
        }
        _ => out.extend_from_slice(payload),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcoding_preserves_the_signal() {
        let pcm: Vec<i16> = (0..160)
            .map(|i| ((i as f64 * 0.3).sin() * 12000.0) as i16)
            .collect();
        let mut ulaw = Vec::new();
        Codec::pcmu().encode(&pcm, &mut ulaw);
        let mut alaw = Vec::new();
        transcode(CodecKind::Pcmu, CodecKind::Pcma, &ulaw, &mut alaw);
        let mut back = Vec::new();
        Codec::pcma().decode(&alaw, &mut back);
        for (a, b) in pcm.iter().zip(&back) {
            assert!((i32::from(*a) - i32::from(*b)).abs() < 800, "{a} vs {b}");
        }
    }

    #[test]
    fn codecs_from_sdp() {
        assert_eq!(Codec::from_rtpmap(0, "pcmu", 8000), Some(Codec::pcmu()));
        assert_eq!(
            Codec::from_rtpmap(96, "PCMA", 8000),
            Some(Codec {
                kind: CodecKind::Pcma,
                payload_type: 96
            })
        );
        assert_eq!(Codec::from_rtpmap(9, "G722", 8000), None);
        assert_eq!(Codec::from_rtpmap(0, "PCMU", 16000), None);
        assert_eq!(Codec::from_static_payload_type(8), Some(Codec::pcma()));
        assert_eq!(Codec::from_static_payload_type(18), None);
        assert_eq!(Codec::pcma().encoding_name(), "PCMA");
    }

    #[test]
    fn silence_bytes_decode_to_near_zero() {
        let mut out = Vec::new();
        Codec::pcmu().decode(&[Codec::pcmu().silence_byte()], &mut out);
        Codec::pcma().decode(&[Codec::pcma().silence_byte()], &mut out);
        assert_eq!(out, [0, 8]);
    }
}
