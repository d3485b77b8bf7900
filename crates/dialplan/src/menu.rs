//! Menus: a greeting, what each key does, direct dialling, and what happens on mistakes.

use crate::decode::Ctx;
use crate::node::{Node, Pos, Value};
use crate::program::{Instr, Names, PromptRef, decode_actions, decode_prompts};
use std::time::Duration;

/// A decoded menu.
#[derive(Clone, Debug)]
pub(crate) struct Menu {
    pub name: String,
    pub pos: Pos,
    pub greeting: Vec<PromptRef>,
    pub interruptible: bool,
    /// Key sequences (digits and `*`) and their actions, in file order.
    pub routes: Vec<(String, Vec<Instr>)>,
    pub direct_dial: bool,
    pub connect_prompt: Vec<PromptRef>,
    pub max_digits: usize,
    pub input_timeout: Duration,
    pub digit_timeout: Duration,
    pub retries: u32,
    pub on_invalid: Vec<Instr>,
    pub on_no_input: Vec<Instr>,
    pub after_retries: Vec<Instr>,
    /// Where `after_retries` was written (or the menu, for the default).
    pub after_retries_pos: Pos,
}

pub(crate) const MENU_KEYS: [&str; 13] = [
    "template",
    "greeting",
    "interruptible",
    "routes",
    "direct_dial",
    "connect_prompt",
    "max_digits",
    "input_timeout",
    "digit_timeout",
    "retries",
    "on_invalid",
    "on_no_input",
    "after_retries",
];

/// Applies a template: the menu's own keys win, and `routes` are merged key by key.
pub(crate) fn apply_template(menu: &Node, template: &Node) -> Node {
    let (Value::Map(own), Value::Map(base)) = (&menu.value, &template.value) else {
        return menu.clone();
    };
    let mut merged: Vec<(Node, Node)> = Vec::new();
    for (k, v) in base {
        let key = k.scalar_text();
        if key.as_deref() == Some("template") {
            continue;
        }
        let overridden = own.iter().find(|(ok, _)| ok.scalar_text() == key);
        match overridden {
            Some((ok, ov)) if key.as_deref() == Some("routes") => {
                let mut routes = match &v.value {
                    Value::Map(r) => r.clone(),
                    _ => Vec::new(),
                };
                if let Value::Map(own_routes) = &ov.value {
                    routes.retain(|(rk, _)| {
                        !own_routes
                            .iter()
                            .any(|(ork, _)| ork.scalar_text() == rk.scalar_text())
                    });
                    routes.extend(own_routes.iter().cloned());
                    merged.push((
                        ok.clone(),
                        Node {
                            pos: ov.pos,
                            value: Value::Map(routes),
                        },
                    ));
                } else {
                    merged.push((ok.clone(), ov.clone()));
                }
            }
            Some((ok, ov)) => merged.push((ok.clone(), ov.clone())),
            None => merged.push((k.clone(), v.clone())),
        }
    }
    for (k, v) in own {
        let key = k.scalar_text();
        if !base.iter().any(|(bk, _)| bk.scalar_text() == key) {
            merged.push((k.clone(), v.clone()));
        }
    }
    Node {
        pos: menu.pos,
        value: Value::Map(merged),
    }
}

