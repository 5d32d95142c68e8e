//! The run state store: one `SQLite` database (WAL mode, schema versioned by migrations) that
//! holds every run's append-only event log, its steps (what a resume skips), the story
//! board, artifact hashes, the shared state with its audit trail, and checkpoints.
//! `.bmad/state.db` under the workspace by default. The rows a run writes per task (its
//! events, which carry the board's moves, and its steps) are keyed by integers in the
//! order they come, so they are appended (issue 21).

mod append;
mod approval;
mod log_page;
mod op;
mod progress;
mod progress_page;
mod read;
mod schema;
mod status;
mod view;
mod write;
pub mod writer;

pub use approval::{Answer, AnswerRefused, Approval};
pub(crate) use log_page::{push_json_string, push_line_head};
pub use read::{
    AuditEntry, BoardEntry, Checkpoint, FinishedStep, RunInfo, StoredEvent, TranscriptRow,
};
pub use status::{RunKind, RunStatus, StepStatus, StoryStatus};
pub use view::{LogEntry, StepStart};
pub use write::{EventRow, NewRun, RunKey, StepEnd};

use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// The state file's place under a workspace when `--state` does not say.
pub const DEFAULT_STATE_PATH: &str = ".bmad/state.db";

/// Why the state store cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StateError {
    /// The file cannot be opened or created.
    #[error("cannot open the state file `{}`: {message}", path.display())]
    Open {
        /// The state file.
        path: PathBuf,
        /// What the system said.
        message: String,
    },
    /// The file is not a bmad state database, or it is damaged (corrupted, truncated).
    #[error(
        "the state file `{}` is damaged or not a bmad state database ({message}); \
         move it away to start afresh, or restore it from a backup",
        path.display()
    )]
    Corrupt {
        /// The state file.
        path: PathBuf,
        /// What `SQLite` found.
        message: String,
    },
    /// The file was written by a newer bmad whose schema this one does not know.
    #[error(
        "the state file `{}` has schema version {found}, newer than this bmad knows \
         ({known}); use a newer bmad",
        path.display()
    )]
    TooNew {
        /// The state file.
        path: PathBuf,
        /// Its schema version.
        found: i64,
        /// The newest this bmad knows.
        known: i64,
    },
    /// No run with that id (or id prefix).
    #[error("no run `{0}` in the state file")]
    NoRun(String),
    /// An id prefix that more than one run starts with.
    #[error("run id `{0}` is ambiguous: {all}", all = .1.join(", "))]
    Ambiguous(String, Vec<String>),
    /// A read or write failed.
    #[error("state store: {0}")]
    Io(String),
}

/// An open state database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Whether a write transaction is open.
    in_tx: bool,
}

/// Writes a `.gitignore` that keeps everything in `dir` (bmad's run state, its worktrees)
/// out of version control, unless one is there. Whatever is at that path is left as it
/// is, a symlink too: the file is created only where nothing is (`O_CREAT | O_EXCL`,
/// which never follows a link), so a planted link cannot make bmad write outside.
///
/// # Errors
///
/// When the file cannot be created or written (not when something is already there).
pub fn keep_out_of_git(dir: &Path) -> std::io::Result<()> {
    use std::io::Write;
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dir.join(".gitignore"));
    match created {
        Ok(mut f) => f.write_all(b"# bmad's run state: not for version control\n*\n"),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A checkpoint's snapshot: how many stories stand in each column of the board, and
/// how many events the log holds.
pub fn snapshot(statuses: impl Iterator<Item = StoryStatus>, events: u64) -> String {
    let mut counts = [0u64; StoryStatus::ALL.len()];
    for s in statuses {
        if let Some(i) = StoryStatus::ALL.iter().position(|x| *x == s) {
            counts[i] += 1;
        }
    }
    snapshot_of(StoryStatus::ALL.iter().copied().zip(counts), events)
}

/// A checkpoint's snapshot from the board's column counts (columns with none left out),
/// keyed by the words, so the columns come in the order of their names.
pub fn snapshot_of(columns: impl IntoIterator<Item = (StoryStatus, u64)>, events: u64) -> String {
    let board: std::collections::BTreeMap<&str, u64> = columns
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| (s.as_str(), n))
        .collect();
    serde_json::json!({ "board": board, "events": events }).to_string()
}

/// The UTC date (`YYYY-MM-DD`) and time (`HH:MM:SS`) of a Unix time in milliseconds.
pub fn utc(ms: i64) -> (String, String) {
    let secs = ms.div_euclid(1000);
    let (days, day_secs) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        format!("{y:04}-{m:02}-{d:02}"),
        format!(
            "{:02}:{:02}:{:02}",
            day_secs / 3600,
            day_secs / 60 % 60,
            day_secs % 60
        ),
    )
}

