//! Engine tests with virtual time: the clock is an `Instant` advanced by hand.

use super::*;
use crate::codec::Codec;
use crate::g711;
use crate::rtp::RtpStream;

pub(super) struct Harness {
    pub engine: MediaEngine,
    pub t0: Instant,
    pub now: Instant,
}

pub(super) fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

impl Harness {
    #[allow(
        clippy::disallowed_methods,
        reason = "a test needs one real instant as its origin"
    )]
    pub fn new() -> Self {
        let t0 = Instant::now();
        let config = EngineConfig {
            seed: 7,
            rtp_timeout: Duration::from_secs(5),
            ..EngineConfig::default()
        };
        Harness {
            engine: MediaEngine::new(config, t0),
            t0,
            now: t0,
        }
    }

    pub fn cmd(&mut self, cmd: MediaCommand) -> Vec<Output> {
        self.engine.handle_input(Input::Command(cmd));
        self.drain()
    }

    pub fn add(&mut self, leg: u64, remote: Option<SocketAddr>, codec: Codec, te: Option<u8>) {
        let out = self.cmd(MediaCommand::AddLeg {
            leg: LegId(leg),
            remote,
            codec,
            telephone_event_pt: te,
        });
        assert!(out.is_empty(), "{out:?}");
    }

    pub fn rtp(&mut self, leg: u64, from: SocketAddr, bytes: &[u8]) -> Vec<Output> {
        self.engine.handle_input(Input::Rtp {
            now: self.now,
            leg: LegId(leg),
            from,
            bytes,
        });
        self.drain()
    }

    /// Runs the clock to `until`, waking at every deadline the engine asks for.
    pub fn run_until(&mut self, until: Instant) -> Vec<Output> {
        let mut all = Vec::new();
        loop {
            let deadline = match self.engine.poll_output() {
                Output::Timeout(d) => d,
                other => {
                    all.push(other);
                    continue;
                }
            };
            if deadline > until {
                self.now = until;
                self.engine.handle_input(Input::Timeout(until));
                all.extend(self.drain());
                return all;
            }
            self.now = self.now.max(deadline);
            self.engine.handle_input(Input::Timeout(self.now));
        }
    }

    pub fn drain(&mut self) -> Vec<Output> {
        let mut v = Vec::new();
        loop {
            match self.engine.poll_output() {
                Output::Timeout(d) => {
                    assert!(d >= self.t0);
                    return v;
                }
                o => v.push(o),
            }
        }
    }
}

pub(super) fn transmits(out: &[Output]) -> Vec<(LegId, SocketAddr, Vec<u8>)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Transmit { leg, to, bytes } => Some((*leg, *to, bytes.clone())),
            _ => None,
        })
        .collect()
}

