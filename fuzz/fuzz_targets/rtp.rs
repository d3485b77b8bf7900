//! Fuzz target for the media crate's parsers and the engine's receive path.
//!
//! Every input is tried as an RTP packet, an RTCP compound packet, an RFC 4733 payload and a
//! SIP INFO body, and is fed to an engine with two bridged legs (PCMU with telephone-event 101
//! on one side, PCMA with telephone-event 96 on the other), both as RTP and as RTCP, from the
//! latched peer and from a foreign address. Nothing may panic.
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use media::{Codec, EngineConfig, Input, LegId, MediaCommand, MediaEngine, Output};

fn drain(e: &mut MediaEngine) {
    while !matches!(e.poll_output(), Output::Timeout(_)) {}
}

fuzz_target!(|data: &[u8]| {
    let _ = media::rtp::parse(data);
    let _ = media::rtp::is_rtcp(data);
    let _ = media::rtcp::parse(data);
    let _ = media::dtmf::TelephoneEvent::parse(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = media::dtmf::parse_sip_info("application/dtmf-relay", text);
        let _ = media::dtmf::parse_sip_info("application/dtmf", text);
    }

    #[allow(clippy::disallowed_methods)]
    let t0 = Instant::now();
    let mut e = MediaEngine::new(EngineConfig::default(), t0);
    let phone: SocketAddr = "127.0.0.1:4000".parse().unwrap();
    let other: SocketAddr = "127.0.0.1:5000".parse().unwrap();
    for (leg, codec, te) in [(1, Codec::pcmu(), 101), (2, Codec::pcma(), 96)] {
        e.handle_input(Input::Command(MediaCommand::AddLeg {
            leg: LegId(leg),
            remote: Some(if leg == 1 { phone } else { other }),
            codec,
            telephone_event_pt: Some(te),
        }));
    }
    e.handle_input(Input::Command(MediaCommand::Bridge(LegId(1), LegId(2))));
    e.handle_input(Input::Command(MediaCommand::JoinConference {
        leg: LegId(2),
        room: media::RoomId(1),
        muted: false,
    }));
    drain(&mut e);
    for (i, from) in [phone, phone, "10.0.0.1:9".parse().unwrap()].into_iter().enumerate() {
        let now = t0 + Duration::from_millis(20 * i as u64);
        e.handle_input(Input::Rtp { now, leg: LegId(1), from, bytes: data });
        e.handle_input(Input::Rtp { now, leg: LegId(2), from: other, bytes: data });
        e.handle_input(Input::Rtcp { now, leg: LegId(1), from, bytes: data });
        drain(&mut e);
    }
    e.handle_input(Input::Timeout(t0 + Duration::from_secs(10)));
    drain(&mut e);
});
