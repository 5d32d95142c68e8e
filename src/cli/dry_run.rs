//! `bmad run --dry-run`: every prompt the run would send, in order, and nothing run. The
//! workflow is simulated on a virtual clock in a scratch workspace seeded with what it
//! takes from outside (its `provided` artifacts, its story files and BMAD projects), so the workspace is
//! not touched and no run is recorded; each agent prints the prompt it is given.

use super::RunArgs;
use bmad::runtime::backend::{AgentBackend, Invocation, Outcome, SimBackend};
use bmad::runtime::workspace::Workspace;
use bmad::runtime::{RunOptions, Runner};
use futures::future::BoxFuture;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A simulated agent that prints each prompt it is given first (secrets masked).
struct Printing {
    inner: SimBackend,
    count: Arc<AtomicUsize>,
    sandbox: Arc<bmad::script::Sandbox>,
}

impl AgentBackend for Printing {
    fn run(&self, inv: Invocation) -> BoxFuture<'static, Outcome> {
        let n = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        let story = inv
            .story
            .as_ref()
            .map_or(String::new(), |s| format!(" [story {s}]"));
        let attempt = if inv.attempt > 1 {
            format!(" (attempt {})", inv.attempt)
        } else {
            String::new()
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "── prompt {n}: {}: {}{story}{attempt}, at {} ──\n{}",
            inv.agent,
            inv.tasks.join(", "),
            inv.step,
            self.sandbox.redact(inv.prompt.trim_end())
        );
        let _ = writeln!(out);
        self.inner.run(inv)
    }
}

/// Copies what `program` takes from outside the run from `from` into the scratch `to`.
fn seed(program: &bmad::ir::Program, from: &Path, to: &Path) -> std::io::Result<()> {
    let real = Workspace::new(from, program);
    let mut inputs: Vec<std::path::PathBuf> = program
        .artifacts
        .iter()
        .filter(|a| a.provided)
        .filter_map(|a| real.named_artifact(&a.name.name).ok())
        .map(|a| a.path)
        .collect();
    for source in &program.story_sources {
        let inside = source.pattern.value.trim_start_matches('/');
        if source.format == bmad::model::StoryFormat::Bmad {
            // A BMAD project: every file under its directory.
            let root = glob::Pattern::escape(&real.root().join(inside).to_string_lossy());
            if let Ok(paths) = glob::glob(&format!("{root}/**/*")) {
                inputs.extend(paths.filter_map(Result::ok));
            }
            continue;
        }
        let root = glob::Pattern::escape(&real.root().to_string_lossy());
        if let Ok(paths) = glob::glob(&format!("{root}/{inside}")) {
            inputs.extend(paths.filter_map(Result::ok));
        }
    }
    for path in inputs.iter().filter(|p| p.is_file()) {
        let Ok(inside) = path.strip_prefix(real.root()) else {
            continue;
        };
        let target = to.join(inside);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::copy(path, &target)?;
    }
    Ok(())
}

/// Prints every prompt a run of `program` would send; the exit code.
pub(super) fn dry_run(
    program: bmad::ir::Program,
    workspace: &Path,
    workflow_dir: std::path::PathBuf,
    args: &RunArgs,
) -> ExitCode {
    let mut err = std::io::stderr();
    let scratch = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            let _ = writeln!(err, "error: cannot make a scratch workspace: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = seed(&program, workspace, scratch.path()) {
        let _ = writeln!(err, "error: cannot copy the workflow's inputs: {e}");
        return ExitCode::from(2);
    }
    let agents: Vec<String> = program
        .agents
        .iter()
        .map(|a| a.name.name.to_string())
        .collect();
    let sims: Vec<SimBackend> = agents
        .iter()
        .map(|a| SimBackend::for_agent(&program, a, args.seed))
        .collect();
    let options = RunOptions {
        seed: args.seed,
        workspace: scratch.path().to_path_buf(),
        workflow_dir: Some(workflow_dir),
        ..Default::default()
    };
    let sandbox = Arc::new(bmad::script::Sandbox::for_program(
        &program,
        scratch.path().to_path_buf(),
    ));
    let mut runner = Runner::simulated(program, options);
    let count = Arc::new(AtomicUsize::new(0));
    for (name, inner) in agents.iter().zip(sims) {
        let printing = Printing {
            inner,
            count: Arc::clone(&count),
            sandbox: Arc::clone(&sandbox),
        };
        runner.set_backend(name, Arc::new(printing));
    }
    let rt = match super::run::runtime(true) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let report = rt.block_on(runner.run());
    let _ = writeln!(
        err,
        "{} prompt(s), as a simulated run sends them (its agents approve, so each loop goes \
         round once); nothing ran and nothing was written in the workspace (paths are in a \
         scratch copy of its inputs){}",
        count.load(Ordering::Relaxed),
        report
            .failed
            .as_ref()
            .map_or(String::new(), |f| format!(". The simulation stopped: {f}"))
    );
    if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
