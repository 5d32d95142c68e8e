//! A heal, one meaning everywhere: the plan the operations runtime runs and the graph
//! draws (diagnose, then rounds of fixes each verified, then `otherwise`), and the same
//! plan as a step graph (`Procedure::body`) for the checker and `--emit ir`. A heal whose
//! fixes never verify fails, whatever its `otherwise` does: `otherwise` is what happens
//! next (an escalation), not a fix.

use super::lower::group;
use crate::model::step::{Name, Step, StepKind};
use crate::source::Span;
use serde::Serialize;

/// Rounds of fixes when `attempts` is not written, as the language documents: the
/// default of the `retry` the body lowers to.
pub const DEFAULT_ROUNDS: u64 = crate::model::step::DEFAULT_RETRIES;

/// One fix of a heal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealFix {
    /// Its name.
    pub name: Name,
    /// What it does.
    pub body: Vec<Step>,
}

/// What a heal does, in order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealPlan {
    /// Diagnosis checks: run and recorded; their failure does not stop the heal.
    pub diagnose: Vec<Name>,
    /// Fixes, tried in order in each round.
    pub fixes: Vec<HealFix>,
    /// Checks that must pass after a fix for it to have healed.
    pub verify: Vec<Name>,
    /// Rounds of fixes at most, as written ([`DEFAULT_ROUNDS`] when not).
    pub attempts: Option<crate::model::step::Count>,
    /// What happens when no fix verified; the heal has failed all the same.
    pub otherwise: Option<Step>,
}

impl HealPlan {
    /// Rounds of fixes at most: as written (at least one), or [`DEFAULT_ROUNDS`].
    pub fn rounds(&self) -> u64 {
        self.attempts.map_or(DEFAULT_ROUNDS, |a| a.value.max(1))
    }

    /// The plan as a step graph with the same meaning: the diagnosis as checks that need
    /// not pass; a retry of `rounds` over the fixes, each followed by the verification
    /// and, when it fails, the next fix; then, when none verified, `otherwise` and the
    /// failure.
    pub fn lowered(&self, heal: &Name, span: Span) -> Vec<Step> {
        let failed = Step {
            span,
            kind: StepKind::Fail {
                reason: format!("no fix of `{}` verified", heal.name),
            },
        };
        let verify = Step {
            span,
            kind: StepKind::Check {
                checks: self.verify.clone(),
                script: None,
                must_pass: true,
            },
        };
        let mut chain = vec![failed.clone()];
        for fix in self.fixes.iter().rev() {
            // Sized once: a workflow can have thousands of heals, each fix cloned here.
            let mut body = Vec::with_capacity(fix.body.len() + 1);
            body.extend(fix.body.iter().cloned());
            if !self.verify.is_empty() {
                body.push(verify.clone());
            }
            chain = vec![Step {
                span: fix.name.span,
                kind: StepKind::OnFailure {
                    body: vec![group(format!("fix {}", fix.name.name), fix.name.span, body)],
                    handler: chain,
                },
            }];
        }
        let rounds = Step {
            span,
            kind: StepKind::Retry {
                max: self.attempts,
                backoff: None,
                body: chain,
            },
        };
        let mut body = Vec::with_capacity(2);
        if !self.diagnose.is_empty() {
            let checks = Step {
                span,
                kind: StepKind::Check {
                    checks: self.diagnose.clone(),
                    script: None,
                    must_pass: false,
                },
            };
            body.push(group("diagnose", span, vec![checks]));
        }
        body.push(match &self.otherwise {
            Some(otherwise) => Step {
                span,
                kind: StepKind::OnFailure {
                    body: vec![rounds],
                    handler: vec![otherwise.clone(), failed],
                },
            },
            None => rounds,
        });
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str) -> (Name, HealPlan, Vec<Step>) {
        let checked = crate::check_text("heal.bmad", text);
        let p = checked
            .program
            .procedures
            .iter()
            .find(|p| p.heal.is_some())
            .expect("a heal");
        let plan = p.heal.as_deref().expect("its plan").clone();
        (p.name.clone(), plan, p.body.clone())
    }

    #[test]
    fn a_heal_whose_fixes_fail_fails_after_its_otherwise() {
        let (name, plan, body) = plan(
            "check up = `true`\nprocedure page {\n  notify \"ops\"\n}\n\
             heal h {\n  attempts 2\n  diagnose up\n  fix restart {\n    sh \"true\"\n  }\n  \
             verify up\n  otherwise call page\n}\n",
        );
        assert_eq!(plan.rounds(), 2);
        assert_eq!(plan.fixes.len(), 1);
        assert_eq!(body, plan.lowered(&name, body[0].span));
        let StepKind::OnFailure { handler, .. } = &body[1].kind else {
            panic!("rounds guarded by otherwise: {:?}", body[1].kind);
        };
        assert!(
            matches!(handler[0].kind, StepKind::Call { .. }),
            "otherwise first"
        );
        assert!(
            matches!(&handler[1].kind, StepKind::Fail { reason } if reason.contains("no fix of `h`")),
            "then the heal fails: {:?}",
            handler[1].kind
        );
    }

    #[test]
    fn rounds_default_to_three_and_are_at_least_one() {
        let (_, plan, _) = plan("heal h {\n  fix f {\n    sh \"true\"\n  }\n}\n");
        assert_eq!(plan.rounds(), DEFAULT_ROUNDS);
    }
}
