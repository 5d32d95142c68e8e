//! Healing procedures: the diagnosis checks run and are recorded; the fixes are tried in
//! order, each followed by the verification checks; the first fix that verifies ends it.
//! Up to `attempts` rounds of fixes, then the procedure's `otherwise` (escalate) with
//! what was learnt. Every attempt is recorded with its commands' output. On a virtual
//! clock the fixes' commands are recorded, not run, and the simulated world decides
//! whether each fix cleared the fault.

use super::super::event::EventKind;
use super::super::steps::{Ctx, StepError};
use super::{Desk, OpsHost, OpsScope, Trigger};
use crate::ir::heal::HealPlan;
use std::rc::Rc;

impl Desk {
    /// Runs heal `name` for `trigger`: Ok when a fix verified.
    pub(in crate::runtime) async fn heal(
        &self,
        host: &dyn OpsHost,
        name: &str,
        trigger: Trigger,
    ) -> Result<(), StepError> {
        let proc = host
            .program()
            .procedure(name)
            .ok_or_else(|| StepError::Undefined(format!("no heal `{name}`")))?;
        let scope = OpsScope::new(format!("heal {name}"), trigger.clone(), None);
        let ctx = Ctx::ops(
            format!("ops/heal:{name}#{}", self.next_seq()),
            Rc::clone(&scope),
        );
        let Some(plan) = &proc.heal else {
            // A plain procedure named by a `heal` action: its steps, in order.
            return host.steps(&proc.body, &ctx).await;
        };
        host.record(EventKind::HealStarted {
            heal: name.to_string(),
            trigger: trigger.what.clone(),
        });
        let mut findings = Vec::new();
        for check in &plan.diagnose {
            let (ok, detail) = match &self.sim {
                Some(_) => (true, "(simulated)".to_string()),
                None => match host.check(&check.name, &ctx).await {
                    Ok(()) => (true, String::new()),
                    Err(e) => (false, e.to_string()),
                },
            };
            findings.push(format!(
                "diagnosis `{}`: {}{}",
                check.name,
                if ok { "passed" } else { "failed: " },
                if ok { "" } else { detail.as_str() }
            ));
            host.record(EventKind::HealDiagnosis {
                heal: name.to_string(),
                check: check.name.to_string(),
                ok,
                detail,
            });
        }
        // The heal's own agent, when it is a real one, looks first: what it says (or how it
        // failed) joins the findings; the fixes run either way.
        if let Some(agent) = proc
            .agent
            .as_ref()
            .filter(|a| self.real_agent(host, &a.name))
        {
            let prompt = format!(
                "Heal {name} was set off by: {}.\n{}\nFixes to try next: {}.",
                trigger.what,
                findings.join("\n"),
                plan.fixes
                    .iter()
                    .map(|f| f.name.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let step = super::agent_task(&agent.name, "heal", &prompt, proc.span);
            let said = match host
                .steps(std::slice::from_ref(&step), &ctx.at("agent"))
                .await
            {
                Ok(()) => "done".to_string(),
                Err(e) => format!("failed: {e}"),
            };
            findings.push(format!("agent `{}` (heal): {said}", agent.name));
        }
        // As the language documents: three rounds when `attempts` is not written.
        let rounds = plan.rounds();
        let mut tried = 0;
        for round in 1..=rounds {
            for fix in &plan.fixes {
                tried += 1;
                let fctx = ctx.at(format!("#{round}/fix:{}", fix.name.name));
                let result = match host.steps(&fix.body, &fctx).await {
                    Ok(()) => self.verify(host, plan, &trigger, &fctx).await,
                    Err(e) => Err(e),
                };
                let mut output = scope.take_output();
                let said = output
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty() && !l.starts_with("$ "))
                    .map(str::to_string);
                if let Err(e) = &result {
                    output.push_str(&e.to_string());
                }
                findings.push(format!(
                    "round {round}, fix `{}`: {}",
                    fix.name.name,
                    match (&result, said.as_deref()) {
                        (Ok(()), _) => "verified".to_string(),
                        (Err(e), Some(line)) if !e.to_string().contains(line) => {
                            format!("did not verify: {e} (its output ends: {})", line.trim())
                        }
                        (Err(e), _) => format!("did not verify: {e}"),
                    }
                ));
                host.record(EventKind::HealAttempt {
                    heal: name.to_string(),
                    round,
                    fix: fix.name.name.to_string(),
                    ok: result.is_ok(),
                    output: host.sandbox().redact(output.trim_end()),
                });
                if result.is_ok() {
                    host.record(EventKind::HealFinished {
                        heal: name.to_string(),
                        ok: true,
                        attempts: tried,
                    });
                    return Ok(());
                }
            }
        }
        host.record(EventKind::HealFinished {
            heal: name.to_string(),
            ok: false,
            attempts: tried,
        });
        let why = format!("no fix of `{name}` verified after {tried} attempt(s)");
        if let Some(otherwise) = &plan.otherwise {
            {
                let mut t = scope.trigger.borrow_mut();
                t.what = format!("{why}; set off by: {}", trigger.what);
                t.findings.extend(findings);
            }
            host.steps(std::slice::from_ref(otherwise), &ctx.at("otherwise"))
                .await?;
        }
        Err(StepError::Heal(why))
    }

    /// The verification checks after a fix, in order; on a virtual clock, whether the
    /// simulated fix cleared the fault.
    async fn verify(
        &self,
        host: &dyn OpsHost,
        plan: &HealPlan,
        trigger: &Trigger,
        ctx: &Ctx<'_>,
    ) -> Result<(), StepError> {
        if let Some(world) = &self.sim {
            let key = trigger.check.as_deref().unwrap_or(&trigger.what);
            return if world.borrow_mut().try_fix(key) {
                Ok(())
            } else {
                Err(StepError::Heal(
                    "the fault is still there (simulated)".into(),
                ))
            };
        }
        for check in &plan.verify {
            host.check(&check.name, ctx)
                .await
                .map_err(|e| StepError::Verification {
                    check: check.name.to_string(),
                    source: Box::new(e),
                })?;
        }
        Ok(())
    }
}
