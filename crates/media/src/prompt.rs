//! Prompts: WAV files decoded once to 8 kHz mono and shared by every call.
//!
//! [`Prompt::load`] accepts 16-bit PCM WAV at any rate from 8 to 48 kHz, mono or stereo
//! (stereo is averaged), and resamples to 8 kHz with [`crate::resample`]. The samples live in an
//! `Arc<[i16]>`, so cloning a prompt or handing it to many players copies no audio.
//! [`PromptCache`] loads each path once; the dialplan loader uses it so that a missing or
//! unreadable prompt is an error at load time, never silence during a call.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::codec::SAMPLE_RATE;
use crate::resample::resample;

/// Lowest and highest accepted input sample rates, in Hz.
pub const RATES: std::ops::RangeInclusive<u32> = 8000..=48000;

/// A decoded prompt: 8 kHz mono samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    name: String,
    samples: Arc<[i16]>,
}

/// Why a prompt could not be loaded; the message names the file and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptError {
    /// The file.
    pub path: PathBuf,
    /// What was wrong with it.
    pub kind: PromptErrorKind,
}

/// The kinds of [`PromptError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptErrorKind {
    /// The file could not be opened or read, or is not a WAV file (hound's message).
    Read(String),
    /// The WAV holds something other than 16-bit integer PCM.
    Format {
        /// A description of what the header says, e.g. "32-bit float".
        found: String,
    },
    /// More than two channels.
    Channels(u16),
    /// A sample rate outside [`RATES`].
    Rate(u32),
    /// The file holds no samples.
    Empty,
}

impl fmt::Display for PromptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.path.display();
        match &self.kind {
            PromptErrorKind::Read(e) => write!(f, "prompt {p}: cannot read WAV: {e}"),
            PromptErrorKind::Format { found } => {
                write!(f, "prompt {p}: expected 16-bit PCM WAV, found {found}")
            }
            PromptErrorKind::Channels(n) => {
                write!(f, "prompt {p}: expected mono or stereo, found {n} channels")
            }
            PromptErrorKind::Rate(r) => write!(
                f,
                "prompt {p}: expected a sample rate of 8000 to 48000 Hz, found {r} Hz"
            ),
            PromptErrorKind::Empty => write!(f, "prompt {p}: expected audio, found no samples"),
        }
    }
}

impl std::error::Error for PromptError {}

impl Prompt {
    /// Reads a WAV file and converts it to 8 kHz mono.
    pub fn load(path: impl AsRef<Path>) -> Result<Prompt, PromptError> {
        let path = path.as_ref();
        let err = |kind| PromptError {
            path: path.to_path_buf(),
            kind,
        };
        let mut reader =
            hound::WavReader::open(path).map_err(|e| err(PromptErrorKind::Read(e.to_string())))?;
        let spec = reader.spec();
        if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample != 16 {
            let kind = match spec.sample_format {
                hound::SampleFormat::Float => "float",
                hound::SampleFormat::Int => "integer PCM",
            };
            return Err(err(PromptErrorKind::Format {
                found: format!("{}-bit {kind}", spec.bits_per_sample),
            }));
        }
        if !(1..=2).contains(&spec.channels) {
            return Err(err(PromptErrorKind::Channels(spec.channels)));
        }
        if !RATES.contains(&spec.sample_rate) {
            return Err(err(PromptErrorKind::Rate(spec.sample_rate)));
        }
        let interleaved: Vec<i16> = reader
            .samples::<i16>()
            .collect::<Result<_, _>>()
            .map_err(|e| err(PromptErrorKind::Read(e.to_string())))?;
        let mono: Vec<i16> = if spec.channels == 2 {
            interleaved
                .chunks_exact(2)
                .map(|c| ((i32::from(c[0]) + i32::from(c[1])) / 2) as i16)
                .collect()
        } else {
            interleaved
        };
        if mono.is_empty() {
            return Err(err(PromptErrorKind::Empty));
        }
        Ok(Prompt::from_samples(
            path.display().to_string(),
            &mono,
            spec.sample_rate,
        ))
    }

