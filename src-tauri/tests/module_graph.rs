//! The shell's modules import each other in one direction only: commands → the call loop →
//! adapters → crates. A cycle (two modules reaching each other through `crate::`) fails here,
//! with the path that closes it, before it can grow back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// `src/x.rs` is `x`, `src/commands/y.rs` is `commands::y`; `lib.rs`, `main.rs` and `mod.rs`
/// only declare and wire; `tests.rs` is the shell's own test code.
fn module_name(source: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(source).ok()?.with_extension("");
    let parts: Vec<String> = relative.iter().map(|part| part.to_string_lossy().into_owned()).collect();
    match parts.last().map(String::as_str) {
        Some("lib" | "main" | "mod" | "tests") | None => None,
        _ => Some(parts.join("::")),
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The modules `code` names through `crate::` (tests excluded): `crate::a::b` is `a`, or
/// `a::b` when `a::b` is a module; `use crate::{a, b::c}` names each.
fn imports(code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let code = code.split("#[cfg(test)]").next().unwrap_or_default();
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inside = &group[..group.find('}').unwrap_or(group.len())];
            paths.extend(inside.split(',').map(|path| path.trim().to_owned()));
        } else {
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(rest.len());
            paths.push(rest[..end].to_owned());
        }
    }
    paths
        .into_iter()
        .filter_map(|path| {
            let parts: Vec<&str> = path.split("::").filter(|part| !part.is_empty()).collect();
            let two = parts.get(..2).map(|pair| pair.join("::"));
            match two {
                Some(two) if modules.contains(&two) => Some(two),
                _ => parts.first().map(|first| (*first).to_owned()),
            }
        })
        .collect()
}

/// The adapters: each holds one thing outside the shell (the account and its keychain, the sound
/// devices, the database, the tray, the call engines, the log, the notification service, the
/// window's web process, the greeting files, the operating system's sleep signals, the update
/// feed, Telnyx's Call Control, the recordings folder, the team's database). The crate root wires
/// them to each other.
const ADAPTERS: [&str; 14] = [
    "account",
    "audio",
    "call_control",
    "database",
    "desktop",
    "engine",
    "greetings",
    "logging",
    "notifications",
    "power",
    "recordings",
    "team",
    "updates",
    "web_process",
];
/// What any module may use: the coded errors, the clock, and the connection state the status bar
/// and the tray show.
const SHARED: [&str; 3] = ["clock", "connection", "errors"];
/// The rest: the call loop, what the commands share (which number a dial goes to), and the
/// dialing session, which dials as the agent would (through the loop's `ask`, handed to it by the
/// wiring).
const ORCHESTRATION: [&str; 5] = ["call_loop", "dialing", "dialing_session", "login_item", "window_life"];

/// Every module of the shell and the modules it names through `crate::`.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&source, &mut files);
    let named: Vec<(String, PathBuf)> =
        files.iter().filter_map(|file| module_name(&source, file).map(|name| (name, file.clone()))).collect();
    let modules: BTreeSet<String> = named.iter().map(|(name, _)| name.clone()).collect();
    assert!(modules.contains("call_loop") && modules.contains("commands::calls"), "modules found: {modules:?}");

    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, file) in &named {
        let code = std::fs::read_to_string(file).expect("a source file");
        let mut edges = imports(&code, &modules);
        edges.remove(name);
        for target in &edges {
            assert!(
                modules.contains(target),
                "{name} reaches crate::{target}, which is no module: the crate root only wires"
            );
        }
        graph.insert(name.clone(), edges);
    }
    graph
}

#[test]
fn adapters_know_no_other_adapter() {
    let graph = module_graph();
    for (name, edges) in &graph {
        let known = ADAPTERS.contains(&name.as_str())
            || SHARED.contains(&name.as_str())
            || ORCHESTRATION.contains(&name.as_str())
            || name.starts_with("commands::");
        assert!(known, "{name} is no adapter, shared module, orchestration or command: say which in this test");
        if ADAPTERS.contains(&name.as_str()) || SHARED.contains(&name.as_str()) {
            let others: Vec<&String> = edges.iter().filter(|edge| !SHARED.contains(&edge.as_str())).collect();
            assert!(
                others.is_empty(),
                "{name} reaches {others:?}: an adapter uses crates and {SHARED:?} only; let the crate root hand it what it needs"
            );
        }
    }
}

#[test]
fn no_module_of_the_shell_reaches_back_to_one_that_reaches_it() {
    let graph = module_graph();

    // Depth-first search; a module met again on the current path closes a cycle.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|on_path| on_path == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        if let Some(cycle) = visit(module, &graph, &mut Vec::new(), &mut done) {
            panic!("an import cycle among the shell's modules: {}", cycle.join(" → "));
        }
    }
    // Nothing but the commands reaches the loop (the dialing session gets its `ask` from the wiring).
    for (name, edges) in &graph {
        if edges.contains("call_loop") {
            assert!(name.starts_with("commands::"), "{name} reaches the call loop: send it a CallEvent instead");
        }
    }
}

#[test]
fn the_import_reader_sees_paths_groups_and_submodules() {
    let modules: BTreeSet<String> = ["a", "b", "c", "commands", "commands::x"].map(str::to_owned).into();
    let code = "use crate::a::Thing;\nuse crate::{b, c::f};\nfn g() { crate::commands::x::run(); }\n\
                #[cfg(test)]\nmod tests { use crate::d; }";
    let found = imports(code, &modules);
    assert_eq!(found, ["a", "b", "c", "commands::x"].map(str::to_owned).into());
}
