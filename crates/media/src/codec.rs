//! The audio codecs a leg can negotiate, and the conversions between them.
//!
//! The engine's own audio (prompts, music on hold, the mixer, recordings, in-band DTMF
//! detection) is 8 kHz linear PCM in 20 ms frames of 160 samples, whatever the leg speaks.
//!
//! * G.711 (PCMU, PCMA): 8 kHz, one byte per sample, so a 20 ms payload is 160 bytes and RTP
//!   timestamps advance by 160. Stateless: [`Codec::encode`] / [`Codec::decode`] work frame by
//!   frame, and the two laws convert into each other byte by byte ([`transcode`]).
//! * G.722: 16 kHz audio in 64 kbit/s sub-band ADPCM, one byte per pair of 16 kHz samples. Its
//!   RTP clock rate is 8000 all the same (RFC 3551 §4.5.2), so a 20 ms payload is also 160 bytes
//!   and timestamps also advance by 160 per frame. ADPCM carries state from one sample to the
//!   next, so a stream needs its own [`Encoder`] / [`Decoder`], fed in order; these convert
//!   between the engine's 8 kHz and G.722's 16 kHz with a [`StreamResampler`] (about 2 ms of
//!   delay each way). Two legs that both speak G.722 relay packets untouched (wideband end to
//!   end); only audio the engine produces or transcodes to G.711 is narrowband.
//!
//! The G.722 core is the `audio-codec` crate (pure Rust, not bit-exact with the ITU/spandsp
//! reference but interoperable at ~26.8 dB SNR; see ARCHITECTURE.md).

use audio_codec::g722::{G722Decoder, G722Encoder};
use audio_codec::{Decoder as _, Encoder as _};

use crate::g711;
use crate::resample::StreamResampler;

/// The sample rate of the engine's own audio, and the RTP clock rate of every codec it speaks.
pub const SAMPLE_RATE: u32 = 8000;

/// Samples in one 20 ms frame at [`SAMPLE_RATE`].
pub const FRAME_SAMPLES: usize = 160;

/// The sample rate of G.722 audio (its RTP clock rate is nonetheless 8000).
pub const G722_AUDIO_RATE: u32 = 16000;

/// The family of a negotiated codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodecKind {
    /// G.711 µ-law (static payload type 0).
    Pcmu,
    /// G.711 A-law (static payload type 8).
    Pcma,
    /// G.722 at 64 kbit/s (static payload type 9, `G722/8000`).
    G722,
}

impl CodecKind {
    /// Whether this is one of the G.711 laws (stateless, byte-per-sample).
    pub const fn is_g711(self) -> bool {
        matches!(self, CodecKind::Pcmu | CodecKind::Pcma)
    }
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

    /// G.722 with its static payload type 9.
    pub const fn g722() -> Self {
        Codec {
            kind: CodecKind::G722,
            payload_type: 9,
        }
    }

    /// The codec for an SDP `a=rtpmap:<pt> <name>/<rate>` (or a static payload type without
    /// rtpmap: pass the static name, e.g. `PCMU` and 8000 for PT 0). Names are compared
    /// case-insensitively; `None` for codecs the engine does not speak. G.722 is `G722/8000`
    /// (RFC 3551), although its audio is sampled at 16 kHz.
    pub fn from_rtpmap(payload_type: u8, encoding_name: &str, clock_rate: u32) -> Option<Codec> {
        if clock_rate != SAMPLE_RATE || payload_type > 127 {
            return None;
        }
        let kind = if encoding_name.eq_ignore_ascii_case("PCMU") {
            CodecKind::Pcmu
        } else if encoding_name.eq_ignore_ascii_case("PCMA") {
            CodecKind::Pcma
        } else if encoding_name.eq_ignore_ascii_case("G722") {
            CodecKind::G722
        } else {
            return None;
        };
        Some(Codec { kind, payload_type })
    }

    /// The codec of a static payload type offered without rtpmap (0 = PCMU, 8 = PCMA,
    /// 9 = G.722).
    pub const fn from_static_payload_type(payload_type: u8) -> Option<Codec> {
        match payload_type {
            0 => Some(Codec::pcmu()),
            8 => Some(Codec::pcma()),
            9 => Some(Codec::g722()),
            _ => None,
        }
    }