pub(super) fn events(out: &[Output]) -> Vec<MediaEvent> {
    out.iter()
        .filter_map(|o| match o {
            Output::Event(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

fn bridged(codec_a: Codec, codec_b: Codec) -> Harness {
    let mut h = Harness::new();
    h.add(1, Some(addr(4000)), codec_a, Some(101));
    h.add(2, Some(addr(5000)), codec_b, Some(96));
    assert!(h.cmd(MediaCommand::Bridge(LegId(1), LegId(2))).is_empty());
    h
}

#[test]
fn same_codec_relays_bytes_unchanged() {
    let mut h = bridged(Codec::pcmu(), Codec::pcmu());
    let pkt = RtpStream::new(9, 100, 1000).packet(0, &[0x12; 160], 160);
    let out = transmits(&h.rtp(1, addr(4000), &pkt));
    assert_eq!(out, vec![(LegId(2), addr(5000), pkt.clone())]);
    // And the other way round.
    let back = RtpStream::new(10, 5, 5).packet(0, &[0x34; 160], 160);
    let out = transmits(&h.rtp(2, addr(5000), &back));
    assert_eq!(out, vec![(LegId(1), addr(4000), back)]);
}

#[test]
fn pcmu_to_pcma_is_transcoded_and_header_kept() {
    let mut h = bridged(Codec::pcmu(), Codec::pcma());
    let pcm: Vec<i16> = (0..160)
        .map(|i| ((i as f64 * 0.2).sin() * 9000.0) as i16)
        .collect();
    let mut ulaw = Vec::new();
    g711::ulaw_encode_into(&pcm, &mut ulaw);
    let pkt = RtpStream::new(9, 100, 1000).packet(0, &ulaw, 160);
    let out = transmits(&h.rtp(1, addr(4000), &pkt));
    assert_eq!(out.len(), 1);
    let p = rtp::parse(&out[0].2).unwrap();
    assert_eq!(p.header.payload_type, 8);
    assert_eq!(
        (p.header.sequence, p.header.timestamp, p.header.ssrc),
        (100, 1000, 9)
    );
    let expected: Vec<u8> = ulaw.iter().map(|b| g711::ulaw_to_alaw(*b)).collect();
    assert_eq!(p.payload, &expected[..]);

    // PCMA back to PCMU.
    let pkt = RtpStream::new(3, 1, 1).packet(8, &expected, 160);
    let out = transmits(&h.rtp(2, addr(5000), &pkt));
    let p = rtp::parse(&out[0].2).unwrap();
    assert_eq!(p.header.payload_type, 0);
    let mut decoded = Vec::new();
    Codec::pcmu().decode(p.payload, &mut decoded);
    for (a, b) in pcm.iter().zip(&decoded) {
        assert!((i32::from(*a) - i32::from(*b)).abs() < 600);
    }
}

#[test]
fn telephone_event_payload_type_is_rewritten() {
    let mut h = bridged(Codec::pcmu(), Codec::pcmu());
    let ev = RtpStream::new(9, 1, 1).packet_at(101, true, 1, &[5, 10, 0, 160]);
    let out = transmits(&h.rtp(1, addr(4000), &ev));
    let p = rtp::parse(&out[0].2).unwrap();
    assert_eq!(p.header.payload_type, 96);
    assert!(p.header.marker);
    assert_eq!(p.payload, &[5, 10, 0, 160]);
}

#[test]
fn telephone_event_is_dropped_when_peer_has_none() {
    let mut h = Harness::new();
    h.add(1, Some(addr(4000)), Codec::pcmu(), Some(101));
    h.add(2, Some(addr(5000)), Codec::pcmu(), None);
    h.cmd(MediaCommand::Bridge(LegId(1), LegId(2)));
    let ev = RtpStream::new(9, 1, 1).packet_at(101, true, 1, &[5, 10, 0, 160]);
    assert!(transmits(&h.rtp(1, addr(4000), &ev)).is_empty());
}

#[test]
fn latch_once_drops_and_counts_foreign_sources() {
    let mut h = bridged(Codec::pcmu(), Codec::pcmu());
    let mut s = RtpStream::new(9, 1, 1);
    // Before any packet, output to leg 1 goes to its SDP address.
    let from_b = RtpStream::new(1, 1, 1).packet(0, &[1; 160], 160);
    assert_eq!(transmits(&h.rtp(2, addr(5000), &from_b))[0].1, addr(4000));

    // Leg 1's phone is behind NAT: its packets come from another port and latch there.
    let nat = addr(40000);
    let pkt = s.packet(0, &[2; 160], 160);
    assert_eq!(transmits(&h.rtp(1, nat, &pkt)).len(), 1);
    assert_eq!(h.engine.latch(LegId(1)), Some(Latch::Latched { peer: nat }));
    // Now output to leg 1 goes to the latched address.
    let out = transmits(&h.rtp(2, addr(5000), &from_b));
    assert_eq!(out[0].1, nat);

    // An attacker (or a stale stream) sending to leg 1 is dropped and counted.
    for _ in 0..3 {
        let pkt = s.packet(0, &[3; 160], 160);
        assert!(h.rtp(1, addr(6666), &pkt).is_empty());
    }
    let c = h.engine.counters(LegId(1)).unwrap();
    assert_eq!(c.dropped_foreign, 3);
    assert_eq!(c.packets_in, 1);
    assert_eq!(c.packets_out, 2);
}

#[test]
fn invalid_packets_do_not_latch() {
    let mut h = bridged(Codec::pcmu(), Codec::pcmu());
    assert!(h.rtp(1, addr(6666), &[0x00; 20]).is_empty());
    assert_eq!(
        h.engine.latch(LegId(1)),
        Some(Latch::Open {
            sdp: Some(addr(4000))
        })
    );
    assert_eq!(h.engine.counters(LegId(1)).unwrap().dropped_invalid, 1);
}

#[test]
fn update_remote_reopens_the_latch_only_for_a_new_address() {
    let mut h = bridged(Codec::pcmu(), Codec::pcmu());
    let pkt = RtpStream::new(9, 1, 1).packet(0, &[1; 160], 160);
    h.rtp(1, addr(4000), &pkt);
    h.cmd(MediaCommand::UpdateRemote {
        leg: LegId(1),
        remote: Some(addr(4000)),
    });
    assert_eq!(
        h.engine.latch(LegId(1)),
        Some(Latch::Latched { peer: addr(4000) })
    );
    h.cmd(MediaCommand::UpdateRemote {
        leg: LegId(1),
        remote: Some(addr(4100)),
    });
    assert_eq!(
        h.engine.latch(LegId(1)),
        Some(Latch::Open {
            sdp: Some(addr(4100))
        })
    );
}

#[test]
fn no_remote_means_nothing_is_sent() {
    let mut h = Harness::new();
    h.add(1, Some(addr(4000)), Codec::pcmu(), None);
    h.add(2, None, Codec::pcmu(), None);
    h.cmd(MediaCommand::Bridge(LegId(1), LegId(2)));
    let pkt = RtpStream::new(9, 1, 1).packet(0, &[1; 160], 160);
    assert!(transmits(&h.rtp(1, addr(4000), &pkt)).is_empty());
    assert_eq!(h.engine.counters(LegId(2)).unwrap().unsent_no_remote, 1);
}

#[test]
fn unbridge_stops_relaying() {
    let mut h = bridged(Codec::pcmu(), Codec::pcmu());
    h.cmd(MediaCommand::Unbridge(LegId(2)));
    let pkt = RtpStream::new(9, 1, 1).packet(0, &[1; 160], 160);
    assert!(transmits(&h.rtp(1, addr(4000), &pkt)).is_empty());
}

#[test]
fn rtp_timeout_fires_once_after_media_started() {
    let mut h = bridged(Codec::pcmu(), Codec::pcmu());
    // No media yet: no timeout, however long we wait.
    let until = h.now + Duration::from_secs(20);
    assert!(events(&h.run_until(until)).is_empty());
    let pkt = RtpStream::new(9, 1, 1).packet(0, &[1; 160], 160);
    h.rtp(1, addr(4000), &pkt);
    let until = h.now + Duration::from_secs(4);
    assert!(events(&h.run_until(until)).is_empty());
    let until = h.now + Duration::from_secs(10);
    assert_eq!(
        events(&h.run_until(until)),
        vec![MediaEvent::RtpTimeout { leg: LegId(1) }]
    );
}

#[test]
fn commands_on_unknown_legs_are_rejected_with_a_reason() {
    let mut h = Harness::new();
    let ev = events(&h.cmd(MediaCommand::Bridge(LegId(1), LegId(2))));
    assert!(
        matches!(&ev[..], [MediaEvent::CommandRejected { leg: LegId(1), reason }] if reason.contains("no leg1"))
    );
}

#[test]
fn remove_leg_reports_final_counters() {
    let mut h = bridged(Codec::pcmu(), Codec::pcmu());
    let pkt = RtpStream::new(9, 1, 1).packet(0, &[1; 160], 160);
    h.rtp(1, addr(4000), &pkt);
    let ev = events(&h.cmd(MediaCommand::RemoveLeg(LegId(1))));
    match &ev[..] {
        [MediaEvent::Quality { leg, report }] => {
            assert_eq!(*leg, LegId(1));
            assert_eq!(report.counters.packets_in, 1);
            assert_eq!(report.expected, 1);
            assert_eq!(report.lost, 0);
        }
        other => panic!("expected one Quality event, got {other:?}"),
    }
    assert_eq!(h.engine.leg_count(), 1);
}

#[test]
fn update_remote_disarms_the_rtp_timeout_until_media_flows_again() {
    let mut h = bridged(Codec::pcmu(), Codec::pcmu());
    let mut s = RtpStream::new(9, 1, 1);
    h.rtp(1, addr(4000), &s.packet(0, &[1; 160], 160));
    h.cmd(MediaCommand::UpdateRemote {
        leg: LegId(1),
        remote: None,
    });
    let until = h.now + Duration::from_secs(20);
    assert!(events(&h.run_until(until)).is_empty());
    h.rtp(1, addr(4000), &s.packet(0, &[1; 160], 160));
    let until = h.now + Duration::from_secs(6);
    assert_eq!(
        events(&h.run_until(until)),
        vec![MediaEvent::RtpTimeout { leg: LegId(1) }]
    );
}

#[test]
fn update_codec_switches_transcoding() {
    let mut h = bridged(Codec::pcmu(), Codec::pcmu());
    h.cmd(MediaCommand::UpdateCodec {
        leg: LegId(2),
        codec: Codec::pcma(),
        telephone_event_pt: Some(96),
    });
    let pkt = RtpStream::new(9, 1, 1).packet(0, &[0xFF; 160], 160);
    let out = transmits(&h.rtp(1, addr(4000), &pkt));
    let p = rtp::parse(&out[0].2).unwrap();
    assert_eq!(p.header.payload_type, 8);
    assert_eq!(p.payload[0], crate::g711::ulaw_to_alaw(0xFF));
}
