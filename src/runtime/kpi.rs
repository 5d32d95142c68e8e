//! KPIs measured on a run or a monitor session: each of the file's KPIs whose metric the
//! events measure, against its target (MTTR from the incidents' verified resolutions).
//! Metrics that need production data bmad does not see (escaped defects) are listed as not
//! measured, with the reason, rather than guessed.

use super::event::{Event, EventKind};
use crate::model::Kpi;
use crate::model::literal::Value;
use serde::Serialize;

/// One KPI of the workflow, measured on a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KpiResult {
    /// The KPI's name.
    pub name: String,
    /// Its metric.
    pub metric: String,
    /// The target as written (`>= 20`).
    pub target: String,
    /// The measured value in the target's unit, when the run measures it.
    pub measured: Option<f64>,
    /// The measured value as people read it (`21m`, `3.5%`).
    pub measured_text: Option<String>,
    /// Whether the measured value meets the target.
    pub met: Option<bool>,
    /// Why it was not measured.
    pub note: Option<String>,
    /// What the value was measured on (`3 stories done in this run`): said with a miss,
    /// so that a reader sees why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<String>,
}

/// What the run did, for the metrics.
struct Counts {
    stories_done: usize,
    tasks_ok: usize,
    deploys: usize,
    hours: f64,
    /// Incidents opened.
    incidents: usize,
    /// Detection to verified resolution of each resolved incident, in ms.
    resolutions: Vec<u64>,
    /// Mean detection to recovery over the outages that recovered, in ms.
    mttr_ms: Option<u64>,
}

fn counts(events: &[Event], makespan_ms: u64) -> Counts {
    let mut c = Counts {
        stories_done: 0,
        tasks_ok: 0,
        deploys: 0,
        hours: makespan_ms as f64 / 3_600_000.0,
        incidents: 0,
        resolutions: Vec::new(),
        mttr_ms: super::recovery::mttr_ms(&super::recovery::outages(events)),
    };
    for e in events {
        match &e.kind {
            EventKind::StoryDone { .. } => c.stories_done += 1,
            EventKind::TaskFinished { ok: true, .. } => c.tasks_ok += 1,
            EventKind::Note { step, .. } if step == "deploy" => c.deploys += 1,
            EventKind::IncidentOpened { .. } => c.incidents += 1,
            EventKind::IncidentResolved { after_ms, .. } => c.resolutions.push(*after_ms),
            _ => {}
        }
    }
    c
}

/// Why a run does not measure a metric: the KPI's note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
enum NotMeasured {
    /// A rate over a run that took no time.
    #[error("the run took no time")]
    NoTime,
    /// MTTR with no outage recovered and no incident resolved.
    #[error("no outage recovered and no incident was resolved")]
    NoResolution,
    /// A metric of production (escaped defects, ...).
    #[error("needs production data a run does not have")]
    NeedsProduction,
}

/// The value of `metric` on this run, or why a run does not measure it.
fn measure(metric: &str, c: &Counts) -> Result<f64, NotMeasured> {
    let per_hour = |n: usize| {
        if c.hours > 0.0 {
            Ok(n as f64 / c.hours)
        } else {
            Err(NotMeasured::NoTime)
        }
    };
    match metric {
        // A run is one sprint.
        "stories_completed_per_sprint" => Ok(c.stories_done as f64),
        "tasks_completed_per_hour" => per_hour(c.tasks_ok),
        "deploys_per_day" => per_hour(c.deploys).map(|h| h * 24.0),
        // From an incident's opening to its verified resolution, in ms (a duration
        // target's unit).
        "incident_resolution_time" => match c.resolutions.len() {
            0 => Err(NotMeasured::NoResolution),
            n => Ok(c.resolutions.iter().sum::<u64>() as f64 / n as f64),
        },
        // MTTR: from detection to healthy again over every outage that recovered, healed
        // or not; a run with no outage recorded falls back to its incidents.
        "mean_time_to_recovery" => match (c.mttr_ms, c.resolutions.len()) {
            (Some(m), _) => Ok(m as f64),
            (None, 0) => Err(NotMeasured::NoResolution),
            (None, n) => Ok(c.resolutions.iter().sum::<u64>() as f64 / n as f64),
        },
        "open_incidents" => Ok((c.incidents - c.resolutions.len()) as f64),
        _ => Err(NotMeasured::NeedsProduction),
    }
}

/// What `metric`'s value on this run was measured on, in words.
fn basis(metric: &str, c: &Counts) -> Option<String> {
    let run = crate::model::literal::human_duration(std::time::Duration::from_secs_f64(
        c.hours * 3_600.0,
    ));
    Some(match metric {
        "stories_completed_per_sprint" => {
            format!(
                "{} stories done in this run, taken as one sprint",
                c.stories_done
            )
        }
        "tasks_completed_per_hour" => format!("{} tasks done in {run}", c.tasks_ok),
        "deploys_per_day" => format!("{} deployments in {run}", c.deploys),
        "incident_resolution_time" => format!("over {} resolved incident(s)", c.resolutions.len()),
        "mean_time_to_recovery" => "detection to recovery, mean over the outages".into(),
        "open_incidents" => format!("{} opened, {} resolved", c.incidents, c.resolutions.len()),
        _ => return None,
    })
}

/// Measures each KPI on a run's events.
pub fn measure_kpis(kpis: &[Kpi], events: &[Event], makespan_ms: u64) -> Vec<KpiResult> {
    let c = counts(events, makespan_ms);
    kpis.iter()
        .map(|k| {
            let target = k.target.value;
            let target_text = format!(
                "{} {}",
                k.op.symbol(),
                crate::model::literal::value_text(target)
            );
            let (measured, note) = match measure(&k.metric.name, &c) {
                Ok(v) => (Some((v * 100.0).round() / 100.0), None),
                Err(why) => (None, Some(why.to_string())),
            };
            KpiResult {
                name: k.name.name.to_string(),
                metric: k.metric.name.to_string(),
                target: target_text,
                met: measured.zip(target).map(|(m, t)| k.op.holds(m, t.as_f64())),
                measured_text: measured.map(|m| match target {
                    // A measured duration is not negative; `as` saturates.
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    Some(Value::Duration(_)) => crate::model::literal::human_ms(m as u64),
                    Some(Value::Percent(_)) => format!("{m}%"),
                    _ => format!("{m}"),
                }),
                measured,
                note,
                basis: basis(&k.metric.name, &c),
            }
        })
        .collect()
}

impl KpiResult {
    /// The measured column: the value and whether it meets the target, or why it was not
    /// measured.
    pub fn shown(&self) -> String {
        match (&self.measured_text, self.met) {
            (Some(v), Some(true)) => format!("{v} (met)"),
            (Some(v), _) => match &self.basis {
                Some(b) => format!("{v} (MISSED: {b})"),
                None => format!("{v} (MISSED)"),
            },
            (None, _) => format!("- ({})", self.note.as_deref().unwrap_or("")),
        }
    }
}
