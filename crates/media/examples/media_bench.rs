//! Micro benchmark of the media hot paths; prints one table.
//!
//! Run with `bash bench/media.sh` (or `cargo run --release -p media --example media_bench`).
//! Each row runs a fixed amount of work several times and reports the best run, so a noisy
//! neighbour on the machine inflates the numbers less.
#![allow(
    clippy::disallowed_methods,
    reason = "a benchmark measures wall time with the real clock"
)]

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use media::mixer::{Contribution, Fade, Frame, mix_minus_one};
use media::prompt::Prompt;
use media::rtp::RtpStream;
use media::{Codec, EngineConfig, Input, LegId, MediaCommand, MediaEngine, Output, RoomId, g711};

const RUNS: usize = 5;

/// Runs `f` several times; `f` returns the time of its measured part and the units of work.
fn best_of<F: FnMut() -> (Duration, u64)>(mut f: F) -> (Duration, u64) {
    let mut best = Duration::MAX;
    let mut units = 0;
    for _ in 0..RUNS {
        let (time, n) = f();
        best = best.min(time);
        units = n;
    }
    (best, units)
}

/// Times a closure that does all of its work in the measured part.
fn timed<F: FnMut() -> u64>(mut f: F) -> impl FnMut() -> (Duration, u64) {
    move || {
        let start = Instant::now();
        let n = f();
        (start.elapsed(), n)
    }
}

