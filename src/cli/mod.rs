//! Command-line parsing and dispatch. Exit codes: 0 clean (warnings allowed), 1 errors
//! found, 2 usage or I/O error.

mod approve;
mod check;
mod dry_run;
mod explain;
mod files;
mod fmt;
mod free;
mod graph;
mod help;
mod init;
mod init_bmad;
mod man;
mod monitor;
mod monitor_view;
mod progress;
mod repl;
mod run;
mod runs;
mod serve;
mod signals;
mod sync;
mod temporal;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// bmad: check and run multi-agent workflows written in the .bmad language.
#[derive(Parser)]
#[command(name = "bmad", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse and check workflows; print diagnostics.
    #[command(after_help = help::CHECK)]
    Check(CheckArgs),
    /// Run a workflow: exec agents as child processes, or every agent simulated on a
    /// virtual clock with --simulate.
    #[command(after_help = help::RUN)]
    Run(RunArgs),
    /// List the runs in the state store, or show one: status, story board, timeline.
    #[command(after_help = help::RUNS)]
    Runs(RunsArgs),
    /// Serve a web view of the runs in the state store, live while they go on: the run
    /// list, a run's board, workflow graph, timeline and KPIs, steps, operations.
    #[command(after_help = help::SERVE)]
    Serve(ServeArgs),
    /// Take a checkpoint of a run now (the `manual_trigger` sync point).
    #[command(after_help = help::SYNC)]
    Sync(SyncArgs),
    /// Answer an approval a run waits for (a manual gate, an `approve` step): approve
    /// it, or reject it with --reject.
    #[command(after_help = help::APPROVE)]
    Approve(ApproveArgs),
    /// Acknowledge an incident a run or monitor session has paged for: its level is
    /// answered and it stops climbing.
    #[command(after_help = help::ACK)]
    Ack(AckArgs),
    /// Explain a diagnostic code, with a wrong and a right example (no code: list them).
    #[command(after_help = help::EXPLAIN)]
    Explain(ExplainArgs),
    /// Draw the workflow: the phase flow, the story DAG and the operations, as Mermaid or
    /// Graphviz DOT, in pages that each fit a screen (list them with --pages).
    #[command(after_help = help::GRAPH)]
    Graph(graph::GraphArgs),
    /// Rewrite workflows in the canonical layout (files, directories, `-` for stdin);
    /// with --check, only report the files that are not in it.
    #[command(after_help = help::FMT)]
    Fmt(FmtArgs),
    /// An interactive session: type definitions and rhai, check, draw, inspect the IR
    /// and run phases simulated (lines from a pipe work too).
    #[command(after_help = help::REPL)]
    Repl(ReplArgs),
    /// The language server for editors, over stdin and stdout: diagnostics as you type,
    /// hover, go to definition, references, rename, completion, formatting, symbols.
    #[command(after_help = help::LSP)]
    Lsp(LspArgs),
    /// Start a new workflow from a template (product: an idea to reviewed stories;
    /// operations: monitoring, healing, incidents).
    #[command(after_help = help::INIT)]
    Init(InitArgs),
    /// Run the workflow's monitors and scheduled maintenance until stopped (Ctrl-C,
    /// SIGTERM) or for --for, with a live view of the checks and incidents on a terminal;
    /// with --simulate, on a virtual clock with simulated probes.
    #[command(after_help = help::MONITOR)]
    Monitor(MonitorArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell) to stdout.
    #[command(after_help = help::COMPLETIONS)]
    Completions(CompletionsArgs),
    /// Print the manual page (roff) to stdout, or write one page per command into --dir.
    #[command(after_help = help::MAN)]
    Man(ManArgs),
    /// Run agent tasks for coordinators on other machines: poll a Temporal task queue and
    /// run each task given as a local run would (`bmad run --executor temporal://...`).
    #[cfg(feature = "temporal")]
    #[command(after_help = help::WORKER)]
    Worker(WorkerArgs),
}

