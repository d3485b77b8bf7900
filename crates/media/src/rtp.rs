//! RTP packets (RFC 3550 §5.1): parsing, building and the sender state of one stream.
//!
//! Parsing and writing are delegated to `rtp-types`; this module keeps that crate behind
//! Switchboard's own small types so no other crate names it. [`RtpStream`] is the sender side:
//! it owns the SSRC, the next sequence number and the RTP timestamp (counted in samples of the
//! 8 kHz clock, never in wall time), and sets the marker bit on the first packet of a talk spurt.

use std::fmt;

/// The fixed header fields of an RTP packet that Switchboard reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    /// The marker bit; for audio it marks the first packet of a talk spurt.
    pub marker: bool,
    /// The payload type (0..=127), as negotiated in SDP.
    pub payload_type: u8,
    /// The 16-bit sequence number, incremented by one per packet.
    pub sequence: u16,
    /// The RTP timestamp in samples of the payload's clock.
    pub timestamp: u32,
    /// The synchronisation source identifier of the sender.
    pub ssrc: u32,
}

/// A parsed RTP packet borrowing its payload from the received datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// The fixed header fields.
    pub header: RtpHeader,
    /// The number of CSRC identifiers the packet carried (they are skipped).
    pub csrc_count: u8,
    /// The payload, without CSRCs, header extension or padding.
    pub payload: &'a [u8],
}

/// Why a datagram is not a valid RTP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtpError {
    /// The datagram ended before a part that its header announced.
    Truncated {
        /// The number of bytes the header announced.
        expected: usize,
        /// The number of bytes that arrived.
        found: usize,
    },
    /// The version field was not 2.
    Version(u8),
    /// The padding length byte was zero.
    Padding(u8),
    /// A payload type outside 0..=127 was given to a writer.
    PayloadType(u8),
}

impl fmt::Display for RtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RtpError::Truncated { expected, found } => write!(
                f,
                "RTP packet truncated: expected at least {expected} bytes, found {found}"
            ),
            RtpError::Version(v) => write!(f, "RTP version must be 2, found {v}"),
            RtpError::Padding(p) => write!(f, "RTP padding length must be at least 1, found {p}"),
            RtpError::PayloadType(pt) => write!(f, "RTP payload type must be 0..=127, found {pt}"),
        }
    }
}

impl std::error::Error for RtpError {}

impl From<rtp_types::RtpParseError> for RtpError {
    fn from(e: rtp_types::RtpParseError) -> Self {
        match e {
            rtp_types::RtpParseError::UnsupportedVersion(v) => RtpError::Version(v),
            rtp_types::RtpParseError::Truncated { expected, actual } => RtpError::Truncated {
                expected,
                found: actual,
            },
            rtp_types::RtpParseError::PaddingInvalid(p) => RtpError::Padding(p),
        }
    }
}

/// Parses one RTP packet; never panics, whatever the bytes.
pub fn parse(bytes: &[u8]) -> Result<RtpPacket<'_>, RtpError> {
    let p = rtp_types::RtpPacket::parse(bytes)?;
    let header = RtpHeader {
        marker: p.marker_bit(),
        payload_type: p.payload_type(),
        sequence: p.sequence_number(),
        timestamp: p.timestamp(),
        ssrc: p.ssrc(),
    };
    let offset = p.payload_offset();
    let len = p.payload_len();
    // rtp-types validated padding, so offset + len is inside `bytes`; stay defensive anyway.
    let payload = bytes
        .get(offset..offset.saturating_add(len))
        .ok_or(RtpError::Truncated {
            expected: offset.saturating_add(len),
            found: bytes.len(),
        })?;
    Ok(RtpPacket {
        header,
        csrc_count: p.n_csrcs(),
        payload,
    })
}

/// Writes an RTP packet (no CSRCs, no extension, no padding) into a new vector.
pub fn build(header: &RtpHeader, payload: &[u8]) -> Result<Vec<u8>, RtpError> {
    let mut out = Vec::with_capacity(12 + payload.len());
    build_into(header, payload, &mut out)?;
    Ok(out)
}

