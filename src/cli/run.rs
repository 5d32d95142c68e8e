//! `bmad run`: check, then run (every agent simulated on a virtual clock with --simulate),
//! recorded in the state store; `--resume` continues a run that stopped.

use super::RunArgs;
use bmad::render::{RenderOptions, render};
use bmad::runtime::resume::ResumeRequest;
use bmad::runtime::{RunOptions, Runner};
use bmad::state::Store;
use std::io::Write;
use std::process::ExitCode;

/// A checked workflow ready to run, with its identity in the state store.
pub(super) struct Prepared {
    /// The program.
    pub program: bmad::ir::Program,
    /// The workflow's canonical path.
    pub workflow: String,
    /// The sha256 of every file it is made of.
    pub workflow_sha256: String,
    /// The workspace root (made if missing), canonical.
    pub workspace: std::path::PathBuf,
    /// The state database.
    pub state_path: std::path::PathBuf,
    /// The directory of the workflow file, canonical.
    pub workflow_dir: std::path::PathBuf,
}

/// Checks `file` (printing its diagnostics) and makes the workspace; the exit code when
/// it cannot run.
pub(super) fn prepare(
    file: &std::path::Path,
    workspace: Option<&std::path::Path>,
    state: Option<&std::path::Path>,
) -> Result<Prepared, ExitCode> {
    let mut err = std::io::stderr();
    let checked = bmad::check_path(file);
    for d in &checked.diagnostics {
        let _ = write!(
            err,
            "{}",
            render(d, &checked.sources, RenderOptions::default())
        );
    }
    if checked.io_failed {
        return Err(ExitCode::from(2));
    }
    if checked.has_errors() {
        let _ = writeln!(err, "not run: the workflow has errors");
        return Err(ExitCode::from(1));
    }
    // The workflow's identity in the store: its canonical path and the hash of every file
    // it is made of.
    let canonical = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
    let workflow_dir = canonical.parent().map_or_else(
        || std::path::PathBuf::from("."),
        std::path::Path::to_path_buf,
    );
    let workflow = canonical.display().to_string();
    let workflow_sha256 = checked.workflow_sha256();
    // `--workspace`, else the workflow's `workspace` setting (from the workflow file's
    // directory), else the current directory.
    let workspace = match (workspace, checked.program.setting_name("workspace")) {
        (Some(w), _) => w.to_path_buf(),
        (None, Some(w)) => workflow_dir.join(w),
        (None, None) => std::path::PathBuf::from("."),
    };
    if let Err(e) = std::fs::create_dir_all(&workspace) {
        let _ = writeln!(
            err,
            "error: cannot make the workspace `{}`: {e}",
            workspace.display()
        );
        return Err(ExitCode::from(2));
    }
    let workspace = workspace.canonicalize().unwrap_or(workspace);
    // The default store is the workspace's: no link may carry it elsewhere.
    let state_path = match state {
        Some(path) => path.to_path_buf(),
        None => bmad::runtime::confined::state_path(&workspace).map_err(|e| {
            let _ = writeln!(err, "error: the state file: {e}");
            ExitCode::from(2)
        })?,
    };
    Ok(Prepared {
        program: checked.program,
        workflow,
        workflow_sha256,
        workspace,
        state_path,
        workflow_dir,
    })
}

