//! RTCP (RFC 3550 §6): receive statistics, sender/receiver reports, loss, jitter and RTT.
//!
//! [`RxStats`] follows appendix A.3 (loss) and A.8 (jitter) for the stream a leg receives.
//! Reports are written and parsed with `rtcp-types`, kept behind this module. Round-trip time
//! comes from the peer's report blocks about our stream: RTT = arrival − LSR − DLSR, in the
//! middle 32 bits of NTP time, which the engine derives from its monotonic clock (only
//! differences of our own clock matter, so no wall clock is needed).

use std::time::{Duration, Instant};

use rtcp_types::{
    Compound, Packet, ReceiverReport, ReportBlock, RtcpPacketWriterExt, Sdes, SdesChunk, SdesItem,
    SenderReport,
};

use crate::rtp::{RtpHeader, SeqExtender};

/// One report block (RFC 3550 §6.4.1) about a source we receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlockData {
    /// The SSRC reported on.
    pub ssrc: u32,
    /// Fraction of packets lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Packets lost since the start (24 bits, clamped).
    pub cumulative_lost: u32,
    /// The extended highest sequence number received.
    pub highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// The middle 32 bits of the NTP time of the last SR received from that source (0 if none).
    pub lsr: u32,
    /// The delay since that SR, in 1/65536 s.
    pub dlsr: u32,
}

/// Sender information for an SR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderInfo {
    /// Our NTP time (64-bit fixed point).
    pub ntp: u64,
    /// The RTP timestamp corresponding to `ntp`.
    pub rtp_timestamp: u32,
    /// Packets sent so far.
    pub packets: u32,
    /// Payload octets sent so far.
    pub octets: u32,
}

/// What a received compound RTCP packet said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RtcpInfo {
    /// Sender reports: (SSRC, NTP time).
    pub sender_reports: Vec<(u32, u64)>,
    /// Every report block in SRs and RRs.
    pub blocks: Vec<ReportBlockData>,
    /// Whether a BYE was present.
    pub bye: bool,
}

/// Why a datagram is not valid RTCP (the parser's message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtcpError(pub String);

impl std::fmt::Display for RtcpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid RTCP: {}", self.0)
    }
}

impl std::error::Error for RtcpError {}

/// Converts a duration since an origin into the 64-bit NTP format, from `base`.
pub fn ntp_at(base: u64, since_origin: Duration) -> u64 {
    let secs = since_origin.as_secs() << 32;
    let frac = (u64::from(since_origin.subsec_nanos()) << 32) / 1_000_000_000;
    base.wrapping_add(secs | frac)
}

