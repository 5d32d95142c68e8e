//! Every ```bmad snippet of GRAMMAR.md and docs/AGENTS.md checks without errors (with
//! `std.roles` imported, as a reader would, and relative imports taken from examples/): the
//! language reference cannot drift from the language.

use crate::common;

/// The fenced `bmad` blocks of a Markdown text, with the line each starts on.
fn bmad_blocks(doc: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut lines = doc.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let Some(fence) = line
            .strip_suffix("bmad")
            .filter(|f| f.len() >= 3 && f.chars().all(|c| c == '`'))
        else {
            continue;
        };
        let body: Vec<&str> = lines
            .by_ref()
            .map(|(_, l)| l)
            .take_while(|l| l.trim_end() != fence)
            .collect();
        blocks.push((n + 1, body.join("\n") + "\n"));
    }
    blocks
}

/// The rendered errors of the snippets of `doc` (a path from the package root), and how
/// many snippets it has.
fn failing_snippets(doc: &str) -> (Vec<String>, usize) {
    let text = std::fs::read_to_string(doc).unwrap();
    let blocks = bmad_blocks(&text);
    let name = doc.replace('/', "-");
    let mut failing = Vec::new();
    for (line, body) in &blocks {
        let checked = bmad::check_text(
            &format!("examples/{name}-line-{line}.bmad"),
            &format!("import std.roles\n{body}"),
        );
        if checked.has_errors() {
            failing.push(common::rendered(&checked));
        }
    }
    (failing, blocks.len())
}

#[test]
fn every_snippet_of_the_grammar_document_checks_clean() {
    let (failing, count) = failing_snippets("GRAMMAR.md");
    assert!(count > 40, "found only {count} snippets");
    assert!(failing.is_empty(), "{}", failing.join("\n"));
}

#[test]
fn every_snippet_of_the_agents_page_checks_clean() {
    let (failing, count) = failing_snippets("docs/AGENTS.md");
    assert!(count >= 2, "found only {count} snippets");
    assert!(failing.is_empty(), "{}", failing.join("\n"));
}
