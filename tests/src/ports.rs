//! Free port allocation on 127.0.0.1 that is safe across parallel tests.
//!
//! Ports are handed out from the range 20000–31999, below Linux's ephemeral range (32768+), so a
//! socket bound to port 0 elsewhere never collides with them. The range is cut into blocks; a process
//! claims a block by taking an exclusive `flock` on `/tmp/switchboard-e2e-ports/block-N.lock` (the
//! kernel releases it when the process dies, so a crashed test never leaks a block) and then hands out
//! ports of that block under a process-wide mutex. Every port is checked by binding it on UDP and TCP
//! (TCP also without `SO_REUSEADDR`) before it is returned, so a port used by some unrelated program,
//! or one whose TCP connection from an earlier test process still lingers in TIME_WAIT, is skipped.

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::sync::Mutex;

const RANGE_START: u16 = 20_000;
const BLOCK_SIZE: u16 = 400;
const BLOCK_COUNT: u16 = 30;

struct Allocator {
    /// Lock files of claimed blocks; kept open so the locks stay held for the life of the process.
    held: Vec<File>,
    /// Current block start and the next offset to hand out.
    current: Option<(u16, u16)>,
    /// Pseudo-random state used to pick blocks so that parallel processes spread out.
    rng: u64,
}

static ALLOCATOR: Mutex<Option<Allocator>> = Mutex::new(None);

/// Returns one port that is free on 127.0.0.1 for both UDP and TCP.
pub fn free_port() -> Result<u16> {
    free_range(1)
}

/// Returns the first of `count` consecutive ports that are all free on 127.0.0.1 for UDP and TCP.
///
/// Use it for RTP ranges, for sipp's media ports (it uses the port and the port + 2) and for
/// baresip, which binds TLS on its SIP port + 1.
pub fn free_range(count: u16) -> Result<u16> {
    if count == 0 || count > BLOCK_SIZE / 2 {
        return Err(Error::new(format!(
            "port range of {count} ports requested; expected 1..={}",
            BLOCK_SIZE / 2
        )));
    }
    let mut guard = ALLOCATOR
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let allocator = guard.get_or_insert_with(|| Allocator {
        held: Vec::new(),
        current: None,
        rng: seed(),
    });
    // Bounded: each block is tried once per call at most.
    for _ in 0..=BLOCK_COUNT {
        if let Some((start, offset)) = allocator.current {
            let mut offset = offset;
            while offset + count <= BLOCK_SIZE {
                let first = start + offset;
                if (first..first + count).all(port_is_free) {
                    allocator.current = Some((start, offset + count));
                    return Ok(first);
                }
                offset += 1;
            }
        }
        let block = allocator.claim_block()?;
        // Start somewhere in the block's first half, so the next owner of a block does not hand out
        // exactly the ports its previous owner just used.
        let offset = (allocator.next_random() % u64::from(BLOCK_SIZE / 2)) as u16;
        allocator.current = Some((block, offset));
    }
    Err(Error::new(format!(
        "no run of {count} free ports found in any claimable block"
    )))
}

impl Allocator {
    fn claim_block(&mut self) -> Result<u16> {
        let dir = lock_dir();
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let first_choice = (self.next_random() % u64::from(BLOCK_COUNT)) as u16;
        for step in 0..BLOCK_COUNT {
            let block = (first_choice + step) % BLOCK_COUNT;
            let start = RANGE_START + block * BLOCK_SIZE;
            if self.current.is_some_and(|(current, _)| current == start) {
                continue;
            }
            let path = dir.join(format!("block-{block}.lock"));
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
            if file.try_lock().is_ok() {
                self.held.push(file);
                return Ok(start);
            }
        }
        Err(Error::new(format!(
            "all {BLOCK_COUNT} port blocks under {} are locked by other test processes",
            dir.display()
        )))
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn lock_dir() -> PathBuf {
    std::env::temp_dir().join("switchboard-e2e-ports")
}

fn seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    (u64::from(std::process::id()) << 32) ^ nanos | 1
}

fn port_is_free(port: u16) -> bool {
    let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
    UdpSocket::bind(addr).is_ok() && TcpListener::bind(addr).is_ok() && tcp_bind_without_reuse(addr)
}

/// Binds a TCP socket without `SO_REUSEADDR` (which std's `TcpListener` sets): that fails while an
/// earlier connection on the port lingers in TIME_WAIT, as sipp's own listening socket would.
fn tcp_bind_without_reuse(addr: SocketAddrV4) -> bool {
    use rustix::net::{AddressFamily, SocketType, bind, socket};
    socket(AddressFamily::INET, SocketType::STREAM, None).is_ok_and(|fd| bind(&fd, &addr).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_unique_and_bindable() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..50 {
            let port = free_port().unwrap();
            assert!(seen.insert(port), "port {port} handed out twice");
            assert!(port_is_free(port), "port {port} is not bindable");
        }
        let first = free_range(40).unwrap();
        for port in first..first + 40 {
            assert!(
                !seen.contains(&port),
                "range overlaps an earlier port {port}"
            );
        }
    }
}
