//! Loading: YAML text → node tree → decoded sections → validated [`Plan`].

use crate::decode::{Ctx, Fields};
use crate::decode_directory::{
    Numbering, decode_extension, decode_operators, decode_range, decode_retired,
};
use crate::decode_routing::{
    collect_groups, decode_features, decode_paging, decode_queue, default_queue,
};
use crate::diagnostic::{Diagnostic, Diagnostics, suggest};
use crate::directory::{Account, Directory, Operators};
use crate::node::{Node, Pos, Value};
use crate::plan::{Attendant, Plan};
use crate::program::{Instr, Names, decode_actions};
use crate::routing::Queue;
use crate::schedule::Mode;
use crate::settings::Settings;
use crate::{conference, menu, schedule, settings, validate};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Checks that a prompt file can be played. The server passes one that decodes the WAV.
pub trait PromptChecker {
    /// Returns Ok when the file at `path` is a playable prompt, or a short reason otherwise.
    fn check(&self, path: &Path) -> Result<(), String>;

    /// Returns Ok when `path` is a directory (used for music-on-hold classes).
    fn check_directory(&self, path: &Path) -> Result<(), String> {
        if path.is_dir() {
            Ok(())
        } else {
            Err("no such directory".into())
        }
    }
}

/// A [`PromptChecker`] that only checks that the file exists (for tests and `check` without audio decoding).
#[derive(Clone, Copy, Debug, Default)]
pub struct FileExists;

impl PromptChecker for FileExists {
    fn check(&self, path: &Path) -> Result<(), String> {
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() => Ok(()),
            Ok(_) => Err("not a file".into()),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Numbers each loaded plan, so a call can tell the plan it started on from a newer one.
static NEXT_PLAN_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

pub(crate) static NO_OPERATORS: Operators = Operators {
    position: String::new(),
    queue: String::new(),
    accounts: Vec::new(),
    vip_callers: Vec::new(),
};

pub(crate) const TOP_KEYS: [&str; 15] = [
    "settings",
    "prompts",
    "extensions",
    "ranges",
    "operators",
    "groups",
    "queues",
    "entry",
    "attendant",
    "features",
    "menus",
    "menu_templates",
    "conferences",
    "retired",
    "paging",
];

/// Reads and validates the dialplan file at `path`; prompt paths are relative to its directory.
pub fn load(path: &Path, checker: &dyn PromptChecker) -> Result<Plan, Diagnostics> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| Diagnostics {
        items: vec![Diagnostic {
            file: file.clone(),
            line: 0,
            column: 0,
            message: format!("cannot read the dialplan: {e}"),
            expected: None,
            found: None,
            suggestion: None,
        }],
    })?;
    let base = path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    load_str(&text, &file, &base, checker)
}

/// Validates dialplan text; `file_name` appears in diagnostics and `base_dir` anchors relative paths.
pub fn load_str(
    text: &str,
    file_name: &str,
    base_dir: &Path,
    checker: &dyn PromptChecker,
) -> Result<Plan, Diagnostics> {
    let mut ctx = Ctx::new(file_name);
    let root = match crate::node::parse(text) {
        Ok(root) => root,
        Err(e) => {
            ctx.error(e.pos, e.message);
            return Err(Diagnostics { items: ctx.diags }.finish());
        }
    };
    let plan = decode_plan(&mut ctx, &root, base_dir, checker);
    match plan {
        Some(plan) if ctx.diags.is_empty() => Ok(plan),
        _ => {
            if ctx.diags.is_empty() {
                ctx.error(root.pos, "the dialplan is empty");
            }
            Err(Diagnostics { items: ctx.diags }.finish())
        }
    }
}

