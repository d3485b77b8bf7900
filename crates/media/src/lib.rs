//! Switchboard's media plane: RTP relay and termination, sans-IO.
//!
//! The crate never opens a socket and never reads a clock. Everything enters through
//! [`MediaEngine::handle_input`] and leaves through [`MediaEngine::poll_output`]:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use media::{Codec, EngineConfig, Input, LegId, MediaCommand, MediaEngine, Output};
//!
//! let t0 = Instant::now(); // in the server; tests use any instant and add durations to it
//! let mut engine = MediaEngine::new(EngineConfig::default(), t0);
//! let (a, b) = (LegId(1), LegId(2));
//! let phone_a = "127.0.0.1:4000".parse().unwrap();
//! let phone_b = "127.0.0.1:5000".parse().unwrap();
//! engine.handle_input(Input::Command(MediaCommand::AddLeg {
//!     leg: a, remote: Some(phone_a), codec: Codec::pcmu(), telephone_event_pt: Some(101) }));
//! engine.handle_input(Input::Command(MediaCommand::AddLeg {
//!     leg: b, remote: Some(phone_b), codec: Codec::pcma(), telephone_event_pt: Some(96) }));
//! engine.handle_input(Input::Command(MediaCommand::Bridge(a, b)));
//!
//! // A PCMU packet from phone A ...
//! let packet = media::rtp::RtpStream::new(7, 1, 0).packet(0, &[0xFF; 160], 160);
//! engine.handle_input(Input::Rtp { now: t0 + Duration::from_millis(20), leg: a,
//!                                   from: phone_a, bytes: &packet });
//! // ... leaves leg B as PCMA towards phone B; then the engine asks to be woken later.
//! loop {
//!     match engine.poll_output() {
//!         Output::Transmit { leg, to, bytes } => {
//!             assert_eq!((leg, to), (b, phone_b));
//!             assert_eq!(media::rtp::parse(&bytes).unwrap().header.payload_type, 8);
//!         }
//!         Output::TransmitRtcp { .. } => unreachable!("reports go out on the 1 s housekeeping tick"),
//!         Output::Event(event) => println!("{event:?}"),
//!         Output::Timeout(deadline) => { assert!(deadline > t0); break }
//!     }
//! }
//! ```
//!
//! The driver loop in the server is: wait for a datagram, a command or the deadline; feed it;
//! drain `poll_output` until `Output::Timeout`; sleep until that deadline.
//!
//! Modules: [`rtp`] (packets, the sender stream), [`rtcp`] (statistics and reports),
//! [`g711`] (µ-law / A-law), [`codec`] (negotiated codecs, transcoding), [`dtmf`] (RFC 4733 and
//! SIP INFO), [`prompt`] / [`resample`] / [`player`] (prompts decoded once, played in 20 ms
//! frames), [`jitter`], [`mixer`], [`recorder`], and the engine. The crate's README describes
//! the commands, events, clocks and invariants.

#![warn(missing_docs)]

pub mod codec;
pub mod dtmf;
mod engine;
pub mod g711;
pub mod jitter;
pub mod mixer;
pub mod player;
pub mod prompt;
pub mod recorder;
pub mod resample;
pub mod rtcp;
pub mod rtp;

pub use codec::{Codec, CodecKind};
pub use dtmf::{SipInfoDtmf, SipInfoError, parse_sip_info};
pub use engine::{
    EngineConfig, Input, Latch, LegCounters, LegId, MediaCommand, MediaEngine, MediaEvent, Output,
    QualityReport, RoomId,
};
pub use prompt::{Prompt, PromptCache, PromptError};
pub use recorder::{RecordStop, SilenceStop};
