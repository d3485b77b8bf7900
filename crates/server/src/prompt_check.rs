//! The dialplan's prompt checker for the server: a prompt is valid only if
//! the media engine can decode it, so a broken file is an error at load
//! time rather than silence during a call.

use std::path::Path;

/// Checks prompts by decoding them as the media engine will.
pub struct WavPrompts;

impl dialplan::PromptChecker for WavPrompts {
    fn check(&self, path: &Path) -> Result<(), String> {
        media::prompt::Prompt::load(path).map(|_| ()).map_err(|e| e.to_string())
    }
}
