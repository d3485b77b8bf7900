//! Running the real `switchboard` binary on random loopback ports with its own data directory.

use crate::binary::{repo_root, switchboard_binary};
use crate::error::{Error, Result};
use crate::ports::{free_port, free_range};
use crate::process::Process;
use crate::sip_probe::options_udp;
use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long the server may take from spawn to answering OPTIONS.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a SIGTERM'ed server may take to exit before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// Number of RTP ports given to each server (enough for ~20 concurrent relayed calls).
const RTP_PORT_COUNT: u16 = 80;

/// Which dialplan the server loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialplan {
    /// The repository's demo dialplan, `dialplan/default.yaml` (extensions 201–203).
    Default,
    /// A dialplan file at this path.
    Path(PathBuf),
    /// YAML text written to `dialplan.yaml` in the server's data directory.
    Yaml(String),
}

impl Dialplan {
    /// The demo dialplan with textual replacements, written to a temporary file by [`Server::start`].
    ///
    /// Each `(from, to)` pair must occur in `dialplan/default.yaml`; otherwise this fails, so a test
    /// notices when the demo file changes shape. The relative prompt directory is made absolute, so
    /// the copy works from another directory.
    pub fn demo_with(replacements: &[(&str, &str)]) -> Result<Self> {
        let path = repo_root().join("dialplan/default.yaml");
        let mut text = std::fs::read_to_string(&path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        for (from, to) in replacements {
            if !text.contains(from) {
                return Err(Error::new(format!(
                    "expected `{from}` in {} to replace it",
                    path.display()
                )));
            }
            text = text.replacen(from, to, 1);
        }
        let prompts = repo_root().join("prompts");
        text = text.replacen(
            "directory: ../prompts",
            &format!("directory: {}", prompts.display()),
            1,
        );
        Ok(Self::Yaml(text))
    }
}

/// How to start a server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The dialplan to load.
    pub dialplan: Dialplan,
    /// `--database-url`; `None` means SQLite at `<data dir>/switchboard.db`.
    pub database_url: Option<String>,
    /// Extra command-line arguments appended after the harness's own.
    pub extra_args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            dialplan: Dialplan::Default,
            database_url: None,
            extra_args: Vec::new(),
            env: Vec::new(),
        }
    }
}

impl ServerOptions {
    /// Options for the demo dialplan and SQLite in a temporary directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses this YAML text as the dialplan.
    pub fn dialplan_yaml(mut self, yaml: impl Into<String>) -> Self {
        self.dialplan = Dialplan::Yaml(yaml.into());
        self
    }

    /// Uses this database URL instead of the temporary SQLite file.
    pub fn database_url(mut self, url: impl Into<String>) -> Self {
        self.database_url = Some(url.into());
        self
    }
}

/// A running `switchboard serve` on 127.0.0.1 with random SIP, RTP and HTTP ports.
///
/// The server's stdout and stderr go to `server.log` in its data directory. When the test panics,
/// dropping the server prints that log and keeps the directory for inspection.
#[derive(Debug)]
pub struct Server {
    process: Option<Process>,
    dir: Option<TempDir>,
    binary: PathBuf,
    args: Vec<OsString>,
    env: Vec<(String, String)>,
    sip: SocketAddr,
    http: SocketAddr,
    rtp: RangeInclusive<u16>,
    log_path: PathBuf,
}

impl Server {
    /// Starts a server with `options` and waits until it answers OPTIONS over UDP.
    pub fn start(options: ServerOptions) -> Result<Self> {
        Self::start_binary(switchboard_binary()?, options)
    }

