//! In-band DTMF detection (Goertzel), for phones that negotiated no telephone-event.
//!
//! The signal is cut into blocks of 205 samples (25.6 ms at 8 kHz), and the power at the eight
//! DTMF frequencies is measured with the Goertzel algorithm. A block holds a digit when:
//! * the strongest row and column tones both exceed an absolute floor (about −36 dBFS each);
//! * the twist is within limits: the column tone at most 8 dB weaker (normal twist) and at most
//!   4 dB stronger (reverse twist) than the row tone;
//! * every other row / column tone is at least 8 dB below the strongest one;
//! * the two tones carry at least 70 % of the block's power (speech spreads its power wider);
//! * the second harmonic of the column tone is weak (voices are rich in harmonics).
//!
//! A digit is reported once it holds for two consecutive blocks (51 ms ≥ the 40 ms minimum) and
//! can be reported again only after two blocks without it.

use super::ReceivedDigit;

/// Samples per analysis block.
pub const BLOCK: usize = 205;

const ROWS: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
const COLS: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
const KEYS: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];

/// Mean-square power (in 16-bit sample units squared) below which a tone is not a DTMF tone:
/// a sine of amplitude 520 (about −36 dBFS).
const FLOOR: f64 = 520.0 * 520.0 / 2.0;

/// Allowed twist: the column tone may be 8 dB weaker or 4 dB stronger than the row tone.
const NORMAL_TWIST: f64 = 6.31; // 8 dB as a power ratio
const REVERSE_TWIST: f64 = 2.51; // 4 dB

/// Other tones of the same group must be this much weaker (8 dB as a power ratio).
const RELATIVE_PEAK: f64 = 6.31;

/// The two tones must carry this share of the block's power.
const TONE_SHARE: f64 = 0.7;

/// The column tone's second harmonic must be this much weaker (20 dB as a power ratio).
const HARMONIC: f64 = 100.0;

const SAMPLE_RATE: f64 = 8000.0;

/// The Goertzel powers of the eight DTMF frequencies (rows then columns) in one pass,
/// normalised to the mean-square power a sine of that frequency contributes (a sine of
/// amplitude A gives A²/2).
fn goertzel8(block: &[i16]) -> [f32; 8] {
    let coeff: [f32; 8] = std::array::from_fn(|i| {
        let f = if i < 4 { ROWS[i] } else { COLS[i - 4] };
        (2.0 * (2.0 * std::f64::consts::PI * f / SAMPLE_RATE).cos()) as f32
    });
    let mut s1 = [0f32; 8];
    let mut s2 = [0f32; 8];
    for x in block {
        let x = f32::from(*x);
        for k in 0..8 {
            let s0 = x + coeff[k] * s1[k] - s2[k];
            s2[k] = s1[k];
            s1[k] = s0;
        }
    }
    let n = block.len() as f32;
    std::array::from_fn(|k| {
        2.0 * (s1[k] * s1[k] + s2[k] * s2[k] - coeff[k] * s1[k] * s2[k]) / (n * n)
    })
}

