//! The state database's schema: an ordered list of migrations; `PRAGMA user_version` holds
//! how many have been applied.

/// Each migration brings the schema from version `i` to `i + 1`. Append only: a released
/// migration never changes.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: runs, the append-only event log, steps for resuming, the story board, artifact
    // hashes, shared state with its audit trail, checkpoints and manual sync requests.
    r"
CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  workflow TEXT NOT NULL,
  workflow_sha256 TEXT NOT NULL,
  workspace TEXT NOT NULL,
  simulate INTEGER NOT NULL,
  seed INTEGER NOT NULL,
  status TEXT NOT NULL,
  reason TEXT,
  started_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  ended_ms INTEGER,
  pid INTEGER,
  segments INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE events (
  run_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  wall_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  step TEXT,
  data TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE TABLE steps (
  run_id TEXT NOT NULL,
  key TEXT NOT NULL,
  status TEXT NOT NULL,
  ok INTEGER,
  validation INTEGER NOT NULL DEFAULT 0,
  feedback TEXT,
  started_seq INTEGER NOT NULL,
  finished_seq INTEGER,
  PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
CREATE TABLE stories (
  run_id TEXT NOT NULL,
  story TEXT NOT NULL,
  status TEXT NOT NULL,
  seq INTEGER NOT NULL,
  reason TEXT,
  UNIQUE (run_id, story)
);
CREATE TABLE artifacts (
  run_id TEXT NOT NULL,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (run_id, path)
) WITHOUT ROWID;
CREATE TABLE state (
  run_id TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  writer TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
CREATE TABLE state_audit (
  run_id TEXT NOT NULL,
  key TEXT NOT NULL,
  old_value TEXT NOT NULL,
  old_writer TEXT NOT NULL,
  new_value TEXT NOT NULL,
  new_writer TEXT NOT NULL,
  seq INTEGER NOT NULL
);
CREATE INDEX state_audit_run ON state_audit (run_id, seq);
CREATE TABLE checkpoints (
  run_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  reason TEXT NOT NULL,
  wall_ms INTEGER NOT NULL,
  snapshot TEXT NOT NULL
);
CREATE INDEX checkpoints_run ON checkpoints (run_id, seq);
CREATE TABLE sync_requests (
  run_id TEXT NOT NULL,
  requested_ms INTEGER NOT NULL,
  done_ms INTEGER
);
",
    // 2: what a run is: a workflow `run`, or a `monitor` session (`bmad monitor`), which is
    // never resumed.
    r"
ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'run';
",
    // 3: what each task's agent printed (`bmad runs log`), each stream capped.
    r"
CREATE TABLE transcripts (
  run_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  step TEXT NOT NULL,
  agent TEXT NOT NULL,
  tasks TEXT NOT NULL,
  story TEXT,
  attempt INTEGER NOT NULL,
  ok INTEGER NOT NULL,
  stdout TEXT NOT NULL,
  stderr TEXT NOT NULL,
  wall_ms INTEGER NOT NULL
);
CREATE INDEX transcripts_run ON transcripts (run_id, seq);
",
    // 4: approvals a run waits for (a manual gate, an `approve` step), answered from
    // another process (`bmad approve`); the attempt they were asked for.
    r"
CREATE TABLE approvals (
  run_id TEXT NOT NULL,
  target TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  prompt TEXT,
  who TEXT,
  asked_ms INTEGER NOT NULL,
  approved INTEGER,
  reason TEXT,
  answered_by TEXT,
  answered_ms INTEGER,
  PRIMARY KEY (run_id, target)
) WITHOUT ROWID;
",
];

/// The tables the first `version` migrations create: a file claiming that version has
/// them all, or it is not (or no longer) a bmad state database.
pub(super) fn tables_of(version: usize) -> Vec<&'static str> {
    MIGRATIONS
        .iter()
        .take(version)
        .flat_map(|sql| sql.split("CREATE TABLE ").skip(1))
        .filter_map(|rest| rest.split([' ', '(', '\n']).next())
        .filter(|name| !name.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_tables_of_each_version_are_the_ones_its_migrations_create() {
        assert_eq!(super::tables_of(0), Vec::<&str>::new());
        let first = super::tables_of(1);
        assert_eq!(first.first(), Some(&"runs"));
        assert!(first.contains(&"sync_requests"), "{first:?}");
        let all = super::tables_of(super::MIGRATIONS.len());
        assert!(
            all.contains(&"transcripts") && all.contains(&"approvals"),
            "{all:?}"
        );
    }
}
