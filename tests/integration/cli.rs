//! The `bmad` binary: exit codes, output formats, the IR emitter.

use crate::common;

use common::{bmad, bmad_on};
use std::io::Write;

#[test]
fn a_clean_file_exits_zero() {
    let out = bmad(&["check", "examples/seed-product.bmad"]);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("checked 1 file: 0 errors, 0 warnings"),
        "{err}"
    );
}

#[test]
fn errors_exit_one_and_are_rendered_with_file_line_column() {
    let mut f = tempfile::Builder::new().suffix(".bmad").tempfile().unwrap();
    writeln!(
        f,
        "import std.roles\nphase p {{\n  analyts: brainstorming\n}}"
    )
    .unwrap();
    let out = bmad_on(&["check"], f.path());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bmad::undefined"), "{err}");
    assert!(err.contains(":3:3]"), "{err}");
    assert!(err.contains("did you mean `analyst`?"), "{err}");
}

#[test]
fn warnings_alone_exit_zero() {
    let mut f = tempfile::Builder::new().suffix(".bmad").tempfile().unwrap();
    writeln!(f, "agent lonely {{\n  backend sim\n}}").unwrap();
    let out = bmad_on(&["check"], f.path());
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bmad::unused"));
}

#[test]
fn json_format_prints_one_object_per_diagnostic() {
    let mut f = tempfile::Builder::new().suffix(".bmad").tempfile().unwrap();
    writeln!(
        f,
        "import std.roles\nphase p {{\n  analyts: x\n  wait 5GB\n}}"
    )
    .unwrap();
    let out = bmad_on(&["check", "--format", "json"], f.path());
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let codes: Vec<&str> = lines.iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["bmad::undefined", "bmad::unit-mismatch"]);
    assert_eq!(lines[0]["line"], 3);
    assert_eq!(lines[0]["column"], 3);
    assert_eq!(lines[0]["severity"], "error");
    assert!(lines[0]["help"].as_str().unwrap().contains("analyst"));
}

#[test]
fn emit_ir_prints_the_program_as_json() {
    let out = bmad(&["check", "examples/seed-product.bmad", "--emit", "ir"]);
    assert_eq!(out.status.code(), Some(0));
    let ir: serde_json::Value = serde_json::from_slice(&out.stdout).expect("IR is JSON");
    assert_eq!(ir["workflow"]["start"]["name"], "ideation");
    assert_eq!(ir["phases"].as_array().unwrap().len(), 6);
}

#[test]
fn a_missing_file_is_an_io_error_exit_two() {
    let out = bmad(&["check", "no/such/file.bmad"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bmad::io"), "{err}");
    assert!(err.contains("no/such/file.bmad"), "{err}");
}

#[test]
fn a_directory_is_an_io_error_exit_two() {
    let out = bmad(&["check", "examples"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("directory"));
}

#[test]
fn usage_errors_exit_two() {
    assert_eq!(bmad(&["check"]).status.code(), Some(2));
    assert_eq!(bmad(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        bmad(&["check", "--format", "xml", "x.bmad"]).status.code(),
        Some(2)
    );
}

#[test]
fn several_files_are_checked_each_on_its_own() {
    let out = bmad(&[
        "check",
        "examples/seed-product.bmad",
        "examples/seed-operations.bmad",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("checked 2 files"));
}

#[test]
fn the_readme_main_command_runs_the_seed() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let command = readme
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.lines().next())
        .expect("a first sh block");
    let args = command
        .strip_prefix("cargo run --release -- ")
        .expect("the main command runs the binary");
    let ws = tempfile::tempdir().unwrap();
    let mut args: Vec<&str> = args.split_whitespace().collect();
    // The same command, with its workspace in a temporary directory.
    let at = args
        .iter()
        .position(|a| *a == "--workspace")
        .expect("a workspace");
    let dir = ws.path().to_str().unwrap();
    args[at + 1] = dir;
    let out = common::bmad(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    for part in ["run succeeded", "critical path", "kpi"] {
        assert!(stdout.contains(part), "{part:?} missing:\n{stdout}");
    }
    assert!(ws.path().join("docs/requirements/prd.md").exists());
}
