//! Engine tests of G.722 legs (virtual time): relaying between two G.722 legs, transcoding to
//! and from G.711, and audio the engine itself sends to or takes from a G.722 leg. The phones
//! are played by the G.722 codec at 16 kHz, as a wideband softphone would run it.

use std::sync::Arc;

use audio_codec::g722::{G722Decoder, G722Encoder};
use audio_codec::{Decoder as _, Encoder as _};

use super::tests::{Harness, addr, events, transmits};
use super::*;
use crate::codec::{Codec, FRAME_SAMPLES};
use crate::prompt::Prompt;
use crate::recorder::RecordStop;
use crate::resample::tests::{rms, sine, tone_to_residual_db};
use crate::rtp::RtpStream;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn bridged(codec_a: Codec, codec_b: Codec) -> Harness {
    let mut h = Harness::new();
    h.add(1, Some(addr(4000)), codec_a, Some(101));
    h.add(2, Some(addr(5000)), codec_b, Some(101));
    assert!(h.cmd(MediaCommand::Bridge(LegId(1), LegId(2))).is_empty());
    h
}

/// The largest normalised cross-correlation of `x` against `reference` over lags 0..40.
fn best_correlation(reference: &[i16], x: &[i16]) -> (f64, usize) {
    let mut best = (f64::MIN, 0);
    for lag in 0..40 {
        let n = reference.len().min(x.len().saturating_sub(lag));
        let (mut xy, mut xx, mut yy) = (0.0, 0.0, 0.0);
        for i in 0..n {
            let (a, b) = (f64::from(reference[i]), f64::from(x[i + lag]));
            xy += a * b;
            xx += a * a;
            yy += b * b;
        }
        let c = xy / (xx * yy).sqrt().max(1e-9);
        if c > best.0 {
            best = (c, lag);
        }
    }
    best
}

#[test]
fn a_g722_to_g722_bridge_relays_the_payload_bytes_unchanged() {
    let mut h = bridged(Codec::g722(), Codec::g722());
    let mut phone = G722Encoder::new();
    let wide = sine(5500.0, 16000, 0.02, 9000.0); // wideband content: above 4 kHz
    let payload = phone.encode(&wide);
    assert_eq!(payload.len(), 160);
    let pkt = RtpStream::new(9, 100, 1000).packet(9, &payload, 160);
    let out = transmits(&h.rtp(1, addr(4000), &pkt));
    assert_eq!(out, vec![(LegId(2), addr(5000), pkt.clone())]);
    // A peer that mapped G.722 to a dynamic payload type gets the same payload under its PT.
    let mut h = bridged(
        Codec::g722(),
        Codec {
            payload_type: 110,
            ..Codec::g722()
        },
    );
    let out = transmits(&h.rtp(1, addr(4000), &pkt));
    assert_eq!(out.len(), 1);
    let p = rtp::parse(&out[0].2).unwrap();
    assert_eq!(p.header.payload_type, 110);
    assert_eq!(p.payload, &payload[..]);
    assert_eq!((p.header.sequence, p.header.timestamp), (100, 1000));
}

#[test]
fn g722_to_pcmu_is_transcoded_with_the_signal_kept() {
    let mut h = bridged(Codec::g722(), Codec::pcmu());
    // Phone A speaks G.722: a 400 Hz sine sampled at 16 kHz, 20 ms per packet.
    let amplitude = 9000.0;
    let wide = sine(400.0, 16000, 1.0, amplitude);
    let mut phone = G722Encoder::new();
    let mut stream = RtpStream::new(9, 100, 1000);
    let mut heard = Vec::new();
    for (n, frame) in wide.chunks(320).enumerate() {
        let pkt = stream.packet(9, &phone.encode(frame), 160);
        let out = transmits(&h.rtp(1, addr(4000), &pkt));
        assert_eq!(out.len(), 1, "packet {n} crosses the bridge");
        assert_eq!(out[0].0, LegId(2));
        let p = rtp::parse(&out[0].2).unwrap();
        assert_eq!(p.header.payload_type, 0);
        assert_eq!(
            (p.header.sequence, p.header.timestamp, p.header.ssrc),
            (100 + n as u16, 1000 + 160 * n as u32, 9),
            "the source stream's header is kept"
        );
        assert_eq!(p.payload.len(), 160, "20 ms of PCMU is 160 bytes");
        Codec::pcmu().decode(p.payload, &mut heard);
    }
    let reference = sine(400.0, 8000, 1.0, amplitude);
    let (c, lag) = best_correlation(&reference[800..7000], &heard[800..]);
    assert!(
        c > 0.95,
        "G.722 → PCMU: correlation {c:.3} at lag {lag}, expected > 0.95"
    );
    let body = &heard[800..7800];
    let tone = tone_to_residual_db(body, 8000, 400.0);
    assert!(
        tone > 20.0,
        "G.722 → PCMU: tone/residual {tone:.1} dB, expected > 20"
    );
    let level = rms(body) / (amplitude / 2f64.sqrt());
    assert!((level - 1.0).abs() < 0.1, "G.722 → PCMU: gain {level:.3}");
}

