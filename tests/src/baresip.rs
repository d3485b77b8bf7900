//! A headless baresip softphone per instance: generated config, a test signal as microphone,
//! recordings of what it sent and heard, and control through `ctrl_tcp`.

use crate::audio::{Audio, write_wav};
use crate::ctrl::{Ctrl, Event};
use crate::error::{Error, Result};
use crate::ports::{free_port, free_range};
use crate::process::Process;
use crate::sipp::Transport;
use rustix::process::Signal;
use std::fmt::Write as _;
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long a control command may take to be answered.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// How a baresip instance answers incoming calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerMode {
    /// Answers immediately.
    Auto,
    /// Rings until [`Baresip::accept`] is called.
    Manual,
}

impl AnswerMode {
    fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Manual => "manual",
        }
    }
}

/// The SIP account of a baresip instance (one `accounts` line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    line: String,
}

impl Account {
    /// An account that registers `user` with `password` at `server` over `transport`.
    pub fn registered(
        user: &str,
        password: &str,
        server: SocketAddr,
        transport: Transport,
        answer: AnswerMode,
    ) -> Self {
        let transport = transport.sip_name().to_ascii_lowercase();
        Self {
            line: format!(
                "<sip:{user}@{server};transport={transport}>;auth_user={user};auth_pass={password};answermode={};\
                 audio_codecs=pcmu,pcma;regint=300;ptime=20",
                answer.as_str()
            ),
        }
    }

    /// An account that registers the address-of-record `aor` (e.g. the operator position `0`) with
    /// the credentials of another account (`auth_user`, e.g. `op1`).
    pub fn registered_as(
        aor: &str,
        auth_user: &str,
        password: &str,
        server: SocketAddr,
        answer: AnswerMode,
    ) -> Self {
        Self {
            line: format!(
                "<sip:{aor}@{server};transport=udp>;auth_user={auth_user};auth_pass={password};\
                 answermode={};audio_codecs=pcmu,pcma;regint=300;ptime=20",
                answer.as_str()
            ),
        }
    }

    /// An account that does not register, for direct calls between instances.
    pub fn local(user: &str, answer: AnswerMode) -> Self {
        Self {
            line: format!(
                "<sip:{user}@127.0.0.1>;regint=0;answermode={};audio_codecs=pcmu,pcma;ptime=20",
                answer.as_str()
            ),
        }
    }

    /// The account line as written to baresip's `accounts` file.
    pub fn line(&self) -> &str {
        &self.line
    }
}

/// How to start a baresip instance.
#[derive(Debug, Clone)]
pub struct BaresipOptions {
    /// A short name for messages and file names (e.g. "alice").
    pub name: String,
    /// The SIP account.
    pub account: Account,
    /// What the "microphone" plays; when it ends, baresip hangs up the call.
    pub source: Audio,
    /// baresip quits on its own after this long (`-t`), a safety net for a hung test.
    pub safety_timeout: Duration,
}

/// The two recordings baresip's `sndfile` module wrote for one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recordings {
    /// What this instance received and played (decoded audio).
    pub heard: PathBuf,
    /// What this instance sent (encoded audio).
    pub sent: PathBuf,
}

/// A running baresip process.
#[derive(Debug)]
pub struct Baresip {
    name: String,
    process: Option<Process>,
    dir: Option<TempDir>,
    sip: SocketAddr,
    ctrl: Ctrl,
}