/// Makes a new state database at `path` with the current schema: written in a file of its
/// own beside it (no journal left), then linked in place; when another bmad put one there
/// first, theirs stands.
fn create_whole(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let name = path.file_name().map_or_else(
        || std::ffi::OsString::from("state.db"),
        std::ffi::OsStr::to_os_string,
    );
    let mut making = name.clone();
    making.push(format!(".making-{}", std::process::id()));
    let making = path.with_file_name(making);
    let _ = std::fs::remove_file(&making);
    {
        let conn = Connection::open(&making)?;
        let mut store = Store {
            conn,
            path: making.clone(),
            in_tx: false,
        };
        store.migrate()?;
    }
    let linked = std::fs::hard_link(&making, path);
    std::fs::remove_file(&making)?;
    match linked {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e.into()),
        _ => Ok(()),
    }
}

impl Store {
    /// Opens (or creates) the state database at `path`, in WAL mode, migrated to the
    /// current schema. A file that is not a state database, or is damaged, is an error.
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the file cannot be opened, is damaged or another program's, or
    /// was written by a newer bmad.
    pub fn open(path: &Path) -> Result<Store, StateError> {
        let open_err = |message: String| StateError::Open {
            path: path.to_path_buf(),
            message,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| open_err(e.to_string()))?;
            // The state of runs is no part of the project: git agents must not commit it.
            if dir.file_name().is_some_and(|n| n == ".bmad") {
                keep_out_of_git(dir).map_err(|e| open_err(e.to_string()))?;
            }
        }
        // A file that is there must be one of ours before anything is written to it: an
        // empty one is not replaced, another program's database is not switched to WAL.
        // Another bmad creating the file right now leaves it empty for a moment: wait
        // for its first write (up to 2 s) before calling it empty.
        let mut meta = std::fs::metadata(path);
        for _ in 0..100 {
            match &meta {
                Ok(m) if m.is_file() && m.len() == 0 => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    meta = std::fs::metadata(path);
                }
                _ => break,
            }
        }
        let existed = match meta {
            Ok(m) if !m.is_file() => {
                return Err(open_err("it is not a regular file".into()));
            }
            Ok(m) if m.len() == 0 => {
                return Err(StateError::Corrupt {
                    path: path.to_path_buf(),
                    message: "the file is empty (0 bytes), not a bmad state database; \
                              remove it to start a new one"
                        .into(),
                });
            }
            Ok(_) => true,
            Err(_) => {
                // Made whole beside it and then put in place: a bmad killed while making
                // it leaves no empty file that the next one would refuse.
                create_whole(path).map_err(|e| open_err(e.to_string()))?;
                true
            }
        };
        let conn = Connection::open(path).map_err(|e| open_err(e.to_string()))?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            in_tx: false,
        };
        if existed {
            store.ours()?;
        }
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The error for a failed `SQLite` call: damage and foreign files are named as such.
    // Taken by value, as `map_err(|e| self.err(e))` hands it over.
    #[allow(clippy::needless_pass_by_value)]
    pub(crate) fn err(&self, e: rusqlite::Error) -> StateError {
        use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
        match (&e, e.sqlite_error_code()) {
            (_, Some(DatabaseCorrupt | NotADatabase)) => StateError::Corrupt {
                path: self.path.clone(),
                message: e.to_string(),
            },
            // A value of the wrong type where bmad wrote one of its own: a damaged row.
            (
                rusqlite::Error::InvalidColumnType(..)
                | rusqlite::Error::FromSqlConversionFailure(..)
                | rusqlite::Error::IntegralValueOutOfRange(..),
                _,
            ) => StateError::Corrupt {
                path: self.path.clone(),
                message: format!("a damaged row: {e}"),
            },
            _ => StateError::Io(format!("`{}`: {e}", self.path.display())),
        }
    }

    fn configure(&mut self) -> Result<(), StateError> {
        self.conn
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| self.err(e))?;
        // WAL: readers (`bmad runs`) never block the run that writes. NORMAL: a commit
        // survives a crash of the process; checkpoints also survive one of the machine.
        self.conn
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .map_err(|e| self.err(e))
    }

    /// Refuses a database that is not a bmad state database, before anything is written
    /// to it: tables but no schema version, or a schema version without the tables bmad
    /// made at that version (another program's `user_version`, or tables dropped).
    fn ours(&self) -> Result<(), StateError> {
        let version = self.version()?;
        let mut names = self
            .conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .map_err(|e| self.err(e))?;
        let tables: Vec<String> = names
            .query_map([], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(|e| self.err(e))?;
        let foreign = |message: String| StateError::Corrupt {
            path: self.path.clone(),
            message,
        };
        if version < 0 {
            return Err(foreign(format!(
                "schema version {version}: an SQLite database of another program"
            )));
        }
        if version == 0 {
            return if tables.is_empty() {
                Ok(())
            } else {
                Err(foreign("an SQLite database of another program".into()))
            };
        }
        let version = usize::try_from(version).unwrap_or(usize::MAX);
        match schema::tables_of(version)
            .into_iter()
            .find(|t| !tables.iter().any(|have| have == t))
        {
            Some(missing) => Err(foreign(format!(
                "schema version {version} but no table `{missing}`: an SQLite database of \
                 another program, or a damaged one"
            ))),
            None => Ok(()),
        }
    }

    fn version(&self) -> Result<i64, StateError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Brings the schema up to date. Two processes opening a new file at once are
    /// serialised by the write lock; the one that comes second finds the work done.
    fn migrate(&mut self) -> Result<(), StateError> {
        let known = i64::try_from(schema::MIGRATIONS.len()).unwrap_or(i64::MAX);
        if self.version()? == known {
            return Ok(());
        }
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| self.err(e))?;
        let result = self.migrate_locked(known);
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        self.conn.execute_batch(end).map_err(|e| self.err(e))?;
        result
    }

    fn migrate_locked(&mut self, known: i64) -> Result<(), StateError> {
        let version = self.version()?;
        if version > known {
            return Err(StateError::TooNew {
                path: self.path.clone(),
                found: version,
                known,
            });
        }
        if version == 0 {
            // A database with tables but no version is someone else's.
            let tables: i64 = self
                .conn
                .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
                .map_err(|e| self.err(e))?;
            if tables > 0 {
                return Err(StateError::Corrupt {
                    path: self.path.clone(),
                    message: "an SQLite database of another program".into(),
                });
            }
        }
        for (i, sql) in schema::MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(version).unwrap_or(usize::MAX))
        {
            self.conn
                .execute_batch(sql)
                .and_then(|()| {
                    let version = i64::try_from(i + 1).unwrap_or(i64::MAX);
                    self.conn.pragma_update(None, "user_version", version)
                })
                .map_err(|e| match self.err(e) {
                    StateError::Io(message) => {
                        StateError::Io(format!("migration {} of {message}", i + 1))
                    }
                    damaged => damaged,
                })?;
        }
        Ok(())
    }

    /// Checks the whole file for damage (`PRAGMA quick_check`).
    ///
    /// # Errors
    ///
    /// A [`StateError`] when the database is damaged.
    pub fn verify(&self) -> Result<(), StateError> {
        let result: String = self
            .conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if result == "ok" {
            Ok(())
        } else {
            Err(StateError::Corrupt {
                path: self.path.clone(),
                message: result,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Store, create_whole, keep_out_of_git, utc};

    #[test]
    fn a_new_store_is_put_in_place_whole_and_one_there_first_stands() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".bmad/state.db");
        let store = Store::open(&path).unwrap();
        assert!(store.runs().unwrap().is_empty());
        drop(store);
        // Only the store (and SQLite's own files) beside it: nothing half made.
        let names: Vec<String> = std::fs::read_dir(dir.path().join(".bmad"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("making"))
            .collect();
        assert!(names.is_empty(), "{names:?}");
        // Another bmad's, put there first, is not replaced.
        let before = std::fs::read(&path).unwrap();
        create_whole(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[cfg(unix)]
    #[test]
    fn the_gitignore_is_never_written_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("planted");
        std::os::unix::fs::symlink(&target, dir.path().join(".gitignore")).unwrap();
        keep_out_of_git(dir.path()).unwrap();
        assert!(
            !target.exists(),
            "nothing written through the dangling link"
        );
        let fresh = tempfile::tempdir().unwrap();
        keep_out_of_git(fresh.path()).unwrap();
        keep_out_of_git(fresh.path()).unwrap();
        let text = std::fs::read_to_string(fresh.path().join(".gitignore")).unwrap();
        assert!(text.ends_with("*\n"), "{text}");
    }

    #[test]
    fn utc_gives_calendar_dates_and_times() {
        let s = |ms| {
            let (d, t) = utc(ms);
            format!("{d} {t}")
        };
        assert_eq!(s(0), "1970-01-01 00:00:00");
        assert_eq!(s(1_795_527_907_000), "2026-11-24 13:45:07");
        assert_eq!(s(951_782_400_000), "2000-02-29 00:00:00");
    }
}
