//! What the scheduler records and tells: every event has its secrets masked, goes to the
//! recorder (log, listeners, store, report) and, when people hear of it, to the workflow's
//! notification channels.

use super::Runner;
use super::event::EventKind;
use super::notify;
use super::status_writeback;

impl Runner {
    /// Records an event that belongs to no step.
    pub(super) fn record(&self, kind: EventKind) {
        self.record_at(kind, None);
    }

    /// Milliseconds since the run started (before a resume too).
    pub(super) fn now_ms(&self) -> u64 {
        self.rec.now_ms()
    }

    /// Records an event of the step at `step`, if it belongs to one (see
    /// [`recorder::Recorder::record`]).
    pub(super) fn record_at(&self, kind: EventKind, step: Option<&str>) {
        // No secret reaches the log, the listeners, the store, the report or a notice.
        let kind = self.masked(kind);
        let notice = notify::notice_of(&kind);
        let moved = (!self.statuses.is_empty())
            .then(|| status_writeback::moved_by(&kind))
            .flatten()
            .map(|(s, to, why)| (s.to_string(), to, why.map(str::to_string)));
        self.rec.record(kind, step);
        if let Some((story, to, why)) = moved {
            self.write_status(&story, to, why.as_deref());
        }
        if let Some(n) = notice {
            self.notify(&n);
        }
    }

    /// Writes `story`'s new status back into its BMAD project (when it is a project's);
    /// a status that cannot be written is noted, and the run goes on.
    fn write_status(&self, story: &str, to: crate::project::Progress, why: Option<&str>) {
        let root = self.workspace.root();
        match self.statuses.write(root, story, to, why) {
            Ok(Some(file)) => {
                tracing::debug!(target: "bmad::run", "story {story}: {to:?} written to {file}");
            }
            Ok(None) => {}
            Err(e) => self.note(
                "stories",
                format!("the status of story {story} was not written back: {e}"),
            ),
        }
    }

    /// Tells the workflow's notification channels of `notice`, if they hear of its event;
    /// a channel that cannot be reached is noted.
    pub(super) fn notify(&self, notice: &notify::Notice) {
        if !self.notifier.wants(notice.event) {
            return;
        }
        let at = self
            .ops
            .wall(self.now_ms())
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let json = serde_json::json!({
            "at": at,
            "run": self.run_id(),
            "workflow": self.workflow_name(),
            "event": notice.event,
            "message": self.mask(&notice.message),
        })
        .to_string();
        let hosts = &self.scripts.sandbox().hosts;
        let sent = self
            .notifier
            .send(notice, &json, self.options.simulate, &self.workspace, hosts);
        self.notes_of(sent);
    }

    /// The workflow's name; for a file without a `workflow` (operations only), its file's
    /// name without `.bmad`.
    fn workflow_name(&self) -> Option<String> {
        if let Some(w) = &self.program.workflow {
            return Some(w.name.name.to_string());
        }
        let file = self.program.files.first()?;
        let stem = std::path::Path::new(file).file_stem()?;
        Some(stem.to_string_lossy().into_owned())
    }

    /// Notes each notice that could not be delivered.
    pub(super) fn notes_of(&self, failed: Vec<notify::Sent>) {
        for s in failed {
            self.note(
                "notify",
                format!(
                    "the notice to `{}` was not delivered: {}",
                    s.channel,
                    s.error.unwrap_or_default()
                ),
            );
        }
    }

    /// `text` with the values of the workflow's secret environment variables masked.
    pub(crate) fn mask(&self, text: &str) -> String {
        self.scripts.sandbox().redact(text)
    }

    /// `kind` with every secret value in its texts masked (as it is, when the workflow
    /// declares no secret with a value).
    pub(super) fn masked(&self, kind: EventKind) -> EventKind {
        fn mask(v: serde_json::Value, s: &crate::script::Sandbox) -> serde_json::Value {
            use serde_json::Value;
            match v {
                Value::String(t) => Value::String(s.redact(&t)),
                Value::Array(a) => Value::Array(a.into_iter().map(|x| mask(x, s)).collect()),
                Value::Object(o) => {
                    Value::Object(o.into_iter().map(|(k, x)| (k, mask(x, s))).collect())
                }
                other => other,
            }
        }
        let sandbox = self.scripts.sandbox();
        if !sandbox.has_secrets() {
            return kind;
        }
        serde_json::to_value(&kind)
            .ok()
            .map(|v| mask(v, sandbox))
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or(kind)
    }

    /// Records what a step did.
    pub(super) fn note(&self, step: &str, text: String) {
        self.record(EventKind::Note {
            step: step.into(),
            text,
        });
    }
}