impl Baresip {
    /// Writes the configuration, starts baresip and connects to its control port.
    pub fn start(options: BaresipOptions) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("switchboard-e2e-baresip-{}-", options.name))
            .tempdir()
            .map_err(|e| Error::io("creating baresip directory", e))?;
        let sip_port = free_range(2)?; // baresip also binds TLS on the SIP port + 1
        let ctrl_port = free_port()?;
        let rtp_low = free_range(10)?;
        let source = dir.path().join("source.wav");
        write_wav(&source, &options.source)?;
        let recordings = dir.path().join("rec");
        std::fs::create_dir(&recordings)
            .map_err(|e| Error::io("creating recordings directory", e))?;
        let config = config_text(sip_port, ctrl_port, rtp_low, &source, &recordings);
        write(&dir.path().join("config"), &config)?;
        write(
            &dir.path().join("accounts"),
            &format!("{}\n", options.account.line()),
        )?;

        let log = File::create(dir.path().join("baresip.log"))
            .map_err(|e| Error::io("creating baresip log", e))?;
        let log_err = log
            .try_clone()
            .map_err(|e| Error::io("duplicating baresip log", e))?;
        let mut command = Command::new("baresip");
        command
            .arg("-f")
            .arg(dir.path())
            .arg("-t")
            .arg(options.safety_timeout.as_secs().max(1).to_string())
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err));
        let mut process = Process::spawn(format!("baresip {}", options.name), &mut command)?;
        let ctrl_addr = SocketAddr::from((Ipv4Addr::LOCALHOST, ctrl_port));
        let ctrl = match Ctrl::connect(ctrl_addr, Duration::from_secs(10)) {
            Ok(ctrl) => ctrl,
            Err(e) => {
                let _ = process.terminate(Duration::from_secs(2));
                let log =
                    std::fs::read_to_string(dir.path().join("baresip.log")).unwrap_or_default();
                return Err(Error::new(format!("{e}; baresip log:\n{log}")));
            }
        };
        Ok(Self {
            name: options.name,
            process: Some(process),
            dir: Some(dir),
            sip: SocketAddr::from((Ipv4Addr::LOCALHOST, sip_port)),
            ctrl,
        })
    }

    /// The address baresip listens on for SIP.
    pub fn sip_addr(&self) -> SocketAddr {
        self.sip
    }

    /// A SIP URI reaching `user` directly at this instance.
    pub fn direct_uri(&self, user: &str) -> String {
        format!("sip:{user}@{}", self.sip)
    }

    /// Sends a raw control command and returns baresip's response object.
    pub fn command(&self, command: &str, params: &str) -> Result<serde_json::Value> {
        self.ctrl.command(command, params, COMMAND_TIMEOUT)
    }

    /// Starts a call to `uri`.
    pub fn dial(&self, uri: &str) -> Result<()> {
        self.command("dial", uri).map(|_| ())
    }

    /// Answers the ringing incoming call.
    pub fn accept(&self) -> Result<()> {
        self.command("accept", "").map(|_| ())
    }

    /// Hangs up the current call.
    pub fn hangup(&self) -> Result<()> {
        self.command("hangup", "").map(|_| ())
    }

    /// Sends DTMF digits as RFC 4733 events in the current call.
    pub fn send_dtmf(&self, digits: &str) -> Result<()> {
        self.command("sndcode", digits).map(|_| ())
    }

    /// Asks baresip to quit (it finalises recordings) and waits up to 5 s for it to exit.
    pub fn quit(&mut self) -> Result<()> {
        // baresip may close the control connection before its response arrives; the exit is what counts.
        let _ = self.ctrl.command("quit", "", Duration::from_secs(2));
        let Some(process) = self.process.as_mut() else {
            return Ok(());
        };
        if process.wait_timeout(Duration::from_secs(5))?.is_some() {
            self.process = None;
            Ok(())
        } else {
            Err(Error::new(format!(
                "baresip {} did not exit within 5 s of `quit`",
                self.name
            )))
        }
    }

    /// Waits until the account is registered, polling `reginfo` (REGISTER_OK may fire before connecting).
    pub fn wait_registered(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.ctrl.has_event(|e| e.kind == "REGISTER_OK") {
                return Ok(());
            }
            let info = self.command("reginfo", "")?;
            let last = info
                .get("data")
                .and_then(|d| d.as_str())
                .unwrap_or("")
                .to_owned();
            if reginfo_says_registered(&last) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::new(format!(
                    "baresip {} not registered within {timeout:?}; last reginfo: {last:?}; events: {:?}",
                    self.name,
                    self.ctrl.pending_events()
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for the next event of type `kind` (e.g. `CALL_ESTABLISHED`) and takes it.
    pub fn wait_event(&self, kind: &str, timeout: Duration) -> Result<Event> {
        self.ctrl
            .wait_event(timeout, |e| e.kind == kind)?
            .ok_or_else(|| {
                Error::new(format!(
                    "baresip {} expected event {kind} within {timeout:?}; pending events: {:?}",
                    self.name,
                    self.ctrl.pending_events()
                ))
            })
    }

    /// Returns whether an event of type `kind` is waiting (without taking it).
    pub fn has_event(&self, kind: &str) -> bool {
        self.ctrl.has_event(|e| e.kind == kind)
    }

    /// Returns the latest call's recordings (files are complete once the call has closed).
    pub fn recordings(&self) -> Result<Recordings> {
        let dir = self.dir_path().join("rec");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| Error::io(format!("listing {}", dir.display()), e))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .collect();
        files.sort();
        let latest = |suffix: &str| {
            files
                .iter()
                .rev()
                .find(|p| p.to_string_lossy().ends_with(suffix))
                .cloned()
                .ok_or_else(|| {
                    Error::new(format!(
                        "baresip {} wrote no *{suffix} in {}; files: {files:?}",
                        self.name,
                        dir.display()
                    ))
                })
        };
        Ok(Recordings {
            heard: latest("-dec.wav")?,
            sent: latest("-enc.wav")?,
        })
    }

    /// Everything baresip printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir_path().join("baresip.log")).unwrap_or_default()
    }

    /// Stops baresip with SIGTERM (so recordings are finalised) and waits for it to exit.
    ///
    /// On the first SIGTERM baresip un-registers and waits for the registrar; if that is gone, a
    /// second SIGTERM makes it exit at once. Fails only if it then still needs SIGKILL.
    pub fn stop(&mut self) -> Result<()> {
        let Some(mut process) = self.process.take() else {
            return Ok(());
        };
        process.signal(Signal::TERM)?;
        if process.wait_timeout(Duration::from_secs(3))?.is_some() {
            return Ok(());
        }
        let (_, killed) = process.terminate(Duration::from_secs(3))?;
        if killed {
            return Err(Error::new(format!(
                "baresip {} ignored two SIGTERMs and was killed",
                self.name
            )));
        }
        Ok(())
    }

    fn dir_path(&self) -> &Path {
        self.dir
            .as_ref()
            .map_or_else(|| Path::new("/nonexistent"), TempDir::path)
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.stop();
        if std::thread::panicking()
            && let Some(dir) = self.dir.take()
        {
            let kept = dir.keep();
            eprintln!(
                "===== baresip {} log =====\n{}\n===== end of baresip {} log; files kept in {} =====",
                self.name,
                std::fs::read_to_string(kept.join("baresip.log")).unwrap_or_default(),
                self.name,
                kept.display()
            );
        }
    }
}

