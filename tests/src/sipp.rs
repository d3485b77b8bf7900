//! Running sipp scenarios from `tests/sipp/` against a server, in the foreground or the background.

use crate::binary::repo_root;
use crate::error::{Error, Result};
use crate::ports::{free_port, free_range};
use crate::process::Process;
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// The SIP transport sipp uses (`-t u1` or `-t t1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP, one socket.
    Udp,
    /// TCP, one connection.
    Tcp,
}

impl Transport {
    /// The name used in SIP (`UDP`/`TCP`).
    pub fn sip_name(self) -> &'static str {
        match self {
            Self::Udp => "UDP",
            Self::Tcp => "TCP",
        }
    }

    fn sipp_flag(self) -> &'static str {
        match self {
            Self::Udp => "u1",
            Self::Tcp => "t1",
        }
    }
}

/// Returns the path of a scenario in `tests/sipp/`, e.g. `scenario("register")`.
pub fn scenario(name: &str) -> PathBuf {
    repo_root().join("tests/sipp").join(format!("{name}.xml"))
}

/// A sipp invocation being assembled. Each instance gets its own SIP port and media ports.
#[derive(Debug, Clone)]
pub struct Sipp {
    scenario: PathBuf,
    remote: Option<SocketAddr>,
    transport: Transport,
    local_port: u16,
    media_port: u16,
    keys: Vec<(String, String)>,
    auth: Option<(String, String)>,
    service: Option<String>,
    timeout: Duration,
    calls: u32,
    rtp_echo: bool,
}

impl Sipp {
    /// Prepares scenario `tests/sipp/<name>.xml` with fresh ports, one call, UDP and a 30 s timeout.
    pub fn new(name: &str) -> Result<Self> {
        let scenario = scenario(name);
        if !scenario.is_file() {
            return Err(Error::new(format!(
                "sipp scenario {} does not exist",
                scenario.display()
            )));
        }
        Ok(Self {
            scenario,
            remote: None,
            transport: Transport::Udp,
            local_port: free_port()?,
            media_port: free_range(4)?,
            keys: Vec::new(),
            auth: None,
            service: None,
            timeout: Duration::from_secs(30),
            calls: 1,
            rtp_echo: false,
        })
    }

    /// Sends to `remote` (the server); required for scenarios that start by sending.
    pub fn remote(mut self, remote: SocketAddr) -> Self {
        self.remote = Some(remote);
        self
    }

    /// Selects the SIP transport.
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// Uses this local SIP port instead of the allocated one (e.g. to answer where a REGISTER came from).
    pub fn local_port(mut self, port: u16) -> Self {
        self.local_port = port;
        self
    }

    /// Sets `-key NAME VALUE`, substituted for `[NAME]` in the scenario's messages.
    pub fn key(mut self, name: &str, value: impl ToString) -> Self {
        self.keys.push((name.to_owned(), value.to_string()));
        self
    }