/// `bmad worker` arguments.
#[cfg(feature = "temporal")]
#[derive(clap::Args)]
pub(crate) struct WorkerArgs {
    /// The Temporal server, `HOST:PORT` (an API key is read from `TEMPORAL_API_KEY`).
    #[arg(long, value_name = "HOST:PORT")]
    temporal: String,
    /// Speak TLS to the server (on by itself when an API key or a CA file is given).
    #[arg(long)]
    tls: bool,
    /// Check the server's certificate against this certificate authority (PEM).
    #[arg(long, value_name = "FILE")]
    temporal_ca: Option<PathBuf>,
    /// The namespace.
    #[arg(long, default_value = "default")]
    namespace: String,
    /// The task queue to poll (the coordinator's `--task-queue`).
    #[arg(long, default_value = "bmad")]
    task_queue: String,
    /// How many agent tasks this worker runs at once.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Where the worker keeps its clones of git remotes (story work through git), one
    /// worker per directory; by default `$XDG_CACHE_HOME/bmad/worker` or
    /// `~/.cache/bmad/worker`.
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
}

/// `bmad completions` arguments.
#[derive(clap::Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    shell: clap_complete::Shell,
}

/// `bmad man` arguments.
#[derive(clap::Args)]
pub(crate) struct ManArgs {
    /// Write `bmad.1` and a page per command (`bmad-run.1`, ...) into this directory.
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// A duration written as in a workflow (`30s`, `7d`).
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    match bmad::model::literal::parse_quantity(text) {
        Ok(bmad::model::literal::Value::Duration(ms)) => Ok(std::time::Duration::from_millis(ms)),
        Ok(_) => Err(format!("`{text}` is not a duration (like 30s, 15m, 7d)")),
        Err(e) => Err(format!("{} ({})", e.message, e.help)),
    }
}

/// An amount of money or tokens written as in a workflow (`50USD`, `3000000tokens`).
fn parse_amount(text: &str) -> Result<bmad::model::literal::Value, String> {
    use bmad::model::literal::Value;
    match bmad::model::literal::parse_quantity(text) {
        Ok(Value::Money(n) | Value::Tokens(n)) if n <= 0.0 => Err(format!(
            "`{text}` lets no task start: give an amount above zero"
        )),
        Ok(Value::Money(n)) if n < 0.01 => Err(format!(
            "`{text}` lets no task start: give at least a cent (0.01USD)"
        )),
        Ok(Value::Tokens(_)) if text.contains('.') => Err(format!(
            "`{text}`: tokens are counted whole (like 3000000tokens)"
        )),
        Ok(v @ (Value::Money(_) | Value::Tokens(_))) => Ok(v),
        Ok(_) => Err(format!(
            "`{text}` is not an amount of money or tokens (like 50USD or 3000000tokens)"
        )),
        Err(e) => Err(format!("{} ({})", e.message, e.help)),
    }
}

/// A rejection's reason: some words (they go back to the agent, as QA's would).
fn parse_reason(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        Err("say why it is rejected: the words go back to the agent".into())
    } else {
        Ok(text.to_string())
    }
}

/// `bmad fmt` arguments.
#[derive(clap::Args)]
pub(crate) struct FmtArgs {
    /// Files or directories (their `.bmad` files); `-` formats stdin to stdout.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Change nothing: list the files that are not formatted and exit 1 if there are any.
    #[arg(long)]
    check: bool,
}

/// `bmad repl` arguments.
#[derive(clap::Args)]
pub(crate) struct ReplArgs {
    /// A workflow to start from (`:load` changes it).
    file: Option<PathBuf>,
    /// The workspace `:run` writes artifacts to and rhai file functions read (default:
    /// the current directory).
    #[arg(long)]
    workspace: Option<PathBuf>,
}

