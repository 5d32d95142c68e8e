//! State synchronisation as the workflow's `sync { ... }` declares it: the sync points and
//! frequency of checkpoints, and the shared state agents hand each other (the context of
//! a handoff, `context/<receiver>`; the story board is the run's own record). Under eventual consistency writes wait for the next sync point; under
//! immediate consistency they apply at once. Last write wins; an overwritten value goes to
//! the audit trail and the affected agents are told in their next prompt.

use crate::ir::Program;
use std::collections::HashMap;
use std::time::Duration;

/// When checkpoints are taken and how conflicts are handled.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncPolicy {
    /// Sync points that take a checkpoint (`agent_handoff`, `phase_completion`,
    /// `error_occurrence`, `manual_trigger`).
    pub points: Vec<String>,
    /// A checkpoint at least this often while something happens.
    pub every: Option<Duration>,
    /// Writes apply at once (`immediate_consistency`) rather than at sync points.
    pub immediate: bool,
    /// Keep every overwritten value.
    pub audit: bool,
    /// Who is told of a conflict: `affected_agents`, `all_agents` or none.
    pub notify: String,
}

impl SyncPolicy {
    /// The policy of `program`: its `sync` block, or, without one, checkpoints at every
    /// sync point, immediate writes, an audit trail and the affected agents told.
    pub fn of(program: &Program) -> SyncPolicy {
        let all = crate::ir::vocab::SYNC_POINTS
            .iter()
            .map(std::string::ToString::to_string)
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
                Some(crate::model::literal::Value::Duration(ms)) if ms > 0 => {
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
    /// The key: `context/<agent>`.
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

    /// Applies writes in order, last write wins. A write that overwrites a different value
    /// another agent wrote in the same batch (between the same two sync points: neither
    /// saw the other) is a conflict; the agents `policy` names are told (their inboxes
    /// get a line). Under immediate consistency every write is its own batch.
    pub fn apply(
        &mut self,
        writes: &[Write],
        policy: &SyncPolicy,
        agents: &[String],
    ) -> Vec<Conflict> {
        let mut conflicts = Vec::new();
        let mut batch: HashMap<&str, (&str, &str)> = HashMap::new();
        for w in writes {
            self.current
                .insert(w.key.clone(), (w.value.clone(), w.writer.clone()));
            let Some((old_value, lost)) = batch.insert(&w.key, (&w.value, &w.writer)) else {
                continue;
            };
            if lost == w.writer || old_value == w.value {
                continue;
            }
            let mut notified: Vec<String> = match policy.notify.as_str() {
                "none" => Vec::new(),
                "all_agents" => agents.to_vec(),
                _ => std::iter::once(lost.to_string())
                    .chain(w.concerns.iter().cloned())
                    .collect(),
            };
            notified.dedup();
            for agent in &notified {
                self.inbox.entry(agent.clone()).or_default().push(format!(
                    "`{}` was written by `{lost}` and then by `{}` before they synced; \
                     the last write won: {}",
                    w.key, w.writer, w.value
                ));
            }
            conflicts.push(Conflict {
                key: w.key.clone(),
                lost: lost.to_string(),
                won: w.writer.clone(),
                notified,
            });
        }
        conflicts
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
    fn writes_between_the_same_sync_points_conflict_and_the_last_one_wins() {
        let mut s = Shared::default();
        let batch = [
            write("context/sm", "a", "architect"),
            write("context/sm", "b", "ux"),
        ];
        let c = s.apply(&batch, &policy(), &[]);
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].lost.as_str(), c[0].won.as_str()), ("architect", "ux"));
        assert_eq!(c[0].notified, ["architect", "sm"]);
        assert_eq!(s.current["context/sm"].0, "b", "the last write wins");
        assert_eq!(s.take_inbox("architect").len(), 1);
        assert!(s.take_inbox("architect").is_empty(), "taken once");
    }

    #[test]
    fn writes_that_saw_each_other_do_not_conflict() {
        let mut s = Shared::default();
        assert!(
            s.apply(&[write("context/sm", "a", "architect")], &policy(), &[])
                .is_empty()
        );
        assert!(
            s.apply(&[write("context/sm", "b", "ux")], &policy(), &[])
                .is_empty()
        );
        // The same writer changing its own value is no conflict either.
        let own = [write("k", "1", "ux"), write("k", "2", "ux")];
        assert!(s.apply(&own, &policy(), &[]).is_empty());
    }
}
