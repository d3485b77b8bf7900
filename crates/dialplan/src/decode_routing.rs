//! Decoding ring groups, queues and feature codes.

use crate::decode::{Ctx, Fields};
use crate::decode_directory::is_number;
use crate::diagnostic::suggest;
use crate::directory::{Directory, Operators};
use crate::node::{Node, Pos, Value};
use crate::program::{Instr, Names, PromptRef, decode_actions};
use crate::routing::{
    BackgroundMusic, FEATURE_KEYS, Features, Group, PREFIX_KEYS, PagingGroup, Queue, Ringing,
};
use crate::schedule;
use jiff::tz::TimeZone;
use std::collections::BTreeMap;
use std::time::Duration;

pub(crate) type GroupNodes = Vec<Option<Node>>;

pub(crate) fn collect_groups(
    ctx: &mut Ctx,
    node: Option<&Node>,
    directory: &Directory,
    operators: &Operators,
    positions: &BTreeMap<String, Pos>,
) -> (Vec<Group>, GroupNodes) {
    let mut groups: Vec<Group> = Vec::new();
    let mut fallbacks = Vec::new();
    let Some(node) = node else {
        return (groups, fallbacks);
    };
    for item in ctx.list(node, "`groups`") {
        let Some(f) = ctx.fields(
            item,
            "a group",
            &[
                "name",
                "number",
                "ring",
                "members",
                "ring_timeout",
                "fallback",
            ],
        ) else {
            continue;
        };
        let Some(name_node) = f.require(ctx, "name", "a group") else {
            continue;
        };
        let Some(name) = ctx.text(name_node, "`name`") else {
            continue;
        };
        if groups.iter().any(|g| g.name == name) {
            ctx.error(name_node.pos, format!("duplicate group `{name}`"));
            continue;
        }
        let mut number = None;
        if let Some(n) = f.get("number")
            && let Some(num) = ctx.text(n, "`number`")
        {
            if let Some(at) = positions.get(&num) {
                ctx.error(n.pos, format!("duplicate extension `{num}`: the group number is also an extension (line {})", at.line));
            } else if num == operators.position
                || groups
                    .iter()
                    .any(|g| g.number.as_deref() == Some(num.as_str()))
            {
                ctx.error(n.pos, format!("duplicate extension `{num}`"));
            } else if !is_number(&num) {
                ctx.report(
                    n.pos,
                    format!("invalid group number `{num}`"),
                    Some("digits only".into()),
                    None,
                    None,
                );
            } else {
                number = Some(num);
            }
        }
        let ringing = match f
            .get("ring")
            .and_then(|n| ctx.text(n, "`ring`").map(|t| (n, t)))
        {
            None => Ringing::Parallel,
            Some((_, t)) if t == "parallel" => Ringing::Parallel,
            Some((_, t)) if t == "in_order" => Ringing::InOrder,
            Some((n, t)) => {
                ctx.report(
                    n.pos,
                    format!("unknown ring strategy `{t}`"),
                    Some("`parallel` or `in_order`".into()),
                    None,
                    suggest(&t, ["parallel", "in_order"]),
                );
                Ringing::Parallel
            }
        };
        let mut members = Vec::new();
        for m in f
            .require(ctx, "members", "a group")
            .map(|n| ctx.list(n, "`members`"))
            .unwrap_or_default()
        {
            let Some(number) = ctx.text(m, "a member") else {
                continue;
            };
            if directory.extensions.contains_key(&number) {
                members.push(number);
            } else {
                let suggestion = suggest(&number, directory.extensions.keys().map(String::as_str));
                ctx.report(
                    m.pos,
                    format!("group member `{number}` is not an extension"),
                    None,
                    None,
                    suggestion,
                );
            }
        }
        let ring_timeout = f
            .get("ring_timeout")
            .and_then(|n| ctx.duration(n, "`ring_timeout`"))
            .unwrap_or(Duration::from_secs(20));
        fallbacks.push(f.get("fallback").cloned());
        groups.push(Group {
            name,
            number,
            ringing,
            members,
            ring_timeout,
            fallback: None,
        });
    }
    (groups, fallbacks)
}

/// The keys of one entry under `paging:`.
pub(crate) const PAGING_KEYS: [&str; 6] = [
    "number",
    "name",
    "members",
    "call_info",
    "alert_info",
    "background_music",
];

/// The keys of a paging group's `background_music:`.
pub(crate) const BACKGROUND_MUSIC_KEYS: [&str; 2] = ["music_on_hold", "schedule"];