    /// Makes a prompt from mono samples at `rate` Hz (resampled to 8 kHz if needed).
    pub fn from_samples(name: impl Into<String>, samples: &[i16], rate: u32) -> Prompt {
        let samples: Arc<[i16]> = if rate == SAMPLE_RATE {
            samples.into()
        } else {
            resample(samples, rate, SAMPLE_RATE).into()
        };
        Prompt {
            name: name.into(),
            samples,
        }
    }

    /// The name (the file path for loaded prompts).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 8 kHz mono samples.
    pub fn samples(&self) -> &[i16] {
        &self.samples
    }

    /// The shared sample buffer.
    pub fn shared_samples(&self) -> Arc<[i16]> {
        Arc::clone(&self.samples)
    }

    /// The playing time.
    pub fn duration(&self) -> Duration {
        Duration::from_micros(self.samples.len() as u64 * 1_000_000 / u64::from(SAMPLE_RATE))
    }
}

/// A music-on-hold class: its name and its prompts in order.
pub type MohClass = (String, Vec<Arc<Prompt>>);

/// Loaded prompts keyed by path, each decoded once.
#[derive(Debug, Default, Clone)]
pub struct PromptCache {
    prompts: HashMap<PathBuf, Arc<Prompt>>,
}

impl PromptCache {
    /// Creates an empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns the cached prompt for `path`, loading it on first use.
    pub fn load(&mut self, path: impl AsRef<Path>) -> Result<Arc<Prompt>, PromptError> {
        let path = path.as_ref();
        if let Some(p) = self.prompts.get(path) {
            return Ok(Arc::clone(p));
        }
        let p = Arc::new(Prompt::load(path)?);
        self.prompts.insert(path.to_path_buf(), Arc::clone(&p));
        Ok(p)
    }

    /// Returns the cached prompt for `path` without loading.
    pub fn get(&self, path: impl AsRef<Path>) -> Option<Arc<Prompt>> {
        self.prompts.get(path.as_ref()).cloned()
    }

