//! `bmad completions SHELL` (`clap_complete`) and `bmad man [--dir DIR]` (`clap_mangen`):
//! both made from the same clap definition as the parser, so they never disagree with it.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Prints the completion script for `shell` to stdout.
pub(super) fn completions(shell: clap_complete::Shell, command: &mut clap::Command) -> ExitCode {
    clap_complete::generate(shell, command, "bmad", &mut std::io::stdout());
    ExitCode::SUCCESS
}

/// Prints the manual page of `bmad` to stdout, or writes it and one page per command
/// into `dir`.
pub(super) fn run(dir: Option<&Path>, command: clap::Command) -> ExitCode {
    let mut err = std::io::stderr();
    let Some(dir) = dir else {
        let mut out = Vec::new();
        if let Err(e) = clap_mangen::Man::new(command).render(&mut out) {
            let _ = writeln!(err, "error: cannot render the manual page: {e}");
            return ExitCode::from(2);
        }
        let _ = std::io::stdout().write_all(&out);
        return ExitCode::SUCCESS;
    };
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| clap_mangen::generate_to(command, dir))
        .map_err(|e| {
            format!(
                "error: cannot write the manual pages into `{}`: {e}",
                dir.display()
            )
        });
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(err, "{e}");
            ExitCode::from(2)
        }
    }
}
