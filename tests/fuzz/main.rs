//! Fuzzing the front end (issue 25 item 7): the library calls behind `bmad check`,
//! `bmad fmt` and `bmad graph`, fed workflows assembled from the grammar's pieces, mutated
//! examples, stdlib and UI-test files, arbitrary strings and arbitrary bytes.
//!
//! What must hold for every input: no panic; every diagnostic has a `bmad::` code and a
//! place (only an unreadable root file has none) whose byte offsets lie inside its file,
//! on character boundaries; rendering a diagnostic (text and JSON) does not panic; checking
//! twice gives the same diagnostics; a text `bmad fmt` accepts (nothing stops it parsing)
//! formats, the result formats to itself and checks the same; a workflow without errors
//! draws as a graph. No hang: every input is small (a few KB), so a case that does not end
//! is a loop, not a slow input; the suite as a whole finishing is the check (no clock is
//! read).
//!
//! Bounded for CI: the number of cases per property is set so that this file takes about a
//! minute in a debug `cargo test --test fuzz` on two cores. `BMAD_FUZZ_CASES=N` runs N
//! cases of every property instead (a longer local run: `BMAD_FUZZ_CASES=20000 cargo test
//! --release --test fuzz`). A failure is shrunk and saved under `tests/fuzz/main.proptest-regressions`,
//! which is committed and replayed first on every run.
//!
//! The generators are in `pieces` and `items`, the mutations in `mutate`, the inputs the
//! fuzzing found in `regressions`. A crate of its own, not a module of tests/integration:
//! it runs about a minute, alone with `cargo test --test fuzz` (and `BMAD_FUZZ_CASES`,
//! `--release` for a longer run).

// Tests keep the library's lints but these: helpers are `pub` for the modules of this
// one crate, and pedantic style (short names in generators, casts of small numbers) is
// not worth its noise here.
#![allow(unreachable_pub, clippy::pedantic)]

mod items;
mod mutate;
mod pieces;
mod regressions;

