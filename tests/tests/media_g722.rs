//! G.722 (wideband) softphones through the PBX, with Debian's baresip and its `g722` module.
//!
//! 1. Two phones that offer only G.722 call each other: the PBX answers and offers G.722 (the
//!    dialplan prefers it), relays the packets untouched, and each phone's recording (16 kHz,
//!    decoded by the phone) contains the other's signal; a 6 kHz tone from the caller arrives,
//!    so the path is wideband end to end.
//! 2. A phone that prefers G.722 calls the attendant, which answers in G.722 (its prompts are
//!    encoded per call), then dials 202, a phone with G.711 only: the PBX transcodes G.722 ↔ PCMU,
//!    and each side still hears the other.
//!
//! The harness's `Baresip` writes a G.711-only configuration, so the wideband phones are started
//! here with the same building blocks (control port, process, ports) and the `g722` module.
//!
//! Waiting is the harness's job, so this file reads the clock.
#![allow(clippy::disallowed_methods)]

use std::fmt::Write as _;
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use switchboard_e2e::ctrl::Ctrl;
use switchboard_e2e::process::Process;
use switchboard_e2e::{
    Account, AnswerMode, Audio, Baresip, BaresipOptions, Dialplan, Server, ServerOptions,
    Similarity, Transport, free_port, free_range, party_signal, read_wav, repo_root, similarity,
    write_wav,
};

const CHUNK_SECONDS: f32 = 0.5;
const EVENT_TIMEOUT: Duration = Duration::from_secs(15);
const G722_MODULE: &str = "/usr/lib/baresip/modules/g722.so";
/// baresip registers G.722 as `G722/16000/1` (it writes `G722/8000` in SDP); a bare `g722` in
/// `audio_codecs` would mean 8000 Hz and match nothing.
const G722: &str = "G722/16000/1";

/// The demo dialplan with G.722 first in the codec preference.
fn wideband_server() -> Server {
    let dialplan =
        Dialplan::demo_with(&[("codecs: [PCMU, PCMA]", "codecs: [G722, PCMU, PCMA]")]).unwrap();
    Server::start(ServerOptions {
        dialplan,
        // baresip 1.0 refuses a challenge set with non-MD5 digests (see baresip_call.rs).
        extra_args: vec!["--digest-algorithms".into(), "md5".into()],
        env: vec![(
            "SWITCHBOARD_LOG".into(),
            "info,pbx=debug,media=debug".into(),
        )],
        ..ServerOptions::new()
    })
    .unwrap()
}

/// Whether this machine's baresip has the G.722 module; the test fails (not skips) without it,
/// because `tests/run.sh` installs baresip and Debian's package ships the module.
fn require_g722_module() {
    assert!(
        Path::new(G722_MODULE).exists(),
        "expected baresip's G.722 module at {G722_MODULE} (Debian package baresip-core)"
    );
}

/// A baresip instance with the `g722` module loaded and `audio_codecs` of our choice.
struct WidebandPhone {
    name: String,
    process: Option<Process>,
    dir: Option<tempfile::TempDir>,
    ctrl: Ctrl,
}

