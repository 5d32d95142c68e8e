//! Probe steps at run time: a real HTTP(S) request or TCP connection through
//! [`crate::probe::Prober`], passing when the expected status (any 2xx when none is
//! written) or the connection comes back in time. A simulation records probes instead.

use super::Runner;
use super::steps::StepError;
use crate::model::step::Probe;
use crate::probe::Prober;
use std::time::Duration;

/// A probe's time limit when it writes none.
pub(super) const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(10);

impl Runner {
    /// Runs a probe; fails saying what came back instead of what was expected.
    pub(super) async fn probe(&self, p: &Probe) -> Result<(), StepError> {
        let timeout = p
            .timeout
            .and_then(|q| q.duration())
            .unwrap_or(DEFAULT_PROBE_TIMEOUT);
        let target = p.target.value.as_str();
        let what = format!("{} {target}", p.method.word().to_uppercase());
        let ca_file = p.ca_file.as_ref().map(|t| self.program().path_from_file(t));
        let unanswered = |source| StepError::ProbeUnanswered {
            what: what.clone(),
            source,
        };
        let probed = Prober::new(p.method.http(), target, ca_file.as_deref())
            .map_err(unanswered)?
            .probe(timeout)
            .await
            .map_err(unanswered)?;
        let took = crate::model::literal::human_duration(probed.latency);
        let passed = probed.passes(p.expect.map(|e| e.value));
        let got = probed.seen();
        self.note("probe", format!("{what}: {got} in {took}"));
        if passed {
            Ok(())
        } else {
            let want = p.expect.map_or("a 2xx status".to_string(), |e| {
                format!("status {}", e.value)
            });
            Err(StepError::ProbeMissed { what, got, want })
        }
    }
}
