//! RTP port allocation from the `--rtp-ports` range: even ports only (RTP
//! on even, RTCP on the next odd port, RFC 3550 §11), reused least
//! recently, so a port just released is not handed straight back while
//! stray packets for the old call may still arrive.

use std::collections::VecDeque;

/// A pool of even RTP ports.
#[derive(Debug, Clone)]
pub struct PortPool {
    free: VecDeque<u16>,
    size: usize,
}

impl PortPool {
    /// All even ports in `low..=high`.
    pub fn new(low: u16, high: u16) -> Self {
        let start = low + (low % 2);
        let free: VecDeque<u16> = (start..=high.saturating_sub(1)).step_by(2).collect();
        let size = free.len();
        PortPool { free, size }
    }

    /// Keeps only the ports for which `usable` says yes (the server leaves out ports another
    /// program holds).
    pub fn retain(mut self, mut usable: impl FnMut(u16) -> bool) -> Self {
        self.free.retain(|p| usable(*p));
        self.size = self.free.len();
        self
    }

    /// Takes a port, or `None` when all are in use.
    pub fn allocate(&mut self) -> Option<u16> {
        self.free.pop_front()
    }

    /// Gives a port back (it goes to the end of the queue).
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

    #[test]
    fn even_ports_reused_last() {
        let mut p = PortPool::new(10001, 10006);
        assert_eq!(p.capacity(), 2);
        let a = p.allocate().unwrap();
        let b = p.allocate().unwrap();
        assert_eq!((a, b), (10002, 10004));
        assert_eq!(p.allocate(), None);
        p.release(a);
        p.release(a);
        assert_eq!(p.available(), 1);
        assert_eq!(p.allocate(), Some(a));
    }
}
