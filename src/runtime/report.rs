//! The run report: outcome, makespan, what ran, the most agents at once, per-agent busy
//! time and utilisation, the critical path, stories done and blocked, and the KPIs.

use super::agent_output::Usage;
use super::event::usage_text;
use super::event::{Event, EventKind};
use super::kpi::KpiResult;
use crate::model::literal::human_ms;
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::collections::BTreeMap;
use std::collections::hash_map::Entry;
use std::fmt::Write;
use std::sync::Arc;

/// A run's log of events, shared rather than copied between the runner and the reports
/// made of it: the log of a run of 100,000 steps is 300,000 events. It reads as a slice
/// of events; it serializes as their list.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct EventLog(Arc<Vec<Event>>);

impl EventLog {
    /// Adds `event` at the end (copying the log first when a report still shares it).
    pub(crate) fn push(&mut self, event: Event) {
        Arc::make_mut(&mut self.0).push(event);
    }

    /// Makes room for `more` events, when the memory can be had: the log then does not
    /// grow (copy itself) as they come. Room not used costs address space only.
    pub(crate) fn reserve(&mut self, more: usize) {
        let _ = Arc::make_mut(&mut self.0).try_reserve(more);
    }

    /// The events, as a vector of their own (copied when the log is still shared).
    pub fn into_vec(self) -> Vec<Event> {
        Arc::unwrap_or_clone(self.0)
    }
}

impl From<Vec<Event>> for EventLog {
    fn from(events: Vec<Event>) -> EventLog {
        EventLog(Arc::new(events))
    }
}

impl std::ops::Deref for EventLog {
    type Target = [Event];

    fn deref(&self) -> &[Event] {
        &self.0
    }
}

impl<'a> IntoIterator for &'a EventLog {
    type Item = &'a Event;
    type IntoIter = std::slice::Iter<'a, Event>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Whether every phase succeeded.
    pub ok: bool,
    /// The failing phase and step, when one failed.
    pub failed: Option<String>,
    /// Why the run paused, when it did (a budget spent, an agent's service refusing): it
    /// goes on with `bmad run --resume`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<String>,
    /// Time from start to end, in milliseconds (virtual when simulated).
    pub makespan_ms: u64,
    /// Agent tasks run.
    pub tasks: usize,
    /// The most agent tasks that ran at the same time.
    pub max_concurrent: usize,
    /// Milliseconds each agent was busy.
    pub busy_ms: BTreeMap<String, u64>,
    /// Stories finished.
    pub stories_done: Vec<String>,
    /// Stories escalated as blocked.
    pub stories_blocked: Vec<String>,
    /// Why each blocked story was blocked, in the order of `stories_blocked`.
    pub blocked_reasons: Vec<String>,
    /// The chain of tasks that decided the makespan: each starts when the one before it
    /// ended (or later), and the last ends last.
    pub critical_path: Vec<Span>,
    /// Tokens and cost its coding-agent CLIs reported: in all, per agent, per story.
    pub usage: UsageReport,
    /// What it spent against its budget, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<super::people_report::BudgetReport>,
    /// The approvals it waited for, and its pauses.
    pub people: super::people_report::PeopleReport,
    /// The workflow's KPIs measured on this run.
    pub kpis: Vec<KpiResult>,
    /// Everything that happened: the run's log, shared with the runner.
    pub events: EventLog,
}

/// Tokens and cost, added up from the tasks whose CLI reported them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UsageReport {
    /// Tasks that reported usage.
    pub tasks: usize,
    /// In all.
    pub total: Usage,
    /// Per agent.
    pub by_agent: BTreeMap<String, Usage>,
    /// Per story.
    pub by_story: BTreeMap<String, Usage>,
    /// Per model (or CLI, for agents that name no model).
    pub by_model: BTreeMap<String, Usage>,
}

impl UsageReport {
    /// The usage the `task_finished` events of `events` report, added up.
    pub fn of<'e>(events: impl IntoIterator<Item = &'e EventKind>) -> UsageReport {
        let mut u = UsageReport::default();
        for e in events {
            if let EventKind::TaskFinished {
                agent,
                story,
                result: Some(r),
                ..
            } = e
            {
                u.tasks += 1;
                u.total.add(&r.usage);
                u.by_agent.entry(agent.clone()).or_default().add(&r.usage);
                if let Some(s) = story {
                    u.by_story.entry(s.clone()).or_default().add(&r.usage);
                }
                if let Some(m) = &r.model {
                    u.by_model.entry(m.clone()).or_default().add(&r.usage);
                }
            }
        }
        u
    }

    /// Lines for people: the total, then per agent and per story; nothing when no task
    /// reported usage.
    pub fn lines(&self) -> String {
        if self.tasks == 0 {
            return String::new();
        }
        let mut out = format!(
            "tokens        {} ({} task(s) of coding CLIs)\n",
            usage_text(&self.total),
            self.tasks
        );
        for (who, map) in [
            ("agent", &self.by_agent),
            ("model", &self.by_model),
            ("story", &self.by_story),
        ] {
            for (name, u) in map {
                let _ = writeln!(out, "  {who} {name:<14} {}", usage_text(u));
            }
        }
        out
    }
}

