//! The run's event recorder: its clock (milliseconds since the run started, a resumed run
//! going on from where it stopped), its log of events, the listeners told of each, and the
//! journal that makes them durable. The runner masks secrets before it records.

use super::event::{Event, EventKind, Listener};
use super::journal::Journal;
use super::report::EventLog;
use std::cell::{Ref, RefCell};
use tokio::time::Instant;

/// Records a run's events; see the module's doc.
#[derive(Default)]
pub(crate) struct Recorder {
    /// Shared with the reports made of it: a report takes the log without copying it, and
    /// only a record after a report that is still kept copies it (once).
    events: RefCell<EventLog>,
    listeners: Vec<Listener>,
    start: RefCell<Option<Instant>>,
    /// Milliseconds the run had taken before this process resumed it.
    at_offset: u64,
    journal: Option<Journal>,
}

impl Recorder {
    /// Tells `listener` of every event from now on.
    pub(crate) fn listen(&mut self, listener: Listener) {
        self.listeners.push(listener);
    }

    /// Starts the run's clock (on the runtime's clock: virtual in a simulation).
    pub(crate) fn start(&self) {
        *self.start.borrow_mut() = Some(Instant::now());
    }

    /// Milliseconds since the run started (before a resume too).
    pub(crate) fn now_ms(&self) -> u64 {
        self.at_offset
            + self.start.borrow().map_or(0, |s| {
                u64::try_from(s.elapsed().as_millis()).unwrap_or(u64::MAX)
            })
    }

    /// Records `kind` (masked already) for the step at `step`, if it belongs to one: the
    /// listeners hear it, the journal stores it, the log keeps it. An event that a resumed
    /// run meets again while it catches up is not recorded twice.
    pub(crate) fn record(&self, kind: EventKind, step: Option<&str>) {
        let at = self.now_ms();
        if tracing::enabled!(target: "bmad::run", tracing::Level::INFO) {
            let (name, text) = (kind.name(), kind.text());
            let clock = crate::model::literal::human_ms(at);
            tracing::info!(target: "bmad::run", event = name, at_ms = at, "[{clock}] {text}");
        }
        let event = Event { at_ms: at, kind };
        for listener in &self.listeners {
            listener(&event);
        }
        if let Some(j) = &self.journal
            && !j.event(&event, step)
        {
            return;
        }
        self.events.borrow_mut().push(event);
    }

    /// The events recorded so far (with those of the run before a resume).
    pub(crate) fn events(&self) -> Ref<'_, [Event]> {
        Ref::map(self.events.borrow(), |e| &**e)
    }

    /// The events recorded so far, shared rather than copied.
    pub(crate) fn shared_events(&self) -> EventLog {
        self.events.borrow().clone()
    }

    /// Makes room in the log for `more` events about to come (a for-each's stories).
    pub(crate) fn expect(&self, more: usize) {
        self.events.borrow_mut().reserve(more);
    }

    /// The journal, when the run is durable.
    pub(crate) fn journal(&self) -> Option<&Journal> {
        self.journal.as_ref()
    }

    /// Closes the journal: what its writer has queued is written and committed, and the
    /// store is closed. Events recorded after are kept in the log only.
    pub(crate) fn close_journal(&mut self) {
        self.journal = None;
    }

    /// Makes the run durable through `journal`.
    pub(crate) fn keep_in(&mut self, journal: Journal) {
        self.journal = Some(journal);
    }

    /// Goes on from a run that stopped `at` milliseconds in, with the events it had.
    pub(crate) fn resume_at(&mut self, at: u64, events: Vec<Event>) {
        self.at_offset = at;
        *self.events.borrow_mut() = events.into();
    }
}

#[cfg(test)]
mod tests {
    use super::super::event::Event;

    #[test]
    fn an_event_stays_small() {
        // Every event of the log takes the size of the largest kind: a run of 100,000
        // steps keeps 300,000 of them. Rare or large payloads are boxed.
        assert!(size_of::<Event>() <= 152, "{}", size_of::<Event>());
    }
}
