//! Feeds arbitrary bytes to `dialplan::load_str` as a dialplan file.
//! Loading must never panic; a rejection must carry positioned diagnostics that print,
//! and an accepted plan must answer the registrar's questions and run a call.

#![no_main]

use dialplan::{CallState, Event, PromptChecker};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

/// Accepts every prompt, so the fuzzer can reach the whole loader without audio files.
struct AnyPrompt;

impl PromptChecker for AnyPrompt {
    fn check(&self, _: &Path) -> Result<(), String> {
        Ok(())
    }
    fn check_directory(&self, _: &Path) -> Result<(), String> {
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match dialplan::load_str(text, "fuzz.yaml", Path::new("/p"), &AnyPrompt) {
        Err(problems) => {
            assert!(!problems.is_empty());
            let _ = problems.to_string();
        }
        Ok(plan) => {
            let _ = plan.weak_credentials();
            let _ = plan.account("op1");
            let _ = plan.extension("201");
            // Any base instant works: the interpreter only adds to and compares instants.
            #[allow(clippy::disallowed_methods)]
            let now = std::time::Instant::now();
            let wall = dialplan::jiff::Timestamp::UNIX_EPOCH;
            let mut call = CallState::new(None);
            let offered = Event::Offered { from: "1".into(), to: "1000".into(), authenticated_extension: None };
            for event in [offered, Event::Answered, Event::PlayFinished, Event::Dtmf('1'), Event::Timeout] {
                let _ = dialplan::step(&plan, &mut call, now, wall, event);
            }
        }
    }
});