/// The exit code of a run that ran to its end with stories blocked or escalated.
pub const EXIT_BLOCKED: u8 = 3;

/// The exit code of a run that paused (a budget spent, an agent's service refusing).
pub const EXIT_PAUSED: u8 = 4;

/// One agent task's time on the clock.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Span {
    /// `agent: task, task [story]`.
    pub task: String,
    /// Start, in milliseconds since the run started.
    pub start_ms: u64,
    /// End.
    pub end_ms: u64,
}

/// The critical path through `spans` (each a task's start, end and label, the label made
/// only for the spans on the path): from the span that ends last, back through the span
/// that ended last before each one started.
fn critical_path<L>(mut spans: Vec<(u64, u64, L)>, label: impl Fn(&L) -> String) -> Vec<Span> {
    spans.sort_by_key(|(start, end, _)| (*end, *start));
    let mut path = Vec::new();
    let mut next = spans.len().checked_sub(1);
    while let Some(i) = next {
        let (start, end, l) = &spans[i];
        path.push(Span {
            task: label(l),
            start_ms: *start,
            end_ms: *end,
        });
        // The latest span ending at or before this one started (never itself).
        let before = spans[..i].partition_point(|(_, e, _)| *e <= *start);
        next = before.checked_sub(1);
    }
    path.reverse();
    path
}

/// A task by its agent, story and tasks, borrowed from its events.
type TaskKey<'e> = (&'e str, Option<&'e str>, &'e [String]);

/// The starts of a task running, the latest last: the first kept inline (a task mostly
/// runs once at a time: no allocation a task), the others only when it overlaps itself.
struct Starts {
    /// The earliest start still running.
    first: u64,
    /// Later starts still running, in order.
    more: Vec<u64>,
}

fn label(agent: &str, tasks: &[String], story: Option<&String>) -> String {
    match story {
        Some(s) => format!("{agent}: {} [{s}]", tasks.join(", ")),
        None => format!("{agent}: {}", tasks.join(", ")),
    }
}

impl Report {
    /// A report from the events of a run (a `Vec<Event>`, or the runner's log), with
    /// `kpis` measured on it.
    pub fn new(
        events: impl Into<EventLog>,
        failed: Option<String>,
        makespan_ms: u64,
        kpis: &[crate::model::Kpi],
    ) -> Report {
        let events: EventLog = events.into();
        let (mut running, mut max, mut tasks) = (0usize, 0usize, 0usize);
        let mut busy: BTreeMap<String, u64> = BTreeMap::new();
        // The starts of the tasks running, by agent, story and tasks (borrowed from the
        // events: nothing is copied per task).
        let mut started: FxHashMap<TaskKey<'_>, Starts> = FxHashMap::default();
        let (mut done, mut blocked, mut reasons) = (Vec::new(), Vec::new(), Vec::new());
        let mut spans = Vec::new();
        let mut paused = None;
        for e in &events {
            match &e.kind {
                // Only the last segment's pause stands: a resume went on from an earlier one.
                EventKind::RunStarted { .. } => paused = None,
                EventKind::RunPaused { reason } => paused = Some(reason.clone()),
                EventKind::TaskStarted {
                    agent,
                    tasks: t,
                    story,
                    ..
                } => {
                    running += 1;
                    tasks += 1;
                    max = max.max(running);
                    match started.entry((agent.as_str(), story.as_deref(), t.as_slice())) {
                        Entry::Occupied(mut starts) => starts.get_mut().more.push(e.at_ms),
                        Entry::Vacant(none) => {
                            none.insert(Starts {
                                first: e.at_ms,
                                more: Vec::new(),
                            });
                        }
                    }
                }
                EventKind::TaskFinished {
                    agent,
                    tasks: t,
                    story,
                    ..
                } => {
                    running = running.saturating_sub(1);
                    // A task's entry goes when none of it runs: the map holds the tasks
                    // running, not every task of the run.
                    let key = (agent.as_str(), story.as_deref(), t.as_slice());
                    let start = match started.entry(key) {
                        Entry::Occupied(mut starts) => match starts.get_mut().more.pop() {
                            Some(at) => Some(at),
                            None => Some(starts.remove().first),
                        },
                        Entry::Vacant(_) => None,
                    };
                    if let Some(at) = start {
                        match busy.get_mut(agent.as_str()) {
                            Some(ms) => *ms += e.at_ms - at,
                            None => {
                                busy.insert(agent.clone(), e.at_ms - at);
                            }
                        }
                        spans.push((at, e.at_ms, (agent, t, story)));
                    }
                }
                EventKind::StoryDone { story } => done.push(story.clone()),
                EventKind::StoryBlocked { story, reason } => {
                    blocked.push(story.clone());
                    reasons.push(reason.clone());
                }
                _ => {}
            }
        }
        let critical_path =
            critical_path(spans, |(agent, t, story)| label(agent, t, story.as_ref()));
        Report {
            ok: failed.is_none() && paused.is_none(),
            failed,
            paused,
            makespan_ms,
            tasks,
            max_concurrent: max,
            busy_ms: busy,
            stories_done: done,
            stories_blocked: blocked,
            blocked_reasons: reasons,
            critical_path,
            usage: UsageReport::of(events.iter().map(|e| &e.kind)),
            budget: None,
            people: super::people_report::PeopleReport::of(&events, makespan_ms),
            kpis: super::kpi::measure_kpis(kpis, &events, makespan_ms),
            events,
        }
    }

