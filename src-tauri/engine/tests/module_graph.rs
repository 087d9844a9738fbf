//! The engine's modules form no cycle (issue 15): for every module, the graph of "child A uses
//! child B" between its children is acyclic, so each folder can be read bottom-up.
//!
//! Read from the source text, not the compiler: every `crate::…`, `super::…` and `self::…` path
//! (in `use` trees and inline) of every file under `src/`, test-only items (`#[cfg(test)]`)
//! left out. A reference from `a/x.rs` to anything under `b/` is an edge `a → b` among the
//! children of the crate root, and one from `store/conversations.rs` to `store/messages.rs` an
//! edge `conversations → messages` among the children of `store`. A module using its own parent
//! or children is not an edge (a folder's `mod.rs` holds what its files share).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

/// One use of another module: where it was written and the path as written, for the failure message.
#[derive(Clone, Debug)]
struct Reference {
    file: String,
    path: String,
}

#[test]
fn the_engine_modules_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = ModuleGraph::read(&src);
    assert!(graph.modules.len() > 20, "the source tree was not found or not read: {:?}", graph.modules);
    let cycles = graph.cycles();
    assert!(cycles.is_empty(), "module cycles in the engine:\n{}", cycles.join("\n"));
}

#[test]
fn a_cycle_between_siblings_is_found_and_a_parent_child_use_is_not() {
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
        std::fs::write(path, text).expect("write");
    };
    write("lib.rs", "pub mod store; pub mod pricing;");
    write("store/mod.rs", "pub mod a; pub mod b; pub struct Db; pub use a::A;");
    write("store/a.rs", "use super::{Db, b::B}; pub struct A;");
    write("store/b.rs", "pub struct B; fn f() { let _ = crate::store::a::A; }\n// crate::pricing::P in a comment\n#[cfg(test)]\nmod tests { use crate::pricing::P; }");
    write("pricing/mod.rs", "use crate::store::Db; pub struct P; const S: &str = \"crate::store::b\";");
    let cycles = ModuleGraph::read(dir.path()).cycles();
    assert_eq!(cycles.len(), 1, "{cycles:?}");
    assert!(cycles[0].starts_with("in store: a → b → a"), "{}", cycles[0]);
}

struct ModuleGraph {
    modules: BTreeSet<Module>,
    /// For each parent module, edges between its children, with one reference as the example.
    edges: BTreeMap<Module, BTreeMap<(String, String), Reference>>,
}

impl ModuleGraph {
    fn read(src: &Path) -> ModuleGraph {
        let mut files = Vec::new();
        collect_rs_files(src, &mut files);
        let modules: BTreeSet<Module> = files.iter().map(|f| module_of(src, f)).collect();
        let mut edges: BTreeMap<Module, BTreeMap<(String, String), Reference>> = BTreeMap::new();
        for file in &files {
            let from = module_of(src, file);
            let text = std::fs::read_to_string(file).expect("read a source file");
            let code = without_test_items(&strip_comments_and_literals(&text));
            for written in paths_in(&code) {
                let Some(target) = resolve(&from, &written) else {
                    continue;
                };
                let to = longest_known_prefix(&modules, &target);
                let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
                if common == from.len() || common == to.len() {
                    continue; // the module itself, an ancestor or a descendant
                }
                let parent = from[..common].to_vec();
                let reference = Reference {
                    file: file.strip_prefix(src).unwrap_or(file).display().to_string(),
                    path: written.join("::"),
                };
                edges.entry(parent).or_default().entry((from[common].clone(), to[common].clone())).or_insert(reference);
            }
        }
        ModuleGraph { modules, edges }
    }

    /// Every strongly connected group of two or more siblings, as "in PARENT: a → b → a (file: path; …)".
    fn cycles(&self) -> Vec<String> {
        let mut found = Vec::new();
        for (parent, edges) in &self.edges {
            let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for (a, b) in edges.keys() {
                next.entry(a).or_default().push(b);
            }
            for component in strongly_connected(&next) {
                if component.len() < 2 {
                    continue;
                }
                let cycle = cycle_within(&next, &component);
                let examples: Vec<String> = cycle
                    .windows(2)
                    .map(|w| {
                        let r = &edges[&(w[0].to_string(), w[1].to_string())];
                        format!("{} uses {}", r.file, r.path)
                    })
                    .collect();
                let name = if parent.is_empty() { "the crate root".to_string() } else { parent.join("::") };
                found.push(format!("in {name}: {} ({}); the whole group: {:?}", cycle.join(" → "), examples.join("; "), component));
            }
        }
        found
    }
}

