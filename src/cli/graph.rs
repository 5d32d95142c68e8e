//! `bmad graph FILE [--format mermaid|dot] [--only phases|stories|ops]`: the workflow as
//! a flowchart, checked first (a file with errors is not drawn); `-` reads stdin.

use super::free::Freer;
use super::{GraphArgs, GraphFormat, GraphOnly};
use bmad::graph::render::{Format, render};
use bmad::graph::{Only, build};
use bmad::render::{RenderOptions, render as render_diagnostic};
use std::io::Write;
use std::process::ExitCode;

/// Prints the graph; exit 1 when the workflow has errors, 2 when it cannot be read.
pub(super) fn run(args: &GraphArgs) -> ExitCode {
    let mut err = std::io::stderr();
    let checked = match super::files::check(&args.file) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(err, "{e}");
            return ExitCode::from(2);
        }
    };
    for d in checked.diagnostics.iter().filter(|d| d.is_error()) {
        let _ = write!(
            err,
            "{}",
            render_diagnostic(d, &checked.sources, RenderOptions::default())
        );
    }
    if checked.io_failed {
        return ExitCode::from(2);
    }
    if checked.has_errors() {
        let _ = writeln!(err, "not drawn: the workflow has errors");
        return ExitCode::from(1);
    }
    let only = match args.only {
        None => Only::All,
        Some(GraphOnly::Phases) => Only::Phases,
        Some(GraphOnly::Stories) => Only::Stories,
        Some(GraphOnly::Ops) => Only::Ops,
    };
    let format = match args.format {
        GraphFormat::Mermaid => Format::Mermaid,
        GraphFormat::Dot => Format::Dot,
    };
    let graph = build(&checked.program, only);
    if graph.nodes.is_empty() {
        let what = match only {
            Only::Phases => "no phases",
            Only::Stories => "no stories",
            Only::Ops => "no operations (monitors, heals, procedures, incidents, maintenance)",
            Only::All => "nothing",
        };
        let _ = writeln!(err, "nothing to draw: `{}` has {what}", args.file.display());
        return ExitCode::SUCCESS;
    }
    let text = render(&graph, format);
    // Freed while the text is written, and not waited for.
    let freer = Freer::start();
    freer.free(graph);
    freer.free(checked);
    print!("{text}");
    ExitCode::SUCCESS
}
