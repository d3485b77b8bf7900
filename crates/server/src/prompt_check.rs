//! Loading a dialplan together with its audio: the dialplan's prompt
//! checker here decodes every prompt the plan names (so a broken file is an
//! error at load time, not silence during a call) and keeps the decoded
//! audio for the attendant; music-on-hold classes and the ringback tone are
//! prepared alongside.

use media::prompt::{MohClass, Prompt, PromptCache};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Checks prompts by decoding them as the media engine will, keeping what it decoded.
#[derive(Default)]
pub struct WavPrompts {
    cache: Mutex<PromptCache>,
}

impl WavPrompts {
    /// The decoded prompts.
    pub fn into_cache(self) -> PromptCache {
        self.cache.into_inner().unwrap_or_else(|e| e.into_inner())
    }
}

impl dialplan::PromptChecker for WavPrompts {
    fn check(&self, path: &Path) -> Result<(), String> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.load(path).map(|_| ()).map_err(|e| e.to_string())
    }

    /// A directory of prompts (the prompt root, a music-on-hold class): it must
    /// exist, and every WAV file directly in it must decode.
    fn check_directory(&self, path: &Path) -> Result<(), String> {
        let entries = std::fs::read_dir(path).map_err(|e| format!("expected a directory: {e}"))?;
        let has_wav = entries.filter_map(Result::ok).any(|e| {
            e.path()
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("wav"))
        });
        if !has_wav {
            return Ok(());
        }
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.load_dir(path).map(|_| ()).map_err(|e| e.to_string())
    }
}

/// A loaded dialplan and the audio it needs.
pub struct LoadedPlan {
    /// The plan.
    pub plan: dialplan::Plan,
    /// Every prompt it names, decoded.
    pub prompts: PromptCache,
    /// Music-on-hold classes found under the prompt directory's `moh/`.
    pub moh: Vec<MohClass>,
}

/// Loads and validates a dialplan, decoding every prompt it names.
pub fn load(path: &Path) -> Result<LoadedPlan, String> {
    let checker = WavPrompts::default();
    let plan = dialplan::load(path, &checker).map_err(|d| d.to_string())?;
    let mut prompts = checker.into_cache();
    let moh_root = plan.prompt_dir().join("moh");
    let moh = if moh_root.is_dir() {
        prompts
            .load_moh_classes(&moh_root)
            .map_err(|e| e.to_string())?
    } else {
        Vec::new()
    };
    Ok(LoadedPlan { plan, prompts, moh })
}

/// The ringback tone callers hear while an extension rings: 440 + 480 Hz,
/// two seconds on and four off (the North American cadence), at about −16 dBFS.
pub fn ringback() -> Arc<Prompt> {
    const RATE: usize = 8000;
    let mut samples = vec![0i16; RATE * 6];
    for (i, s) in samples.iter_mut().take(RATE * 2).enumerate() {
        let t = i as f64 / RATE as f64;
        let v = (2.0 * std::f64::consts::PI * 440.0 * t).sin()
            + (2.0 * std::f64::consts::PI * 480.0 * t).sin();
        *s = (v * 0.5 * 0.158 * i16::MAX as f64) as i16;
    }
    Arc::new(Prompt::from_samples("ringback", &samples, RATE as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ringback_has_tone_then_silence() {
        let r = ringback();
        let samples = r.samples();
        assert_eq!(samples.len(), 48_000);
        let loud = samples[..16_000]
            .iter()
            .map(|s| (*s as i64).abs())
            .max()
            .unwrap_or(0);
        assert!(loud > 3000, "tone too quiet: {loud}");
        assert!(samples[16_000..].iter().all(|s| *s == 0));
    }

    #[test]
    fn the_shipped_dialplan_loads_with_its_audio() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dialplan/default.yaml");
        let loaded = load(&root).expect("default dialplan loads");
        assert!(loaded.moh.iter().any(|(name, _)| name == "default"));
        let welcome = loaded.plan.prompt("en", "welcome");
        assert!(
            loaded.prompts.get(&welcome).is_some(),
            "welcome prompt decoded"
        );
    }
}
