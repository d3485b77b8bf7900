//! Actions as the dialplan writes them (`play`, `menu`, `call`, …), decoded into instructions
//! whose names are already resolved, so the interpreter never meets a dangling reference.

use crate::call::FailReason;
use crate::decode::{Ctx, quoted_list};
use crate::diagnostic::suggest;
use crate::directory::Directory;
use crate::node::{Node, Pos, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// A prompt as written: a name looked up per language, or a fixed file under the prompt directory.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum PromptRef {
    /// `welcome` means `<directory>/<language>/welcome.wav`.
    Named(String),
    /// `common/language_menu` means `<directory>/common/language_menu.wav` in every language.
    File(String),
}

impl PromptRef {
    pub fn parse(text: &str) -> PromptRef {
        if text.contains('/') {
            let file = if text.ends_with(".wav") {
                text.to_string()
            } else {
                format!("{text}.wav")
            };
            PromptRef::File(file)
        } else {
            PromptRef::Named(text.strip_suffix(".wav").unwrap_or(text).to_string())
        }
    }
}

/// What a call may be connected to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CallTarget {
    Extension(String),
    Group(usize),
}

/// One resolved instruction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Instr {
    Play(Vec<PromptRef>),
    Menu {
        menu: usize,
        pos: Pos,
    },
    Back,
    Repeat,
    Call {
        target: CallTarget,
        ring_timeout: Option<Duration>,
        if_failed: Option<Vec<Instr>>,
    },
    Queue(usize),
    /// Join the conference room with this index in the plan's `conferences`.
    Conference(usize),
    Hangup,
    Language(String),
    Set(Vec<(String, String)>),
    If {
        variable: String,
        equals: String,
        then: Vec<Instr>,
        otherwise: Vec<Instr>,
    },
    // The instructions below are made by the interpreter, never decoded from the file.
    /// Ring an extension past its do-not-disturb, forwarding and class of service.
    Override(String),
    /// Page the paging group with this index in the plan's `paging`.
    Page(usize),
    /// Refuse the (unanswered) call.
    Reject(FailReason),
    /// Tell the caller the extension does not disturb and offer the operator on `0`.
    OfferOperator,
    /// Collect keys in the current menu again, without its greeting.
    Collect,
}

impl Instr {
    /// True when control never comes back to the menu after this instruction.
    pub fn leaves_menu(&self) -> bool {
        match self {
            Instr::Menu { .. }
            | Instr::Back
            | Instr::Repeat
            | Instr::Call { .. }
            | Instr::Queue(_)
            | Instr::Conference(_)
            | Instr::Hangup
            | Instr::Override(_)
            | Instr::Page(_)
            | Instr::Reject(_)
            | Instr::OfferOperator
            | Instr::Collect => true,
            Instr::If {
                then, otherwise, ..
            } => then.iter().any(Instr::leaves_menu) && otherwise.iter().any(Instr::leaves_menu),
            Instr::Play(_) | Instr::Language(_) | Instr::Set(_) => false,
        }
    }
}

/// Names that actions may refer to, collected before any action is decoded.
pub(crate) struct Names<'a> {
    pub menus: BTreeMap<String, usize>,
    /// Groups by name and by number.
    pub groups: BTreeMap<String, usize>,
    pub queues: BTreeMap<String, usize>,
    pub languages: Vec<String>,
    pub directory: &'a Directory,
    pub operator_position: String,
    pub operator_queue: usize,
    /// Conference rooms by number.
    pub conferences: BTreeMap<String, usize>,
    /// Every prompt referenced, with the place it was first written.
    pub prompt_uses: Vec<(PromptRef, Pos)>,
}

const ACTION_KEYS: [&str; 12] = [
    "play",
    "menu",
    "call",
    "queue",
    "conference",
    "operator",
    "hangup",
    "language",
    "set",
    "if",
    "back",
    "repeat",
];
const BARE_ACTIONS: [&str; 5] = ["hangup", "operator", "back", "repeat", "message"];

/// Decodes one action or a list of actions.
pub(crate) fn decode_actions(ctx: &mut Ctx, node: &Node, names: &mut Names) -> Vec<Instr> {
    let mut out = Vec::new();
    match &node.value {
        Value::Seq(items) => {
            for item in items {
                if matches!(item.value, Value::Seq(_)) {
                    ctx.wrong_type(
                        item,
                        "an action",
                        "an action (lists inside lists are not allowed)",
                    );
                    continue;
                }
                out.extend(decode_action(ctx, item, names));
            }
        }
        _ => out.extend(decode_action(ctx, node, names)),
    }
    out
}

