//! Snapshot tests: every broken file under tests/ui/ (files starting with `_` are helpers
//! imported by others) with its rendered, colourless diagnostics; and a test that every
//! diagnostic code the checker can emit is shown by at least one of them.

use crate::common;

use bmad::diagnostic::Code;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn ui_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/ui exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "bmad"))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('_'))
        })
        .map(|p| {
            p.strip_prefix(env!("CARGO_MANIFEST_DIR"))
                .expect("under the package")
                .to_path_buf()
        })
        .collect();
    files.sort();
    files
}

#[test]
fn rendered_diagnostics_match_snapshots() {
    let mut settings = insta::Settings::clone_current();
    // Beside the files they render: tests/ui/snapshots.
    settings.set_snapshot_path("../ui/snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for file in ui_files() {
            let checked = bmad::check_path(&file);
            assert!(
                !checked.diagnostics.is_empty(),
                "{} produced no diagnostic",
                file.display()
            );
            let name = file
                .file_stem()
                .expect("a file name")
                .to_string_lossy()
                .into_owned();
            insta::assert_snapshot!(name, common::rendered(&checked));
        }
    });
}

#[test]
fn every_code_is_shown_by_a_ui_file() {
    let mut seen = BTreeSet::new();
    for file in ui_files() {
        for d in bmad::check_path(&file).diagnostics {
            seen.insert(d.code.as_str());
        }
    }
    // bmad::io needs a file that cannot be read: the cli module covers it.
    let missing: Vec<&str> = Code::ALL
        .iter()
        .filter(|c| **c != Code::Io)
        .map(|c| c.as_str())
        .filter(|c| !seen.contains(c))
        .collect();
    assert!(
        missing.is_empty(),
        "codes with no tests/ui file: {missing:?}"
    );
}
