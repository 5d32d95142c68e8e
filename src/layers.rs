//! The library's layers, checked: every `crate::` path in the library's code (comments and
//! unit tests left out) must point to a module of a lower layer, and the runtime, the
//! checker, the scripts and the graph must not reach into the AST. A new back-edge fails
//! this test; the ones that are known debt are listed, and the list must shrink as they go
//! (a listed edge that is gone fails the test too, so the list stays true).

/// Each module of the library and its layer: a module may use modules of lower layers.
const LAYERS: &[(&str, u8)] = &[
    ("source", 0),
    ("diagnostic", 1),
    ("model", 1),
    ("stdlib", 0),
    ("probe", 0),
    ("state", 0),
    ("syntax", 2),
    ("render", 2),
    ("explain", 2),
    ("format", 3),
    ("load", 3),
    ("ir", 4),
    // BMAD-METHOD projects read as stories: the checker and the runtime both read them.
    ("project", 4),
    ("script", 5),
    ("check", 6),
    ("graph", 7),
    ("runtime", 7),
    // The crate root: check_text, check_path, Checked.
    ("<root>", 8),
    ("engine", 9),
    ("repl", 9),
    // The language server: a front over the checker, the formatter and the parser.
    ("lsp", 10),
    // Agent tasks on Temporal workers: above the runtime and the crate root's checker.
    ("temporal", 9),
    // `bmad serve`, the web view: a front over the store, the runtime's events and the graph.
    ("serve", 10),
];

/// Paths that modules above the IR must not use: they work on the IR, not the AST.
const AST: &str = "syntax::ast";
/// The modules that must work on the IR only.
const IR_ONLY: &[&str] = &["runtime", "check", "script", "graph"];

/// Known back-edges, as (file under src/, the path it uses): debt of issue 22, to go.
const KNOWN: &[(&str, &str)] = &[];

/// The layer of a module (`<root>` for a path to the crate root's own items).
fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

/// Every `.rs` file under `dir`, as paths relative to `root`.
fn files(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("src is readable")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).expect("under src");
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// The code of a file without its unit tests and comment lines, a `use` over several
/// lines joined into one.
fn code(text: &str) -> Vec<String> {
    let end = text.find("#[cfg(test)]\nmod tests").unwrap_or(text.len());
    let mut out: Vec<String> = Vec::new();
    let mut open_use = false;
    for line in text[..end].lines().map(str::trim_start) {
        if line.starts_with("//") {
            continue;
        }
        if open_use && let Some(last) = out.last_mut() {
            last.push_str(line);
        } else {
            out.push(line.to_string());
        }
        let starts_use = line.starts_with("use ") || line.contains(" use ");
        open_use = (open_use || starts_use) && !line.contains(';');
    }
    out
}

/// The leading word of `s` (letters, digits, `_`).
fn word(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The `crate::` paths a line uses: the module (or `<root>`) and the path's first two
/// segments (each of a group: `crate::syntax::{ast, lex}` uses `syntax::ast` and
/// `syntax::lex`).
fn uses(line: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        let first = word(after);
        let module = if layer(first).is_some() {
            first.to_string()
        } else {
            "<root>".to_string()
        };
        let tail = after[first.len()..].strip_prefix("::").unwrap_or("");
        let seconds: Vec<&str> = match tail.strip_prefix('{') {
            Some(group) => group[..group.find('}').unwrap_or(group.len())]
                .split(',')
                .map(|s| word(s.trim()))
                .filter(|w| !w.is_empty())
                .collect(),
            None => vec![word(tail)],
        };
        for second in seconds {
            let path = if second.is_empty() {
                first.to_string()
            } else {
                format!("{first}::{second}")
            };
            found.push((module.clone(), path));
        }
        rest = after;
    }
    found
}

#[test]
fn every_use_points_down_the_layers() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&root, &root, &mut all);
    let mut found = std::collections::BTreeSet::new();
    for file in &all {
        let from = file.split(['/', '.']).next().unwrap_or("");
        // The binary's front and the crate root sit on top of everything.
        let Some(from_layer) = layer(from) else {
            continue;
        };
        let text = std::fs::read_to_string(root.join(file)).expect("readable");
        for line in &code(&text) {
            for (to, path) in uses(line) {
                if to == from {
                    continue;
                }
                let to_layer = layer(&to).unwrap_or(u8::MAX);
                if to_layer >= from_layer {
                    found.insert((file.clone(), to.clone()));
                }
                if IR_ONLY.contains(&from) && path.starts_with(AST) {
                    found.insert((file.clone(), AST.to_string()));
                }
            }
        }
    }
    let known: std::collections::BTreeSet<(String, String)> = KNOWN
        .iter()
        .map(|(f, t)| (f.to_string(), t.to_string()))
        .collect();
    let new: Vec<_> = found.difference(&known).collect();
    let gone: Vec<_> = known.difference(&found).collect();
    assert!(
        new.is_empty(),
        "uses against the layers (see src/layers.rs and docs/ARCHITECTURE.md): {new:?}"
    );
    assert!(
        gone.is_empty(),
        "known back-edges that are gone: take them out of KNOWN in src/layers.rs: {gone:?}"
    );
}

/// The operations desk is a component of its own: its code names neither the runner nor
/// the recorder, and reaches the scheduler only through `OpsHost` (issue 22, item 3).
#[test]
fn the_operations_desk_reaches_the_scheduler_only_through_its_host() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&root, &root.join("runtime/ops"), &mut all);
    assert!(!all.is_empty(), "src/runtime/ops has files");
    for file in &all {
        let text = std::fs::read_to_string(root.join(file)).expect("readable");
        for line in &code(&text) {
            for name in ["Runner", "Recorder", "recorder::"] {
                assert!(
                    !line.contains(name),
                    "{file} names `{name}`: the desk reaches the scheduler only through OpsHost"
                );
            }
        }
    }
}

#[test]
fn every_module_of_the_library_has_a_layer() {
    let lib = include_str!("lib.rs");
    for line in lib.lines() {
        if let Some(module) = line.strip_prefix("pub mod ") {
            let module = module.trim_end_matches(';');
            assert!(layer(module).is_some(), "`{module}` has no layer in LAYERS");
        }
    }
}

#[test]
fn a_use_over_several_lines_is_read_whole() {
    let text = "use crate::syntax::{\n    ast::Heal,\n    lex,\n};\nfn f() {}\n";
    let lines = code(text);
    assert_eq!(lines[0], "use crate::syntax::{ast::Heal,lex,};");
    let paths: Vec<String> = uses(&lines[0]).into_iter().map(|(_, p)| p).collect();
    assert_eq!(paths, ["syntax::ast", "syntax::lex"]);
}
