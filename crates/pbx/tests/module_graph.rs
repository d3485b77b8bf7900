//! The modules of `crates/pbx/src` must not import each other in a cycle.
//!
//! A module is a source file (`foo.rs` and `foo/mod.rs` are `foo`, `foo/bar.rs` is `foo::bar`,
//! `lib.rs` is the crate root). Module A refers to module B when A's code names B or an item in
//! B: in a `use` declaration (groups included) or in an inline path such as
//! `crate::queue::enter(..)`, `super::bridge::start(..)` or `view::Snapshot`. `super::` and
//! `self::` are resolved from the file's module (and any inline `mod tests { .. }` inside it),
//! names bound by `use` are followed (with `pub use call::CallKey` in `lib.rs`, `crate::CallKey`
//! is in `call`), and `mod x;` is not a reference. Comments and literals are stripped first.
//!
//! A parent module and its children always refer to each other (the parent declares and
//! re-exports them, they use its types), so the check compares siblings: for the crate root and
//! for every directory module, the edges between its children, each end collapsed to the child
//! that contains it, leaving out references from and to the parent's own file. So a reference
//! from `call/bridge.rs` to `queue/mod.rs` is the edge `call -> queue` among the top-level
//! modules, and `call/ivr.rs` naming `super::bridge` is `call::ivr -> call::bridge` within `call`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

/// References from feature modules up into the crate root (`crate::Pbx`, `crate::Output`) are not
/// cycles by the rule above, since the root is every module's parent. Set this to `true` to have
/// `pbx_modules_have_no_import_cycles` also list and fail on them ("feature code reaches up into
/// the crate root"). Off: the state and outputs every module works on live in `lib.rs` by design.
const REPORT_ROOT_REFERENCES: bool = false;

/// One place where module `from` names module `to` ("" is the crate root).
#[derive(Clone)]
struct Ref {
    from: String,
    to: String,
    at: String,
    path: String,
}

