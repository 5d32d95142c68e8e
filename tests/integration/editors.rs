//! The editor files (editors/) follow the language: the VS Code extension's TextMate
//! grammar and the tree-sitter grammar name every keyword of grammar/bmad.pest, and no
//! other; the extension declares the files it ships.

use bmad::syntax::keywords;

fn read(path: &str) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    std::fs::read_to_string(format!("{root}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The words between `start` and the next `end` in `text`, split at `sep`, trimmed of
/// quotes.
fn words(text: &str, start: &str, end: &str, sep: &[char]) -> Vec<String> {
    let from = text.find(start).unwrap_or_else(|| panic!("`{start}`")) + start.len();
    let to = from + text[from..].find(end).unwrap_or_else(|| panic!("`{end}`"));
    let mut words: Vec<String> = text[from..to]
        .split(sep)
        .map(|w| w.trim().trim_matches('\'').to_string())
        .filter(|w| !w.is_empty())
        .collect();
    words.sort();
    words
}

#[test]
fn the_textmate_grammar_has_every_keyword() {
    let grammar: serde_json::Value =
        serde_json::from_str(&read("editors/vscode/syntaxes/bmad.tmLanguage.json")).expect("json");
    let pattern = grammar["repository"]["keywords"]["match"]
        .as_str()
        .expect("a pattern");
    let found = words(pattern, "\\b(?:", ")\\b", &['|']);
    assert_eq!(found, keywords::all());
}

#[test]
fn the_tree_sitter_grammar_has_every_keyword() {
    let grammar = read("editors/tree-sitter-bmad/grammar.js");
    let items = words(&grammar, "const ITEM_KEYWORDS = [", "];", &[',', '\n']);
    let mut ours: Vec<&str> = keywords::ITEM.to_vec();
    ours.sort_unstable();
    assert_eq!(items, ours);
    let mut all = words(&grammar, "const KEYWORDS = [", "];", &[',', '\n']);
    all.extend(items);
    all.sort();
    assert_eq!(all, keywords::all());
}

#[test]
fn the_generated_tree_sitter_parser_is_of_that_grammar() {
    // src/ is generated from grammar.js (`tree-sitter generate`) and committed for the
    // editors that build the parser from it: it holds every keyword too.
    let generated = read("editors/tree-sitter-bmad/src/grammar.json");
    for keyword in keywords::all() {
        assert!(
            generated.contains(&format!("\"value\": \"{keyword}\"")),
            "`{keyword}` is not in src/grammar.json: run `tree-sitter generate`"
        );
    }
}

#[test]
fn the_vs_code_extension_declares_what_it_ships() {
    let package: serde_json::Value =
        serde_json::from_str(&read("editors/vscode/package.json")).expect("json");
    let language = &package["contributes"]["languages"][0];
    assert_eq!(language["id"], "bmad");
    assert_eq!(language["extensions"][0], ".bmad");
    for file in [
        package["main"].as_str().expect("main"),
        language["configuration"].as_str().expect("a configuration"),
        package["contributes"]["grammars"][0]["path"]
            .as_str()
            .expect("a grammar"),
    ] {
        read(&format!("editors/vscode/{}", file.trim_start_matches("./")));
    }
    let client = read("editors/vscode/extension.js");
    assert!(
        client.contains("args: ['lsp']"),
        "the client starts `bmad lsp`"
    );
    serde_json::from_str::<serde_json::Value>(&read("editors/vscode/language-configuration.json"))
        .expect("the language configuration is JSON");
}
