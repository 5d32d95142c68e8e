//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// The phases of the seed example, in the order they run.
pub const SEED_PHASES: [&str; 6] = [
    "ideation",
    "architecture",
    "sprint_planning",
    "development",
    "testing",
    "deployment",
];

/// Runs the real `bmad` binary with these arguments from the package root.
pub fn bmad(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bmad"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("the bmad binary runs")
}

/// Runs `bmad` with the arguments and a file path.
pub fn bmad_on(args: &[&str], file: &Path) -> Output {
    let mut all: Vec<&str> = args.to_vec();
    let file = file.to_str().expect("utf-8 path");
    all.push(file);
    bmad(&all)
}

/// Every diagnostic of a check, rendered without colour, plus the count line.
pub fn rendered(checked: &bmad::Checked) -> String {
    let mut out = String::new();
    for d in &checked.diagnostics {
        out.push_str(&bmad::render::render(
            d,
            &checked.sources,
            bmad::render::RenderOptions::default(),
        ));
    }
    let errors = checked.diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = checked.diagnostics.len() - errors;
    out.push_str(&format!("{errors} error(s), {warnings} warning(s)\n"));
    out
}