/// For each module, what the names its `use` declarations bind stand for (paths from the root).
type Imports = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// The tokens of a source file, each with its line: identifiers, `::` and other punctuation one
/// character at a time. Comments and string, byte-string, raw-string and character literals are
/// dropped; a lifetime `'a` comes out as `'` and `a`.
fn tokens(src: &str) -> Vec<(String, usize)> {
    let c: Vec<char> = src.chars().collect();
    let at = |j: usize| c.get(j).copied().unwrap_or(' ');
    let word = |ch: char| ch.is_alphanumeric() || ch == '_';
    let (mut out, mut line, mut i) = (Vec::new(), 1, 0);
    while i < c.len() {
        let start = i;
        match (c[i], at(i + 1)) {
            ('/', '/') => {
                i = c[i..]
                    .iter()
                    .position(|&ch| ch == '\n')
                    .map_or(c.len(), |n| i + n)
            }
            ('/', '*') => {
                let mut depth = 0;
                while i < c.len() {
                    match (c[i], at(i + 1)) {
                        ('/', '*') => (depth, i) = (depth + 1, i + 2),
                        ('*', '/') => (depth, i) = (depth - 1, i + 2),
                        _ => i += 1,
                    }
                    if depth == 0 {
                        break;
                    }
                }
            }
            (q @ ('"' | '\''), next) if q == '"' || next == '\\' || at(i + 2) == '\'' => {
                i += 1;
                while i < c.len() && c[i] != q {
                    i += if c[i] == '\\' { 2 } else { 1 };
                }
                i += 1;
            }
            (ch, _) if word(ch) => {
                while i < c.len() && word(c[i]) {
                    i += 1;
                }
                let w: String = c[start..i].iter().collect();
                let hashes = c[i..].iter().take_while(|&&ch| ch == '#').count();
                if matches!(w.as_str(), "r" | "br" | "cr") && at(i + hashes) == '"' {
                    // A raw string ends at a quote followed by as many `#` as it began with.
                    i += hashes + 1;
                    while i < c.len() && !(c[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#')) {
                        i += 1;
                    }
                    i += 1 + hashes;
                } else if !(matches!(w.as_str(), "b" | "c") && matches!(at(i), '"' | '\'')) {
                    out.push((w, line)); // (else the prefix of `b"…"` or `b'…'`, dropped)
                }
            }
            (ch, next) => {
                let n = if (ch, next) == (':', ':') { 2 } else { 1 };
                if !ch.is_whitespace() {
                    out.push((c[i..i + n].iter().collect(), line));
                }
                i += n;
            }
        }
        let span = &c[start..i.min(c.len())];
        line += span.iter().filter(|&&ch| ch == '\n').count();
    }
    out
}

/// A path as written: its segments, the name it binds if it comes from a `use`, its line and
/// the module it appears in (an inline `mod tests { .. }` included).
struct Written {
    segs: Vec<String>,
    binds: Option<String>,
    line: usize,
    scope: Vec<String>,
}

/// The paths one `use` declaration names, from the token after `use` through its `;`, groups
/// expanded: each with the name it binds (none for a glob) and the line of its last segment.
fn use_paths(t: &[(String, usize)], i: &mut usize) -> Vec<(Vec<String>, Option<String>, usize)> {
    let (mut out, mut path, mut groups, mut line) = (Vec::new(), Vec::new(), Vec::new(), 0);
    let mut binds: Option<Option<String>> = None; // `Some` once `path` is a whole path
    while let Some((tok, at)) = t.get(*i) {
        *i += 1;
        match tok.as_str() {
            "::" => {}
            "{" => groups.push(path.len()),
            "*" => (binds, line) = (Some(None), *at),
            "as" => (binds, *i) = (Some(t.get(*i).map(|(name, _)| name.clone())), *i + 1),
            "," | "}" | ";" => {
                if let Some(mut name) = binds.take() {
                    let mut segs = path.clone();
                    if segs.len() > 1 && segs.last().is_some_and(|s| s == "self") {
                        segs.pop(); // `a::{self, ..}` is `a`
                        name = name.filter(|n| n != "self").or(segs.last().cloned());
                    }
                    out.push((segs, name, line));
                }
                if tok == "}" {
                    groups.pop();
                }
                path.truncate(groups.last().copied().unwrap_or(0));
                if tok == ";" {
                    break;
                }
            }
            _ => {
                path.push(tok.clone());
                (binds, line) = (Some(Some(tok.clone())), *at);
            }
        }
    }
    out
}

/// Every path in the source of module `module`: each path its `use` declarations name and every
/// inline path `a::b(::c)*` that does not start with `::`.
fn written_paths(src: &str, module: &str) -> Vec<Written> {
    let t = tokens(src);
    let is = |j: usize, s: &str| t.get(j).is_some_and(|(tok, _)| tok == s);
    let ident = |j: usize| {
        let first = t.get(j).and_then(|(tok, _)| tok.chars().next());
        first.is_some_and(|c| c.is_alphabetic() || c == '_')
    };
    let mut scope: Vec<String> = module.split_terminator("::").map(String::from).collect();
    let (mut out, mut inline, mut depth, mut i) = (Vec::new(), Vec::new(), 0, 0);
    while i < t.len() {
        if is(i, "mod") && ident(i + 1) && is(i + 2, "{") {
            // An inline module: `super` inside it is the file's module. It ends at its `}`.
            scope.push(t[i + 1].0.clone());
            inline.push(depth);
            i += 1;
        } else if is(i, "{") {
            depth += 1;
        } else if is(i, "}") {
            depth -= 1;
            if inline.last() == Some(&depth) {
                inline.pop();
                scope.pop();
            }
        } else if is(i, "use") {
            i += 1;
            for (segs, binds, line) in use_paths(&t, &mut i) {
                let scope = scope.clone();
                out.push(Written {
                    segs,
                    binds,
                    line,
                    scope,
                });
            }
            continue;
        } else if ident(i) && is(i + 1, "::") && ident(i + 2) && !is(i.wrapping_sub(1), "::") {
            let (mut segs, line, scope) = (vec![t[i].0.clone()], t[i].1, scope.clone());
            while is(i + 1, "::") && ident(i + 2) {
                segs.push(t[i + 2].0.clone());
                i += 2;
            }
            out.push(Written {
                segs,
                binds: None,
                line,
                scope,
            });
        }
        i += 1;
    }
    out
}

/// The path from the crate root that a written path stands for, or `None` for paths outside
/// the crate. `imports` maps the names the file's `use` declarations bind to what they stand for.
fn absolute(
    w: &Written,
    imports: &BTreeMap<String, Vec<String>>,
    modules: &BTreeSet<String>,
) -> Option<Vec<String>> {
    let first = w.segs.first()?.as_str();
    let mut segs = w.segs.iter().peekable();
    let mut abs = match first {
        "super" | "self" => w.scope.clone(),
        "crate" => segs.next().map(|_| Vec::new())?,
        _ if modules.contains(&[&w.scope[..], &w.segs[..1]].concat().join("::")) => w.scope.clone(),
        _ => segs.next().and(imports.get(first).cloned())?,
    };
    while let Some(s) = segs.next_if(|s| *s == "super" || *s == "self") {
        if s == "super" {
            abs.pop()?;
        }
    }
    abs.extend(segs.cloned());
    Some(abs)
}

/// The module a path from the crate root is in: its longest prefix that is a module, after
/// following the names that module imports (a few hops at most, in case of a loop).
fn module_in(abs: &[String], modules: &BTreeSet<String>, imports: &Imports, hops: u8) -> String {
    let n = (0..=abs.len())
        .rev()
        .find(|&n| modules.contains(&abs[..n].join("::")));
    let m = abs[..n.unwrap_or(0)].join("::");
    match n.and_then(|n| Some((n, imports.get(&m)?.get(abs.get(n)?)?))) {
        Some((n, to)) if hops < 8 => {
            module_in(&[to, &abs[n + 1..]].concat(), modules, imports, hops + 1)
        }
        _ => m,
    }
}

/// Module path of a source file given relative to `src/` (`call/mod.rs` is `call`, `lib.rs` "").
fn module_of(file: &str) -> String {
    let f = file.trim_end_matches(".rs").trim_end_matches("/mod");
    if f == "lib" {
        String::new()
    } else {
        f.replace('/', "::")
    }
}

/// All references between different modules of a crate given as (path relative to `src/`,
/// source) pairs; `shown` is put before the paths in the references' locations.
fn scan(files: &[(String, String)], shown: &str) -> (BTreeSet<String>, Vec<Ref>) {
    let modules: BTreeSet<String> = files.iter().map(|(f, _)| module_of(f)).collect();
    let (mut written, mut imports) = (Vec::new(), Imports::new());
    for (file, src) in files {
        let module = module_of(file);
        let paths = written_paths(src, &module);
        let no_imports = BTreeMap::new();
        let bound = paths
            .iter()
            .filter_map(|w| Some((w.binds.clone()?, absolute(w, &no_imports, &modules)?)));
        imports.insert(module.clone(), bound.collect());
        written.push((file, paths, module));
    }
    let mut refs = Vec::new();
    for (file, paths, from) in &written {
        for w in paths {
            let Some(abs) = absolute(w, &imports[from], &modules) else {
                continue;
            };
            let to = module_in(&abs, &modules, &imports, 0);
            if to != *from {
                let (at, path) = (format!("{shown}{file}:{}", w.line), w.segs.join("::"));
                refs.push(Ref {
                    from: from.clone(),
                    to,
                    at,
                    path,
                });
            }
        }
    }
    (modules, refs)
}

/// The child of `parent` that contains `module`, if `module` is strictly inside `parent`.
fn child_of(parent: &str, module: &str) -> Option<String> {
    let rest = match parent {
        "" => module,
        _ => module.strip_prefix(parent)?.strip_prefix("::")?,
    };
    let first = rest.split("::").next().filter(|s| !s.is_empty())?;
    Some(module[..module.len() - rest.len() + first.len()].to_string())
}

/// The edges between siblings, under the crate root and under every directory module, each
/// with its first reference.
fn sibling_edges(modules: &BTreeSet<String>, refs: &[Ref]) -> BTreeMap<(String, String), Ref> {
    let parents: BTreeSet<&str> = modules
        .iter()
        .filter(|m| !m.is_empty())
        .map(|m| m.rsplit_once("::").map_or("", |(p, _)| p))
        .collect();
    let mut edges = BTreeMap::new();
    for parent in parents {
        for r in refs {
            if let (Some(a), Some(b)) = (child_of(parent, &r.from), child_of(parent, &r.to))
                && a != b
            {
                edges.entry((a, b)).or_insert_with(|| r.clone());
            }
        }
    }
    edges
}

/// Cycles that together cover every edge lying on one: for each such edge `a -> b` not yet
/// shown, `a` followed by the shortest way from `b` back to `a`.
fn cycles(edges: &BTreeMap<(String, String), Ref>) -> Vec<Vec<String>> {
    let shortest_path = |from: &String, to: &String| -> Option<Vec<String>> {
        let mut came_from = BTreeMap::from([(from, from)]);
        let mut queue = VecDeque::from([from]);
        while let Some(m) = queue.pop_front() {
            for (_, next) in edges.keys().filter(|(a, _)| a == m) {
                if !came_from.contains_key(next) {
                    came_from.insert(next, m);
                    queue.push_back(next);
                }
            }
        }
        let mut path = vec![to.clone()];
        while path.last()? != from {
            path.push(came_from.get(path.last()?)?.to_string());
        }
        Some(path.into_iter().rev().collect())
    };
    let (mut shown, mut out) = (BTreeSet::new(), Vec::new());
    for (a, b) in edges.keys() {
        if !shown.contains(&(a.clone(), b.clone()))
            && let Some(back) = shortest_path(b, a)
        {
            let cycle: Vec<String> = std::iter::once(a.clone()).chain(back).collect();
            shown.extend(cycle.windows(2).map(|w| (w[0].clone(), w[1].clone())));
            out.push(cycle);
        }
    }
    out
}

/// What is wrong, readably, or "" when nothing is.
fn report(modules: &BTreeSet<String>, refs: &[Ref], root_references: bool) -> String {
    let edges = sibling_edges(modules, refs);
    let mut out = String::new();
    for cycle in cycles(&edges) {
        out += &format!("import cycle: {}\n", cycle.join(" -> "));
        for w in cycle.windows(2) {
            let r = &edges[&(w[0].clone(), w[1].clone())];
            out += &format!("    {} -> {}: {} `{}`\n", w[0], w[1], r.at, r.path);
        }
    }
    let mut seen = BTreeSet::new(); // each path once per module
    for r in refs.iter().filter(|r| root_references && r.to.is_empty()) {
        if !seen.insert((&r.from, &r.path)) {
            continue;
        }
        let up = "feature code reaches up into the crate root";
        out += &format!("{up}: {} {} `{}`\n", r.from, r.at, r.path);
    }
    out
}

fn real_crate() -> (BTreeSet<String>, Vec<Ref>) {
    fn walk(dir: &Path, src: &Path, out: &mut Vec<(String, String)>) {
        for path in std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()) {
            if path.is_dir() {
                walk(&path, src, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let name = path.strip_prefix(src).unwrap().display().to_string();
                out.push((name, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &src, &mut files);
    files.sort();
    scan(&files, "crates/pbx/src/")
}

#[test]
fn the_real_crate_is_scanned() {
    let (modules, refs) = real_crate();
    let edges = sibling_edges(&modules, &refs).len();
    assert!(modules.len() >= 10, "{modules:?}");
    let n = refs.len();
    assert!(n >= 10 && edges >= 10, "{n} references, {edges} edges");
}

#[test]
fn pbx_modules_have_no_import_cycles() {
    let (modules, refs) = real_crate();
    let report = report(&modules, &refs, REPORT_ROOT_REFERENCES);
    assert!(report.is_empty(), "import cycles in pbx:\n{report}");
}

// The scanner itself, on small crates in memory.

/// A crate written as one text in which each file starts with a line `//- path`.
fn crate_of(text: &str) -> (BTreeSet<String>, Vec<Ref>) {
    let files = text.split("//- ").skip(1).map(|file| {
        let (name, src) = file.split_once('\n').unwrap_or((file, ""));
        (name.trim().to_string(), src.to_string())
    });
    scan(&files.collect::<Vec<_>>(), "")
}

fn edges_of(text: &str) -> String {
    let (modules, refs) = crate_of(text);
    let edges = sibling_edges(&modules, &refs).into_keys();
    edges
        .map(|(a, b)| format!("{a} -> {b}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn a_cycle_is_reported_with_its_references() {
    let (modules, refs) = crate_of(
        "//- lib.rs
        mod a; mod b; mod c;
        //- a.rs
        use crate::b::Thing;
        //- b.rs
        fn f() {
            crate::c::run();
        }
        //- c.rs
        fn g() { crate::a::go(); }",
    );
    let report = report(&modules, &refs, false);
    let expected = "import cycle: a -> b -> c -> a
    a -> b: a.rs:1 `crate::b::Thing`
    b -> c: b.rs:2 `crate::c::run`
    c -> a: c.rs:1 `crate::a::go`
";
    assert_eq!(report, expected);
}

#[test]
fn a_dag_passes() {
    let text = "//- lib.rs
        mod a; mod b; mod c; pub use a::A; fn f() { b::g(); }
        //- a.rs
        use crate::b::B; use crate::c; fn f() { c::h(); }
        //- b.rs
        use crate::c::{C, D};
        //- c.rs
        use crate::Pbx; use std::fmt;";
    assert_eq!(edges_of(text), "a -> b, a -> c, b -> c");
    let (modules, refs) = crate_of(text);
    assert_eq!(report(&modules, &refs, false), "");
    let up = "feature code reaches up into the crate root: c c.rs:1 `crate::Pbx`\n";
    assert_eq!(report(&modules, &refs, true), up);
}

#[test]
fn super_and_self_resolve_from_the_file_module() {
    let text = "//- lib.rs
        mod call; mod queue;
        //- call/mod.rs
        mod bridge; mod ivr; pub use bridge::X; fn f() { self::ivr::go() }
        //- call/bridge.rs
        use super::Call; fn f() { super::super::queue::enter(); }
        //- call/ivr.rs
        fn f() { super::bridge::start(); self::helper(); }
        //- queue.rs
        mod tests { use super::*; } // `super` is `queue` itself here";
    let (_, refs) = crate_of(text);
    let refs: Vec<_> = refs
        .iter()
        .map(|r| format!("{} -> {}", r.from, r.to))
        .collect();
    let expected = "call -> call::bridge, call -> call::ivr, call::bridge -> call, \
                    call::bridge -> queue, call::ivr -> call::bridge";
    assert_eq!(refs.join(", "), expected);
    // `call` and `call::bridge` refer to each other, but a parent and its child are no cycle.
    assert_eq!(edges_of(text), "call -> queue, call::ivr -> call::bridge");
}

#[test]
fn grouped_uses_aliases_and_re_exports_are_followed() {
    let text = "//- lib.rs
        mod a; mod b; mod c; mod d; mod e; pub use c::C;
        //- a.rs
        use crate::{b, c::{self, C}, d::{deep::X as Y}};
        //- b.rs
        use crate::e as other; fn f() { other::run(); } fn g() -> crate::C { todo!() }
        //- c.rs
        //- d/mod.rs
        mod deep; mod deeper;
        //- d/deep.rs
        use crate::d::{self, *}; fn f() { d::deeper::go(); }
        //- d/deeper.rs
        //- e.rs
        fn f() { x.collect::<Vec<_>>(); ::b::f(); crate::c::f() }";
    let expected = "a -> b, a -> c, a -> d, b -> c, b -> e, d::deep -> d::deeper, e -> c";
    assert_eq!(edges_of(text), expected);
}

#[test]
fn comments_and_literals_are_ignored() {
    let (_, refs) = crate_of(
        r####"//- lib.rs
        mod a; mod b;
        //- b.rs
        // crate::a::x
        /// crate::a::x
        /* crate::a /* nested */ crate::a::x */
        const S: &str = "crate::a::x \" crate::a::x";
        const R: &str = r#"crate::a::x " crate::a::x"#;
        const B: &[u8] = b"crate::a::x";
        const Q: char = '"'; const E: char = '\''; fn l<'a>(x: &'a str) {}
        fn real() { crate::a::f() }
        //- a.rs"####,
    );
    let found: Vec<_> = refs
        .iter()
        .map(|r| format!("{} {}", r.at, r.path))
        .collect();
    assert_eq!(found, ["b.rs:8 crate::a::f"]);
}
