//! A monitor at run time: each health check on its own interval (staggered across the
//! first interval so that many checks do not all fire at once), the host metrics on the
//! monitor's interval, the log files followed each second (each minute on a virtual
//! clock). Every outcome is classified healthy, warning or critical; a status change is
//! recorded; a rule whose condition starts to hold fires its actions as jobs (the probes
//! never wait for them). A paused monitor skips its probes and reads its logs later.

use super::super::event::EventKind;
use super::super::steps::Ctx;
use super::observe::{DEFAULT_TIMEOUT, Observation};
use super::rules::{default_status, pattern_status};
use super::{Desk, Job, OpsHost, OpsScope, Trigger};
use crate::model::literal::Value;
use crate::model::{ActionKind, Actions, Health, HealthProbe, Monitor, Status};
use std::time::Duration;
use tokio::time::{Instant, MissedTickBehavior};

/// A monitor's interval when it writes none.
pub(super) const DEFAULT_EVERY: Duration = Duration::from_secs(30);
/// How often log files are read on the wall clock.
const LOG_POLL: Duration = Duration::from_secs(1);
/// How often a simulation looks for log patterns.
const SIM_LOG_POLL: Duration = Duration::from_secs(60);

/// An interval or timeout as written; a zero one counts as a millisecond (a zero-length
/// interval would spin).
fn duration(q: Option<crate::model::step::Quantity>) -> Option<Duration> {
    q.and_then(|q| q.duration())
        .map(|d| d.max(Duration::from_millis(1)))
}

impl Desk {
    /// Runs monitor `name` until the operations stop.
    pub(super) async fn monitor(&self, host: &dyn OpsHost, name: &str) {
        let Some(m) = host.program().monitors.iter().find(|m| m.name.name == name) else {
            host.note("watch", format!("no monitor `{name}`"));
            return;
        };
        host.note("watch", format!("monitor {name} started"));
        let every = duration(m.every).unwrap_or(DEFAULT_EVERY);
        let n = u32::try_from(m.health.len().max(1)).unwrap_or(u32::MAX);
        let checks = m.health.iter().enumerate().map(|(i, h)| {
            let own = duration(h.every).unwrap_or(every);
            self.health_loop(
                host,
                m,
                h,
                own,
                own * u32::try_from(i).unwrap_or(u32::MAX) / n,
            )
        });
        futures::join!(
            futures::future::join_all(checks),
            self.host_loop(host, m, every),
            self.log_loop(host, m),
        );
    }