#[test]
fn pcmu_to_g722_is_transcoded_with_the_signal_kept() {
    let mut h = bridged(Codec::g722(), Codec::pcmu());
    let amplitude = 9000.0;
    let narrow = sine(400.0, 8000, 1.0, amplitude);
    let mut stream = RtpStream::new(3, 7, 77);
    let mut phone = G722Decoder::new();
    let mut heard = Vec::new();
    for frame in narrow.chunks(FRAME_SAMPLES) {
        let mut payload = Vec::new();
        Codec::pcmu().encode(frame, &mut payload);
        let out = transmits(&h.rtp(2, addr(5000), &stream.packet(0, &payload, 160)));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].0, LegId(1));
        let p = rtp::parse(&out[0].2).unwrap();
        assert_eq!(p.header.payload_type, 9);
        assert_eq!(p.payload.len(), 160, "20 ms of G.722 is 160 bytes");
        heard.extend(phone.decode(p.payload));
    }
    assert_eq!(heard.len(), 16000, "the G.722 phone decodes 16 kHz");
    let reference = sine(400.0, 16000, 1.0, amplitude);
    let (c, lag) = best_correlation(&reference[1600..14000], &heard[1600..]);
    assert!(
        c > 0.95,
        "PCMU → G.722: correlation {c:.3} at lag {lag}, expected > 0.95"
    );
    let level = rms(&heard[1600..15600]) / (amplitude / 2f64.sqrt());
    assert!((level - 1.0).abs() < 0.1, "PCMU → G.722: gain {level:.3}");
}

#[test]
fn a_prompt_to_a_g722_leg_is_heard_by_a_wideband_phone() {
    let mut h = Harness::new();
    h.add(1, Some(addr(4000)), Codec::g722(), Some(101));
    let amplitude = 8000.0;
    let samples = sine(1000.0, 8000, 0.5, amplitude);
    let mut out = h.cmd(MediaCommand::Play {
        leg: LegId(1),
        prompts: vec![Arc::new(Prompt::from_samples("tone", &samples, 8000))],
        loop_: false,
    });
    let until = h.now + ms(700);
    out.extend(h.run_until(until));
    let tx = transmits(&out);
    assert_eq!(tx.len(), 25, "500 ms in 20 ms packets");
    let mut phone = G722Decoder::new();
    let mut heard = Vec::new();
    let headers: Vec<_> = tx
        .iter()
        .map(|t| rtp::parse(&t.2).unwrap().header)
        .collect();
    for w in headers.windows(2) {
        assert_eq!(
            w[1].timestamp,
            w[0].timestamp.wrapping_add(160),
            "8 kHz RTP clock"
        );
        assert_eq!(w[1].sequence, w[0].sequence.wrapping_add(1));
    }
    for (_, _, bytes) in &tx {
        let p = rtp::parse(bytes).unwrap();
        assert_eq!(p.header.payload_type, 9);
        assert_eq!(p.payload.len(), 160);
        heard.extend(phone.decode(p.payload));
    }
    let body = &heard[1600..7400];
    let tone = tone_to_residual_db(body, 16000, 1000.0);
    assert!(
        tone > 20.0,
        "prompt over G.722: tone/residual {tone:.1} dB, expected > 20"
    );
    let level = rms(body) / (amplitude / 2f64.sqrt());
    assert!(
        (level - 1.0).abs() < 0.1,
        "prompt over G.722: gain {level:.3}"
    );
    assert!(
        events(&out)
            .iter()
            .any(|e| matches!(e, MediaEvent::PlayFinished { .. }))
    );
}