fn decode_plan(
    ctx: &mut Ctx,
    root: &Node,
    base_dir: &Path,
    checker: &dyn PromptChecker,
) -> Option<Plan> {
    if matches!(root.value, Value::Null) {
        ctx.error(
            root.pos,
            "the dialplan is empty; see docs/dialplan.md for a complete example",
        );
        return None;
    }
    let top = ctx.fields(root, "the dialplan", &TOP_KEYS)?;
    let settings = top
        .get("settings")
        .map(|n| settings::decode(ctx, n))
        .unwrap_or_default();

    // Prompts and languages.
    let (prompt_dir, languages, prompts_pos) =
        decode_prompts_section(ctx, &top, base_dir, &settings);
    let language_codes: Vec<String> = languages.iter().map(|(c, _)| c.clone()).collect();

    // Directory.
    let mut directory = Directory::default();
    let mut accounts = BTreeMap::new();
    let mut weak = Vec::new();
    let mut positions: BTreeMap<String, Pos> = BTreeMap::new();
    let mut numbering = Numbering::default();
    if let Some(n) = top.get("extensions") {
        for item in ctx.list(n, "`extensions`") {
            decode_extension(
                ctx,
                item,
                &settings,
                &language_codes,
                &mut directory,
                &mut positions,
                &mut weak,
                &mut numbering,
            );
        }
    }
    // Retired numbers before ranges, which skip them.
    for (number, pos) in top
        .get("retired")
        .map(|n| decode_retired(ctx, n))
        .unwrap_or_default()
    {
        if let Some(at) = positions.get(&number) {
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
    if let Some(n) = top.get("ranges") {
        for item in ctx.list(n, "`ranges`") {
            decode_range(
                ctx,
                item,
                &settings,
                &language_codes,
                &mut directory,
                &mut positions,
                &mut weak,
                &mut numbering,
            );
        }
    }
    for ext in directory.extensions.values() {
        if let Some(credential) = &ext.credential {
            accounts.insert(
                ext.number.clone(),
                Account {
                    user: ext.number.clone(),
                    credential: credential.clone(),
                    aors: vec![ext.number.clone()],
                    operator: false,
                    login_until: None,
                },
            );
        }
    }
    let operators = top
        .get("operators")
        .and_then(|n| decode_operators(ctx, n, &positions, &mut accounts, &mut weak));
    let operators = operators.unwrap_or_else(|| Operators {
        position: "0".into(),
        queue: "operators".into(),
        accounts: Vec::new(),
        vip_callers: Vec::new(),
    });
    directory.operators = Some(operators.clone());
    weak.sort();
    weak.dedup();

    // Names first, bodies second, so every reference can be resolved in one pass.
    let (mut groups, group_nodes) =
        collect_groups(ctx, top.get("groups"), &directory, &operators, &positions);
    let mut group_index = BTreeMap::new();
    for (i, g) in groups.iter().enumerate() {
        group_index.insert(g.name.clone(), i);
        if let Some(number) = &g.number {
            group_index.insert(number.clone(), i);
        }
    }
    let conferences = top
        .get("conferences")
        .map(|n| {
            let taken = conference::TakenNumbers {
                extensions: &positions,
                operator_position: &operators.position,
                groups: groups.iter().filter_map(|g| g.number.as_deref()).collect(),
            };
            conference::decode(ctx, n, &taken)
        })
        .unwrap_or_default();
    let paging = top
        .get("paging")
        .map(|n| {
            let mut taken: BTreeMap<String, String> = positions
                .iter()
                .map(|(number, at)| (number.clone(), format!("an extension (line {})", at.line)))
                .collect();
            taken.insert(operators.position.clone(), "the operator position".into());
            for g in &groups {
                if let Some(number) = &g.number {
                    taken.insert(number.clone(), format!("the number of group `{}`", g.name));
                }
            }
            for c in &conferences {
                taken.insert(c.number.clone(), "a conference room".into());
            }
            decode_paging(ctx, n, &directory, &taken, &settings.time_zone)
        })
        .unwrap_or_default();
    let queue_nodes: Vec<(String, Pos, Node)> = top
        .get("queues")
        .and_then(|n| ctx.entries(n, "`queues`"))
        .unwrap_or_default()
        .into_iter()
        .map(|(name, k, v)| (name, k.pos, v.clone()))
        .collect();
    let mut queue_names: BTreeMap<String, usize> = BTreeMap::new();
    for (i, (name, _, _)) in queue_nodes.iter().enumerate() {
        queue_names.insert(name.clone(), i);
    }
    let operator_queue = match queue_names.get(&operators.queue) {
        Some(q) => *q,
        None => {
            if top.get("queues").is_some() && operators.queue != "operators" {
                ctx.error(
                    top.key_pos("operators").unwrap_or(root.pos),
                    format!(
                        "the operators' queue `{}` is not defined under `queues`",
                        operators.queue
                    ),
                );
            }
            queue_names.insert(operators.queue.clone(), queue_nodes.len());
            queue_nodes.len()
        }
    };
    let templates: Vec<(String, Pos, Node)> = top
        .get("menu_templates")
        .and_then(|n| ctx.entries(n, "`menu_templates`"))
        .unwrap_or_default()
        .into_iter()
        .map(|(name, k, v)| (name, k.pos, v.clone()))
        .collect();
    let menu_nodes: Vec<(String, Pos, Node)> = top
        .get("menus")
        .and_then(|n| ctx.entries(n, "`menus`"))
        .unwrap_or_default()
        .into_iter()
        .map(|(name, k, v)| (name, k.pos, v.clone()))
        .collect();
    let mut names = Names {
        menus: menu_nodes
            .iter()
            .enumerate()
            .map(|(i, (n, _, _))| (n.clone(), i))
            .collect(),
        groups: group_index.clone(),
        queues: queue_names,
        languages: language_codes.clone(),
        directory: &directory,
        operator_position: operators.position.clone(),
        operator_queue,
        conferences: conferences
            .iter()
            .enumerate()
            .map(|(i, c)| (c.number.clone(), i))
            .collect(),
        prompt_uses: Vec::new(),
    };

    for (group, node) in groups.iter_mut().zip(&group_nodes) {
        if let Some(n) = node {
            group.fallback = Some(decode_actions(ctx, n, &mut names));
        }
    }
    let mut queues: Vec<Queue> = queue_nodes
        .iter()
        .map(|(name, _, node)| decode_queue(ctx, name, node, &mut names))
        .collect();
    if operator_queue == queues.len() {
        queues.push(default_queue(&operators.queue));
    }

    // Templates are checked on their own too, so a mistake in an unused template is still reported.
    for (name, pos, node) in &templates {
        menu::decode(
            ctx,
            &format!("menu template `{name}`"),
            name,
            *pos,
            node,
            &mut names,
        );
    }
    let mut menus = Vec::new();
    for (name, pos, node) in &menu_nodes {
        let body = match menu_template(ctx, node, &templates) {
            Some(template) => menu::apply_template(node, template),
            None => node.clone(),
        };
        menus.push(menu::decode(
            ctx,
            &format!("menu `{name}`"),
            name,
            *pos,
            &body,
            &mut names,
        ));
    }

    // Entry points.
    let mut entry_numbers = BTreeMap::new();
    let mut outside_callers = None;
    let mut extensions_dial_directly = true;
    let mut entry_pos = top.key_pos("entry").unwrap_or(root.pos);
    if let Some(n) = top.get("entry") {
        entry_pos = n.pos;
        if let Some(f) = ctx.fields(
            n,
            "`entry`",
            &["numbers", "outside_callers", "extensions_dial_directly"],
        ) {
            for (number, key, value) in f
                .get("numbers")
                .and_then(|n| ctx.entries(n, "`numbers`"))
                .unwrap_or_default()
            {
                let is_group = groups
                    .iter()
                    .any(|g| g.number.as_deref() == Some(number.as_str()));
                let is_conference = conferences.iter().any(|c| c.number == number);
                let is_paging = paging.iter().any(|p| p.number == number);
                if directory.extensions.contains_key(&number)
                    || number == operators.position
                    || is_group
                    || is_conference
                    || is_paging
                {
                    ctx.error(
                        key.pos,
                        format!("entry number `{number}` is also an extension, a group, a conference, a paging group or the operator position"),
                    );
                }
                entry_numbers.insert(number, decode_actions(ctx, value, &mut names));
            }
            outside_callers = f
                .get("outside_callers")
                .map(|n| decode_actions(ctx, n, &mut names));
            if let Some(b) = f
                .get("extensions_dial_directly")
                .and_then(|n| ctx.boolean(n, "`extensions_dial_directly`"))
            {
                extensions_dial_directly = b;
            }
        }
    }
    if entry_numbers.is_empty() && outside_callers.is_none() && !menus.is_empty() {
        ctx.report(
            entry_pos,
            "no entry point leads callers to a menu",
            Some("`entry: { numbers: { \"1000\": { menu: main } } }` or `entry: { outside_callers: { menu: main } }`".into()),
            None,
            None,
        );
    }

    // Attendant modes.
    let mut attendant = Attendant {
        default_mode: Mode::Automatic,
        schedule: None,
        manual: vec![Instr::Queue(operator_queue)],
    };
    if let Some(n) = top.get("attendant")
        && let Some(f) = ctx.fields(n, "`attendant`", &["mode", "schedule", "manual"])
    {
        if let Some(mode) = f.get("mode").and_then(|n| schedule::decode_mode(ctx, n)) {
            attendant.default_mode = mode;
        }
        if let Some(n) = f.get("manual") {
            attendant.manual = decode_actions(ctx, n, &mut names);
        }
        if let Some(n) = f.get("schedule") {
            let values = schedule::Values::Keyed {
                key: "mode",
                decode: schedule::decode_mode,
            };
            attendant.schedule =
                schedule::decode(ctx, n, attendant.default_mode, values, &settings.time_zone);
        }
    }
    let features = top
        .get("features")
        .map(|n| decode_features(ctx, n, &directory, &entry_numbers))
        .unwrap_or_default();
    for room in &conferences {
        if features.claims(&room.number) {
            ctx.error(
                top.key_pos("conferences").unwrap_or(root.pos),
                format!("conference number `{}` is also a feature code", room.number),
            );
        }
    }
    for group in &paging {
        if features.claims(&group.number) {
            ctx.error(
                top.key_pos("paging").unwrap_or(root.pos),
                format!("paging number `{}` is also a feature code", group.number),
            );
        }
    }

    let prompt_uses = std::mem::take(&mut names.prompt_uses);
    drop(names);
    let mut plan = Plan {
        id: NEXT_PLAN_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        settings,
        directory,
        accounts,
        groups,
        group_index,
        queues,
        menus,
        entry_numbers,
        outside_callers,
        extensions_dial_directly,
        attendant,
        features,
        conferences,
        prompt_dir,
        languages,
        weak,
        renumbered: BTreeMap::new(),
        retired: numbering.retired.keys().cloned().collect(),
        paging,
        warnings: Vec::new(),
    };
    validate::check_numbering(ctx, &mut plan, &numbering);
    plan.warnings = std::mem::take(&mut ctx.warnings);
    validate::check_menus(ctx, &plan, &menu_nodes);
    validate::check_prompts(ctx, &plan, &prompt_uses, prompts_pos, checker);
    Some(plan)
}

fn menu_template<'t>(
    ctx: &mut Ctx,
    node: &Node,
    templates: &'t [(String, Pos, Node)],
) -> Option<&'t Node> {
    let Value::Map(entries) = &node.value else {
        return None;
    };
    let (_, value) = entries
        .iter()
        .find(|(k, _)| k.scalar_text().as_deref() == Some("template"))?;
    let name = ctx.text(value, "`template`")?;
    let found = templates
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, _, t)| t);
    if found.is_none() {
        ctx.report(
            value.pos,
            format!("no menu template named `{name}`"),
            None,
            None,
            suggest(&name, templates.iter().map(|(n, _, _)| n.as_str())),
        );
    }
    found
}

