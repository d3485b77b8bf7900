//! Packet capture on the loopback interface with dumpcap, read back with tshark.
//!
//! Used to count RTP that actually flowed between sipp instances through the PBX. dumpcap needs
//! root or the capture capability, as on CI and on this machine.

use crate::error::{Error, Result};
use crate::process::Process;
use rustix::process::Signal;
use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// One captured UDP datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datagram {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// UDP payload length in bytes.
    pub payload_len: usize,
}

/// A running dumpcap on `lo`.
#[derive(Debug)]
pub struct Capture {
    process: Process,
    dir: TempDir,
    file: PathBuf,
}

impl Capture {
    /// Starts capturing packets matching the BPF `filter` (at most `max_duration`), and waits until
    /// dumpcap reports that it is capturing.
    pub fn start(filter: &str, max_duration: Duration) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("switchboard-e2e-capture-")
            .tempdir()
            .map_err(|e| Error::io("creating capture directory", e))?;
        let file = dir.path().join("capture.pcapng");
        let log_path = dir.path().join("dumpcap.log");
        let log = File::create(&log_path).map_err(|e| Error::io("creating dumpcap log", e))?;
        let mut command = Command::new("dumpcap");
        command
            .args(["-q", "-i", "lo", "-f", filter, "-a"])
            .arg(format!("duration:{}", max_duration.as_secs().max(1)))
            .arg("-w")
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log));
        let mut process = Process::spawn("dumpcap", &mut command)?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            if text.contains("File:") && file.exists() {
                break;
            }
            if let Some(status) = process.try_status()? {
                return Err(Error::new(format!(
                    "dumpcap exited with {status} before capturing: {text}"
                )));
            }
            if Instant::now() > deadline {
                return Err(Error::new(format!(
                    "dumpcap did not start capturing within 10 s: {text}"
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // The kernel filter is attached just after the message; give it a moment.
        std::thread::sleep(Duration::from_millis(300));
        Ok(Self { process, dir, file })
    }

    /// Stops the capture and returns every UDP datagram it holds.
    pub fn stop(mut self) -> Result<Vec<Datagram>> {
        // Let packets in flight reach the capture buffer.
        std::thread::sleep(Duration::from_millis(300));
        self.process.signal(Signal::INT)?;
        if self
            .process
            .wait_timeout(Duration::from_secs(10))?
            .is_none()
        {
            self.process.terminate(Duration::from_secs(2))?;
        }
        let output = Command::new("tshark")
            .arg("-r")
            .arg(&self.file)
            .args([
                "-T",
                "fields",
                "-e",
                "udp.srcport",
                "-e",
                "udp.dstport",
                "-e",
                "udp.length",
                "udp",
            ])
            .output()
            .map_err(|e| Error::io("running tshark", e))?;
        if !output.status.success() {
            return Err(Error::new(format!(
                "tshark could not read {}: {}",
                self.file.display(),
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        let _keep_dir_alive_until_read = &self.dir;
        Ok(parse_fields(&String::from_utf8_lossy(&output.stdout)))
    }
}

fn parse_fields(text: &str) -> Vec<Datagram> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let src_port = fields.next()?.trim().parse().ok()?;
            let dst_port = fields.next()?.trim().parse().ok()?;
            let udp_len: usize = fields.next()?.trim().parse().ok()?;
            Some(Datagram {
                src_port,
                dst_port,
                payload_len: udp_len.saturating_sub(8),
            })
        })
        .collect()
}

/// Counts datagrams sent from `port` whose payload is at least `min_payload` bytes.
pub fn count_from_port(datagrams: &[Datagram], port: u16, min_payload: usize) -> usize {
    datagrams
        .iter()
        .filter(|d| d.src_port == port && d.payload_len >= min_payload)
        .count()
}

/// Counts datagrams sent to `port` whose payload is at least `min_payload` bytes.
pub fn count_to_port(datagrams: &[Datagram], port: u16, min_payload: usize) -> usize {
    datagrams
        .iter()
        .filter(|d| d.dst_port == port && d.payload_len >= min_payload)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tshark_fields() {
        let parsed = parse_fields("1000\t2000\t260\nbad\n3\t4\t8\n");
        assert_eq!(
            parsed,
            vec![
                Datagram {
                    src_port: 1000,
                    dst_port: 2000,
                    payload_len: 252
                },
                Datagram {
                    src_port: 3,
                    dst_port: 4,
                    payload_len: 0
                }
            ]
        );
        assert_eq!(count_to_port(&parsed, 2000, 100), 1);
        assert_eq!(count_to_port(&parsed, 4, 1), 0);
    }
}
