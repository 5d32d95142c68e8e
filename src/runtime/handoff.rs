//! Handoffs: the artifacts handed over must be in the workspace; the message (from, to,
//! artifacts with their sha256, completed and pending tasks, notes) is recorded, the
//! receiver's context is written to the shared state, and a checkpoint is taken at the
//! `agent_handoff` sync point.

use super::Runner;
use super::event::{EventKind, HandedOver};
use super::steps::StepError;
use super::sync::Write;
use super::workspace::WorkspaceError;
use crate::model::step::Handoff;
use std::path::PathBuf;

/// Why a handoff cannot hand its artifacts over; each names the handoff (`from -> to`).
#[derive(Debug, thiserror::Error)]
pub(crate) enum HandoffError {
    /// An artifact's path cannot be used.
    #[error("handoff {from} -> {to}: {source}")]
    Artifact {
        /// The agent handing off.
        from: String,
        /// The agent receiving.
        to: String,
        /// Why.
        #[source]
        source: WorkspaceError,
    },
    /// An artifact is not in the workspace.
    #[error("handoff {from} -> {to}: {artifact} from `{from}` is not in the workspace ({})", path.display())]
    Missing {
        /// The agent handing off.
        from: String,
        /// The agent receiving.
        to: String,
        /// The artifact, for messages (`` `prd` (docs/prd.md) ``).
        artifact: String,
        /// Where it should be.
        path: PathBuf,
    },
    /// An artifact cannot be read (for its sha256).
    #[error("handoff {from} -> {to}: cannot read {artifact}: {source}")]
    Unreadable {
        /// The agent handing off.
        from: String,
        /// The agent receiving.
        to: String,
        /// The artifact, for messages.
        artifact: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl Runner {
    /// `handoff FROM -> TO { ... }`.
    pub(super) fn handoff(&self, h: &Handoff) -> Result<(), StepError> {
        let (from, to) = (h.from.name.as_str(), h.to.name.as_str());
        let mut artifacts = Vec::new();
        for r in &h.artifacts {
            let a = self
                .workspace
                .artifact(r)
                .map_err(|source| HandoffError::Artifact {
                    from: from.to_string(),
                    to: to.to_string(),
                    source,
                })?;
            if !a.exists() {
                return Err(HandoffError::Missing {
                    from: from.to_string(),
                    to: to.to_string(),
                    artifact: a.label(),
                    path: a.path,
                }
                .into());
            }
            let sha256 =
                super::digest::sha256_path(&a.path).map_err(|source| HandoffError::Unreadable {
                    from: from.to_string(),
                    to: to.to_string(),
                    artifact: a.label(),
                    source,
                })?;
            artifacts.push(HandedOver {
                path: a.written,
                sha256,
            });
        }
        let completed: Vec<String> = h.completed.iter().map(|n| n.name.to_string()).collect();
        let pending: Vec<String> = h.pending.iter().map(|n| n.name.to_string()).collect();
        let notes = h.notes.as_ref().map(|n| n.value.to_string());
        let context = serde_json::json!({
            "from": from,
            "artifacts": artifacts.iter().map(|a| &a.path).collect::<Vec<_>>(),
            "completed_tasks": completed,
            "pending_tasks": pending,
            "notes": notes,
        });
        self.record(EventKind::Handoff {
            from: from.to_string(),
            to: to.to_string(),
            artifacts,
            completed,
            pending,
            notes,
        });
        self.share(Write {
            key: format!("context/{to}"),
            value: context.to_string(),
            writer: from.to_string(),
            concerns: vec![to.to_string()],
        });
        self.sync_point("agent_handoff");
        Ok(())
    }
}
