//! `bmad monitor`: the workflow's monitors and scheduled maintenance, until Ctrl-C or
//! SIGTERM (or for `--for`), recorded in the state store as a `monitor` session; with
//! `--simulate`, a week runs in seconds on a virtual clock. Prints what happened.

use super::MonitorArgs;
use super::run::{Prepared, prepare, runtime};
use bmad::runtime::{RunOptions, Runner};
use bmad::state::Store;
use std::io::Write;
use std::process::ExitCode;

/// Runs the monitors; prints the summary.
pub(super) fn run(args: &MonitorArgs) -> ExitCode {
    let mut err = std::io::stderr();
    let Prepared {
        program,
        workflow,
        workflow_sha256,
        workspace,
        state_path,
        workflow_dir,
    } = match prepare(
        &args.file,
        args.store.workspace.as_deref(),
        args.store.state.as_deref(),
    ) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if program.monitors.is_empty() && program.procedures.iter().all(|p| p.schedule.is_none()) {
        let _ = writeln!(
            err,
            "error: `{}` has no monitor and no scheduled maintenance",
            args.file.display()
        );
        return ExitCode::from(2);
    }
    let options = RunOptions {
        seed: args.seed,
        workspace,
        simulate: args.simulate,
        workflow_dir: Some(workflow_dir),
        ..Default::default()
    };
    let mut runner = match Runner::new(program, options) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return ExitCode::from(2);
        }
    };
    let recorded = Store::open(&state_path).and_then(|store| {
        runner.record_as(
            store,
            &workflow,
            &workflow_sha256,
            bmad::state::RunKind::Monitor,
        )
    });
    let id = match recorded {
        Ok(id) => id,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return ExitCode::from(2);
        }
    };
    // A simulated week logs only warnings unless asked; a real session logs what happens,
    // or shows it in a live view on a terminal.
    let view = super::monitor_view::start(args.log_format, args.simulate).map(|(listener, bar)| {
        runner.on_event(listener);
        bar
    });
    tracing::info!(target: "bmad::run", run = %id, "monitoring (state in {})", state_path.display());
    let rt = match runtime(args.simulate) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    // The summary is taken on the runtime's clock (virtual in a simulation).
    let scripts = runner.script_cancel_handle();
    let signalled = super::signals::watch(move |_| scripts.cancel());
    let (stopped, summary) = rt.block_on(async {
        let stopped = tokio::select! {
            () = runner.operate(args.for_) => None,
            Ok(signal) = signalled => Some(signal),
        };
        (stopped, runner.ops_summary())
    });
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    if let Some(bar) = view {
        bar.finish_and_clear();
    }
    // Stopped: the operations' futures are gone, and with them every process they ran.
    if let Some(signal) = &stopped {
        let why = format!("stopped ({})", signal.name());
        runner.interrupted(&why);
        let _ = writeln!(err, "{why}: running checks and fixes were stopped");
    }
    print!("{}", summary.table());
    if let Some(path) = &args.report {
        let json = serde_json::to_string_pretty(&summary).unwrap_or_default();
        if let Err(e) = std::fs::write(path, json) {
            let _ = writeln!(err, "error: cannot write `{}`: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    // Stopped by a signal: 130 (Ctrl-C) or 143 (SIGTERM), as `bmad run` exits.
    stopped.map_or(ExitCode::SUCCESS, |s| ExitCode::from(s.exit_code()))
}