/// Decodes the `paging:` list. `taken` holds every number already in use (extensions,
/// the operator position, group and conference numbers) with what holds it.
pub(crate) fn decode_paging(
    ctx: &mut Ctx,
    node: &Node,
    directory: &Directory,
    taken: &BTreeMap<String, String>,
    default_tz: &TimeZone,
) -> Vec<PagingGroup> {
    let mut out: Vec<PagingGroup> = Vec::new();
    for item in ctx.list(node, "`paging`") {
        let Some(f) = ctx.fields(item, "a paging group", &PAGING_KEYS) else {
            continue;
        };
        let Some(number_node) = f.require(ctx, "number", "a paging group") else {
            continue;
        };
        let Some(number) = ctx.text(number_node, "`number`") else {
            continue;
        };
        if !is_number(&number) {
            ctx.report(
                number_node.pos,
                format!("invalid paging number `{number}`"),
                Some("digits only, such as `7100`".into()),
                None,
                None,
            );
            continue;
        }
        if let Some(what) = taken.get(&number) {
            ctx.error(
                number_node.pos,
                format!("duplicate extension `{number}`: the paging number is also {what}"),
            );
            continue;
        }
        if out.iter().any(|p| p.number == number) {
            ctx.error(
                number_node.pos,
                format!("duplicate extension `{number}`: two paging groups have this number"),
            );
            continue;
        }
        let name = f
            .get("name")
            .and_then(|n| ctx.text(n, "`name`"))
            .unwrap_or_else(|| number.clone());
        let mut members: Vec<String> = Vec::new();
        for m in f
            .require(ctx, "members", "a paging group")
            .map(|n| ctx.list(n, "`members`"))
            .unwrap_or_default()
        {
            let Some(member) = ctx.text(m, "a member") else {
                continue;
            };
            if !directory.extensions.contains_key(&member) {
                let suggestion = suggest(&member, directory.extensions.keys().map(String::as_str));
                ctx.report(
                    m.pos,
                    format!("paging member `{member}` is not an extension"),
                    None,
                    None,
                    suggestion,
                );
            } else if members.contains(&member) {
                ctx.error(m.pos, format!("paging member `{member}` is listed twice"));
            } else {
                members.push(member);
            }
        }
        let mut header = |key: &str, default: &str| -> String {
            let Some(n) = f.get(key) else {
                return default.to_string();
            };
            match ctx.text(n, &format!("`{key}`")) {
                Some(t) if !t.is_empty() && !t.contains(['\r', '\n']) => t,
                Some(t) => {
                    ctx.report(
                        n.pos,
                        format!("invalid `{key}` `{}`", t.escape_debug()),
                        Some(format!("one line of header text, such as `{default}`")),
                        None,
                        None,
                    );
                    default.to_string()
                }
                None => default.to_string(),
            }
        };
        let call_info = header("call_info", "answer-after=0");
        let alert_info = header("alert_info", "auto-answer");
        let background_music = f
            .get("background_music")
            .and_then(|n| decode_background_music(ctx, n, default_tz));
        out.push(PagingGroup {
            number,
            name,
            members,
            call_info,
            alert_info,
            background_music,
        });
    }
    out
}

/// Decodes a paging group's `background_music:` (the class defaults to `default`; without
/// a `schedule` the music plays only when an operator turns it on).
fn decode_background_music(
    ctx: &mut Ctx,
    node: &Node,
    default_tz: &TimeZone,
) -> Option<BackgroundMusic> {
    let f = ctx.fields(node, "`background_music`", &BACKGROUND_MUSIC_KEYS)?;
    let mut music = BackgroundMusic {
        music_on_hold: "default".into(),
        schedule: None,
        pos: node.pos,
    };
    if let Some(class) = decode_moh_class(ctx, &f) {
        music.music_on_hold = class;
        music.pos = f.key_pos("music_on_hold").unwrap_or(f.pos);
    }
    if let Some(n) = f.get("schedule") {
        let values = schedule::Values::Fixed {
            rule: true,
            holiday: false,
        };
        music.schedule = Some(schedule::decode(ctx, n, false, values, default_tz)?);
    }
    Some(music)
}

/// Reads `music_on_hold:` of a queue or of background music: a directory name under
/// `<prompts>/moh/` (reported, and `None`, when it is not one).
fn decode_moh_class(ctx: &mut Ctx, f: &Fields) -> Option<String> {
    let class = ctx.text(f.get("music_on_hold")?, "`music_on_hold`")?;
    if class.is_empty() || class.contains(['/', '\\']) || class == ".." {
        ctx.error(
            f.key_pos("music_on_hold").unwrap_or(f.pos),
            format!("invalid music-on-hold class `{class}`"),
        );
        return None;
    }
    Some(class)
}

pub(crate) fn default_queue(name: &str) -> Queue {
    let unavailable = vec![
        Instr::Play(vec![
            PromptRef::Named("operator_unavailable".into()),
            PromptRef::Named("goodbye".into()),
        ]),
        Instr::Hangup,
    ];
    Queue {
        name: name.to_string(),
        max_wait: Duration::from_secs(300),
        max_length: 20,
        announce_position_every: Some(Duration::from_secs(30)),
        music_on_hold: "default".into(),
        operator_ring_timeout: Duration::from_secs(15),
        wrap_up: Duration::ZERO,
        fallback: unavailable.clone(),
        after_max_wait: unavailable,
    }
}

