//! Bad input never panics: each kind gets a diagnostic and exit code 1 or 2. Includes a
//! bounded property test over the parser.

use crate::common;

use bmad::diagnostic::Code;
use common::bmad_on;
use proptest::prelude::*;
use std::io::Write;
use std::path::Path;

fn file_with(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".bmad").tempfile().unwrap();
    f.write_all(bytes).unwrap();
    f.flush().unwrap();
    f
}

fn codes(path: &Path) -> Vec<Code> {
    bmad::check_path(path)
        .diagnostics
        .iter()
        .map(|d| d.code)
        .collect()
}

#[test]
fn an_empty_file_is_reported() {
    for text in ["", "\n\n", "// only a comment\n/* and another */\n"] {
        let f = file_with(text.as_bytes());
        assert_eq!(codes(f.path()), [Code::EmptyFile]);
        assert_eq!(bmad_on(&["check"], f.path()).status.code(), Some(1));
    }
}

#[test]
fn an_error_far_along_a_very_long_line_is_reported_without_quoting_it() {
    // miette cannot draw a label past column 65,535: such a place is named, not quoted.
    let text = format!(
        "import std.roles\nphase p {{ {}qa: ?? }}\n",
        "qa: x ".repeat(12_000)
    );
    let f = file_with(text.as_bytes());
    for command in [&["check"][..], &["fmt", "--check"][..]] {
        let out = bmad_on(command, f.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("bmad::syntax"), "{stderr}");
        assert!(stderr.contains(":2:72015: unexpected `?`"), "{stderr}");
    }
}

#[test]
fn binary_and_invalid_utf8_are_encoding_errors() {
    let binary = file_with(b"agent a {\0\x01\x02}");
    assert_eq!(codes(binary.path()), [Code::Encoding]);
    let latin1 = file_with(b"agent caf\xe9 {\n  backend sim\n}\n");
    let checked = bmad::check_path(latin1.path());
    assert_eq!(checked.diagnostics.len(), 1);
    let primary = checked.diagnostics[0].primary.as_ref().unwrap();
    assert_eq!(primary.span.start, 9, "points at the bad byte");
    assert_eq!(bmad_on(&["check"], latin1.path()).status.code(), Some(1));
}

#[test]
fn ten_thousand_levels_of_nesting_are_refused_not_overflowed() {
    let deep = format!("phase p {}{}", "{ ".repeat(10_000), "} ".repeat(10_000));
    let f = file_with(deep.as_bytes());
    assert_eq!(codes(f.path()), [Code::TooDeep]);
    let chain = format!(
        "phase p {{\n  if `a` {{}} {}\n}}\n",
        "else if `a` {} ".repeat(10_000)
    );
    let f = file_with(chain.as_bytes());
    assert_eq!(codes(f.path()), [Code::TooDeep]);
    assert_eq!(bmad_on(&["check"], f.path()).status.code(), Some(1));
}

#[test]
fn a_ten_megabyte_file_is_checked() {
    // A valid workflow of about 10 MB: thousands of stories in a chain.
    let mut text = String::from(
        "import std.roles\nphase dev {\n  for story in stories {\n    dev: implement\n  }\n}\n",
    );
    let mut i = 0;
    while text.len() < 10 * 1024 * 1024 {
        let after = if i > 0 {
            format!("  after \"s{}\"\n", i - 1)
        } else {
            String::new()
        };
        text.push_str(&format!(
            "story \"s{i}\" backend {{\n  title \"Story number {i} of a long backlog, with a descriptive title\"\n{after}  accept \"It works\"\n  accept \"It is tested\"\n}}\n"
        ));
        i += 1;
    }
    let f = file_with(text.as_bytes());
    let checked = bmad::check_path(f.path());
    assert!(
        checked.diagnostics.is_empty(),
        "{:?}",
        checked.diagnostics.first()
    );
    assert_eq!(checked.program.stories.len(), i);

    // The same size of garbage: one syntax error, no panic.
    let garbage = "#$%^ ".repeat(2 * 1024 * 1024);
    let f = file_with(garbage.as_bytes());
    assert_eq!(codes(f.path()), [Code::Syntax]);
}

#[test]
fn a_text_over_the_size_limit_given_in_memory_is_refused_too() {
    // Places in a text are 32-bit offsets: the library holds texts to the file limit.
    let text = "a".repeat(bmad::load::MAX_FILE_BYTES as usize + 1);
    let checked = bmad::check_text("big.bmad", &text);
    assert!(checked.io_failed);
    let d = &checked.diagnostics[..];
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].code, Code::Io);
    assert!(
        d[0].message.contains("larger than 64 MiB"),
        "{}",
        d[0].message
    );
    assert!(bmad::load::parse_text("big.bmad", &text).io_failed);
}

