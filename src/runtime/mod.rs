//! Runs a checked workflow: one deterministic scheduler over the IR's step graphs. Phases
//! run in `after` order from the workflow's start; parallel blocks and the story DAG run
//! side by side under the phase maximum and the global `max_concurrent_agents`; loops are
//! bounded; conditions are rhai. With simulated agents on a paused tokio clock, a run that
//! would take days takes milliseconds.
//!
//! Agents are child processes ([`exec`]), rhai ([`script_agent`]), real git ([`git`]),
//! simulations ([`backend::SimBackend`]) or a host program's own ([`crate::Engine`]).
//! Artifacts live in the [`workspace`].

pub mod agent_output;
mod approval;
pub mod backend;
mod bmad_stories;
pub mod budget;
mod budget_watch;
pub mod carried;
pub mod confined;
mod delivery;
mod delivery_setup;
mod deploy;
pub mod digest;
pub mod durable;
pub mod event;
mod event_json;
pub mod exec;
pub mod git;
mod handoff;
mod journal;
pub mod kpi;
pub mod limits;
mod loop_state;
pub mod notify;
pub mod ops;
mod ops_host;
mod pause;
pub mod people_report;
mod probing;
pub mod process;
pub mod process_mark;
pub mod process_sweep;
mod prompt;
mod record;
mod recorder;
pub mod recovery;
pub mod remote;
pub mod report;
pub mod resume;
pub mod roster;
pub mod script_agent;
mod shell;
pub mod spawn;
mod status_writeback;
mod step_error;
mod steps;
mod story_dag;
pub mod story_files;
pub mod sync;
mod task;
mod task_run;
pub mod transient;
pub mod verdict;
pub use step_error::SetupError;
pub mod workspace;

use crate::ir::Program;
use crate::script::Scripts;
use crate::state::RunStatus;
use backend::{AgentBackend, SimBackend};
use event::{EventKind, Listener};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tracing::Instrument;

pub use report::Report;

/// How a run is made.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Seed of simulated outcomes.
    pub seed: u64,
    /// The workspace root.
    pub workspace: PathBuf,
    /// Every agent simulated, and steps that touch the world recorded, not performed.
    pub simulate: bool,
    /// Environments whose manual gate a person has approved for this run (`--approve`).
    pub approve: Vec<String>,
    /// How long monitors started by `watch` go on after the phases end (none: they stop
    /// with the run).
    pub monitor_for: Option<std::time::Duration>,
    /// The directory of the workflow file: `{workflow_dir}` in exec commands, `sh` steps
    /// and command checks, and `BMAD_WORKFLOW_DIR` in their environment (the workspace
    /// when not given).
    pub workflow_dir: Option<PathBuf>,
    /// An agent adapter (a `std.agents` agent such as `claude_code`, or an exec agent of the
    /// workflow) whose backend every simulated agent takes in a real run; the workflow's
    /// `agents` setting when not given ([`roster`]).
    pub agents: Option<String>,
    /// The run's ceilings given on the command line (`--budget 50USD`), in place of the
    /// workflow's `budget { run ... }`.
    pub budget: Vec<crate::model::literal::Value>,
}

/// A workflow ready to run.
pub struct Runner {
    program: Program,
    scripts: Arc<Scripts>,
    backends: HashMap<String, Arc<dyn AgentBackend>>,
    global: Arc<Semaphore>,
    /// How many agents may run at once (`max_concurrent_agents`).
    agents_at_once: usize,
    admission: limits::Admission,
    agent_limits: HashMap<String, limits::AgentLimits>,
    /// The agents whose tasks may run elsewhere ([`remote`]), with their own timeouts.
    portable: HashMap<String, Option<std::time::Duration>>,
    options: RunOptions,
    workspace: workspace::Workspace,
    /// The clock, the log of events, the listeners and the journal.
    rec: recorder::Recorder,
    deployed: RefCell<std::collections::HashSet<String>>,
    /// When checkpoints are taken and how shared state conflicts are handled.
    sync: sync::SyncPolicy,
    /// The shared state agents see.
    shared: RefCell<sync::Shared>,
    /// The workflow's agents, by name.
    agent_names: Vec<String>,
    /// How many times this run has been started, this one included.
    segment: u32,
    /// Operations: monitors, heals, incidents, emergencies, maintenance.
    ops: ops::Desk,
    /// What delivery through git needs: the stories' descriptions, what the merge lane
    /// did (shared with the git agents), the integration branch the git agents name.
    git: delivery_setup::GitSetup,
    /// The marks of the processes the run starts: what they leave running is stopped when
    /// the run ends.
    marks: Arc<process_mark::RunMarks>,
    /// What the run spent against its budget.
    budget: budget::Ledger,
    /// Why the run pauses, once it does.
    pause: pause::Pause,
    /// Who hears of the run.
    notifier: notify::Notifier,
    /// Where the stories of a BMAD project keep their statuses, written as they move.
    statuses: status_writeback::StatusWriteBack,
}

