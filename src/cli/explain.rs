//! `bmad explain [CODE]`: the long explanation of a diagnostic code, with a wrong and a
//! right example; without a code, the list of codes.

use super::ExplainArgs;
use bmad::diagnostic::Code;
use bmad::explain::{explanation, lookup, title};
use std::io::Write;
use std::process::ExitCode;

/// Prints the explanation, or the list; exit 2 for a code that does not exist.
pub(super) fn run(args: &ExplainArgs) -> ExitCode {
    let Some(name) = &args.code else {
        for code in Code::ALL {
            println!("{:<28} {}", code.as_str(), title(code));
        }
        return ExitCode::SUCCESS;
    };
    if let Some(code) = lookup(name) {
        print!("{}", explanation(code));
        ExitCode::SUCCESS
    } else {
        let names = Code::ALL.map(Code::as_str);
        let short = name.strip_prefix("bmad::").unwrap_or(name);
        let hint = bmad::diagnostic::did_you_mean(&format!("bmad::{short}"), names.iter().copied())
            .unwrap_or_else(|| "`bmad explain` lists the codes".into());
        let _ = writeln!(
            std::io::stderr(),
            "error: no diagnostic code `{name}`; {hint}"
        );
        ExitCode::from(2)
    }
}