/// `bmad lsp` arguments.
#[derive(clap::Args)]
pub(crate) struct LspArgs {
    /// Serve over stdin and stdout (the only transport, and the default; accepted
    /// because editors' clients pass it).
    #[arg(long)]
    stdio: bool,
}

/// `bmad init` arguments.
#[derive(clap::Args)]
pub(crate) struct InitArgs {
    /// Where to write it (default: the current directory).
    dir: Option<PathBuf>,
    /// The template: product or operations.
    #[arg(long, default_value = "product")]
    template: String,
    /// Write a workflow into this BMAD-METHOD project's directory that runs its stories
    /// as they are (v6 sprint status, v6 stories.yaml or v7 ticket tree) with the BMAD
    /// roles, writing their statuses back.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["dir", "template"])]
    from_bmad: Option<PathBuf>,
}

/// `bmad explain` arguments.
#[derive(clap::Args)]
pub(crate) struct ExplainArgs {
    /// The code: `bmad::undefined` or `undefined`.
    code: Option<String>,
}

/// `bmad monitor` arguments.
#[derive(clap::Args)]
pub(crate) struct MonitorArgs {
    /// The workflow whose monitors run.
    file: PathBuf,
    /// Simulated probes, agents and fixes on a virtual clock.
    #[arg(long)]
    simulate: bool,
    /// Stop after this long (`30s`, `7d`); without it, run until Ctrl-C or SIGTERM.
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
    for_: Option<std::time::Duration>,
    /// Seed of the simulated world.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[command(flatten)]
    store: StoreArgs,
    /// Write the summary as JSON to this file.
    #[arg(long)]
    report: Option<PathBuf>,
    /// How to log to stderr.
    #[arg(long, value_enum, default_value = "human")]
    log_format: LogFormat,
}

/// Where the state store is. Global: `bmad runs show ID --workspace DIR` takes them after
/// the subcommand too.
#[derive(clap::Args)]
pub(crate) struct StoreArgs {
    /// The state database (default: .bmad/state.db under the workspace).
    #[arg(long, value_name = "PATH", global = true)]
    state: Option<PathBuf>,
    /// The workspace root (default: the current directory).
    #[arg(long, global = true)]
    workspace: Option<PathBuf>,
}

impl StoreArgs {
    /// The workspace root.
    fn workspace(&self) -> PathBuf {
        self.workspace.clone().unwrap_or_else(|| PathBuf::from("."))
    }

    /// The state database's path: `--state`, or the workspace's, which no symbolic link
    /// may carry out of it.
    fn state_path(&self) -> Result<PathBuf, String> {
        match &self.state {
            Some(path) => Ok(path.clone()),
            None => bmad::runtime::confined::state_path(&self.workspace())
                .map_err(|e| format!("error: the state file: {e}")),
        }
    }
}

/// `bmad runs` arguments.
#[derive(clap::Args)]
pub(crate) struct RunsArgs {
    #[command(subcommand)]
    show: Option<RunsCommand>,
    #[command(flatten)]
    store: StoreArgs,
    /// Print for people or as JSON (both to stdout).
    #[arg(long, value_enum, default_value = "human", global = true)]
    format: RunsFormat,
}

/// How `bmad runs` prints (always to stdout).
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum RunsFormat {
    /// Tables and text for people.
    Human,
    /// JSON: one object per line for the list and the log, one document for `show`.
    Json,
}

/// `bmad runs show`.
#[derive(Subcommand)]
pub(crate) enum RunsCommand {
    /// One run: status, story board (backlog, in progress, review, done, blocked),
    /// checkpoints, shared state conflicts and the timeline.
    Show {
        /// The run's id (or a prefix of it).
        run: String,
    },
    /// What the tasks of a run printed (standard output and error, each kept up to 64 KiB),
    /// in the order they ended.
    Log {
        /// The run's id (or a prefix of it).
        run: String,
        /// Only the steps whose place starts with this (`development/0/3.6.15`).
        step: Option<String>,
        /// Keep printing what tasks print as they end, until the run stops.
        #[arg(long)]
        follow: bool,
        /// Print the prompt each task was given before what it printed (as recorded:
        /// secrets masked, capped).
        #[arg(long)]
        prompt: bool,
    },
}

