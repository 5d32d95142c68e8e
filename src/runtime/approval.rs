//! Approvals that wait: a manual gate or an `approve` step asks a person, records the
//! question in the state store (the run's status becomes `waiting`) and waits, while the
//! rest of the run goes on, until `bmad approve RUN TARGET [--reject WHY]` answers from
//! another terminal. `--approve TARGET` answers in advance; a simulation approves.

use super::Runner;
use super::SetupError;
use super::event::EventKind;
use super::steps::{Ctx, StepError};
use crate::ir::Program;
use crate::model::step::Approve;
use std::time::Duration;

/// How often a waiting run reads the store for an answer.
const POLL: Duration = Duration::from_millis(500);

/// Checks what `--approve` names: an environment, an `approve` step, or an `approve` step
/// of one story (`review@s1`; any story when the stories come from files, read later).
///
/// # Errors
///
/// [`SetupError::UnknownApproval`] for a name that is none of these, with the nearest.
pub(super) fn check_approvals(program: &Program, approve: &[String]) -> Result<(), SetupError> {
    let mut steps = Vec::new();
    for body in program.bodies() {
        crate::model::step::walk(body, &mut |s| {
            if let crate::model::step::StepKind::Approve(a) = &s.kind {
                steps.push(a.name.name.to_string());
            }
        });
    }
    let stories: Vec<&str> = program.stories.iter().map(|s| s.id.name.as_str()).collect();
    let any_story = !program.story_sources.is_empty();
    let environments = program.environments.iter().map(|e| e.name.name.to_string());
    let mut names: Vec<String> = environments.chain(steps.iter().cloned()).collect();
    for step in &steps {
        names.extend(stories.iter().map(|s| format!("{step}@{s}")));
    }
    for name in approve {
        let known = names.contains(name)
            || name
                .split_once('@')
                .is_some_and(|(step, _)| any_story && steps.iter().any(|s| s == step));
        if !known {
            return Err(SetupError::UnknownApproval {
                name: name.clone(),
                did_you_mean: crate::diagnostic::did_you_mean(
                    name,
                    names.iter().map(String::as_str),
                ),
            });
        }
    }
    Ok(())
}

/// What is asked.
pub(super) struct Ask<'a> {
    /// What is approved: an environment, or an `approve` step's name (`review@s1`).
    pub target: &'a str,
    /// The name `--approve` takes for it (the step's name, without the story).
    pub name: &'a str,
    /// What the person is asked.
    pub prompt: Option<&'a str>,
    /// Who may answer (anyone when empty).
    pub who: &'a [String],
    /// The attempt it is asked for: a rejection asks again at the next one.
    pub attempt: u64,
}

/// A person's answer.
pub(super) enum Answered {
    /// Approved.
    Yes,
    /// Rejected, with why.
    No(String),
}

impl Runner {
    /// An `approve` step: a verdict a person gives. Inside a story its target is
    /// `NAME@STORY`; a rejection goes back like QA's, with the person's reason.
    pub(super) async fn approve_step(&self, a: &Approve, ctx: &Ctx<'_>) -> Result<(), StepError> {
        if let Some(done) = self.replayed(ctx) {
            ctx.state.verdict(
                a.name.span,
                done.ok,
                done.feedback.clone().unwrap_or_default(),
            );
            return Ok(());
        }
        let target = match ctx.story {
            Some(s) => format!("{}@{}", a.name.name, s.id.name),
            None => a.name.name.to_string(),
        };
        let who: Vec<String> = a.by.iter().map(|n| n.name.to_string()).collect();
        self.step_started(ctx);
        let ask = Ask {
            target: &target,
            name: &a.name.name,
            prompt: a.prompt.as_ref().map(|p| p.value.as_str()),
            who: &who,
            attempt: ctx.state.attempt.get().max(1),
        };
        let (ok, said) = match self.approval(&ask).await? {
            Answered::Yes => (true, String::new()),
            Answered::No(why) => (false, why),
        };
        ctx.state.verdict(a.name.span, ok, said.clone());
        self.step_finished(ctx, ok, true, (!said.is_empty()).then_some(said.as_str()));
        Ok(())
    }

    /// Waits until a person acknowledges `incident` from another terminal (`bmad ack`):
    /// who did. Pends forever in a simulation or a run with no store: nobody can answer.
    pub(super) async fn acknowledgement(&self, incident: &str, prompt: String) -> Option<String> {
        let journal = match self.rec.journal() {
            Some(j) if !self.options.simulate => j,
            _ => return std::future::pending().await,
        };
        journal.ask_approval(incident, 1, Some(&prompt), None);
        loop {
            if let Some(a) = journal.approval(incident)
                && let Some(answer) = a.answer
            {
                return answer.by;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Asks for `ask`'s approval and waits for the answer. Fails when the run is not
    /// recorded in a store (nobody could answer).
    pub(super) async fn approval(&self, ask: &Ask<'_>) -> Result<Answered, StepError> {
        let target = ask.target;
        if self
            .options
            .approve
            .iter()
            .any(|a| a == ask.name || a == target)
        {
            // Who runs bmad answers in advance, if the step lets them.
            let user = std::env::var("USER").unwrap_or_default();
            if ask.who.is_empty() || ask.who.contains(&user) {
                self.note(
                    "approval",
                    format!("`{target}`: approved with --approve by `{user}`"),
                );
                return Ok(Answered::Yes);
            }
            self.note(
                "approval",
                format!(
                    "`{target}`: --approve ignored: `{user}` is not among who may approve it ({})",
                    ask.who.join(", ")
                ),
            );
        }
        if self.options.simulate {
            self.note(
                "approval",
                format!("`{target}`: a person's approval simulated"),
            );
            return Ok(Answered::Yes);
        }
        let Some(journal) = self.rec.journal() else {
            return Err(StepError::NotStarted(format!(
                "it needs a person's approval (run with --approve {})",
                ask.name
            )));
        };
        let who = (!ask.who.is_empty()).then(|| ask.who.join(","));
        let answered = |a: &crate::state::Approval| a.attempt == ask.attempt && a.answer.is_some();
        // Answered before a resume: the question stands answered. Otherwise the question
        // is recorded before it is put, so that putting it (a durable commit) holds it
        // too: a run killed while it waits has it in its log when it resumes.
        let before = journal.approval(target).filter(answered);
        if before.is_none() {
            self.record(EventKind::ApprovalAsked {
                target: target.to_string(),
                prompt: ask.prompt.map(str::to_string),
                who: ask.who.to_vec(),
            });
        }
        journal.ask_approval(target, ask.attempt, ask.prompt, who.as_deref());
        let approval = match before {
            Some(a) => a,
            None => loop {
                if let Some(a) = journal.approval(target).filter(answered) {
                    break a;
                }
                tokio::time::sleep(POLL).await;
            },
        };
        let waited_ms = approval
            .answered_ms
            .and_then(|at| u64::try_from(at.saturating_sub(approval.asked_ms)).ok());
        let Some(answer) = approval.answer else {
            return Ok(Answered::Yes);
        };
        self.record(EventKind::ApprovalAnswered {
            target: target.to_string(),
            approved: answer.approved,
            reason: answer.reason.clone(),
            by: answer.by.clone(),
            waited_ms,
        });
        Ok(if answer.approved {
            Answered::Yes
        } else {
            Answered::No(answer.reason.unwrap_or_else(|| "rejected".into()))
        })
    }
}