/// Decodes one menu body (after its template has been applied).
/// `what` names the menu in messages, for example "menu `main`" or "menu template `base`".
pub(crate) fn decode(
    ctx: &mut Ctx,
    what: &str,
    name: &str,
    pos: Pos,
    node: &Node,
    names: &mut Names,
) -> Menu {
    let mut menu = Menu {
        name: name.to_string(),
        pos,
        greeting: Vec::new(),
        interruptible: true,
        routes: Vec::new(),
        direct_dial: false,
        connect_prompt: Vec::new(),
        max_digits: 4,
        input_timeout: Duration::from_secs(5),
        digit_timeout: Duration::from_secs(3),
        retries: 3,
        on_invalid: vec![Instr::Play(vec![PromptRef::Named("invalid".into())])],
        on_no_input: vec![Instr::Play(vec![PromptRef::Named("no_input".into())])],
        after_retries: vec![
            Instr::Play(vec![PromptRef::Named("goodbye".into())]),
            Instr::Hangup,
        ],
        after_retries_pos: pos,
    };
    let Some(f) = ctx.fields(node, what, &MENU_KEYS) else {
        return menu;
    };
    if let Some(n) = f.get("greeting") {
        menu.greeting = decode_prompts(ctx, n, names);
    }
    if let Some(b) = f
        .get("interruptible")
        .and_then(|n| ctx.boolean(n, "`interruptible`"))
    {
        menu.interruptible = b;
    }
    if let Some(b) = f
        .get("direct_dial")
        .and_then(|n| ctx.boolean(n, "`direct_dial`"))
    {
        menu.direct_dial = b;
    }
    if let Some(n) = f.get("connect_prompt") {
        menu.connect_prompt = decode_prompts(ctx, n, names);
    }
    if let Some(v) = f
        .get("max_digits")
        .and_then(|n| ctx.number(n, "`max_digits`", 1, 32))
    {
        menu.max_digits = usize::try_from(v).unwrap_or(4);
    }
    if let Some(d) = f
        .get("input_timeout")
        .and_then(|n| ctx.duration(n, "`input_timeout`"))
    {
        menu.input_timeout = d;
    }
    if let Some(d) = f
        .get("digit_timeout")
        .and_then(|n| ctx.duration(n, "`digit_timeout`"))
    {
        menu.digit_timeout = d;
    }
    if let Some(v) = f
        .get("retries")
        .and_then(|n| ctx.number(n, "`retries`", 0, 20))
    {
        menu.retries = u32::try_from(v).unwrap_or(3);
    }
    if let Some(n) = f.get("on_invalid") {
        menu.on_invalid = decode_actions(ctx, n, names);
    }
    if let Some(n) = f.get("on_no_input") {
        menu.on_no_input = decode_actions(ctx, n, names);
    }
    if let Some(n) = f.get("after_retries") {
        menu.after_retries = decode_actions(ctx, n, names);
        menu.after_retries_pos = f.key_pos("after_retries").unwrap_or(n.pos);
    }
    if let Some(n) = f.get("routes") {
        decode_routes(ctx, n, what, &mut menu, names);
    }
    menu
}

fn decode_routes(ctx: &mut Ctx, node: &Node, what: &str, menu: &mut Menu, names: &mut Names) {
    let Value::Map(entries) = &node.value else {
        ctx.wrong_type(
            node,
            &format!("`routes` of {what}"),
            "a mapping from keys to actions (`\"1\": menu: info`)",
        );
        return;
    };
    let mut seen: Vec<(String, Pos)> = Vec::new();
    for (key_node, value) in entries {
        let Some(key) = key_node.scalar_text() else {
            ctx.wrong_type(key_node, "a menu key", "digits such as `1` or `*9`");
            continue;
        };
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_digit() || c == '*') {
            ctx.report(
                key_node.pos,
                format!("invalid menu key `{key}` in {what}"),
                Some("digits 0-9 and `*` (`#` ends input and cannot start a route)".into()),
                None,
                None,
            );
            continue;
        }
        if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
            ctx.error(
                key_node.pos,
                format!(
                    "duplicate menu digit `{key}` in {what} (first given at line {})",
                    first.line
                ),
            );
            continue;
        }
        seen.push((key.clone(), key_node.pos));
        if key.chars().count() > menu.max_digits {
            ctx.report(
                key_node.pos,
                format!(
                    "menu key `{key}` is longer than `max_digits` ({}) of {what}",
                    menu.max_digits
                ),
                None,
                None,
                None,
            );
        }
        let actions = decode_actions(ctx, value, names);
        menu.routes.push((key, actions));
    }
}
