//! What a stretch of operations did: probes made and how late they started, status
//! changes, rules fired, alerts, heals, incidents (levels, escalations, MTTR, post-mortem
//! files), maintenance runs, pauses, and the KPIs measured on it.

use super::super::event::{Event, EventKind};
use super::super::kpi::{KpiResult, measure_kpis};
use super::{Desk, MaintenanceStatus};
use crate::model::Kpi;
use crate::model::literal::human_ms;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// One heal.
#[derive(Debug, Clone, Serialize)]
pub struct HealLine {
    /// The heal.
    pub heal: String,
    /// When it started (ms).
    pub at_ms: u64,
    /// Whether a fix verified.
    pub ok: bool,
    /// Fixes tried.
    pub attempts: u64,
}

/// One incident.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentLine {
    /// `INC-0001`.
    pub id: String,
    /// When it was opened (ms).
    pub at_ms: u64,
    /// The level it was opened at.
    pub opened_level: String,
    /// The level it ended at.
    pub level: String,
    /// What set it off.
    pub trigger: String,
    /// How many times it climbed a level.
    pub escalations: usize,
    /// Detection to verified resolution, when resolved.
    pub resolved_after_ms: Option<u64>,
    /// Its post-mortem files.
    pub postmortem: Vec<String>,
}

/// Runs of one maintenance job.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MaintenanceLine {
    /// Runs that succeeded.
    pub succeeded: usize,
    /// Runs that failed.
    pub failed: usize,
    /// Triggers skipped while a run was still going.
    pub skipped: usize,
    /// Triggers queued behind a run still going.
    pub queued: usize,
}

/// What the operations did.
#[derive(Debug, Clone, Serialize)]
pub struct OpsSummary {
    /// How long they ran (virtual in a simulation), in ms.
    pub ran_ms: u64,
    /// Probes made.
    pub probes: u64,
    /// Probe start lateness against the schedule: median, 99th percentile, worst (ms).
    pub lateness_ms: [f64; 3],
    /// Status changes recorded.
    pub status_changes: usize,
    /// Rules that fired.
    pub rules_fired: usize,
    /// Alerts sent, and how many could not be delivered.
    pub alerts: (usize, usize),
    /// Heals, in order.
    pub heals: Vec<HealLine>,
    /// Incidents, in order.
    pub incidents: Vec<IncidentLine>,
    /// Maintenance runs by job.
    pub maintenance: BTreeMap<String, MaintenanceLine>,
    /// Times workflows or monitors were paused.
    pub pauses: usize,
    /// Every outage of a check or metric: detected, how soon, recovered, how.
    pub outages: Vec<crate::runtime::recovery::Outage>,
    /// Mean time to recovery over the outages that recovered (healed, resolved by an
    /// incident's responders, or by themselves), in ms.
    pub mttr_ms: Option<u64>,
    /// Mean time from an incident's opening to its verified resolution, in ms.
    pub incident_resolution_ms: Option<u64>,
    /// The workflow's KPIs measured on it.
    pub kpis: Vec<KpiResult>,
}

impl Desk {
    /// What the operations did so far, from the run's `events` and its clock (`ran_ms`),
    /// with the workflow's `kpis` measured on them.
    pub fn summary(&self, events: &[Event], ran_ms: u64, kpis: &[Kpi]) -> OpsSummary {
        let mut s = OpsSummary {
            ran_ms,
            probes: self.probes.get(),
            lateness_ms: {
                let l = self.lateness.borrow();
                let ms = |d: std::time::Duration| (d.as_secs_f64() * 10_000.0).round() / 10.0;
                [ms(l.quantile(0.5)), ms(l.quantile(0.99)), ms(l.max())]
            },
            status_changes: 0,
            rules_fired: 0,
            alerts: (0, 0),
            heals: Vec::new(),
            incidents: Vec::new(),
            maintenance: BTreeMap::new(),
            pauses: 0,
            outages: crate::runtime::recovery::outages(events),
            mttr_ms: None,
            incident_resolution_ms: None,
            kpis: measure_kpis(kpis, events, ran_ms),
        };
        let mut heal_started: BTreeMap<String, u64> = BTreeMap::new();
        for e in events {
            match &e.kind {
                EventKind::CheckStatus { .. } => s.status_changes += 1,
                EventKind::RuleFired { .. } => s.rules_fired += 1,
                EventKind::Alert { error, .. } => {
                    s.alerts.0 += 1;
                    s.alerts.1 += usize::from(error.is_some());
                }
                EventKind::HealStarted { heal, .. } => {
                    heal_started.insert(heal.clone(), e.at_ms);
                }
                EventKind::HealFinished { heal, ok, attempts } => s.heals.push(HealLine {
                    heal: heal.clone(),
                    at_ms: heal_started.get(heal).copied().unwrap_or(e.at_ms),
                    ok: *ok,
                    attempts: *attempts,
                }),
                EventKind::Maintenance { job, status, .. } => {
                    let m = s.maintenance.entry(job.clone()).or_default();
                    match status {
                        MaintenanceStatus::Succeeded => m.succeeded += 1,
                        MaintenanceStatus::Failed => m.failed += 1,
                        MaintenanceStatus::Skipped => m.skipped += 1,
                        MaintenanceStatus::Queued => m.queued += 1,
                        MaintenanceStatus::Started => {}
                    }
                }
                EventKind::Paused { paused: true, .. } => s.pauses += 1,
                _ => {}
            }
        }
        for rec in self.incidents() {
            s.incidents.push(IncidentLine {
                id: rec.id.clone(),
                at_ms: rec.opened_ms,
                opened_level: rec.opened_level.clone(),
                level: rec.level().to_string(),
                trigger: rec.trigger.what.clone(),
                escalations: rec.escalations(),
                resolved_after_ms: rec.resolved_ms().map(|r| r.saturating_sub(rec.opened_ms)),
                postmortem: rec.files(),
            });
        }
        let resolved: Vec<u64> = s
            .incidents
            .iter()
            .filter_map(|i| i.resolved_after_ms)
            .collect();
        s.incident_resolution_ms =
            (!resolved.is_empty()).then(|| resolved.iter().sum::<u64>() / resolved.len() as u64);
        s.mttr_ms = crate::runtime::recovery::mttr_ms(&s.outages);
        s
    }
}