impl WidebandPhone {
    /// `account` is the address part of the account line (e.g. `<sip:201@host;transport=udp>`)
    /// plus its parameters before `audio_codecs`.
    fn start(name: &str, account: &str, codecs: &str, source: &Audio) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("switchboard-e2e-g722-{name}-"))
            .tempdir()
            .unwrap();
        let sip_port = free_range(2).unwrap(); // baresip also binds TLS on the SIP port + 1
        let ctrl_port = free_port().unwrap();
        let rtp_low = free_range(10).unwrap();
        let source_path = dir.path().join("source.wav");
        write_wav(&source_path, source).unwrap();
        let recordings = dir.path().join("rec");
        std::fs::create_dir(&recordings).unwrap();
        let mut config = String::new();
        for line in [
            "poll_method epoll".to_owned(),
            format!("sip_listen 127.0.0.1:{sip_port}"),
            "net_interface 127.0.0.1".to_owned(),
            format!("audio_source aufile,{}", source_path.display()),
            "audio_player aubridge,nosink".to_owned(),
            "audio_alert aubridge,nosink".to_owned(),
            // The player runs at 8 kHz and the source at the file's rate; baresip resamples
            // to and from the codec's rate. Its sndfile recordings are taken at the codec's rate.
            format!("ausrc_srate {}", source.rate),
            "auplay_srate 8000".to_owned(),
            "ausrc_channels 1".to_owned(),
            "auplay_channels 1".to_owned(),
            format!("rtp_ports {rtp_low}-{}", rtp_low + 9),
            "module_path /usr/lib/baresip/modules".to_owned(),
            "module g722.so".to_owned(),
            "module g711.so".to_owned(),
            "module aufile.so".to_owned(),
            "module aubridge.so".to_owned(),
            "module sndfile.so".to_owned(),
            "module_tmp account.so".to_owned(),
            "module_app menu.so".to_owned(),
            "module_app ctrl_tcp.so".to_owned(),
            format!("ctrl_tcp_listen 127.0.0.1:{ctrl_port}"),
            format!("snd_path {}", recordings.display()),
        ] {
            let _ = writeln!(config, "{line}");
        }
        std::fs::write(dir.path().join("config"), config).unwrap();
        std::fs::write(
            dir.path().join("accounts"),
            format!("{account};audio_codecs={codecs};ptime=20\n"),
        )
        .unwrap();
        let log = File::create(dir.path().join("baresip.log")).unwrap();
        let log_err = log.try_clone().unwrap();
        let mut command = Command::new("baresip");
        command
            .arg("-f")
            .arg(dir.path())
            .arg("-t")
            .arg("90")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err));
        let process = Process::spawn(format!("baresip {name}"), &mut command).unwrap();
        let ctrl = Ctrl::connect(
            SocketAddr::from((Ipv4Addr::LOCALHOST, ctrl_port)),
            Duration::from_secs(10),
        )
        .unwrap_or_else(|e| {
            panic!(
                "{e}; baresip log:\n{}",
                std::fs::read_to_string(dir.path().join("baresip.log")).unwrap_or_default()
            )
        });
        WidebandPhone {
            name: name.into(),
            process: Some(process),
            dir: Some(dir),
            ctrl,
        }
    }

    /// A phone registered as demo extension `ext` (password `secret<ext>`).
    fn registered(server: &Server, ext: &str, answer: &str, codecs: &str, source: &Audio) -> Self {
        let account = format!(
            "<sip:{ext}@{};transport=udp>;auth_user={ext};auth_pass=secret{ext};answermode={answer};regint=300",
            server.sip_addr()
        );
        let phone = Self::start(&format!("ext{ext}"), &account, codecs, source);
        phone.wait_registered(Duration::from_secs(10));
        phone
    }

    /// Waits for REGISTER_OK, or for `reginfo` to show the account registered (the event may
    /// fire before the control connection is up).
    fn wait_registered(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if self.ctrl.has_event(|e| e.kind == "REGISTER_OK") {
                return;
            }
            let info = self
                .ctrl
                .command("reginfo", "", Duration::from_secs(5))
                .unwrap();
            let text = info.get("data").and_then(|d| d.as_str()).unwrap_or("");
            if text.lines().any(|l| l.contains("sip:") && l.contains("OK")) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "baresip {} not registered within {timeout:?}; reginfo: {text:?}\nlog:\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn dial(&self, uri: &str) {
        self.ctrl
            .command("dial", uri, Duration::from_secs(5))
            .unwrap();
    }

    fn send_dtmf(&self, digits: &str) {
        self.ctrl
            .command("sndcode", digits, Duration::from_secs(5))
            .unwrap();
    }

    fn wait_event(&self, kind: &str, timeout: Duration) {
        let found = self.ctrl.wait_event(timeout, |e| e.kind == kind).unwrap();
        assert!(
            found.is_some(),
            "baresip {} expected event {kind} within {timeout:?}; pending events: {:?}\nlog:\n{}",
            self.name,
            self.ctrl.pending_events(),
            self.log()
        );
    }

    fn log(&self) -> String {
        self.dir
            .as_ref()
            .map(|d| std::fs::read_to_string(d.path().join("baresip.log")).unwrap_or_default())
            .unwrap_or_default()
    }

    /// What the phone decoded and played in its latest call.
    fn heard(&self) -> Audio {
        let dir = self.dir.as_ref().unwrap().path().join("rec");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with("-dec.wav"))
            .collect();
        files.sort();
        let path = files.pop().unwrap_or_else(|| {
            panic!(
                "baresip {} wrote no *-dec.wav in {}",
                self.name,
                dir.display()
            )
        });
        read_wav(&path).unwrap()
    }
}

impl Drop for WidebandPhone {
    fn drop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.terminate(Duration::from_secs(3));
        }
        if std::thread::panicking()
            && let Some(dir) = self.dir.take()
        {
            let kept = dir.keep();
            eprintln!(
                "===== baresip {} log =====\n{}\n===== files kept in {} =====",
                self.name,
                std::fs::read_to_string(kept.join("baresip.log")).unwrap_or_default(),
                kept.display()
            );
        }
    }
}