use bmad::diagnostic::{Code, Diagnostic};
use bmad::render::RenderOptions;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{FileFailurePersistence, TestCaseError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use items::workflow;
use mutate::mutated;
/// The name the fuzzed text is checked under (tests/fixtures/fuzz/back.bmad imports it).
pub(crate) const NAME: &str = "fuzz.bmad";

/// Cases of each property: `default`, or `BMAD_FUZZ_CASES`.
fn config(default: u32) -> ProptestConfig {
    let cases = std::env::var("BMAD_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        // Shrinking re-runs the check thousands of times on a failure: bounded too.
        max_shrink_iters: 4096,
        // tests/fuzz.proptest-regressions (the default looks for a src/ beside tests/).
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

/// `rel` under the package root.
pub(crate) fn root(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The directory relative imports of the fuzzed text resolve from: files to import, import
/// cycles back to the fuzzed text, broken and good `.rhai` modules.
pub(crate) fn import_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        root("tests/fixtures/fuzz")
            .canonicalize()
            .expect("tests/fixtures/fuzz exists")
    })
}

// ---------------------------------------------------------------------------------------
// The properties.

/// Every property of one text, checked with relative imports resolving from `dir`.
fn examine(text: &str, dir: &Path) -> Result<(), TestCaseError> {
    let checked = bmad::check_text_in(NAME, text, dir);
    places(&checked)?;
    for d in &checked.diagnostics {
        let shown = bmad::render::render(d, &checked.sources, RenderOptions::default());
        prop_assert!(shown.contains(d.code.as_str()), "{shown}");
        let json = bmad::diagnostic::to_json(d, &checked.sources);
        prop_assert!(json.contains(d.code.as_str()), "{json}");
    }
    let again = bmad::check_text_in(NAME, text, dir);
    prop_assert_eq!(
        &again.diagnostics,
        &checked.diagnostics,
        "checking twice gave different diagnostics"
    );
    formats(text, dir)?;
    // `bmad check --emit ir`.
    prop_assert!(serde_json::to_string(&checked.program).is_ok());
    if !checked.io_failed && !checked.has_errors() {
        draws(&checked);
    }
    Ok(())
}

/// Every diagnostic has a stable code and a place inside its file, on char boundaries.
fn places(checked: &bmad::Checked) -> Result<(), TestCaseError> {
    let files: Vec<u32> = checked.sources.files().map(|(id, _)| id).collect();
    for d in &checked.diagnostics {
        prop_assert!(d.code.as_str().starts_with("bmad::"));
        prop_assert!(
            d.primary.is_some() || d.code == Code::Io,
            "{} has no place: {}",
            d.code,
            d.message
        );
        for label in d.primary.iter().chain(&d.secondary) {
            let span = label.span;
            prop_assert!(
                files.contains(&span.file),
                "{}: `{}` points at file {} of {}",
                d.code,
                d.message,
                span.file,
                files.len()
            );
            let file = checked.sources.get(span.file);
            let (start, end) = (span.start as usize, span.end as usize);
            prop_assert!(
                start <= end && end <= file.text.len(),
                "{}: `{}` at {start}..{end} of {} bytes in {}",
                d.code,
                d.message,
                file.text.len(),
                file.name
            );
            prop_assert!(
                file.text.is_char_boundary(start) && file.text.is_char_boundary(end),
                "{}: `{}` at {start}..{end} splits a character of {}: {:?}",
                d.code,
                d.message,
                file.name,
                &file.text[floor_boundary(&file.text, start)..ceil_boundary(&file.text, end)]
            );
        }
    }
    Ok(())
}

/// What `bmad fmt` does with `text`: refused when parsing stops (as the command decides);
/// otherwise formatted, the result formatted again unchanged, and checking the result finds
/// the same problems.
fn formats(text: &str, dir: &Path) -> Result<(), TestCaseError> {
    let parsed = bmad::load::parse_text(NAME, text);
    let stops = |d: &Diagnostic| {
        matches!(
            d.code,
            Code::Syntax | Code::TooDeep | Code::Encoding | Code::Io
        )
    };
    let refused = parsed.diagnostics.iter().any(stops);
    // The command formats the decoded text (without a byte order mark).
    let Some(module) = parsed.modules.first() else {
        prop_assert!(parsed.io_failed);
        return Ok(());
    };
    let source = &parsed.sources.get(module.file).text;
    let once = match bmad::format::format(source) {
        Ok(once) => once,
        Err(bmad::format::Error::Syntax) => {
            prop_assert!(
                refused,
                "the parser takes it but the formatter finds a syntax error"
            );
            return Ok(());
        }
        Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
    };
    if refused {
        // Encoding: a NUL parses (strings may hold one) but the loader refuses the file.
        prop_assert!(
            parsed
                .diagnostics
                .iter()
                .filter(|d| stops(d))
                .all(|d| d.code == Code::Encoding),
            "the formatter takes a text the parser refuses: {:?}",
            parsed.diagnostics.iter().find(|d| stops(d))
        );
        return Ok(());
    }
    // Nothing lost or doubled: the parser keeps every item the grammar finds in the text.
    let whole = {
        use bmad::syntax::grammar::{BmadParser, Rule};
        use pest::Parser;
        let mut pairs = BmadParser::parse(Rule::file, source).expect("formatted, so it parses");
        pairs.next().map_or(0, |f| {
            f.into_inner().filter(|p| p.as_rule() != Rule::EOI).count()
        })
    };
    prop_assert_eq!(module.items.len(), whole, "items kept / items in the text");
    let twice = bmad::format::format(&once);
    prop_assert_eq!(
        twice.as_deref(),
        Ok(once.as_str()),
        "formatting the formatted text changed it"
    );
    let before = verdict(&bmad::check_text_in(NAME, source, dir));
    let after = verdict(&bmad::check_text_in(NAME, &once, dir));
    prop_assert_eq!(
        before,
        after,
        "formatting changed what the checker finds; formatted:\n{}",
        once
    );
    Ok(())
}

/// What the checker finds, without places (formatting moves them).
fn verdict(checked: &bmad::Checked) -> Vec<(&'static str, String)> {
    let mut found: Vec<_> = checked
        .diagnostics
        .iter()
        .map(|d| (d.code.as_str(), d.message.clone()))
        .collect();
    found.sort();
    found
}

/// `bmad graph` in every format and selection.
fn draws(checked: &bmad::Checked) {
    use bmad::graph::{Only, build, render::Format, render::render};
    for only in [Only::All, Only::Phases, Only::Stories, Only::Ops] {
        let graph = build(&checked.program, only);
        for format in [Format::Mermaid, Format::Dot] {
            let _ = render(&graph, format);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The tests. Per-case costs in a debug build: about 15 ms for a generated or mutated
// workflow, 2.5 ms for arbitrary text or bytes; the defaults add up to about 40 s on one
// core, 20-25 s as `cargo test` runs them (two at a time on two cores).

proptest! {
    #![proptest_config(config(1000))]

    /// Workflows built from the grammar: most parse, many check clean, all hold.
    #[test]
    fn generated_workflows_hold_every_property(text in workflow()) {
        examine(&text, import_dir())?;
    }
}

proptest! {
    #![proptest_config(config(1000))]

    /// The bundled files, the UI tests' broken files and generated workflows, mutated.
    #[test]
    fn mutated_files_hold_every_property((text, dir) in mutated()) {
        examine(&text, &dir)?;
    }
}

/// The generators reach past the parser: a fair share of generated workflows parse and some
/// check clean, so the checker, the formatter and the graph are fuzzed too, not only the
/// syntax errors (the same 200 cases every run).
#[test]
fn the_generators_reach_the_checker() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let parses = |c: &bmad::Checked| {
        !c.diagnostics
            .iter()
            .any(|d| matches!(d.code, Code::Syntax | Code::TooDeep))
    };
    let (mut parsed, mut clean) = (0, 0);
    for _ in 0..200 {
        let text = workflow().new_tree(&mut runner).unwrap().current();
        let checked = bmad::check_text_in(NAME, &text, import_dir());
        parsed += usize::from(parses(&checked));
        clean += usize::from(!checked.has_errors());
    }
    assert!(parsed >= 60 && clean >= 10, "{parsed} parse, {clean} clean");
    let mut parsed = 0;
    for _ in 0..200 {
        let (text, dir) = mutated().new_tree(&mut runner).unwrap().current();
        parsed += usize::from(parses(&bmad::check_text_in(NAME, &text, &dir)));
    }
    assert!(parsed >= 20, "{parsed} mutated files parse");
}

/// The characters the grammar cares about, and a few it does not.
const SOUP: &str = "[a-z_{}():,=>\"`/*%. \n\t0-9\\-é🦀\r]{0,300}";

proptest! {
    #![proptest_config(config(2000))]

    /// Arbitrary text: any characters, and a soup of the grammar's own.
    #[test]
    fn arbitrary_text_holds_every_property(text in prop_oneof![any::<String>(), SOUP]) {
        examine(&text, import_dir())?;
    }
}

proptest! {
    #![proptest_config(config(1500))]

    /// Arbitrary bytes from a file, as `bmad check`, `bmad fmt` and `bmad graph` read them:
    /// invalid UTF-8 and NUL bytes are an encoding error with a place, never a panic.
    #[test]
    fn arbitrary_bytes_in_a_file_are_read_safely(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..400),
            (SOUP, prop::collection::vec(any::<u8>(), 0..4), any::<Index>()).prop_map(|(s, junk, at)| {
                let mut b = s.into_bytes();
                let at = at.index(b.len() + 1);
                b.splice(at..at, junk);
                b
            }),
        ]
    ) {
        let mut f = tempfile::Builder::new().suffix(".bmad").tempfile().unwrap();
        f.write_all(&bytes).unwrap();
        f.flush().unwrap();
        let checked = bmad::check_path(f.path());
        places(&checked)?;
        for d in &checked.diagnostics {
            let _ = bmad::render::render(d, &checked.sources, RenderOptions::default());
            let _ = bmad::diagnostic::to_json(d, &checked.sources);
        }
        let parsed = bmad::load::parse_path(f.path());
        if let Ok(text) = std::str::from_utf8(&bytes) && !text.contains('\0') {
            // Valid text: the same as checking it from memory.
            examine(text, import_dir())?;
        } else {
            prop_assert!(checked.diagnostics.iter().any(|d| d.code == Code::Encoding));
            prop_assert!(parsed.diagnostics.iter().any(|d| d.code == Code::Encoding));
        }
    }
}

/// The largest char boundary of `s` not after `at` (`str::floor_char_boundary` is newer
/// than the crate's rust-version).
fn floor_boundary(s: &str, at: usize) -> usize {
    let mut i = at.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The smallest char boundary of `s` not before `at`, at most its length.
fn ceil_boundary(s: &str, at: usize) -> usize {
    let mut i = at.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}
