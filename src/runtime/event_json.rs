//! The JSON of an event as the run's log keeps it. The events every task writes (its start,
//! its end, its story done) are written out directly, the text `serde_json` makes for them
//! (a test holds the two equal): the derived serializer escapes each key at run time and
//! cost some 1,400 instructions an event, a third of what the store cost the scheduler
//! (issue 21). Every other event is serialized by serde.

use super::event::EventKind;
use crate::state::push_json_string;

/// The JSON of `kind`, as `serde_json::to_string` makes it.
pub(super) fn event_json(kind: &EventKind) -> String {
    let mut out = String::with_capacity(160);
    push_event_json(&mut out, kind);
    out
}

/// Appends the JSON of `kind` to `out`, as `serde_json::to_string` makes it.
pub(super) fn push_event_json(out: &mut String, kind: &EventKind) {
    match kind {
        EventKind::TaskStarted {
            agent,
            tasks,
            story,
            attempt,
            validation,
        } => {
            out.push_str("{\"event\":\"task_started\"");
            push_task(out, agent, tasks, story.as_deref());
            out.push_str(",\"attempt\":");
            out.push_str(itoa::Buffer::new().format(*attempt));
            out.push_str(if *validation {
                ",\"validation\":true}"
            } else {
                ",\"validation\":false}"
            });
        }
        EventKind::TaskFinished {
            agent,
            tasks,
            story,
            ok,
            feedback,
            result: None,
        } => {
            out.push_str("{\"event\":\"task_finished\"");
            push_task(out, agent, tasks, story.as_deref());
            out.push_str(if *ok { ",\"ok\":true" } else { ",\"ok\":false" });
            out.push_str(",\"feedback\":");
            push_optional(out, feedback.as_deref());
            out.push('}');
        }
        EventKind::StoryDone { story } => {
            out.push_str("{\"event\":\"story_done\",\"story\":");
            push_json_string(out, story);
            out.push('}');
        }
        other => out.push_str(&serde_json::to_string(other).unwrap_or_default()),
    }
}

/// Appends a task's agent, tasks and story, each after a comma.
fn push_task(out: &mut String, agent: &str, tasks: &[String], story: Option<&str>) {
    out.push_str(",\"agent\":");
    push_json_string(out, agent);
    out.push_str(",\"tasks\":[");
    for (i, task) in tasks.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_string(out, task);
    }
    out.push_str("],\"story\":");
    push_optional(out, story);
}

/// Appends `value` as a JSON string, or `null`.
fn push_optional(out: &mut String, value: Option<&str>) {
    match value {
        Some(v) => push_json_string(out, v),
        None => out.push_str("null"),
    }
}

#[cfg(test)]
mod tests {
    use super::event_json;
    use crate::runtime::event::EventKind;

    #[test]
    fn the_events_written_directly_are_the_text_serde_makes() {
        let odd = "s \"1\"\\\n\u{1}é".to_string();
        let tasks = |n: usize| (0..n).map(|i| format!("t{i}")).collect::<Vec<_>>();
        let mut kinds = Vec::new();
        for (story, n) in [
            (None, 0),
            (Some("s1".to_string()), 1),
            (Some(odd.clone()), 3),
        ] {
            for validation in [false, true] {
                kinds.push(EventKind::TaskStarted {
                    agent: odd.clone(),
                    tasks: tasks(n),
                    story: story.clone(),
                    attempt: 12,
                    validation,
                });
            }
            for (ok, feedback) in [(true, None), (false, Some(odd.clone()))] {
                kinds.push(EventKind::TaskFinished {
                    agent: "dev".into(),
                    tasks: tasks(n),
                    story: story.clone(),
                    ok,
                    feedback,
                    result: None,
                });
            }
        }
        kinds.push(EventKind::StoryDone { story: odd.clone() });
        // Written by serde: an event of another kind.
        kinds.push(EventKind::StoryBlocked {
            story: odd.clone(),
            reason: odd,
        });
        for kind in kinds {
            assert_eq!(event_json(&kind), serde_json::to_string(&kind).unwrap());
        }
    }
}