/// Converts a 16 kHz recording to 8 kHz (a 63-tap windowed-sinc low-pass at 3.6 kHz, then every
/// second sample) so it can be compared with the 8 kHz test signals; 8 kHz passes through.
fn to_8khz(audio: &Audio) -> Audio {
    match audio.rate {
        8000 => return audio.clone(),
        16000 => {}
        other => panic!("expected an 8 or 16 kHz recording, found {other} Hz"),
    }
    const HALF: i64 = 31;
    let cutoff = 3600.0 / 16000.0;
    let taps: Vec<f32> = (-HALF..=HALF)
        .map(|k| {
            let x = k as f64;
            let sinc = if k == 0 {
                2.0 * cutoff
            } else {
                (2.0 * std::f64::consts::PI * cutoff * x).sin() / (std::f64::consts::PI * x)
            };
            let window = 0.54 + 0.46 * (std::f64::consts::PI * x / (HALF as f64 + 1.0)).cos();
            (sinc * window) as f32
        })
        .collect();
    let x = &audio.samples;
    let samples = (0..x.len() / 2)
        .map(|n| {
            let centre = 2 * n as i64;
            taps.iter()
                .enumerate()
                .map(|(k, c)| {
                    let i = centre + k as i64 - HALF;
                    if i >= 0 && (i as usize) < x.len() {
                        c * x[i as usize]
                    } else {
                        0.0
                    }
                })
                .sum()
        })
        .collect();
    Audio {
        rate: 8000,
        samples,
    }
}

/// A 16 kHz microphone signal: `party` (8 kHz) interpolated to 16 kHz, plus a sine at `tone_hz`
/// with amplitude `tone` — content that only a wideband path carries when above 4 kHz.
fn wideband_source(party: &Audio, tone_hz: f32, tone: f32) -> Audio {
    assert_eq!(party.rate, 8000);
    let x = &party.samples;
    let samples = (0..2 * x.len())
        .map(|i| {
            let (a, b) = (x[i / 2], x.get(i / 2 + 1).copied().unwrap_or(0.0));
            let interpolated = if i % 2 == 0 { a } else { (a + b) / 2.0 };
            let t = i as f32 / 16000.0;
            interpolated + tone * (2.0 * std::f32::consts::PI * tone_hz * t).sin()
        })
        .collect();
    Audio {
        rate: 16000,
        samples,
    }
}

/// The largest amplitude of a `freq` sine found in any 0.5 s window of `audio` (least-squares
/// fit of a sine and a cosine).
fn tone_amplitude(audio: &Audio, freq: f32) -> f32 {
    let window = audio.rate as usize / 2;
    let w = 2.0 * std::f64::consts::PI * f64::from(freq) / f64::from(audio.rate);
    let mut best = 0.0f64;
    let mut start = 0;
    while start + window <= audio.samples.len() {
        let (mut ss, mut sc) = (0.0, 0.0);
        for (k, v) in audio.samples[start..start + window].iter().enumerate() {
            let phase = w * (start + k) as f64;
            ss += f64::from(*v) * phase.sin();
            sc += f64::from(*v) * phase.cos();
        }
        let amplitude = 2.0 * (ss * ss + sc * sc).sqrt() / window as f64;
        best = best.max(amplitude);
        start += window / 2;
    }
    best as f32
}

fn assert_heard(recording: &Audio, signal: &Audio, who: &str, whom: &str) -> Similarity {
    let found = similarity(signal, recording, CHUNK_SECONDS);
    println!("{whom}'s audio in {who}'s recording: {found}");
    assert!(
        found.matched >= 4,
        "expected {who} to hear {whom} (at least 2 s of {whom}'s signal scoring >= 0.7): {found}"
    );
    found
}

