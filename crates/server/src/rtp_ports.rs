//! The RTP port pool the PBX allocates from, without the ports another program
//! already holds: each even port of `--rtp-ports` (and its RTCP neighbour) is
//! bound once at start-up and released, so a call is never given a port whose
//! bind would fail and leave it silent.

use pbx::PortPool;
use std::net::{IpAddr, SocketAddr, UdpSocket};

/// The pool of `low..=high` on `ip` (handing ports out in an order drawn from `seed`), and
/// the even ports left out because they (or the odd port after them) could not be bound,
/// lowest first.
pub fn usable(ip: IpAddr, low: u16, high: u16, seed: [u8; 32]) -> (PortPool, Vec<u16>) {
    let mut taken = Vec::new();
    let pool = PortPool::new(low, high, seed).retain(|port| {
        let free = [port, port.wrapping_add(1)]
            .iter()
            .all(|p| UdpSocket::bind(SocketAddr::new(ip, *p)).is_ok());
        if !free {
            taken.push(port);
        }
        free
    });
    taken.sort_unstable();
    (pool, taken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_held_by_another_socket_are_left_out() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        // Find a free even/odd pair, hold its odd port, and ask for a pool around it.
        let (low, holder) = (20_000u16..60_000)
            .step_by(2)
            .find_map(|p| {
                let even = UdpSocket::bind((ip, p)).ok()?;
                let odd = UdpSocket::bind((ip, p + 1)).ok()?;
                drop(even);
                Some((p, odd))
            })
            .expect("a free port pair on loopback");
        let (pool, taken) = usable(ip, low, low + 1, [0; 32]);
        assert_eq!(taken, [low], "the pair whose RTCP port is held is left out");
        assert_eq!(pool.capacity(), 0);
        drop(holder);
        let (pool, taken) = usable(ip, low, low + 1, [0; 32]);
        assert!(taken.is_empty());
        assert_eq!(pool.capacity(), 1);
    }
}
