//! The `script` backend: an agent is rhai (inline code, or a module function called with
//! the task), evaluated in the sandbox on tokio's blocking pool. What the script returns is
//! the outcome: `true`/`()` succeed, `false` fails, a string is the agent's output, a map
//! says `ok` and `output` (or `feedback`).

use super::backend::{AgentBackend, Invocation, Outcome};
use crate::model::step::Script;
use crate::script::{Scripts, printable, scope_with};
use crate::source::LineIndex;
use futures::future::BoxFuture;
use rhai::{Dynamic, Map};
use std::sync::Arc;

/// An agent that runs rhai.
pub struct ScriptBackend {
    /// The workflow's compiled scripts.
    pub scripts: Arc<Scripts>,
    /// The script the agent runs.
    pub script: Script,
    /// Where lines start in the workflow's files, to place errors.
    pub lines: Arc<LineIndex>,
}

/// The `task` variable a script agent sees.
fn task_map(inv: &Invocation) -> Map {
    let mut task = Map::new();
    task.insert("agent".into(), inv.agent.clone().into());
    task.insert("name".into(), inv.tasks.join(",").into());
    let tasks: rhai::Array = inv.tasks.iter().map(|t| Dynamic::from(t.clone())).collect();
    task.insert("tasks".into(), tasks.into());
    task.insert("prompt".into(), inv.prompt.clone().into());
    task.insert(
        "story".into(),
        inv.story.clone().map_or(Dynamic::UNIT, Dynamic::from),
    );
    task.insert(
        "attempt".into(),
        i64::try_from(inv.attempt).unwrap_or(i64::MAX).into(),
    );
    task
}

/// The outcome a script's value stands for, and the output to write, if any; a value
/// too deeply nested to print is refused.
fn outcome_of(
    value: &Dynamic,
    validation: bool,
) -> Result<(Outcome, Option<String>), crate::script::EvalError> {
    let done = |ok: bool, text: Option<String>| {
        let feedback = text
            .clone()
            .filter(|t| !t.is_empty() && (validation || !ok));
        (
            Outcome {
                ok,
                feedback,
                // What it returned is what it "printed".
                transcript: text.as_ref().map(|t| super::backend::Transcript {
                    stdout: super::backend::Transcript::kept(t.as_bytes()),
                    stderr: String::new(),
                }),
                result: None,
                transient: None,
                over_budget: false,
            },
            text,
        )
    };
    if value.is_unit() {
        return Ok(done(true, None));
    }
    if let Ok(ok) = value.as_bool() {
        return Ok(done(ok, None));
    }
    if let Some(map) = value.read_lock::<Map>() {
        let ok = map.get("ok").and_then(|v| v.as_bool().ok()).unwrap_or(true);
        let text = map.get("output").or_else(|| map.get("feedback"));
        let text = text.map(printable).transpose()?;
        return Ok(done(ok, text));
    }
    Ok(done(true, Some(printable(value)?)))
}

impl AgentBackend for ScriptBackend {
    fn run(&self, inv: Invocation) -> BoxFuture<'static, Outcome> {
        let scripts = Arc::clone(&self.scripts);
        let script = self.script.clone();
        let script_span = script.span;
        let lines = Arc::clone(&self.lines);
        Box::pin(async move {
            let scope = scope_with([("task", Dynamic::from(task_map(&inv)))]);
            // In a story's worktree, file functions read the story's files.
            let dir = inv.tree.as_ref().map(|t| t.dir.clone());
            // The value becomes an outcome on the evaluating thread (deep values are
            // copied, printed and dropped there), within the task's timeout if it has one.
            let validation = inv.validation;
            let finish = move |value: Dynamic| outcome_of(&value, validation);
            let result = scripts
                .eval_off_thread_with(script, scope, dir, inv.timeout, finish)
                .await;
            let (outcome, output) = match result {
                Ok(v) => v,
                Err(e) => {
                    let place = lines.locate(e.span.unwrap_or(script_span));
                    return Outcome {
                        ok: false,
                        feedback: Some(format!("script agent at {place}: {}", e.message)),
                        ..Outcome::default()
                    };
                }
            };
            // The output goes to the first declared file artifact, as an exec agent's stdout.
            if outcome.ok
                && let (Some(text), Some(a)) = (output, inv.produces.first())
                && let Err(e) = a.write_output(text.as_bytes())
            {
                return Outcome {
                    ok: false,
                    feedback: Some(e.to_string()),
                    ..Outcome::default()
                };
            }
            outcome
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_stand_for_outcomes() {
        assert!(outcome_of(&Dynamic::UNIT, false).unwrap().0.ok);
        assert!(!outcome_of(&Dynamic::FALSE, false).unwrap().0.ok);
        let (o, text) = outcome_of(&Dynamic::from("done".to_string()), false).unwrap();
        assert!(o.ok && o.feedback.is_none());
        assert_eq!(text.as_deref(), Some("done"));
        let mut m = Map::new();
        m.insert("ok".into(), false.into());
        m.insert("feedback".into(), "missing tests".into());
        let (o, _) = outcome_of(&Dynamic::from(m), true).unwrap();
        assert!(!o.ok);
        assert_eq!(o.feedback.as_deref(), Some("missing tests"));
    }
}