/// Agents at once when the workflow sets no `max_concurrent_agents`.
pub const DEFAULT_MAX_CONCURRENT_AGENTS: usize = 8;

impl Runner {
    /// A runner in which every agent is simulated (`bmad run --simulate`).
    pub fn simulated(program: Program, options: RunOptions) -> Runner {
        let options = RunOptions {
            simulate: true,
            ..options
        };
        match Runner::new(program, options) {
            Ok(r) => r,
            Err(_) => unreachable!("a simulation has a backend for every agent"),
        }
    }

    /// A runner with each agent's own backend (`exec` agents are child processes, `script`
    /// agents rhai, `git` agents real git in the workspace, `sim` agents simulated), or
    /// every agent simulated when `options.simulate`. Fails when an agent's working
    /// directory leads out of the workspace.
    ///
    /// # Errors
    ///
    /// When the git setup or the agent adapter named is wrong, an agent's working
    /// directory leads out of the workspace, or `--approve` names no environment.
    pub fn new(program: Program, options: RunOptions) -> Result<Runner, SetupError> {
        use crate::model::Backend;
        approval::check_approvals(&program, &options.approve)?;
        let (scripts, _) = Scripts::new(&program, options.workspace.clone());
        let scripts = Arc::new(scripts);
        let mut backends: HashMap<String, Arc<dyn AgentBackend>> = HashMap::new();
        // What the git agents share with delivery: the stories, what the lane merged.
        let git = delivery_setup::GitSetup::of(&program)?;
        let workspace = workspace::Workspace::new(&options.workspace, &program);
        let mut agent_limits = HashMap::new();
        let mut portable = HashMap::new();
        let marks = Arc::new(process_mark::RunMarks::default());
        // The price of each exec agent: its model's, else its CLI's.
        let mut price_keys = HashMap::new();
        // Simulated agents take the adapter's backend in a real run, when one is named.
        let bound = match roster::adapter_name(&program, options.agents.as_deref()) {
            Some(name) if !options.simulate => Some(roster::adapter(&program, name)?),
            _ => None,
        };
        for a in &program.agents {
            let name = a.name.name.to_string();
            let own = roster::bind(a.backend.as_ref(), bound.as_ref());
            let timeout = match own {
                Some(Backend::Exec { timeout, .. }) => timeout.and_then(|q| q.duration()),
                _ => None,
            };
            let limits = limits::AgentLimits::of(&program, &name, timeout);
            if !options.simulate
                && matches!(own, Some(Backend::Exec { .. } | Backend::Script { .. }))
            {
                portable.insert(name.clone(), timeout);
            }
            agent_limits.insert(name.clone(), limits);
            let backend: Arc<dyn AgentBackend> = match own {
                Some(Backend::Exec {
                    command,
                    stdin,
                    cwd,
                    output,
                    ..
                }) if !options.simulate => {
                    let dir = cwd.as_ref().map_or(".", |c| c.value.as_str());
                    let cwd = workspace.resolve(dir).map_err(|source| SetupError::Cwd {
                        agent: name.clone(),
                        source,
                    })?;
                    let key = a
                        .model
                        .as_ref()
                        .map(|m| m.value.to_string())
                        .or_else(|| output.as_ref().map(|o| o.name.to_string()));
                    if let Some(key) = key {
                        price_keys.insert(name.clone(), key);
                    }
                    Arc::new(exec::ExecBackend {
                        workflow_dir: options
                            .workflow_dir
                            .clone()
                            .unwrap_or_else(|| options.workspace.clone()),
                        limits,
                        command: command.value.to_string(),
                        stdin: *stdin,
                        cwd,
                        workspace: workspace.root().to_path_buf(),
                        timeout,
                        output: output
                            .as_ref()
                            .map_or(agent_output::OutputFormat::default(), |n| {
                                agent_output::OutputFormat::named(&n.name)
                            }),
                        model: a.model.as_ref().map(|m| m.value.to_string()),
                        tools: a.tools.iter().map(|t| t.name.to_string()).collect(),
                        marks: Arc::clone(&marks),
                    })
                }
                Some(Backend::Git { pr, base }) if !options.simulate => Arc::new(git::GitBackend {
                    workspace: options.workspace.clone(),
                    pr: pr.as_ref().map(|t| t.value.to_string()),
                    base: base.as_ref().map(|t| t.value.to_string()),
                    run: Arc::clone(&git.run),
                    marks: Arc::clone(&marks),
                }),
                Some(Backend::Script { .. }) if !options.simulate => {
                    let script =
                        crate::script::agent_script(a).ok_or_else(|| SetupError::NoScript {
                            agent: name.clone(),
                        })?;
                    Arc::new(script_agent::ScriptBackend {
                        lines: Arc::clone(&program.lines),
                        scripts: Arc::clone(&scripts),
                        script,
                    })
                }
                _ => Arc::new(SimBackend::for_agent(&program, &name, options.seed)),
            };
            backends.insert(name, backend);
        }
        let global = program
            .global_limit("max_concurrent_agents")
            .and_then(|q| q.value)
            .map_or(DEFAULT_MAX_CONCURRENT_AGENTS, |v| {
                // At least 1, and `as` saturates past usize.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let n = v.as_f64().max(1.0) as usize;
                n
            });
        let admission = limits::Admission::of(&program);
        let budget = budget::Ledger::new(&program, &options.budget, |a| price_keys.get(a).cloned());
        Ok(Runner {
            budget,
            pause: pause::Pause::default(),
            notifier: notify::Notifier::of(&program),
            statuses: status_writeback::StatusWriteBack::default(),
            git,
            marks,
            ops: ops::Desk::new(options.simulate, options.seed),
            rec: recorder::Recorder::default(),
            sync: sync::SyncPolicy::of(&program),
            shared: RefCell::default(),
            agent_names: program
                .agents
                .iter()
                .map(|a| a.name.name.to_string())
                .collect(),
            segment: 1,
            workspace,
            program,
            scripts,
            backends,
            global: Arc::new(Semaphore::new(global)),
            agents_at_once: global,
            admission,
            agent_limits,
            portable,
            options,
            deployed: RefCell::default(),
        })
    }

