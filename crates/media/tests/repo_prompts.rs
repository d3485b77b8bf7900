//! Every WAV shipped in the repository's `prompts/` loads as a prompt, and every music-on-hold
//! class directory loads as a class, so a broken prompt fails here rather than during a call.

use std::path::{Path, PathBuf};

use media::PromptCache;

fn prompts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../prompts")
}

fn wav_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            wav_files(&path, out);
        } else if path
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("wav"))
        {
            out.push(path);
        }
    }
}

#[test]
fn every_shipped_prompt_loads() {
    let mut files = Vec::new();
    wav_files(&prompts_dir(), &mut files);
    assert!(
        !files.is_empty(),
        "expected WAV files under {}",
        prompts_dir().display()
    );
    let mut cache = PromptCache::new();
    for f in &files {
        let p = cache.load(f).unwrap_or_else(|e| panic!("{e}"));
        assert!(!p.samples().is_empty(), "{} is empty", f.display());
    }
    assert_eq!(cache.len(), files.len());
}

#[test]
fn every_music_on_hold_class_loads() {
    let moh = prompts_dir().join("moh");
    let classes = PromptCache::new()
        .load_moh_classes(&moh)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        classes
            .iter()
            .any(|(name, prompts)| name == "default" && !prompts.is_empty()),
        "expected a non-empty class \"default\" under {}",
        moh.display()
    );
}

/// Talk-off: the speech and music shipped as prompts must never be taken for DTMF digits.
#[test]
fn shipped_speech_and_music_trigger_no_in_band_digit() {
    let mut files = Vec::new();
    wav_files(&prompts_dir(), &mut files);
    let mut cache = PromptCache::new();
    let mut seconds = 0.0;
    for f in &files {
        let p = cache.load(f).unwrap_or_else(|e| panic!("{e}"));
        let mut detector = media::dtmf::InbandDetector::new();
        let mut digits = detector.push(p.samples());
        digits.extend(detector.push(&[0; 1000]));
        assert!(digits.is_empty(), "{} was heard as {digits:?}", f.display());
        seconds += p.duration().as_secs_f64();
    }
    assert!(
        seconds > 10.0,
        "expected more than 10 s of audio, found {seconds:.1} s"
    );
}
