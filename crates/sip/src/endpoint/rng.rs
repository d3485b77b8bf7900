//! A small seeded generator (SplitMix64) for branches, tags and Call-IDs.
//!
//! These values must be unique and hard to guess for an off-path attacker,
//! not cryptographically secret; the driver seeds the generator from the OS
//! once, tests seed it with a constant so runs repeat exactly.

/// SplitMix64 (Steele, Lea and Flood), a fast generator with a 64-bit state.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

impl Rng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `len` characters from `[a-z0-9]`, valid in tokens, branches and Call-IDs.
    pub fn token(&mut self, len: usize) -> String {
        let mut out = String::with_capacity(len);
        let mut bits = 0u64;
        let mut left = 0;
        for _ in 0..len {
            if left == 0 {
                bits = self.next_u64();
                left = 10; // 10 draws of 6 bits from 64 bits
            }
            // 64 values folded onto 36 letters: a slight bias is acceptable here.
            out.push(ALPHABET[((bits & 63) % 36) as usize] as char);
            bits >>= 6;
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
}