    /// Sets the digest credentials used by `[authentication]` (`-au`/`-ap`).
    pub fn auth(mut self, user: &str, password: &str) -> Self {
        self.auth = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// Sets `-s`, the user part substituted for `[service]` (the number dialled).
    pub fn service(mut self, service: &str) -> Self {
        self.service = Some(service.to_owned());
        self
    }

    /// Sets the global timeout (`-timeout`, with `-timeout_error`).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the number of calls (`-m`).
    pub fn calls(mut self, calls: u32) -> Self {
        self.calls = calls;
        self
    }

    /// Echoes RTP received on the media port back to its sender (`-rtp_echo`).
    pub fn rtp_echo(mut self) -> Self {
        self.rtp_echo = true;
        self
    }

    /// The SIP port sipp binds.
    pub fn sip_port(&self) -> u16 {
        self.local_port
    }

    /// The SIP address sipp binds.
    pub fn sip_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.local_port))
    }

    /// The RTP port sipp uses (`-mp`; sipp also uses this port + 2).
    pub fn media_port(&self) -> u16 {
        self.media_port
    }

    /// Runs sipp to completion (bounded by its timeout) and returns the outcome.
    pub fn run(self) -> Result<SippRun> {
        self.spawn()?.wait()
    }

    /// Starts sipp in the background and waits until it has bound its SIP port.
    pub fn spawn(self) -> Result<RunningSipp> {
        let dir = tempfile::Builder::new()
            .prefix("switchboard-e2e-sipp-")
            .tempdir()
            .map_err(|e| Error::io("creating sipp work directory", e))?;
        let name = self
            .scenario
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("scenario")
            .to_owned();
        let stdout = File::create(dir.path().join("stdout.log"))
            .map_err(|e| Error::io("creating sipp stdout log", e))?;
        let stderr = stdout
            .try_clone()
            .map_err(|e| Error::io("duplicating sipp log", e))?;
        let mut command = Command::new("sipp");
        if let Some(remote) = self.remote {
            command.arg(remote.to_string());
        }
        command
            .arg("-sf")
            .arg(&self.scenario)
            .args(["-i", "127.0.0.1", "-p"])
            .arg(self.local_port.to_string())
            .args(["-mi", "127.0.0.1", "-mp"])
            .arg(self.media_port.to_string())
            .args(["-t", self.transport.sipp_flag()])
            .args(["-m", &self.calls.to_string()])
            .args(["-nostdin", "-timeout_error", "-timeout"])
            .arg(self.timeout.as_secs().max(1).to_string())
            .args(["-trace_err", "-error_file"])
            .arg(dir.path().join("errors.log"))
            .args(["-trace_msg", "-message_file"])
            .arg(dir.path().join("messages.log"));
        if self.rtp_echo {
            command.arg("-rtp_echo");
        }
        if let Some((user, password)) = &self.auth {
            command.args(["-au", user, "-ap", password]);
        }
        if let Some(service) = &self.service {
            command.args(["-s", service]);
            // RFC 3261 §22.4: the digest `uri` must equal the Request-URI. sipp defaults it to
            // remote_ip:remote_port, which is right for REGISTER but not for an INVITE to a number.
            if let (Some(remote), Some(_)) = (self.remote, &self.auth) {
                command.args(["-auth_uri", &format!("{service}@{remote}")]);
            }
        }
        for (key, value) in &self.keys {
            command.args(["-key", key, value]);
        }
        command
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(stderr));
        let process = Process::spawn(format!("sipp {name}"), &mut command)?;
        let mut running = RunningSipp {
            process,
            dir,
            name,
            sip_port: self.local_port,
            media_port: self.media_port,
            transport: self.transport,
            timeout: self.timeout,
            started: Instant::now(),
        };
        running.wait_bound()?;
        Ok(running)
    }
}

/// A sipp process running in the background.
#[derive(Debug)]
pub struct RunningSipp {
    process: Process,
    dir: TempDir,
    name: String,
    sip_port: u16,
    media_port: u16,
    transport: Transport,
    timeout: Duration,
    started: Instant,
}

impl RunningSipp {
    /// Waits for sipp to exit (at most its own timeout plus a margin) and returns the outcome.
    pub fn wait(mut self) -> Result<SippRun> {
        let budget =
            (self.timeout + Duration::from_secs(10)).saturating_sub(self.started.elapsed());
        let status = match self.process.wait_timeout(budget)? {
            Some(status) => Some(status),
            None => {
                self.process.terminate(Duration::from_secs(2))?;
                None
            }
        };
        let screen = read_or_empty(&self.dir.path().join("stdout.log"));
        let mut errors = read_or_empty(&self.dir.path().join("errors.log"));
        if screen.contains("errno = 98") {
            // Address in use: say who holds the port, so a collision can be traced.
            errors.push_str(&format!(
                "\n--- sockets on port {} ---\n{}",
                self.sip_port,
                sockets_on_port(self.sip_port)
            ));
        }
        Ok(SippRun {
            name: self.name.clone(),
            exit_code: status.and_then(|s| s.code()),
            errors,
            messages: read_or_empty(&self.dir.path().join("messages.log")),
            screen,
        })
    }

    /// The SIP port this sipp is bound to.
    pub fn sip_port(&self) -> u16 {
        self.sip_port
    }

    /// The RTP port this sipp uses (`-mp`).
    pub fn media_port(&self) -> u16 {
        self.media_port
    }

