//! The engine's vocabulary: inputs, outputs, commands, events and reports.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::leg::{LegCounters, LegId, RoomId};
use crate::codec::Codec;
use crate::jitter::JitterStats;
use crate::prompt::Prompt;
use crate::recorder::{RecordStop, SilenceStop};

/// Settings of a [`crate::MediaEngine`].
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Seed for SSRCs, initial sequence numbers and timestamps (the engine never reads the OS
    /// random generator). Each leg's stream derives from this seed and its [`LegId`].
    pub seed: u64,
    /// How long a leg may receive no RTP, after its media started, before
    /// [`MediaEvent::RtpTimeout`] is reported. Checked once a second.
    pub rtp_timeout: Duration,
    /// How often each leg sends an RTCP report (RFC 3550 suggests 5 s).
    pub rtcp_interval: Duration,
    /// The NTP time (64-bit fixed point) at the engine's creation instant; the server passes
    /// the wall clock so that sender reports carry real time. Only differences matter for RTT.
    pub ntp_at_start: u64,
    /// The RTCP CNAME of this engine.
    pub cname: String,
    /// Detect in-band DTMF tones (Goertzel) on legs that negotiated no telephone-event; their
    /// audio then passes through a jitter buffer and a detector (relaying is unaffected).
    pub inband_dtmf: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            seed: 0,
            rtp_timeout: Duration::from_secs(30),
            rtcp_interval: Duration::from_secs(5),
            ntp_at_start: 0,
            cname: "switchboard".to_string(),
            inband_dtmf: true,
        }
    }
}

/// Something that happened to the engine.
#[derive(Debug)]
pub enum Input<'a> {
    /// The deadline last returned in [`Output::Timeout`] passed; `now` is the current time.
    Timeout(Instant),
    /// A datagram arrived on the RTP socket of `leg` from `from` (RTCP multiplexed on the RTP
    /// port is recognised and handled as RTCP).
    Rtp {
        /// When it arrived.
        now: Instant,
        /// The leg whose socket received it.
        leg: LegId,
        /// The source address of the datagram.
        from: SocketAddr,
        /// The datagram.
        bytes: &'a [u8],
    },
    /// A datagram arrived on the RTCP socket (RTP port + 1) of `leg`.
    Rtcp {
        /// When it arrived.
        now: Instant,
        /// The leg whose socket received it.
        leg: LegId,
        /// The source address of the datagram.
        from: SocketAddr,
        /// The datagram.
        bytes: &'a [u8],
    },
    /// A command from call control (it takes effect at the latest `now` the engine has seen).
    Command(MediaCommand),
}

/// Something the driver must do.
#[derive(Debug, PartialEq, Eq)]
pub enum Output {
    /// Nothing more to do now; call back with [`Input::Timeout`] at this instant (or earlier
    /// with any other input).
    Timeout(Instant),
    /// Send `bytes` from the RTP socket of `leg` to `to`.
    Transmit {
        /// The leg whose socket sends it.
        leg: LegId,
        /// The destination address.
        to: SocketAddr,
        /// One RTP datagram.
        bytes: Vec<u8>,
    },
    /// Send `bytes` from the RTCP socket of `leg` to `to`.
    TransmitRtcp {
        /// The leg whose socket sends it.
        leg: LegId,
        /// The destination address (the RTCP source seen from the peer, else its RTP port + 1).
        to: SocketAddr,
        /// One compound RTCP datagram.
        bytes: Vec<u8>,
    },
    /// Tell call control about something.
    Event(MediaEvent),
}

