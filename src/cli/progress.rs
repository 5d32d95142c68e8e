//! What `bmad run` shows while it runs: a live progress line on a terminal (indicatif),
//! plain log lines when the output is not a terminal, or JSON log lines
//! (`--log-format json`). Logs go to stderr; `BMAD_LOG` (e.g. `bmad=debug`) filters them.

use super::LogFormat;
use bmad::runtime::event::{Event, EventKind, Listener};
use indicatif::{ProgressBar, ProgressStyle};
use std::fmt::Write as _;
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
    // `wide_msg`: the line is cut to the terminal's width, never wrapped (a wrapped line
    // would not be redrawn in place).
    let mut seen = Flight::default();
    Some(view("{spinner} {elapsed:>4} {wide_msg}", 120, move |e| {
        seen.take(e);
        seen.line()
    }))
}

/// A spinner drawn with `template`, ticking every `tick_ms`, and the listener that sets
/// its message to what `draw` makes of each event: the live views of `bmad run` and
/// `bmad monitor`.
pub(super) fn view(
    template: &str,
    tick_ms: u64,
    draw: impl FnMut(&Event) -> String + 'static,
) -> (Listener, ProgressBar) {
    // A listener is called through a shared reference: the view's state sits in a cell.
    let draw = std::cell::RefCell::new(draw);
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(tick_ms));
    let shown = bar.clone();
    let listener: Listener = Box::new(move |e: &Event| {
        let text = (draw.borrow_mut())(e);
        shown.set_message(text);
    });
    (listener, bar)
}

/// What the progress line knows of the run: the phase, the tasks in flight (who does
/// what, for which story) and what has ended.
#[derive(Default)]
struct Flight {
    now_ms: u64,
    phase: String,
    /// `agent: task` (with the story and attempt), one entry per task in flight, in the
    /// order they started.
    running: Vec<(Key, String)>,
    done: u64,
    stories_done: u64,
    stories_blocked: u64,
    /// What a person is asked, while the run waits for it.
    waiting: Vec<String>,
}

/// A task in flight, as its start and end events name it.
#[derive(PartialEq, Eq)]
struct Key {
    agent: String,
    tasks: Vec<String>,
    story: Option<String>,
}

impl Flight {
    /// Takes one event in.
    fn take(&mut self, e: &Event) {
        self.now_ms = e.at_ms;
        match &e.kind {
            EventKind::PhaseStarted { phase } => self.phase.clone_from(phase),
            EventKind::TaskStarted {
                agent,
                tasks,
                story,
                attempt,
                validation,
            } => {
                let mut label = format!("{agent}: {}", tasks.join(", "));
                if *validation {
                    label.push_str(" (review)");
                }
                if let Some(story) = story {
                    let _ = write!(label, " [story {story}]");
                }
                if *attempt > 1 {
                    let _ = write!(label, " attempt {attempt}");
                }
                let key = Key {
                    agent: agent.clone(),
                    tasks: tasks.clone(),
                    story: story.clone(),
                };
                self.running.push((key, label));
            }
            EventKind::TaskFinished {
                agent,
                tasks,
                story,
                ..
            } => {
                let ended = self
                    .running
                    .iter()
                    .position(|(k, _)| k.agent == *agent && k.tasks == *tasks && k.story == *story);
                if let Some(i) = ended {
                    self.running.remove(i);
                }
                self.done += 1;
            }
            EventKind::StoryDone { .. } => self.stories_done += 1,
            EventKind::StoryBlocked { .. } => self.stories_blocked += 1,
            EventKind::ApprovalAsked { target, .. } => self.waiting.push(target.clone()),
            EventKind::ApprovalAnswered { target, .. } => self.waiting.retain(|t| t != target),
            _ => {}
        }
    }

    /// The line: `[time] phase · what ended · who runs what`, the list of what runs last
    /// (a narrow terminal cuts the line at its end).
    fn line(&self) -> String {
        /// How many tasks in flight are named; the rest are counted.
        const SHOWN: usize = 3;
        let mut line = format!("[{}]", bmad::model::literal::human_ms(self.now_ms));
        if !self.phase.is_empty() {
            let _ = write!(line, " {}", self.phase);
        }
        let plural = if self.done == 1 { "" } else { "s" };
        let _ = write!(line, " · {} task{plural} done", self.done);
        let mut stories: Vec<&str> = self
            .running
            .iter()
            .filter_map(|(k, _)| k.story.as_deref())
            .collect();
        stories.sort_unstable();
        stories.dedup();
        if self.stories_done + self.stories_blocked > 0 || !stories.is_empty() {
            let _ = write!(line, " · stories: {} done", self.stories_done);
            if !stories.is_empty() {
                let _ = write!(line, ", {} in flight", stories.len());
            }
            if self.stories_blocked > 0 {
                let _ = write!(line, ", {} blocked", self.stories_blocked);
            }
        }
        if !self.waiting.is_empty() {
            let _ = write!(line, " · waiting for approval: {}", self.waiting.join(", "));
        }
        if self.running.is_empty() {
            line.push_str(" · nothing running");
        } else {
            let names: Vec<&str> = self
                .running
                .iter()
                .take(SHOWN)
                .map(|(_, l)| l.as_str())
                .collect();
            let _ = write!(line, " · {}", names.join(" | "));
            if self.running.len() > SHOWN {
                let _ = write!(line, " | +{} more", self.running.len() - SHOWN);
            }
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(at_ms: u64, kind: EventKind) -> Event {
        Event { at_ms, kind }
    }

    fn started(agent: &str, task: &str, story: Option<&str>, attempt: u64) -> EventKind {
        EventKind::TaskStarted {
            agent: agent.into(),
            tasks: vec![task.into()],
            story: story.map(Into::into),
            attempt,
            validation: false,
        }
    }

    #[test]
    fn the_line_names_the_tasks_in_flight_and_their_stories() {
        let mut f = Flight::default();
        f.take(&event(
            0,
            EventKind::PhaseStarted {
                phase: "development".into(),
            },
        ));
        f.take(&event(60_000, started("dev", "implement", Some("1.2"), 1)));
        f.take(&event(60_000, started("dev", "implement", Some("1.3"), 2)));
        assert_eq!(
            f.line(),
            "[1m] development · 0 tasks done · stories: 0 done, 2 in flight · \
             dev: implement [story 1.2] | dev: implement [story 1.3] attempt 2"
        );
        f.take(&event(
            120_000,
            EventKind::TaskFinished {
                agent: "dev".into(),
                tasks: vec!["implement".into()],
                story: Some("1.2".into()),
                ok: true,
                feedback: None,
                result: None,
            },
        ));
        f.take(&event(
            120_000,
            EventKind::StoryDone {
                story: "1.2".into(),
            },
        ));
        assert_eq!(
            f.line(),
            "[2m] development · 1 task done · stories: 1 done, 1 in flight · \
             dev: implement [story 1.3] attempt 2"
        );
    }

    #[test]
    fn past_three_tasks_the_rest_are_counted() {
        let mut f = Flight::default();
        for agent in ["a", "b", "c", "d", "e"] {
            f.take(&event(0, started(agent, "t", None, 1)));
        }
        assert_eq!(
            f.line(),
            "[0ms] · 0 tasks done · a: t | b: t | c: t | +2 more"
        );
    }
}
