//! `bmad fmt`: every bundled workflow is formatted, formatting is idempotent over every
//! file that parses, comments stay, and a file that does not parse is refused untouched.

use crate::common;
use crate::harness::Test;
use std::path::{Path, PathBuf};

/// Every `.bmad` file under `dir`.
fn bmad_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            bmad_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "bmad") {
            out.push(path);
        }
    }
}

fn root(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

#[test]
fn every_example_and_stdlib_file_is_formatted() {
    Test::new()
        .at_root()
        .args(&["fmt", "--check", "examples", "stdlib"])
        .stderr_contains("would reformat 0 files, 10 already formatted")
        .run();
}

#[test]
fn formatting_twice_changes_nothing_for_every_file_that_parses() {
    let mut files = Vec::new();
    for dir in ["examples", "stdlib", "tests"] {
        bmad_files(&root(dir), &mut files);
    }
    let mut texts: Vec<(String, String)> = files
        .iter()
        .map(|f| {
            (
                f.display().to_string(),
                std::fs::read_to_string(f).unwrap_or_default(),
            )
        })
        .collect();
    // The wrong and right examples of every diagnostic code.
    for code in bmad::diagnostic::Code::ALL {
        let (wrong, right) = bmad::explain::examples(bmad::explain::explanation(code));
        for (i, e) in wrong.iter().chain(&right).enumerate() {
            texts.push((format!("{} example {i}", code.as_str()), e.1.clone()));
        }
    }
    let mut formatted = 0;
    for (name, text) in &texts {
        let Ok(once) = bmad::format::format(text) else {
            continue;
        };
        let twice = bmad::format::format(&once).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(twice, once, "{name}: formatting twice changed it");
        formatted += 1;
    }
    assert!(formatted > 100, "only {formatted} files parsed");
}

#[test]
fn a_messy_file_is_rewritten_in_place_with_its_comments() {
    let messy = Test::new()
        .file(
            "messy.bmad",
            "// The plan.\nimport std.roles\n\n\n\nphase write{ // the only phase\nanalyst:brainstorming{produces notes=\"/docs/notes.md\"}\n      /* then the PM */ pm:   review\n}\n",
        )
        .args(&["fmt", "--check", "messy.bmad"])
        .status(1)
        .stderr_contains("messy.bmad:4: not formatted")
        .run();
    Test::at(messy.path()).args(&["fmt", "messy.bmad"]).run();
    assert_eq!(
        messy.read("messy.bmad"),
        "// The plan.\nimport std.roles\n\nphase write { // the only phase\n  analyst: brainstorming {\n    produces notes = \"/docs/notes.md\"\n  }\n  /* then the PM */\n  pm: review\n}\n"
    );
    Test::at(messy.path())
        .args(&["fmt", "--check", "messy.bmad"])
        .run();
}

#[test]
fn a_file_that_does_not_parse_is_refused_and_left_alone() {
    let text = "phase write {\n    analyst: brainstorming\n  wait 5 {\n}\n";
    let broken = Test::new()
        .file("broken.bmad", text)
        .args(&["fmt", "broken.bmad"])
        .status(1)
        .stderr_contains("bmad::syntax")
        .stderr_contains("does not parse")
        .run();
    assert_eq!(broken.read("broken.bmad"), text);

    // A checking error (a bad literal) does not stop the layout: the file parses.
    let literal = Test::new()
        .file("literal.bmad", "phase write {\n    wait 5parsecs\n}\n")
        .args(&["fmt", "literal.bmad"])
        .run();
    assert_eq!(
        literal.read("literal.bmad"),
        "phase write {\n  wait 5parsecs\n}\n"
    );

    Test::new()
        .file("syntax.bmad", "phase {\n")
        .args(&["fmt", "--check", "syntax.bmad"])
        .status(1)
        .stderr_contains("bmad::syntax")
        .run();

    Test::new()
        .args(&["fmt", "no/such/file.bmad"])
        .status(2)
        .run();
}

#[test]
fn a_link_is_followed_to_its_file_and_links_in_a_directory_are_not_walked() {
    let (dir, real) = common::temp_file("real.bmad", "kpi   q :m<5%");
    let link = dir.path().join("link.bmad");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    // A directory link back up would visit everything again (or the whole disk).
    std::os::unix::fs::symlink(dir.path(), dir.path().join("up")).unwrap();
    let out = common::bmad_on(&["fmt"], &link);
    assert!(out.status.success());
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&real).unwrap(), "kpi q: m < 5%\n");
    std::fs::write(&real, "kpi   q :m<5%").unwrap();
    let out = common::bmad_on(&["fmt"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("reformatted 1 file, 0 already formatted"),
        "{stderr}"
    );
}

#[test]
fn stdin_is_formatted_to_stdout() {
    Test::new()
        .args(&["fmt", "-"])
        .stdin("kpi   quality :defect_escape_rate<5%")
        .stdout("kpi quality: defect_escape_rate < 5%\n")
        .run();
    // --check writes nothing, and says so in its exit code.
    Test::new()
        .args(&["fmt", "--check", "-"])
        .stdin("kpi   quality :defect_escape_rate<5%")
        .status(1)
        .stdout("")
        .run();
}