#[test]
fn two_g722_phones_call_each_other_in_wideband() {
    require_g722_module();
    let server = wideband_server();
    let caller_signal = party_signal(7201, 4.0);
    let callee_signal = party_signal(7202, 6.0);
    // 201's microphone also carries a 6 kHz tone, which only a wideband path can deliver.
    let caller_source = wideband_source(&caller_signal, 6000.0, 0.2);
    let caller = WidebandPhone::registered(&server, "201", "manual", G722, &caller_source);
    let callee = WidebandPhone::registered(&server, "202", "auto", G722, &callee_signal);

    caller.dial(&format!("sip:202@{}", server.sip_addr()));
    callee.wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT);
    caller.wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT);
    // The caller's 4 s source ends first; baresip then hangs up and the PBX ends the other leg.
    caller.wait_event("CALL_CLOSED", Duration::from_secs(20));
    callee.wait_event("CALL_CLOSED", EVENT_TIMEOUT);

    let caller_heard = caller.heard();
    let callee_heard = callee.heard();
    assert_eq!(
        (caller_heard.rate, callee_heard.rate),
        (16000, 16000),
        "both phones should have decoded G.722 (16 kHz recordings); caller log:\n{}",
        caller.log()
    );
    // Relayed untouched, G.722 keeps 6 kHz (a narrowband hop would have removed it entirely).
    let six_khz = tone_amplitude(&callee_heard, 6000.0);
    println!("6 kHz tone in 202's recording: amplitude {six_khz:.3} (sent 0.200)");
    assert!(
        six_khz > 0.1,
        "expected 201's 6 kHz tone in 202's 16 kHz recording (sent at amplitude 0.2), found {six_khz:.3}"
    );
    let caller_heard = to_8khz(&caller_heard);
    let callee_heard = to_8khz(&callee_heard);
    assert_heard(&caller_heard, &callee_signal, "201", "202");
    assert_heard(&callee_heard, &caller_signal, "202", "201");
    let echo = similarity(&caller_signal, &caller_heard, CHUNK_SECONDS);
    assert_eq!(echo.matched, 0, "201 heard its own signal: {echo}");
}

#[test]
fn a_g722_caller_reaches_a_pcmu_phone_through_the_attendant_transcoded() {
    require_g722_module();
    let server = wideband_server();
    // 202 speaks G.711 only (the harness's phone: PCMU, PCMA).
    let callee_signal = party_signal(7302, 30.0);
    let callee = Baresip::start(BaresipOptions {
        name: "ext202-g711".into(),
        account: Account::registered(
            "202",
            "secret202",
            server.sip_addr(),
            Transport::Udp,
            AnswerMode::Auto,
        ),
        source: callee_signal.clone(),
        safety_timeout: Duration::from_secs(90),
    })
    .unwrap();
    callee.wait_registered(Duration::from_secs(10)).unwrap();
    // A guest whose phone prefers G.722 but also offers PCMU; its microphone ends after 12 s.
    let caller_signal = party_signal(7301, 12.0);
    let caller = WidebandPhone::start(
        "guest",
        "<sip:guest@127.0.0.1>;regint=0;answermode=manual",
        &format!("{G722},PCMU"),
        &caller_signal,
    );

    caller.dial(&format!("sip:1000@{}", server.sip_addr()));
    caller.wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT);
    // The attendant answered (in G.722: the dialplan prefers it); at 4 s its menu is playing.
    let answered = Instant::now();
    std::thread::sleep(Duration::from_secs(4));
    caller.send_dtmf("202");
    callee
        .wait_event("CALL_ESTABLISHED", EVENT_TIMEOUT)
        .unwrap();
    let bridged = answered.elapsed();
    caller.wait_event("CALL_CLOSED", Duration::from_secs(30));
    callee.wait_event("CALL_CLOSED", EVENT_TIMEOUT).unwrap();

    let caller_heard = caller.heard();
    let callee_heard = read_wav(&callee.recordings().unwrap().heard).unwrap();
    assert_eq!(
        (caller_heard.rate, callee_heard.rate),
        (16000, 8000),
        "expected the caller on G.722 (16 kHz) and 202 on G.711 (8 kHz); caller log:\n{}",
        caller.log()
    );
    let caller_heard = to_8khz(&caller_heard);
    println!("202 answered {bridged:?} after the attendant");
    // The greeting reached the G.722 caller (encoded per call from the 8 kHz prompt).
    let welcome = read_wav(&repo_root().join("prompts/en/welcome.wav")).unwrap();
    let greeting = similarity(&welcome, &caller_heard, CHUNK_SECONDS);
    println!("en/welcome.wav in the caller's recording: {greeting}");
    assert!(
        greeting.matched >= 2,
        "expected the G.722 caller to hear the greeting: {greeting}"
    );
    assert_heard(&caller_heard, &callee_signal, "the G.722 caller", "202");
    assert_heard(
        &callee_heard,
        &caller_signal,
        "202 (PCMU)",
        "the G.722 caller",
    );
    let echo = similarity(&caller_signal, &caller_heard, CHUNK_SECONDS);
    assert_eq!(echo.matched, 0, "the caller heard its own signal: {echo}");
}
