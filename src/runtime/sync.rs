//! State synchronisation as the workflow's `sync { ... }` declares it: the sync points and
//! frequency of checkpoints, and the shared state agents see (handoff contexts, story
//! statuses). Under eventual consistency writes wait for the next sync point; under
//! immediate consistency they apply at once. Last write wins; an overwritten value goes to
//! the audit trail and the affected agents are told in their next prompt.

use crate::ir::Program;
use std::collections::HashMap;
use std::time::Duration;

/// When checkpoints are taken and how conflicts are handled.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncPolicy {
    /// Sync points that take a checkpoint (agent_handoff, phase_completion,
    /// error_occurrence, manual_trigger).
    pub points: Vec<String>,
    /// A checkpoint at least this often while something happens.
    pub every: Option<Duration>,
    /// Writes apply at once (immediate_consistency) rather than at sync points.
    pub immediate: bool,
    /// Keep every overwritten value.
    pub audit: bool,
    /// Who is told of a conflict: affected_agents, all_agents or none.
    pub notify: String,
}

impl SyncPolicy {
    /// The policy of `program`: its `sync` block, or, without one, checkpoints at every
    /// sync point, immediate writes, an audit trail and the affected agents told.
    pub fn of(program: &Program) -> SyncPolicy {
        let all = crate::check::vocab::SYNC_POINTS
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>();
        let Some(s) = &program.sync else {
            return SyncPolicy {
                points: all,
                every: None,
                immediate: true,
                audit: true,
                notify: "affected_agents".into(),
            };
        };
        SyncPolicy {
            points: if s.at.is_empty() {
                all
            } else {
                s.at.iter().map(|n| n.name.to_string()).collect()
            },
            every: match s.every.and_then(|q| q.value) {
                Some(crate::syntax::literal::Value::Duration(ms)) if ms > 0 => {
                    Some(Duration::from_millis(ms))
                }
                _ => None,
            },
            immediate: s
                .strategy
                .as_ref()
                .is_some_and(|n| n.name == "immediate_consistency"),
            audit: s.audit || s.conflict.is_none(),
            notify: s
                .notify
                .as_ref()
                .map_or("affected_agents".to_string(), |n| n.name.to_string()),
        }
    }

    /// Whether `point` takes a checkpoint.
    pub fn at(&self, point: &str) -> bool {
        self.points.iter().any(|p| p == point)
    }
}

/// One write to the shared state.
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    /// The key: `context/<agent>`, `story/<id>/status`.
    pub key: String,
    /// The value.
    pub value: String,
    /// The agent that wrote it.
    pub writer: String,
    /// Agents concerned by the key besides its writers (the receiver of a context).
    pub concerns: Vec<String>,
}

/// A write that overwrote another agent's value.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// The key.
    pub key: String,
    /// Whose value was overwritten.
    pub lost: String,
    /// Whose value won.
    pub won: String,
    /// The agents told.
    pub notified: Vec<String>,
}

/// The shared state of a run, the writes waiting for a sync point, and the notifications
/// waiting for each agent's next task.
#[derive(Debug, Default)]
pub struct Shared {
    current: HashMap<String, (String, String)>,
    pending: Vec<Write>,
    inbox: HashMap<String, Vec<String>>,
}

impl Shared {
    /// Starts from values recorded earlier (a resume): `(key, value, writer)`.
    pub fn restore(&mut self, entries: Vec<(String, String, String)>) {
        for (k, v, w) in entries {
            self.current.insert(k, (v, w));
        }
    }

    /// Queues a write until the next sync point.
    pub fn queue(&mut self, w: Write) {
        self.pending.push(w);
    }

    /// Takes the writes waiting for a sync point, in the order they were made.
    pub fn take_pending(&mut self) -> Vec<Write> {
        std::mem::take(&mut self.pending)
    }

    /// Applies a write, last write wins: the conflict if it overwrote another agent's
    /// different value, with the agents `policy` tells (their inboxes get a line).
    pub fn apply(&mut self, w: &Write, policy: &SyncPolicy, agents: &[String]) -> Option<Conflict> {
        let old = self
            .current
            .insert(w.key.clone(), (w.value.clone(), w.writer.clone()));
        let (old_value, lost) = old?;
        if lost == w.writer || old_value == w.value {
            return None;
        }
        let mut notified: Vec<String> = match policy.notify.as_str() {
            "none" => Vec::new(),
            "all_agents" => agents.to_vec(),
            _ => std::iter::once(lost.clone())
                .chain(w.concerns.iter().cloned())
                .collect(),
        };
        notified.dedup();
        for agent in &notified {
            self.inbox.entry(agent.clone()).or_default().push(format!(
                "`{}` was changed by `{}` (last write wins); the value `{lost}` wrote is gone: {}",
                w.key, w.writer, w.value
            ));
        }
        Some(Conflict {
            key: w.key.clone(),
            lost,
            won: w.writer.clone(),
            notified,
        })
    }

    /// The notifications waiting for `agent`, taken.
    pub fn take_inbox(&mut self, agent: &str) -> Vec<String> {
        self.inbox.remove(agent).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> SyncPolicy {
        SyncPolicy {
            points: vec![],
            every: None,
            immediate: true,
            audit: true,
            notify: "affected_agents".into(),
        }
    }

    fn write(key: &str, value: &str, writer: &str) -> Write {
        Write {
            key: key.into(),
            value: value.into(),
            writer: writer.into(),
            concerns: vec!["sm".into()],
        }
    }

    #[test]
    fn the_last_write_wins_and_the_loser_and_the_receiver_are_told() {
        let mut s = Shared::default();
        assert_eq!(
            s.apply(&write("context/sm", "a", "architect"), &policy(), &[]),
            None
        );
        let c = s
            .apply(&write("context/sm", "b", "ux"), &policy(), &[])
            .expect("a conflict");
        assert_eq!((c.lost.as_str(), c.won.as_str()), ("architect", "ux"));
        assert_eq!(c.notified, ["architect", "sm"]);
        assert_eq!(s.take_inbox("architect").len(), 1);
        assert!(s.take_inbox("architect").is_empty(), "taken once");
        // The same writer changing its own value is no conflict.
        assert_eq!(
            s.apply(&write("context/sm", "c", "ux"), &policy(), &[]),
            None
        );
    }
}
