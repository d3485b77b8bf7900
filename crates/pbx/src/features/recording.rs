//! Call recording: the PBX picks the file, the media engine's recorder writes it.
//!
//! A bridged call is recorded when the dialplan's `settings.record_calls` is on, or when
//! the caller's or the answering extension's entry says `record: true`. The recorder sits
//! on the caller's leg with `both_directions`, so the file holds the caller and the callee
//! mixed, from the answer until the leg is removed at hang-up. Files are named
//! `<recordings dir>/<call key>-<unix ms>-<caller>-<callee>.wav`; the path is logged at
//! info level (the call record has no column for it).

use super::Apps;
use crate::control::Core;
use crate::{CallKey, Output};
use media::{LegId, MediaCommand};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The longest a single recording runs; the recorder stops by itself after it.
pub(crate) const MAX_RECORDING: Duration = Duration::from_secs(4 * 3600);

/// The longest caller or callee part kept in a file name.
const MAX_NAME_PART: usize = 32;

/// Returns `<dir>/<call key>-<unix ms>-<caller>-<callee>.wav`, with the caller and callee
/// reduced to characters that are safe in a file name (anything else becomes `_`).
pub(crate) fn file_path(
    dir: &Path,
    key: CallKey,
    wall_ms: i64,
    caller: &str,
    callee: &str,
) -> PathBuf {
    dir.join(format!(
        "{}-{}-{}-{}.wav",
        key.0,
        wall_ms,
        safe_part(caller),
        safe_part(callee)
    ))
}

/// Keeps ASCII letters, digits, `+` and `_`; everything else (slashes, dots, spaces) becomes `_`.
fn safe_part(text: &str) -> String {
    let kept: String = text
        .chars()
        .take(MAX_NAME_PART)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '+' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if kept.is_empty() {
        "anonymous".into()
    } else {
        kept
    }
}

/// Asks the engine to record `leg`, both directions mixed, into a new file and logs its path.
pub(crate) fn start(
    apps: &mut Apps,
    core: &mut Core,
    leg: LegId,
    key: CallKey,
    wall_ms: i64,
    caller: &str,
    callee: &str,
) -> PathBuf {
    let path = file_path(&apps.recordings_dir, key, wall_ms, caller, callee);
    tracing::info!(call = key.0, leg = leg.0, path = %path.display(), "recording started");
    core.outputs.push_back(Output::Media(MediaCommand::Record {
        leg,
        path: path.clone(),
        max_length: MAX_RECORDING,
        silence: None,
        both_directions: true,
    }));
    path
}

/// A bridge connected: records the call if the plan asks for it for `callee` or the caller.
pub(crate) fn on_bridged(
    apps: &mut Apps,
    core: &mut Core,
    key: CallKey,
    wall_ms: i64,
    callee: &str,
) {
    let Some(call) = core.calls.calls.get(&key) else {
        return;
    };
    let plan = match (apps.ivrs.get(&key), &apps.attendant) {
        (Some(ivr), _) => ivr.plan.clone(),
        (None, Some(attendant)) => attendant.plan.clone(),
        (None, None) => return,
    };
    if !(plan.records_calls_of(&call.caller) || plan.records_calls_of(callee)) {
        return;
    }
    let (leg, caller) = (call.a_media.leg, call.caller.clone());
    start(apps, core, leg, key, wall_ms, &caller, callee);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_hold_key_time_and_safe_parties() {
        let path = file_path(
            Path::new("/rec"),
            CallKey(7),
            1_700_000_000_123,
            "201",
            "202",
        );
        assert_eq!(path, PathBuf::from("/rec/7-1700000000123-201-202.wav"));
        let hostile = file_path(Path::new("/rec"), CallKey(1), 5, "../../etc/passwd", "");
        assert_eq!(
            hostile,
            PathBuf::from("/rec/1-5-______etc_passwd-anonymous.wav")
        );
        assert_eq!(hostile.parent(), Some(Path::new("/rec")));
    }

    #[test]
    fn long_names_are_cut() {
        let long = "9".repeat(100);
        let path = file_path(Path::new("d"), CallKey(1), 0, &long, "x");
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        assert_eq!(name, format!("1-0-{}-x.wav", "9".repeat(MAX_NAME_PART)));
    }
}