    /// The SDP encoding name (`PCMU`, `PCMA` or `G722`).
    pub const fn encoding_name(&self) -> &'static str {
        match self.kind {
            CodecKind::Pcmu => "PCMU",
            CodecKind::Pcma => "PCMA",
            CodecKind::G722 => "G722",
        }
    }

    /// The RTP clock rate of this codec in Hz (8000 for all of them, G.722 included).
    pub const fn clock_rate(&self) -> u32 {
        SAMPLE_RATE
    }

    /// The sample rate of the audio this codec carries (16000 for G.722, else 8000).
    pub const fn audio_rate(&self) -> u32 {
        match self.kind {
            CodecKind::G722 => G722_AUDIO_RATE,
            CodecKind::Pcmu | CodecKind::Pcma => SAMPLE_RATE,
        }
    }

    /// The number of RTP clock ticks (= 8 kHz samples once decoded) one payload of `len`
    /// bytes carries: one per byte for G.711 and for 64 kbit/s G.722 alike.
    pub const fn samples_in(&self, len: usize) -> usize {
        len
    }

    /// Encodes a whole, independent stretch of 8 kHz samples, appending the payload bytes to
    /// `out`. G.711 is stateless, so frame-by-frame calls are fine; G.722 starts from a fresh
    /// encoder on every call, so a stream must use an [`Encoder`] instead.
    pub fn encode(&self, pcm: &[i16], out: &mut Vec<u8>) {
        Encoder::new(*self).encode(pcm, out);
    }

    /// Decodes a whole, independent payload (or several concatenated) into 8 kHz samples,
    /// appending them to `out`. As with [`Codec::encode`], a G.722 stream needs a [`Decoder`].
    pub fn decode(&self, payload: &[u8], out: &mut Vec<i16>) {
        Decoder::new(*self).decode(payload, out);
    }

    /// The payload byte that decodes to silence (zero), for the stateless G.711 laws; `None`
    /// for G.722, whose silence depends on the encoder's state.
    pub const fn silence_byte(&self) -> Option<u8> {
        match self.kind {
            CodecKind::Pcmu => Some(0xFF),
            CodecKind::Pcma => Some(0xD5),
            CodecKind::G722 => None,
        }
    }
}

/// The encoding state of one outgoing stream: 8 kHz samples in, payload bytes out.
pub struct Encoder {
    kind: CodecKind,
    g722: Option<Box<G722Tx>>,
}

struct G722Tx {
    encoder: G722Encoder,
    up: StreamResampler,
    wide: Vec<i16>,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder").field("kind", &self.kind).finish()
    }
}

impl Encoder {
    /// A fresh encoder for `codec`.
    pub fn new(codec: Codec) -> Self {
        let g722 = (codec.kind == CodecKind::G722).then(|| {
            Box::new(G722Tx {
                encoder: G722Encoder::new(),
                up: StreamResampler::new(SAMPLE_RATE, G722_AUDIO_RATE),
                wide: Vec::with_capacity(2 * FRAME_SAMPLES),
                bytes: Vec::with_capacity(FRAME_SAMPLES + 1),
            })
        });
        Encoder {
            kind: codec.kind,
            g722,
        }
    }

    /// The codec family this encoder produces.
    pub fn kind(&self) -> CodecKind {
        self.kind
    }

    /// Encodes the next 8 kHz samples of the stream, appending one payload byte per sample.
    pub fn encode(&mut self, pcm: &[i16], out: &mut Vec<u8>) {
        match (self.kind, self.g722.as_deref_mut()) {
            (CodecKind::Pcmu, _) => g711::ulaw_encode_into(pcm, out),
            (CodecKind::Pcma, _) => g711::alaw_encode_into(pcm, out),
            (CodecKind::G722, Some(tx)) => {
                tx.wide.clear();
                tx.up.process(pcm, &mut tx.wide);
                tx.bytes.clear();
                tx.bytes
                    .resize(tx.encoder.max_encode_bytes(tx.wide.len()), 0);
                // The buffer is sized by the encoder's own bound, so this cannot fail.
                let n = tx.encoder.encode_into(&tx.wide, &mut tx.bytes).unwrap_or(0);
                out.extend_from_slice(&tx.bytes[..n]);
            }
            (CodecKind::G722, None) => unreachable!("a G.722 encoder always has its state"),
        }
    }
}

/// The decoding state of one incoming stream: payload bytes in, 8 kHz samples out.
pub struct Decoder {
    kind: CodecKind,
    g722: Option<Box<G722Rx>>,
}

struct G722Rx {
    decoder: G722Decoder,
    down: StreamResampler,
    wide: Vec<i16>,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder").field("kind", &self.kind).finish()
    }
}