#[test]
fn g722_listeners_who_join_music_on_hold_late_still_hear_it_cleanly() {
    // Each G.722 listener encodes the shared frame with its own encoder, so one who joins
    // later decodes from a matching initial state.
    let mut h = Harness::new();
    let music = sine(600.0, 8000, 1.0, 8000.0);
    h.cmd(MediaCommand::DefineMoh {
        class: "default".into(),
        prompts: vec![Arc::new(Prompt::from_samples("m", &music, 8000))],
    });
    h.add(1, Some(addr(4000)), Codec::g722(), None);
    h.add(2, Some(addr(5000)), Codec::g722(), None);
    h.cmd(MediaCommand::StartMoh {
        leg: LegId(1),
        class: "default".into(),
    });
    let until = h.now + ms(300);
    h.run_until(until);
    let mut out = h.cmd(MediaCommand::StartMoh {
        leg: LegId(2),
        class: "default".into(),
    });
    let until = h.now + ms(400);
    out.extend(h.run_until(until));
    let tx = transmits(&out);
    let mut phone = G722Decoder::new();
    let heard: Vec<i16> = tx
        .iter()
        .filter(|t| t.0 == LegId(2))
        .flat_map(|t| phone.decode(rtp::parse(&t.2).unwrap().payload))
        .collect();
    assert!(heard.len() >= 6000, "{} samples", heard.len());
    let tone = tone_to_residual_db(&heard[320..], 16000, 600.0);
    assert!(
        tone > 20.0,
        "late MOH listener: tone/residual {tone:.1} dB, expected > 20"
    );
}

#[test]
fn a_g722_leg_is_recorded_at_8khz() {
    let mut h = Harness::new();
    h.add(1, Some(addr(4000)), Codec::g722(), None);
    let path = crate::prompt::tests::temp_dir("engine-rec-g722").join("rec.wav");
    h.cmd(MediaCommand::Record {
        leg: LegId(1),
        path: path.clone(),
        max_length: ms(1000),
        silence: None,
        both_directions: false,
    });
    let amplitude = 9000.0;
    let wide = sine(1000.0, 16000, 1.2, amplitude);
    let mut phone = G722Encoder::new();
    let mut stream = RtpStream::new(5, 0, 0);
    let mut evs = Vec::new();
    for frame in wide.chunks(320) {
        h.rtp(1, addr(4000), &stream.packet(9, &phone.encode(frame), 160));
        let until = h.now + ms(20);
        evs.extend(events(&h.run_until(until)));
    }
    assert!(
        evs.iter().any(|e| matches!(
            e,
            MediaEvent::RecordingFinished {
                reason: RecordStop::MaxLength,
                ..
            }
        )),
        "{evs:?}"
    );
    let reader = hound::WavReader::open(&path).unwrap();
    assert_eq!(reader.spec().sample_rate, 8000);
    let wav: Vec<i16> = reader.into_samples::<i16>().map(|s| s.unwrap()).collect();
    assert_eq!(wav.len(), 8000);
    let body = &wav[800..7800];
    let tone = tone_to_residual_db(body, 8000, 1000.0);
    assert!(
        tone > 20.0,
        "G.722 recording: tone/residual {tone:.1} dB, expected > 20"
    );
    let level = rms(body) / (amplitude / 2f64.sqrt());
    assert!(
        (level - 1.0).abs() < 0.1,
        "G.722 recording: gain {level:.3}"
    );
}

