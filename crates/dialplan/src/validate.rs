//! Whole-plan checks that need every section: unreachable menus, loops a silent caller
//! never leaves, and prompt files that cannot be played.

use crate::decode::Ctx;
use crate::decode_directory::Numbering;
use crate::directory::{Account, Credential};
use crate::load::PromptChecker;
use crate::node::{Node, Pos};
use crate::plan::Plan;
use crate::program::{Instr, PromptRef};
use std::collections::BTreeSet;

/// Prompts the system itself plays (defaults, feature confirmations, queue announcements).
pub(crate) const SYSTEM_PROMPTS: [&str; 26] = [
    "invalid",
    "no_input",
    "goodbye",
    "busy",
    "no_answer",
    "unavailable",
    "operator_unavailable",
    "mode_automatic",
    "mode_manual",
    "you_are_caller_number",
    "operator_paused",
    "operator_available",
    "operator_logged_out",
    "please_hold",
    "transfer_failed",
    "dnd_on",
    "dnd_off",
    "forward_on",
    "forward_off",
    "feature_refused",
    "forward_refused",
    "guest_dnd",
    "press_0_operator",
    "restricted",
    "not_in_service",
    "number_changed",
];

/// What already holds `number` as a live number (one callers dial), if anything.
fn live_number(plan: &Plan, number: &str) -> Option<String> {
    if plan.directory.extensions.contains_key(number) {
        Some("an extension".into())
    } else if number == plan.operators().position {
        Some("the operator position".into())
    } else if let Some(g) = plan
        .groups
        .iter()
        .find(|g| g.number.as_deref() == Some(number))
    {
        Some(format!("the number of group `{}`", g.name))
    } else if plan.conference(number).is_some() {
        Some("a conference room".into())
    } else if plan.entry_numbers.contains_key(number) {
        Some("an entry number".into())
    } else if plan.paging_group(number).is_some() {
        Some("a paging group".into())
    } else if plan.features.claims(number) {
        Some("a feature code".into())
    } else if plan.accounts.get(number).is_some_and(|a| a.operator) {
        Some("an operator's user name".into())
    } else if plan.retired.contains(number) {
        Some("retired".into())
    } else {
        None
    }
}

/// Checks previous numbers and hotlines against every number of the plan, and adds the
/// previous numbers' alias accounts (an HA1 credential cannot serve another user name:
/// that is a warning, and the old number then has no account).
pub(crate) fn check_numbering(ctx: &mut Ctx, plan: &mut Plan, numbering: &Numbering) {
    for (i, previous) in numbering.previous.iter().enumerate() {
        let old = &previous.old;
        if let Some(what) = live_number(plan, old) {
            ctx.error(
                previous.pos,
                format!(
                    "previous number `{old}` of `{}` is also {what}",
                    previous.new
                ),
            );
            continue;
        }
        if let Some(first) = numbering.previous[..i].iter().find(|p| p.old == *old) {
            ctx.error(
                previous.pos,
                format!(
                    "previous number `{old}` is already a previous number of `{}` (line {})",
                    first.new, first.pos.line
                ),
            );
            continue;
        }
        plan.renumbered.insert(old.clone(), previous.new.clone());
        let Some(ext) = plan.directory.extensions.get(&previous.new) else {
            continue;
        };
        match &ext.credential {
            Some(Credential::Plain(password)) => {
                let account = Account {
                    user: old.clone(),
                    credential: Credential::Plain(password.clone()),
                    aors: vec![previous.new.clone(), old.clone()],
                    operator: false,
                    login_until: previous.login_until,
                };
                plan.accounts.insert(old.clone(), account);
            }
            Some(Credential::Ha1 { .. }) => ctx.warn(
                previous.pos,
                format!(
                    "previous number `{old}` of `{}` cannot log in: its HA1 credential is bound to the user name `{}`",
                    previous.new, previous.new
                ),
                Some(format!(
                    "`password` instead of `ha1_md5`/`ha1_sha256` on `{}` if phones still register as `{old}`",
                    previous.new
                )),
            ),
            None => {}
        }
    }
    for (ext, target, pos) in &numbering.hotlines {
        let reachable = plan.directory.extensions.contains_key(target)
            || *target == plan.operators().position
            || plan
                .groups
                .iter()
                .any(|g| g.number.as_deref() == Some(target.as_str()));
        if target == ext {
            ctx.error(
                *pos,
                format!("the hotline of `{ext}` is the extension itself"),
            );
        } else if !reachable {
            let suggestion = crate::diagnostic::suggest(
                target,
                plan.directory.extensions.keys().map(String::as_str),
            );
            ctx.report(
                *pos,
                format!("hotline `{target}` of `{ext}` is not an extension, a group number or the operator position"),
                None,
                None,
                suggestion,
            );
        }
    }
}

