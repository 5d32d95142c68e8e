//! Probe steps at run time: a real HTTP request or TCP connection (on a blocking thread),
//! passing when the expected status (any 2xx when none is written) or the connection
//! comes back in time. A simulation records probes instead.

use super::Runner;
use super::steps::StepError;
use crate::model::step::Probe;
use crate::probe::ProbeError;
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
        let method = p.method;
        let target = p.target.value.to_string();
        let what = format!("{} {target}", method.word().to_uppercase());
        let probed = tokio::task::spawn_blocking(move || {
            if let Some(http) = method.http() {
                return Ok(crate::probe::http(http, &target, timeout));
            }
            let (host, port) = crate::probe::host_port(&target)
                .ok_or_else(|| ProbeError::NotHostPort(target.clone()))?;
            crate::probe::tcp(host, port, timeout, || Ok(()))
        })
        .await
        .map_err(|source| StepError::ProbeThread {
            what: what.clone(),
            source,
        })?
        .map_err(|source| StepError::ProbeUnanswered {
            what: what.clone(),
            source,
        })?;
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
