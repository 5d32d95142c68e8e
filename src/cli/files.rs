//! The files a command is given: a file, a directory (its `.bmad` files, sorted, hidden
//! entries, links and `target/` left out) or `-` (stdin), the same for every command.

use std::io::Read;
use std::path::{Path, PathBuf};

/// The files named by `paths`, directories expanded; `-` stays as it is. An unreadable
/// directory is an error that names it.
pub(super) fn expand(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<String>) {
    let (mut files, mut errors) = (Vec::new(), Vec::new());
    for path in paths {
        if let Err(e) = collect(path, &mut files) {
            errors.push(format!("error: cannot read `{}`: {e}", path.display()));
        }
    }
    (files, errors)
}

/// Whether `path` means stdin.
pub(super) fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Reads stdin whole, up to the size limit of a workflow file (bounded as it reads: an
/// endless stream is refused, not held); the error names it.
pub(super) fn read_stdin() -> Result<String, String> {
    let max = bmad::load::MAX_FILE_BYTES;
    let mut bytes = Vec::new();
    let fail = |e: &dyn std::fmt::Display| format!("error: cannot read stdin: {e}");
    std::io::stdin()
        .lock()
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| fail(&e))?;
    if u64::try_from(bytes.len()).map_or(true, |n| n > max) {
        return Err(fail(&format_args!(
            "it is larger than {} MiB",
            max / 1024 / 1024
        )));
    }
    String::from_utf8(bytes).map_err(|e| fail(&e))
}

/// Checks the workflow at `path`, or the one on stdin for `-` (its relative imports
/// resolve from the current directory).
pub(super) fn check(path: &Path) -> Result<bmad::Checked, String> {
    if is_stdin(path) {
        let text = read_stdin()?;
        let here = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        Ok(bmad::check_text_in("<stdin>", &text, &here))
    } else {
        Ok(bmad::check_path(path))
    }
}

/// `path` itself, or the `.bmad` files under a directory (sorted).
fn collect(path: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if !path.is_dir() {
        files.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for entry in entries {
        let hidden = entry
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        // Links are not followed inside a directory: a link to `..` or `/` would walk
        // (and rewrite) far more than was asked for.
        let kind = std::fs::symlink_metadata(&entry)?.file_type();
        if kind.is_symlink() || hidden {
            continue;
        }
        if kind.is_dir() && entry.file_name().is_some_and(|n| n != "target") {
            collect(&entry, files)?;
        } else if kind.is_file() && entry.extension().is_some_and(|e| e == "bmad") {
            files.push(entry);
        }
    }
    Ok(())
}
