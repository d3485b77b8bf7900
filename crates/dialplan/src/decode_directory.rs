//! Decoding the directory: extensions, number ranges, credentials and operators.

use crate::decode::{Ctx, Fields, quoted_list};
use crate::diagnostic::suggest;
use crate::directory::{
    Account, Credential, DEMO_PASSWORDS, DEMO_ROOM_PASSWORD, Directory, Extension, ExtensionKind,
    NumberRange, Operator, Operators,
};
use crate::node::{Node, Pos};
use crate::settings::Settings;
use std::collections::BTreeMap;

/// The most numbers one range may generate.
const MAX_RANGE: u64 = 10_000;

/// The most numbers the whole directory may hold.
const MAX_DIRECTORY: u64 = 100_000;

pub(crate) const EXTENSION_KEYS: [&str; 12] = [
    "number",
    "name",
    "password",
    "ha1_md5",
    "ha1_sha256",
    "language",
    "voicemail",
    "vip",
    "kind",
    "record",
    "hotline",
    "previous_numbers",
];
pub(crate) const RANGE_KEYS: [&str; 11] = [
    "numbers",
    "name",
    "password",
    "ha1_md5",
    "ha1_sha256",
    "language",
    "voicemail",
    "vip",
    "kind",
    "record",
    "retired",
];

/// A number an extension had before it was renumbered (`previous_numbers:`).
#[derive(Clone, Debug)]
pub(crate) struct PreviousNumber {
    pub old: String,
    pub new: String,
    pub login_until: Option<jiff::civil::Date>,
    pub pos: Pos,
}

/// What the directory says about numbers beyond the extensions themselves, kept with
/// positions for the checks that need the whole plan.
#[derive(Clone, Debug, Default)]
pub(crate) struct Numbering {
    /// Old numbers of renumbered extensions, in file order.
    pub previous: Vec<PreviousNumber>,
    /// Hotlines: the extension, its target and where the target was written.
    pub hotlines: Vec<(String, String, Pos)>,
    /// Retired numbers (top level and per range) with the place each was written.
    pub retired: BTreeMap<String, Pos>,
}

/// Reads `first-last` (two numbers of the same length) as numbers and their width.
pub(crate) fn parse_span(text: &str) -> Option<(u64, u64, usize)> {
    let (a, b) = text.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    if !(is_number(a) && is_number(b) && a.len() == b.len() && a.len() <= 18) {
        return None;
    }
    Some((a.parse().ok()?, b.parse().ok()?, a.len()))
}

/// Reads a `retired:` list: numbers, or spans such as `8128-8130`, each with its position.
pub(crate) fn decode_retired(ctx: &mut Ctx, node: &Node) -> Vec<(String, Pos)> {
    let mut out = Vec::new();
    for item in ctx.list(node, "`retired`") {
        let Some(text) = ctx.text(item, "a retired number") else {
            continue;
        };
        if is_number(&text) {
            out.push((text, item.pos));
            continue;
        }
        match parse_span(&text) {
            Some((first, last, width)) if first <= last && last - first < MAX_RANGE => {
                out.extend((first..=last).map(|n| (format!("{n:0width$}"), item.pos)));
            }
            _ => ctx.report(
                item.pos,
                format!("invalid retired number `{text}`"),
                Some(format!(
                    "a number such as `8130`, or a span such as `8128-8130` of at most {MAX_RANGE} numbers"
                )),
                None,
                None,
            ),
        }
    }
    out
}

/// Reads `previous_numbers:` of the extension `new`: numbers, or `{ number, login_until }`.
fn decode_previous(ctx: &mut Ctx, node: &Node, new: &str, numbering: &mut Numbering) {
    for item in ctx.list(node, "`previous_numbers`") {
        let (number_node, until_node) = match &item.value {
            crate::node::Value::Map(_) => {
                let Some(f) = ctx.fields(item, "a previous number", &["number", "login_until"])
                else {
                    continue;
                };
                let Some(n) = f.require(ctx, "number", "a previous number") else {
                    continue;
                };
                (n, f.get("login_until"))
            }
            _ => (item, None),
        };
        let Some(old) = ctx.text(number_node, "a previous number") else {
            continue;
        };
        if !is_number(&old) {
            ctx.report(
                number_node.pos,
                format!("invalid previous number `{old}`"),
                Some("digits only, such as `203`".into()),
                None,
                None,
            );
            continue;
        }
        let mut login_until = None;
        if let Some(u) = until_node
            && let Some(text) = ctx.text(u, "`login_until`")
        {
            match text.parse::<jiff::civil::Date>() {
                Ok(date) => login_until = Some(date),
                Err(_) => {
                    ctx.report(
                        u.pos,
                        format!("invalid date `{text}` for `login_until`"),
                        Some("a date such as `2027-01-31`".into()),
                        None,
                        None,
                    );
                    continue;
                }
            }
        }
        numbering.previous.push(PreviousNumber {
            old,
            new: new.to_string(),
            login_until,
            pos: number_node.pos,
        });
    }
}

