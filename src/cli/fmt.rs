//! `bmad fmt [--check] FILE...`: rewrites workflows in the canonical layout, or with
//! `--check` only reports the ones that are not in it. `-` reads stdin and writes stdout.

use super::FmtArgs;
use bmad::diagnostic::Code;
use bmad::render::{RenderOptions, render};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// What happened to one file.
enum Outcome {
    Unchanged,
    Changed,
    /// Diagnostics were printed.
    Refused,
    /// It could not be read or written.
    Failed,
}

/// Formats (or checks) every file; exit 1 when a file does not parse or, with `--check`,
/// is not formatted; 2 when a file cannot be read or written.
pub(super) fn run(args: &FmtArgs) -> ExitCode {
    let mut err = std::io::stderr().lock();
    let (files, errors) = super::files::expand(&args.files);
    let mut failed = !errors.is_empty();
    for e in &errors {
        let _ = writeln!(err, "{e}");
    }
    let (mut changed, mut unchanged, mut refused, mut unread) = (0, 0, 0, 0);
    for file in &files {
        match one(file, args.check, &mut err) {
            Outcome::Unchanged => unchanged += 1,
            Outcome::Changed => changed += 1,
            Outcome::Refused => refused += 1,
            Outcome::Failed => {
                failed = true;
                unread += 1;
            }
        }
    }
    let plural = |n: usize| if n == 1 { "file" } else { "files" };
    if files.iter().any(|f| f.as_os_str() != "-") {
        let verb = if args.check {
            "would reformat"
        } else {
            "reformatted"
        };
        let _ = writeln!(
            err,
            "{verb} {changed} {}, {unchanged} already formatted{}{}",
            plural(changed),
            if refused > 0 {
                format!(", {refused} not parsed")
            } else {
                String::new()
            },
            if unread > 0 {
                format!(", {unread} not read or written")
            } else {
                String::new()
            }
        );
    }
    if failed {
        ExitCode::from(2)
    } else if refused > 0 || (args.check && changed > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn one(file: &Path, check: bool, err: &mut impl Write) -> Outcome {
    let stdin = file.as_os_str() == "-";
    let loaded = if stdin {
        match super::files::read_stdin() {
            Ok(text) => bmad::load::read_text("<stdin>", &text),
            Err(e) => {
                let _ = writeln!(err, "{e}");
                return Outcome::Failed;
            }
        }
    } else {
        bmad::load::read_path(file)
    };
    // Read, not parsed: the formatter parses the text as it lays it out, and only when
    // it does not parse is it parsed again for the diagnostics.
    let name = file.display();
    let stops = |c: Code| matches!(c, Code::Syntax | Code::TooDeep | Code::Encoding | Code::Io);
    let unreadable = refused(&loaded.diagnostics, &loaded, stops, err);
    if loaded.io_failed {
        return Outcome::Failed;
    }
    if unreadable {
        let _ = writeln!(err, "not formatted: `{name}` does not parse");
        return Outcome::Refused;
    }
    let Some(root) = loaded.modules.first() else {
        return Outcome::Failed;
    };
    let text = &loaded.sources.get(root.file).text;
    // Parsed as `bmad check` parses it: what it would refuse is not formatted.
    let formatted = match bmad::format::format_as(text, bmad::format::Parse::Items) {
        Ok(f) => f,
        // Only what stops parsing stops formatting: a file with a checking error (a bad
        // literal, an undefined name) is laid out all the same.
        Err(bmad::format::Error::Syntax)
            if refused(
                &bmad::syntax::parse(root.file, text).diagnostics,
                &loaded,
                stops,
                err,
            ) =>
        {
            let _ = writeln!(err, "not formatted: `{name}` does not parse");
            return Outcome::Refused;
        }
        Err(e) => {
            let _ = writeln!(err, "not formatted: `{name}`: {e}");
            return Outcome::Refused;
        }
    };
    if stdin {
        if !check {
            let _ = std::io::stdout().write_all(formatted.as_bytes());
        }
        return if check && formatted != *text {
            Outcome::Changed
        } else {
            Outcome::Unchanged
        };
    }
    if formatted == *text {
        return Outcome::Unchanged;
    }
    if check {
        let line = first_different_line(text, &formatted);
        let _ = writeln!(err, "{name}:{line}: not formatted");
        return Outcome::Changed;
    }
    match write_atomically(file, &formatted) {
        Ok(()) => Outcome::Changed,
        Err(e) => {
            let _ = writeln!(err, "error: cannot write `{name}`: {e}");
            Outcome::Failed
        }
    }
}

/// Prints the diagnostics among `diagnostics` whose code `stops` formatting; whether
/// there were any.
fn refused(
    diagnostics: &[bmad::diagnostic::Diagnostic],
    loaded: &bmad::load::Loaded,
    stops: impl Fn(Code) -> bool,
    err: &mut impl Write,
) -> bool {
    let mut any = false;
    for d in diagnostics.iter().filter(|d| stops(d.code)) {
        let _ = write!(
            err,
            "{}",
            render(d, &loaded.sources, RenderOptions::default())
        );
        any = true;
    }
    any
}

/// The 1-based number of the first line that formatting changes (the last line when
/// only the final newline is missing).
fn first_different_line(a: &str, b: &str) -> usize {
    let same = a.lines().zip(b.lines()).take_while(|(x, y)| x == y).count();
    (same + 1).min(a.lines().count().max(1))
}

/// Writes beside the file and renames over it, so that a crash never leaves half a file.
/// A symbolic link is followed: its target is rewritten, the link stays.
fn write_atomically(file: &Path, text: &str) -> std::io::Result<()> {
    let file = &std::fs::canonicalize(file)?;
    let name = file
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy());
    let tmp = file.with_file_name(format!(".{name}.bmad-fmt"));
    std::fs::write(&tmp, text)?;
    if let Ok(meta) = std::fs::metadata(file) {
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    std::fs::rename(&tmp, file).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
