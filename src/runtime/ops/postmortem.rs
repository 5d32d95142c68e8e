//! The post-mortem of an incident, written by bmad from what it recorded: the incident
//! timeline, a root cause analysis (what set it off, the diagnosis, the fixes tried and
//! why each failed, how each stage ended) and prevention measures drawn from those, as
//! Markdown under `ops/incidents/<id>/` in the workspace.

use super::super::event::EventKind;
use super::incident::Record;
use super::{Desk, OpsHost};
use crate::model::literal::human_ms;
use std::fmt::Write;

impl Desk {
    /// Writes the three post-mortem files of `rec`; records where they are.
    pub(super) fn write_postmortem(&self, host: &dyn OpsHost, rec: &Record) {
        let wall = |ms: u64| self.wall(ms).format("%Y-%m-%d %H:%M:%S UTC").to_string();
        let status = match rec.resolved_ms() {
            Some(r) => format!(
                "resolved after {} (MTTR, detection to verified resolution)",
                human_ms(r.saturating_sub(rec.opened_ms))
            ),
            None => "not resolved".into(),
        };
        let mut timeline = format!(
            "# Incident {} timeline\n\nOpened at level {}, now at level {}; {status}.\n\n\
             | time | what happened |\n|---|---|\n",
            rec.id,
            rec.opened_level,
            rec.level()
        );
        for (at, what) in rec.timeline() {
            let _ = writeln!(timeline, "| {} | {} |", wall(at), what.replace('|', "\\|"));
        }

        let mut cause = format!(
            "# Incident {} root cause analysis\n\n## What set it off\n\n{}\n",
            rec.id, rec.trigger.what
        );
        if let Some(check) = &rec.trigger.check {
            let _ = writeln!(cause, "\nThe check `{check}` reported the fault.");
        }
        if !rec.trigger.findings.is_empty() {
            cause.push_str("\n## Diagnosis and fixes tried before the incident\n\n");
            for f in &rec.trigger.findings {
                let _ = writeln!(cause, "- {f}");
            }
        }
        cause.push_str("\n## Response\n\n");
        for (stage, result) in rec.stages() {
            let _ = match result {
                Ok(()) => writeln!(cause, "- {stage}: done"),
                Err(e) => writeln!(cause, "- {stage}: failed: {e}"),
            };
        }
        let notes = rec.notes();
        if !notes.is_empty() {
            cause.push_str("\n## What the responders reported\n\n");
            for n in &notes {
                let _ = writeln!(cause, "- {n}");
            }
        }

        let mut prevention = format!("# Incident {} prevention measures\n\n", rec.id);
        let failed_fixes: Vec<&String> = rec
            .trigger
            .findings
            .iter()
            .filter(|f| f.contains("did not verify"))
            .collect();
        if !failed_fixes.is_empty() {
            let _ = writeln!(
                prevention,
                "- The self-healing procedure had no fix that verified ({} tried): add a fix \
                 for this fault, or repair the ones that failed.",
                failed_fixes.len()
            );
        }
        for f in rec
            .trigger
            .findings
            .iter()
            .filter(|f| f.starts_with("diagnosis") && f.contains("failed"))
        {
            let _ = writeln!(prevention, "- Watch what the diagnosis found wrong: {f}.");
        }
        if rec.escalations() > 0 {
            let _ = writeln!(
                prevention,
                "- The incident was escalated {} time(s): review the response times and who is \
                 paged at level {}.",
                rec.escalations(),
                rec.opened_level
            );
        }
        if let Some(check) = &rec.trigger.check {
            let _ = writeln!(
                prevention,
                "- Add a self-healing rule (`=> heal ...`) for `{check}` if it has none, so that \
                 the next occurrence is fixed before it becomes an incident."
            );
        }
        if rec.resolved_ms().is_none() {
            prevention.push_str("- The incident is not resolved: a person must take it over.\n");
        }

        let dir = format!("ops/incidents/{}", rec.id);
        let mut written = Vec::new();
        for (name, text) in [
            ("incident-timeline.md", timeline),
            ("root-cause-analysis.md", cause),
            ("prevention-measures.md", prevention),
        ] {
            let path = format!("{dir}/{name}");
            let text = host.sandbox().redact(&text);
            let replace = crate::runtime::confined::Mode::Replace;
            let result = host.workspace().write(&path, text.as_bytes(), replace);
            match result {
                Ok(()) => {
                    rec.add_file(path.clone());
                    written.push(path);
                }
                Err(e) => host.note("postmortem", format!("cannot write {path}: {e}")),
            }
        }
        host.record(EventKind::Note {
            step: "postmortem".into(),
            text: format!("{}: {}", rec.id, written.join(", ")),
        });
    }
}