/// Reads the parts shared by extensions and ranges; `number` is filled by the caller.
fn decode_common(
    ctx: &mut Ctx,
    f: &Fields,
    settings: &Settings,
    languages: &[String],
    kind: ExtensionKind,
) -> Extension {
    let mut ext = Extension {
        number: String::new(),
        name: String::new(),
        credential: decode_credential(ctx, f),
        language: settings.default_language.clone(),
        voicemail: false,
        vip: false,
        kind,
        record: false,
        hotline: None,
        previous_numbers: Vec::new(),
    };
    if let Some(name) = f.get("name").and_then(|n| ctx.text(n, "`name`")) {
        ext.name = name;
    }
    if let Some(n) = f.get("language")
        && let Some(lang) = ctx.text(n, "`language`")
    {
        if languages.contains(&lang) {
            ext.language = lang;
        } else {
            let known: Vec<&str> = languages.iter().map(String::as_str).collect();
            ctx.report(
                n.pos,
                format!("unknown language `{lang}`"),
                Some(format!(
                    "one of the languages under `prompts.languages`: {}",
                    quoted_list(&known)
                )),
                None,
                suggest(&lang, known.iter().copied()),
            );
        }
    }
    if let Some(b) = f
        .get("voicemail")
        .and_then(|n| ctx.boolean(n, "`voicemail`"))
    {
        ext.voicemail = b;
    }
    if let Some(b) = f.get("vip").and_then(|n| ctx.boolean(n, "`vip`")) {
        ext.vip = b;
    }
    if let Some(b) = f.get("record").and_then(|n| ctx.boolean(n, "`record`")) {
        ext.record = b;
    }
    if let Some(n) = f.get("kind")
        && let Some(k) = ctx.text(n, "`kind`")
    {
        match ExtensionKind::from_name(&k) {
            Some(kind) => ext.kind = kind,
            None => ctx.report(
                n.pos,
                format!("unknown kind `{k}`"),
                Some(format!("one of {}", quoted_list(&ExtensionKind::NAMES))),
                None,
                suggest(&k, ExtensionKind::NAMES.iter().copied()),
            ),
        }
    }
    ext
}

fn decode_credential(ctx: &mut Ctx, f: &Fields) -> Option<Credential> {
    let password = f.get("password").and_then(|n| ctx.text(n, "`password`"));
    let hex = |ctx: &mut Ctx, key: &str, len: usize| -> Option<String> {
        let node = f.get(key)?;
        let text = ctx.text(node, &format!("`{key}`"))?.to_lowercase();
        if text.len() == len && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            Some(text)
        } else {
            ctx.report(
                node.pos,
                format!("`{key}` is not a valid hash"),
                Some(format!(
                    "{len} hexadecimal characters (H(user:realm:password))"
                )),
                Some(format!("{} characters", text.chars().count())),
                None,
            );
            None
        }
    };
    let md5 = hex(ctx, "ha1_md5", 32);
    let sha256 = hex(ctx, "ha1_sha256", 64);
    match (password, md5.is_some() || sha256.is_some()) {
        (Some(p), false) => {
            if p.is_empty() {
                ctx.error(
                    f.key_pos("password").unwrap_or(f.pos),
                    "`password` is empty",
                );
            }
            Some(Credential::Plain(p))
        }
        (Some(_), true) => {
            ctx.error(
                f.key_pos("password").unwrap_or(f.pos),
                "give either `password` or `ha1_md5`/`ha1_sha256`, not both",
            );
            None
        }
        (None, true) => Some(Credential::Ha1 { md5, sha256 }),
        (None, false) => None,
    }
}