    /// The directory of the workflow file (the workspace when the run was not given one).
    pub fn workflow_dir(&self) -> &std::path::Path {
        self.options
            .workflow_dir
            .as_deref()
            .unwrap_or(&self.options.workspace)
    }

    /// The workspace the steps at `ctx` work in: the story's worktree copy of it, when the
    /// story is delivered through git.
    fn workspace_at<'c>(&'c self, ctx: &'c steps::Ctx) -> &'c workspace::Workspace {
        ctx.tree.as_ref().map_or(&self.workspace, |t| &t.workspace)
    }

    /// Uses `backend` for `agent` (a host program's own agent).
    pub fn set_backend(&mut self, agent: &str, backend: Arc<dyn AgentBackend>) {
        self.backends.insert(agent.to_string(), backend);
    }

    /// The backend `agent`'s tasks run on.
    pub fn agent_backend(&self, agent: &str) -> Arc<dyn AgentBackend> {
        self.backend(agent)
    }

    /// Calls `listener` with every event, as it happens.
    pub fn on_event(&mut self, listener: Listener) {
        self.rec.listen(listener);
    }

    /// The program being run.
    pub fn program(&self) -> &Program {
        &self.program
    }

    fn backend(&self, agent: &str) -> Arc<dyn AgentBackend> {
        self.backends.get(agent).cloned().unwrap_or_else(|| {
            // Groups (`responders`, `all_available`) run as a simulated agent of that name.
            Arc::new(SimBackend::for_agent(
                &self.program,
                agent,
                self.options.seed,
            ))
        })
    }