pub(crate) const QUEUE_KEYS: [&str; 8] = [
    "max_wait",
    "max_length",
    "announce_position_every",
    "music_on_hold",
    "operator_ring_timeout",
    "wrap_up",
    "fallback",
    "after_max_wait",
];

pub(crate) fn decode_queue(ctx: &mut Ctx, name: &str, node: &Node, names: &mut Names) -> Queue {
    let mut q = default_queue(name);
    let Some(f) = ctx.fields(node, &format!("queue `{name}`"), &QUEUE_KEYS) else {
        return q;
    };
    if let Some(d) = f
        .get("max_wait")
        .and_then(|n| ctx.duration(n, "`max_wait`"))
    {
        q.max_wait = d;
    }
    if let Some(v) = f
        .get("max_length")
        .and_then(|n| ctx.number(n, "`max_length`", 1, 10_000))
    {
        q.max_length = u32::try_from(v).unwrap_or(q.max_length);
    }
    if let Some(n) = f.get("announce_position_every") {
        q.announce_position_every = match &n.value {
            Value::Bool(false) => None,
            _ => ctx
                .duration(n, "`announce_position_every`")
                .filter(|d| !d.is_zero()),
        };
    }
    if let Some(class) = decode_moh_class(ctx, &f) {
        q.music_on_hold = class;
    }
    if let Some(d) = f
        .get("operator_ring_timeout")
        .and_then(|n| ctx.duration(n, "`operator_ring_timeout`"))
    {
        q.operator_ring_timeout = d;
    }
    if let Some(d) = f.get("wrap_up").and_then(|n| ctx.duration(n, "`wrap_up`")) {
        q.wrap_up = d;
    }
    if let Some(n) = f.get("fallback") {
        q.fallback = decode_actions(ctx, n, names);
    }
    if let Some(n) = f.get("after_max_wait") {
        q.after_max_wait = decode_actions(ctx, n, names);
    }
    q
}

pub(crate) fn decode_features(
    ctx: &mut Ctx,
    node: &Node,
    directory: &Directory,
    entries: &BTreeMap<String, Vec<Instr>>,
) -> Features {
    let mut features = Features::default();
    let Some(f) = ctx.fields(node, "`features`", &FEATURE_KEYS) else {
        return features;
    };
    let mut given: Vec<(&str, Pos, String)> = Vec::new();
    for key in FEATURE_KEYS {
        let Some(n) = f.get(key) else { continue };
        let code = match &n.value {
            Value::Bool(false) | Value::Null => None,
            _ => ctx.text(n, &format!("`{key}`")),
        };
        if let Some(c) = &code {
            let valid = !c.is_empty()
                && c.len() <= 32
                && c.chars().all(|ch| ch.is_ascii_digit() || ch == '*');
            if !valid {
                ctx.report(
                    n.pos,
                    format!("invalid feature code `{c}`"),
                    Some("digits and `*`, such as `*28` (quote it)".into()),
                    None,
                    None,
                );
                continue;
            }
            if directory.extensions.contains_key(c) || entries.contains_key(c) {
                ctx.error(
                    n.pos,
                    format!("feature code `{c}` is already a dialled number"),
                );
                continue;
            }
            if PREFIX_KEYS.contains(&key)
                && let Some(number) = directory
                    .extensions
                    .keys()
                    .chain(entries.keys())
                    .find(|number| number.starts_with(c.as_str()))
            {
                ctx.error(
                    n.pos,
                    format!("feature code `{c}` is followed by a number when dialled, so `{number}` would be read as this code and `{}`", &number[c.len()..]),
                );
                continue;
            }
            given.push((key, n.pos, c.clone()));
        }
        *features.slot(key) = code;
    }
    // Codes given here may also collide with defaults left in place. A code that begins
    // another would make dialling ambiguous (`*7` would end `*72201` early).
    let codes = features.codes();
    for (key, pos, code) in given {
        for (other, other_code) in &codes {
            if *other == key {
                continue;
            }
            if *other_code == code {
                ctx.error(
                    pos,
                    format!("feature code `{code}` is already used by `{other}`"),
                );
            } else if other_code.starts_with(code.as_str()) || code.starts_with(other_code) {
                ctx.report(
                    pos,
                    format!("feature code `{code}` of `{key}` and `{other_code}` of `{other}` begin alike, so dialling one is ambiguous"),
                    Some("codes of which none begins another, such as `*78` and `*72`".into()),
                    None,
                    None,
                );
            }
        }
    }
    features
}
