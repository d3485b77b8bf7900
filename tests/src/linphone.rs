//! A headless linphonec (linphone-cli 5.1) per instance, driven through its stdin: its own
//! configuration and `$HOME` in a temporary directory, WAV files instead of a sound card, and its
//! console output in a log that the waits read.
//!
//! linphonec needs `$HOME/.local/share/linphone` to exist, or it silently never registers. Without a
//! sound card it would stream nothing; `soundcard use files` makes it play the file given with
//! `play` (silence otherwise) and record what it hears to the file given with `record`.

use crate::audio::{Audio, write_wav};
use crate::error::{Error, Result};
use crate::ports::{free_port, free_range};
use crate::process::Process;
use std::fmt::Write as _;
use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// The SIP identity of a linphonec instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinphoneAccount {
    /// Registers `aor` at `server`, authenticating as `auth_user` with `password` (for the operator
    /// position: `aor` 0, `auth_user` op1).
    Registered {
        aor: String,
        auth_user: String,
        password: String,
        server: SocketAddr,
    },
    /// Does not register (an outside caller).
    Local,
}

/// How to start a linphonec instance.
#[derive(Debug, Clone)]
pub struct LinphoneOptions {
    /// A short name for messages and file names.
    pub name: String,
    /// The SIP identity.
    pub account: LinphoneAccount,
    /// What the "microphone" plays (looped by linphone while a call lasts).
    pub source: Audio,
    /// Answers incoming calls at once (`autoanswer enable`).
    pub auto_answer: bool,
}

/// One line of linphonec's `calls` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinphoneCall {
    /// The call id used by `pause`, `resume`, `transfer`, `terminate`.
    pub id: u32,
    /// The remote party as linphonec prints it.
    pub destination: String,
    /// The state, e.g. `StreamsRunning`, `Paused`, `OutgoingRinging`.
    pub state: String,
}

/// A running linphonec.
#[derive(Debug)]
pub struct Linphone {
    name: String,
    process: Option<Process>,
    stdin: Mutex<Option<ChildStdin>>,
    dir: Option<TempDir>,
    sip: u16,
}