    /// Checks that the artifacts given from outside (`provided`) are in the workspace; a
    /// simulation writes a placeholder for each one that is not.
    fn provided_artifacts(&self) -> Result<(), steps::StepError> {
        for decl in self.program.artifacts.iter().filter(|a| a.provided) {
            let a = self.workspace.named_artifact(&decl.name.name)?;
            if a.exists() {
                continue;
            }
            if self.options.simulate {
                a.write_placeholder("bmad")?;
                self.record(EventKind::Note {
                    step: "artifact".into(),
                    text: format!(
                        "{} is provided from outside: a placeholder was written",
                        a.label()
                    ),
                });
            } else {
                return Err(steps::StepError::Setup(format!(
                    "artifact {} is provided from outside the run but is not in the workspace ({})",
                    a.label(),
                    a.path.display()
                )));
            }
        }
        Ok(())
    }

    /// Runs the workflow to its end or its first failing phase; a durable run records how
    /// it ended.
    pub async fn run(&self) -> Report {
        self.rec.start();
        self.record(EventKind::RunStarted {
            segment: self.segment,
        });
        let phases = async {
            let failed = self.phases().await;
            // Monitors started by `watch` go on for a while after the phases, if asked.
            if let Some(d) = self.options.monitor_for
                && self.ops.watching()
            {
                tokio::time::sleep(d).await;
            }
            failed
        };
        let failed = tokio::select! {
            biased;
            failed = phases => failed,
            () = self.checkpoint_timer() => unreachable!("the checkpoint timer never ends"),
            () = self.ops.operations(self) => unreachable!("the operations loop never ends"),
        };
        self.stop_leftovers();
        self.ops.close_open(self);
        self.sync_point("run_end");
        // A paused run is neither done nor failed: it goes on when resumed.
        let paused = self.pause.reason();
        let failed = if paused.is_some() { None } else { failed };
        if paused.is_none() {
            self.notify(&match &failed {
                None => notify::Notice {
                    event: "finished",
                    message: "the run finished".into(),
                },
                Some(why) => notify::Notice {
                    event: "failed",
                    message: format!("the run failed: {why}"),
                },
            });
        }
        let undelivered = self.notifier.finish().await;
        self.notes_of(undelivered);
        if let Some(j) = self.rec.journal() {
            let (status, why) = match (&paused, &failed) {
                (Some(p), _) => (RunStatus::Paused, Some(p)),
                (None, None) => (RunStatus::Succeeded, None),
                (None, Some(f)) => (RunStatus::Failed, Some(f)),
            };
            j.finish(status, why.map(|f| self.mask(f)).as_deref());
        }
        self.report(failed)
    }

