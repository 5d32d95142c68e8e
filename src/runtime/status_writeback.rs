//! Statuses written back into a BMAD-METHOD project as the run moves (`stories from bmad
//! "DIR"`): a story's first task moves it to in-progress, its QA validation to review,
//! its end to done, and a block to blocked where the format has that word (a v7 plan).
//! Each write reads the file as it is now (a person may have edited it), changes the one
//! value (a status never moves back), and replaces the file through the workspace's
//! confinement under a lock ([`super::confined::update`]); the format's own rules come
//! along (see [`crate::project::writeback`]).

use super::confined::ConfinedError;
use super::event::EventKind;
use crate::project::writeback::{Move, WriteBackError, advance, progress_in};
use crate::project::{Progress, StatusPlace};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;

/// Why a status could not be written back.
#[derive(Debug, thiserror::Error)]
pub(super) enum StatusWriteError {
    /// The write was refused or failed.
    #[error(transparent)]
    Confined(#[from] ConfinedError),
    /// The file as it is now cannot take the status.
    #[error(transparent)]
    WriteBack(#[from] WriteBackError),
    /// The file is not UTF-8 text.
    #[error("`{file}` is not UTF-8 text")]
    NotUtf8 {
        /// The file.
        file: String,
    },
}

/// Where each story of a BMAD project keeps its status.
#[derive(Debug, Default)]
pub(super) struct StatusWriteBack {
    places: RefCell<HashMap<String, StatusPlace>>,
}

/// The status an event moves a story to, with the reason of a block.
pub(super) fn moved_by(kind: &EventKind) -> Option<(&str, Progress, Option<&str>)> {
    match kind {
        EventKind::TaskStarted {
            story: Some(s),
            validation,
            ..
        } => Some((
            s,
            if *validation {
                Progress::Review
            } else {
                Progress::InProgress
            },
            None,
        )),
        EventKind::StoryDone { story } => Some((story, Progress::Done, None)),
        EventKind::StoryBlocked { story, reason } => {
            Some((story, Progress::Blocked, Some(reason.as_str())))
        }
        _ => None,
    }
}

impl StatusWriteBack {
    /// Writes the statuses of these stories back from now on.
    pub(super) fn track(&self, places: impl IntoIterator<Item = (String, StatusPlace)>) {
        self.places.borrow_mut().extend(places);
    }

    /// Whether any story's status is written back.
    pub(super) fn is_empty(&self) -> bool {
        self.places.borrow().is_empty()
    }

    /// How far `story` has come as its project's file says now (a person may have moved
    /// it during the run); `None` when it is no project's story or the file does not say.
    pub(super) fn progress_now(
        &self,
        ws: &super::workspace::Workspace,
        story: &str,
    ) -> Option<Progress> {
        let place = self.places.borrow().get(story).cloned()?;
        let full = ws.resolve(&place.file).ok()?;
        let bytes = crate::load::read_regular(&full, crate::load::MAX_FILE_BYTES).ok()?;
        progress_in(&place, std::str::from_utf8(&bytes).ok()?)
    }

    /// Moves `story` to `to` in its project's file under the workspace `root`; the file
    /// written, or `None` when the story is not a BMAD project's or nothing changes.
    ///
    /// # Errors
    ///
    /// When the file cannot be read or written, or no longer holds the story's status.
    pub(super) fn write(
        &self,
        root: &Path,
        story: &str,
        to: Progress,
        reason: Option<&str>,
    ) -> Result<Option<String>, StatusWriteError> {
        let Some(place) = self.places.borrow().get(story).cloned() else {
            return Ok(None);
        };
        let now = chrono::Local::now();
        let sprint_time = now.format("%m-%d-%Y %H:%M").to_string();
        let iso_time = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
        let mv = Move {
            to,
            reason,
            sprint_time: &sprint_time,
            iso_time: &iso_time,
        };
        let mut failed = None;
        let full = root.join(&place.file);
        let wrote = super::confined::update(root, &full, |bytes| {
            let text = match bytes.map(std::str::from_utf8) {
                Some(Err(_)) => {
                    failed = Some(StatusWriteError::NotUtf8 {
                        file: place.file.clone(),
                    });
                    return None;
                }
                Some(Ok(t)) => Some(t),
                None => None,
            };
            match advance(&place, text, &mv) {
                Ok(new) => new.map(String::into_bytes),
                Err(e) => {
                    failed = Some(e.into());
                    None
                }
            }
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        Ok(wrote.then(|| place.file.clone()))
    }
}