impl OpsSummary {
    /// Outages with their time to detect and to recover, MTTR over them, and the
    /// incidents' resolution time.
    fn recovery_lines(&self, out: &mut String) {
        let recovered = self
            .outages
            .iter()
            .filter(|o| o.recover_ms.is_some())
            .count();
        let _ = writeln!(
            out,
            "\noutages: {} ({recovered} recovered)",
            self.outages.len()
        );
        for o in &self.outages {
            let detect = o.detect_ms.map_or(String::new(), |d| {
                format!(", within {} of its last healthy probe", human_ms(d))
            });
            let recover = match (o.recover_ms, &o.healed_by) {
                (Some(r), Some(h)) => format!("recovered in {} (healed by {h})", human_ms(r)),
                (Some(r), None) => format!("recovered in {}", human_ms(r)),
                (None, _) => "not recovered".to_string(),
            };
            let _ = writeln!(
                out,
                "  {:>10}  {:<32} detected{detect}; {recover}",
                human_ms(o.detected_ms),
                o.check
            );
        }
        let _ = writeln!(
            out,
            "\nMTTR: {}",
            self.mttr_ms
                .map_or("no outage recovered".to_string(), |m| format!(
                    "{} over {recovered} recovered outage(s)",
                    human_ms(m)
                ))
        );
        if let Some(r) = self.incident_resolution_ms {
            let _ = writeln!(out, "incident resolution: {} on average", human_ms(r));
        }
    }

    /// The summary as text.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "operations for {}: {} probe(s), start lateness p50 {}ms p99 {}ms max {}ms",
            human_ms(self.ran_ms),
            self.probes,
            self.lateness_ms[0],
            self.lateness_ms[1],
            self.lateness_ms[2]
        );
        let _ = writeln!(
            out,
            "{} status change(s), {} rule(s) fired, {} alert(s){}, {} pause(s)",
            self.status_changes,
            self.rules_fired,
            self.alerts.0,
            if self.alerts.1 > 0 {
                format!(" ({} not delivered)", self.alerts.1)
            } else {
                String::new()
            },
            self.pauses
        );
        let healed = self.heals.iter().filter(|h| h.ok).count();
        let _ = writeln!(
            out,
            "\nheals: {} ({healed} healed, {} failed)",
            self.heals.len(),
            self.heals.len() - healed
        );
        for h in &self.heals {
            let _ = writeln!(
                out,
                "  {:>10}  {:<32} {} after {} fix(es)",
                human_ms(h.at_ms),
                h.heal,
                if h.ok { "healed" } else { "FAILED" },
                h.attempts
            );
        }
        let resolved = self
            .incidents
            .iter()
            .filter(|i| i.resolved_after_ms.is_some())
            .count();
        let _ = writeln!(
            out,
            "\nincidents: {} ({resolved} resolved)",
            self.incidents.len()
        );
        for i in &self.incidents {
            let level = if i.level == i.opened_level {
                i.level.clone()
            } else {
                format!("{} -> {}", i.opened_level, i.level)
            };
            let _ = writeln!(
                out,
                "  {} {:>10}  level {level:<18} {}  {}",
                i.id,
                human_ms(i.at_ms),
                i.resolved_after_ms
                    .map_or("unresolved".to_string(), |ms| format!(
                        "resolved in {}",
                        human_ms(ms)
                    )),
                i.trigger
            );
        }
        if !self.maintenance.is_empty() {
            let _ = writeln!(out, "\nmaintenance:");
            for (job, m) in &self.maintenance {
                let _ = writeln!(
                    out,
                    "  {job:<24} {} succeeded, {} failed, {} skipped, {} queued",
                    m.succeeded, m.failed, m.skipped, m.queued
                );
            }
        }
        self.recovery_lines(&mut out);
        if !self.kpis.is_empty() {
            let _ = writeln!(out, "\nkpi                        target      measured");
            for k in &self.kpis {
                let _ = writeln!(out, "{:<26} {:<11} {}", k.name, k.target, k.shown());
            }
        }
        out
    }
}
