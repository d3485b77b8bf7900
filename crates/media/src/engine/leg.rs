//! One RTP leg of the engine: addresses (SDP and latched), counters and stream state.

use std::net::SocketAddr;
use std::time::Instant;

use crate::codec::Codec;
use crate::rtp::RtpStream;

/// A leg's identity, allocated by the caller (typically one per call party).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LegId(pub u64);

impl std::fmt::Display for LegId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "leg{}", self.0)
    }
}

/// Packet counters of one leg, readable through [`crate::MediaEngine::counters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LegCounters {
    /// Valid RTP packets accepted from the latched peer.
    pub packets_in: u64,
    /// Bytes of those packets (whole datagrams).
    pub bytes_in: u64,
    /// RTP packets emitted towards the peer.
    pub packets_out: u64,
    /// Bytes of those packets (whole datagrams).
    pub bytes_out: u64,
    /// Packets dropped because they came from an address other than the latched one
    /// (the RTP bleed defence).
    pub dropped_foreign: u64,
    /// Datagrams dropped because they were not valid RTP.
    pub dropped_invalid: u64,
    /// Packets that could not be sent because the leg had no remote address yet.
    pub unsent_no_remote: u64,
    /// RTCP packets received on the leg.
    pub rtcp_in: u64,
}

/// The latching state of a leg's remote address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latch {
    /// No valid packet has arrived yet; output goes to the SDP address, if any.
    Open {
        /// The address from SDP, if the leg has one.
        sdp: Option<SocketAddr>,
    },
    /// The first valid packet fixed the peer address; other sources are dropped.
    Latched {
        /// The source address of the first valid packet.
        peer: SocketAddr,
    },
}

impl Latch {
    /// The address to send to.
    pub fn destination(&self) -> Option<SocketAddr> {
        match self {
            Latch::Open { sdp } => *sdp,
            Latch::Latched { peer } => Some(*peer),
        }
    }
}

/// The per-leg state kept by the engine.
#[derive(Debug)]
pub(crate) struct Leg {
    pub codec: Codec,
    pub telephone_event_pt: Option<u8>,
    pub latch: Latch,
    pub counters: LegCounters,
    pub bridge: Option<LegId>,
    /// The engine's own outgoing stream (prompts, mixes, MOH, generated DTMF).
    pub tx: RtpStream,
    /// When the last valid RTP packet arrived; `None` until media started.
    pub last_rx: Option<Instant>,
    /// Whether an `RtpTimeout` was reported for the current silence already.
    pub timeout_reported: bool,
}

impl Leg {
    pub fn new(
        codec: Codec,
        telephone_event_pt: Option<u8>,
        remote: Option<SocketAddr>,
        tx: RtpStream,
    ) -> Self {
        Leg {
            codec,
            telephone_event_pt,
            latch: Latch::Open { sdp: remote },
            counters: LegCounters::default(),
            bridge: None,
            tx,
            last_rx: None,
            timeout_reported: false,
        }
    }

    /// Applies latch-once to a packet from `from`; returns whether it is accepted.
    pub fn accept_source(&mut self, from: SocketAddr) -> bool {
        match self.latch {
            Latch::Open { .. } => {
                self.latch = Latch::Latched { peer: from };
                true
            }
            Latch::Latched { peer } if peer == from => true,
            Latch::Latched { .. } => {
                self.counters.dropped_foreign += 1;
                false
            }
        }
    }

    /// A re-INVITE announced `remote`: if it differs from the latched peer, reopen the latch
    /// towards the new address (the first valid packet from anywhere latches again).
    pub fn update_remote(&mut self, remote: Option<SocketAddr>) {
        match self.latch {
            Latch::Latched { peer } if Some(peer) == remote => {}
            _ => self.latch = Latch::Open { sdp: remote },
        }
    }

    /// Counts an emitted packet and returns its destination, if the leg has one.
    pub fn destination_for_send(&mut self, len: usize) -> Option<SocketAddr> {
        match self.latch.destination() {
            Some(to) => {
                self.counters.packets_out += 1;
                self.counters.bytes_out += len as u64;
                Some(to)
            }
            None => {
                self.counters.unsent_no_remote += 1;
                None
            }
        }
    }
}