pub(crate) fn is_number(text: &str) -> bool {
    !text.is_empty() && text.len() <= 32 && text.bytes().all(|b| b.is_ascii_digit())
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn decode_extension(
    ctx: &mut Ctx,
    node: &Node,
    settings: &Settings,
    languages: &[String],
    directory: &mut Directory,
    positions: &mut BTreeMap<String, Pos>,
    weak: &mut Vec<String>,
    numbering: &mut Numbering,
) {
    let Some(f) = ctx.fields(node, "an extension", &EXTENSION_KEYS) else {
        return;
    };
    let mut ext = decode_common(ctx, &f, settings, languages, ExtensionKind::Staff);
    let Some(number_node) = f.require(ctx, "number", "an extension") else {
        return;
    };
    let Some(number) = ctx.text(number_node, "`number`") else {
        return;
    };
    if !is_number(&number) {
        ctx.report(
            number_node.pos,
            format!("invalid extension number `{number}`"),
            Some("digits only, such as `201`".into()),
            None,
            None,
        );
        return;
    }
    if let Some(first) = positions.get(&number) {
        ctx.error(
            number_node.pos,
            format!(
                "duplicate extension `{number}` (first defined at line {})",
                first.line
            ),
        );
        return;
    }
    if ext.name.is_empty() {
        ext.name = number.clone();
    }
    if matches!(&ext.credential, Some(Credential::Plain(p)) if DEMO_PASSWORDS.contains(&p.as_str()))
    {
        weak.push(number.clone());
    }
    if let Some(n) = f.get("hotline")
        && let Some(target) = ctx.text(n, "`hotline`")
    {
        numbering
            .hotlines
            .push((number.clone(), target.clone(), n.pos));
        ext.hotline = Some(target);
    }
    if let Some(n) = f.get("previous_numbers") {
        let before = numbering.previous.len();
        decode_previous(ctx, n, &number, numbering);
        ext.previous_numbers = numbering.previous[before..]
            .iter()
            .map(|p| p.old.clone())
            .collect();
    }
    ext.number = number.clone();
    positions.insert(number.clone(), number_node.pos);
    directory.extensions.insert(number, ext);
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn decode_range(
    ctx: &mut Ctx,
    node: &Node,
    settings: &Settings,
    languages: &[String],
    directory: &mut Directory,
    positions: &mut BTreeMap<String, Pos>,
    weak: &mut Vec<String>,
    numbering: &mut Numbering,
) {
    let Some(f) = ctx.fields(node, "a range", &RANGE_KEYS) else {
        return;
    };
    let template = decode_common(ctx, &f, settings, languages, ExtensionKind::Room);
    let Some(numbers_node) = f.require(ctx, "numbers", "a range") else {
        return;
    };
    let Some(text) = ctx.text(numbers_node, "`numbers`") else {
        return;
    };
    let Some((first, last, width)) = parse_span(&text) else {
        ctx.report(
            numbers_node.pos,
            format!("invalid number range `{text}`"),
            Some("two numbers of the same length, such as `8101-8130`".into()),
            None,
            None,
        );
        return;
    };
    if first <= last && directory.extensions.len() as u64 + (last - first) >= MAX_DIRECTORY {
        ctx.error(
            numbers_node.pos,
            format!("the directory would exceed {MAX_DIRECTORY} numbers with this range"),
        );
        return;
    }
    if first > last || last - first >= MAX_RANGE {
        ctx.report(
            numbers_node.pos,
            format!("invalid number range `{text}`"),
            Some(format!(
                "a first number not above the last, and at most {MAX_RANGE} numbers"
            )),
            None,
            None,
        );
        return;
    }
    let mut template = template;
    if template.name.is_empty() {
        template.name = "{number}".into();
    }
    let is_demo =
        matches!(&template.credential, Some(Credential::Plain(p)) if p == DEMO_ROOM_PASSWORD);
    let range = NumberRange {
        first,
        last,
        width,
        template,
    };
    let own_retired = f
        .get("retired")
        .map(|n| decode_retired(ctx, n))
        .unwrap_or_default();
    for (number, pos) in own_retired {
        let inside = number.len() == width
            && number
                .parse::<u64>()
                .is_ok_and(|n| (first..=last).contains(&n));
        if !inside {
            ctx.error(
                pos,
                format!("retired number `{number}` is not in this range `{text}`"),
            );
        } else if let Some(at) = positions.get(&number) {
            ctx.error(
                pos,
                format!(
                    "retired number `{number}` is also an extension (line {})",
                    at.line
                ),
            );
        } else {
            numbering.retired.entry(number).or_insert(pos);
        }
    }
    for n in first..=last {
        if numbering.retired.contains_key(&range.format(n)) {
            continue;
        }
        let ext = range.expand(n);
        if let Some(at) = positions.get(&ext.number) {
            ctx.error(
                numbers_node.pos,
                format!("duplicate extension `{}`: this range includes a number already defined at line {}", ext.number, at.line),
            );
            return;
        }
        if is_demo {
            weak.push(ext.number.clone());
        }
        positions.insert(ext.number.clone(), numbers_node.pos);
        directory.extensions.insert(ext.number.clone(), ext);
    }
}

pub(crate) fn decode_operators(
    ctx: &mut Ctx,
    node: &Node,
    positions: &BTreeMap<String, Pos>,
    accounts: &mut BTreeMap<String, Account>,
    weak: &mut Vec<String>,
) -> Option<Operators> {
    let f = ctx.fields(
        node,
        "`operators`",
        &["position", "queue", "accounts", "vip_callers"],
    )?;
    let mut ops = Operators {
        position: "0".into(),
        queue: "operators".into(),
        accounts: Vec::new(),
        vip_callers: Vec::new(),
    };
    for item in f
        .get("vip_callers")
        .map(|n| ctx.list(n, "`vip_callers`"))
        .unwrap_or_default()
    {
        let Some(number) = ctx.text(item, "a VIP caller number") else {
            continue;
        };
        if !is_number(number.strip_prefix('+').unwrap_or(&number)) {
            ctx.report(
                item.pos,
                format!("invalid VIP caller number `{number}`"),
                Some("digits, optionally after a `+`, such as `+4930123456`".into()),
                None,
                None,
            );
        } else if ops.vip_callers.contains(&number) {
            ctx.error(item.pos, format!("VIP caller `{number}` is listed twice"));
        } else {
            ops.vip_callers.push(number);
        }
    }
    if let Some(n) = f.get("position")
        && let Some(p) = ctx.text(n, "`position`")
    {
        if let Some(at) = positions.get(&p) {
            ctx.error(
                n.pos,
                format!(
                    "the operator position `{p}` is also an extension (line {})",
                    at.line
                ),
            );
        } else if !is_number(&p) {
            ctx.report(
                n.pos,
                format!("invalid operator position `{p}`"),
                Some("digits only, such as `0`".into()),
                None,
                None,
            );
        } else {
            ops.position = p;
        }
    }
    if let Some(q) = f.get("queue").and_then(|n| ctx.text(n, "`queue`")) {
        ops.queue = q;
    }
    for item in f
        .get("accounts")
        .map(|n| ctx.list(n, "`accounts`"))
        .unwrap_or_default()
    {
        let Some(a) = ctx.fields(
            item,
            "an operator account",
            &["user", "name", "password", "ha1_md5", "ha1_sha256"],
        ) else {
            continue;
        };
        let credential = decode_credential(ctx, &a);
        let Some(user_node) = a.require(ctx, "user", "an operator account") else {
            continue;
        };
        let Some(user) = ctx.text(user_node, "`user`") else {
            continue;
        };
        if user.is_empty() || user.contains([' ', '@', ':', '"']) {
            ctx.report(
                user_node.pos,
                format!("invalid user name `{user}`"),
                Some("a name without spaces, `@`, `:` or quotes, such as `op1`".into()),
                None,
                None,
            );
            continue;
        }
        if let Some(at) = positions.get(&user) {
            ctx.error(
                user_node.pos,
                format!(
                    "operator user `{user}` is also an extension number (line {})",
                    at.line
                ),
            );
            continue;
        }
        if accounts.contains_key(&user) {
            ctx.error(user_node.pos, format!("duplicate account `{user}`"));
            continue;
        }
        let Some(credential) = credential else {
            ctx.error(
                a.pos,
                format!("operator `{user}` has no `password` (or `ha1_md5`/`ha1_sha256`)"),
            );
            continue;
        };
        if matches!(&credential, Credential::Plain(p) if DEMO_PASSWORDS.contains(&p.as_str())) {
            weak.push(user.clone());
        }
        let name = a
            .get("name")
            .and_then(|n| ctx.text(n, "`name`"))
            .unwrap_or_else(|| user.clone());
        accounts.insert(
            user.clone(),
            Account {
                user: user.clone(),
                credential: credential.clone(),
                aors: vec![ops.position.clone()],
                operator: true,
                login_until: None,
            },
        );
        ops.accounts.push(Operator {
            user,
            name,
            credential,
        });
    }
    Some(ops)
}
