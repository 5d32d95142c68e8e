//! `bmad init [DIR] [--template NAME]`: a new workflow from a stdlib template, checked
//! before it is written; an existing file is never overwritten.

use super::InitArgs;
use bmad::stdlib::TEMPLATES;
use std::io::Write;
use std::process::ExitCode;

/// Writes the template into the directory; exit 2 when it cannot.
pub(super) fn run(args: &InitArgs) -> ExitCode {
    let mut err = std::io::stderr();
    let Some((name, file, text, _)) = TEMPLATES.iter().find(|t| t.0 == args.template) else {
        let names: Vec<&str> = TEMPLATES.iter().map(|t| t.0).collect();
        let _ = writeln!(
            err,
            "error: no template `{}`; the templates are: {}",
            args.template,
            names.join(", ")
        );
        return ExitCode::from(2);
    };
    let dir = args.dir.clone().unwrap_or_else(|| ".".into());
    let path = dir.join(file);
    if path.exists() {
        let _ = writeln!(err, "error: `{}` exists; not overwritten", path.display());
        return ExitCode::from(2);
    }
    // A template that does not check clean is a bug in bmad: never hand it out.
    let checked = bmad::check_text(file, text);
    if checked.has_errors() {
        let _ = writeln!(err, "error: the `{name}` template does not check clean");
        return ExitCode::from(2);
    }
    let written = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, text));
    if let Err(e) = written {
        let _ = writeln!(err, "error: cannot write `{}`: {e}", path.display());
        return ExitCode::from(2);
    }
    let shown = path.display();
    println!("wrote {shown} (template `{name}`)");
    if *name == "product" {
        let idea = dir.join("input/idea.md");
        if !idea.exists()
            && std::fs::create_dir_all(dir.join("input"))
                .and_then(|()| std::fs::write(&idea, "# The idea\n\nDescribe what to build.\n"))
                .is_ok()
        {
            println!(
                "wrote {} (the idea the workflow starts from)",
                idea.display()
            );
        }
        println!(
            "next: bmad check {shown} && bmad run --simulate {shown} --workspace {}",
            dir.display()
        );
    } else {
        println!(
            "next: bmad check {shown} && bmad monitor --simulate --for 7d {shown} --workspace {}",
            dir.display()
        );
    }
    ExitCode::SUCCESS
}