/// The Goertzel power of one frequency, normalised like [`goertzel8`].
fn goertzel(block: &[i16], freq: f64) -> f64 {
    let coeff = 2.0 * (2.0 * std::f64::consts::PI * freq / SAMPLE_RATE).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for x in block {
        let s0 = f64::from(*x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let n = block.len() as f64;
    2.0 * (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (n * n)
}

/// Classifies one block: the digit it holds, if any.
pub fn classify(block: &[i16]) -> Option<char> {
    if block.is_empty() {
        return None;
    }
    let mean_square = block
        .iter()
        .map(|v| f64::from(*v) * f64::from(*v))
        .sum::<f64>()
        / block.len() as f64;
    // Two tones above the floor need at least this much power: skip quiet blocks cheaply.
    if mean_square < 1.5 * FLOOR {
        return None;
    }
    let powers = goertzel8(block).map(f64::from);
    let (rows, cols) = powers.split_at(4);
    let (ri, r) = strongest(rows);
    let (ci, c) = strongest(cols);
    if r < FLOOR || c < FLOOR {
        return None;
    }
    if c * NORMAL_TWIST < r || c > r * REVERSE_TWIST {
        return None;
    }
    let others_weak = |group: &[f64], best: usize, power: f64| {
        group
            .iter()
            .enumerate()
            .all(|(i, p)| i == best || p * RELATIVE_PEAK <= power)
    };
    if !others_weak(rows, ri, r) || !others_weak(cols, ci, c) {
        return None;
    }
    if r + c < TONE_SHARE * mean_square {
        return None;
    }
    if goertzel(block, 2.0 * COLS[ci]) * HARMONIC > c {
        return None;
    }
    Some(KEYS[ri][ci])
}

fn strongest(powers: &[f64]) -> (usize, f64) {
    powers.iter().copied().enumerate().fold(
        (0, 0.0),
        |best, (i, p)| if p > best.1 { (i, p) } else { best },
    )
}

/// Where a detector is in a press.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No digit.
    Idle,
    /// A digit held for `blocks` (< 2) blocks: not yet a press.
    Maybe { digit: char, blocks: u32 },
    /// A press of `digit`, held for `blocks` blocks, followed by `off` blocks without it.
    On { digit: char, blocks: u32, off: u32 },
}

/// A streaming in-band DTMF detector for one leg.
///
/// ```text
///   Idle ──digit d──▶ Maybe{d} ──d again──▶ On{d} ──2 blocks without d──▶ report d, Idle
///                        │ other / none            │ d again (after ≤ 1 dropout block): longer
///                        ▼                         ▼
///                  Maybe{other} / Idle
/// ```
#[derive(Debug, Clone)]
pub struct InbandDetector {
    pending: Vec<i16>,
    state: State,
}

impl Default for InbandDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl InbandDetector {
    /// Creates a detector that has heard nothing.
    pub fn new() -> Self {
        InbandDetector {
            pending: Vec::with_capacity(2 * BLOCK),
            state: State::Idle,
        }
    }

    /// Feeds samples (any length); returns the presses that ended in them, each with its
    /// duration. A press is reported two blocks (51 ms) after its tones stop.
    pub fn push(&mut self, samples: &[i16]) -> Vec<ReceivedDigit> {
        let mut done = Vec::new();
        self.pending.extend_from_slice(samples);
        let mut start = 0;
        while self.pending.len() - start >= BLOCK {
            let digit = classify(&self.pending[start..start + BLOCK]);
            start += BLOCK;
            done.extend(self.step(digit));
        }
        self.pending.drain(..start);
        done
    }

    fn step(&mut self, heard: Option<char>) -> Option<ReceivedDigit> {
        let fresh = match heard {
            Some(digit) => State::Maybe { digit, blocks: 1 },
            None => State::Idle,
        };
        let (next, report) = match self.state {
            State::Idle => (fresh, None),
            State::Maybe { digit, blocks } if heard == Some(digit) => (
                State::On {
                    digit,
                    blocks: blocks + 1,
                    off: 0,
                },
                None,
            ),
            State::Maybe { .. } => (fresh, None),
            State::On { digit, blocks, off } if heard == Some(digit) => (
                State::On {
                    digit,
                    blocks: blocks + off + 1,
                    off: 0,
                },
                None,
            ),
            State::On { digit, blocks, off } if off + 1 < 2 => (
                State::On {
                    digit,
                    blocks,
                    off: off + 1,
                },
                None,
            ),
            State::On { digit, blocks, .. } => (
                fresh,
                Some(ReceivedDigit {
                    digit,
                    duration_ms: blocks * BLOCK as u32 * 1000 / 8000,
                }),
            ),
        };
        self.state = next;
        report
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Two tones of `amp` each (the column tone `twist_db` dB weaker), `ms` long.
    pub(crate) fn dual_tone(digit: char, amp: f64, twist_db: f64, ms: u32) -> Vec<i16> {
        let (r, c) = KEYS
            .iter()
            .enumerate()
            .find_map(|(r, row)| row.iter().position(|k| *k == digit).map(|c| (r, c)))
            .unwrap();
        let col_amp = amp * 10f64.powf(-twist_db / 20.0);
        (0..ms * 8)
            .map(|i| {
                let t = f64::from(i) / 8000.0;
                let v = amp * (2.0 * std::f64::consts::PI * ROWS[r] * t).sin()
                    + col_amp * (2.0 * std::f64::consts::PI * COLS[c] * t).sin();
                v as i16
            })
            .collect()
    }

    /// A deterministic pseudo-random noise of the given RMS.
    pub(crate) fn noise(n: usize, rms: f64, seed: u64) -> Vec<i16> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                let u = crate::rtp::splitmix64(&mut state) as f64 / u64::MAX as f64;
                ((u - 0.5) * rms * 12f64.sqrt()) as i16
            })
            .collect()
    }

    fn detect(samples: &[i16]) -> String {
        let mut d = InbandDetector::new();
        let mut got: Vec<ReceivedDigit> = Vec::new();
        for chunk in samples.chunks(160) {
            got.extend(d.push(chunk));
        }
        got.extend(d.push(&vec![0; 3 * BLOCK]));
        got.iter().map(|g| g.digit).collect()
    }

    #[test]
    fn all_sixteen_digits_are_detected() {
        let mut signal = Vec::new();
        let keys = "123A456B789C*0#D";
        for k in keys.chars() {
            signal.extend(dual_tone(k, 4000.0, 0.0, 100));
            signal.extend(vec![0; 800]);
        }
        assert_eq!(detect(&signal), keys);
    }

    #[test]
    fn durations_are_measured() {
        let mut d = InbandDetector::new();
        let mut got = d.push(&dual_tone('5', 4000.0, 0.0, 200));
        got.extend(d.push(&vec![0; 1000]));
        assert_eq!(got.len(), 1);
        assert!((180..=230).contains(&got[0].duration_ms), "{:?}", got[0]);
    }

    #[test]
    fn short_tones_and_weak_tones_are_ignored() {
        assert_eq!(detect(&dual_tone('1', 4000.0, 0.0, 30)), "");
        assert_eq!(detect(&dual_tone('1', 300.0, 0.0, 200)), "");
    }

    #[test]
    fn twist_limits() {
        assert_eq!(detect(&dual_tone('9', 4000.0, 6.0, 100)), "9");
        assert_eq!(detect(&dual_tone('9', 4000.0, -3.0, 100)), "9");
        assert_eq!(detect(&dual_tone('9', 4000.0, 11.0, 100)), "");
        assert_eq!(detect(&dual_tone('9', 4000.0, -7.0, 100)), "");
    }

    #[test]
    fn digits_survive_moderate_noise() {
        let tone = dual_tone('#', 3000.0, 0.0, 120);
        let n = noise(tone.len(), 300.0, 7);
        let mixed: Vec<i16> = tone
            .iter()
            .zip(&n)
            .map(|(a, b)| a.saturating_add(*b))
            .collect();
        assert_eq!(detect(&mixed), "#");
    }

    #[test]
    fn noise_and_single_tones_are_not_digits() {
        assert_eq!(detect(&noise(8000, 3000.0, 1)), "");
        let single: Vec<i16> = (0..8000)
            .map(|i| {
                (5000.0 * (2.0 * std::f64::consts::PI * 770.0 * f64::from(i) / 8000.0).sin()) as i16
            })
            .collect();
        assert_eq!(detect(&single), "");
    }

    #[test]
    fn a_short_dropout_does_not_split_a_press() {
        // 7.5 ms of silence (a lost packet concealed badly) inside one analysis block.
        let mut s = dual_tone('7', 4000.0, 0.0, 120);
        s.extend(vec![0; 60]);
        s.extend(dual_tone('7', 4000.0, 0.0, 120));
        assert_eq!(detect(&s), "7");
    }

    #[test]
    fn the_same_digit_twice_with_a_pause_is_two_presses() {
        let mut s = dual_tone('0', 4000.0, 0.0, 100);
        s.extend(vec![0; 800]);
        s.extend(dual_tone('0', 4000.0, 0.0, 100));
        assert_eq!(detect(&s), "00");
    }
}
