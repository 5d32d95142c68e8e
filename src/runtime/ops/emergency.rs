//! Emergency protocols: the team is paged, the immediate actions run in order (`stop_writes`
//! and isolate pause the workflows and monitors), then the recovery steps. A protocol that
//! recovers lifts its pauses; one without recovery steps, or whose recovery fails, opens an
//! incident at the top level for its team, and its pauses hold until that incident is
//! resolved.

use super::super::steps::Ctx;
use super::{Desk, OpsHost, OpsScope, Trigger};
use crate::ir::ProcKind;
use crate::model::step::StepKind;

impl Desk {
    /// Runs emergency protocol `name` for `trigger`.
    pub(super) async fn emergency(&self, host: &dyn OpsHost, name: &str, trigger: Trigger) {
        let Some(proc) = host
            .program()
            .procedure(name)
            .filter(|p| p.kind == ProcKind::Emergency)
        else {
            return self.call_operation(host, name, trigger).await;
        };
        let job = format!("emergency {name}");
        host.note("emergency", format!("{name}: {}", trigger.what));
        if !proc.team.is_empty() {
            let team: Vec<&str> = proc.team.iter().map(|t| t.name.as_str()).collect();
            host.note("emergency", format!("{name}: paged {}", team.join(", ")));
        }
        let scope = OpsScope::new(job.clone(), trigger.clone(), None);
        let ctx = Ctx::ops(format!("ops/emergency:{name}#{}", self.next_seq()), scope);
        let recovers = proc
            .body
            .iter()
            .any(|s| matches!(&s.kind, StepKind::Group { label, .. } if label == "recovery"));
        match host.steps(&proc.body, &ctx).await {
            Ok(()) if recovers => {
                host.note("emergency", format!("{name}: recovered"));
                self.lift(host, &job);
            }
            Ok(()) => self.operation_failed(
                host,
                &job,
                &format!("emergency {name}: immediate actions done, recovery is for its team"),
                trigger,
            ),
            Err(e) => {
                self.operation_failed(
                    host,
                    &job,
                    &format!("emergency {name} failed: {e}"),
                    trigger,
                );
            }
        }
    }
}