fn visit_menus(instrs: &[Instr], out: &mut Vec<usize>) {
    for instr in instrs {
        match instr {
            Instr::Menu { menu, .. } => out.push(*menu),
            Instr::If {
                then, otherwise, ..
            } => {
                visit_menus(then, out);
                visit_menus(otherwise, out);
            }
            Instr::Call {
                if_failed: Some(f), ..
            } => visit_menus(f, out),
            _ => {}
        }
    }
}

/// Reports menus nothing reaches and chains of menus a silent caller goes round forever.
pub(crate) fn check_menus(ctx: &mut Ctx, plan: &Plan, nodes: &[(String, Pos, Node)]) {
    let mut roots = Vec::new();
    for actions in plan.entry_numbers.values() {
        visit_menus(actions, &mut roots);
    }
    if let Some(actions) = &plan.outside_callers {
        visit_menus(actions, &mut roots);
    }
    visit_menus(&plan.attendant.manual, &mut roots);
    for q in &plan.queues {
        visit_menus(&q.fallback, &mut roots);
        visit_menus(&q.after_max_wait, &mut roots);
    }
    for g in &plan.groups {
        if let Some(f) = &g.fallback {
            visit_menus(f, &mut roots);
        }
    }
    let mut reached = vec![false; plan.menus.len()];
    let mut stack = roots;
    while let Some(m) = stack.pop() {
        if std::mem::replace(&mut reached[m], true) {
            continue;
        }
        let menu = &plan.menus[m];
        let mut next = Vec::new();
        for (_, actions) in &menu.routes {
            visit_menus(actions, &mut next);
        }
        visit_menus(&menu.on_invalid, &mut next);
        visit_menus(&menu.on_no_input, &mut next);
        visit_menus(&menu.after_retries, &mut next);
        stack.extend(next);
    }
    for (i, menu) in plan.menus.iter().enumerate() {
        if !reached[i] {
            let pos = nodes.get(i).map_or(menu.pos, |(_, p, _)| *p);
            ctx.report(
                pos,
                format!(
                    "menu `{}` is unreachable: no entry point, route or fallback leads to it",
                    menu.name
                ),
                Some("a `menu:` action or entry point naming it, or remove the menu".into()),
                None,
                None,
            );
        }
    }
    check_silent_loops(ctx, plan);
}

/// Where a caller who presses nothing goes after a menu: another menu, or out of the menus.
fn silent_next(plan: &Plan, m: usize) -> Option<usize> {
    let menu = &plan.menus[m];
    let first_exit = |actions: &[Instr]| actions.iter().find(|i| i.leaves_menu()).cloned();
    let exit = match first_exit(&menu.on_no_input) {
        Some(Instr::Repeat) | None => first_exit(&menu.after_retries),
        other => other,
    };
    match exit {
        Some(Instr::Menu { menu, .. }) => Some(menu),
        Some(Instr::Repeat) => Some(m),
        _ => None,
    }
}

