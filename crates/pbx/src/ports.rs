//! RTP port allocation from the `--rtp-ports` range: even ports only (RTP
//! on even, RTCP on the next odd port, RFC 3550 §11), handed out in an
//! unpredictable order (one call must not reveal the next call's ports), and
//! a port just released is not handed straight back while stray packets for
//! the old call may still arrive.
//!
//! The order comes from a ChaCha20 generator seeded by the server with OS
//! randomness (this crate reads no OS random generator); tests pass a
//! constant seed so runs repeat.

use sip::endpoint::Rng;
use std::collections::VecDeque;

/// A pool of even RTP ports.
#[derive(Debug)]
pub struct PortPool {
    /// Free ports, least recently released first.
    free: VecDeque<u16>,
    size: usize,
    rng: Rng,
}

impl PortPool {
    /// All even ports in `low..=high`, in an order drawn from `seed`.
    pub fn new(low: u16, high: u16, seed: [u8; 32]) -> Self {
        let start = low + (low % 2);
        let mut ports: Vec<u16> = (start..=high.saturating_sub(1)).step_by(2).collect();
        let mut rng = Rng::from_seed(seed);
        // Fisher-Yates.
        for i in (1..ports.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            ports.swap(i, j);
        }
        let size = ports.len();
        PortPool {
            free: ports.into(),
            size,
            rng,
        }
    }

    /// Keeps only the ports for which `usable` says yes (the server leaves out ports another
    /// program holds).
    pub fn retain(mut self, mut usable: impl FnMut(u16) -> bool) -> Self {
        self.free.retain(|p| usable(*p));
        self.size = self.free.len();
        self
    }

    /// Takes a port, or `None` when all are in use: a random one of the
    /// older half of the free ports (so neither the next port nor a port
    /// just released is predictable or reused at once).
    pub fn allocate(&mut self) -> Option<u16> {
        if self.free.is_empty() {
            return None;
        }
        let older = self.free.len().div_ceil(2);
        let i = self.rng.below(older as u64) as usize;
        self.free.remove(i)
    }

    /// Gives a port back (it goes behind every other free port).
    pub fn release(&mut self, port: u16) {
        if !self.free.contains(&port) {
            self.free.push_back(port);
        }
    }

    /// How many ports are free.
    pub fn available(&self) -> usize {
        self.free.len()
    }

    /// How many ports the pool holds in all.
    pub fn capacity(&self) -> usize {
        self.size
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sip::endpoint::seed_from_u64;
    use std::collections::HashSet;

    #[test]
    fn even_ports_reused_last() {
        let mut p = PortPool::new(10001, 10006, seed_from_u64(1));
        assert_eq!(p.capacity(), 2);
        let a = p.allocate().unwrap();
        let b = p.allocate().unwrap();
        let mut both = [a, b];
        both.sort_unstable();
        assert_eq!(both, [10002, 10004]);
        assert_eq!(p.allocate(), None);
        p.release(a);
        p.release(a);
        assert_eq!(p.available(), 1);
        assert_eq!(p.allocate(), Some(a));
    }

    #[test]
    fn order_is_not_sequential_and_depends_on_the_seed() {
        let order = |seed| {
            let mut p = PortPool::new(10000, 10999, seed_from_u64(seed));
            (0..20).map(|_| p.allocate().unwrap()).collect::<Vec<_>>()
        };
        let a = order(7);
        assert_eq!(a, order(7), "the same seed repeats");
        assert_ne!(a, order(8), "another seed, another order");
        let steps = a.windows(2).filter(|w| w[1] == w[0] + 2).count();
        assert!(steps < 3, "ports follow one another: {a:?}");
        assert!(a.iter().all(|p| p % 2 == 0 && (10000..10999).contains(p)));
    }

    #[test]
    fn held_ports_are_never_handed_out_twice() {
        let mut p = PortPool::new(20000, 20099, seed_from_u64(3));
        assert_eq!(p.capacity(), 50);
        let mut held: HashSet<u16> = HashSet::new();
        let mut rng = Rng::new(9);
        for _ in 0..5000 {
            if rng.below(2) == 0 {
                match p.allocate() {
                    Some(port) => assert!(held.insert(port), "{port} handed out twice"),
                    None => assert_eq!(held.len(), 50),
                }
            } else if let Some(&port) = held.iter().next() {
                held.remove(&port);
                p.release(port);
            }
            assert_eq!(p.available() + held.len(), 50);
        }
    }

    #[test]
    fn a_released_port_is_not_handed_straight_back() {
        let mut p = PortPool::new(30000, 30199, seed_from_u64(5));
        for _ in 0..200 {
            let port = p.allocate().unwrap();
            p.release(port);
            let next = p.allocate().unwrap();
            assert_ne!(next, port);
            p.release(next);
        }
    }
}