/// Checks and runs the workflow; prints the report.
pub(super) fn run(args: &RunArgs) -> ExitCode {
    let mut err = std::io::stderr();
    let Prepared {
        program,
        workflow,
        workflow_sha256,
        workspace,
        state_path,
        workflow_dir,
    } = match prepare(&args.file, args.workspace.as_deref(), args.state.as_deref()) {
        Ok(p) => p,
        Err(code) => return code,
    };
    if args.dry_run {
        return super::dry_run::dry_run(program, &workspace, workflow_dir, args);
    }
    if let Err(code) = no_silent_simulation(&program, args) {
        return code;
    }
    let workspace_dir = workspace.clone();
    let workflow_dir_at = workflow_dir.clone();
    let options = RunOptions {
        seed: args.seed,
        workspace,
        simulate: args.simulate,
        approve: args.approve.clone(),
        monitor_for: args.monitor_for,
        workflow_dir: Some(workflow_dir),
        agents: args.agents.clone(),
        budget: args.budget.clone(),
    };
    let mut runner = match Runner::new(program, options) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return ExitCode::from(2);
        }
    };
    let at = super::temporal::Where {
        workflow: &workflow,
        workflow_sha256: &workflow_sha256,
        workspace: &workspace_dir,
        workflow_dir: &workflow_dir_at,
    };
    let executor_note = match super::temporal::use_executor(&mut runner, args, &at) {
        Ok(note) => note,
        Err(code) => return code,
    };
    if no_state(args.state.as_deref()) {
        if args.resume.is_some() {
            let _ = writeln!(
                err,
                "error: --resume continues a run from its state file, and --state none keeps \
                 none: name the state file the run was recorded in (--state PATH), or leave \
                 --state out for the workspace's"
            );
            return ExitCode::from(2);
        }
        let note = "run not recorded (--state none): no state file is written, and the run \
                    cannot be resumed"
            .to_string();
        let notes: Vec<String> = std::iter::once(note).chain(executor_note).collect();
        return execute(runner, args, None, &notes);
    }
    let store = match Store::open(&state_path) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return ExitCode::from(2);
        }
    };
    let recorded = match &args.resume {
        Some(id) => resume(&mut runner, store, args, id, &workflow, &workflow_sha256),
        None => runner
            .record_to(store, &workflow, &workflow_sha256)
            .map(|id| (id, Vec::new()))
            .map_err(|e| (format!("error: {e}"), 2)),
    };
    let (run_id, mut notes) = match recorded {
        Ok(r) => r,
        Err((message, code)) => {
            let _ = writeln!(err, "{message}");
            return ExitCode::from(code);
        }
    };
    notes.insert(
        0,
        format!("run {run_id} (state in {})", state_path.display()),
    );
    notes.extend(executor_note);
    execute(runner, args, Some(&run_id), &notes)
}

/// Whether `--state` says `none`: a throwaway run that records nothing (a file of that
/// name is `./none`).
fn no_state(state: Option<&std::path::Path>) -> bool {
    state == Some(std::path::Path::new("none"))
}

