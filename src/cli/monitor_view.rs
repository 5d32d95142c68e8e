//! What `bmad monitor` shows on a terminal: a live view of the session, redrawn as events
//! come (each check and its state, the open incidents, the last heal), with only warnings
//! logged beneath; plain log lines when the output is not a terminal.

use super::LogFormat;
use bmad::model::Status;
use bmad::model::literal::human_ms;
use bmad::runtime::event::{Event, EventKind, Listener};
use indicatif::ProgressBar;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::io::IsTerminal;

/// What the view knows of the session.
#[derive(Default)]
struct Seen {
    checks: BTreeMap<String, (Status, u64)>,
    open: BTreeMap<String, String>,
    last_heal: Option<String>,
    now_ms: u64,
}

impl Seen {
    fn take(&mut self, e: &Event) {
        self.now_ms = e.at_ms;
        match &e.kind {
            EventKind::CheckStatus { check, status, .. } if check.contains('/') => {
                self.checks.insert(check.clone(), (*status, e.at_ms));
            }
            EventKind::IncidentOpened {
                incident, level, ..
            } => {
                self.open.insert(incident.clone(), level.clone());
            }
            EventKind::IncidentEscalated { incident, to, .. } => {
                self.open.insert(incident.clone(), to.clone());
            }
            EventKind::IncidentResolved { incident, .. } => {
                self.open.remove(incident);
            }
            EventKind::HealFinished { .. } => self.last_heal = Some(e.kind.text()),
            _ => {}
        }
    }

    fn draw(&self) -> String {
        let mut out = format!("[{}] monitoring", human_ms(self.now_ms));
        if self.checks.is_empty() {
            out.push_str(" · every check healthy so far");
        }
        for (check, (status, since)) in &self.checks {
            let _ = write!(
                out,
                "\n  {check:<32} {:<8} since {}",
                status.word(),
                human_ms(*since)
            );
        }
        let open: Vec<String> = self
            .open
            .iter()
            .map(|(i, l)| format!("{i} ({l})"))
            .collect();
        let _ = write!(
            out,
            "\n  incidents open: {}",
            if open.is_empty() {
                "none".to_string()
            } else {
                open.join(", ")
            }
        );
        let _ = write!(
            out,
            "\n  last heal: {}",
            self.last_heal.as_deref().unwrap_or("none")
        );
        out
    }
}

/// Sets up logging and, on a terminal, returns the listener that draws the live view.
pub(super) fn start(format: LogFormat, simulate: bool) -> Option<(Listener, ProgressBar)> {
    let terminal = std::io::stderr().is_terminal();
    let live = terminal && format == LogFormat::Human && !simulate;
    // A simulated week logs only warnings unless asked; so does a session with a view.
    let default = if simulate || live { "warn" } else { "info" };
    super::progress::init_logs(format, default);
    if !live {
        return None;
    }
    let mut seen = Seen::default();
    Some(super::progress::view("{spinner} {msg}", 250, move |e| {
        seen.take(e);
        seen.draw()
    }))
}