    /// Waits until sipp's SIP port is in use (sipp has started listening), or sipp has exited.
    ///
    /// Reads `/proc/net/{udp,tcp}` rather than trying to bind the port: a probing bind could take the
    /// port in the instant sipp binds it and make sipp fail with "Address already in use".
    fn wait_bound(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if port_listening(self.transport, self.sip_port) || self.process.try_status()?.is_some()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::new(format!(
                    "sipp {} did not bind port {} within 10 s",
                    self.name, self.sip_port
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Returns whether a socket is bound to 127.0.0.1:`port` or 0.0.0.0:`port` (UDP), or listening
/// there (TCP), according to the kernel's socket tables.
fn port_listening(transport: Transport, port: u16) -> bool {
    let (table, state) = match transport {
        Transport::Udp => ("/proc/net/udp", None),
        Transport::Tcp => ("/proc/net/tcp", Some("0A")),
    };
    let Ok(text) = std::fs::read_to_string(table) else {
        return false;
    };
    let wanted = [
        format!("0100007F:{port:04X}"),
        format!("00000000:{port:04X}"),
    ];
    text.lines().skip(1).any(|line| {
        let mut fields = line.split_whitespace();
        let local = fields.nth(1).unwrap_or("");
        let st = fields.nth(1).unwrap_or("");
        wanted.iter().any(|w| w == local) && state.is_none_or(|s| s == st)
    })
}

/// The outcome of one sipp run: exit code and the logs it wrote.
#[derive(Debug, Clone)]
pub struct SippRun {
    /// Scenario name.
    pub name: String,
    /// Exit code: 0 every call succeeded, 1 some call failed, 97 timeout, 99 no call; `None` if killed.
    pub exit_code: Option<i32>,
    /// The unexpected-message log (`-trace_err`).
    pub errors: String,
    /// Every SIP message sent and received (`-trace_msg`).
    pub messages: String,
    /// sipp's screen output and final statistics.
    pub screen: String,
}

impl SippRun {
    /// Returns whether every call of the scenario succeeded (exit code 0).
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0)
    }

    /// Returns `Ok` when every call succeeded, or an error carrying the logs.
    pub fn expect_success(&self) -> Result<()> {
        if self.succeeded() {
            Ok(())
        } else {
            Err(Error::new(format!(
                "expected sipp {} to exit 0; {}",
                self.name,
                self.describe()
            )))
        }
    }

    /// Returns `Ok` when sipp exited with `code` (e.g. 1 for "a call failed"), or an error with the logs.
    pub fn expect_exit_code(&self, code: i32) -> Result<()> {
        if self.exit_code == Some(code) {
            Ok(())
        } else {
            Err(Error::new(format!(
                "expected sipp {} to exit {code}; {}",
                self.name,
                self.describe()
            )))
        }
    }

    /// A report of the exit code, unexpected messages and the message trace (truncated).
    pub fn describe(&self) -> String {
        format!(
            "sipp {} exited with {:?}\n--- unexpected messages ---\n{}\n--- message trace (last 12000 chars) ---\n{}\n--- screen (last 3000 chars) ---\n{}",
            self.name,
            self.exit_code,
            self.errors,
            tail(&self.messages, 12_000),
            tail(&self.screen, 3_000)
        )
    }
}

/// Lists the sockets bound to `port` with their processes (`ss`), for error reports.
fn sockets_on_port(port: u16) -> String {
    Command::new("ss")
        .args(["-Huatnp", &format!("sport = :{port}")])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_else(|e| format!("<ss failed: {e}>"))
}

fn read_or_empty(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
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

    /// The kernel's tables are read in pages and may miss an entry while other sockets come and go,
    /// so (like `wait_bound`) look a few times.
    fn eventually(check: impl Fn() -> bool) -> bool {
        (0..50).any(|_| {
            let seen = check();
            if !seen {
                std::thread::sleep(Duration::from_millis(20));
            }
            seen
        })
    }

    #[test]
    fn sees_bound_udp_and_listening_tcp_ports() {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        assert!(eventually(|| port_listening(Transport::Udp, port)));
        drop(udp);
        assert!(!port_listening(Transport::Udp, port));
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        assert!(eventually(|| port_listening(Transport::Tcp, port)));
        assert!(!port_listening(Transport::Udp, port));
    }
}
