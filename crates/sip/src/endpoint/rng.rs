//! The generator for branches, tags and Call-IDs: ChaCha20 (a CSPRNG).
//!
//! These values must be impossible to predict for an off-path attacker: one
//! To tag in a 401 must not reveal the next branch or Call-ID. The generator
//! never reads the OS itself (no crate below `server` does): the driver seeds
//! it with 32 bytes of OS randomness of its own, tests with a constant so
//! runs repeat exactly.

use chacha20::ChaCha20Rng;
use rand_core::{Rng as _, SeedableRng};

/// A seeded ChaCha20 generator.
pub struct Rng {
    inner: ChaCha20Rng,
}

impl std::fmt::Debug for Rng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The state is secret: never print it.
        f.write_str("Rng(ChaCha20)")
    }
}

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Bits of entropy per character of [`Rng::token`].
pub const TOKEN_BITS_PER_CHAR: usize = 5;

impl Rng {
    /// A generator from a full 32-byte seed (the driver draws it from the OS).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Rng {
            inner: ChaCha20Rng::from_seed(seed),
        }
    }

    /// A deterministic generator from a small seed, for tests and simulations.
    pub fn new(seed: u64) -> Self {
        Rng::from_seed(super::seed_from_u64(seed))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// A uniform value in `0..n` (`n` > 0), without modulo bias.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0)");
        // Reject the top partial block so every value is equally likely.
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let v = self.next_u64();
            if v < zone {
                return v % n;
            }
        }
    }

    /// `len` characters from `[a-z2-7]` (5 uniform bits each), valid in
    /// tokens, branches and Call-IDs.
    pub fn token(&mut self, len: usize) -> String {
        let mut out = String::with_capacity(len);
        let mut bits = 0u64;
        let mut left = 0;
        for _ in 0..len {
            if left == 0 {
                bits = self.next_u64();
                left = 64 / TOKEN_BITS_PER_CHAR; // 12 draws of 5 bits from 64 bits
            }
            out.push(ALPHABET[(bits & 31) as usize] as char);
            bits >>= TOKEN_BITS_PER_CHAR;
            left -= 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_different_seed_different() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let mut c = Rng::new(8);
        let ta = a.token(16);
        assert_eq!(ta, b.token(16));
        assert_ne!(ta, c.token(16));
        assert_eq!(ta.len(), 16);
        assert!(ta.chars().all(|ch| ch.is_ascii_alphanumeric()));
        let many: std::collections::HashSet<String> = (0..1000).map(|_| a.token(10)).collect();
        assert_eq!(many.len(), 1000);
    }

    #[test]
    fn full_seeds_differ_in_any_byte() {
        let mut s = [0u8; 32];
        let first = Rng::from_seed(s).next_u64();
        s[31] = 1;
        assert_ne!(first, Rng::from_seed(s).next_u64());
    }

    #[test]
    fn tokens_use_every_letter_evenly() {
        let mut r = Rng::new(1);
        let mut counts = [0u32; 32];
        for ch in r.token(32_000).bytes() {
            counts[ALPHABET.iter().position(|a| *a == ch).unwrap()] += 1;
        }
        // 1000 expected per letter; a fair generator stays well within 20%.
        assert!(counts.iter().all(|n| (800..1200).contains(n)), "{counts:?}");
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = Rng::new(3);
        assert!((0..1000).all(|_| r.below(7) < 7));
        assert_eq!(r.below(1), 0);
    }
}
