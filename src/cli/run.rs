//! `bmad run`: check, then run with simulated agents on a virtual clock.

use super::RunArgs;
use bmad::render::{RenderOptions, render};
use bmad::runtime::{RunOptions, Runner};
use std::io::Write;
use std::process::ExitCode;

/// Checks and runs the workflow; prints the report.
pub fn run(args: &RunArgs) -> ExitCode {
    let mut err = std::io::stderr();
    let checked = bmad::check_path(&args.file);
    for d in &checked.diagnostics {
        let _ = write!(
            err,
            "{}",
            render(d, &checked.sources, RenderOptions::default())
        );
    }
    if checked.io_failed {
        return ExitCode::from(2);
    }
    if checked.has_errors() {
        let _ = writeln!(err, "not run: the workflow has errors");
        return ExitCode::from(1);
    }
    let workspace = args
        .workspace
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("."));
    if let Err(e) = std::fs::create_dir_all(&workspace) {
        let _ = writeln!(
            err,
            "error: cannot make the workspace `{}`: {e}",
            workspace.display()
        );
        return ExitCode::from(2);
    }
    let workspace = workspace.canonicalize().unwrap_or(workspace);
    let options = RunOptions {
        seed: args.seed,
        workspace,
        simulate: args.simulate,
        approve: args.approve.clone(),
    };
    let mut runner = match Runner::new(checked.program, options) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return ExitCode::from(2);
        }
    };
    let progress = super::progress::start(args.log_format).map(|(listener, bar)| {
        runner.on_event(listener);
        bar
    });
    // A simulation runs on a virtual clock; a real run on the wall clock.
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(args.simulate)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(err, "error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    // Ctrl-C drops the run: every running agent's process group is killed on the way.
    let report = rt.block_on(async {
        tokio::select! {
            report = runner.run() => Some(report),
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    // Interrupted: the run's future is gone and with it every agent's process group.
    let interrupted = report.is_none();
    let report = report.unwrap_or_else(|| {
        runner.report(Some(
            "interrupted (Ctrl-C): running agents were stopped".into(),
        ))
    });
    print!("{}", report.table());
    if let Some(path) = &args.report {
        let json = serde_json::to_string_pretty(&report).unwrap_or_default();
        if let Err(e) = std::fs::write(path, json) {
            let _ = writeln!(err, "error: cannot write `{}`: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if interrupted {
        let _ = writeln!(err, "run interrupted: running agents were stopped");
        return ExitCode::from(130);
    }
    if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
