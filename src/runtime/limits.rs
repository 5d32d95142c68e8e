//! Resource limits at run time: what each agent may use (set on an exec agent's child
//! process as rlimits), and what the whole run admits: memory and CPU held by running
//! agents (`max_memory`, `max_cpu`) and agent invocations per hour (`max_api_calls`).

use crate::ir::Program;
use crate::model::LimitEntry;
use crate::model::literal::Value;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// What one agent may use: its own `limits`, else `limits { per_agent }`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AgentLimits {
    /// Memory in bytes: the data limit (`RLIMIT_DATA`: heap and private writable
    /// mappings) of each of an exec agent's processes.
    pub memory: Option<u64>,
    /// CPU cores.
    pub cores: Option<f64>,
    /// CPU time of an exec agent's process (`cpu_time`, or cores × the agent's timeout).
    pub cpu_time: Option<Duration>,
    /// Largest file an exec agent may write, in bytes (`disk`).
    pub disk: Option<u64>,
}

fn find<'a>(own: &'a [LimitEntry], all: &'a [LimitEntry], name: &str) -> Option<Value> {
    own.iter()
        .chain(all)
        .find(|e| e.name.name == name)
        .and_then(|e| e.value.value)
}

impl AgentLimits {
    /// The limits of `agent`, whose task timeout is `timeout`.
    pub fn of(p: &Program, agent: &str, timeout: Option<Duration>) -> AgentLimits {
        let own = p.agent(agent).map_or(&[][..], |a| a.limits.as_slice());
        let all = p
            .limits
            .as_ref()
            .map_or(&[][..], |l| l.per_agent.as_slice());
        let size = |name| match find(own, all, name) {
            Some(Value::Size(b)) => Some(b),
            _ => None,
        };
        let cores = match find(own, all, "cpu") {
            Some(Value::Cores(c) | Value::Count(c)) => Some(c),
            _ => None,
        };
        let cpu_time = match find(own, all, "cpu_time") {
            Some(Value::Duration(ms)) => Some(Duration::from_millis(ms)),
            _ => cores.zip(timeout).map(|(c, t)| t.mul_f64(c.max(0.01))),
        };
        AgentLimits {
            memory: size("memory"),
            cores,
            cpu_time,
            disk: size("disk"),
        }
    }

    /// The limits as the child process gets them (see [`super::spawn::Rlimit`]). The
    /// hard limit is a little above the soft one, so that the process first gets the
    /// signal that says which limit it reached (SIGXCPU, SIGXFSZ), not SIGKILL. Memory is
    /// the data limit (heap and private writable mappings), not the address space: a
    /// runtime that reserves address space it does not use (node's WebAssembly, the JVM,
    /// Go) cannot start under an address-space limit, whatever its size.
    pub fn rlimits(&self) -> Vec<super::spawn::Rlimit> {
        use super::spawn::{Resource, Rlimit};
        let limit = |resource, value: u64| Rlimit {
            resource,
            soft: value,
            hard: value.saturating_add(1),
        };
        let mut all = Vec::new();
        if let Some(m) = self.memory {
            all.push(limit(Resource::Data, m));
        }
        if let Some(t) = self.cpu_time {
            all.push(limit(Resource::CpuSeconds, t.as_secs().max(1)));
        }
        if let Some(d) = self.disk {
            all.push(limit(Resource::FileSize, d));
        }
        all
    }
}

const MIB: u64 = 1 << 20;

/// What the whole run admits at once: memory and CPU of running agents, and agent
/// invocations per hour.
pub struct Admission {
    memory_mib: Option<(Arc<Semaphore>, u32)>,
    millicores: Option<(Arc<Semaphore>, u32)>,
    calls_per_hour: Option<usize>,
    recent_calls: RefCell<VecDeque<Instant>>,
}

/// What a running agent holds; released when dropped.
pub struct Admitted {
    _permits: Vec<OwnedSemaphorePermit>,
}

fn pool(total: Option<u64>) -> Option<(Arc<Semaphore>, u32)> {
    let total = u32::try_from(total?).unwrap_or(u32::MAX >> 3).max(1);
    Some((Arc::new(Semaphore::new(total as usize)), total))
}

impl Admission {
    /// The global limits of `p`.
    // Cores and rates are literals: not negative, and `as` saturates past the maximum.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    pub fn of(p: &Program) -> Admission {
        let global = |name| p.global_limit(name).and_then(|q| q.value);
        let memory = match global("max_memory") {
            Some(Value::Size(b)) => Some(b / MIB),
            _ => None,
        };
        let cpu = match global("max_cpu") {
            Some(Value::Cores(c) | Value::Count(c)) => Some((c * 1000.0) as u64),
            _ => None,
        };
        let calls = match global("max_api_calls") {
            Some(Value::Rate(per_hour)) => Some(per_hour.max(1.0) as usize),
            _ => None,
        };
        Admission {
            memory_mib: pool(memory),
            millicores: pool(cpu),
            calls_per_hour: calls,
            recent_calls: RefCell::default(),
        }
    }

    /// Waits until an agent with `limits` fits: its memory and cores are free and the
    /// hour's calls are not used up. An agent larger than a whole pool takes all of it.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] when the pools were closed (the run is stopping).
    pub async fn admit(&self, limits: &AgentLimits) -> Result<Admitted, AcquireError> {
        let mut permits = Vec::new();
        let wants = [
            (&self.memory_mib, limits.memory.map(|m| m.div_ceil(MIB))),
            (
                &self.millicores,
                // Cores are a literal: not negative, and `as` saturates.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                limits.cores.map(|c| (c * 1000.0).ceil() as u64),
            ),
        ];
        for (pool, want) in wants {
            if let (Some((pool, total)), Some(want)) = (pool, want) {
                let n = u32::try_from(want).unwrap_or(u32::MAX).clamp(1, *total);
                let permit = Arc::clone(pool).acquire_many_owned(n).await?;
                permits.push(permit);
            }
        }
        self.count_call().await;
        Ok(Admitted { _permits: permits })
    }

    /// At most `max_api_calls` invocations in any hour: waits for the oldest of the last
    /// hour's calls to be an hour old.
    async fn count_call(&self) {
        let Some(max) = self.calls_per_hour else {
            return;
        };
        let hour = Duration::from_secs(3600);
        loop {
            let now = Instant::now();
            let wait = {
                let mut recent = self.recent_calls.borrow_mut();
                while recent
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= hour)
                {
                    recent.pop_front();
                }
                if recent.len() < max {
                    recent.push_back(now);
                    return;
                }
                recent.front().map(|t| *t + hour)
            };
            if let Some(until) = wait {
                tokio::time::sleep_until(until).await;
            }
        }
    }
}
