//! Locating (and building, when needed) the `switchboard` binary under test.
//!
//! `CARGO_BIN_EXE_switchboard` only exists inside the `switchboard` package, so the harness finds the
//! binary itself: `SWITCHBOARD_BIN` wins when set; otherwise it runs `cargo build -p switchboard --bin
//! switchboard` into the target directory of the running test executable, once per process.

use crate::error::{Error, Result};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Upper bound for building the server from scratch on a 2-core machine.
const BUILD_TIMEOUT: Duration = Duration::from_secs(1200);

/// Returns the repository root (the parent of the `tests/` package).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// Returns the path of the `switchboard` binary, building it on first use in this process.
pub fn switchboard_binary() -> Result<PathBuf> {
    static BINARY: OnceLock<Result<PathBuf>> = OnceLock::new();
    BINARY.get_or_init(locate).clone()
}

fn locate() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("SWITCHBOARD_BIN") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(Error::new(format!(
                "SWITCHBOARD_BIN={} is not a file",
                path.display()
            )))
        };
    }
    let exe = std::env::current_exe().map_err(|e| Error::io("locating the test executable", e))?;
    // target/<profile>/deps/<test-exe>
    let profile_dir = exe.parent().and_then(Path::parent).ok_or_else(|| {
        Error::new(format!(
            "test executable {} is not under target/<profile>/deps",
            exe.display()
        ))
    })?;
    let target_dir = profile_dir.parent().ok_or_else(|| {
        Error::new(format!(
            "{} has no parent target directory",
            profile_dir.display()
        ))
    })?;
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("debug");
    let binary = profile_dir.join("switchboard");
    build(target_dir, profile, &binary)
}

fn build(target_dir: &Path, profile: &str, binary: &Path) -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "-p", "switchboard", "--bin", "switchboard"])
        .current_dir(repo_root())
        .env("CARGO_TARGET_DIR", target_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    match profile {
        "debug" => {}
        "release" => {
            command.arg("--release");
        }
        other => {
            command.args(["--profile", other]);
        }
    }
    let mut child = command
        .spawn()
        .map_err(|e| Error::io(format!("running {command:?}"), e))?;
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| Error::new("cargo stderr not captured"))?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Under `cargo test` the parent cargo may hold the build-directory lock for the whole run; a nested
    // build would then wait forever. Nextest runs test binaries without holding it, so there a blocked
    // build is just another test process building first, and waiting is right.
    let under_nextest = std::env::var_os("NEXTEST").is_some();
    let deadline = Instant::now() + BUILD_TIMEOUT;
    let mut log = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                let blocked = line.contains("Blocking waiting for file lock");
                log.push(line);
                if blocked && !under_nextest {
                    let _ = child.kill();
                    let _ = child.wait();
                    return if binary.is_file() {
                        Ok(binary.to_path_buf())
                    } else {
                        Err(Error::new(format!(
                            "the build directory is locked by the running cargo and {} does not exist; run \
                             `cargo build -p switchboard` first or set SWITCHBOARD_BIN",
                            binary.display()
                        )))
                    };
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = child
                    .wait()
                    .map_err(|e| Error::io("waiting for cargo build", e))?;
                return if status.success() && binary.is_file() {
                    Ok(binary.to_path_buf())
                } else {
                    Err(Error::new(format!(
                        "building switchboard failed ({status}); expected {}:\n{}",
                        binary.display(),
                        log.join("\n")
                    )))
                };
            }
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::new(format!(
                "building switchboard took longer than {BUILD_TIMEOUT:?}"
            )));
        }
    }
}
