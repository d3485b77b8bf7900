//! Deciding whether a recording contains a reference signal, by normalised cross-correlation.
//!
//! The reference is cut into chunks (0.5 s by default). Each chunk is slid over the whole recording
//! with an FFT, and its best normalised correlation (cosine similarity against the recording window
//! of equal length) is its score. Chunking tolerates the time shifts a jitter buffer introduces and
//! recordings that hold only part of the reference. Quiet chunks of the reference are skipped.

use crate::audio::Audio;
use rustfft::FftPlanner;
use rustfft::num_complex::Complex;

/// Score at or above which a chunk counts as present in the recording.
pub const MATCH_THRESHOLD: f32 = 0.7;

/// The result of comparing a reference against a recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Similarity {
    /// Best normalised correlation of each non-quiet reference chunk, in order.
    pub chunk_scores: Vec<f32>,
    /// Number of chunks scoring at least [`MATCH_THRESHOLD`].
    pub matched: usize,
}

impl Similarity {
    /// The highest chunk score (0 when no chunk was scored).
    pub fn best(&self) -> f32 {
        self.chunk_scores.iter().copied().fold(0.0, f32::max)
    }

    /// Seconds of reference audio found in the recording.
    pub fn matched_seconds(&self, chunk_seconds: f32) -> f32 {
        self.matched as f32 * chunk_seconds
    }
}

impl std::fmt::Display for Similarity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of {} chunks matched (best {:.3}); scores [",
            self.matched,
            self.chunk_scores.len(),
            self.best()
        )?;
        for (i, score) in self.chunk_scores.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{score:.2}")?;
        }
        f.write_str("]")
    }
}

/// Compares `reference` against `recording` in chunks of `chunk_seconds`.
///
/// Both must have the same sample rate; otherwise every score is 0.
pub fn similarity(reference: &Audio, recording: &Audio, chunk_seconds: f32) -> Similarity {
    let chunk_len = ((chunk_seconds * reference.rate as f32) as usize).max(1);
    if reference.rate != recording.rate || recording.samples.len() < chunk_len {
        return Similarity {
            chunk_scores: Vec::new(),
            matched: 0,
        };
    }
    let rec = &recording.samples;
    let fft_len = (rec.len() + chunk_len).next_power_of_two();
    let mut planner = FftPlanner::<f32>::new();
    let forward = planner.plan_fft_forward(fft_len);
    let inverse = planner.plan_fft_inverse(fft_len);

    let mut rec_spectrum: Vec<Complex<f32>> = rec.iter().map(|&s| Complex::new(s, 0.0)).collect();
    rec_spectrum.resize(fft_len, Complex::new(0.0, 0.0));
    forward.process(&mut rec_spectrum);

    // Prefix sums of squared samples give each window's energy in O(1).
    let mut energy_prefix = Vec::with_capacity(rec.len() + 1);
    energy_prefix.push(0.0f64);
    for &s in rec {
        let last = *energy_prefix.last().unwrap_or(&0.0);
        energy_prefix.push(last + f64::from(s) * f64::from(s));
    }

    let mut chunk_scores = Vec::new();
    for chunk in reference.samples.chunks_exact(chunk_len) {
        let chunk_energy: f64 = chunk.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
        // Skip chunks quieter than about −46 dBFS RMS: pauses carry no identity.
        if chunk_energy / (chunk_len as f64) < 2.5e-5 {
            continue;
        }
        let mut spectrum: Vec<Complex<f32>> = chunk.iter().map(|&s| Complex::new(s, 0.0)).collect();
        spectrum.resize(fft_len, Complex::new(0.0, 0.0));
        forward.process(&mut spectrum);
        // Cross-correlation: IFFT(REC * conj(CHUNK)); index k is the lag of the chunk into the recording.
        for (c, r) in spectrum.iter_mut().zip(&rec_spectrum) {
            *c = r * c.conj();
        }
        inverse.process(&mut spectrum);
        let scale = 1.0 / fft_len as f64;
        let mut best = 0.0f64;
        for lag in 0..=(rec.len() - chunk_len) {
            let window_energy = energy_prefix[lag + chunk_len] - energy_prefix[lag];
            if window_energy <= chunk_energy * 1e-4 {
                continue;
            }
            let dot = f64::from(spectrum[lag].re) * scale;
            let score = dot / (chunk_energy.sqrt() * window_energy.sqrt());
            if score > best {
                best = score;
            }
        }
        chunk_scores.push(best as f32);
    }
    let matched = chunk_scores
        .iter()
        .filter(|&&s| s >= MATCH_THRESHOLD)
        .count();
    Similarity {
        chunk_scores,
        matched,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::party_signal;

    #[test]
    fn finds_a_shifted_copy_and_rejects_other_noise() {
        let reference = party_signal(7, 3.0);
        let mut samples = vec![0.0f32; 1234];
        samples.extend(reference.samples.iter().map(|s| s * 0.3));
        let recording = Audio {
            rate: reference.rate,
            samples,
        };
        let same = similarity(&reference, &recording, 0.5);
        assert!(same.matched >= 5, "expected the copy to match: {same}");
        let other = similarity(&party_signal(8, 3.0), &recording, 0.5);
        assert_eq!(other.matched, 0, "unrelated noise matched: {other}");
        assert!(other.best() < 0.2, "unrelated noise scored high: {other}");
    }

    #[test]
    fn silence_matches_nothing() {
        let reference = party_signal(3, 2.0);
        let recording = Audio {
            rate: reference.rate,
            samples: vec![0.0; 16_000],
        };
        assert_eq!(similarity(&reference, &recording, 0.5).matched, 0);
    }
}