impl Decoder {
    /// A fresh decoder for `codec`.
    pub fn new(codec: Codec) -> Self {
        let g722 = (codec.kind == CodecKind::G722).then(|| {
            Box::new(G722Rx {
                decoder: G722Decoder::new(),
                down: StreamResampler::new(G722_AUDIO_RATE, SAMPLE_RATE),
                wide: Vec::with_capacity(2 * FRAME_SAMPLES),
            })
        });
        Decoder {
            kind: codec.kind,
            g722,
        }
    }

    /// The codec family this decoder reads.
    pub fn kind(&self) -> CodecKind {
        self.kind
    }

    /// Decodes the next payload of the stream, appending one 8 kHz sample per payload byte.
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) {
        match (self.kind, self.g722.as_deref_mut()) {
            (CodecKind::Pcmu, _) => g711::ulaw_decode_into(payload, out),
            (CodecKind::Pcma, _) => g711::alaw_decode_into(payload, out),
            (CodecKind::G722, Some(rx)) => {
                rx.wide.clear();
                rx.wide
                    .resize(rx.decoder.max_decode_samples(payload.len()), 0);
                // Sized by the decoder's own bound, so this cannot fail.
                let n = rx.decoder.decode_into(payload, &mut rx.wide).unwrap_or(0);
                rx.wide.truncate(n);
                rx.down.process(&rx.wide, out);
            }
            (CodecKind::G722, None) => unreachable!("a G.722 decoder always has its state"),
        }
    }
}

