//! What `bmad run` shows while it runs: a live progress line on a terminal (indicatif),
//! plain log lines when the output is not a terminal, or JSON log lines
//! (`--log-format json`). Logs go to stderr; `BMAD_LOG` (e.g. `bmad=debug`) filters them.

use super::LogFormat;
use bmad::runtime::event::{Event, EventKind, Listener};
use indicatif::{ProgressBar, ProgressStyle};
use std::cell::Cell;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Sets up logging to stderr at `default` level unless `BMAD_LOG` says otherwise.
pub(super) fn init_logs(format: LogFormat, default: &str) {
    let terminal = std::io::stderr().is_terminal();
    let filter = EnvFilter::try_from_env("BMAD_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    // A second subscriber (a host that set its own) is not an error worth stopping for.
    let _ = match format {
        LogFormat::Json => builder.json().with_current_span(true).try_init(),
        LogFormat::Human => builder
            .compact()
            .with_ansi(terminal)
            .without_time()
            .try_init(),
    };
}

/// Sets up logging and, on a terminal, returns the listener that draws the progress line.
pub(super) fn start(format: LogFormat) -> Option<(Listener, ProgressBar)> {
    let terminal = std::io::stderr().is_terminal();
    // On a terminal the progress line shows the run; logs are warnings only.
    let default = if terminal && format == LogFormat::Human {
        "warn"
    } else {
        "info"
    };
    init_logs(format, default);
    if !(terminal && format == LogFormat::Human) {
        return None;
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let shown = bar.clone();
    let (running, done, stories) = (Cell::new(0u64), Cell::new(0u64), Cell::new(0u64));
    let phase = std::cell::RefCell::new(String::new());
    let listener: Listener = Box::new(move |e: &Event| {
        match &e.kind {
            EventKind::PhaseStarted { phase: p } => phase.borrow_mut().clone_from(p),
            EventKind::TaskStarted { .. } => running.set(running.get() + 1),
            EventKind::TaskFinished { .. } => {
                running.set(running.get().saturating_sub(1));
                done.set(done.get() + 1);
            }
            EventKind::StoryDone { .. } => stories.set(stories.get() + 1),
            _ => {}
        }
        shown.set_message(format!(
            "[{}] phase {} · {} tasks done, {} running · {} stories done",
            bmad::model::literal::human_ms(e.at_ms),
            phase.borrow(),
            done.get(),
            running.get(),
            stories.get()
        ));
    });
    Some((listener, bar))
}