/// `bmad serve` arguments.
#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Where to listen (a loopback address unless --token is given; port 0: any free one).
    #[arg(long, default_value = "127.0.0.1:7878")]
    addr: std::net::SocketAddr,
    /// The token every request must carry (needed to listen on another address than
    /// loopback, and to answer approvals from the page); default: `BMAD_SERVE_TOKEN`. Open
    /// the printed address with `?token=...` once.
    #[arg(long)]
    token: Option<String>,
}

/// `bmad sync` arguments.
#[derive(clap::Args)]
pub(crate) struct SyncArgs {
    /// The run (default: the newest run that is running).
    run: Option<String>,
    #[command(flatten)]
    store: StoreArgs,
}

/// `bmad approve` arguments.
#[derive(clap::Args)]
pub(crate) struct ApproveArgs {
    /// The run (its id or a prefix of it).
    run: String,
    /// What is approved: an environment, or an `approve` step's name (`review@s1` inside
    /// a story). Without it, the approvals the run waits for are listed.
    target: Option<String>,
    /// Reject it, saying why (the answer goes back like a QA rejection).
    #[arg(long, value_name = "WHY", value_parser = parse_reason)]
    reject: Option<String>,
    /// Who answers (default: $USER); an approval that names who may answer refuses others.
    #[arg(long = "as", value_name = "NAME")]
    by: Option<String>,
    #[command(flatten)]
    store: StoreArgs,
}

/// `bmad ack` arguments.
#[derive(clap::Args)]
pub(crate) struct AckArgs {
    /// The run or monitor session (its id or a prefix of it).
    run: String,
    /// The incident (`INC-0001`).
    incident: String,
    /// Who acknowledges (default: $USER).
    #[arg(long = "as", value_name = "NAME")]
    by: Option<String>,
    #[command(flatten)]
    store: StoreArgs,
}