#[test]
fn a_file_over_the_size_limit_or_a_directory_without_workflows_is_refused_with_what_to_do() {
    // A sparse file: no 64 MiB are written.
    let f = file_with(b"");
    f.as_file().set_len(bmad::load::MAX_FILE_BYTES + 1).unwrap();
    let out = bmad_on(&["check", "--color", "never"], f.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("larger than 64 MiB"), "{err}");
    assert!(err.contains("split the workflow into files"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let out = bmad_on(&["check", "--color", "never"], dir.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    // A directory means its .bmad files (issue 26 item 3): none is an error.
    assert!(err.contains("no `.bmad` file in"), "{err}");
    assert!(err.contains("name a .bmad file"), "{err}");
}

#[test]
fn missing_imports_and_import_cycles_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root.bmad");
    std::fs::write(&root, "import \"missing.bmad\"\nimport std.rolez\n").unwrap();
    assert_eq!(codes(&root), [Code::ImportNotFound, Code::ImportNotFound]);
    let help = bmad::check_path(&root).diagnostics[1].help.clone().unwrap();
    assert!(help.contains("std.roles"), "{help}");

    let a = dir.path().join("a.bmad");
    let b = dir.path().join("b.bmad");
    std::fs::write(&a, "import \"b.bmad\"\nagent x {\n  backend sim\n}\n").unwrap();
    std::fs::write(&b, "import \"a.bmad\"\n").unwrap();
    let checked = bmad::check_path(&a);
    let cycle: Vec<_> = checked
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::ImportCycle)
        .collect();
    assert_eq!(cycle.len(), 1);
    assert!(
        cycle[0].message.contains("a.bmad -> "),
        "{}",
        cycle[0].message
    );
    assert_eq!(bmad_on(&["check"], &a).status.code(), Some(1));
}

#[test]
fn every_broken_item_is_reported_in_one_run() {
    let text = "agent a {\n  role \n}\nphase p {\n  analyst brainstorming\n}\nkpi k: deploys_per_day >> 3\nagent b {\n  backend sim\n}\n";
    let f = file_with(text.as_bytes());
    let checked = bmad::check_path(f.path());
    let syntax = checked
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::Syntax)
        .count();
    assert_eq!(syntax, 3, "{}", common::rendered(&checked));
    // The item after the broken ones still parsed.
    assert!(checked.program.agent("b").is_some());
}

/// Fragments of .bmad, glued at random: close to real input, so the parser goes deep.
fn fragment() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "agent",
        "phase",
        "story",
        "monitor",
        "heal",
        "check",
        "{",
        "}",
        "\"3.6\"",
        "x",
        "y:",
        "30s",
        "4GB",
        "80%",
        "1000/hour",
        "=>",
        "->",
        "`a > b`",
        "```\n1\n```",
        "\"\"\"t\"\"\"",
        "//c\n",
        "/*",
        "*/",
        "\n",
        " ",
        "parallel",
        "repeat",
        "max",
        "3",
        "else",
        "if",
        "on",
        "failure",
        "produces",
        "=",
        ",",
        "metric",
        ">",
        "import",
        "std.roles",
        "\"",
        "`",
        "incidents",
        "level",
        "é",
        "\u{0}",
        "match",
        "_",
    ])
    .prop_map(str::to_string)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_parser_never_panics_on_fragments(parts in prop::collection::vec(fragment(), 0..80)) {
        let text = parts.join(" ");
        let checked = bmad::check_text("fuzz.bmad", &text);
        for d in &checked.diagnostics {
            let _ = bmad::render::render(d, &checked.sources, Default::default());
        }
    }

    #[test]
    fn the_parser_never_panics_on_mutated_examples(cut in 0usize..8000, insert in "[ -~\n]{0,12}") {
        let seed = include_str!("../../examples/seed-operations.bmad");
        let mut at = cut.min(seed.len());
        while !seed.is_char_boundary(at) {
            at -= 1;
        }
        let text = format!("{}{}{}", &seed[..at], insert, &seed[at..]);
        let checked = bmad::check_text("mutated.bmad", &text);
        for d in &checked.diagnostics {
            let _ = bmad::render::render(d, &checked.sources, Default::default());
        }
    }
}

/// Only regular files are read as workflows, imports and story files: a FIFO (which would
/// block), a device (which never ends) or a socket is refused at once with `bmad::io`
/// (exit 2), in `check`, `fmt` and `run`; a file starting with a UTF-8 byte order mark is
/// read without it.
#[test]
fn special_files_are_refused_at_once_and_a_byte_order_mark_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.bmad");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    for (path, why) in [
        (
            fifo.as_path(),
            "it is a FIFO (a named pipe), not a regular file",
        ),
        (Path::new("/dev/zero"), "it is a device, not a regular file"),
    ] {
        for command in [&["check"][..], &["fmt", "--check"], &["run", "--simulate"]] {
            let started = std::time::Instant::now();
            let out = bmad_on(command, path);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{command:?}: {stderr}");
            assert!(stderr.contains(why), "{command:?}: {stderr}");
            assert!(started.elapsed().as_secs() < 10, "{command:?} waited on it");
        }
    }
    // Imported, or as a story file of a run.
    let importing = dir.path().join("main.bmad");
    std::fs::write(
        &importing,
        "import \"pipe.bmad\"\nphase p {\n  sh \"true\"\n}\n",
    )
    .unwrap();
    let out = bmad_on(&["check"], &importing);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("it is a FIFO"));
    let ws = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(ws.path().join("stories")).unwrap();
    let story_fifo = ws.path().join("stories/s.yaml");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&story_fifo)
            .status()
            .unwrap()
            .success()
    );
    let flow = dir.path().join("stories.bmad");
    std::fs::write(
        &flow,
        "agent a {\n  backend sim duration 1m\n}\nstories from \"/stories/*.yaml\"\nphase p {\n  for story in stories {\n    a: do\n  }\n}\n",
    )
    .unwrap();
    let out = common::bmad(&[
        "run",
        "--simulate",
        flow.to_str().unwrap(),
        "--workspace",
        ws.path().to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("it is a FIFO"), "{text}");

    // A byte order mark.
    let bom = file_with(b"\xEF\xBB\xBFphase p {\n  sh \"true\"\n}\n");
    assert_eq!(codes(bom.path()), []);
}
