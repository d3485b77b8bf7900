//! One RTP leg of the engine: addresses (SDP and latched), counters and stream state.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::codec::{Codec, Decoder, Encoder, FRAME_SAMPLES};
use crate::dtmf::{DtmfReceiver, InbandDetector, TelephoneEventPacket};
use crate::jitter::JitterBuffer;
use crate::mixer::Frame;
use crate::player::Player;
use crate::recorder::Recorder;
use crate::rtcp::{ReportBlockData, RxStats};
use crate::rtp::RtpStream;

/// A conference room's identity, allocated by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomId(pub u64);

impl std::fmt::Display for RoomId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "room{}", self.0)
    }
}

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

/// An outgoing RFC 4733 item, one per 20 ms tick.
#[derive(Debug, Clone, Copy)]
pub(crate) enum DtmfTxItem {
    /// A telephone-event packet; `first` starts a new event (its timestamp is taken then).
    Packet {
        first: bool,
        packet: TelephoneEventPacket,
    },
    /// A silent gap between digits.
    Gap,
}

/// A recording attached to a leg.
#[derive(Debug)]
pub(crate) struct Recording {
    pub recorder: Recorder,
    pub both_directions: bool,
}

/// The per-leg state kept by the engine.
#[derive(Debug)]
pub(crate) struct Leg {
    pub codec: Codec,
    /// Encodes everything the engine sends on this leg that is not a relayed packet of the
    /// same codec: prompts, music on hold, mixes and audio transcoded from the bridge peer.
    /// Stateful for G.722, so one per leg, fed in sending order.
    pub encoder: Encoder,
    /// Decodes received audio for transcoding across a bridge when the peer's codec cannot be
    /// reached byte by byte (G.722 ↔ G.711). The jitter buffer has its own decoder.
    pub relay_decoder: Decoder,
    pub telephone_event_pt: Option<u8>,
    pub latch: Latch,
    /// The source of RTCP from the peer, once one arrived.
    pub rtcp_peer: Option<SocketAddr>,
    pub counters: LegCounters,
    pub bridge: Option<LegId>,
    /// The engine's own outgoing stream (prompts, mixes, MOH, generated DTMF).
    pub tx: RtpStream,
    /// When the engine last sent a packet of its own stream.
    pub last_own_send: Option<Instant>,
    /// When the last valid RTP packet arrived; `None` until media started.
    pub last_rx: Option<Instant>,
    /// Whether an `RtpTimeout` was reported for the current silence already.
    pub timeout_reported: bool,
    pub dtmf_rx: DtmfReceiver,
    /// The in-band detector, on legs without telephone-event when enabled.
    pub inband: Option<InbandDetector>,
    pub dtmf_tx: VecDeque<DtmfTxItem>,
    pub dtmf_event_ts: u32,
    pub player: Option<Player>,
    pub moh: Option<String>,
    pub room: Option<RoomId>,
    /// The leg left a room and its voice fades out of the mix in the next tick.
    pub fading_out: bool,
    pub recording: Option<Recording>,
    pub jitter: Option<JitterBuffer>,
    /// The frame the jitter buffer produced in the current tick.
    pub rx_frame: Option<Frame>,
    /// The conference mix prepared for this leg in the current tick.
    pub mix_frame: Option<Frame>,
    pub rx_stats: RxStats,
    pub rtt: Option<Duration>,
    pub remote_report: Option<ReportBlockData>,
    pub next_rtcp: Instant,
    pub packets_at_last_report: u32,
}

impl Leg {
    pub fn new(
        codec: Codec,
        telephone_event_pt: Option<u8>,
        remote: Option<SocketAddr>,
        tx: RtpStream,
        next_rtcp: Instant,
    ) -> Self {
        Leg {
            codec,
            encoder: Encoder::new(codec),
            relay_decoder: Decoder::new(codec),
            telephone_event_pt,
            latch: Latch::Open { sdp: remote },
            rtcp_peer: None,
            counters: LegCounters::default(),
            bridge: None,
            tx,
            last_own_send: None,
            last_rx: None,
            timeout_reported: false,
            dtmf_rx: DtmfReceiver::new(),
            inband: None,
            dtmf_tx: VecDeque::new(),
            dtmf_event_ts: 0,
            player: None,
            moh: None,
            room: None,
            fading_out: false,
            recording: None,
            jitter: None,
            rx_frame: None,
            mix_frame: None,
            rx_stats: RxStats::new(),
            rtt: None,
            remote_report: None,
            next_rtcp,
            packets_at_last_report: 0,
        }
    }

    /// Changes the negotiated codec; a new codec family starts fresh coding state.
    pub fn set_codec(&mut self, codec: Codec) {
        if codec.kind != self.codec.kind {
            self.encoder = Encoder::new(codec);
            self.relay_decoder = Decoder::new(codec);
        }
        self.codec = codec;
    }

    /// Whether the engine itself produces what this leg hears (relayed packets are then
    /// not forwarded to it).
    pub fn generates_audio(&self) -> bool {
        !self.dtmf_tx.is_empty()
            || self.player.is_some()
            || self.moh.is_some()
            || self.room.is_some()
    }

    /// Whether this leg needs a 20 ms tick for its own sake.
    pub fn needs_tick(&self) -> bool {
        self.generates_audio() || self.recording.is_some() || self.inband.is_some()
    }

    /// Prepares the own stream for a packet at `at`: after a pause, the timestamp jumps by the
    /// elapsed samples and the marker bit starts a new talk spurt.
    pub fn resume_own_stream(&mut self, at: Instant) {
        if let Some(last) = self.last_own_send {
            let gap = at.saturating_duration_since(last);
            if gap > Duration::from_millis(30) {
                let frames = (gap.as_micros() as u64 + 10_000) / 20_000;
                self.tx
                    .skip((frames.saturating_sub(1) * FRAME_SAMPLES as u64) as u32);
                self.tx.start_talkspurt();
            }
        }
        self.last_own_send = Some(at);
    }

    /// Puts a relayed packet (`out`, built from `packet`) into this leg's own outgoing stream:
    /// our SSRC, continuous sequence numbers and timestamps across changes of source (prompt,
    /// music, one party, another party after a transfer). Returns false if `out` is not RTP.
    pub fn continue_own_stream(
        &mut self,
        at: Instant,
        packet: &crate::rtp::RtpPacket<'_>,
        out: &mut [u8],
        audio: bool,
    ) -> bool {
        self.resume_own_stream(at);
        let samples = if audio {
            packet.payload.len() as u32
        } else {
            0
        };
        let header = self
            .tx
            .relayed_header(&packet.header, samples, out.len().saturating_sub(12));
        crate::rtp::rewrite_header(out, &header).is_ok()
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