/// `bmad run` arguments.
// Its on/off flags are the command line's own.
#[allow(clippy::struct_excessive_bools)]
#[derive(clap::Args)]
pub(crate) struct RunArgs {
    /// The workflow to run.
    file: PathBuf,
    /// Swap every agent for a deterministic simulated one and run on a virtual clock.
    #[arg(long)]
    simulate: bool,
    /// Seed of the simulated outcomes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write the run report as JSON to this file.
    #[arg(long)]
    report: Option<PathBuf>,
    /// The workspace root (default: the current directory).
    #[arg(long)]
    workspace: Option<PathBuf>,
    /// The state database (default: .bmad/state.db under the workspace); `none` records
    /// nothing: a throwaway run writes no state file and cannot be resumed (a file named
    /// `none`: `./none`).
    #[arg(long, value_name = "PATH")]
    state: Option<PathBuf>,
    /// Continue a run that stopped (default: the newest unfinished run of this workflow):
    /// steps that ended are not run again, steps in flight run again from their start.
    #[arg(long, value_name = "RUN_ID", num_args = 0..=1, default_missing_value = "")]
    resume: Option<String>,
    /// Resume even when the workflow or recorded artifacts changed since the run.
    #[arg(long, requires = "resume")]
    force: bool,
    /// How to log the run to stderr (a live progress line replaces the log on a terminal).
    #[arg(long, value_enum, default_value = "human")]
    log_format: LogFormat,
    /// Approve the manual gate of this environment for this run (repeatable).
    #[arg(long, value_name = "ENVIRONMENT")]
    approve: Vec<String>,
    /// Keep the monitors a `watch` started running this long after the phases end.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    monitor_for: Option<std::time::Duration>,
    /// Give every simulated agent (`backend sim`, or none, as in std.roles) this adapter's
    /// backend: a std.agents adapter (`claude_code`, codex, gemini) or an exec agent of the
    /// workflow; each keeps its role and prompt.
    #[arg(long, value_name = "ADAPTER", conflicts_with = "simulate")]
    agents: Option<String>,
    /// The run's ceiling in money or tokens (`50USD`, `3000000tokens`; repeatable), in
    /// place of the workflow's `budget { run ... }`: raise it to resume a run its budget
    /// paused.
    #[arg(long, value_name = "AMOUNT", value_parser = parse_amount)]
    budget: Vec<bmad::model::literal::Value>,
    /// Run even though some agents are simulated (a real run refuses otherwise: it would
    /// only wait for them).
    #[arg(long, conflicts_with = "simulate")]
    allow_sim: bool,
    /// Print every prompt the run would send, in order, and run nothing: the workflow is
    /// simulated in a scratch copy of its inputs; the workspace is not touched.
    #[arg(long, conflicts_with_all = ["resume", "simulate", "agents", "allow_sim"])]
    dry_run: bool,
    /// Where the tasks of exec and script agents run: `local` (here), or on the workers
    /// of a Temporal server, `temporal://HOST:PORT` (`temporal+tls://` for TLS; an API key
    /// is read from `TEMPORAL_API_KEY`). Needs a bmad built with the `temporal` feature.
    #[arg(long, value_name = "EXECUTOR", default_value = "local", conflicts_with_all = ["simulate", "dry_run"])]
    executor: String,
    /// The Temporal namespace (with --executor temporal://...).
    #[arg(long, default_value = "default")]
    namespace: String,
    /// The Temporal task queue the workers poll (with --executor temporal://...).
    #[arg(long, value_name = "QUEUE", default_value = "bmad")]
    task_queue: String,
    /// How long a task on a Temporal worker may go without a heartbeat before it runs on
    /// another worker.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    heartbeat_timeout: std::time::Duration,
    /// Check the Temporal server's certificate against this certificate authority (PEM;
    /// turns TLS on).
    #[arg(long, value_name = "FILE")]
    temporal_ca: Option<PathBuf>,
}

/// How `bmad check` prints diagnostics.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum Format {
    /// Rendered for people (to stderr).
    Human,
    /// One JSON object per line (to stdout; to stderr with --emit ir).
    Json,
}

/// How a run is logged.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum LogFormat {
    /// Lines for people (a progress line on a terminal).
    Human,
    /// One JSON object per line.
    Json,
}

/// When to use colour.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum Color {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// What to print besides diagnostics.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum Emit {
    /// The IR as JSON (to stdout).
    Ir,
}

/// `bmad check` arguments.
#[derive(clap::Args)]
pub(crate) struct CheckArgs {
    /// Files or directories (their `.bmad` files) to check, `-` for stdin; each is
    /// checked with what it imports.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print the IR as JSON to stdout (JSON diagnostics then go to stderr).
    #[arg(long, value_enum)]
    emit: Option<Emit>,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// When to colour diagnostics.
    #[arg(long, value_enum, default_value = "auto")]
    color: Color,
}

/// Runs the command line.
pub(crate) fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Runs(args) => runs::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Sync(args) => sync::run(&args),
        Command::Approve(args) => approve::run(&args),
        Command::Ack(args) => approve::ack(&args),
        Command::Monitor(args) => monitor::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Init(args) => match &args.from_bmad {
            Some(dir) => init_bmad::run(dir),
            None => init::run(&args),
        },
        Command::Graph(args) => graph::run(&args),
        Command::Fmt(args) => fmt::run(&args),
        Command::Repl(args) => repl::run(&args),
        Command::Lsp(_) => match bmad::lsp::serve_stdio() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Completions(args) => man::completions(args.shell, &mut Cli::command()),
        Command::Man(args) => man::run(args.dir.as_deref(), Cli::command()),
        #[cfg(feature = "temporal")]
        Command::Worker(args) => temporal::worker(&args),
    }
}
