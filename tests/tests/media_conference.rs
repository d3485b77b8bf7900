//! A conference end to end: three baresip phones registered as 201, 202 and 203 each dial room
//! 7000 of the demo dialplan (recorded for this test). Each phone must hear the other two and not
//! itself, and the PBX's recording of the room must hold all three, by cross-correlation.
//!
//! In an N−1 mix of two equally loud uncorrelated signals, each one scores about 1/√2 ≈ 0.71
//! against the mix before G.711 noise, so a chunk counts as heard from [`HEARD`] up; a party's own
//! signal, which the mix leaves out, scores near 0.
// The waits for the server's log are bounded by wall-clock deadlines.
#![allow(clippy::disallowed_methods)]

use std::path::PathBuf;
use std::time::{Duration, Instant};
use switchboard_e2e::{
    Account, AnswerMode, Audio, Baresip, BaresipOptions, Dialplan, Server, ServerOptions,
    Similarity, Transport, party_signal, read_wav, similarity,
};

/// A chunk score from which a party counts as present in a mix of two or three.
const HEARD: f32 = 0.4;
/// A party's own signal must stay below this in what it hears.
const NOT_HEARD: f32 = 0.3;
/// How long each phone talks; when its source ends, baresip hangs up.
const TALK_SECONDS: f32 = 8.0;

fn heard_chunks(s: &Similarity) -> usize {
    s.chunk_scores.iter().filter(|&&x| x >= HEARD).count()
}

fn phone(server: &Server, ext: &str, signal: &Audio) -> Baresip {
    Baresip::start(BaresipOptions {
        name: format!("ext{ext}"),
        account: Account::registered(
            ext,
            &format!("secret{ext}"),
            server.sip_addr(),
            Transport::Udp,
            AnswerMode::Auto,
        ),
        source: signal.clone(),
        safety_timeout: Duration::from_secs(90),
    })
    .unwrap()
}

#[test]
fn three_phones_in_room_7000_each_hear_the_other_two() {
    let dialplan = Dialplan::demo_with(&[(
        "    # record: true            # remove the `#` to record the meeting",
        "    record: true",
    )])
    .unwrap();
    let server = Server::start(ServerOptions {
        dialplan,
        ..ServerOptions::new()
    })
    .unwrap();
    let exts = ["201", "202", "203"];
    let signals: Vec<Audio> = exts
        .iter()
        .map(|e| party_signal(e.parse().unwrap_or(0), TALK_SECONDS))
        .collect();
    let phones: Vec<Baresip> = exts
        .iter()
        .zip(&signals)
        .map(|(ext, signal)| phone(&server, ext, signal))
        .collect();
    for p in &phones {
        p.wait_registered(Duration::from_secs(10)).unwrap();
    }
    for p in &phones {
        p.dial(&format!("sip:7000@{}", server.sip_addr())).unwrap();
    }
    for p in &phones {
        p.wait_event("CALL_ESTABLISHED", Duration::from_secs(10))
            .unwrap();
    }
    for p in &phones {
        p.wait_event("CALL_CLOSED", Duration::from_secs(30))
            .unwrap();
    }

    for (i, p) in phones.iter().enumerate() {
        let heard = read_wav(&p.recordings().unwrap().heard).unwrap();
        let own = similarity(&signals[i], &heard, 0.5);
        println!("{}'s own signal in what it heard: {own}", exts[i]);
        assert!(
            own.best() < NOT_HEARD,
            "{} heard itself (the mix must leave a member out): {own}",
            exts[i]
        );
        for (j, other) in signals.iter().enumerate() {
            if i == j {
                continue;
            }
            let found = similarity(other, &heard, 0.5);
            println!("{} in what {} heard: {found}", exts[j], exts[i]);
            assert!(
                heard_chunks(&found) >= 4,
                "{} did not hear {} (expected 2 s of chunks scoring at least {HEARD}): {found}",
                exts[i],
                exts[j]
            );
        }
    }

    // The room's recording: one file per recording member, named <call>-<ms>-<caller>-7000.wav.
    let dir = server.data_dir().join("data/recordings");
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.log().matches("recording finished").count() < 1 {
        assert!(
            Instant::now() < deadline,
            "no `recording finished` in the log"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    assert!(
        !files.is_empty()
            && files
                .iter()
                .all(|f| f.to_string_lossy().ends_with("-7000.wav")),
        "expected room recordings named <call>-<ms>-<caller>-7000.wav in {}: {files:?}",
        dir.display()
    );
    let recordings: Vec<Audio> = files.iter().map(|f| read_wav(f).unwrap()).collect();
    for (j, signal) in signals.iter().enumerate() {
        let best = recordings
            .iter()
            .map(|r| similarity(signal, r, 0.5))
            .max_by_key(heard_chunks)
            .unwrap();
        println!("{} in the room's recording: {best}", exts[j]);
        assert!(
            heard_chunks(&best) >= 2,
            "the room's recording lacks {}: {best}",
            exts[j]
        );
    }
}