/// Converts a payload between the two G.711 laws, appending to `out`, without a full
/// decode/encode pass (one table lookup per byte). Returns `false` (and appends nothing) for
/// any other pair: G.722 needs a [`Decoder`] and an [`Encoder`] with their stream state.
pub fn transcode(from: CodecKind, to: CodecKind, payload: &[u8], out: &mut Vec<u8>) -> bool {
    match (from, to) {
        (CodecKind::Pcmu, CodecKind::Pcma) => {
            out.extend(payload.iter().map(|b| g711::ulaw_to_alaw(*b)));
        }
        (CodecKind::Pcma, CodecKind::Pcmu) => {
            out.extend(payload.iter().map(|b| g711::alaw_to_ulaw(*b)));
        }
        (a, b) if a == b && a.is_g711() => out.extend_from_slice(payload),
        _ => return false,
    }
    true
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
        assert!(transcode(
            CodecKind::Pcmu,
            CodecKind::Pcma,
            &ulaw,
            &mut alaw
        ));
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
        assert_eq!(Codec::from_rtpmap(9, "G722", 8000), Some(Codec::g722()));
        assert_eq!(Codec::from_rtpmap(9, "G722", 16000), None);
        assert_eq!(Codec::from_rtpmap(96, "opus", 48000), None);
        assert_eq!(Codec::from_static_payload_type(9), Some(Codec::g722()));
        assert_eq!(Codec::g722().encoding_name(), "G722");
        assert_eq!(Codec::g722().clock_rate(), 8000);
        assert_eq!(Codec::g722().audio_rate(), 16000);
        assert_eq!(Codec::from_rtpmap(0, "PCMU", 16000), None);
        assert_eq!(Codec::from_static_payload_type(8), Some(Codec::pcma()));
        assert_eq!(Codec::from_static_payload_type(18), None);
        assert_eq!(Codec::pcma().encoding_name(), "PCMA");
    }

    #[test]
    fn silence_bytes_decode_to_near_zero() {
        let mut out = Vec::new();
        Codec::pcmu().decode(&[Codec::pcmu().silence_byte().unwrap()], &mut out);
        Codec::pcma().decode(&[Codec::pcma().silence_byte().unwrap()], &mut out);
        assert_eq!(out, [0, 8]);
        assert_eq!(Codec::g722().silence_byte(), None);
    }

    use crate::resample::tests::{rms, sine, tone_to_residual_db};

    /// SNR of `decoded` against `original`, in dB, at the best lag in 0..64 samples (the codec
    /// and the resampler delay the signal), skipping the first and last 800 samples.
    fn snr_db(original: &[i16], decoded: &[i16]) -> (f64, usize) {
        let mut best = (f64::MIN, 0);
        for lag in 0..64 {
            let (mut sig, mut err) = (0.0, 0.0);
            for n in 800..original.len().min(decoded.len() - lag) - 800 {
                let o = f64::from(original[n]);
                sig += o * o;
                err += (o - f64::from(decoded[n + lag])).powi(2);
            }
            let snr = 10.0 * (sig / err.max(1e-9)).log10();
            if snr > best.0 {
                best = (snr, lag);
            }
        }
        best
    }

    #[test]
    fn g722_at_16khz_round_trips_a_1khz_sine_above_20db() {
        let input = sine(1000.0, 16000, 1.0, 10000.0);
        let mut enc = G722Encoder::new();
        let mut dec = G722Decoder::new();
        let mut decoded = Vec::new();
        for frame in input.chunks(320) {
            let bytes = enc.encode(frame);
            assert_eq!(bytes.len(), 160, "20 ms at 64 kbit/s is 160 bytes");
            decoded.extend(dec.decode(&bytes));
        }
        assert_eq!(decoded.len(), input.len());
        let (snr, lag) = snr_db(&input, &decoded);
        assert!(
            snr > 20.0,
            "G.722 round trip: SNR {snr:.1} dB at lag {lag}, expected > 20"
        );
        let tone = tone_to_residual_db(&decoded[800..15200], 16000, 1000.0);
        assert!(tone > 20.0, "G.722 round trip: tone/residual {tone:.1} dB");
    }

    #[test]
    fn g722_streams_give_160_bytes_and_160_samples_per_20ms() {
        let mut enc = Encoder::new(Codec::g722());
        let mut dec = Decoder::new(Codec::g722());
        let frame = [1000i16; FRAME_SAMPLES];
        for _ in 0..5 {
            let mut payload = Vec::new();
            enc.encode(&frame, &mut payload);
            assert_eq!(payload.len(), FRAME_SAMPLES);
            assert_eq!(Codec::g722().samples_in(payload.len()), FRAME_SAMPLES);
            let mut pcm = Vec::new();
            dec.decode(&payload, &mut pcm);
            assert_eq!(pcm.len(), FRAME_SAMPLES);
        }
    }

    #[test]
    fn a_g722_phone_is_heard_at_8khz_with_its_tone_and_level() {
        // The phone encodes 16 kHz audio; the engine's decoder gives 8 kHz, 20 ms at a time.
        let amplitude = 10000.0;
        let wide = sine(1000.0, 16000, 1.0, amplitude);
        let mut phone = G722Encoder::new();
        let mut dec = Decoder::new(Codec::g722());
        let mut heard = Vec::new();
        for frame in wide.chunks(320) {
            dec.decode(&phone.encode(frame), &mut heard);
        }
        assert_eq!(heard.len(), 8000);
        let body = &heard[800..7200];
        let tone = tone_to_residual_db(body, 8000, 1000.0);
        assert!(
            tone > 20.0,
            "phone → engine: tone/residual {tone:.1} dB, expected > 20"
        );
        let level = rms(body) / (amplitude / 2f64.sqrt());
        assert!(
            (level - 1.0).abs() < 0.1,
            "phone → engine: gain {level:.3}, expected ≈ 1"
        );
        // tone/residual is the SNR against the best-fitting 1 kHz sine of any phase: the path's
        // delay (~11.5 samples at 8 kHz) is not a whole number of samples.
    }

    #[test]
    fn the_engine_is_heard_by_a_g722_phone_with_its_tone_and_level() {
        let amplitude = 10000.0;
        let narrow = sine(1000.0, 8000, 1.0, amplitude);
        let mut enc = Encoder::new(Codec::g722());
        let mut phone = G722Decoder::new();
        let mut heard = Vec::new();
        for frame in narrow.chunks(FRAME_SAMPLES) {
            let mut payload = Vec::new();
            enc.encode(frame, &mut payload);
            heard.extend(phone.decode(&payload));
        }
        assert_eq!(heard.len(), 16000);
        let body = &heard[1600..14400];
        let tone = tone_to_residual_db(body, 16000, 1000.0);
        assert!(
            tone > 20.0,
            "engine → phone: tone/residual {tone:.1} dB, expected > 20"
        );
        let level = rms(body) / (amplitude / 2f64.sqrt());
        assert!(
            (level - 1.0).abs() < 0.1,
            "engine → phone: gain {level:.3}, expected ≈ 1"
        );
    }

    #[test]
    fn a_g722_stream_decoded_frame_by_frame_equals_one_pass() {
        // The decoder keeps ADPCM and resampler state across payloads.
        let wide = sine(440.0, 16000, 0.5, 8000.0);
        let mut phone = G722Encoder::new();
        let payload = phone.encode(&wide);
        let mut whole = Vec::new();
        Codec::g722().decode(&payload, &mut whole);
        let mut dec = Decoder::new(Codec::g722());
        let mut framed = Vec::new();
        for p in payload.chunks(FRAME_SAMPLES) {
            dec.decode(p, &mut framed);
        }
        assert_eq!(framed, whole);
        // And G.722 has no byte-wise transcoding.
        assert!(!transcode(
            CodecKind::G722,
            CodecKind::Pcmu,
            &payload,
            &mut Vec::new()
        ));
    }
}
