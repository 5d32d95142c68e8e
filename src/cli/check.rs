//! `bmad check`: load, lower, check and report; files, directories (their `.bmad`
//! files) and `-` (stdin).

use super::free::Freer;
use super::{CheckArgs, Color, Emit, Format};
use bmad::diagnostic::{Severity, to_json};
use bmad::render::{RenderOptions, render};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

/// Checks every file and prints what was found.
pub(super) fn run(args: &CheckArgs) -> ExitCode {
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let options = RenderOptions {
        color,
        ..RenderOptions::default()
    };
    let (mut errors, mut warnings, mut io_failed) = (0, 0, false);
    // The code of the first error, for the hint at the end.
    let mut first_error = None;
    let mut irs = Vec::new();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut err = std::io::stderr().lock();
    let freer = Freer::start();
    let (files, unreadable) = super::files::expand(&args.files);
    for e in &unreadable {
        let _ = writeln!(err, "{e}");
        io_failed = true;
    }
    if files.is_empty() && unreadable.is_empty() {
        let _ = writeln!(
            err,
            "error: no `.bmad` file in {} (name a .bmad file, or a directory that holds some)",
            names(&args.files)
        );
        return ExitCode::from(2);
    }
    for file in &files {
        let checked = match super::files::check(file) {
            Ok(c) => c,
            Err(e) => {
                let _ = writeln!(err, "{e}");
                io_failed = true;
                continue;
            }
        };
        io_failed |= checked.io_failed;
        for d in &checked.diagnostics {
            match d.severity {
                Severity::Error => {
                    errors += 1;
                    first_error.get_or_insert(d.code);
                }
                Severity::Warning => warnings += 1,
            }
            match args.format {
                // With --emit ir, stdout holds the IR: the JSON lines go to stderr.
                Format::Json if args.emit.is_some() => {
                    let _ = writeln!(err, "{}", to_json(d, &checked.sources));
                }
                Format::Json => {
                    let _ = writeln!(out, "{}", to_json(d, &checked.sources));
                }
                Format::Human => {
                    let _ = write!(err, "{}", render(d, &checked.sources, options));
                }
            }
        }
        if args.emit == Some(Emit::Ir) && !checked.io_failed {
            irs.push(checked.program);
        } else {
            freer.free(checked);
        }
    }
    if args.emit == Some(Emit::Ir) {
        let json = if irs.len() == 1 {
            serde_json::to_string_pretty(&irs[0])
        } else {
            serde_json::to_string_pretty(&irs)
        };
        match json {
            Ok(j) => {
                let _ = writeln!(out, "{j}");
            }
            Err(e) => {
                let _ = writeln!(err, "error: cannot serialise the IR: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if args.format == Format::Human {
        let files = files.len();
        let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
        let _ = writeln!(
            err,
            "checked {}: {}, {}",
            plural(files, "file"),
            plural(errors, "error"),
            plural(warnings, "warning")
        );
        if let Some(code) = first_error {
            let _ = writeln!(
                err,
                "run `bmad explain {code}` for what the first error means, with a wrong and a \
                 right example"
            );
        }
    }
    if io_failed {
        ExitCode::from(2)
    } else if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The paths, quoted, for a message.
fn names(paths: &[std::path::PathBuf]) -> String {
    paths
        .iter()
        .map(|p| format!("`{}`", p.display()))
        .collect::<Vec<_>>()
        .join(", ")
}
