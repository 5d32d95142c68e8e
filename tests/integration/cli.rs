//! The `bmad` binary: exit codes, output formats, the IR emitter.

use crate::harness::Test;

#[test]
fn a_clean_file_exits_zero() {
    Test::new()
        .at_root()
        .args(&["check", "examples/seed-product.bmad"])
        .stderr_contains("checked 1 file: 0 errors, 0 warnings")
        .run();
}

#[test]
fn errors_exit_one_and_are_rendered_with_file_line_column() {
    Test::new()
        .workflow(
            r#"
            import std.roles
            phase p {
              analyts: brainstorming
            }
            "#,
        )
        .args(&["check", "flow.bmad"])
        .status(1)
        .stderr_contains("bmad::undefined")
        .stderr_contains(":3:3]")
        .stderr_contains("did you mean `analyst`?")
        .run();
}

#[test]
fn warnings_alone_exit_zero() {
    Test::new()
        .workflow(
            r#"
            agent lonely {
              backend sim
            }
            "#,
        )
        .args(&["check", "flow.bmad"])
        .stderr_contains("bmad::unused")
        .run();
}

#[test]
fn json_format_prints_one_object_per_diagnostic() {
    let ran = Test::new()
        .workflow(
            r#"
            import std.roles
            phase p {
              analyts: x
              wait 5GB
            }
            "#,
        )
        .args(&["check", "--format", "json", "flow.bmad"])
        .status(1)
        .run();
    let lines: Vec<serde_json::Value> = ran
        .stdout
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
    let ran = Test::new()
        .at_root()
        .args(&["check", "examples/seed-product.bmad", "--emit", "ir"])
        .run();
    let ir: serde_json::Value = serde_json::from_str(&ran.stdout).expect("IR is JSON");
    assert_eq!(ir["workflow"]["start"]["name"], "ideation");
    assert_eq!(ir["phases"].as_array().unwrap().len(), 6);
}

#[test]
fn a_missing_file_is_an_io_error_exit_two() {
    Test::new()
        .args(&["check", "no/such/file.bmad"])
        .status(2)
        .stderr_contains("bmad::io")
        .stderr_contains("no/such/file.bmad")
        .run();
}

#[test]
fn usage_errors_exit_two() {
    for args in [
        &["check"][..],
        &["frobnicate"],
        &["check", "--format", "xml", "x.bmad"],
    ] {
        Test::new().args(args).status(2).run();
    }
}

#[test]
fn several_files_are_checked_each_on_its_own() {
    Test::new()
        .at_root()
        .args(&[
            "check",
            "examples/seed-product.bmad",
            "examples/seed-operations.bmad",
        ])
        .stderr_contains("checked 2 files")
        .run();
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
    let test = Test::new().at_root();
    let mut args: Vec<&str> = args.split_whitespace().collect();
    // The same command, with its workspace in the test's temporary directory.
    let at = args
        .iter()
        .position(|a| *a == "--workspace")
        .expect("a workspace");
    let dir = test.path().to_str().unwrap().to_string();
    args[at + 1] = &dir;
    let ran = test
        .args(&args)
        .stdout_contains("run succeeded")
        .stdout_contains("critical path")
        .stdout_contains("kpi")
        .run();
    assert!(ran.path().join("docs/requirements/prd.md").exists());
}