    async fn health_loop(
        &self,
        host: &dyn OpsHost,
        m: &Monitor,
        h: &Health,
        every: Duration,
        offset: Duration,
    ) {
        let timeout = duration(h.timeout).unwrap_or(DEFAULT_TIMEOUT);
        let mut prober = None;
        let key = format!("{}/{}", m.name.name, h.name.name);
        let scope = OpsScope::new(format!("monitor {}", m.name.name), Trigger::default(), None);
        let ctx = Ctx::ops(format!("ops/{key}"), scope);
        let mut tick = tokio::time::interval_at(Instant::now() + offset, every);
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            let due = tick.tick().await;
            self.lateness.borrow_mut().add(Instant::now() - due);
            if self.monitor_paused(host.program(), &m.name.name) {
                continue;
            }
            let seen = match &self.sim {
                Some(world) => {
                    let p = world.borrow_mut().probe(&key, every);
                    Observation {
                        ok: p.ok,
                        latency: p.latency,
                        value: matches!(h.probe, HealthProbe::Sh { .. }).then_some(p.value),
                        detail: format!("{} (simulated)", if p.ok { "passed" } else { "failed" }),
                    }
                }
                None => super::observe::observe(host, h, &mut prober, timeout, &ctx).await,
            };
            self.probes.set(self.probes.get() + 1);
            self.judge_health(host, m, h, &key, &seen);
        }
    }

    fn judge_health(
        &self,
        host: &dyn OpsHost,
        m: &Monitor,
        h: &Health,
        key: &str,
        seen: &Observation,
    ) {
        let status = if seen.ok {
            Status::Healthy
        } else {
            Status::Critical
        };
        self.set_status(host, key, status, || {
            let took = crate::model::literal::human_duration(seen.latency);
            format!("{} in {took}", seen.detail)
        });
        if let Some(actions) = &h.actions {
            let what = || format!("health check {key}: {}", seen.detail);
            self.rule(host, key, !seen.ok, Status::Critical, actions, what);
        }
        for r in m
            .metrics
            .iter()
            .filter(|r| r.of.as_ref().is_some_and(|o| o.name == h.name.name))
        {
            let value = match r.metric.name.as_str() {
                "response_time" | "latency" => Some(seen.latency.as_secs_f64() * 1000.0),
                _ => seen.value,
            };
            let rkey = format!(
                "{}/metric {} of {}",
                m.name.name, r.metric.name, h.name.name
            );
            self.judge_metric(host, &rkey, r, value);
        }
        self.judge_monitor(host, m);
    }

    /// Classifies a metric's value against its rule's threshold and fires the rule.
    fn judge_metric(
        &self,
        host: &dyn OpsHost,
        key: &str,
        r: &crate::model::MetricRule,
        value: Option<f64>,
    ) {
        let (Some(value), Some(threshold)) = (value, r.threshold.value) else {
            return;
        };
        let breach = r.op.holds(value, threshold.as_f64());
        let bad = r.level.unwrap_or_else(|| default_status(&r.actions));
        let status = if breach { bad } else { Status::Healthy };
        let shown = match threshold {
            Value::Duration(_) => format!("{value:.0}ms"),
            Value::Percent(_) => format!("{value:.1}%"),
            _ => format!("{value}"),
        };
        let what = format!(
            "{} is {shown} ({} {})",
            r.metric.name,
            r.op.symbol(),
            threshold
        );
        self.set_status(host, key, status, || what.clone());
        self.rule(host, key, breach, bad, &r.actions, || what);
    }

    /// The monitor's overall status: the worst of its health checks and metrics (log
    /// patterns act through their own rules). Fires `on warning` / `on critical`.
    fn judge_monitor(&self, host: &dyn OpsHost, m: &Monitor) {
        let name = &m.name.name;
        let overall = self.overall(name);
        let worst_key = || {
            let prefix = format!("{name}/");
            let status = self.status.borrow();
            status
                .range(prefix.clone()..)
                .take_while(|(k, _)| k.starts_with(&prefix))
                .find(|(k, s)| **s == overall && counts_toward_monitor(k))
                .map_or(String::new(), |(k, _)| k.clone())
        };
        self.set_status(host, name, overall, || format!("worst: {}", worst_key()));
        for r in &m.on_status {
            let key = format!("{name}/on {}", r.status.word());
            let holds = overall == r.status;
            // Which check is worst is only looked for when the rule is to fire.
            if !self.rule_fires(&key, holds, &r.actions) {
                continue;
            }
            let worst = worst_key();
            let what = format!("monitor {name} is {} ({worst})", overall.word());
            self.fire(host, &key, r.status, &r.actions, &what, &worst);
        }
    }

    /// Records a status change of `key`; `detail` is only made for a change.
    fn set_status(
        &self,
        host: &dyn OpsHost,
        key: &str,
        status: Status,
        detail: impl FnOnce() -> String,
    ) {
        let before = self.put_status(key, status);
        let now = host.now_ms();
        let last_ok = if status == Status::Healthy {
            // Every healthy probe: no allocation once the key is known.
            let mut seen = self.last_ok.borrow_mut();
            match seen.get_mut(key) {
                Some(at) => Some(std::mem::replace(at, now)),
                None => seen.insert(key.to_string(), now),
            }
        } else {
            self.last_ok.borrow().get(key).copied()
        };
        if before != Some(status) && !(before.is_none() && status == Status::Healthy) {
            host.record(EventKind::CheckStatus {
                check: key.to_string(),
                status,
                detail: detail(),
                // A change away from healthy says when it was healthy last.
                last_ok_ms: last_ok.filter(|_| before == Some(Status::Healthy)),
            });
        }
    }

    /// Evaluates rule `key` (its condition `holds`); when it fires, its actions become jobs
    /// whose check is `key`. `what` (the trigger, in words) is only made when it fires.
    fn rule(
        &self,
        host: &dyn OpsHost,
        key: &str,
        holds: bool,
        status: Status,
        actions: &Actions,
        what: impl FnOnce() -> String,
    ) {
        if self.rule_fires(key, holds, actions) {
            self.fire(host, key, status, actions, &what(), key);
        }
    }

    /// Records that rule `key` fired and requests its actions.
    fn fire(
        &self,
        host: &dyn OpsHost,
        key: &str,
        status: Status,
        actions: &Actions,
        what: &str,
        check: &str,
    ) {
        host.record(EventKind::RuleFired {
            rule: key.to_string(),
            status,
            actions: actions.list.iter().map(|a| a.kind.to_string()).collect(),
        });
        let trigger = Trigger {
            what: what.to_string(),
            check: (!check.is_empty()).then(|| check.to_string()),
            ..Trigger::default()
        };
        // The monitor's own agent, when it is a real one, is told what it saw.
        let monitor = key.split('/').next().unwrap_or(key);
        if let Some(agent) = host
            .program()
            .monitors
            .iter()
            .find(|m| m.name.name == monitor)
            .and_then(|m| m.agent.as_ref())
            .filter(|a| self.real_agent(host, &a.name))
        {
            self.request(Job::Tell {
                agent: agent.name.to_string(),
                task: "observe".into(),
                prompt: format!(
                    "Monitor {monitor}: {} ({what}); its rule does: {}",
                    status.word(),
                    actions
                        .list
                        .iter()
                        .map(|a| a.kind.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        for a in &actions.list {
            let t = trigger.clone();
            self.request(match &a.kind {
                ActionKind::Alert { to, channel } => Job::Alert {
                    to: to.as_ref().map(|t| t.name.to_string()),
                    channel: channel.as_ref().map(|c| c.value.to_string()),
                    message: format!("{}: {what}", status.word()),
                },
                ActionKind::Scale { target } | ActionKind::Call { target } => {
                    Job::Call(target.name.to_string(), t)
                }
                ActionKind::Heal { target } => Job::Heal(target.name.to_string(), t),
                ActionKind::Escalate { level } => Job::Incident(level.name.to_string(), t),
                ActionKind::Emergency { target } => Job::Emergency(target.name.to_string(), t),
            });
        }
    }

    /// Host metrics (rules without `of`): memory, CPU and disk usage, on the monitor's
    /// interval.
    async fn host_loop(&self, host: &dyn OpsHost, m: &Monitor, every: Duration) {
        let host_rules: Vec<_> = m.metrics.iter().filter(|r| r.of.is_none()).collect();
        if host_rules.is_empty() {
            return;
        }
        let mut cpu = None;
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            if self.monitor_paused(host.program(), &m.name.name) {
                continue;
            }
            for r in &host_rules {
                let key = format!("{}/metric {}", m.name.name, r.metric.name);
                let bytes = matches!(r.threshold.value, Some(Value::Size(_)));
                let value = match &self.sim {
                    Some(world) => Some(world.borrow_mut().gauge(&key)),
                    None => match r.metric.name.as_str() {
                        "memory_usage" => {
                            super::observe::host_memory().map(|(p, b)| if bytes { b } else { p })
                        }
                        "cpu_usage" => {
                            let (usage, now) = super::observe::host_cpu(cpu);
                            cpu = now;
                            usage
                        }
                        "disk_usage" => super::observe::disk_usage(host.workspace().root())
                            .map(|(p, b)| if bytes { b } else { p }),
                        _ => None,
                    },
                };
                self.judge_metric(host, &key, r, value);
            }
            self.judge_monitor(host, m);
        }
    }

    /// Follows the monitor's log files; each line matching a pattern fires its rule.
    async fn log_loop(&self, host: &dyn OpsHost, m: &Monitor) {
        if m.patterns.is_empty() {
            return;
        }
        let patterns: Vec<_> = m
            .patterns
            .iter()
            .filter_map(|r| match regex::Regex::new(&r.pattern.value) {
                Ok(re) => Some((r, re)),
                Err(e) => {
                    host.note(
                        "watch",
                        format!("pattern \"{}\" is not a regex: {e}", r.pattern.value),
                    );
                    None
                }
            })
            .collect();
        let mut tails: Vec<super::logtail::LogTail> = m
            .logs
            .iter()
            .filter_map(|l| match host.workspace().resolve(&l.value) {
                Ok(p) => Some(super::logtail::LogTail::new(&p)),
                Err(e) => {
                    host.note("watch", format!("log {}: {e}", l.value));
                    None
                }
            })
            .collect();
        let poll = if self.sim.is_some() {
            SIM_LOG_POLL
        } else {
            LOG_POLL
        };
        let mut tick = tokio::time::interval(poll);
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            if self.monitor_paused(host.program(), &m.name.name) {
                continue;
            }
            let mut hits: Vec<Option<String>> = vec![None; patterns.len()];
            match &self.sim {
                Some(world) => {
                    for (i, (r, _)) in patterns.iter().enumerate() {
                        let key = format!("{}/pattern {}", m.name.name, r.pattern.value);
                        if world.borrow_mut().pattern_matches(&key, poll) {
                            hits[i] =
                                Some(format!("\"{}\" matched (simulated line)", r.pattern.value));
                        }
                    }
                }
                None => {
                    for tail in &mut tails {
                        let lines = match tail.poll() {
                            Ok(lines) => lines,
                            Err(e) => {
                                host.note("watch", format!("log {}: {e}", tail.path().display()));
                                continue;
                            }
                        };
                        for line in lines {
                            for (i, (_, re)) in patterns.iter().enumerate() {
                                if hits[i].is_none() && re.is_match(&line) {
                                    hits[i] = Some(format!("{}: {line}", tail.path().display()));
                                }
                            }
                        }
                    }
                }
            }
            for ((r, _), hit) in patterns.iter().zip(hits) {
                let key = format!("{}/pattern {}", m.name.name, r.pattern.value);
                let bad = pattern_status(r.severity.as_ref().map(|s| s.name.as_str()));
                let status = if hit.is_some() { bad } else { Status::Healthy };
                let what = hit.clone().unwrap_or_else(|| "no new matching line".into());
                self.set_status(host, &key, status, || what.clone());
                self.rule(host, &key, hit.is_some(), bad, &r.actions, || {
                    format!("log: {what}")
                });
            }
        }
    }
}

/// Whether the status of `key` (`monitor/part`) counts toward its monitor's status: health
/// checks and metrics do, log patterns act through their own rules only.
pub(super) fn counts_toward_monitor(key: &str) -> bool {
    key.split_once('/')
        .is_some_and(|(_, part)| !part.starts_with("pattern "))
}
