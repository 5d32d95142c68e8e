//! `bmad graph FILE [--format mermaid|dot] [--only phases|stories|ops] [--page NAME]
//! [--pages] [--out DIR]`: the workflow as flowcharts, a page for each part (see
//! `bmad::graph::page`), checked first (a file with errors is not drawn); `-` reads stdin.

use super::free::Freer;
use bmad::graph::page::{Page, find, split};
use bmad::graph::render::{Format, Renderer};
use bmad::graph::{Graph, Only, build};
use bmad::render::{RenderOptions, render as render_diagnostic};
use clap::ValueEnum;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A page that could not be written to `--out`.
#[derive(Debug, thiserror::Error)]
#[error("cannot write `{}`: {source}", path.display())]
struct WriteError {
    path: PathBuf,
    source: std::io::Error,
}

/// Prints the pages; exit 1 when the workflow has errors, 2 when it cannot be read, a
/// page asked for does not exist or a page cannot be written.
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
    let pages = split(&graph);
    if args.pages {
        print!("{}", listing(&pages));
        return ExitCode::SUCCESS;
    }
    let chosen: &[Page] = match &args.page {
        None => &pages,
        Some(name) => match find(&pages, name) {
            Ok(page) => std::slice::from_ref(page),
            Err(e) => {
                let _ = writeln!(err, "error: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let code = if let Some(dir) = &args.out {
        match write_pages(&graph, chosen, format, dir) {
            Ok(paths) => {
                for p in paths {
                    println!("{}", p.display());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                let _ = writeln!(err, "error: {e}");
                ExitCode::from(2)
            }
        }
    } else {
        let renderer = Renderer::new(&graph);
        let text = if args.page.is_some() {
            chosen.iter().map(|p| renderer.page(p, format)).collect()
        } else {
            renderer.pages(chosen, format)
        };
        print!("{text}");
        ExitCode::SUCCESS
    };
    // Freed while the process ends, and not waited for.
    let freer = Freer::start();
    freer.free(pages);
    freer.free(graph);
    freer.free(checked);
    code
}

/// One line a page: its name and what it shows.
fn listing(pages: &[Page]) -> String {
    let width = pages.iter().map(|p| p.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for p in pages {
        let count = p.definitions();
        let plural = if count == 1 { "" } else { "s" };
        let _ = writeln!(
            out,
            "{:width$}  {} ({count} definition{plural})",
            p.name, p.title
        );
    }
    out
}

/// Writes each of `pages` to `dir` (created if missing) as `NAME.mmd` or `NAME.dot`; the
/// files written.
fn write_pages(
    graph: &Graph,
    pages: &[Page],
    format: Format,
    dir: &Path,
) -> Result<Vec<PathBuf>, WriteError> {
    std::fs::create_dir_all(dir).map_err(|source| WriteError {
        path: dir.to_path_buf(),
        source,
    })?;
    let renderer = Renderer::new(graph);
    pages
        .iter()
        .map(|page| {
            let path = dir.join(format!("{}.{}", page.name, format.extension()));
            std::fs::write(&path, renderer.page(page, format))
                .map(|()| path.clone())
                .map_err(|source| WriteError { path, source })
        })
        .collect()
}

/// `bmad graph` arguments.
#[derive(clap::Args)]
pub(crate) struct GraphArgs {
    /// The workflow (`-` for stdin).
    file: PathBuf,
    /// The output format.
    #[arg(long, value_enum, default_value = "mermaid")]
    format: GraphFormat,
    /// Draw only one part (default: all of them).
    #[arg(long, value_enum)]
    only: Option<GraphOnly>,
    /// Draw only the page NAME (as --pages lists them: phases, stories, monitors, heals,
    /// incidents, emergencies, procedures, maintenance; `heals-2` when a part takes
    /// several pages), as one graph.
    #[arg(long, value_name = "NAME")]
    page: Option<String>,
    /// List the pages (name, what each shows) instead of drawing them.
    #[arg(long, conflicts_with_all = ["page", "out"])]
    pages: bool,
    /// Write each page to its own file in DIR (`NAME.mmd` or `NAME.dot`, created or
    /// replaced) and list the files, instead of printing the pages.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// `bmad graph --format`.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum GraphFormat {
    /// Mermaid flowchart.
    Mermaid,
    /// Graphviz DOT.
    Dot,
}

/// `bmad graph --only`.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum GraphOnly {
    /// The phases: steps, parallel agents, decisions and handoffs.
    Phases,
    /// The story DAG.
    Stories,
    /// Monitors, rules, heals, incidents, emergencies, maintenance and procedures.
    Ops,
}