    /// Runs every monitor and scheduled maintenance job of the workflow (`bmad monitor`)
    /// for `duration`, or until the future is dropped when none is given; a durable run
    /// records how it ended. What the operations did is in [`Runner::ops_summary`].
    pub async fn operate(&self, duration: Option<std::time::Duration>) {
        self.rec.start();
        self.record(EventKind::RunStarted {
            segment: self.segment,
        });
        for m in &self.program.monitors {
            self.ops.request(ops::Job::Monitor(m.name.name.to_string()));
        }
        for p in self
            .program
            .procedures
            .iter()
            .filter(|p| p.schedule.is_some())
        {
            self.ops
                .request(ops::Job::Maintenance(p.name.name.to_string()));
        }
        let until = async {
            match duration {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            () = until => {}
            () = self.checkpoint_timer() => unreachable!("the checkpoint timer never ends"),
            () = self.ops.operations(self) => unreachable!("the operations loop never ends"),
        }
        self.stop_leftovers();
        self.ops.close_open(self);
        self.sync_point("run_end");
        if let Some(j) = self.rec.journal() {
            j.finish(RunStatus::Succeeded, None);
        }
    }

    /// A handle that stops the run's scripts from any thread (Ctrl-C, SIGTERM): a script
    /// evaluating on the run's own thread would otherwise keep it from seeing the signal.
    pub fn script_cancel_handle(&self) -> crate::script::CancelHandle {
        self.scripts.cancel_handle()
    }

    /// Records that the run was interrupted (its future dropped) and returns its report.
    pub fn interrupted(&self, reason: &str) -> Report {
        self.stop_leftovers();
        self.ops.close_open(self);
        if let Some(j) = self.rec.journal() {
            j.finish(RunStatus::Interrupted, Some(reason));
        }
        self.report(Some(reason.to_string()))
    }

    /// Stops every process the run's agents and commands left running (daemons, servers,
    /// what left its process group): the run is over. Says how many, when there were any.
    fn stop_leftovers(&self) {
        match self.marks.sweep() {
            Ok(0) => {}
            Ok(n) => self.note(
                "processes",
                format!(
                    "the run ended: {n} process(es) its agents or commands left running were killed"
                ),
            ),
            Err(e) => tracing::warn!(
                target: "bmad::run",
                "{e}: processes the run's agents left outside their process groups may run on"
            ),
        }
    }

    /// Runs the phases in order; why the run failed, if it did.
    async fn phases(&self) -> Option<String> {
        let mut failed = self.provided_artifacts().err().map(|e| e.to_string());
        let reached = self.program.reachable_phases();
        let order: Vec<usize> = self
            .program
            .phase_order()
            .into_iter()
            .filter(|i| reached[*i])
            .collect();
        for i in order {
            if failed.is_some() {
                break;
            }
            let phase = &self.program.phases[i];
            let name = phase.name.name.to_string();
            self.record(EventKind::PhaseStarted {
                phase: name.clone(),
            });
            let permits = phase.max.map_or(self.global.available_permits(), |m| {
                usize::try_from(m.value).unwrap_or(usize::MAX)
            });
            let ctx = steps::Ctx::phase(&name, Arc::new(Semaphore::new(permits.max(1))));
            let span = tracing::info_span!("phase", phase = %name);
            let result = self.steps(&phase.body, &ctx).instrument(span).await;
            self.record(EventKind::PhaseFinished {
                phase: name.clone(),
                ok: result.is_ok(),
            });
            self.sync_point(if result.is_ok() {
                "phase_completion"
            } else {
                "error_occurrence"
            });
            if let Err(e) = result {
                failed = Some(format!("phase `{name}`: {e}"));
                break;
            }
        }
        failed
    }

    /// What the operations did so far.
    pub fn ops_summary(&self) -> ops::summary::OpsSummary {
        self.ops
            .summary(&self.rec.events(), self.now_ms(), &self.program.kpis)
    }

    /// The report of what ran so far; `failed` says why it stopped, if it did. After a
    /// run that was interrupted (its future dropped), this is the record of the
    /// interruption. The report shares the run's log of events rather than copy it: an
    /// event recorded while a report is kept copies the log once.
    pub fn report(&self, failed: Option<String>) -> Report {
        let elapsed = self.now_ms();
        let failed = match self.rec.journal().and_then(journal::Journal::failure) {
            Some(store) => Some(failed.map_or(store.clone(), |f| format!("{f}; {store}"))),
            None => failed,
        }
        .map(|f| self.mask(&f));
        let mut report = Report::new(
            self.rec.shared_events(),
            failed,
            elapsed,
            &self.program.kpis,
        );
        report.budget = people_report::BudgetReport::of(&self.budget);
        // The run's own pause decides, not only its event: a resume that pauses again for
        // the same reason records no second, identical event (the journal keeps an event
        // of an earlier segment once), and must still say it paused.
        if let Some(why) = self.pause.reason() {
            report.paused = Some(self.mask(&why));
            report.ok = false;
        }
        report
    }
}
