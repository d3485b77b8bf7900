//! Loading dialplans for tests (the shipped one, or a variant of its text)
//! with their prompts decoded, and the PBX settings derived from a plan as
//! the server derives them.

use super::PUBLIC_IP;
use pbx::PbxConfig;
use sip::endpoint::Transport;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The repository root (two levels above this crate's manifest).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Decodes every prompt the dialplan names, as the server's loader does.
#[derive(Default)]
pub struct LoadPrompts {
    cache: Mutex<media::prompt::PromptCache>,
}

impl dialplan::PromptChecker for LoadPrompts {
    fn check(&self, path: &Path) -> Result<(), String> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.load(path).map(|_| ()).map_err(|e| e.to_string())
    }
}

/// The shipped `dialplan/default.yaml`, with its prompts decoded.
pub fn default_plan() -> (dialplan::Plan, media::prompt::PromptCache) {
    let path = repo_root().join("dialplan/default.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("expected to read {}: {e}", path.display()));
    plan_from_str(&text)
}

/// A dialplan from text (a variant of the default one), resolving prompts
/// relative to the repository's `dialplan/` directory.
pub fn plan_from_str(text: &str) -> (dialplan::Plan, media::prompt::PromptCache) {
    let checker = LoadPrompts::default();
    let base = repo_root().join("dialplan");
    let plan = dialplan::load_str(text, "test.yaml", &base, &checker)
        .unwrap_or_else(|problems| panic!("expected a valid dialplan, got:\n{problems}"));
    let prompts = checker
        .cache
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    (plan, prompts)
}

/// The plan's music-on-hold classes (`<prompts>/moh/*`), decoded, by name.
pub fn music_classes(
    plan: &dialplan::Plan,
) -> Arc<HashMap<String, Vec<Arc<media::prompt::Prompt>>>> {
    let mut cache = media::prompt::PromptCache::default();
    let classes = cache
        .load_moh_classes(plan.prompt_dir().join("moh"))
        .unwrap_or_else(|e| panic!("expected the music-on-hold classes to load: {e}"));
    Arc::new(classes.into_iter().collect())
}

/// The PBX settings derived from a plan, as the server derives them.
pub fn pbx_config(plan: &dialplan::Plan) -> PbxConfig {
    let s = plan.settings();
    let public: IpAddr = PUBLIC_IP.parse().expect("public ip");
    let advertised = SocketAddr::new(public, 5060);
    PbxConfig {
        public_ip: public,
        contacts: vec![(Transport::Udp, advertised), (Transport::Tcp, advertised)],
        codecs: s
            .codecs
            .iter()
            .filter_map(|c| pbx::sdp::codec_from_name(c))
            .collect(),
        ring_timeout: s.ring_timeout,
        max_concurrent_calls: s.max_concurrent_calls as usize,
        max_calls_per_second: s.max_calls_per_second,
        registrar: sip::registrar::RegistrarPolicy {
            min_expires: s.min_expires,
            max_expires: s.max_expires,
            default_expires: s.max_expires.min(3600),
            ..sip::registrar::RegistrarPolicy::default()
        },
        retry_after_secs: 5,
    }
}