fn check_silent_loops(ctx: &mut Ctx, plan: &Plan) {
    let mut reported: BTreeSet<Vec<usize>> = BTreeSet::new();
    for start in 0..plan.menus.len() {
        let mut path = vec![start];
        let mut current = start;
        while let Some(next) = silent_next(plan, current) {
            if let Some(i) = path.iter().position(|m| *m == next) {
                let mut cycle = path[i..].to_vec();
                let min = cycle
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, m)| **m)
                    .map_or(0, |(i, _)| i);
                cycle.rotate_left(min);
                if reported.insert(cycle.clone()) {
                    let names: Vec<&str> =
                        cycle.iter().map(|m| plan.menus[*m].name.as_str()).collect();
                    let first = &plan.menus[cycle[0]];
                    ctx.report(
                        first.after_retries_pos,
                        format!(
                            "loop with no way out: a caller who presses nothing goes round {} -> {} forever",
                            names.join(" -> "),
                            names[0]
                        ),
                        Some("`after_retries` somewhere in the loop to end with `hangup`, `operator` or a `call`".into()),
                        None,
                        None,
                    );
                }
                break;
            }
            path.push(next);
            current = next;
        }
    }
}

/// Checks every prompt used (in every language) and the system prompts, once per file.
pub(crate) fn check_prompts(
    ctx: &mut Ctx,
    plan: &Plan,
    uses: &[(PromptRef, Pos)],
    prompts_pos: Pos,
    checker: &dyn PromptChecker,
) {
    if let Err(reason) = checker.check_directory(&plan.prompt_dir) {
        ctx.report(
            prompts_pos,
            format!("the prompt directory {} cannot be used: {reason}", plan.prompt_dir.display()),
            Some("`prompts.directory` relative to the dialplan file, holding one directory per language".into()),
            None,
            None,
        );
        return;
    }
    let mut checked: BTreeSet<std::path::PathBuf> = BTreeSet::new();
    let system = SYSTEM_PROMPTS
        .iter()
        .map(|s| (*s).to_string())
        .chain((0..10).map(|d| format!("digit_{d}")))
        .map(|name| (PromptRef::Named(name), prompts_pos));
    let all: Vec<(PromptRef, Pos)> = uses.iter().cloned().chain(system).collect();
    for (prompt, pos) in all {
        let languages: Vec<&str> = match &prompt {
            PromptRef::Named(_) => plan.languages.iter().map(|(c, _)| c.as_str()).collect(),
            PromptRef::File(_) => vec![plan.settings.default_language.as_str()],
        };
        for lang in languages {
            let path = plan.prompt_path(lang, &prompt);
            if !checked.insert(path.clone()) {
                continue;
            }
            if let Err(reason) = checker.check(&path) {
                let what = match &prompt {
                    PromptRef::Named(n) if pos == prompts_pos => {
                        format!("system prompt `{n}` ({lang})")
                    }
                    PromptRef::Named(n) => format!("prompt `{n}` ({lang})"),
                    PromptRef::File(f) => format!("prompt `{f}`"),
                };
                ctx.report(
                    pos,
                    format!("missing or unreadable {what}: {}: {reason}", path.display()),
                    Some("a readable WAV file (8 or 16 kHz mono 16-bit PCM)".into()),
                    None,
                    None,
                );
            }
        }
    }
    let queues = plan
        .queues
        .iter()
        .map(|q| (&q.music_on_hold, format!("queue `{}`", q.name), prompts_pos));
    let music = plan.paging.iter().filter_map(|p| {
        let m = p.background_music.as_ref()?;
        Some((
            &m.music_on_hold,
            format!("the background music of paging group `{}`", p.number),
            m.pos,
        ))
    });
    for (class, whose, pos) in queues.chain(music) {
        let dir = plan.music_on_hold_dir(class);
        if let Err(reason) = checker.check_directory(&dir) {
            ctx.report(
                pos,
                format!(
                    "music-on-hold class `{class}` of {whose}: {}: {reason}",
                    dir.display()
                ),
                None,
                None,
                None,
            );
        }
    }
}
