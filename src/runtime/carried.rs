//! Artifacts outside git that travel in a remote task's outcome: the worker reads the
//! files the task declares it produces and sends each with its sha256 and, while the
//! outcome stays under [`MAX_CARRIED`] bytes of them in all, its bytes; the coordinator
//! writes them into its workspace (confined, as any artifact). One over the cap travels
//! without its bytes: the coordinator takes it only when its own workspace already holds
//! that file (a directory the workers share), and fails the task with a message saying so
//! otherwise: an artifact is never silently lost. A directory artifact does not travel
//! (it needs a shared workspace). Story work through git needs none of this: its
//! artifacts are in the story's commits.

use super::backend::Outcome;
use super::confined::Mode;
use super::workspace::Artifact;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// The most bytes of artifacts one outcome carries (Temporal refuses a payload over 2 MB
/// by default; base64 makes 1 MiB 1.4 MB).
pub const MAX_CARRIED: usize = 1024 * 1024;

/// One artifact a task produced, as it travels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Carried {
    /// The path as written in the workflow.
    pub written: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its sha256.
    pub sha256: String,
    /// Its bytes, base64; `None` past the cap.
    pub base64: Option<String>,
}

/// The files of `produces` as they travel back (those that exist; not directories).
pub fn carry(produces: &[Artifact]) -> Vec<Carried> {
    let mut left = MAX_CARRIED;
    let mut out = Vec::new();
    for a in produces.iter().filter(|a| !a.is_dir()) {
        let Ok(bytes) = std::fs::read(&a.path) else {
            continue;
        };
        let fits = bytes.len() <= left;
        if fits {
            left -= bytes.len();
        }
        out.push(Carried {
            written: a.written.clone(),
            size: bytes.len() as u64,
            sha256: super::digest::sha256_bytes(&bytes),
            base64: fits.then(|| base64::engine::general_purpose::STANDARD.encode(&bytes)),
        });
    }
    out
}

/// Writes the artifacts `carried` brought into their places `produces` here; `outcome`
/// failed with the reason when one cannot be taken.
pub fn settle(carried: &[Carried], produces: &[Artifact], outcome: &mut Outcome) {
    for c in carried {
        let Some(a) = produces.iter().find(|a| a.written == c.written) else {
            continue;
        };
        if let Err(why) = take(c, a) {
            outcome.ok = false;
            let said = outcome.feedback.take().unwrap_or_default();
            outcome.feedback = Some(if said.is_empty() {
                why
            } else {
                format!("{why}\n{said}")
            });
        }
    }
}

/// Writes one carried artifact at `a` (unless it holds those bytes already).
fn take(c: &Carried, a: &Artifact) -> Result<(), String> {
    let here = super::digest::sha256_path(&a.path).ok();
    if here.as_deref() == Some(c.sha256.as_str()) {
        return Ok(());
    }
    let Some(text) = &c.base64 else {
        return Err(format!(
            "artifact {} is {} bytes: over the {} KiB of artifacts a task's result carries, \
             and the workspace here does not hold it. Share the workspace with the workers \
             (the same directory at the same path) or make the artifact smaller",
            a.label(),
            c.size,
            MAX_CARRIED / 1024
        ));
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| format!("artifact {} came back damaged: {e}", a.label()))?;
    if super::digest::sha256_bytes(&bytes) != c.sha256 {
        return Err(format!(
            "artifact {} came back damaged (its sha256 differs)",
            a.label()
        ));
    }
    super::confined::write(&a.root, &a.path, &bytes, Mode::Replace)
        .map_err(|e| format!("cannot write artifact {}: {e}", a.label()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(dir: &std::path::Path, name: &str) -> Artifact {
        Artifact {
            name: None,
            written: format!("/{name}"),
            path: dir.join(name),
            root: dir.to_path_buf(),
        }
    }

    #[test]
    fn artifacts_travel_under_the_cap_and_are_refused_past_it_unless_shared() {
        let worker = tempfile::tempdir().unwrap();
        let coordinator = tempfile::tempdir().unwrap();
        std::fs::write(worker.path().join("a.md"), "notes").unwrap();
        std::fs::write(worker.path().join("big.bin"), vec![7u8; MAX_CARRIED]).unwrap();
        let sent = carry(&[
            artifact(worker.path(), "a.md"),
            artifact(worker.path(), "big.bin"),
        ]);
        assert!(sent[0].base64.is_some() && sent[1].base64.is_none());
        let here = [
            artifact(coordinator.path(), "a.md"),
            artifact(coordinator.path(), "big.bin"),
        ];
        let mut outcome = Outcome {
            ok: true,
            ..Outcome::default()
        };
        settle(&sent, &here, &mut outcome);
        assert_eq!(
            std::fs::read_to_string(coordinator.path().join("a.md")).unwrap(),
            "notes"
        );
        assert!(!outcome.ok);
        assert!(
            outcome
                .feedback
                .unwrap_or_default()
                .contains("over the 1024 KiB"),
        );
        // A shared workspace already holds it: taken.
        std::fs::write(coordinator.path().join("big.bin"), vec![7u8; MAX_CARRIED]).unwrap();
        let mut outcome = Outcome {
            ok: true,
            ..Outcome::default()
        };
        settle(&sent, &here, &mut outcome);
        assert!(outcome.ok, "{:?}", outcome.feedback);
    }
}
