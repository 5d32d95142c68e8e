//! Deployments: an environment is deployed only after the one it names in `after` was
//! deployed in this run, and only when its gate passes (checks, a rhai condition, or a
//! person's approval); then the deploying agent does the work.

use super::Runner;
use super::steps::{Ctx, StepError};
use super::task::Call;
use crate::model::Gate;
use crate::model::step::{Cond, Name};

impl Runner {
    /// `deploy ENV [by AGENT]`.
    pub(super) async fn deploy(
        &self,
        environment: &Name,
        by: Option<&Name>,
        ctx: &Ctx<'_>,
    ) -> Result<(), StepError> {
        let name = environment.name.as_str();
        if self.replayed(ctx).is_some_and(|s| s.ok) {
            // Deployed before a resume: not deployed again, and its gate not asked again.
            self.deployed.borrow_mut().insert(name.to_string());
            return Ok(());
        }
        let env = self
            .program
            .environments
            .iter()
            .find(|e| e.name.name == name)
            .ok_or_else(|| StepError::Deploy(format!("no environment `{name}`")))?;
        if let Some(before) = &env.after
            && !self.deployed.borrow().contains(before.name.as_str())
        {
            return Err(StepError::Deploy(format!(
                "cannot deploy `{name}`: `{}` comes first and was not deployed in this run",
                before.name
            )));
        }
        self.gate(name, env.gate.as_ref(), ctx).await?;
        let agent = by.map_or("devops", |b| b.name.as_str()).to_string();
        let url = env.url.as_ref().map_or("", |u| u.value.as_str());
        let call = Call {
            prompt: format!("Deploy the release to the `{name}` environment {url}\n"),
            tasks: vec![format!("deploy_{name}")],
            validation: false,
            produces: Vec::new(),
            agent: agent.clone(),
            timeout: None,
        };
        let outcome = self.invoke(call, ctx).await?;
        if !outcome.ok {
            return Err(StepError::Deploy(format!(
                "deploying `{name}` failed: {}",
                outcome
                    .feedback
                    .unwrap_or_else(|| format!("`{agent}` failed"))
            )));
        }
        self.deployed.borrow_mut().insert(name.to_string());
        self.note("deploy", format!("`{name}` deployed by `{agent}`"));
        Ok(())
    }

    /// `rollback ENV`: the agent that deploys (devops) rolls the environment back to its
    /// last good deployment.
    pub(super) async fn rollback(
        &self,
        environment: &Name,
        ctx: &Ctx<'_>,
    ) -> Result<(), StepError> {
        let name = environment.name.as_str();
        if self.replayed(ctx).is_some_and(|s| s.ok) {
            return Ok(());
        }
        let call = Call {
            prompt: format!("Roll the `{name}` environment back to its last good deployment\n"),
            tasks: vec![format!("rollback_{name}")],
            validation: false,
            produces: Vec::new(),
            agent: "devops".into(),
            timeout: None,
        };
        let outcome = self.invoke(call, ctx).await?;
        if !outcome.ok {
            return Err(StepError::Deploy(format!(
                "rolling `{name}` back failed: {}",
                outcome.feedback.unwrap_or_else(|| "`devops` failed".into())
            )));
        }
        self.note("rollback", format!("`{name}` rolled back by `devops`"));
        Ok(())
    }

    /// Passes when the gate of `environment` passes.
    async fn gate(
        &self,
        environment: &str,
        gate: Option<&Gate>,
        ctx: &Ctx<'_>,
    ) -> Result<(), StepError> {
        let refused = |why: String| {
            StepError::Deploy(format!("the gate of `{environment}` did not pass: {why}"))
        };
        match gate {
            None => Ok(()),
            Some(Gate::Manual { .. }) => {
                let ask = super::approval::Ask {
                    target: environment,
                    name: environment,
                    prompt: None,
                    who: &[],
                    attempt: ctx.state.attempt.get().max(1),
                };
                match self.approval(&ask).await {
                    Ok(super::approval::Answered::Yes) => Ok(()),
                    Ok(super::approval::Answered::No(why)) => {
                        Err(refused(format!("a person rejected it: {why}")))
                    }
                    Err(StepError::NotStarted(why)) => Err(refused(why)),
                    Err(e) => Err(e),
                }
            }
            Some(Gate::Script(s)) => match self.eval(&Cond::Script(s.clone()), ctx)?.as_bool() {
                Ok(true) => Ok(()),
                Ok(false) => Err(refused("its condition is false".into())),
                Err(t) => Err(refused(format!("its condition gave a {t}, not a bool"))),
            },
            Some(Gate::Checks { checks }) => {
                for c in checks {
                    if let Err(why) = self.named_check(&c.name, ctx).await {
                        return Err(refused(format!("check `{}` failed: {why}", c.name)));
                    }
                }
                Ok(())
            }
        }
    }
}
