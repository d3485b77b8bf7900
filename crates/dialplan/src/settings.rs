//! System-wide settings: realm, limits, codecs, language, time zone, registration.

use crate::decode::{Ctx, quoted_list};
use crate::diagnostic::suggest;
use crate::node::Node;
use jiff::tz::TimeZone;
use std::time::Duration;

/// Settings that apply to the whole system.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The digest authentication realm (default `switchboard`).
    pub realm: String,
    /// How long an extension rings before the call counts as unanswered (default 30 s).
    pub ring_timeout: Duration,
    /// The most calls handled at once; later calls are refused (default 500).
    pub max_concurrent_calls: u32,
    /// The most new calls accepted per second (default 50).
    pub max_calls_per_second: u32,
    /// Audio codecs in order of preference, as SDP encoding names (default `PCMU`, `PCMA`).
    pub codecs: Vec<String>,
    /// The language of prompts for outside callers until they choose another (default `en`).
    pub default_language: String,
    /// The IANA name of the time zone schedules use (default `UTC`).
    pub time_zone_name: String,
    /// The time zone schedules use.
    pub time_zone: TimeZone,
    /// The shortest registration the registrar accepts, in seconds (default 60).
    pub min_expires: u32,
    /// The longest registration the registrar grants, in seconds (default 3600).
    pub max_expires: u32,
    /// Whether every bridged call is recorded, both directions mixed, from answer to hang-up (default false).
    pub record_calls: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            realm: "switchboard".into(),
            ring_timeout: Duration::from_secs(30),
            max_concurrent_calls: 500,
            max_calls_per_second: 50,
            codecs: vec!["PCMU".into(), "PCMA".into()],
            default_language: "en".into(),
            time_zone_name: "UTC".into(),
            time_zone: TimeZone::UTC,
            min_expires: 60,
            max_expires: 3600,
            record_calls: false,
        }
    }
}

pub(crate) const SETTINGS_KEYS: [&str; 9] = [
    "realm",
    "ring_timeout",
    "max_concurrent_calls",
    "max_calls_per_second",
    "codecs",
    "default_language",
    "time_zone",
    "registration",
    "record_calls",
];

/// Codec names the media engine knows.
pub(crate) const CODECS: [&str; 4] = ["PCMU", "PCMA", "G722", "opus"];

/// Decodes the `settings:` mapping; missing keys keep their defaults.
pub(crate) fn decode(ctx: &mut Ctx, node: &Node) -> Settings {
    let mut s = Settings::default();
    let Some(f) = ctx.fields(node, "`settings`", &SETTINGS_KEYS) else {
        return s;
    };
    if let Some(realm) = f.get("realm").and_then(|n| ctx.text(n, "`realm`")) {
        if realm.is_empty() || realm.contains('"') {
            ctx.error(
                f.get("realm").map_or(f.pos, |n| n.pos),
                "`realm` must be non-empty text without quotes",
            );
        } else {
            s.realm = realm;
        }
    }
    if let Some(d) = f
        .get("ring_timeout")
        .and_then(|n| ctx.duration(n, "`ring_timeout`"))
    {
        s.ring_timeout = d;
    }
    if let Some(v) = f
        .get("max_concurrent_calls")
        .and_then(|n| ctx.number(n, "`max_concurrent_calls`", 1, 1_000_000))
    {
        s.max_concurrent_calls = u32::try_from(v).unwrap_or(s.max_concurrent_calls);
    }
    if let Some(v) = f
        .get("max_calls_per_second")
        .and_then(|n| ctx.number(n, "`max_calls_per_second`", 1, 100_000))
    {
        s.max_calls_per_second = u32::try_from(v).unwrap_or(s.max_calls_per_second);
    }
    if let Some(n) = f.get("codecs") {
        let mut codecs = Vec::new();
        for item in ctx.list(n, "`codecs`") {
            let Some(name) = ctx.text(item, "a codec") else {
                continue;
            };
            match CODECS.iter().find(|c| c.eq_ignore_ascii_case(&name)) {
                Some(c) if !codecs.iter().any(|x: &String| x == c) => codecs.push((*c).to_string()),
                Some(_) => ctx.error(item.pos, format!("codec `{name}` is listed twice")),
                None => ctx.report(
                    item.pos,
                    format!("unknown codec `{name}`"),
                    Some(format!("one of {}", quoted_list(&CODECS))),
                    None,
                    suggest(&name, CODECS.iter().copied()),
                ),
            }
        }
        if codecs.is_empty() && matches!(n.value, crate::node::Value::Seq(_)) {
            ctx.error(n.pos, "`codecs` must name at least one codec");
        } else if !codecs.is_empty() {
            s.codecs = codecs;
        }
    }
    if let Some(b) = f
        .get("record_calls")
        .and_then(|n| ctx.boolean(n, "`record_calls`"))
    {
        s.record_calls = b;
    }
    if let Some(lang) = f
        .get("default_language")
        .and_then(|n| ctx.text(n, "`default_language`"))
    {
        s.default_language = lang;
    }
    if let Some(n) = f.get("time_zone")
        && let Some(tz) = crate::schedule::decode_time_zone(ctx, n)
    {
        s.time_zone = tz;
        s.time_zone_name = n.scalar_text().unwrap_or_default();
    }
    if let Some(n) = f.get("registration")
        && let Some(r) = ctx.fields(n, "`registration`", &["min_expires", "max_expires"])
    {
        let min = r
            .get("min_expires")
            .and_then(|n| ctx.number(n, "`min_expires`", 1, 86_400));
        let max = r
            .get("max_expires")
            .and_then(|n| ctx.number(n, "`max_expires`", 1, 604_800));
        s.min_expires = min
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(s.min_expires);
        s.max_expires = max
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(s.max_expires);
        if s.min_expires > s.max_expires {
            ctx.error(
                n.pos,
                format!(
                    "`min_expires` ({}) is greater than `max_expires` ({})",
                    s.min_expires, s.max_expires
                ),
            );
        }
    }
    s
}