/// Decodes prompts: one name or a list of names.
pub(crate) fn decode_prompts(ctx: &mut Ctx, node: &Node, names: &mut Names) -> Vec<PromptRef> {
    let mut out = Vec::new();
    for item in ctx.one_or_many(node) {
        if let Some(text) = ctx.text(item, "a prompt") {
            if text.trim().is_empty() || text.contains("..") || text.starts_with('/') {
                ctx.report(
                    item.pos,
                    format!("invalid prompt name `{text}`"),
                    Some("a prompt name such as `welcome` or a file under the prompt directory such as `common/language_menu`".into()),
                    None,
                    None,
                );
                continue;
            }
            let prompt = PromptRef::parse(&text);
            names.prompt_uses.push((prompt.clone(), item.pos));
            out.push(prompt);
        }
    }
    out
}

fn decode_action(ctx: &mut Ctx, node: &Node, names: &mut Names) -> Option<Instr> {
    match &node.value {
        Value::Str(word) => bare_action(ctx, node, word, names),
        Value::Map(entries) if entries.len() == 1 => {
            let (key_node, value) = &entries[0];
            let key = ctx.text(key_node, "an action")?;
            keyed_action(ctx, key_node, &key, value, names)
        }
        Value::Map(entries) if entries.is_empty() => {
            ctx.wrong_type(
                node,
                "an action",
                "an action such as `play: welcome` or `menu: main`",
            );
            None
        }
        Value::Map(_) => {
            ctx.report(
                node.pos,
                "an action mapping must hold exactly one action",
                Some("a list with one action per line (`- play: …` then `- menu: …`)".into()),
                Some("several keys in one mapping".into()),
                None,
            );
            None
        }
        _ => {
            ctx.wrong_type(
                node,
                "an action",
                "an action such as `hangup`, `operator`, `play: welcome` or `menu: main`",
            );
            None
        }
    }
}

fn bare_action(ctx: &mut Ctx, node: &Node, word: &str, names: &mut Names) -> Option<Instr> {
    match word {
        "hangup" => Some(Instr::Hangup),
        "operator" => Some(Instr::Queue(names.operator_queue)),
        "back" => Some(Instr::Back),
        "repeat" => Some(Instr::Repeat),
        "message" => {
            reserved_message(ctx, node.pos);
            None
        }
        _ => {
            let suggestion = suggest(word, BARE_ACTIONS.iter().chain(ACTION_KEYS.iter()).copied());
            ctx.report(
                node.pos,
                format!("unknown action `{word}`"),
                if suggestion.is_none() {
                    Some(format!(
                        "one of {} or a mapping such as `play: welcome`",
                        quoted_list(&BARE_ACTIONS[..4])
                    ))
                } else {
                    None
                },
                None,
                suggestion,
            );
            None
        }
    }
}

fn reserved_message(ctx: &mut Ctx, pos: Pos) {
    ctx.error(
        pos,
        "the `message` action is reserved for the messages feature, which this version does not provide yet",
    );
}

