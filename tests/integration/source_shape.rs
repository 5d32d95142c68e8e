//! The shape the developers' guide asks of every source file, checked: small files with
//! one job each (at most 600 lines) that say what that job is in a `//!` line at the top.
//! Covers the library, the binary, the tests, the benchmarks and the examples.

use std::path::{Path, PathBuf};

/// The most lines a source file may have.
const MAX_LINES: usize = 600;

/// The folders whose Rust files are checked, relative to the crate's root.
const FOLDERS: &[&str] = &["src", "tests", "benches", "examples"];

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.flatten().map(|e| e.path()) {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The crate's Rust files, sorted.
fn sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for folder in FOLDERS {
        rust_files(&root.join(folder), &mut files);
    }
    files.sort();
    files
}

#[test]
fn every_source_file_is_at_most_600_lines() {
    let files = sources();
    assert!(files.len() > 100, "found only {} source files", files.len());
    let long: Vec<String> = files
        .iter()
        .filter_map(|path| {
            let lines = std::fs::read_to_string(path).ok()?.lines().count();
            (lines > MAX_LINES).then(|| format!("{} ({lines} lines)", path.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines (split them by job): {long:#?}"
    );
}

#[test]
fn every_source_file_starts_with_a_module_comment() {
    let bare: Vec<String> = sources()
        .iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            !text.trim_start().starts_with("//!")
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        bare.is_empty(),
        "files without a `//!` line at the top: {bare:#?}"
    );
}
