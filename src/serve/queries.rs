//! What the pages show, read from the store: the runs with their board counts and spend;
//! a run's cards, tasks (paired start and end), approvals, KPIs and usage, all from one
//! read of its log.

use crate::runtime::event::{Event, EventKind};
use crate::runtime::kpi::KpiResult;
use crate::runtime::report::UsageReport;
use crate::state::{Approval, LogEntry, RunInfo, StateError, Store, StoryStatus};
use std::collections::HashMap;
use std::path::Path;

/// The most runs the list shows.
pub(super) const MAX_RUNS: usize = 500;

/// A run as the list shows it.
pub(super) struct RunRow {
    pub(super) info: RunInfo,
    /// Stories in each column, in [`StoryStatus::ALL`]'s order.
    pub(super) columns: Vec<(StoryStatus, usize)>,
    pub(super) spend: Option<f64>,
}

/// One task: its start and, once it ended, its end.
pub(super) struct Task {
    pub(super) agent: String,
    pub(super) tasks: String,
    pub(super) story: Option<String>,
    pub(super) step: String,
    pub(super) attempt: u64,
    pub(super) validation: bool,
    pub(super) start: u64,
    pub(super) end: Option<u64>,
    pub(super) ok: Option<bool>,
    pub(super) feedback: Option<String>,
}

/// A story's card on the board.
pub(super) struct Card {
    pub(super) story: String,
    pub(super) status: StoryStatus,
    pub(super) reason: Option<String>,
    /// Its attempts so far.
    pub(super) attempts: u64,
    /// Its QA verdicts: the task, which holds the attempt, the outcome and the feedback.
    pub(super) verdicts: Vec<usize>,
}

/// Everything the run page shows.
pub(super) struct RunView {
    pub(super) info: RunInfo,
    pub(super) log: Vec<LogEntry>,
    /// Each event of the log, read; `None` for one this bmad does not know.
    pub(super) kinds: Vec<Option<EventKind>>,
    pub(super) cards: Vec<Card>,
    pub(super) tasks: Vec<Task>,
    pub(super) approvals: Vec<Approval>,
    pub(super) usage: UsageReport,
    /// The KPIs, or why they are not measured.
    pub(super) kpis: Result<Vec<KpiResult>, String>,
    /// The workflow's program, when its file is the one the run ran.
    pub(super) program: Option<crate::ir::Program>,
    /// The run's length so far, in its own milliseconds.
    pub(super) span_ms: u64,
}

/// The runs, the newest first.
pub(super) fn runs(store: &Store) -> Result<Vec<RunRow>, StateError> {
    let mut rows = Vec::new();
    for info in store.runs()?.into_iter().take(MAX_RUNS) {
        let board = store.board(&info.id)?;
        let columns = StoryStatus::ALL
            .iter()
            .map(|c| (*c, board.iter().filter(|b| b.status == *c).count()))
            .collect();
        let spend = store.spend(&info.id)?;
        rows.push(RunRow {
            info,
            columns,
            spend,
        });
    }
    Ok(rows)
}

/// The run `id` names (or starts), read whole.
pub(super) fn run(store: &Store, id: &str) -> Result<RunView, StateError> {
    let info = store.run(id)?;
    let log = store.log_after(&info.id, 0, u64::MAX)?;
    let kinds: Vec<Option<EventKind>> = log
        .iter()
        .map(|e| serde_json::from_str(&e.data).ok())
        .collect();
    let tasks = tasks(&log, &kinds);
    let mut cards: Vec<Card> = store
        .board(&info.id)?
        .into_iter()
        .map(|b| Card {
            story: b.story,
            status: b.status,
            reason: b.reason,
            attempts: 0,
            verdicts: Vec::new(),
        })
        .collect();
    let place: HashMap<String, usize> = cards
        .iter()
        .enumerate()
        .map(|(i, c)| (c.story.clone(), i))
        .collect();
    for (i, t) in tasks.iter().enumerate() {
        let Some(card) = t.story.as_ref().and_then(|s| place.get(s)) else {
            continue;
        };
        let card = &mut cards[*card];
        card.attempts = card.attempts.max(t.attempt);
        if t.validation && t.ok.is_some() {
            card.verdicts.push(i);
        }
    }
    let span_ms = log.last().map_or(0, |e| e.at_ms);
    let program = program(&info);
    let kpis = match &program {
        Some(p) if p.kpis.is_empty() => Ok(Vec::new()),
        Some(p) => {
            let events: Vec<Event> = log
                .iter()
                .zip(&kinds)
                .filter_map(|(e, k)| {
                    k.clone().map(|kind| Event {
                        at_ms: e.at_ms,
                        kind,
                    })
                })
                .collect();
            Ok(crate::runtime::kpi::measure_kpis(&p.kpis, &events, span_ms))
        }
        None => Err(format!(
            "the workflow `{}` is not where the run read it, or it changed since",
            info.workflow
        )),
    };
    Ok(RunView {
        usage: UsageReport::of(kinds.iter().flatten()),
        approvals: store.approvals(&info.id)?,
        info,
        log,
        kinds,
        cards,
        tasks,
        kpis,
        program,
        span_ms,
    })
}