/// A command from call control.
#[derive(Debug, Clone)]
pub enum MediaCommand {
    /// Creates a leg. `remote` is the address from the peer's SDP (if it has one yet); the
    /// first valid packet latches the real address.
    AddLeg {
        /// The caller-allocated id.
        leg: LegId,
        /// The RTP address from SDP.
        remote: Option<SocketAddr>,
        /// The negotiated audio codec and its payload type.
        codec: Codec,
        /// The negotiated RFC 4733 telephone-event payload type, if any.
        telephone_event_pt: Option<u8>,
    },
    /// A re-INVITE changed the peer's SDP address. If it differs from the latched address the
    /// latch reopens. The RTP timeout is disarmed until RTP flows again (a held phone may send
    /// nothing).
    UpdateRemote {
        /// The leg.
        leg: LegId,
        /// The new RTP address from SDP (`None` for a hold without address).
        remote: Option<SocketAddr>,
    },
    /// A re-INVITE changed the negotiated codec or telephone-event payload type.
    UpdateCodec {
        /// The leg.
        leg: LegId,
        /// The new audio codec.
        codec: Codec,
        /// The new telephone-event payload type, if any.
        telephone_event_pt: Option<u8>,
    },
    /// Relays RTP between two legs in both directions; codecs are transcoded if they differ
    /// and telephone-event payload types are rewritten. Any earlier bridge or conference of
    /// either leg ends. While the engine plays something to a leg, relayed packets to it are
    /// held back.
    Bridge(LegId, LegId),
    /// Ends the bridge this leg is in (both directions).
    Unbridge(LegId),
    /// Removes a leg: its recording finishes, it leaves its bridge and room, and a
    /// [`MediaEvent::Quality`] with its final numbers follows.
    RemoveLeg(LegId),
    /// Plays prompts to a leg, replacing what it was playing (without a `PlayFinished` for the
    /// replaced sequence). Digits keep being reported while it plays (barge-in).
    Play {
        /// The leg.
        leg: LegId,
        /// The sequence, played gaplessly.
        prompts: Vec<Arc<Prompt>>,
        /// Start over after the last prompt, until stopped.
        loop_: bool,
    },
    /// Stops playing to a leg (no `PlayFinished`).
    StopPlay(LegId),
    /// Sends digits as RFC 4733 telephone-events (needs a negotiated telephone-event PT).
    SendDtmf {
        /// The leg.
        leg: LegId,
        /// The digits, `0-9 * # A-D`.
        digits: String,
        /// How long each digit lasts (40..=8000 ms), followed by a 60 ms gap.
        duration_ms: u32,
    },
    /// Records what a leg says (and with `both_directions`, what it hears) into a WAV file.
    Record {
        /// The leg.
        leg: LegId,
        /// The file to create.
        path: PathBuf,
        /// The recording stops by itself at this length.
        max_length: Duration,
        /// Stop after this much silence, if given.
        silence: Option<SilenceStop>,
        /// Mix in what the leg hears.
        both_directions: bool,
    },
    /// Stops a recording; a [`MediaEvent::RecordingFinished`] follows.
    StopRecord(LegId),
    /// Puts a leg into a conference room (created on first join), ending its bridge.
    JoinConference {
        /// The leg.
        leg: LegId,
        /// The room.
        room: RoomId,
        /// Join muted (hears the room, is not heard).
        muted: bool,
    },
    /// Takes a leg out of its room (fading out over one frame).
    LeaveConference(LegId),
    /// Mutes or unmutes a leg in its room.
    Mute {
        /// The leg.
        leg: LegId,
        /// Whether it is muted.
        muted: bool,
    },
    /// Plays prompts into a room, heard by every member.
    PlayToConference {
        /// The room.
        room: RoomId,
        /// The sequence.
        prompts: Vec<Arc<Prompt>>,
        /// Start over after the last prompt.
        loop_: bool,
    },
    /// Defines (or replaces) a music-on-hold class: one looping source shared by all listeners.
    DefineMoh {
        /// The class name (`prompts/moh/<class>/`).
        class: String,
        /// Its prompts in order.
        prompts: Vec<Arc<Prompt>>,
    },
    /// Starts music on hold for a leg.
    StartMoh {
        /// The leg.
        leg: LegId,
        /// A class given to [`MediaCommand::DefineMoh`] before.
        class: String,
    },
    /// Stops music on hold for a leg.
    StopMoh(LegId),
    /// Asks for a [`MediaEvent::Quality`] of a leg now.
    QueryQuality(LegId),
}

/// Something call control should know.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaEvent {
    /// A DTMF digit was received (RFC 4733, or in-band tones on legs without telephone-event),
    /// once per key press, also while a prompt plays.
    Dtmf {
        /// The leg.
        leg: LegId,
        /// The digit, `0-9 * # A-D`.
        digit: char,
        /// How long it was pressed.
        duration_ms: u32,
    },
    /// A [`MediaCommand::Play`] sequence played to its end.
    PlayFinished {
        /// The leg.
        leg: LegId,
    },
    /// A [`MediaCommand::PlayToConference`] sequence played to its end.
    ConferencePlayFinished {
        /// The room.
        room: RoomId,
    },
    /// No RTP arrived on the leg for the configured time after its media had started.
    RtpTimeout {
        /// The silent leg.
        leg: LegId,
    },
    /// Quality numbers of a leg (final on removal, or on request).
    Quality {
        /// The leg.
        leg: LegId,
        /// The numbers.
        report: QualityReport,
    },
    /// A recording ended; the file is complete.
    RecordingFinished {
        /// The leg.
        leg: LegId,
        /// The file.
        path: PathBuf,
        /// Its length.
        duration: Duration,
        /// Why it ended.
        reason: RecordStop,
    },
    /// A command could not be carried out.
    CommandRejected {
        /// The leg named by the command.
        leg: LegId,
        /// What was wrong.
        reason: String,
    },
    /// The leg's RTP socket could not be opened (the port is taken, or no file descriptor is
    /// left): the leg can carry no audio. Reported by the I/O layer that owns the sockets.
    RtpUnavailable {
        /// The leg.
        leg: LegId,
        /// What the operating system said.
        reason: String,
    },
}

/// Quality numbers of one leg, for the call record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QualityReport {
    /// Packet counters.
    pub counters: LegCounters,
    /// Packets expected from the received sequence numbers.
    pub expected: u64,
    /// Packets lost on the way to us (expected − received; negative with duplicates).
    pub lost: i64,
    /// Interarrival jitter of the received stream, in microseconds.
    pub jitter_us: u32,
    /// Round-trip time from RTCP, if the peer reported on our stream.
    pub rtt_us: Option<u32>,
    /// The peer's view of our stream: fraction lost (1/256) in its last report.
    pub remote_fraction_lost: Option<u8>,
    /// The peer's view of our stream: cumulative packets lost.
    pub remote_lost: Option<u32>,
    /// The peer's view of our stream: jitter in microseconds.
    pub remote_jitter_us: Option<u32>,
    /// Counters of the leg's jitter buffer, if it had one (conference, recording).
    pub jitter_buffer: Option<JitterStats>,
}