fn decode_prompts_section(
    ctx: &mut Ctx,
    top: &Fields,
    base_dir: &Path,
    settings: &Settings,
) -> (PathBuf, Vec<(String, String)>, Pos) {
    let mut dir = base_dir.join("prompts");
    let mut languages: Vec<(String, String)> = Vec::new();
    let pos = top.key_pos("prompts").unwrap_or(top.pos);
    if let Some(n) = top.get("prompts")
        && let Some(f) = ctx.fields(n, "`prompts`", &["directory", "languages"])
    {
        if let Some(d) = f.get("directory").and_then(|n| ctx.text(n, "`directory`")) {
            dir = base_dir.join(d);
        }
        if let Some(l) = f.get("languages") {
            for (code, key, value) in ctx.entries(l, "`languages`").unwrap_or_default() {
                if code.is_empty() || code.contains(['/', '\\', '.']) {
                    ctx.error(key.pos, format!("invalid language code `{code}`; expected a short code such as `en` or `zh`"));
                    continue;
                }
                let name = ctx
                    .text(value, "a language's display name")
                    .unwrap_or_else(|| code.clone());
                languages.push((code, name));
            }
        }
    }
    if languages.is_empty() {
        languages.push((
            settings.default_language.clone(),
            settings.default_language.clone(),
        ));
    } else if let Some(i) = languages
        .iter()
        .position(|(c, _)| *c == settings.default_language)
    {
        let default = languages.remove(i);
        languages.insert(0, default);
    } else {
        let known: Vec<&str> = languages.iter().map(|(c, _)| c.as_str()).collect();
        ctx.report(
            pos,
            format!(
                "the default language `{}` has no prompts",
                settings.default_language
            ),
            Some(format!(
                "`settings.default_language` to be one of {}",
                crate::decode::quoted_list(&known)
            )),
            None,
            suggest(&settings.default_language, known.iter().copied()),
        );
    }
    (dir, languages, pos)
}
