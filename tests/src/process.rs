//! A child process that is terminated when dropped, with bounded waits and signals.

use crate::error::{Error, Result};
use rustix::process::{Pid, Signal, kill_process};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// A spawned program that is stopped (SIGTERM, then SIGKILL) when dropped.
#[derive(Debug)]
pub struct Process {
    name: String,
    child: Child,
    status: Option<ExitStatus>,
}

impl Process {
    /// Spawns `command`, naming it `name` in error messages.
    pub fn spawn(name: impl Into<String>, command: &mut Command) -> Result<Self> {
        let name = name.into();
        let child = command
            .spawn()
            .map_err(|e| Error::io(format!("spawning {name} ({command:?})"), e))?;
        Ok(Self {
            name,
            child,
            status: None,
        })
    }

    /// Takes the child's stdin pipe (present when the command was spawned with `Stdio::piped()`).
    pub fn take_stdin(&mut self) -> Option<std::process::ChildStdin> {
        self.child.stdin.take()
    }

    /// Returns the operating-system process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Returns the exit status if the process has exited, without blocking.
    pub fn try_status(&mut self) -> Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = self
                .child
                .try_wait()
                .map_err(|e| Error::io(format!("polling {}", self.name), e))?;
        }
        Ok(self.status)
    }

    /// Waits up to `timeout` for the process to exit and returns its status, or `None` on timeout.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_status()? {
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `signal` to the process if it is still running.
    pub fn signal(&mut self, signal: Signal) -> Result<()> {
        if self.try_status()?.is_some() {
            return Ok(());
        }
        let raw =
            i32::try_from(self.child.id()).map_err(|_| Error::new("process id out of range"))?;
        let pid =
            Pid::from_raw(raw).ok_or_else(|| Error::new(format!("{} has pid 0", self.name)))?;
        match kill_process(pid, signal) {
            Ok(()) => Ok(()),
            // Exited between the poll and the signal.
            Err(rustix::io::Errno::SRCH) => Ok(()),
            Err(e) => Err(Error::new(format!("signalling {}: {e}", self.name))),
        }
    }

    /// Sends SIGTERM and waits up to `grace` for a clean exit; then sends SIGKILL.
    ///
    /// Returns the exit status and whether the process had to be killed.
    pub fn terminate(&mut self, grace: Duration) -> Result<(ExitStatus, bool)> {
        self.signal(Signal::TERM)?;
        if let Some(status) = self.wait_timeout(grace)? {
            return Ok((status, false));
        }
        self.child
            .kill()
            .map_err(|e| Error::io(format!("killing {}", self.name), e))?;
        let status = self
            .child
            .wait()
            .map_err(|e| Error::io(format!("reaping {}", self.name), e))?;
        self.status = Some(status);
        Ok((status, true))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // Errors cannot be reported from drop; the process is gone or unreachable either way.
        let _ = self.terminate(Duration::from_secs(5));
    }
}