fn keyed_action(
    ctx: &mut Ctx,
    key_node: &Node,
    key: &str,
    value: &Node,
    names: &mut Names,
) -> Option<Instr> {
    match key {
        "play" => Some(Instr::Play(decode_prompts(ctx, value, names))),
        "menu" => {
            let name = ctx.text(value, "`menu`")?;
            menu_ref(ctx, value, &name, names)
        }
        "call" => decode_call(ctx, value, names),
        "queue" => {
            let name = ctx.text(value, "`queue`")?;
            match names.queues.get(&name) {
                Some(q) => Some(Instr::Queue(*q)),
                None => {
                    let suggestion = suggest(&name, names.queues.keys().map(String::as_str));
                    ctx.report(
                        value.pos,
                        format!("no queue named `{name}`"),
                        None,
                        None,
                        suggestion,
                    );
                    None
                }
            }
        }
        "conference" => {
            let number = ctx.text(value, "`conference`")?;
            match names.conferences.get(&number) {
                Some(i) => Some(Instr::Conference(*i)),
                None => {
                    let suggestion = suggest(&number, names.conferences.keys().map(String::as_str));
                    ctx.report(
                        value.pos,
                        format!("no conference room with number `{number}`"),
                        Some("a number listed under `conferences`".into()),
                        None,
                        suggestion,
                    );
                    None
                }
            }
        }
        "language" => {
            let lang = ctx.text(value, "`language`")?;
            if names.languages.contains(&lang) {
                Some(Instr::Language(lang))
            } else {
                let known: Vec<&str> = names.languages.iter().map(String::as_str).collect();
                ctx.report(
                    value.pos,
                    format!("unknown language `{lang}`"),
                    Some(format!(
                        "one of the languages under `prompts.languages`: {}",
                        quoted_list(&known)
                    )),
                    None,
                    suggest(&lang, known.iter().copied()),
                );
                None
            }
        }
        "set" => {
            let entries = ctx.entries(value, "`set`")?;
            let mut vars = Vec::new();
            for (name, _, v) in entries {
                if let Some(text) = ctx.text(v, "a variable's value") {
                    vars.push((name, text));
                }
            }
            Some(Instr::Set(vars))
        }
        "if" => {
            let f = ctx.fields(value, "`if`", &["variable", "equals", "then", "else"])?;
            let variable = f
                .require(ctx, "variable", "`if`")
                .and_then(|n| ctx.text(n, "`variable`"));
            let equals = f
                .require(ctx, "equals", "`if`")
                .and_then(|n| ctx.text(n, "`equals`"));
            let then = f
                .require(ctx, "then", "`if`")
                .map(|n| decode_actions(ctx, n, names));
            let otherwise = f
                .get("else")
                .map(|n| decode_actions(ctx, n, names))
                .unwrap_or_default();
            Some(Instr::If {
                variable: variable?,
                equals: equals?,
                then: then?,
                otherwise,
            })
        }
        "hangup" | "operator" | "back" | "repeat" => {
            if !matches!(value.value, Value::Null) {
                ctx.wrong_type(value, &format!("`{key}`"), "nothing (write just `- {key}`)");
            }
            bare_action(ctx, key_node, key, names)
        }
        "message" => {
            reserved_message(ctx, key_node.pos);
            None
        }
        _ => {
            let suggestion = suggest(key, ACTION_KEYS.iter().copied());
            ctx.report(
                key_node.pos,
                format!("unknown action `{key}`"),
                if suggestion.is_none() {
                    Some(format!("one of {}", quoted_list(&ACTION_KEYS)))
                } else {
                    None
                },
                None,
                suggestion,
            );
            None
        }
    }
}

pub(crate) fn menu_ref(ctx: &mut Ctx, node: &Node, name: &str, names: &Names) -> Option<Instr> {
    match names.menus.get(name) {
        Some(m) => Some(Instr::Menu {
            menu: *m,
            pos: node.pos,
        }),
        None => {
            let suggestion = suggest(name, names.menus.keys().map(String::as_str));
            ctx.report(
                node.pos,
                format!("goto to a menu that does not exist: `{name}`"),
                None,
                None,
                suggestion,
            );
            None
        }
    }
}

fn decode_call(ctx: &mut Ctx, node: &Node, names: &mut Names) -> Option<Instr> {
    let (target_node, ring_timeout, if_failed) = if let Value::Map(_) = &node.value {
        let f = ctx.fields(node, "`call`", &["to", "ring_timeout", "if_failed"])?;
        let ring_timeout = f
            .get("ring_timeout")
            .and_then(|n| ctx.duration(n, "`ring_timeout`"));
        let if_failed = f.get("if_failed").map(|n| decode_actions(ctx, n, names));
        (f.require(ctx, "to", "`call`")?, ring_timeout, if_failed)
    } else {
        (node, None, None)
    };
    let to = ctx.text(target_node, "`call`")?;
    let target = resolve_target(ctx, target_node.pos, &to, names)?;
    Some(match target {
        Resolved::Operator => Instr::Queue(names.operator_queue),
        Resolved::Target(target) => Instr::Call {
            target,
            ring_timeout,
            if_failed,
        },
    })
}

enum Resolved {
    Operator,
    Target(CallTarget),
}

fn resolve_target(ctx: &mut Ctx, pos: Pos, to: &str, names: &Names) -> Option<Resolved> {
    if to == names.operator_position {
        return Some(Resolved::Operator);
    }
    if let Some(g) = names.groups.get(to) {
        return Some(Resolved::Target(CallTarget::Group(*g)));
    }
    if names.directory.extensions.contains_key(to) {
        return Some(Resolved::Target(CallTarget::Extension(to.to_string())));
    }
    let candidates: Vec<&str> = names
        .directory
        .extensions
        .keys()
        .chain(names.groups.keys())
        .map(String::as_str)
        .collect();
    ctx.report(
        pos,
        format!("`call` names `{to}`, which is neither an extension nor a group"),
        None,
        None,
        suggest(to, candidates),
    );
    None
}