fn row(name: &str, (time, units): (Duration, u64), unit: &str) {
    let ns = time.as_nanos() as f64 / units as f64;
    println!("| {name:<52} | {ns:>12.1} | {unit:<22} |");
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn drain(engine: &mut MediaEngine) -> u64 {
    let mut n = 0;
    loop {
        match engine.poll_output() {
            Output::Timeout(_) => return n,
            o => {
                black_box(o);
                n += 1;
            }
        }
    }
}

/// `pairs` bridged calls; every packet from leg A of each call is relayed to leg B.
fn relay(pairs: u64, codec_b: Codec, te: Option<u8>, packets_per_leg: u64) -> (Duration, u64) {
    best_of(|| {
        let t0 = Instant::now();
        let mut e = MediaEngine::new(EngineConfig::default(), t0);
        for p in 0..pairs {
            for (leg, codec) in [(2 * p, Codec::pcmu()), (2 * p + 1, codec_b)] {
                e.handle_input(Input::Command(MediaCommand::AddLeg {
                    leg: LegId(leg),
                    remote: Some(addr(10000 + leg as u16)),
                    codec,
                    telephone_event_pt: te,
                }));
            }
            e.handle_input(Input::Command(MediaCommand::Bridge(
                LegId(2 * p),
                LegId(2 * p + 1),
            )));
        }
        let mut streams: Vec<RtpStream> =
            (0..pairs).map(|p| RtpStream::new(p as u32, 0, 0)).collect();
        let payload = [0x55u8; 160];
        let packets: Vec<Vec<u8>> = streams
            .iter_mut()
            .map(|s| s.packet(0, &payload, 160))
            .collect();
        let start = Instant::now();
        let mut sent = 0;
        for i in 0..packets_per_leg {
            let now = t0 + Duration::from_millis(20 * i);
            // The 20 ms tick (it runs only when some leg needs it, e.g. in-band DTMF detection).
            e.handle_input(Input::Timeout(now));
            sent += drain(&mut e);
            for (p, pkt) in packets.iter().enumerate() {
                e.handle_input(Input::Rtp {
                    now,
                    leg: LegId(2 * p as u64),
                    from: addr(10000 + 2 * p as u16),
                    bytes: pkt,
                });
                sent += drain(&mut e);
            }
        }
        (start.elapsed(), sent)
    })
}

fn codec_rows() {
    let frame: [i16; 160] = std::array::from_fn(|i| ((i as f64 * 0.39).sin() * 12000.0) as i16);
    let frames = 200_000u64;
    let mut buf = Vec::with_capacity(160);
    row(
        "G.711 µ-law encode, 20 ms frame",
        best_of(timed(|| {
            for _ in 0..frames {
                buf.clear();
                g711::ulaw_encode_into(black_box(&frame), &mut buf);
                black_box(&buf);
            }
            frames
        })),
        "ns / frame",
    );
    row(
        "G.711 A-law encode, 20 ms frame",
        best_of(timed(|| {
            for _ in 0..frames {
                buf.clear();
                g711::alaw_encode_into(black_box(&frame), &mut buf);
                black_box(&buf);
            }
            frames
        })),
        "ns / frame",
    );
    let mut encoded = Vec::new();
    g711::ulaw_encode_into(&frame, &mut encoded);
    let mut pcm = Vec::with_capacity(160);
    row(
        "G.711 µ-law decode, 20 ms frame",
        best_of(timed(|| {
            for _ in 0..frames {
                pcm.clear();
                g711::ulaw_decode_into(black_box(&encoded), &mut pcm);
                black_box(&pcm);
            }
            frames
        })),
        "ns / frame",
    );
    row(
        "G.711 A-law decode, 20 ms frame",
        best_of(timed(|| {
            for _ in 0..frames {
                pcm.clear();
                g711::alaw_decode_into(black_box(&encoded), &mut pcm);
                black_box(&pcm);
            }
            frames
        })),
        "ns / frame",
    );
    // G.722 legs: 8 kHz in, resampled to 16 kHz and ADPCM-encoded (and the way back), with
    // the per-leg state the engine keeps.
    let g722_frames = frames / 10;
    let mut encoder = media::codec::Encoder::new(Codec::g722());
    row(
        "G.722 encode from 8 kHz (resample + ADPCM), 20 ms frame",
        best_of(timed(|| {
            for _ in 0..g722_frames {
                buf.clear();
                encoder.encode(black_box(&frame), &mut buf);
                black_box(&buf);
            }
            g722_frames
        })),
        "ns / frame",
    );
    let mut g722 = Vec::new();
    encoder.encode(&frame, &mut g722);
    let mut decoder = media::codec::Decoder::new(Codec::g722());
    row(
        "G.722 decode to 8 kHz (ADPCM + resample), 20 ms frame",
        best_of(timed(|| {
            for _ in 0..g722_frames {
                pcm.clear();
                decoder.decode(black_box(&g722), &mut pcm);
                black_box(&pcm);
            }
            g722_frames
        })),
        "ns / frame",
    );
}

fn mixer_row(n: usize) {
    let frames: Vec<Frame> = (0..n)
        .map(|p| std::array::from_fn(|i| (((i + p * 13) as f64 * 0.2).sin() * 6000.0) as i16))
        .collect();
    let ticks = 20_000u64;
    let mut out = Vec::new();
    row(
        &format!("mixer, N-1 mix of {n} participants, per participant"),
        best_of(timed(|| {
            for _ in 0..ticks {
                let c: Vec<Contribution<'_>> = frames
                    .iter()
                    .map(|f| Contribution {
                        audio: Some(f),
                        fade: Fade::Full,
                    })
                    .collect();
                mix_minus_one(black_box(&c), None, &mut out);
                black_box(&out);
            }
            ticks * n as u64
        })),
        "ns / participant / tick",
    );
}

/// A whole engine tick for a room: jitter buffer, mix, encode, packetise, per participant.
fn conference_row(n: u64) {
    row(
        &format!("engine conference of {n}, full tick, per participant"),
        best_of(|| {
            let t0 = Instant::now();
            let mut e = MediaEngine::new(EngineConfig::default(), t0);
            for leg in 0..n {
                e.handle_input(Input::Command(MediaCommand::AddLeg {
                    leg: LegId(leg),
                    remote: Some(addr(20000 + leg as u16)),
                    codec: Codec::pcmu(),
                    telephone_event_pt: None,
                }));
                e.handle_input(Input::Command(MediaCommand::JoinConference {
                    leg: LegId(leg),
                    room: RoomId(1),
                    muted: false,
                }));
            }
            drain(&mut e);
            let mut streams: Vec<RtpStream> =
                (0..n).map(|p| RtpStream::new(p as u32, 0, 0)).collect();
            let ticks = 500u64;
            let start = Instant::now();
            for i in 1..=ticks {
                let now = t0 + Duration::from_millis(20 * i);
                for (leg, s) in streams.iter_mut().enumerate() {
                    let pkt = s.packet(0, &[0x5A; 160], 160);
                    e.handle_input(Input::Rtp {
                        now,
                        leg: LegId(leg as u64),
                        from: addr(20000 + leg as u16),
                        bytes: &pkt,
                    });
                }
                e.handle_input(Input::Timeout(now));
                drain(&mut e);
            }
            (start.elapsed(), ticks * n)
        }),
        "ns / participant / tick",
    );
}

/// Legs each playing a prompt: the cost of one 20 ms frame per leg (player, encode, packet).
fn playback_row(legs: u64) {
    let prompt = Arc::new(Prompt::from_samples(
        "bench",
        &(0..80_000)
            .map(|i| ((i as f64 * 0.1).sin() * 8000.0) as i16)
            .collect::<Vec<_>>(),
        8000,
    ));
    row(
        &format!("engine prompt playback, {legs} legs, per leg per tick"),
        best_of(|| {
            let t0 = Instant::now();
            let mut e = MediaEngine::new(EngineConfig::default(), t0);
            for leg in 0..legs {
                e.handle_input(Input::Command(MediaCommand::AddLeg {
                    leg: LegId(leg),
                    remote: Some(addr(30000 + leg as u16)),
                    codec: Codec::pcma(),
                    telephone_event_pt: None,
                }));
                e.handle_input(Input::Command(MediaCommand::Play {
                    leg: LegId(leg),
                    prompts: vec![Arc::clone(&prompt)],
                    loop_: true,
                }));
            }
            drain(&mut e);
            let ticks = 250u64;
            let start = Instant::now();
            for i in 1..=ticks {
                e.handle_input(Input::Timeout(t0 + Duration::from_millis(20 * i)));
                drain(&mut e);
            }
            (start.elapsed(), ticks * legs)
        }),
        "ns / leg / tick",
    );
}

fn main() {
    println!("| {:<52} | {:>12} | {:<22} |", "operation", "time", "unit");
    println!("|{:-<54}|{:-<14}|{:-<24}|", "", "", "");
    row(
        "relay PCMU -> PCMU, 1000 calls",
        relay(1000, Codec::pcmu(), Some(101), 50),
        "ns / relayed packet",
    );
    row(
        "relay PCMU -> PCMA (transcoded), 1000 calls",
        relay(1000, Codec::pcma(), Some(101), 50),
        "ns / relayed packet",
    );
    row(
        "relay PCMU -> PCMU + in-band DTMF detection, 1000 calls",
        relay(1000, Codec::pcmu(), None, 50),
        "ns / relayed packet",
    );
    codec_rows();
    for n in [3, 10, 50] {
        mixer_row(n);
    }
    conference_row(10);
    playback_row(1000);
}
