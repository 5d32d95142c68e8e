//! `bmad run --executor temporal://HOST:PORT` and `bmad worker`: agent tasks on Temporal
//! workers (the library's `temporal` module, cargo feature `temporal`).

use super::RunArgs;
use bmad::runtime::Runner;
use std::io::Write;
use std::process::ExitCode;

/// Where the run's workflow and workspace are, for the workers.
// Read only by the Temporal executor, which a build without the feature lacks.
#[cfg_attr(not(feature = "temporal"), allow(dead_code))]
pub(super) struct Where<'a> {
    /// The workflow file, canonical.
    pub workflow: &'a str,
    /// Its sha256.
    pub workflow_sha256: &'a str,
    /// The workspace, canonical.
    pub workspace: &'a std::path::Path,
    /// The directory of the workflow file.
    pub workflow_dir: &'a std::path::Path,
}

/// Gives the run's exec and script agents the executor `--executor` names; a note of what
/// it did, or the exit code when the executor is wrong (or not built in).
#[cfg(feature = "temporal")]
pub(super) fn use_executor(
    runner: &mut Runner,
    args: &RunArgs,
    at: &Where<'_>,
) -> Result<Option<String>, ExitCode> {
    use bmad::temporal::{Settings, executor};
    let settings = match Settings::of_executor(&args.executor) {
        Ok(Some(s)) => s,
        Ok(None) => return Ok(None),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            return Err(ExitCode::from(2));
        }
    };
    if args.simulate {
        return Ok(None);
    }
    let settings = Settings {
        namespace: args.namespace.clone(),
        task_queue: args.task_queue.clone(),
        heartbeat: args.heartbeat_timeout,
        ca_file: args.temporal_ca.clone(),
        ..settings
    };
    let note = format!(
        "agent tasks run on Temporal at {} (namespace {}, task queue {})",
        settings.address, settings.namespace, settings.task_queue
    );
    let origin = executor::Origin {
        workflow: at.workflow.to_string(),
        workflow_sha256: at.workflow_sha256.to_string(),
        workspace: at.workspace.display().to_string(),
        workflow_dir: at.workflow_dir.display().to_string(),
        agents: args.agents.clone(),
    };
    let agents = executor::install(runner, settings, origin);
    let list = agents.join(", ");
    Ok(Some(format!(
        "{note}: {}",
        if list.is_empty() {
            "no agent travels (sim and git agents stay local)".into()
        } else {
            list
        }
    )))
}

/// Without the `temporal` feature only `local` is known.
#[cfg(not(feature = "temporal"))]
pub(super) fn use_executor(
    _runner: &mut Runner,
    args: &RunArgs,
    _at: &Where<'_>,
) -> Result<Option<String>, ExitCode> {
    if args.executor == "local" {
        return Ok(None);
    }
    let _ = writeln!(
        std::io::stderr(),
        "error: executor `{}`: this bmad was built without Temporal (cargo feature `temporal`); \
         only `local` is known",
        args.executor
    );
    Err(ExitCode::from(2))
}

/// `bmad worker`: polls the task queue until stopped.
#[cfg(feature = "temporal")]
pub(super) fn worker(args: &super::WorkerArgs) -> ExitCode {
    use bmad::temporal::{Settings, worker};
    let mut err = std::io::stderr();
    let settings = Settings {
        namespace: args.namespace.clone(),
        task_queue: args.task_queue.clone(),
        ca_file: args.temporal_ca.clone(),
        ..Settings::at(&args.temporal, args.tls)
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(bmad::script::bounds::thread_stack())
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = writeln!(err, "error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let _ = writeln!(
        err,
        "bmad worker: polling task queue {} of namespace {} at {} ({} task(s) at once)",
        settings.task_queue, settings.namespace, settings.address, args.concurrency
    );
    let Some(cache) = args.cache.clone().or_else(default_cache) else {
        let _ = writeln!(
            err,
            "error: no cache directory for the worker's clones: give --cache DIR (or set HOME)"
        );
        return ExitCode::from(2);
    };
    let signalled = super::signals::watch(|_| {});
    let ended = rt.block_on(async {
        tokio::select! {
            ended = worker::run(&settings, args.concurrency, cache) => Some(ended),
            Ok(_) = signalled => None,
        }
    });
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    match ended {
        Some(Err(e)) => {
            let _ = writeln!(err, "error: {e}");
            ExitCode::from(1)
        }
        Some(Ok(())) | None => ExitCode::SUCCESS,
    }
}

/// The worker's cache directory when `--cache` is not given: `$XDG_CACHE_HOME/bmad/worker`,
/// or `~/.cache/bmad/worker`.
#[cfg(feature = "temporal")]
fn default_cache() -> Option<std::path::PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| std::path::PathBuf::from(h).join(".cache"))
        })?;
    Some(base.join("bmad").join("worker"))
}
