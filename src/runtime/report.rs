//! The run report: outcome, makespan, what ran, the most agents at once, per-agent busy
//! time, stories done and blocked.

use super::event::{Event, EventKind};
use serde::Serialize;
use std::collections::BTreeMap;

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Whether every phase succeeded.
    pub ok: bool,
    /// The failing phase and step, when one failed.
    pub failed: Option<String>,
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
    /// Everything that happened.
    pub events: Vec<Event>,
}

impl Report {
    /// A report from the events of a run.
    pub fn new(events: Vec<Event>, failed: Option<String>, makespan_ms: u64) -> Report {
        let (mut running, mut max, mut tasks) = (0usize, 0usize, 0usize);
        let mut busy: BTreeMap<String, u64> = BTreeMap::new();
        let mut started: BTreeMap<(String, Option<String>, Vec<String>), Vec<u64>> =
            BTreeMap::new();
        let (mut done, mut blocked) = (Vec::new(), Vec::new());
        for e in &events {
            match &e.kind {
                EventKind::TaskStarted {
                    agent,
                    tasks: t,
                    story,
                    ..
                } => {
                    running += 1;
                    tasks += 1;
                    max = max.max(running);
                    started
                        .entry((agent.clone(), story.clone(), t.clone()))
                        .or_default()
                        .push(e.at_ms);
                }
                EventKind::TaskFinished {
                    agent,
                    tasks: t,
                    story,
                    ..
                } => {
                    running = running.saturating_sub(1);
                    if let Some(at) = started
                        .get_mut(&(agent.clone(), story.clone(), t.clone()))
                        .and_then(Vec::pop)
                    {
                        *busy.entry(agent.clone()).or_default() += e.at_ms - at;
                    }
                }
                EventKind::StoryDone { story } => done.push(story.clone()),
                EventKind::StoryBlocked { story, .. } => blocked.push(story.clone()),
                _ => {}
            }
        }
        Report {
            ok: failed.is_none(),
            failed,
            makespan_ms,
            tasks,
            max_concurrent: max,
            busy_ms: busy,
            stories_done: done,
            stories_blocked: blocked,
            events,
        }
    }

    /// A table for people.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let status = if self.ok {
            "succeeded".to_string()
        } else {
            format!("failed: {}", self.failed.as_deref().unwrap_or(""))
        };
        out.push_str(&format!("run {status}\n"));
        out.push_str(&format!("makespan      {}\n", human_ms(self.makespan_ms)));
        out.push_str(&format!(
            "agent tasks   {} (at most {} at once)\n",
            self.tasks, self.max_concurrent
        ));
        out.push_str(&format!(
            "stories       {} done, {} blocked\n",
            self.stories_done.len(),
            self.stories_blocked.len()
        ));
        if !self.busy_ms.is_empty() {
            out.push_str("agent               busy         utilisation\n");
            for (agent, ms) in &self.busy_ms {
                let share = if self.makespan_ms == 0 {
                    0.0
                } else {
                    *ms as f64 * 100.0 / self.makespan_ms as f64
                };
                out.push_str(&format!("{agent:<19} {:<12} {share:.0}%\n", human_ms(*ms)));
            }
        }
        out
    }
}

/// `2d 3h`, `5m 12s`, `150ms`.
pub fn human_ms(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0 => format!("{ms}ms"),
        1..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}
