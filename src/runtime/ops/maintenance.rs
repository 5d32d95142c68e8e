//! Scheduled maintenance: a job's cron expression (croner) decides when it runs, on the
//! wall clock or the simulation's; while a run of it is still going, the next trigger is
//! skipped (`overlap skip`, the default) or queued to run right after (`overlap queue`,
//! at most one waiting). Each run does its steps (the work of its type, `verify`,
//! `report`) and is recorded as started, then succeeded or failed.

use super::super::event::EventKind;
use super::super::steps::Ctx;
use super::{Desk, OpsHost, OpsScope, Trigger};
use futures::FutureExt;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Where a run of a maintenance job is: started, then succeeded or failed; or a trigger
/// skipped or queued while a run is still going.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MaintenanceStatus {
    /// A run started.
    Started,
    /// The run's steps all passed.
    Succeeded,
    /// A step of the run failed.
    Failed,
    /// A trigger came while a run was going, and `overlap skip` dropped it.
    Skipped,
    /// A trigger came while a run was going, and `overlap queue` queued it.
    Queued,
}

impl MaintenanceStatus {
    /// The status's word: `started`, `succeeded`, `failed`, `skipped` or `queued`.
    pub fn word(self) -> &'static str {
        match self {
            MaintenanceStatus::Started => "started",
            MaintenanceStatus::Succeeded => "succeeded",
            MaintenanceStatus::Failed => "failed",
            MaintenanceStatus::Skipped => "skipped",
            MaintenanceStatus::Queued => "queued",
        }
    }
}

impl std::fmt::Display for MaintenanceStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.word())
    }
}

impl Desk {
    /// Runs maintenance job `name` on its schedule until the operations stop.
    pub(super) async fn maintenance(&self, host: &dyn OpsHost, name: &str) {
        let Some(proc) = host.program().procedure(name) else {
            return host.note("maintenance", format!("no maintenance job `{name}`"));
        };
        let Some(schedule) = &proc.schedule else {
            return host.note("maintenance", format!("`{name}` has no schedule"));
        };
        let cron: croner::Cron = match schedule.cron.value.parse() {
            Ok(c) => c,
            Err(e) => {
                return host.note("maintenance", format!("`{name}`: bad cron: {e}"));
            }
        };
        let queue = schedule.overlap.as_ref().is_some_and(|o| o.name == "queue");
        let kind = schedule
            .kind
            .as_ref()
            .map_or("maintenance".to_string(), |k| k.name.to_string());
        let mut running = None;
        let mut queued = false;
        loop {
            let now = self.wall(host.now_ms());
            let Ok(next) = cron.find_next_occurrence(&now, false) else {
                return host.note(
                    "maintenance",
                    format!("`{name}`: no next time for its cron"),
                );
            };
            let wait = (next - now).to_std().unwrap_or(Duration::ZERO);
            let due = tokio::time::sleep(wait);
            tokio::pin!(due);
            // Until the next trigger, a run in progress may end (and a queued one start).
            loop {
                let ended = async {
                    match running.as_mut() {
                        Some(run) => run.await,
                        None => std::future::pending().await,
                    }
                };
                // A run that ends at its next trigger's instant ends first (a fixed order on
                // a virtual clock).
                let fired = tokio::select! {
                    biased;
                    () = ended => false,
                    () = &mut due => true,
                };
                if fired {
                    break;
                }
                running = None;
                if std::mem::take(&mut queued) {
                    running = Some(
                        self.maintenance_run(host, name, &kind, &proc.body)
                            .boxed_local(),
                    );
                }
            }
            if running.is_none() {
                running = Some(
                    self.maintenance_run(host, name, &kind, &proc.body)
                        .boxed_local(),
                );
            } else if queue && !queued {
                queued = true;
                Self::maintenance_event(
                    host,
                    name,
                    MaintenanceStatus::Queued,
                    Some("the previous run is still going".into()),
                );
            } else {
                Self::maintenance_event(
                    host,
                    name,
                    MaintenanceStatus::Skipped,
                    Some("the previous run is still going".into()),
                );
            }
        }
    }

    async fn maintenance_run(
        &self,
        host: &dyn OpsHost,
        name: &str,
        kind: &str,
        body: &[crate::model::step::Step],
    ) {
        let trigger = Trigger {
            what: format!("scheduled {kind} `{name}`"),
            ..Trigger::default()
        };
        let job = format!("maintenance {name}");
        let scope = OpsScope::new(job.clone(), trigger, None);
        let ctx = Ctx::ops(format!("ops/maintenance:{name}#{}", self.next_seq()), scope);
        Self::maintenance_event(
            host,
            name,
            MaintenanceStatus::Started,
            Some(kind.to_string()),
        );
        match host.steps(body, &ctx).await {
            Ok(()) => {
                self.lift(host, &job);
                Self::maintenance_event(host, name, MaintenanceStatus::Succeeded, None);
            }
            Err(e) => {
                self.lift(host, &job);
                Self::maintenance_event(host, name, MaintenanceStatus::Failed, Some(e.to_string()));
            }
        }
    }

    fn maintenance_event(
        host: &dyn OpsHost,
        job: &str,
        status: MaintenanceStatus,
        detail: Option<String>,
    ) {
        host.record(EventKind::Maintenance {
            job: job.to_string(),
            status,
            detail,
        });
    }
}