#[test]
fn the_jitter_buffer_decodes_a_reordered_g722_stream_in_order() {
    // ADPCM state depends on the order of decoding: swapping two packets on the network must
    // not change what is played out.
    let wide = sine(700.0, 16000, 0.4, 9000.0);
    let mut phone = G722Encoder::new();
    let payloads: Vec<Vec<u8>> = wide.chunks(320).map(|f| phone.encode(f)).collect();
    let t0 = Harness::new().t0;
    let play = |order: &[usize]| {
        let mut jb = crate::jitter::JitterBuffer::new(Codec::g722());
        for &i in order {
            let header = rtp::RtpHeader {
                payload_type: 9,
                marker: false,
                sequence: i as u16,
                timestamp: 160 * i as u32,
                ssrc: 1,
            };
            // Arrival times as sent, so the jitter estimate does not depend on the order.
            jb.push(t0 + ms(20 * i as u64), &header, &payloads[i]);
        }
        let mut frames = Vec::new();
        let end = t0 + ms(20 * payloads.len() as u64);
        while let Some(f) = jb.pop_frame(end) {
            if jb.stats().underruns > 0 {
                break;
            }
            frames.extend_from_slice(&f);
        }
        frames
    };
    let in_order: Vec<usize> = (0..payloads.len()).collect();
    let mut swapped = in_order.clone();
    for pair in swapped[2..].chunks_mut(2).step_by(3) {
        pair.reverse();
    }
    assert_ne!(in_order, swapped);
    let a = play(&in_order);
    let b = play(&swapped);
    assert!(a.len() >= 1600, "{} samples played", a.len());
    let first_difference = a.iter().zip(&b).position(|(x, y)| x != y);
    assert_eq!(
        (a.len(), first_difference),
        (b.len(), None),
        "reordering changed the played-out audio"
    );
}

/// A conference with one G.722 phone and two PCMU phones: everyone hears the other two.
#[test]
fn a_g722_member_hears_and_is_heard_in_a_conference() {
    let mut h = Harness::new();
    let freqs = [400.0, 700.0, 1100.0];
    let codecs = [Codec::g722(), Codec::pcmu(), Codec::pcmu()];
    for leg in 1..=3u64 {
        h.add(
            leg,
            Some(addr(4000 + leg as u16)),
            codecs[leg as usize - 1],
            None,
        );
        h.cmd(MediaCommand::JoinConference {
            leg: LegId(leg),
            room: RoomId(9),
            muted: false,
        });
    }
    let amplitude = 5000.0;
    let mut phones: Vec<RtpStream> = (1..=3).map(|i| RtpStream::new(i, 0, 0)).collect();
    let mut g722_phone_tx = G722Encoder::new();
    let mut g722_phone_rx = G722Decoder::new();
    let wide = sine(freqs[0], 16000, 2.0, amplitude);
    let narrow: Vec<Vec<i16>> = freqs[1..]
        .iter()
        .map(|f| sine(*f, 8000, 2.0, amplitude))
        .collect();
    let mut heard: [Vec<i16>; 3] = Default::default();
    for frame in 0..100usize {
        for (i, phone) in phones.iter_mut().enumerate() {
            let payload = if i == 0 {
                g722_phone_tx.encode(&wide[frame * 320..(frame + 1) * 320])
            } else {
                let mut p = Vec::new();
                let f = &narrow[i - 1][frame * FRAME_SAMPLES..(frame + 1) * FRAME_SAMPLES];
                Codec::pcmu().encode(f, &mut p);
                p
            };
            let pkt = phone.packet(codecs[i].payload_type, &payload, 160);
            h.rtp(i as u64 + 1, addr(4001 + i as u16), &pkt);
        }
        let until = h.now + ms(20);
        for (leg, _, bytes) in transmits(&h.run_until(until)) {
            let p = rtp::parse(&bytes).unwrap();
            let i = leg.0 as usize - 1;
            assert_eq!(p.header.payload_type, codecs[i].payload_type);
            if i == 0 {
                // The G.722 phone decodes at 16 kHz; keep every second sample (the mix is
                // band-limited to 3.4 kHz, so this does not alias).
                heard[0].extend(g722_phone_rx.decode(p.payload).iter().step_by(2));
            } else {
                Codec::pcmu().decode(p.payload, &mut heard[i]);
            }
        }
    }
    for (i, got) in heard.iter().enumerate() {
        assert!(
            got.len() > 8000,
            "leg {} heard {} samples",
            i + 1,
            got.len()
        );
        let body = &got[2400..];
        for j in (0..3).filter(|j| *j != i) {
            let db = tone_to_residual_db(body, 8000, freqs[j]);
            assert!(
                db > -5.0,
                "leg {} hears {} Hz at {db:.1} dB",
                i + 1,
                freqs[j]
            );
        }
        let own = tone_to_residual_db(body, 8000, freqs[i]);
        assert!(own < -25.0, "leg {} hears itself at {own:.1} dB", i + 1);
    }
}
