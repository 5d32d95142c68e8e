//! The timeline of a run's tasks, a lane per agent (an inline SVG Gantt chart), and its
//! critical path: from the task that ended last, back through the task that ended last
//! before each one started (what it waited for), to the start.

use super::queries::Task;
use maud::{Markup, html};

/// The most bars drawn; the critical path is always drawn.
pub(super) const MAX_BARS: usize = 3000;
/// The chart's width, in its own units.
const WIDTH: f64 = 1000.0;
/// A lane's height.
const LANE: f64 = 18.0;
/// The room for the agents' names on the left.
const NAMES: f64 = 120.0;

/// The tasks on the critical path, in the order they ran.
pub(super) fn critical_path(tasks: &[Task]) -> Vec<usize> {
    let mut ended: Vec<(u64, usize)> = tasks
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.end.map(|end| (end, i)))
        .collect();
    ended.sort_unstable();
    let Some(&(_, mut at)) = ended.last() else {
        return Vec::new();
    };
    let mut path = vec![at];
    loop {
        let start = tasks[at].start;
        // The tasks that ended by the time this one started; the last of them.
        let before = ended.partition_point(|(end, _)| *end <= start);
        let Some(&(end, _)) = ended[..before].last() else {
            break;
        };
        // Of those that ended then, one of the same story if there is one.
        let same_end = ended[..before].partition_point(|(e, _)| *e < end);
        let story = &tasks[at].story;
        let candidates = &ended[same_end..before];
        let Some(&(_, prev)) = candidates
            .iter()
            .find(|(_, i)| story.is_some() && tasks[*i].story == *story)
            .or_else(|| candidates.last())
        else {
            break;
        };
        if path.contains(&prev) {
            break;
        }
        path.push(prev);
        at = prev;
    }
    path.reverse();
    path
}

/// The chart: a lane for each agent, a bar for each task (a link to its step).
pub(super) fn chart(tasks: &[Task], critical: &[usize], span_ms: u64, run: &str) -> Markup {
    let mut agents: Vec<&str> = Vec::new();
    for t in tasks {
        if !agents.contains(&t.agent.as_str()) {
            agents.push(&t.agent);
        }
    }
    let span = span_ms.max(1) as f64;
    let x = |ms: u64| NAMES + (ms as f64 / span) * (WIDTH - NAMES);
    let height = LANE * agents.len() as f64 + 4.0;
    let on_path: std::collections::HashSet<usize> = critical.iter().copied().collect();
    let shown = tasks
        .iter()
        .enumerate()
        .filter(|(i, _)| *i < MAX_BARS || on_path.contains(i));
    html! {
        @if tasks.len() > MAX_BARS {
            p.note { "Showing the first " (MAX_BARS) " of " (tasks.len()) " tasks, and the critical path." }
        }
        svg.gantt viewBox={"0 0 " (WIDTH) " " (height)} role="img" aria-label="tasks per agent over time" {
            @for (lane, agent) in agents.iter().enumerate() {
                text.lane x="2" y=(LANE * lane as f64 + 13.0) { (agent) }
            }
            @for (i, t) in shown {
                @let lane = agents.iter().position(|a| *a == t.agent).unwrap_or(0);
                @let end = t.end.unwrap_or(span_ms);
                @let class = format!("bar {}{}", state_class(t.ok), if on_path.contains(&i) { " critical" } else { "" });
                a href=(step_href(run, &t.step)) {
                    rect class=(class) x=(format!("{:.1}", x(t.start))) y=(LANE * lane as f64 + 2.0)
                        width=(format!("{:.1}", (x(end) - x(t.start)).max(1.0))) height=(LANE - 4.0) {
                        title { (t.agent) ": " (t.tasks) @if let Some(s) = &t.story { " [" (s) "]" } }
                    }
                }
            }
        }
    }
}

/// The class of a task or step by how it stands.
pub(super) fn state_class(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "ok",
        Some(false) => "failed",
        None => "running",
    }
}

/// The address of a step's page.
pub(super) fn step_href(run: &str, step: &str) -> String {
    format!("/runs/{}/steps/{}", escape(run), escape(step))
}

/// A path segment (or a step's place, whose slashes stay) with the rest percent-encoded.
pub(super) fn escape(s: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::queries::Task;

    fn task(story: &str, start: u64, end: u64) -> Task {
        Task {
            agent: "a".into(),
            tasks: "t".into(),
            story: Some(story.into()),
            step: format!("s/{story}/{start}"),
            attempt: 1,
            validation: false,
            start,
            end: Some(end),
            ok: Some(true),
            feedback: None,
        }
    }

    #[test]
    fn the_critical_path_walks_back_through_what_each_task_waited_for() {
        let tasks = [
            task("x", 0, 10),
            task("y", 0, 5),
            task("x", 10, 30),
            task("y", 5, 8),
        ];
        assert_eq!(super::critical_path(&tasks), vec![0, 2]);
        assert!(super::critical_path(&[]).is_empty());
        assert_eq!(super::escape("dev/0/#1 a"), "dev/0/%231%20a");
    }
}