/// The tasks of a log: each start paired with the end of the same step.
pub(super) fn tasks(log: &[LogEntry], kinds: &[Option<EventKind>]) -> Vec<Task> {
    let mut tasks: Vec<Task> = Vec::new();
    let mut open: HashMap<&str, usize> = HashMap::new();
    for (e, kind) in log.iter().zip(kinds) {
        let (Some(step), Some(kind)) = (e.step.as_deref(), kind) else {
            continue;
        };
        match kind {
            EventKind::TaskStarted {
                agent,
                tasks: names,
                story,
                attempt,
                validation,
            } => {
                open.insert(step, tasks.len());
                tasks.push(Task {
                    agent: agent.clone(),
                    tasks: names.join(", "),
                    story: story.clone(),
                    step: step.to_string(),
                    attempt: *attempt,
                    validation: *validation,
                    start: e.at_ms,
                    end: None,
                    ok: None,
                    feedback: None,
                });
            }
            EventKind::TaskFinished { ok, feedback, .. } => {
                if let Some(t) = open.remove(step).and_then(|i| tasks.get_mut(i)) {
                    t.end = Some(e.at_ms);
                    t.ok = Some(*ok);
                    t.feedback.clone_from(feedback);
                }
            }
            _ => {}
        }
    }
    tasks
}

/// The run's workflow, checked, when the file is there and is the one it ran (its
/// sha256 is the run's).
fn program(info: &RunInfo) -> Option<crate::ir::Program> {
    let path = Path::new(&info.workflow);
    if !path.is_file() {
        return None;
    }
    let checked = crate::check_path(path);
    (!checked.has_errors() && checked.workflow_sha256() == info.workflow_sha256)
        .then_some(checked.program)
}

/// A short text of an event: what the runtime says of it, or its name.
pub(super) fn event_text(e: &LogEntry, kind: Option<&EventKind>) -> String {
    kind.map_or_else(|| e.kind.clone(), EventKind::text)
}

#[cfg(test)]
mod tests {
    use crate::state::LogEntry;

    fn entry(seq: u64, step: &str, data: &str) -> LogEntry {
        LogEntry {
            seq,
            at_ms: seq * 10,
            wall_ms: 0,
            kind: String::new(),
            step: Some(step.into()),
            story: None,
            moved: None,
            data: data.into(),
        }
    }

    #[test]
    fn a_task_is_its_start_and_the_end_of_the_same_step() {
        let log = [
            entry(
                1,
                "a",
                r#"{"event":"task_started","agent":"dev","tasks":["x"],"story":"s","attempt":2,"validation":false}"#,
            ),
            entry(
                2,
                "b",
                r#"{"event":"task_started","agent":"qa","tasks":["y"],"story":null,"attempt":1,"validation":true}"#,
            ),
            entry(
                3,
                "a",
                r#"{"event":"task_finished","agent":"dev","tasks":["x"],"story":"s","ok":false,"feedback":"no"}"#,
            ),
        ];
        let kinds: Vec<_> = log
            .iter()
            .map(|e| serde_json::from_str(&e.data).ok())
            .collect();
        let tasks = super::tasks(&log, &kinds);
        assert_eq!(tasks.len(), 2);
        assert_eq!(
            (tasks[0].start, tasks[0].end, tasks[0].ok),
            (10, Some(30), Some(false))
        );
        assert_eq!(tasks[0].feedback.as_deref(), Some("no"));
        assert_eq!(tasks[1].end, None);
    }
}