/// The middle 32 bits of an NTP time, as used by LSR and RTT arithmetic.
pub fn ntp_mid(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// Builds a compound RTCP packet: an SR (if `sender` is given) or an RR, with at most one report
/// block, followed by an SDES with our CNAME.
pub fn build_report(
    ssrc: u32,
    sender: Option<SenderInfo>,
    block: Option<ReportBlockData>,
    cname: &str,
) -> Result<Vec<u8>, RtcpError> {
    let rb = block.map(|b| {
        ReportBlock::builder(b.ssrc)
            .fraction_lost(b.fraction_lost)
            .cumulative_lost(b.cumulative_lost.min(0x7F_FFFF))
            .extended_sequence_number(b.highest_seq)
            .interarrival_jitter(b.jitter)
            .last_sender_report_timestamp(b.lsr)
            .delay_since_last_sender_report_timestamp(b.dlsr)
    });
    let sdes = Sdes::builder()
        .add_chunk(SdesChunk::builder(ssrc).add_item(SdesItem::builder(SdesItem::CNAME, cname)));
    let compound = match sender {
        Some(s) => {
            let mut sr = SenderReport::builder(ssrc)
                .ntp_timestamp(s.ntp)
                .rtp_timestamp(s.rtp_timestamp)
                .packet_count(s.packets)
                .octet_count(s.octets);
            if let Some(rb) = rb {
                sr = sr.add_report_block(rb);
            }
            Compound::builder().add_packet(sr).add_packet(sdes)
        }
        None => {
            let mut rr = ReceiverReport::builder(ssrc);
            if let Some(rb) = rb {
                rr = rr.add_report_block(rb);
            }
            Compound::builder().add_packet(rr).add_packet(sdes)
        }
    };
    let size = compound
        .calculate_size()
        .map_err(|e| RtcpError(e.to_string()))?;
    let mut buf = vec![0u8; size];
    compound
        .write_into(&mut buf)
        .map_err(|e| RtcpError(e.to_string()))?;
    Ok(buf)
}

use rtcp_types::RtcpPacketWriter;

/// Parses a compound RTCP packet, keeping what quality reporting needs.
pub fn parse(bytes: &[u8]) -> Result<RtcpInfo, RtcpError> {
    let compound = Compound::parse(bytes).map_err(|e| RtcpError(e.to_string()))?;
    let mut info = RtcpInfo::default();
    for packet in compound {
        let packet = packet.map_err(|e| RtcpError(e.to_string()))?;
        match packet {
            Packet::Sr(sr) => {
                info.sender_reports.push((sr.ssrc(), sr.ntp_timestamp()));
                info.blocks
                    .extend(sr.report_blocks().map(|b| block_data(&b)));
            }
            Packet::Rr(rr) => info
                .blocks
                .extend(rr.report_blocks().map(|b| block_data(&b))),
            Packet::Bye(_) => info.bye = true,
            _ => {}
        }
    }
    Ok(info)
}

fn block_data(b: &ReportBlock<'_>) -> ReportBlockData {
    ReportBlockData {
        ssrc: b.ssrc(),
        fraction_lost: b.fraction_lost(),
        cumulative_lost: b.cumulative_lost(),
        highest_seq: b.extended_sequence_number(),
        jitter: b.interarrival_jitter(),
        lsr: b.last_sender_report_timestamp(),
        dlsr: b.delay_since_last_sender_report_timestamp(),
    }
}

/// Receive statistics of one RTP stream (RFC 3550 appendix A.3 and A.8).
#[derive(Debug, Clone, Default)]
pub struct RxStats {
    ssrc: Option<u32>,
    seq: SeqExtender,
    base: u64,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    jitter: f64,
    last_transit: Option<i64>,
    origin: Option<Instant>,
    last_sr: Option<(u32, Instant)>,
}

impl RxStats {
    /// Creates empty statistics.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accounts for one received RTP packet (any payload type of the stream).
    pub fn on_rtp(&mut self, now: Instant, header: &RtpHeader, clock_rate: u32) {
        if self.ssrc != Some(header.ssrc) {
            *self = RxStats {
                ssrc: Some(header.ssrc),
                origin: self.origin,
                ..RxStats::default()
            };
        }
        let ext = self.seq.extend(header.sequence);
        if self.received == 0 {
            self.base = ext;
        }
        self.base = self.base.min(ext);
        self.received += 1;
        let origin = *self.origin.get_or_insert(now);
        let arrival = (now.saturating_duration_since(origin).as_micros() * u128::from(clock_rate)
            / 1_000_000) as i64;
        let transit = arrival - i64::from(header.timestamp);
        if let Some(last) = self.last_transit {
            let d = f64::from((transit.wrapping_sub(last) as i32).unsigned_abs());
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.last_transit = Some(transit);
    }

    /// Remembers an SR from the source, for LSR/DLSR in our next report.
    pub fn on_sender_report(&mut self, now: Instant, ntp: u64) {
        self.last_sr = Some((ntp_mid(ntp), now));
    }

    /// The SSRC received, if any.
    pub fn ssrc(&self) -> Option<u32> {
        self.ssrc
    }

    /// Packets received.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Packets expected from the sequence numbers.
    pub fn expected(&self) -> u64 {
        match self.seq.highest() {
            Some(h) if self.received > 0 => h - self.base + 1,
            _ => 0,
        }
    }

    /// Packets lost since the start (negative with duplicates).
    pub fn lost(&self) -> i64 {
        self.expected() as i64 - self.received as i64
    }

    /// Interarrival jitter in timestamp units.
    pub fn jitter(&self) -> f64 {
        self.jitter
    }

    /// The report block for our next RTCP packet, updating the "since last report" counters.
    pub fn report_block(&mut self, now: Instant) -> Option<ReportBlockData> {
        let ssrc = self.ssrc?;
        let expected = self.expected();
        let expected_interval = expected - self.expected_prior;
        let received_interval = self.received - self.received_prior;
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        let (lsr, dlsr) = match self.last_sr {
            Some((lsr, at)) => {
                let d = now.saturating_duration_since(at);
                (lsr, (d.as_micros() as u64 * 65536 / 1_000_000) as u32)
            }
            None => (0, 0),
        };
        Some(ReportBlockData {
            ssrc,
            fraction_lost,
            cumulative_lost: self.lost().clamp(0, 0x7F_FFFF) as u32,
            highest_seq: self.seq.highest().unwrap_or(0) as u32,
            jitter: self.jitter as u32,
            lsr,
            dlsr,
        })
    }
}

/// The round-trip time from a report block about our stream, if it carries an LSR.
pub fn round_trip(arrival_ntp: u64, block: &ReportBlockData) -> Option<Duration> {
    if block.lsr == 0 {
        return None;
    }
    let rtt = ntp_mid(arrival_ntp)
        .wrapping_sub(block.lsr)
        .wrapping_sub(block.dlsr);
    if rtt > 0x8000_0000 {
        return None; // negative: clocks or reports inconsistent
    }
    Some(Duration::from_micros(u64::from(rtt) * 1_000_000 / 65536))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(seq: u16, ts: u32) -> RtpHeader {
        RtpHeader {
            marker: false,
            payload_type: 0,
            sequence: seq,
            timestamp: ts,
            ssrc: 77,
        }
    }

    #[allow(
        clippy::disallowed_methods,
        reason = "a test needs one real instant as its origin"
    )]
    fn t0() -> Instant {
        Instant::now()
    }

    #[test]
    fn counts_loss_and_fraction() {
        let t0 = t0();
        let mut s = RxStats::new();
        for n in 0..100u16 {
            if n % 10 == 3 {
                continue; // 10 % loss
            }
            s.on_rtp(
                t0 + Duration::from_millis(u64::from(n) * 20),
                &header(65500u16.wrapping_add(n), u32::from(n) * 160),
                8000,
            );
        }
        assert_eq!(s.expected(), 100);
        assert_eq!(s.lost(), 10);
        let b = s.report_block(t0 + Duration::from_secs(2)).unwrap();
        assert_eq!(b.cumulative_lost, 10);
        assert_eq!(b.fraction_lost, 25); // 10/100 * 256
        assert_eq!(b.ssrc, 77);
        assert!(s.jitter() < 1.0, "steady stream: {}", s.jitter());
        // Nothing new since: the interval fraction is zero.
        assert_eq!(
            s.report_block(t0 + Duration::from_secs(3))
                .unwrap()
                .fraction_lost,
            0
        );
    }

    #[test]
    fn jitter_follows_arrival_variation() {
        let t0 = t0();
        let mut s = RxStats::new();
        for n in 0..500u16 {
            let wobble = if n % 2 == 0 { 0 } else { 10 };
            s.on_rtp(
                t0 + Duration::from_millis(u64::from(n) * 20 + wobble),
                &header(n, u32::from(n) * 160),
                8000,
            );
        }
        // Alternating 10 ms (80 samples) of delay gives |D| = 80 each time.
        assert!((s.jitter() - 80.0).abs() < 2.0, "{}", s.jitter());
    }

    #[test]
    fn sr_and_rr_round_trip_through_bytes() {
        let block = ReportBlockData {
            ssrc: 5,
            fraction_lost: 12,
            cumulative_lost: 40,
            highest_seq: 70000,
            jitter: 33,
            lsr: 0x1234_5678,
            dlsr: 65536,
        };
        let sr = SenderInfo {
            ntp: 0x0000_0001_8000_0000,
            rtp_timestamp: 16000,
            packets: 50,
            octets: 8000,
        };
        let bytes = build_report(9, Some(sr), Some(block), "switchboard").unwrap();
        let info = parse(&bytes).unwrap();
        assert_eq!(info.sender_reports, vec![(9, sr.ntp)]);
        assert_eq!(info.blocks, vec![block]);
        let rr = build_report(9, None, Some(block), "switchboard").unwrap();
        assert_eq!(rr[1], 201);
        assert_eq!(parse(&rr).unwrap().blocks, vec![block]);
        assert!(parse(&[0x80, 200, 0, 50]).is_err());
    }

    #[test]
    fn round_trip_time_from_lsr_and_dlsr() {
        let t0 = t0();
        // We sent an SR at our NTP time T; the peer held it 0.5 s; it arrives back 0.6 s after T.
        let sent = ntp_at(0, Duration::from_secs(10));
        let arrival = ntp_at(0, Duration::from_millis(10_600));
        let block = ReportBlockData {
            lsr: ntp_mid(sent),
            dlsr: 32768,
            ..Default::default()
        };
        let rtt = round_trip(arrival, &block).unwrap();
        assert!((rtt.as_millis() as i64 - 100).abs() <= 1, "{rtt:?}");
        assert_eq!(round_trip(arrival, &ReportBlockData::default()), None);
        // And the receiver side computes DLSR from the SR it got.
        let mut s = RxStats::new();
        s.on_rtp(t0, &header(1, 0), 8000);
        s.on_sender_report(t0, sent);
        let b = s.report_block(t0 + Duration::from_millis(500)).unwrap();
        assert_eq!((b.lsr, b.dlsr), (ntp_mid(sent), 32768));
    }
}
