//! The recorder: 20 ms frames to an 8 kHz mono 16-bit WAV file (hound).
//!
//! The WAV header is rewritten and the file flushed every second ([`FLUSH_FRAMES`]), so a
//! crash loses at most the last second. A recording stops by itself at its maximum length or
//! after a run of silence (frame RMS under a threshold), as a voicemail should.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::codec::{FRAME_SAMPLES, SAMPLE_RATE};

/// Frames between flushes (50 × 20 ms = 1 s).
pub const FLUSH_FRAMES: u32 = 50;

/// Ending a recording on silence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SilenceStop {
    /// A frame whose RMS is below this (in 16-bit sample units) counts as silent;
    /// 300 is about −40 dBFS.
    pub threshold: u16,
    /// How long silence must last to end the recording.
    pub after: Duration,
}

/// Why a recording ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordStop {
    /// It was stopped by command.
    Stopped,
    /// It reached its maximum length.
    MaxLength,
    /// Silence lasted for the configured time.
    Silence,
    /// Its leg was removed.
    LegRemoved,
    /// Writing failed (the message says how).
    Error(String),
}

/// A recording in progress.
pub struct Recorder {
    path: PathBuf,
    writer: hound::WavWriter<BufWriter<File>>,
    samples: u64,
    max_samples: u64,
    silence: Option<SilenceStop>,
    silent_samples: u64,
    since_flush: u32,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("path", &self.path)
            .field("samples", &self.samples)
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// Creates (or truncates) the WAV file at `path`.
    pub fn create(
        path: &Path,
        max_length: Duration,
        silence: Option<SilenceStop>,
    ) -> Result<Recorder, String> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::create(path, spec)
            .map_err(|e| format!("cannot create recording {}: {e}", path.display()))?;
        Ok(Recorder {
            path: path.to_path_buf(),
            writer,
            samples: 0,
            max_samples: max_length.as_millis() as u64 * u64::from(SAMPLE_RATE) / 1000,
            silence,
            silent_samples: 0,
            since_flush: 0,
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The recorded length so far.
    pub fn duration(&self) -> Duration {
        Duration::from_millis(self.samples * 1000 / u64::from(SAMPLE_RATE))
    }

    /// Appends one frame. Returns the reason to stop if this frame ended the recording.
    pub fn write_frame(&mut self, frame: &[i16; FRAME_SAMPLES]) -> Option<RecordStop> {
        let room = self.max_samples.saturating_sub(self.samples) as usize;
        for s in &frame[..room.min(FRAME_SAMPLES)] {
            if let Err(e) = self.writer.write_sample(*s) {
                return Some(RecordStop::Error(format!(
                    "writing recording {}: {e}",
                    self.path.display()
                )));
            }
        }
        self.samples += room.min(FRAME_SAMPLES) as u64;
        self.since_flush += 1;
        if self.since_flush >= FLUSH_FRAMES {
            self.since_flush = 0;
            if let Err(e) = self.writer.flush() {
                return Some(RecordStop::Error(format!(
                    "flushing recording {}: {e}",
                    self.path.display()
                )));
            }
        }
        if self.samples >= self.max_samples {
            return Some(RecordStop::MaxLength);
        }
        if let Some(s) = self.silence {
            if rms(frame) < f64::from(s.threshold) {
                self.silent_samples += FRAME_SAMPLES as u64;
            } else {
                self.silent_samples = 0;
            }
            if self.silent_samples * 1000 / u64::from(SAMPLE_RATE) >= s.after.as_millis() as u64 {
                return Some(RecordStop::Silence);
            }
        }
        None
    }

    /// Finalises the WAV header and closes the file; returns the recorded length.
    pub fn finish(self) -> Result<Duration, String> {
        let d = self.duration();
        let path = self.path.clone();
        self.writer
            .finalize()
            .map_err(|e| format!("finishing recording {}: {e}", path.display()))?;
        Ok(d)
    }
}

fn rms(frame: &[i16; FRAME_SAMPLES]) -> f64 {
    let sum: f64 = frame.iter().map(|s| f64::from(*s).powi(2)).sum();
    (sum / FRAME_SAMPLES as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompt::tests::temp_dir;

    fn read(path: &Path) -> Vec<i16> {
        hound::WavReader::open(path)
            .unwrap()
            .samples::<i16>()
            .map(|s| s.unwrap())
            .collect()
    }

    #[test]
    fn writes_frames_and_stops_at_max_length() {
        let dir = temp_dir("rec-max");
        let path = dir.join("a.wav");
        let mut r = Recorder::create(&path, Duration::from_millis(50), None).unwrap();
        assert_eq!(r.write_frame(&[1000; FRAME_SAMPLES]), None);
        assert_eq!(r.write_frame(&[2000; FRAME_SAMPLES]), None);
        assert_eq!(
            r.write_frame(&[3000; FRAME_SAMPLES]),
            Some(RecordStop::MaxLength)
        );
        assert_eq!(r.finish().unwrap(), Duration::from_millis(50));
        let s = read(&path);
        assert_eq!(s.len(), 400);
        assert_eq!((s[0], s[160], s[399]), (1000, 2000, 3000));
    }

    #[test]
    fn a_crash_loses_at_most_the_last_second() {
        let dir = temp_dir("rec-crash");
        let path = dir.join("a.wav");
        let mut r = Recorder::create(&path, Duration::from_secs(60), None).unwrap();
        for _ in 0..(FLUSH_FRAMES * 2 + 10) {
            assert_eq!(r.write_frame(&[500; FRAME_SAMPLES]), None);
        }
        // Simulate a crash: leak the writer so it is never finalised or dropped.
        std::mem::forget(r);
        let s = read(&path);
        assert!(
            s.len() >= (FLUSH_FRAMES as usize * 2) * FRAME_SAMPLES,
            "{}",
            s.len()
        );
    }

    #[test]
    fn silence_ends_the_recording() {
        let dir = temp_dir("rec-silence");
        let path = dir.join("a.wav");
        let stop = SilenceStop {
            threshold: 300,
            after: Duration::from_millis(100),
        };
        let mut r = Recorder::create(&path, Duration::from_secs(60), Some(stop)).unwrap();
        let voice: [i16; FRAME_SAMPLES] =
            std::array::from_fn(|i| if i % 2 == 0 { 5000 } else { -5000 });
        for _ in 0..10 {
            assert_eq!(r.write_frame(&voice), None);
        }
        for _ in 0..4 {
            assert_eq!(r.write_frame(&[10; FRAME_SAMPLES]), None);
        }
        assert_eq!(
            r.write_frame(&[10; FRAME_SAMPLES]),
            Some(RecordStop::Silence)
        );
        assert_eq!(r.finish().unwrap(), Duration::from_millis(300));
    }

    #[test]
    fn an_unwritable_path_is_an_error_naming_it() {
        let e = Recorder::create(
            Path::new("/nonexistent-dir/x.wav"),
            Duration::from_secs(1),
            None,
        )
        .unwrap_err();
        assert!(e.contains("/nonexistent-dir/x.wav"), "{e}");
    }
}