impl Linphone {
    /// Writes the configuration, starts linphonec, switches it to WAV files (the source plays in
    /// every call, what it hears is recorded to `heard.wav`) and applies auto-answer.
    pub fn start(options: LinphoneOptions) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("switchboard-e2e-linphone-{}-", options.name))
            .tempdir()
            .map_err(|e| Error::io("creating linphonec directory", e))?;
        let home = dir.path().join("home");
        std::fs::create_dir_all(home.join(".local/share/linphone"))
            .map_err(|e| Error::io("creating linphonec's $HOME", e))?;
        let sip = free_port()?;
        let rtp_low = free_range(10)?;
        let source = dir.path().join("source.wav");
        write_wav(&source, &options.source)?;
        let rc = dir.path().join("linphonerc");
        std::fs::write(&rc, config_text(sip, rtp_low, &options.account))
            .map_err(|e| Error::io(format!("writing {}", rc.display()), e))?;
        let log = File::create(dir.path().join("linphonec.log"))
            .map_err(|e| Error::io("creating linphonec log", e))?;
        let log_err = log
            .try_clone()
            .map_err(|e| Error::io("duplicating linphonec log", e))?;
        let mut command = Command::new("linphonec");
        command
            .arg("-c")
            .arg(&rc)
            .args(["-d", "0"])
            .env("HOME", &home)
            .current_dir(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err));
        let mut process = Process::spawn(format!("linphonec {}", options.name), &mut command)?;
        let stdin = process.take_stdin();
        let phone = Self {
            name: options.name,
            process: Some(process),
            stdin: Mutex::new(stdin),
            dir: Some(dir),
            sip,
        };
        phone.wait_output("linphonec>", Duration::from_secs(10))?;
        phone.command("soundcard use files")?;
        phone.wait_output("Using wav files", Duration::from_secs(5))?;
        phone.command(&format!("play {}", source.display()))?;
        let heard = phone.dir_path().join("heard.wav");
        phone.command(&format!("record {}", heard.display()))?;
        if options.auto_answer {
            phone.command("autoanswer enable")?;
            phone.wait_output("Auto answer enabled", Duration::from_secs(5))?;
        }
        Ok(phone)
    }

    /// The SIP port linphonec listens on (UDP).
    pub fn sip_port(&self) -> u16 {
        self.sip
    }

    /// Sends one line to linphonec's console.
    pub fn command(&self, line: &str) -> Result<()> {
        let mut guard = self
            .stdin
            .lock()
            .map_err(|_| Error::new("linphonec stdin lock poisoned"))?;
        let stdin = guard
            .as_mut()
            .ok_or_else(|| Error::new(format!("linphonec {} has no stdin", self.name)))?;
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .map_err(|e| Error::io(format!("writing `{line}` to linphonec {}", self.name), e))
    }

    /// Everything linphonec printed so far.
    pub fn log(&self) -> String {
        std::fs::read(self.dir_path().join("linphonec.log"))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Waits until linphonec's output contains `text` (anywhere since it started).
    pub fn wait_output(&self, text: &str, timeout: Duration) -> Result<()> {
        self.wait_output_count(text, 1, timeout)
    }

    /// Waits until linphonec's output contains `text` at least `count` times.
    pub fn wait_output_count(&self, text: &str, count: usize, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.log();
            if log.matches(text).count() >= count {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::new(format!(
                    "linphonec {} did not print `{text}` {count} time(s) within {timeout:?}; output:\n{}",
                    self.name,
                    tail(&log, 4000)
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the default proxy reports `registered: yes` (asking with `proxy list`).
    pub fn wait_registered(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let before = self.log().matches("registered: yes").count();
            self.command("proxy list")?;
            std::thread::sleep(Duration::from_millis(200));
            if self.log().matches("registered: yes").count() > before {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::new(format!(
                    "linphonec {} not registered within {timeout:?}; output:\n{}",
                    self.name,
                    tail(&self.log(), 4000)
                )));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The current calls (`calls`), read from the table linphonec prints.
    pub fn calls(&self) -> Result<Vec<LinphoneCall>> {
        let marker = "Call states";
        let before =
            self.log().matches(marker).count() + self.log().matches("No active call").count();
        self.command("calls")?;
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let log = self.log();
            let now = log.matches(marker).count() + log.matches("No active call").count();
            if now > before {
                // Give the table's lines a moment to be written after its title.
                std::thread::sleep(Duration::from_millis(100));
                return Ok(parse_last_calls_table(&self.log()));
            }
            if Instant::now() > deadline {
                return Err(Error::new(format!(
                    "linphonec {} printed no call table within 5 s; output:\n{}",
                    self.name,
                    tail(&log, 4000)
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the calls satisfy `done` (polling `calls`), and returns them.
    pub fn wait_calls(
        &self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&[LinphoneCall]) -> bool,
    ) -> Result<Vec<LinphoneCall>> {
        let deadline = Instant::now() + timeout;
        loop {
            let calls = self.calls()?;
            if done(&calls) {
                return Ok(calls);
            }
            if Instant::now() > deadline {
                return Err(Error::new(format!(
                    "linphonec {}: expected {what} within {timeout:?}; calls now: {calls:?}; output:\n{}",
                    self.name,
                    tail(&self.log(), 4000)
                )));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// What linphonec recorded of the calls (`heard.wav`; complete once the call ended).
    pub fn heard_path(&self) -> PathBuf {
        self.dir_path().join("heard.wav")
    }

    /// Quits linphonec (`quit`), then SIGTERM if it lingers.
    pub fn stop(&mut self) -> Result<()> {
        let Some(mut process) = self.process.take() else {
            return Ok(());
        };
        let _ = self.command("quit");
        if let Ok(mut stdin) = self.stdin.lock() {
            stdin.take();
        }
        if process.wait_timeout(Duration::from_secs(5))?.is_some() {
            return Ok(());
        }
        let (_, killed) = process.terminate(Duration::from_secs(3))?;
        if killed {
            return Err(Error::new(format!(
                "linphonec {} ignored `quit` and SIGTERM and was killed",
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

impl Drop for Linphone {
    fn drop(&mut self) {
        let _ = self.stop();
        if std::thread::panicking()
            && let Some(dir) = self.dir.take()
        {
            let kept = dir.keep();
            eprintln!(
                "===== linphonec {} output =====\n{}\n===== end of linphonec {} output; files kept in {} =====",
                self.name,
                std::fs::read_to_string(kept.join("linphonec.log")).unwrap_or_default(),
                self.name,
                kept.display()
            );
        }
    }
}

/// Reads the last `calls` table: rows `id | destination | state | flags |`.
fn parse_last_calls_table(log: &str) -> Vec<LinphoneCall> {
    let table_start = log.rfind("Call states");
    let none_at = log.rfind("No active call");
    match (table_start, none_at) {
        (Some(t), Some(n)) if n > t => return Vec::new(),
        (None, _) => return Vec::new(),
        _ => {}
    }
    let Some(start) = table_start else {
        return Vec::new();
    };
    let mut calls = Vec::new();
    for line in log[start..].lines().skip(1) {
        if line.starts_with("Id") || line.starts_with("---") {
            continue;
        }
        let fields: Vec<&str> = line.split('|').map(str::trim).collect();
        let Some(id) = fields.first().and_then(|f| f.parse().ok()) else {
            break;
        };
        calls.push(LinphoneCall {
            id,
            destination: fields.get(1).copied().unwrap_or_default().to_owned(),
            state: fields.get(2).copied().unwrap_or_default().to_owned(),
        });
    }
    calls
}

fn config_text(sip: u16, rtp_low: u16, account: &LinphoneAccount) -> String {
    let default_proxy = match account {
        LinphoneAccount::Registered { .. } => 0,
        LinphoneAccount::Local => -1,
    };
    let mut text = format!(
        "[sip]\nsip_port={sip}\nsip_tcp_port=0\nsip_tls_port=0\ndefault_proxy={default_proxy}\n\
         register_only_when_network_is_up=0\nauto_net_state_mon=0\nuse_rfc2833=1\nuse_info=0\n\
         guess_hostname=0\ncontact=\"e2e\" <sip:e2e@127.0.0.1:{sip}>\n\
         [net]\nfirewall_policy=0\n\
         [rtp]\naudio_rtp_port={rtp_low}-{}\naudio_jitt_comp=60\n\
         [sound]\nechocancellation=0\n\
         [video]\nenabled=0\ncapture=0\ndisplay=0\n",
        rtp_low + 9
    );
    if let LinphoneAccount::Registered {
        aor,
        auth_user,
        password,
        server,
    } = account
    {
        let _ = write!(
            text,
            "[proxy_0]\nreg_proxy=<sip:{server};transport=udp>\nreg_identity=<sip:{aor}@{server}>\n\
             reg_expires=300\nreg_sendregister=1\npublish=0\n\
             [auth_info_0]\nusername={aor}\nuserid={auth_user}\npasswd={password}\n"
        );
    }
    text
}

fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_latest_calls_table() {
        let log = "linphonec> calls\nCall states\nId |  Destination | State | Flags |\n\
                   ------------------------------------------------------------------------\n\
                   1  | \"Caller 5550001\" <sip:5550001@127.0.0.1> | Paused          | \n\
                   2  | sip:201@127.0.0.1:35060             | StreamsRunning  | \n\
                   linphonec> ";
        let calls = parse_last_calls_table(log);
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].id, 1);
        assert_eq!(calls[0].state, "Paused");
        assert_eq!(calls[1].destination, "sip:201@127.0.0.1:35060");
        assert_eq!(calls[1].state, "StreamsRunning");
        let later = format!("{log}calls\nNo active call.\nlinphonec> ");
        assert!(parse_last_calls_table(&later).is_empty());
    }
}
