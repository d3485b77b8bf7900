//! Call recording end to end: with `record_calls: true`, a sipp caller registered as 201 calls a
//! sipp phone registered as 202 and plays `/usr/share/sip-tester/g711a.pcap`; after the call the
//! PBX's recording (in `--recordings-dir`) must hold that audio, checked by cross-correlation
//! against the pcap's PCMA payloads decoded here.
// The waits for the server's log are bounded by wall-clock deadlines.
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use switchboard_e2e::pbx::{answer_as, caller};
use switchboard_e2e::{Audio, Dialplan, Server, ServerOptions, Transport, read_wav, similarity};

const PCAP: &str = "/usr/share/sip-tester/g711a.pcap";

/// Reads the RTP payloads of a classic little- or big-endian pcap of Ethernet/IPv4/UDP packets.
fn rtp_payloads(path: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    assert!(
        bytes.len() >= 24,
        "{} is shorter than a pcap header",
        path.display()
    );
    let little = match bytes[..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        _ => panic!("expected a pcap magic number, found {:02x?}", &bytes[..4]),
    };
    let u32_at = |at: usize| {
        let b = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
        if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    assert_eq!(
        u32_at(20),
        1,
        "expected Ethernet link type in {}",
        path.display()
    );
    let mut payloads = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let captured = u32_at(at + 8) as usize;
        let frame = &bytes[at + 16..(at + 16 + captured).min(bytes.len())];
        at += 16 + captured;
        // Ethernet (14) → IPv4 (IHL × 4) → UDP (8) → RTP (12 + 4 × CSRC count).
        if frame.len() < 14 + 20 + 8 + 12 || frame[12..14] != [0x08, 0x00] || frame[23] != 17 {
            continue;
        }
        let ip_header = usize::from(frame[14] & 0x0f) * 4;
        let rtp = &frame[14 + ip_header + 8..];
        if rtp.len() < 12 || rtp[0] >> 6 != 2 || rtp[1] & 0x7f != 8 {
            continue;
        }
        let header = 12 + usize::from(rtp[0] & 0x0f) * 4;
        payloads.push(rtp[header.min(rtp.len())..].to_vec());
    }
    payloads
}

/// G.711 A-law to linear (ITU-T G.711, as in the reference `alaw2linear`).
fn alaw_to_linear(code: u8) -> i16 {
    let a = code ^ 0x55;
    let mantissa = i16::from(a & 0x0f) << 4;
    let segment = (a & 0x70) >> 4;
    let magnitude = match segment {
        0 => mantissa + 8,
        1 => mantissa + 0x108,
        s => (mantissa + 0x108) << (s - 1),
    };
    if a & 0x80 != 0 { magnitude } else { -magnitude }
}

fn pcap_audio() -> Audio {
    let samples = rtp_payloads(Path::new(PCAP))
        .iter()
        .flatten()
        .map(|&code| f32::from(alaw_to_linear(code)) / 32768.0)
        .collect();
    Audio {
        rate: 8000,
        samples,
    }
}

#[test]
fn pcap_decoding_finds_every_pcma_packet() {
    let payloads = rtp_payloads(Path::new(PCAP));
    assert_eq!(payloads.len(), 236, "packets in {PCAP}");
    assert!(
        payloads.iter().all(|p| p.len() == 240),
        "30 ms PCMA payloads"
    );
    assert_eq!(alaw_to_linear(0xd5), 8);
    assert_eq!(alaw_to_linear(0x55), -8);
    assert_eq!(alaw_to_linear(0xaa), 32256);
    let audio = pcap_audio();
    assert!(
        audio.rms() > 0.01,
        "the pcap holds audible audio: {}",
        audio.rms()
    );
}

/// Waits until the server logged that the recording finished, then returns the WAV files.
fn finished_recordings(server: &Server, dir: &Path, timeout: Duration) -> Vec<PathBuf> {
    let deadline = Instant::now() + timeout;
    loop {
        if server.log().contains("recording finished") {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .map(|entries| {
                    entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.extension().is_some_and(|x| x == "wav"))
                        .collect()
                })
                .unwrap_or_default();
            files.sort();
            return files;
        }
        assert!(
            Instant::now() < deadline,
            "no `recording finished` in the server log within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_recorded_call_holds_what_sipp_sent() {
    let dialplan = Dialplan::demo_with(&[("record_calls: false", "record_calls: true")]).unwrap();
    let server = Server::start(ServerOptions {
        dialplan,
        ..ServerOptions::new()
    })
    .unwrap();
    // The callee answers and stays silent, so the recording (both directions mixed) is the caller.
    let callee = answer_as(&server, "202", "uas_answer", Transport::Udp, false).unwrap();
    let uac = caller(&server, "201", "uac_call", "202", Transport::Udp).unwrap();
    let caller_run = uac.run().unwrap();
    let callee_run = callee.wait().unwrap();
    caller_run.expect_success().unwrap();
    callee_run.expect_success().unwrap();

    // The server runs in its data directory, so the default `data/recordings` is under it.
    let dir = server.data_dir().join("data/recordings");
    let files = finished_recordings(&server, &dir, Duration::from_secs(10));
    assert_eq!(
        files.len(),
        1,
        "one recording expected in {}: {files:?}",
        dir.display()
    );
    let name = files[0]
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    assert!(
        name.ends_with("-201-202.wav"),
        "expected <call>-<unix ms>-201-202.wav, found {name}"
    );
    assert!(
        server.log().contains(&format!("data/recordings/{name}")),
        "the recording's path (relative to the server's directory) is logged"
    );

    let recording = read_wav(&files[0]).unwrap();
    let reference = pcap_audio();
    assert!(
        recording.seconds() > 3.0,
        "the recording lasts {} s; the caller sent {} s",
        recording.seconds(),
        reference.seconds()
    );
    let found = similarity(&reference, &recording, 0.5);
    println!("g711a.pcap in the PBX's recording: {found}");
    assert!(
        found.matched * 2 >= found.chunk_scores.len() && found.matched >= 4,
        "the recording does not hold the audio sipp sent: {found}"
    );
    let unrelated = similarity(&switchboard_e2e::party_signal(5, 4.0), &recording, 0.5);
    assert_eq!(
        unrelated.matched, 0,
        "an unrelated signal matched: {unrelated}"
    );
}
