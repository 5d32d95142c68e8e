//! Outages and recovery, from the run's events: each time a monitored check or metric
//! leaves healthy, when it was detected, how long after its last healthy probe (time to
//! detect: the fault began in that window), and how long until it was healthy again (time
//! to recover), whether a heal, an incident's responders or nothing fixed it. MTTR is the
//! mean time to recover over the outages that recovered.

use super::event::{Event, EventKind};
use crate::model::Status;
use serde::Serialize;
use std::collections::BTreeMap;

/// One outage of a check (or metric).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outage {
    /// `monitor/check`.
    pub check: String,
    /// When it was detected (ms since the run started).
    pub detected_ms: u64,
    /// From its last healthy probe to the detection: the fault began in that window.
    pub detect_ms: Option<u64>,
    /// From the detection to healthy again, once it recovered.
    pub recover_ms: Option<u64>,
    /// The heal that verified while it was out, when one did.
    pub healed_by: Option<String>,
}

/// Every outage in `events`, in the order detected.
pub fn outages(events: &[Event]) -> Vec<Outage> {
    let mut all: Vec<Outage> = Vec::new();
    let mut open: BTreeMap<String, usize> = BTreeMap::new();
    for e in events {
        match &e.kind {
            // A monitor's own status sums its checks: the checks are the outages.
            EventKind::CheckStatus {
                check,
                status,
                last_ok_ms,
                ..
            } if check.contains('/') => match (status, open.get(check)) {
                (Status::Healthy, Some(&i)) => {
                    all[i].recover_ms = Some(e.at_ms.saturating_sub(all[i].detected_ms));
                    open.remove(check);
                }
                (Status::Warning | Status::Critical, None) => {
                    open.insert(check.clone(), all.len());
                    all.push(Outage {
                        check: check.clone(),
                        detected_ms: e.at_ms,
                        detect_ms: last_ok_ms.map(|ok| e.at_ms.saturating_sub(ok)),
                        recover_ms: None,
                        healed_by: None,
                    });
                }
                _ => {}
            },
            EventKind::HealFinished { heal, ok: true, .. } => {
                for &i in open.values() {
                    all[i].healed_by.get_or_insert_with(|| heal.clone());
                }
            }
            _ => {}
        }
    }
    all
}

/// The mean time to recover over the outages that recovered, in ms.
pub fn mttr_ms(outages: &[Outage]) -> Option<u64> {
    let recovered: Vec<u64> = outages.iter().filter_map(|o| o.recover_ms).collect();
    let n = u64::try_from(recovered.len()).ok().filter(|n| *n > 0)?;
    Some(recovered.iter().sum::<u64>() / n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(at_ms: u64, check: &str, status: Status, last_ok_ms: Option<u64>) -> Event {
        Event {
            at_ms,
            kind: EventKind::CheckStatus {
                check: check.into(),
                status,
                detail: String::new(),
                last_ok_ms,
            },
        }
    }

    #[test]
    fn each_outage_is_detected_healed_or_not_and_recovered_and_mttr_is_their_mean() {
        let events = vec![
            status(1_000, "api/up", Status::Critical, Some(900)),
            status(1_000, "api", Status::Critical, None),
            Event {
                at_ms: 1_400,
                kind: EventKind::HealFinished {
                    heal: "restart".into(),
                    ok: true,
                    attempts: 1,
                },
            },
            status(1_600, "api/up", Status::Healthy, None),
            status(5_000, "db/up", Status::Critical, Some(4_000)),
            status(8_000, "db/up", Status::Healthy, None),
            status(9_000, "api/up", Status::Warning, Some(8_950)),
        ];
        let o = outages(&events);
        assert_eq!(o.len(), 3);
        assert_eq!((o[0].detect_ms, o[0].recover_ms), (Some(100), Some(600)));
        assert_eq!(o[0].healed_by.as_deref(), Some("restart"));
        assert_eq!(
            (o[1].detect_ms, o[1].recover_ms, o[1].healed_by.as_deref()),
            (Some(1_000), Some(3_000), None)
        );
        assert_eq!(o[2].recover_ms, None);
        assert_eq!(mttr_ms(&o), Some(1_800));
    }
}