    /// The exit code of `bmad run` for this report: 0 succeeded, 1 failed, 3 ran to its
    /// end with stories blocked or escalated, 4 paused.
    pub fn exit_code(&self) -> u8 {
        if self.paused.is_some() {
            return EXIT_PAUSED;
        }
        match (self.ok, self.stories_blocked.is_empty()) {
            (false, _) => 1,
            (true, false) => EXIT_BLOCKED,
            (true, true) => 0,
        }
    }

    /// A table for people.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let status = match (self.ok, self.stories_blocked.len()) {
            _ if self.paused.is_some() => format!(
                "paused: {}\n  (resume with `bmad run FILE --resume`; raise a spent budget with \
                 --budget AMOUNT)",
                self.paused.as_deref().unwrap_or("")
            ),
            (false, _) => format!("failed: {}", self.failed.as_deref().unwrap_or("")),
            (true, 0) => "succeeded".to_string(),
            (true, n) => format!(
                "finished with {n} blocked stor{} (listed below)",
                if n == 1 { "y" } else { "ies" }
            ),
        };
        let _ = writeln!(out, "run {status}");
        let _ = writeln!(out, "makespan      {}", human_ms(self.makespan_ms));
        let _ = writeln!(
            out,
            "agent tasks   {} (at most {} at once)",
            self.tasks, self.max_concurrent
        );
        let _ = writeln!(
            out,
            "stories       {} done, {} blocked",
            self.stories_done.len(),
            self.stories_blocked.len()
        );
        if !self.busy_ms.is_empty() {
            out.push_str("agent               busy         utilisation\n");
            for (agent, ms) in &self.busy_ms {
                let share = if self.makespan_ms == 0 {
                    0.0
                } else {
                    *ms as f64 * 100.0 / self.makespan_ms as f64
                };
                let _ = writeln!(out, "{agent:<19} {:<12} {share:.0}%", human_ms(*ms));
            }
        }
        out.push_str(&self.usage.lines());
        if let Some(b) = &self.budget {
            out.push_str(&b.lines());
        }
        out.push_str(&self.people.lines());
        for (story, why) in self.stories_blocked.iter().zip(&self.blocked_reasons) {
            let _ = writeln!(out, "blocked       {story}: {why}");
        }
        if !self.critical_path.is_empty() {
            let _ = writeln!(out, "critical path ({} tasks)", self.critical_path.len());
            let shown = 12;
            for (i, s) in self.critical_path.iter().enumerate() {
                let last = self.critical_path.len() - 1;
                if i == shown / 2 && last >= shown {
                    let _ = writeln!(out, "  ... {} more", last + 1 - shown);
                }
                if i < shown / 2 || i + shown / 2 > last {
                    let _ = writeln!(
                        out,
                        "  {:>10}  {:<10} {}",
                        human_ms(s.start_ms),
                        human_ms(s.end_ms - s.start_ms),
                        s.task
                    );
                }
            }
        }
        if !self.kpis.is_empty() {
            out.push_str("kpi                        target      measured\n");
            for k in &self.kpis {
                let _ = writeln!(out, "{:<26} {:<11} {}", k.name, k.target, k.shown());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(at_ms: u64, started: bool) -> Event {
        let (agent, tasks, story) = ("dev".to_string(), vec!["build".to_string()], None);
        let kind = if started {
            EventKind::TaskStarted {
                agent,
                tasks,
                story,
                attempt: 1,
                validation: false,
            }
        } else {
            EventKind::TaskFinished {
                agent,
                tasks,
                story,
                ok: true,
                feedback: None,
                result: None,
            }
        };
        Event { at_ms, kind }
    }

    #[test]
    fn the_same_task_running_twice_and_again_later_counts_each_run() {
        // Two runs of the same task overlap (the last started ends first), then it runs
        // again once none of it is running.
        let events = vec![
            task(0, true),
            task(10, true),
            task(30, false),
            task(40, false),
            task(50, true),
            task(55, false),
        ];
        let r = Report::new(events, None, 55, &[]);
        assert_eq!((r.tasks, r.max_concurrent), (3, 2));
        assert_eq!(r.busy_ms["dev"], 20 + 40 + 5);
        let path: Vec<_> = r
            .critical_path
            .iter()
            .map(|s| (s.start_ms, s.end_ms))
            .collect();
        assert_eq!(path, [(0, 40), (50, 55)]);
    }
}