    /// Loads every `*.wav` in a directory, sorted by file name (a music-on-hold class is the
    /// directory `prompts/moh/<class>/`). An empty directory is an error naming it.
    pub fn load_dir(&mut self, dir: impl AsRef<Path>) -> Result<Vec<Arc<Prompt>>, PromptError> {
        let dir = dir.as_ref();
        let err = |kind| PromptError {
            path: dir.to_path_buf(),
            kind,
        };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| err(PromptErrorKind::Read(e.to_string())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("wav")))
            .collect();
        paths.sort();
        if paths.is_empty() {
            return Err(err(PromptErrorKind::Empty));
        }
        paths.iter().map(|p| self.load(p)).collect()
    }

    /// Loads every music-on-hold class under `moh_root` (each subdirectory is a class named
    /// after it, holding `*.wav` files), sorted by class name, ready for
    /// [`crate::MediaCommand::DefineMoh`]. A class that fails to load fails the whole call with
    /// an error naming the file.
    pub fn load_moh_classes(
        &mut self,
        moh_root: impl AsRef<Path>,
    ) -> Result<Vec<MohClass>, PromptError> {
        let root = moh_root.as_ref();
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
            .map_err(|e| PromptError {
                path: root.to_path_buf(),
                kind: PromptErrorKind::Read(e.to_string()),
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        dirs.iter()
            .map(|d| {
                let name = d
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                Ok((name, self.load_dir(d)?))
            })
            .collect()
    }

    /// The number of cached prompts.
    pub fn len(&self) -> usize {
        self.prompts.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.prompts.is_empty()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::resample::tests::{sine, tone_to_residual_db};

    /// A fresh directory under the system temp dir, unique per test.
    pub(crate) fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("switchboard-media-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    pub(crate) fn write_wav(path: &Path, rate: u32, channels: u16, bits: u16, samples: &[i16]) {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: bits,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for s in samples {
            if bits == 16 {
                w.write_sample(*s).unwrap();
            } else {
                w.write_sample(i32::from(*s)).unwrap();
            }
        }
        w.finalize().unwrap();
    }

    #[test]
    fn loads_every_common_rate_mono_and_stereo() {
        let dir = temp_dir("rates");
        for rate in [8000, 16000, 22050, 44100, 48000] {
            let mono = sine(1000.0, rate, 0.5, 10000.0);
            let stereo: Vec<i16> = mono.iter().flat_map(|s| [*s, *s]).collect();
            for (channels, data) in [(1, &mono), (2, &stereo)] {
                let path = dir.join(format!("{rate}-{channels}.wav"));
                write_wav(&path, rate, channels, 16, data);
                let p = Prompt::load(&path).unwrap();
                assert_eq!(p.samples().len(), 4000, "{rate} Hz, {channels} ch");
                assert_eq!(p.duration(), Duration::from_millis(500));
                let snr = tone_to_residual_db(&p.samples()[200..3800], 8000, 1000.0);
                assert!(snr > 50.0, "{rate} Hz, {channels} ch: {snr:.1} dB");
            }
        }
    }

    #[test]
    fn errors_name_the_file_and_what_was_found() {
        let dir = temp_dir("errors");
        let p24 = dir.join("deep.wav");
        write_wav(&p24, 8000, 1, 24, &[1, 2, 3]);
        let e = Prompt::load(&p24).unwrap_err().to_string();
        assert!(
            e.contains("deep.wav") && e.contains("found 24-bit integer PCM"),
            "{e}"
        );

        let low = dir.join("low.wav");
        write_wav(&low, 4000, 1, 16, &[1, 2, 3]);
        let e = Prompt::load(&low).unwrap_err().to_string();
        assert!(e.contains("low.wav") && e.contains("found 4000 Hz"), "{e}");

        let empty = dir.join("empty.wav");
        write_wav(&empty, 8000, 1, 16, &[]);
        let e = Prompt::load(&empty).unwrap_err().to_string();
        assert!(e.contains("empty.wav") && e.contains("no samples"), "{e}");

        let missing = dir.join("missing.wav");
        let e = Prompt::load(&missing).unwrap_err().to_string();
        assert!(
            e.contains("missing.wav") && e.contains("cannot read"),
            "{e}"
        );

        let text = dir.join("text.wav");
        std::fs::write(&text, "not a wav").unwrap();
        let e = Prompt::load(&text).unwrap_err().to_string();
        assert!(e.contains("text.wav"), "{e}");
    }

    #[test]
    fn cache_loads_once_and_shares_samples() {
        let dir = temp_dir("cache");
        let path = dir.join("a.wav");
        write_wav(&path, 8000, 1, 16, &[5; 800]);
        let mut cache = PromptCache::new();
        let a = cache.load(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let b = cache.load(&path).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(cache.len(), 1);
        assert!(cache.get(&path).is_some());
    }

    #[test]
    fn load_dir_sorts_and_rejects_empty_dirs() {
        let dir = temp_dir("moh");
        write_wav(&dir.join("b.wav"), 8000, 1, 16, &[2; 80]);
        write_wav(&dir.join("a.WAV"), 8000, 1, 16, &[1; 80]);
        std::fs::write(dir.join("notes.txt"), "x").unwrap();
        let mut cache = PromptCache::new();
        let list = cache.load_dir(&dir).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].samples()[0], 1);
        let empty = temp_dir("moh-empty");
        let e = cache.load_dir(&empty).unwrap_err().to_string();
        assert!(e.contains("moh-empty"), "{e}");
    }

    #[test]
    fn moh_classes_are_the_subdirectories() {
        let root = temp_dir("moh-root");
        for class in ["jazz", "default"] {
            std::fs::create_dir_all(root.join(class)).unwrap();
            write_wav(&root.join(class).join("a.wav"), 8000, 1, 16, &[1; 80]);
        }
        std::fs::write(root.join("README"), "x").unwrap();
        let mut cache = PromptCache::new();
        let classes = cache.load_moh_classes(&root).unwrap();
        let names: Vec<&str> = classes.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["default", "jazz"]);
        assert_eq!(classes[0].1.len(), 1);
        std::fs::create_dir_all(root.join("broken")).unwrap();
        let e = cache.load_moh_classes(&root).unwrap_err().to_string();
        assert!(e.contains("broken"), "{e}");
    }
}