fn collect_rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("read src dir").filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_rs_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `lib.rs` → [], `a.rs` and `a/mod.rs` → [a], `a/b.rs` → [a, b].
fn module_of(src: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(src).expect("file under src");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// `crate::a::b` → [a, b]; `super::x` → the parent of `from` + [x]; `self::x` → `from` + [x].
/// A file that is not a `mod.rs` is a module inside its folder's module, so its `super` is the
/// folder; a `mod.rs` is the folder, so its `super` is the folder's parent.
fn resolve(from: &Module, written: &[String]) -> Option<Module> {
    let mut base = match written.first().map(String::as_str) {
        Some("crate") => Vec::new(),
        Some("self") => from.clone(),
        Some("super") => from.clone(),
        _ => return None,
    };
    let mut rest = &written[1..];
    if written[0] == "super" {
        base.pop()?;
        while rest.first().map(String::as_str) == Some("super") {
            base.pop()?;
            rest = &rest[1..];
        }
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

fn longest_known_prefix(modules: &BTreeSet<Module>, path: &Module) -> Module {
    (0..=path.len()).rev().map(|n| path[..n].to_vec()).find(|m| modules.contains(m)).unwrap_or_default()
}

/// The source with comments, string and char literals blanked, so that a path in a doc comment
/// or a SQL string is not read as a use.
fn strip_comments_and_literals(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !is_ident_char(i.checked_sub(1).map(|p| chars[p])) {
            // a raw string r"…" or r#"…"#
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' {
            // a char literal ('a', '\n', '\u{1F600}') or a lifetime ('a)
            if next == Some('\\') {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push_str("' '");
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push_str("' '");
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_ident_char(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// The code with every item marked `#[cfg(test)]` removed (up to its `;` or its closing brace).
fn without_test_items(code: &str) -> String {
    let marker = "#[cfg(test)]";
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find(marker) {
        out.push_str(&rest[..at]);
        let item = &rest[at + marker.len()..];
        let mut depth = 0usize;
        let mut end = item.len();
        for (k, ch) in item.char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = k + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = k + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

/// Every path starting with `crate::`, `super::` or `self::`, with `use` groups expanded
/// (`crate::{a::X, b::{Y, Z}}` → crate::a::X, crate::b::Y, crate::b::Z).
fn paths_in(code: &str) -> Vec<Vec<String>> {
    let tokens = tokenize(code);
    let mut found = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i].as_str();
        let starts = matches!(t, "crate" | "super" | "self")
            && tokens.get(i + 1).map(String::as_str) == Some("::")
            && !(i > 0 && tokens[i - 1] == "::");
        if starts {
            let (paths, end) = use_tree(&tokens, i, Vec::new());
            found.extend(paths);
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    found
}

/// Reads `seg :: seg :: ( {tree, tree} | seg )` from `at`; returns the full paths and where it ended.
fn use_tree(tokens: &[String], mut at: usize, mut prefix: Vec<String>) -> (Vec<Vec<String>>, usize) {
    loop {
        match tokens.get(at).map(String::as_str) {
            Some("{") => {
                let mut all = Vec::new();
                at += 1;
                loop {
                    match tokens.get(at).map(String::as_str) {
                        Some("}") => return (all, at + 1),
                        Some(",") => at += 1,
                        None => return (all, at),
                        _ => {
                            let (paths, end) = use_tree(tokens, at, prefix.clone());
                            all.extend(paths);
                            if end == at {
                                at += 1; // something unexpected: step over it
                            } else {
                                at = end;
                            }
                        }
                    }
                }
            }
            Some(t) if t.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_') => {
                prefix.push(t.to_string());
                at += 1;
                if tokens.get(at).map(String::as_str) == Some("::") {
                    at += 1;
                } else {
                    return (vec![prefix], at);
                }
            }
            _ => return (if prefix.is_empty() { vec![] } else { vec![prefix] }, at),
        }
    }
}

/// Identifiers, `::`, and every other character as its own token.
fn tokenize(code: &str) -> Vec<String> {
    let chars: Vec<char> = code.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            tokens.push("::".into());
            i += 2;
        } else if c.is_whitespace() {
            i += 1;
        } else {
            tokens.push(c.to_string());
            i += 1;
        }
    }
    tokens
}

/// Tarjan's strongly connected components.
fn strongly_connected<'a>(next: &BTreeMap<&'a str, Vec<&'a str>>) -> Vec<Vec<&'a str>> {
    struct State<'a> {
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        components: Vec<Vec<&'a str>>,
    }
    fn visit<'a>(v: &'a str, next: &BTreeMap<&'a str, Vec<&'a str>>, s: &mut State<'a>) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for &w in next.get(v).map(Vec::as_slice).unwrap_or(&[]) {
            if !s.index.contains_key(w) {
                visit(w, next, s);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(lw);
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).expect("visited");
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w);
                if w == v {
                    break;
                }
            }
            component.sort();
            s.components.push(component);
        }
    }
    let mut s = State { index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), on_stack: BTreeSet::new(), components: Vec::new() };
    for &v in next.keys() {
        if !s.index.contains_key(v) {
            visit(v, next, &mut s);
        }
    }
    s.components
}

/// One cycle through the first member of a strongly connected group, found breadth-first.
fn cycle_within<'a>(next: &BTreeMap<&'a str, Vec<&'a str>>, group: &[&'a str]) -> Vec<&'a str> {
    let start = group[0];
    let members: BTreeSet<&str> = group.iter().copied().collect();
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &w in next.get(v).map(Vec::as_slice).unwrap_or(&[]) {
            if !members.contains(w) {
                continue;
            }
            if w == start {
                let mut path = vec![v];
                let mut at = v;
                while at != start {
                    at = came_from[at];
                    path.push(at);
                }
                path.reverse();
                path.push(start);
                return path;
            }
            if !came_from.contains_key(w) {
                came_from.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    group.to_vec()
}