/// A real run whose steps give tasks to simulated agents is refused (exit 2), unless an
/// adapter is named for them (`--agents`, the `agents` setting) or `--allow-sim` says so:
/// then it is said before the run starts.
fn no_silent_simulation(program: &bmad::ir::Program, args: &RunArgs) -> Result<(), ExitCode> {
    use bmad::runtime::roster;
    if args.simulate || roster::adapter_name(program, args.agents.as_deref()).is_some() {
        return Ok(());
    }
    let simulated = roster::simulated_in_use(program);
    if simulated.is_empty() {
        return Ok(());
    }
    let mut err = std::io::stderr();
    let list = simulated
        .iter()
        .map(|a| format!("`{a}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if args.allow_sim {
        let _ = writeln!(
            err,
            "note: these agents are simulated (--allow-sim): {list}; their tasks take their \
             simulated time on the wall clock and write placeholders"
        );
        return Ok(());
    }
    let _ = writeln!(
        err,
        "error: these agents are simulated (`backend sim`, or no backend, as in std.roles): \
         {list}. A real run would only wait for them.\n  \
         --agents claude_code (or codex, gemini): give them a coding CLI from std.agents\n  \
         --simulate: simulate the whole workflow on a virtual clock\n  \
         --allow-sim: run them simulated beside the real agents"
    );
    Err(ExitCode::from(2))
}

/// Picks the run to resume and prepares `runner` to continue it (the policy is the
/// library's: [`bmad::runtime::resume`]); its id and what the resume found, or the message
/// and exit code of why not.
fn resume(
    runner: &mut Runner,
    store: Store,
    args: &RunArgs,
    id: &str,
    workflow: &str,
    workflow_sha256: &str,
) -> Result<(String, Vec<String>), (String, u8)> {
    let request = ResumeRequest {
        run: (!id.is_empty()).then(|| id.to_string()),
        workflow: workflow.to_string(),
        workflow_sha256: workflow_sha256.to_string(),
        force: args.force,
    };
    let resumed = runner.resume_from(store, &request).map_err(|refused| {
        (
            format!("error: {refused}"),
            if refused.is_usage() { 2 } else { 1 },
        )
    })?;
    let mut notes: Vec<String> = resumed
        .changed
        .iter()
        .map(|c| format!("warning: artifact {c}"))
        .collect();
    notes.push(format!(
        "resuming run {}: {} step(s) that ended are not run again; {} in flight run again \
         from their start{}",
        resumed.run,
        resumed.finished,
        resumed.in_flight.len(),
        if resumed.stopped > 0 {
            format!(
                "; {} agent process group(s) left by the stopped run were killed",
                resumed.stopped
            )
        } else {
            String::new()
        }
    ));
    Ok((resumed.run, notes))
}

/// Runs `runner` to its end or Ctrl-C; prints `notes` (what the run is, what a resume
/// found) as the log starts, then the report.
fn execute(mut runner: Runner, args: &RunArgs, run_id: Option<&str>, notes: &[String]) -> ExitCode {
    let mut err = std::io::stderr();
    let progress = super::progress::start(args.log_format).map(|(listener, bar)| {
        runner.on_event(listener);
        bar
    });
    for note in notes {
        match (&progress, note.strip_prefix("warning: ")) {
            (Some(_), _) => {
                let _ = writeln!(err, "{note}");
            }
            (None, Some(w)) => tracing::warn!(target: "bmad::run", run = run_id, "{w}"),
            (None, None) => tracing::info!(target: "bmad::run", run = run_id, "{note}"),
        }
    }
    // A simulation runs on a virtual clock; a real run on the wall clock.
    let rt = match runtime(args.simulate) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    // Ctrl-C and SIGTERM (a service manager stopping bmad) stop the run the same way:
    // its scripts are stopped from the signal thread, then the run's future is dropped and
    // with it every running agent's process group.
    let scripts = runner.script_cancel_handle();
    let seen = std::sync::Arc::new(std::sync::OnceLock::new());
    let saw = std::sync::Arc::clone(&seen);
    let signalled = super::signals::watch(move |signal| {
        let _ = saw.set(signal);
        scripts.cancel();
    });
    let (report, signal) = rt.block_on(async {
        tokio::select! {
            report = runner.run() => (Some(report), None),
            Ok(signal) = signalled => (None, Some(signal)),
        }
    });
    // Blocking work still going (a script's network call) is not waited for past a second.
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    // Interrupted: the run's future is gone and with it every agent's process group.
    // A run that failed because the signal stopped its scripts was interrupted too; one
    // that succeeded before the signal came stands.
    let signal = signal.or_else(|| match &report {
        Some(r) if r.ok => None,
        _ => seen.get().copied(),
    });
    let interrupted = signal.is_some();
    let signal_name = signal.map_or("", super::signals::Signal::name);
    let report = match report {
        Some(report) if !interrupted => report,
        _ => runner.interrupted(&format!(
            "interrupted ({signal_name}): running agents were stopped"
        )),
    };
    print!("{}", report.table());
    if let Some(path) = &args.report {
        let json = serde_json::to_string_pretty(&report).unwrap_or_default();
        if let Err(e) = std::fs::write(path, json) {
            let _ = writeln!(err, "error: cannot write `{}`: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if interrupted {
        let then = run_id.map_or_else(
            || "not recorded (--state none): it cannot be resumed".to_string(),
            |id| format!("continue with --resume {id}"),
        );
        let _ = writeln!(err, "run interrupted: running agents were stopped ({then})");
        return ExitCode::from(signal.map_or(130, super::signals::Signal::exit_code));
    }
    let code = ExitCode::from(report.exit_code());
    end_without_freeing(runner, report);
    code
}

/// Closes the run's store (everything recorded is committed, the database closed) and
/// flushes stdout, then leaves the runner and its report to the process's end rather than
/// free them piece by piece: the log and program of a run of 100,000 steps are a million
/// allocations, and freeing them took up to a tenth of its CPU (without a store). The
/// run's leftover processes were swept when it ended, and nothing else in them has work
/// left to do when dropped.
fn end_without_freeing(mut runner: Runner, report: bmad::runtime::Report) {
    runner.close_store();
    let _ = std::io::stdout().flush();
    std::mem::forget(report);
    std::mem::forget(runner);
}

/// The runtime a run or a monitor session runs on: one thread, on a virtual clock for a
/// simulation; exit code 2 when it cannot start.
///
/// A simulation does no I/O on it (its agents, `sh` steps, probes, webhooks and checks are
/// simulated; a script's `http_get` runs its own runtime), so it has no I/O driver: with
/// one, every simulated step's new timer woke the driver with a write to an eventfd, a
/// system call per step.
pub(super) fn runtime(simulate: bool) -> Result<tokio::runtime::Runtime, ExitCode> {
    let mut builder = tokio::runtime::Builder::new_current_thread();
    if simulate {
        builder.enable_time();
    } else {
        builder.enable_all();
    }
    builder
        .thread_stack_size(bmad::script::bounds::thread_stack())
        .start_paused(simulate)
        .build()
        .map_err(|e| {
            let _ = writeln!(std::io::stderr(), "error: cannot start the runtime: {e}");
            ExitCode::from(2)
        })
}
