//! RTCP on each leg: reports received (loss, jitter and RTT as the peer sees them) and
//! reports sent every `rtcp_interval` (an SR when the engine sent its own stream since the
//! last report, else an RR), plus the quality report for the call record.

use std::net::SocketAddr;

use super::leg::{Leg, LegId};
use super::{MediaEngine, Output, QualityReport};
use crate::rtcp::{self, SenderInfo};

impl MediaEngine {
    fn ntp_now(&self) -> u64 {
        rtcp::ntp_at(
            self.config.ntp_at_start,
            self.now.saturating_duration_since(self.origin),
        )
    }

    pub(super) fn handle_rtcp(&mut self, id: LegId, from: SocketAddr, bytes: &[u8]) {
        let now = self.now;
        let ntp = self.ntp_now();
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let Ok(info) = rtcp::parse(bytes) else {
            leg.counters.dropped_invalid += 1;
            return;
        };
        // RTCP from a source other than the latched RTP peer's host is not trusted.
        if let Some(peer) = leg.latch.destination()
            && peer.ip() != from.ip()
        {
            leg.counters.dropped_foreign += 1;
            return;
        }
        leg.counters.rtcp_in += 1;
        leg.rtcp_peer = Some(from);
        for (ssrc, sr_ntp) in &info.sender_reports {
            if leg.rx_stats.ssrc() == Some(*ssrc) {
                leg.rx_stats.on_sender_report(now, *sr_ntp);
            }
        }
        let ours = leg.tx.ssrc();
        for block in info.blocks.iter().filter(|b| b.ssrc == ours) {
            leg.remote_report = Some(*block);
            if let Some(rtt) = rtcp::round_trip(ntp, block) {
                leg.rtt = Some(rtt);
            }
        }
    }

    pub(super) fn send_due_rtcp(&mut self) {
        let now = self.now;
        let ntp = self.ntp_now();
        let interval = self.config.rtcp_interval;
        for (id, leg) in &mut self.legs {
            if now < leg.next_rtcp {
                continue;
            }
            leg.next_rtcp = now + interval;
            // Nothing to say before media flows in either direction.
            if leg.last_rx.is_none() && leg.last_own_send.is_none() {
                continue;
            }
            let Some(to) = leg.rtcp_peer.or_else(|| {
                leg.latch
                    .destination()
                    .map(|a| SocketAddr::new(a.ip(), a.port().wrapping_add(1)))
            }) else {
                continue;
            };
            let sender = (leg.tx.packets_sent() != leg.packets_at_last_report).then(|| {
                let since = leg
                    .last_own_send
                    .map(|t| now.saturating_duration_since(t))
                    .unwrap_or_default();
                SenderInfo {
                    ntp,
                    // The timestamp of "now" on the stream's clock.
                    rtp_timestamp: leg
                        .tx
                        .last_timestamp()
                        .wrapping_add((since.as_micros() as u64 * 8 / 1000) as u32),
                    packets: leg.tx.packets_sent(),
                    octets: leg.tx.octets_sent(),
                }
            });
            leg.packets_at_last_report = leg.tx.packets_sent();
            let block = leg.rx_stats.report_block(now);
            if let Ok(bytes) = rtcp::build_report(leg.tx.ssrc(), sender, block, &self.config.cname)
            {
                self.out.push_back(Output::TransmitRtcp {
                    leg: *id,
                    to,
                    bytes,
                });
            }
        }
    }
}

/// The quality numbers of a leg.
pub(super) fn quality_report(leg: &Leg) -> QualityReport {
    let rate = u64::from(leg.codec.clock_rate());
    let ts_to_us = |ts: u64| (ts * 1_000_000 / rate) as u32;
    QualityReport {
        counters: leg.counters,
        expected: leg.rx_stats.expected(),
        lost: leg.rx_stats.lost(),
        jitter_us: ts_to_us(leg.rx_stats.jitter() as u64),
        rtt_us: leg.rtt.map(|d| d.as_micros() as u32),
        remote_fraction_lost: leg.remote_report.map(|b| b.fraction_lost),
        remote_lost: leg.remote_report.map(|b| b.cumulative_lost),
        remote_jitter_us: leg.remote_report.map(|b| ts_to_us(u64::from(b.jitter))),
        jitter_buffer: leg.jitter.as_ref().map(|j| j.stats()),
    }
}