/// Reads baresip 1.0's `reginfo` text: a registered account's line carries `OK`.
fn reginfo_says_registered(text: &str) -> bool {
    text.lines()
        .filter(|line| line.contains("sip:"))
        .any(|line| line.split_whitespace().any(|word| strip_ansi(word) == "OK"))
}

fn strip_ansi(word: &str) -> String {
    let mut out = String::new();
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn config_text(
    sip_port: u16,
    ctrl_port: u16,
    rtp_low: u16,
    source: &Path,
    recordings: &Path,
) -> String {
    let mut text = String::new();
    let lines = [
        "poll_method epoll".to_owned(),
        format!("sip_listen 127.0.0.1:{sip_port}"),
        "net_interface 127.0.0.1".to_owned(),
        format!("audio_source aufile,{}", source.display()),
        "audio_player aubridge,nosink".to_owned(),
        "audio_alert aubridge,nosink".to_owned(),
        "ausrc_srate 8000".to_owned(),
        "auplay_srate 8000".to_owned(),
        "ausrc_channels 1".to_owned(),
        "auplay_channels 1".to_owned(),
        format!("rtp_ports {rtp_low}-{}", rtp_low + 9),
        "module_path /usr/lib/baresip/modules".to_owned(),
        "module g711.so".to_owned(),
        "module aufile.so".to_owned(),
        "module aubridge.so".to_owned(),
        "module sndfile.so".to_owned(),
        "module_tmp account.so".to_owned(),
        "module_app menu.so".to_owned(),
        "module_app ctrl_tcp.so".to_owned(),
        format!("ctrl_tcp_listen 127.0.0.1:{ctrl_port}"),
        format!("snd_path {}", recordings.display()),
    ];
    for line in lines {
        let _ = writeln!(text, "{line}");
    }
    text
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_registration_state_from_reginfo() {
        assert!(!reginfo_says_registered(
            "\n--- User Agents (1) ---\n> sip:a@127.0.0.1                           \n\n"
        ));
        assert!(reginfo_says_registered(
            "\n--- User Agents (1) ---\n> sip:201@127.0.0.1:5060 \u{1b}[32mOK\u{1b}[;m\n"
        ));
    }
}
