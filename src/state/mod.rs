//! The run state store: one SQLite database (WAL mode, schema versioned by migrations) that
//! holds every run's append-only event log, its steps (what a resume skips), the story
//! board, artifact hashes, the shared state with its audit trail, and checkpoints.
//! `.bmad/state.db` under the workspace by default.

mod read;
mod schema;
mod write;

pub use read::{AuditEntry, BoardEntry, Checkpoint, FinishedStep, RunInfo, StoredEvent};
pub use write::NewRun;

use rusqlite::Connection;
use std::fmt;
use std::path::{Path, PathBuf};

/// The state file's place under a workspace when `--state` does not say.
pub const DEFAULT_STATE_PATH: &str = ".bmad/state.db";

/// Why the state store cannot be used.
#[derive(Debug, Clone, PartialEq)]
pub enum StateError {
    /// The file cannot be opened or created.
    Open {
        /// The state file.
        path: PathBuf,
        /// What the system said.
        message: String,
    },
    /// The file is not a bmad state database, or it is damaged (corrupted, truncated).
    Corrupt {
        /// The state file.
        path: PathBuf,
        /// What SQLite found.
        message: String,
    },
    /// The file was written by a newer bmad whose schema this one does not know.
    TooNew {
        /// The state file.
        path: PathBuf,
        /// Its schema version.
        found: i64,
        /// The newest this bmad knows.
        known: i64,
    },
    /// No run with that id (or id prefix).
    NoRun(String),
    /// An id prefix that more than one run starts with.
    Ambiguous(String, Vec<String>),
    /// A read or write failed.
    Io(String),
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Open { path, message } => {
                write!(
                    f,
                    "cannot open the state file `{}`: {message}",
                    path.display()
                )
            }
            StateError::Corrupt { path, message } => write!(
                f,
                "the state file `{}` is damaged or not a bmad state database ({message}); \
                 move it away to start afresh, or restore it from a backup",
                path.display()
            ),
            StateError::TooNew { path, found, known } => write!(
                f,
                "the state file `{}` has schema version {found}, newer than this bmad \
                 knows ({known}); use a newer bmad",
                path.display()
            ),
            StateError::NoRun(id) => write!(f, "no run `{id}` in the state file"),
            StateError::Ambiguous(id, all) => {
                write!(f, "run id `{id}` is ambiguous: {}", all.join(", "))
            }
            StateError::Io(m) => write!(f, "state store: {m}"),
        }
    }
}

impl std::error::Error for StateError {}

/// An open state database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Whether a write transaction is open.
    in_tx: bool,
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Store {
    /// Opens (or creates) the state database at `path`, in WAL mode, migrated to the
    /// current schema. A file that is not a state database, or is damaged, is an error.
    pub fn open(path: &Path) -> Result<Store, StateError> {
        let open_err = |message: String| StateError::Open {
            path: path.to_path_buf(),
            message,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| open_err(e.to_string()))?;
        }
        let conn = Connection::open(path).map_err(|e| open_err(e.to_string()))?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            in_tx: false,
        };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The error for a failed SQLite call: damage and foreign files are named as such.
    pub(crate) fn err(&self, e: rusqlite::Error) -> StateError {
        use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
        match e.sqlite_error_code() {
            Some(DatabaseCorrupt | NotADatabase) => StateError::Corrupt {
                path: self.path.clone(),
                message: e.to_string(),
            },
            _ => StateError::Io(e.to_string()),
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

    fn migrate(&mut self) -> Result<(), StateError> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        let known = schema::MIGRATIONS.len() as i64;
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
        for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = self
                .conn
                .transaction()
                .map_err(|e| StateError::Io(e.to_string()))?;
            tx.execute_batch(sql)
                .and_then(|()| tx.pragma_update(None, "user_version", i as i64 + 1))
                .and_then(|()| tx.commit())
                .map_err(|e| StateError::Io(format!("migration {}: {e}", i + 1)))?;
        }
        Ok(())
    }

    /// Checks the whole file for damage (`PRAGMA quick_check`).
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