    /// Like [`Server::start`], with another program that takes the same flags (the harness's own
    /// tests use a stand-in).
    pub fn start_binary(binary: PathBuf, options: ServerOptions) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("switchboard-e2e-server-")
            .tempdir()
            .map_err(|e| Error::io("creating the server data directory", e))?;
        let sip = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
        let http = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
        let rtp_low = free_range(RTP_PORT_COUNT)?;
        let rtp = rtp_low..=rtp_low + RTP_PORT_COUNT - 1;
        let dialplan = match &options.dialplan {
            Dialplan::Default => repo_root().join("dialplan/default.yaml"),
            Dialplan::Path(path) => path.clone(),
            Dialplan::Yaml(yaml) => {
                let path = dir.path().join("dialplan.yaml");
                std::fs::write(&path, yaml)
                    .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
                path
            }
        };
        let database_url = options
            .database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite:{}", dir.path().join("switchboard.db").display()));
        let mut args: Vec<OsString> = vec![
            "serve".into(),
            "--dialplan".into(),
            dialplan.into(),
            "--sip-listen".into(),
            sip.to_string().into(),
            "--public-address".into(),
            "127.0.0.1".into(),
            "--rtp-ports".into(),
            format!("{}-{}", rtp.start(), rtp.end()).into(),
            "--database-url".into(),
            database_url.into(),
            "--http-listen".into(),
            http.to_string().into(),
            "--log-format".into(),
            "text".into(),
        ];
        args.extend(options.extra_args.iter().map(OsString::from));
        let log_path = dir.path().join("server.log");
        let mut server = Self {
            process: None,
            dir: Some(dir),
            binary,
            args,
            env: options.env.clone(),
            sip,
            http,
            rtp,
            log_path,
        };
        server.spawn_and_wait()?;
        Ok(server)
    }

    /// The SIP address (UDP and TCP).
    pub fn sip_addr(&self) -> SocketAddr {
        self.sip
    }

    /// The HTTP API address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http
    }

    /// The RTP port range given to the server.
    pub fn rtp_ports(&self) -> RangeInclusive<u16> {
        self.rtp.clone()
    }

    /// The server's data directory (database, log, written dialplan).
    pub fn data_dir(&self) -> &Path {
        self.dir
            .as_ref()
            .map_or_else(|| Path::new("/nonexistent"), TempDir::path)
    }

    /// Returns everything the server has logged so far (all runs, separated by marker lines).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path)
            .unwrap_or_else(|e| format!("<cannot read {}: {e}>", self.log_path.display()))
    }

    /// Returns whether the server process is still running.
    pub fn is_running(&mut self) -> bool {
        self.process
            .as_mut()
            .is_some_and(|p| matches!(p.try_status(), Ok(None)))
    }

    /// Stops the server with SIGTERM and returns its exit status.
    ///
    /// Fails if the server needed SIGKILL after the grace period, since that is not a graceful stop.
    pub fn stop(&mut self) -> Result<ExitStatus> {
        let mut process = self
            .process
            .take()
            .ok_or_else(|| Error::new("stop() called on a server that is not running"))?;
        let (status, killed) = process.terminate(STOP_GRACE)?;
        if killed {
            return Err(Error::new(format!(
                "switchboard did not exit within {STOP_GRACE:?} of SIGTERM and was killed; log:\n{}",
                self.log()
            )));
        }
        Ok(status)
    }

    /// Starts the server again with the same ports, data directory and arguments.
    pub fn restart(&mut self) -> Result<()> {
        if self.process.is_some() {
            self.stop()?;
        }
        self.spawn_and_wait()
    }

    fn spawn_and_wait(&mut self) -> Result<()> {
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(|e| Error::io(format!("opening {}", self.log_path.display()), e))?;
        writeln!(
            log,
            "===== e2e harness: starting {} {:?}",
            self.binary.display(),
            self.args
        )
        .map_err(|e| Error::io("writing server log", e))?;
        let stderr: File = log
            .try_clone()
            .map_err(|e| Error::io("duplicating log handle", e))?;
        let mut command = Command::new(&self.binary);
        command
            .args(&self.args)
            .current_dir(self.data_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(stderr));
        if std::env::var_os("RUST_LOG").is_none() {
            command.env("RUST_LOG", "debug,sqlx=warn");
        }
        for (key, value) in &self.env {
            command.env(key, value);
        }
        self.process = Some(Process::spawn("switchboard", &mut command)?);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(process) = self.process.as_mut()
                && let Some(status) = process.try_status()?
            {
                self.process = None;
                return Err(Error::new(format!(
                    "switchboard exited with {status} before answering OPTIONS on {}; log:\n{}",
                    self.sip,
                    self.log()
                )));
            }
            if options_udp(self.sip, Duration::from_millis(250))?.is_some()
                && TcpStream::connect_timeout(&self.sip, Duration::from_millis(250)).is_ok()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::new(format!(
                    "switchboard did not answer OPTIONS over UDP (and accept TCP) on {} within {READY_TIMEOUT:?}; log:\n{}",
                    self.sip,
                    self.log()
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.terminate(STOP_GRACE);
        }
        if std::thread::panicking()
            && let Some(dir) = self.dir.take()
        {
            let kept = dir.keep();
            eprintln!(
                "===== switchboard log ({}) =====\n{}\n===== end of switchboard log; data kept in {} =====",
                self.log_path.display(),
                std::fs::read_to_string(&self.log_path).unwrap_or_default(),
                kept.display()
            );
        }
    }
}