/// Appends an RTP packet (no CSRCs, no extension, no padding) to `out`.
pub fn build_into(header: &RtpHeader, payload: &[u8], out: &mut Vec<u8>) -> Result<(), RtpError> {
    if header.payload_type > 127 {
        return Err(RtpError::PayloadType(header.payload_type));
    }
    out.reserve(12 + payload.len());
    out.push(0x80);
    out.push(u8::from(header.marker) << 7 | header.payload_type);
    out.extend_from_slice(&header.sequence.to_be_bytes());
    out.extend_from_slice(&header.timestamp.to_be_bytes());
    out.extend_from_slice(&header.ssrc.to_be_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

/// Tells whether a datagram on a multiplexed port is RTCP rather than RTP (RFC 5761 §4):
/// the second byte of RTCP is a packet type in 192..=223.
pub fn is_rtcp(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes[0] >> 6 == 2 && (192..=223).contains(&bytes[1])
}

/// Overwrites the marker bit, sequence number, timestamp and SSRC of the RTP packet in
/// `bytes` (the fixed header; payload type, CSRCs, extension and payload are kept).
pub fn rewrite_header(bytes: &mut [u8], header: &RtpHeader) -> Result<(), RtpError> {
    if bytes.len() < 12 {
        return Err(RtpError::Truncated {
            expected: 12,
            found: bytes.len(),
        });
    }
    bytes[1] = (bytes[1] & 0x7F) | (u8::from(header.marker) << 7);
    bytes[2..4].copy_from_slice(&header.sequence.to_be_bytes());
    bytes[4..8].copy_from_slice(&header.timestamp.to_be_bytes());
    bytes[8..12].copy_from_slice(&header.ssrc.to_be_bytes());
    Ok(())
}

/// Rewrites the payload type of an already-valid RTP packet in place, keeping the marker bit.
pub fn set_payload_type(bytes: &mut [u8], payload_type: u8) -> Result<(), RtpError> {
    let mut p = rtp_types::RtpPacketMut::parse(bytes)?;
    p.set_payload_type(payload_type)
        .map_err(|_| RtpError::PayloadType(payload_type))
}

/// Extends 16-bit sequence numbers to a 64-bit counter that survives wrap-around
/// (RFC 3550 appendix A.1, without the probation logic).
#[derive(Debug, Clone, Default)]
pub struct SeqExtender {
    highest: Option<u64>,
}

impl SeqExtender {
    /// Creates an extender that has seen no packet yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns the extended sequence number of `seq`, choosing the cycle nearest to the highest
    /// number seen so far (so late, reordered packets get numbers below it).
    pub fn extend(&mut self, seq: u16) -> u64 {
        let Some(highest) = self.highest else {
            // Start in cycle 1 so that packets reordered before the first one stay positive.
            let ext = (1u64 << 16) | u64::from(seq);
            self.highest = Some(ext);
            return ext;
        };
        let base = highest & !0xFFFF;
        let mut ext = base | u64::from(seq);
        for other in [base.checked_sub(1 << 16), Some(base + (1 << 16))]
            .into_iter()
            .flatten()
        {
            let candidate = other | u64::from(seq);
            if candidate.abs_diff(highest) < ext.abs_diff(highest) {
                ext = candidate;
            }
        }
        if ext > highest {
            self.highest = Some(ext);
        }
        ext
    }

    /// The highest extended sequence number seen, if any packet was seen.
    pub fn highest(&self) -> Option<u64> {
        self.highest
    }
}

/// Derives well-mixed 64-bit values from a seed (SplitMix64); used for SSRCs and initial
/// sequence numbers and timestamps so that they are unpredictable yet reproducible in tests.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The sender state of one outgoing RTP stream.
///
/// Sequence numbers start at a random value and increase by one per packet; the timestamp
/// starts at a random value and advances by the number of samples each packet carries. The
/// first packet after [`RtpStream::start_talkspurt`] (and the very first packet) has the
/// marker bit set.
#[derive(Debug, Clone)]
pub struct RtpStream {
    ssrc: u32,
    next_seq: u16,
    next_ts: u32,
    marker_pending: bool,
    packets_sent: u32,
    octets_sent: u32,
    last_ts: u32,
    /// The relayed source currently mapped into this stream: its SSRC and the sequence and
    /// timestamp offsets that continue our numbering (see [`RtpStream::relayed_header`]).
    relay_from: Option<(u32, u16, u32)>,
}

impl RtpStream {
    /// Creates a stream with explicit starting values (for tests and interop traces).
    pub fn new(ssrc: u32, first_seq: u16, first_ts: u32) -> Self {
        Self {
            ssrc,
            next_seq: first_seq,
            next_ts: first_ts,
            marker_pending: true,
            packets_sent: 0,
            octets_sent: 0,
            last_ts: first_ts,
            relay_from: None,
        }
    }

    /// Creates a stream whose SSRC, first sequence number and first timestamp derive from `seed`.
    pub fn from_seed(seed: u64) -> Self {
        let mut state = seed;
        let ssrc = splitmix64(&mut state) as u32;
        let seq = splitmix64(&mut state) as u16 & 0x7FFF;
        let ts = splitmix64(&mut state) as u32;
        Self::new(ssrc, seq, ts)
    }

    /// The stream's synchronisation source identifier.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The sequence number the next packet will carry.
    pub fn next_sequence(&self) -> u16 {
        self.next_seq
    }

    /// The timestamp the next packet will carry.
    pub fn next_timestamp(&self) -> u32 {
        self.next_ts
    }

    /// The timestamp of the most recently sent packet (the first timestamp before any was sent).
    pub fn last_timestamp(&self) -> u32 {
        self.last_ts
    }

    /// Packets sent so far (for RTCP sender reports; wraps at 2^32 as RFC 3550 says).
    pub fn packets_sent(&self) -> u32 {
        self.packets_sent
    }

    /// Payload octets sent so far (for RTCP sender reports; wraps at 2^32).
    pub fn octets_sent(&self) -> u32 {
        self.octets_sent
    }

    /// Marks the next packet as the start of a talk spurt (sets its marker bit).
    pub fn start_talkspurt(&mut self) {
        self.marker_pending = true;
    }

    /// Advances the timestamp without sending, for a gap in transmission (silence suppression).
    pub fn skip(&mut self, samples: u32) {
        self.next_ts = self.next_ts.wrapping_add(samples);
    }

    /// Builds the next packet with `payload` covering `samples` samples and advances the state.
    pub fn packet(&mut self, payload_type: u8, payload: &[u8], samples: u32) -> Vec<u8> {
        let header = self.next_header(payload_type, self.next_ts);
        self.next_ts = self.next_ts.wrapping_add(samples);
        self.account(header, payload)
    }

    /// Builds a packet at an explicit `timestamp` (for RFC 4733 events, whose packets all share
    /// the timestamp of the event start) without advancing the media timestamp. The caller
    /// decides the marker bit.
    pub fn packet_at(
        &mut self,
        payload_type: u8,
        marker: bool,
        timestamp: u32,
        payload: &[u8],
    ) -> Vec<u8> {
        let mut header = self.next_header(payload_type, timestamp);
        header.marker = marker;
        self.account(header, payload)
    }

    /// The header a relayed packet (`source`, carrying `samples` media samples and
    /// `payload_len` payload bytes) gets in this stream: our SSRC, and sequence numbers and
    /// timestamps that continue ours. When the source changes (another SSRC, or our own
    /// packets were sent in between) the offsets are set so the first relayed packet follows
    /// our last one, and its marker bit is set; while the source stays, the offsets stay, so
    /// its gaps, reordering and timing pass through unchanged; a stream that has sent
    /// nothing yet takes the first source's SSRC and numbering, so a plain bridged call is
    /// relayed byte for byte. The receiver sees one stream
    /// whoever speaks (a phone's jitter buffer primed by a prompt would otherwise drop every
    /// packet of the new source as late).
    pub fn relayed_header(
        &mut self,
        source: &RtpHeader,
        samples: u32,
        payload_len: usize,
    ) -> RtpHeader {
        if self.packets_sent == 0 && self.relay_from.is_none() {
            // Nothing sent yet: the stream takes the first source's identity, so a plain
            // bridged call relays its packets byte for byte.
            self.ssrc = source.ssrc;
            self.next_seq = source.sequence;
            self.next_ts = source.timestamp;
            self.marker_pending = false;
            self.relay_from = Some((source.ssrc, 0, 0));
        }
        let (seq_delta, ts_delta, fresh) = match self.relay_from {
            Some((ssrc, sd, td)) if ssrc == source.ssrc => (sd, td, false),
            _ => {
                let sd = self.next_seq.wrapping_sub(source.sequence);
                let td = self.next_ts.wrapping_sub(source.timestamp);
                self.relay_from = Some((source.ssrc, sd, td));
                (sd, td, true)
            }
        };
        let sequence = source.sequence.wrapping_add(seq_delta);
        let timestamp = source.timestamp.wrapping_add(ts_delta);
        if sequence.wrapping_sub(self.next_seq) as i16 >= 0 {
            self.next_seq = sequence.wrapping_add(1);
        }
        let end = timestamp.wrapping_add(samples);
        if end.wrapping_sub(self.next_ts) as i32 > 0 {
            self.next_ts = end;
        }
        let pending = std::mem::take(&mut self.marker_pending);
        let marker = source.marker || fresh || pending;
        self.packets_sent = self.packets_sent.wrapping_add(1);
        self.octets_sent = self.octets_sent.wrapping_add(payload_len as u32);
        self.last_ts = timestamp;
        RtpHeader {
            marker,
            payload_type: source.payload_type,
            sequence,
            timestamp,
            ssrc: self.ssrc,
        }
    }

    fn next_header(&mut self, payload_type: u8, timestamp: u32) -> RtpHeader {
        // Our own packet: a relayed source that follows continues after it.
        self.relay_from = None;
        let header = RtpHeader {
            marker: self.marker_pending,
            payload_type: payload_type & 0x7F,
            sequence: self.next_seq,
            timestamp,
            ssrc: self.ssrc,
        };
        self.marker_pending = false;
        self.next_seq = self.next_seq.wrapping_add(1);
        header
    }

    fn account(&mut self, header: RtpHeader, payload: &[u8]) -> Vec<u8> {
        self.packets_sent = self.packets_sent.wrapping_add(1);
        self.octets_sent = self.octets_sent.wrapping_add(payload.len() as u32);
        self.last_ts = header.timestamp;
        let mut out = Vec::with_capacity(12 + payload.len());
        // The payload type was masked to 7 bits above, so writing cannot fail.
        let _ = build_into(&header, payload, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn header(marker: bool, pt: u8, seq: u16, ts: u32, ssrc: u32) -> RtpHeader {
        RtpHeader {
            marker,
            payload_type: pt,
            sequence: seq,
            timestamp: ts,
            ssrc,
        }
    }

    #[test]
    fn builds_the_rfc_3550_layout() {
        let bytes = build(&header(true, 8, 0x1234, 0xAABBCCDD, 0x01020304), &[9, 9]).unwrap();
        assert_eq!(
            bytes,
            [
                0x80, 0x88, 0x12, 0x34, 0xAA, 0xBB, 0xCC, 0xDD, 1, 2, 3, 4, 9, 9
            ]
        );
    }

    #[test]
    fn parses_csrcs_extension_and_padding_away() {
        // V=2, P=1, X=1, CC=1; PT 0; one CSRC; extension of one word; payload 3 bytes; 2 padding.
        let bytes = [
            0xB1, 0x00, 0, 1, 0, 0, 0, 160, 0, 0, 0, 7, // header
            0, 0, 0, 9, // CSRC
            0xBE, 0xDE, 0, 1, 1, 2, 3, 4, // extension
            0x11, 0x22, 0x33, // payload
            0, 2, // padding
        ];
        let p = parse(&bytes).unwrap();
        assert_eq!(p.payload, &[0x11, 0x22, 0x33]);
        assert_eq!(p.csrc_count, 1);
        assert_eq!(p.header, header(false, 0, 1, 160, 7));
    }

    #[test]
    fn errors_say_what_was_expected() {
        assert_eq!(
            parse(&[0x80, 0]).unwrap_err(),
            RtpError::Truncated {
                expected: 12,
                found: 2
            }
        );
        assert_eq!(parse(&[0x40; 12]).unwrap_err(), RtpError::Version(1));
        assert!(
            parse(&[0x40; 12])
                .unwrap_err()
                .to_string()
                .contains("found 1")
        );
    }

    #[test]
    fn stream_counts_samples_and_marks_talkspurts() {
        let mut s = RtpStream::new(42, 65535, u32::MAX - 100);
        let a = s.packet(0, &[0; 160], 160);
        let b = s.packet(0, &[0; 160], 160);
        s.start_talkspurt();
        let c = s.packet(0, &[0; 160], 160);
        let (a, b, c) = (parse(&a).unwrap(), parse(&b).unwrap(), parse(&c).unwrap());
        assert!(a.header.marker && !b.header.marker && c.header.marker);
        assert_eq!(
            [a.header.sequence, b.header.sequence, c.header.sequence],
            [65535, 0, 1]
        );
        assert_eq!(b.header.timestamp, 59);
        assert_eq!(c.header.timestamp, 219);
        assert_eq!(s.packets_sent(), 3);
        assert_eq!(s.octets_sent(), 480);
    }

    #[test]
    fn seeded_streams_differ_and_repeat() {
        let a = RtpStream::from_seed(1);
        let b = RtpStream::from_seed(2);
        assert_ne!(a.ssrc(), b.ssrc());
        assert_eq!(a.ssrc(), RtpStream::from_seed(1).ssrc());
    }

    #[test]
    fn rtcp_demux() {
        assert!(is_rtcp(&[0x80, 200, 0, 6, 0, 0, 0, 1]));
        assert!(!is_rtcp(&[0x80, 0x00, 0, 6, 0, 0, 0, 1]));
    }

    #[test]
    fn payload_type_rewrite_keeps_marker() {
        let mut bytes = build(&header(true, 101, 1, 2, 3), &[1, 2, 3, 4]).unwrap();
        set_payload_type(&mut bytes, 96).unwrap();
        let p = parse(&bytes).unwrap();
        assert!(p.header.marker);
        assert_eq!(p.header.payload_type, 96);
    }

    #[test]
    fn sequence_extension_handles_wrap_and_reorder() {
        let mut x = SeqExtender::new();
        let first = x.extend(65534);
        assert_eq!(x.extend(65535), first + 1);
        assert_eq!(x.extend(1), first + 3);
        assert_eq!(x.extend(0), first + 2);
        assert_eq!(x.extend(65533), first - 1);
        assert_eq!(x.highest(), Some(first + 3));
    }

    proptest! {
        #[test]
        fn parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse(&bytes);
            let _ = is_rtcp(&bytes);
        }

        #[test]
        fn parser_never_panics_on_version_2_headers(
            first in 0x80u8..0xC0, rest in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let mut bytes = vec![first];
            bytes.extend(rest);
            if let Ok(p) = parse(&bytes) {
                prop_assert!(p.payload.len() <= bytes.len() - 12);
            }
            let mut copy = bytes.clone();
            let _ = set_payload_type(&mut copy, 96);
        }

        #[test]
        fn build_then_parse_round_trips(
            marker in any::<bool>(), pt in 0u8..128, seq in any::<u16>(), ts in any::<u32>(),
            ssrc in any::<u32>(), payload in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let h = header(marker, pt, seq, ts, ssrc);
            let bytes = build(&h, &payload).unwrap();
            let p = parse(&bytes).unwrap();
            prop_assert_eq!(p.header, h);
            prop_assert_eq!(p.payload, &payload[..]);
        }

        #[test]
        fn extension_is_monotonic_for_in_order_streams(start in any::<u16>(), n in 1usize..3000) {
            let mut x = SeqExtender::new();
            let mut prev = x.extend(start);
            for i in 1..n {
                let e = x.extend(start.wrapping_add(i as u16));
                prop_assert_eq!(e, prev + 1);
                prev = e;
            }
        }
    }
}
