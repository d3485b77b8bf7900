//! Engine tests of terminated media (prompts, DTMF, music on hold, conferences, recording,
//! RTCP), with virtual time.

use std::path::PathBuf;
use std::sync::Arc;

use super::tests::{Harness, addr, events, transmits};
use super::*;
use crate::codec::{Codec, FRAME_SAMPLES};
use crate::dtmf::TelephoneEvent;
use crate::prompt::Prompt;
use crate::recorder::{RecordStop, SilenceStop};
use crate::resample::tests::{rms, tone_to_residual_db};
use crate::rtp::RtpStream;

fn prompt(name: &str, samples: Vec<i16>) -> Arc<Prompt> {
    Arc::new(Prompt::from_samples(name, &samples, 8000))
}

fn tone(freq: f64, amp: f64, n: usize, phase0: usize) -> Vec<i16> {
    (0..n)
        .map(|i| {
            let t = (phase0 + i) as f64 / 8000.0;
            (amp * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16
        })
        .collect()
}

fn decode_all(packets: &[(LegId, SocketAddr, Vec<u8>)], codec: Codec) -> Vec<i16> {
    let mut pcm = Vec::new();
    for (_, _, bytes) in packets {
        let p = rtp::parse(bytes).unwrap();
        if p.header.payload_type == codec.payload_type {
            codec.decode(p.payload, &mut pcm);
        }
    }
    pcm
}

fn only_leg(
    packets: &[(LegId, SocketAddr, Vec<u8>)],
    leg: u64,
) -> Vec<(LegId, SocketAddr, Vec<u8>)> {
    packets
        .iter()
        .filter(|p| p.0 == LegId(leg))
        .cloned()
        .collect()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn a_prompt_plays_in_20ms_packets_and_then_reports_finished() {
    let mut h = Harness::new();
    h.add(1, Some(addr(4000)), Codec::pcma(), Some(101));
    let samples = tone(1000.0, 8000.0, 800, 0); // 100 ms
    let mut out = h.cmd(MediaCommand::Play {
        leg: LegId(1),
        prompts: vec![prompt("hello", samples.clone())],
        loop_: false,
    });
    assert_eq!(transmits(&out).len(), 1, "the first frame goes out at once");
    let until = h.now + ms(300);
    out.extend(h.run_until(until));
    let tx = transmits(&out);
    assert_eq!(tx.len(), 5);
    let headers: Vec<_> = tx
        .iter()
        .map(|t| rtp::parse(&t.2).unwrap().header)
        .collect();
    assert!(headers[0].marker);
    for w in headers.windows(2) {
        assert_eq!(w[1].sequence, w[0].sequence.wrapping_add(1));
        assert_eq!(w[1].timestamp, w[0].timestamp.wrapping_add(160));
        assert!(!w[1].marker);
        assert_eq!(w[1].payload_type, 8);
    }
    let pcm = decode_all(&tx, Codec::pcma());
    assert!(tone_to_residual_db(&pcm, 8000, 1000.0) > 30.0);
    assert_eq!(
        events(&out),
        vec![MediaEvent::PlayFinished { leg: LegId(1) }]
    );
    // The tick stops once nothing needs it: only the housekeeping deadline remains.
    match h.engine.poll_output() {
        Output::Timeout(d) => assert!(d >= h.now + ms(100), "{d:?} vs {:?}", h.now),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_second_play_after_a_pause_jumps_the_timestamp_and_sets_the_marker() {
    let mut h = Harness::new();
    h.add(1, Some(addr(4000)), Codec::pcmu(), Some(101));
    let p = prompt("p", vec![100; 160]);
    let first = transmits(&h.cmd(MediaCommand::Play {
        leg: LegId(1),
        prompts: vec![p.clone()],
        loop_: false,
    }));
    let until = h.now + ms(1000);
    h.run_until(until);
    let second = transmits(&h.cmd(MediaCommand::Play {
        leg: LegId(1),
        prompts: vec![p],
        loop_: false,
    }));
    let (a, b) = (
        rtp::parse(&first[0].2).unwrap().header,
        rtp::parse(&second[0].2).unwrap().header,
    );
    assert!(b.marker);
    assert_eq!(b.sequence, a.sequence.wrapping_add(1));
    assert_eq!(b.timestamp.wrapping_sub(a.timestamp), 8000);
}

#[test]
fn digits_are_reported_while_a_prompt_plays() {
    let mut h = Harness::new();
    h.add(1, Some(addr(4000)), Codec::pcmu(), Some(96));
    h.cmd(MediaCommand::Play {
        leg: LegId(1),
        prompts: vec![prompt("long", vec![0; 8000])],
        loop_: false,
    });
    let mut phone = RtpStream::new(5, 1, 1000);
    let mut got = Vec::new();
    for (i, (end, dur)) in [
        (false, 160u16),
        (false, 320),
        (true, 480),
        (true, 480),
        (true, 480),
    ]
    .into_iter()
    .enumerate()
    {
        let until = h.now + ms(20);
        got.extend(events(&h.run_until(until)));
        let payload = TelephoneEvent {
            event: 5,
            end,
            volume: 10,
            duration: dur,
        }
        .to_bytes();
        let pkt = phone.packet_at(96, i == 0, 1000, &payload);
        got.extend(events(&h.rtp(1, addr(4000), &pkt)));
    }
    assert_eq!(
        got,
        vec![MediaEvent::Dtmf {
            leg: LegId(1),
            digit: '5',
            duration_ms: 60
        }]
    );
}

#[test]
fn a_digit_whose_end_packets_were_lost_is_reported_after_300ms() {
    let mut h = Harness::new();
    h.add(1, Some(addr(4000)), Codec::pcmu(), Some(101));
    let payload = TelephoneEvent {
        event: 11,
        end: false,
        volume: 10,
        duration: 160,
    }
    .to_bytes();
    let pkt = RtpStream::new(5, 1, 1000).packet_at(101, true, 1000, &payload);
    assert!(events(&h.rtp(1, addr(4000), &pkt)).is_empty());
    let until = h.now + ms(250);
    assert!(events(&h.run_until(until)).is_empty());
    let until = h.now + ms(100);
    assert_eq!(
        events(&h.run_until(until)),
        vec![MediaEvent::Dtmf {
            leg: LegId(1),
            digit: '#',
            duration_ms: 20
        }]
    );
}

#[test]
fn sent_dtmf_is_the_rfc_4733_sequence() {
    let mut h = Harness::new();
    h.add(1, Some(addr(4000)), Codec::pcmu(), Some(100));
    let mut out = h.cmd(MediaCommand::SendDtmf {
        leg: LegId(1),
        digits: "1#".into(),
        duration_ms: 60,
    });
    let until = h.now + ms(600);
    out.extend(h.run_until(until));
    let tx = transmits(&out);
    let parsed: Vec<_> = tx
        .iter()
        .map(|t| {
            let p = rtp::parse(&t.2).unwrap();
            (p.header, TelephoneEvent::parse(p.payload).unwrap())
        })
        .collect();
    // Per digit: 2 updates (160, 320) + 3 ends (480).
    assert_eq!(parsed.len(), 10);
    assert!(parsed.iter().all(|(h, _)| h.payload_type == 100));
    let (first, second) = parsed.split_at(5);
    for (digit, group) in [(1u8, first), (11, second)] {
        assert!(group[0].0.marker);
        assert!(group[1..].iter().all(|(h, _)| !h.marker));
        assert!(
            group
                .iter()
                .all(|(h, e)| h.timestamp == group[0].0.timestamp && e.event == digit)
        );
        let ends: Vec<bool> = group.iter().map(|(_, e)| e.end).collect();
        assert_eq!(ends, [false, false, true, true, true]);
    }
    // The second event starts later on the media clock: 5 packets + 3 gap ticks = 8 frames.
    assert_eq!(
        second[0].0.timestamp.wrapping_sub(first[0].0.timestamp),
        8 * 160
    );
    let seqs: Vec<u16> = parsed.iter().map(|(h, _)| h.sequence).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)));
    let rejected = events(&h.cmd(MediaCommand::SendDtmf {
        leg: LegId(1),
        digits: "1x".into(),
        duration_ms: 60,
    }));
    assert!(
        matches!(&rejected[..], [MediaEvent::CommandRejected { reason, .. }] if reason.contains("'x'"))
    );
}

#[test]
fn relay_is_held_back_while_a_bridged_leg_hears_a_prompt() {
    let mut h = Harness::new();
    h.add(1, Some(addr(4000)), Codec::pcmu(), None);
    h.add(2, Some(addr(5000)), Codec::pcmu(), None);
    h.cmd(MediaCommand::Bridge(LegId(1), LegId(2)));
    h.cmd(MediaCommand::Play {
        leg: LegId(2),
        prompts: vec![prompt("p", vec![0; 1600])],
        loop_: false,
    });
    let pkt = RtpStream::new(9, 1, 1).packet(0, &[1; 160], 160);
    assert!(transmits(&h.rtp(1, addr(4000), &pkt)).is_empty());
    h.cmd(MediaCommand::StopPlay(LegId(2)));
    assert_eq!(transmits(&h.rtp(1, addr(4000), &pkt)).len(), 1);
}

#[test]
fn music_on_hold_is_one_shared_loop() {
    let mut h = Harness::new();
    let music: Vec<i16> = (0..1600).map(|i| (i * 7 % 2000) as i16).collect();
    h.cmd(MediaCommand::DefineMoh {
        class: "default".into(),
        prompts: vec![prompt("m", music)],
    });
    h.add(1, Some(addr(4000)), Codec::pcmu(), None);
    h.add(2, Some(addr(5000)), Codec::pcma(), None);
    h.cmd(MediaCommand::StartMoh {
        leg: LegId(1),
        class: "default".into(),
    });
    let until = h.now + ms(100);
    h.run_until(until);
    let before = h.engine.moh_position("default").unwrap();
    let mut out = h.cmd(MediaCommand::StartMoh {
        leg: LegId(2),
        class: "default".into(),
    });
    let until = h.now + ms(200);
    out.extend(h.run_until(until));
    let tx = transmits(&out);
    let a = decode_all(&only_leg(&tx, 1), Codec::pcmu());
    let b = decode_all(&only_leg(&tx, 2), Codec::pcma());
    assert_eq!(a.len(), b.len());
    // Both listeners hear the same frames at the same time (within G.711 quantisation: the
    // µ-law and A-law steps near 2000 are 128 and 64).
    for (x, y) in a.iter().zip(&b) {
        assert!((i32::from(*x) - i32::from(*y)).abs() <= 96, "{x} vs {y}");
    }
    // The shared loop advanced once per tick, not once per listener.
    let frames = (a.len() / FRAME_SAMPLES) as u64;
    assert_eq!(h.engine.moh_position("default").unwrap() - before, frames);
    let e = events(&h.cmd(MediaCommand::StartMoh {
        leg: LegId(1),
        class: "jazz".into(),
    }));
    assert!(
        matches!(&e[..], [MediaEvent::CommandRejected { reason, .. }] if reason.contains("\"jazz\""))
    );
}

/// Three phones in a room each send a sine of their own; each must hear the other two.
#[test]
fn conference_of_three_each_hears_the_sum_of_the_other_two() {
    let mut h = Harness::new();
    let freqs = [400.0, 700.0, 1100.0];
    for leg in 1..=3u64 {
        h.add(leg, Some(addr(4000 + leg as u16)), Codec::pcmu(), None);
        h.cmd(MediaCommand::JoinConference {
            leg: LegId(leg),
            room: RoomId(9),
            muted: false,
        });
    }
    let mut phones: Vec<RtpStream> = (1..=3).map(|i| RtpStream::new(i, 0, 0)).collect();
    let mut heard: [Vec<i16>; 3] = Default::default();
    for frame in 0..100usize {
        for (i, phone) in phones.iter_mut().enumerate() {
            let pcm = tone(freqs[i], 5000.0, FRAME_SAMPLES, frame * FRAME_SAMPLES);
            let mut payload = Vec::new();
            Codec::pcmu().encode(&pcm, &mut payload);
            let pkt = phone.packet(0, &payload, 160);
            let out = h.rtp(i as u64 + 1, addr(4001 + i as u16), &pkt);
            assert!(transmits(&out).is_empty(), "nothing is relayed in a room");
        }
        let until = h.now + ms(20);
        let tx = transmits(&h.run_until(until));
        for (i, heard) in heard.iter_mut().enumerate() {
            heard.extend(decode_all(&only_leg(&tx, i as u64 + 1), Codec::pcmu()));
        }
    }
    for (i, got) in heard.iter().enumerate() {
        // Skip the first 200 ms (join fade and jitter-buffer start).
        let body = &got[1600..];
        let others: Vec<usize> = (0..3).filter(|j| *j != i).collect();
        for j in &others {
            let db = tone_to_residual_db(body, 8000, freqs[*j]);
            assert!(
                db > -5.0,
                "leg {} hears {} Hz at {db:.1} dB",
                i + 1,
                freqs[*j]
            );
        }
        let own = tone_to_residual_db(body, 8000, freqs[i]);
        assert!(own < -30.0, "leg {} hears itself at {own:.1} dB", i + 1);
        // The level is that of two 5000-amplitude sines.
        let level = rms(body) / (5000.0 * (2.0f64).sqrt() / 2f64.sqrt());
        assert!((level - 1.0).abs() < 0.1, "leg {} level {level}", i + 1);
    }
}

#[test]
fn muted_members_hear_but_are_not_heard_and_leaving_stops_the_mix() {
    let mut h = Harness::new();
    for leg in 1..=2u64 {
        h.add(leg, Some(addr(4000 + leg as u16)), Codec::pcmu(), None);
    }
    h.cmd(MediaCommand::JoinConference {
        leg: LegId(1),
        room: RoomId(1),
        muted: false,
    });
    h.cmd(MediaCommand::JoinConference {
        leg: LegId(2),
        room: RoomId(1),
        muted: true,
    });
    let mut phones = [RtpStream::new(1, 0, 0), RtpStream::new(2, 0, 0)];
    let mut heard: [Vec<i16>; 2] = Default::default();
    for frame in 0..50usize {
        for (i, phone) in phones.iter_mut().enumerate() {
            let pcm = tone(500.0 * (i + 1) as f64, 5000.0, 160, frame * 160);
            let mut payload = Vec::new();
            Codec::pcmu().encode(&pcm, &mut payload);
            h.rtp(
                i as u64 + 1,
                addr(4001 + i as u16),
                &phone.packet(0, &payload, 160),
            );
        }
        let until = h.now + ms(20);
        let tx = transmits(&h.run_until(until));
        for (i, heard) in heard.iter_mut().enumerate() {
            heard.extend(decode_all(&only_leg(&tx, i as u64 + 1), Codec::pcmu()));
        }
    }
    assert!(rms(&heard[0][1600..]) < 50.0, "leg 1 hears the muted leg 2");
    assert!(tone_to_residual_db(&heard[1][1600..], 8000, 500.0) > 20.0);
    h.cmd(MediaCommand::LeaveConference(LegId(1)));
    let until = h.now + ms(100);
    h.run_until(until);
    assert_eq!(h.engine.room_members(RoomId(1)), vec![LegId(2)]);
}

#[test]
fn an_announcement_is_heard_by_the_whole_room() {
    let mut h = Harness::new();
    for leg in 1..=2u64 {
        h.add(leg, Some(addr(4000 + leg as u16)), Codec::pcmu(), None);
        h.cmd(MediaCommand::JoinConference {
            leg: LegId(leg),
            room: RoomId(3),
            muted: false,
        });
    }
    h.cmd(MediaCommand::PlayToConference {
        room: RoomId(3),
        prompts: vec![prompt("beep", tone(800.0, 6000.0, 800, 0))],
        loop_: false,
    });
    let until = h.now + ms(200);
    let out = h.run_until(until);
    let tx = transmits(&out);
    for leg in 1..=2 {
        let pcm = decode_all(&only_leg(&tx, leg), Codec::pcmu());
        assert!(tone_to_residual_db(&pcm[..800], 8000, 800.0) > 20.0);
    }
    assert!(events(&out).contains(&MediaEvent::ConferencePlayFinished { room: RoomId(3) }));
}

fn temp_wav(name: &str) -> PathBuf {
    crate::prompt::tests::temp_dir(name).join("rec.wav")
}

fn read_wav(path: &std::path::Path) -> Vec<i16> {
    hound::WavReader::open(path)
        .unwrap()
        .samples::<i16>()
        .map(|s| s.unwrap())
        .collect()
}

#[test]
fn recording_captures_the_leg_and_ends_on_silence() {
    let mut h = Harness::new();
    h.add(1, Some(addr(4000)), Codec::pcma(), None);
    let path = temp_wav("engine-rec");
    h.cmd(MediaCommand::Record {
        leg: LegId(1),
        path: path.clone(),
        max_length: Duration::from_secs(30),
        silence: Some(SilenceStop {
            threshold: 300,
            after: Duration::from_millis(400),
        }),
        both_directions: false,
    });
    let mut phone = RtpStream::new(3, 0, 0);
    let mut finished = Vec::new();
    for frame in 0..100usize {
        let pcm = if frame < 50 {
            tone(600.0, 8000.0, 160, frame * 160)
        } else {
            vec![0; 160]
        };
        let mut payload = Vec::new();
        Codec::pcma().encode(&pcm, &mut payload);
        h.rtp(1, addr(4000), &phone.packet(8, &payload, 160));
        let until = h.now + ms(20);
        finished.extend(events(&h.run_until(until)));
    }
    match &finished[..] {
        [
            MediaEvent::RecordingFinished {
                leg,
                path: p,
                duration,
                reason,
            },
        ] => {
            assert_eq!((*leg, p, reason), (LegId(1), &path, &RecordStop::Silence));
            assert!(
                *duration >= ms(1400) && *duration <= ms(1500),
                "{duration:?}"
            );
        }
        other => panic!("expected one RecordingFinished, got {other:?}"),
    }
    let wav = read_wav(&path);
    assert!(tone_to_residual_db(&wav[400..7600], 8000, 600.0) > 25.0);
}

#[test]
fn recording_both_directions_mixes_what_the_leg_hears() {
    let mut h = Harness::new();
    h.add(1, Some(addr(4000)), Codec::pcmu(), None);
    h.add(2, Some(addr(5000)), Codec::pcmu(), None);
    h.cmd(MediaCommand::Bridge(LegId(1), LegId(2)));
    let path = temp_wav("engine-rec-both");
    h.cmd(MediaCommand::Record {
        leg: LegId(1),
        path: path.clone(),
        max_length: ms(1000),
        silence: None,
        both_directions: true,
    });
    let mut phones = [RtpStream::new(1, 0, 0), RtpStream::new(2, 0, 0)];
    let mut evs = Vec::new();
    for frame in 0..60usize {
        for (i, phone) in phones.iter_mut().enumerate() {
            let pcm = tone(
                if i == 0 { 450.0 } else { 1250.0 },
                5000.0,
                160,
                frame * 160,
            );
            let mut payload = Vec::new();
            Codec::pcmu().encode(&pcm, &mut payload);
            let out = h.rtp(
                i as u64 + 1,
                addr(4000 + 1000 * i as u16),
                &phone.packet(0, &payload, 160),
            );
            assert_eq!(transmits(&out).len(), 1, "the relay still runs");
        }
        let until = h.now + ms(20);
        evs.extend(events(&h.run_until(until)));
    }
    assert!(evs.iter().any(|e| matches!(
        e,
        MediaEvent::RecordingFinished {
            reason: RecordStop::MaxLength,
            ..
        }
    )));
    let wav = read_wav(&path);
    assert_eq!(wav.len(), 8000);
    let body = &wav[800..7800];
    assert!(tone_to_residual_db(body, 8000, 450.0) > -5.0);
    assert!(tone_to_residual_db(body, 8000, 1250.0) > -5.0);
}

#[test]
fn a_recording_to_an_unwritable_path_reports_the_error() {
    let mut h = Harness::new();
    h.add(1, Some(addr(4000)), Codec::pcmu(), None);
    let e = events(&h.cmd(MediaCommand::Record {
        leg: LegId(1),
        path: "/nonexistent-dir/x.wav".into(),
        max_length: ms(1000),
        silence: None,
        both_directions: false,
    }));
    assert!(
        matches!(&e[..], [MediaEvent::RecordingFinished { reason: RecordStop::Error(m), .. }] if m.contains("/nonexistent-dir/x.wav"))
    );
}

#[test]
fn rtcp_reports_go_out_and_peer_reports_give_rtt_and_remote_loss() {
    let mut h = Harness::new();
    h.add(1, Some(addr(4000)), Codec::pcmu(), None);
    h.cmd(MediaCommand::Play {
        leg: LegId(1),
        prompts: vec![prompt("p", vec![500; 80_000])],
        loop_: true,
    });
    let mut phone = RtpStream::new(77, 0, 0);
    let mut reports = Vec::new();
    for _ in 0..400 {
        // 8 s of audio both ways.
        h.rtp(1, addr(4000), &phone.packet(0, &[0xFF; 160], 160));
        let until = h.now + ms(20);
        for o in h.run_until(until) {
            if let Output::TransmitRtcp { leg, to, bytes } = o {
                reports.push((leg, to, bytes));
            }
        }
    }
    assert!(!reports.is_empty());
    let (leg, to, bytes) = &reports[0];
    assert_eq!((*leg, *to), (LegId(1), addr(4001)));
    let info = crate::rtcp::parse(bytes).unwrap();
    let ours = h.engine.ssrc(LegId(1)).unwrap();
    assert_eq!(info.sender_reports.len(), 1);
    assert_eq!(info.sender_reports[0].0, ours);
    assert_eq!(info.blocks[0].ssrc, 77);
    assert_eq!(info.blocks[0].cumulative_lost, 0);

    // The phone answers 50 ms after the last report with an RR about our stream, having held
    // our last SR for 10 ms.
    let last_sr = crate::rtcp::parse(&reports.last().unwrap().2).unwrap();
    let sr_ntp = last_sr.sender_reports[0].1;
    h.now += ms(50);
    let block = crate::rtcp::ReportBlockData {
        ssrc: ours,
        fraction_lost: 3,
        cumulative_lost: 7,
        highest_seq: 1000,
        jitter: 80,
        lsr: crate::rtcp::ntp_mid(sr_ntp),
        dlsr: 655, // 10 ms
    };
    let rr = crate::rtcp::build_report(77, None, Some(block), "phone").unwrap();
    h.engine.handle_input(Input::Rtcp {
        now: h.now,
        leg: LegId(1),
        from: addr(4001),
        bytes: &rr,
    });
    h.drain();
    let q = h.engine.quality(LegId(1)).unwrap();
    assert_eq!(q.remote_lost, Some(7));
    assert_eq!(q.remote_jitter_us, Some(10_000));
    let rtt = i64::from(q.rtt_us.unwrap());
    // With ntp_at_start = 0 the SR's NTP time is the time since the engine's origin.
    let sr_us = ((sr_ntp >> 32) * 1_000_000 + (((sr_ntp & 0xFFFF_FFFF) * 1_000_000) >> 32)) as i64;
    let expected = (h.now - h.t0).as_micros() as i64 - sr_us - 10_000;
    assert!(
        (rtt - expected).abs() < 100,
        "rtt {rtt} µs, expected {expected} µs"
    );
    // A report from a foreign host is dropped.
    let foreign = SocketAddr::from(([10, 0, 0, 9], 4001));
    h.engine.handle_input(Input::Rtcp {
        now: h.now,
        leg: LegId(1),
        from: foreign,
        bytes: &rr,
    });
    assert_eq!(h.engine.counters(LegId(1)).unwrap().dropped_foreign, 1);
}

#[test]
fn in_band_digits_are_heard_on_legs_without_telephone_event() {
    let mut h = Harness::new();
    h.add(1, Some(addr(4000)), Codec::pcma(), None);
    h.add(2, Some(addr(5000)), Codec::pcma(), None);
    h.cmd(MediaCommand::Bridge(LegId(1), LegId(2)));
    let mut signal = crate::dtmf::inband_tests::dual_tone('8', 5000.0, 0.0, 120);
    signal.extend(vec![0; 1600]);
    signal.extend(crate::dtmf::inband_tests::dual_tone('#', 5000.0, 2.0, 120));
    signal.extend(vec![0; 1600]);
    let mut phone = RtpStream::new(4, 0, 0);
    let mut got = Vec::new();
    let mut relayed = 0;
    for frame in signal.chunks(160) {
        let mut payload = Vec::new();
        Codec::pcma().encode(frame, &mut payload);
        relayed += transmits(&h.rtp(1, addr(4000), &phone.packet(8, &payload, 160))).len();
        let until = h.now + ms(20);
        got.extend(events(&h.run_until(until)));
    }
    let digits: Vec<char> = got
        .iter()
        .filter_map(|e| match e {
            MediaEvent::Dtmf { leg, digit, .. } if *leg == LegId(1) => Some(*digit),
            _ => None,
        })
        .collect();
    assert_eq!(digits, ['8', '#']);
    assert_eq!(relayed, signal.len() / 160, "relaying is unaffected");
}

#[test]
fn legs_with_telephone_event_do_not_run_the_in_band_detector() {
    let mut h = Harness::new();
    h.add(1, Some(addr(4000)), Codec::pcmu(), Some(101));
    let mut phone = RtpStream::new(4, 0, 0);
    let mut got = Vec::new();
    let tone = crate::dtmf::inband_tests::dual_tone('1', 5000.0, 0.0, 200);
    for frame in tone.chunks(160) {
        let mut payload = Vec::new();
        Codec::pcmu().encode(frame, &mut payload);
        got.extend(events(&h.rtp(
            1,
            addr(4000),
            &phone.packet(0, &payload, 160),
        )));
        let until = h.now + ms(20);
        got.extend(events(&h.run_until(until)));
    }
    assert!(got.is_empty(), "{got:?}");
}

/// Sequence, timestamp, SSRC and marker of every packet sent to `leg`, in order.
fn headers_to(out: &[Output], leg: u64) -> Vec<(u16, u32, u32, bool)> {
    transmits(out)
        .into_iter()
        .filter(|(l, _, _)| *l == LegId(leg))
        .map(|(_, _, b)| {
            let h = rtp::parse(&b).unwrap().header;
            (h.sequence, h.timestamp, h.ssrc, h.marker)
        })
        .collect()
}

#[test]
fn a_leg_hears_one_continuous_stream_across_prompt_and_changing_relayed_sources() {
    let mut h = Harness::new();
    h.add(1, Some(addr(4000)), Codec::pcmu(), None);
    h.add(2, Some(addr(5000)), Codec::pcmu(), None);
    h.add(3, Some(addr(6000)), Codec::pcmu(), None);
    // Leg 2 (the caller) first hears a 40 ms prompt from the engine ...
    let mut out = h.cmd(MediaCommand::Play {
        leg: LegId(2),
        prompts: vec![prompt("p", vec![100; 320])],
        loop_: false,
    });
    let until = h.now + ms(100);
    out.extend(h.run_until(until));
    let own = headers_to(&out, 2);
    assert_eq!(own.len(), 2, "{own:?}");
    let (seq0, ts0, ssrc, _) = own[0];
    // ... then is bridged to leg 1 (the operator), whose phone numbers its packets its own way.
    h.cmd(MediaCommand::Bridge(LegId(1), LegId(2)));
    let mut operator = RtpStream::new(0x1111, 9000, 50_000);
    let mut got = Vec::new();
    for _ in 0..2 {
        h.now += ms(20);
        got.extend(headers_to(
            &h.rtp(1, addr(4000), &operator.packet(0, &[1; 160], 160)),
            2,
        ));
    }
    // ... then to leg 3 (201 after a transfer), another SSRC and numbering again.
    h.cmd(MediaCommand::Bridge(LegId(3), LegId(2)));
    let mut desk = RtpStream::new(0x2222, 5, 7);
    for _ in 0..2 {
        h.now += ms(20);
        got.extend(headers_to(
            &h.rtp(3, addr(6000), &desk.packet(0, &[2; 160], 160)),
            2,
        ));
    }
    let seqs: Vec<u16> = got.iter().map(|g| g.0).collect();
    assert_eq!(
        seqs,
        (2..6).map(|i| seq0.wrapping_add(i)).collect::<Vec<_>>(),
        "sequence numbers continue the prompt's: {got:?}"
    );
    assert!(
        got.iter().all(|g| g.2 == ssrc),
        "one SSRC throughout: {got:?}"
    );
    // Timestamps follow the clock: the pause after the prompt (it ended at 40 ms, the operator
    // spoke at 120 ms) shows as a jump, then 160 per 20 ms packet whoever speaks.
    let ts: Vec<u32> = got.iter().map(|g| g.1.wrapping_sub(ts0)).collect();
    assert_eq!(ts, [800, 960, 1120, 1280], "timestamps continue: {got:?}");
    let markers: Vec<bool> = got.iter().map(|g| g.3).collect();
    assert_eq!(
        markers,
        [true, false, true, false],
        "a marker at each change of source"
    );
}

#[test]
fn a_plain_bridge_relays_the_phones_packets_byte_for_byte() {
    let mut h = Harness::new();
    h.add(1, Some(addr(4000)), Codec::pcmu(), None);
    h.add(2, Some(addr(5000)), Codec::pcmu(), None);
    h.cmd(MediaCommand::Bridge(LegId(1), LegId(2)));
    let mut phone = RtpStream::new(0x1111, 9000, 50_000);
    for _ in 0..3 {
        h.now += ms(20);
        let pkt = phone.packet(0, &[1; 160], 160);
        let out = h.rtp(1, addr(4000), &pkt);
        assert_eq!(transmits(&out)[0].2, pkt);
    }
}
