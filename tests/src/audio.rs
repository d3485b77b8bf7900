//! 16-bit mono WAV files and distinct test signals for "did each side hear the other" checks.

use crate::error::{Error, Result};
use std::path::Path;

/// Sample rate of every test signal (narrowband telephony).
pub const SAMPLE_RATE: u32 = 8000;

/// Mono audio as floating-point samples in [-1, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Samples per second.
    pub rate: u32,
    /// The samples.
    pub samples: Vec<f32>,
}

impl Audio {
    /// Duration in seconds.
    pub fn seconds(&self) -> f32 {
        self.samples.len() as f32 / self.rate as f32
    }

    /// Root-mean-square level (0 for empty audio).
    pub fn rms(&self) -> f32 {
        if self.samples.is_empty() {
            return 0.0;
        }
        (self.samples.iter().map(|s| s * s).sum::<f32>() / self.samples.len() as f32).sqrt()
    }
}

/// Reads a 16-bit PCM WAV file, averaging channels into mono.
pub fn read_wav(path: &Path) -> Result<Audio> {
    let reader = hound::WavReader::open(path)
        .map_err(|e| Error::new(format!("opening WAV {}: {e}", path.display())))?;
    let spec = reader.spec();
    if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample != 16 {
        return Err(Error::new(format!(
            "expected 16-bit integer PCM in {}, found {:?} {} bits",
            path.display(),
            spec.sample_format,
            spec.bits_per_sample
        )));
    }
    let channels = usize::from(spec.channels.max(1));
    let raw: Vec<i16> = reader
        .into_samples::<i16>()
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::new(format!("reading samples of {}: {e}", path.display())))?;
    let samples = raw
        .chunks(channels)
        .map(|frame| {
            frame.iter().map(|&s| f32::from(s) / 32768.0).sum::<f32>() / frame.len() as f32
        })
        .collect();
    Ok(Audio {
        rate: spec.sample_rate,
        samples,
    })
}

/// Writes mono 16-bit PCM WAV.
pub fn write_wav(path: &Path, audio: &Audio) -> Result<()> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: audio.rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec)
        .map_err(|e| Error::new(format!("creating WAV {}: {e}", path.display())))?;
    for &sample in &audio.samples {
        let value = (sample.clamp(-1.0, 1.0) * 32767.0).round() as i16;
        writer
            .write_sample(value)
            .map_err(|e| Error::new(format!("writing WAV {}: {e}", path.display())))?;
    }
    writer
        .finalize()
        .map_err(|e| Error::new(format!("finalising WAV {}: {e}", path.display())))
}

/// Generates a test signal unique to `seed`: band-limited noise in 0.9 s bursts separated by 0.1 s
/// pauses, at about −14 dBFS RMS.
///
/// Noise from different seeds is uncorrelated, so a chunk of one party's signal scores close to 1
/// against a recording that contains it and below 0.1 against anything else, even after G.711.
pub fn party_signal(seed: u64, seconds: f32) -> Audio {
    let total = (seconds * SAMPLE_RATE as f32) as usize;
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut previous = 0.0f32;
    let mut samples = Vec::with_capacity(total);
    for i in 0..total {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let white =
            ((state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32) * 2.0
                - 1.0;
        // A gentle low-pass (one-pole) keeps most energy below 3.4 kHz like speech.
        previous = 0.6 * previous + 0.4 * white;
        let position = i % SAMPLE_RATE as usize;
        let gate = if position < (SAMPLE_RATE as usize * 9 / 10) {
            1.0
        } else {
            0.0
        };
        samples.push(previous * 0.5 * gate);
    }
    Audio {
        rate: SAMPLE_RATE,
        samples,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wav_round_trip_keeps_samples() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.wav");
        let audio = party_signal(1, 0.5);
        write_wav(&path, &audio).unwrap();
        let back = read_wav(&path).unwrap();
        assert_eq!(back.rate, SAMPLE_RATE);
        assert_eq!(back.samples.len(), audio.samples.len());
        let max_error = audio
            .samples
            .iter()
            .zip(&back.samples)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(max_error < 1e-4, "round trip error {max_error}");
        assert!(
            audio.rms() > 0.05 && audio.rms() < 0.4,
            "rms {}",
            audio.rms()
        );
    }
}
