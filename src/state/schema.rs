//! The state database's schema: an ordered list of migrations; `PRAGMA user_version` holds
//! how many have been applied. Migration 5 (issue 21) is the write path sized for the
//! scheduler: a run's rows carry its integer key (`runs.rid`), not its text id; steps and
//! stories are numbered in the order they start or join, so every insert lands at the end
//! of its table; the board moves ride on the events that move them (no row of their own).
//! Migration 7 keys those rows by one integer each (the run's key and the row's number in
//! the run), so that they go into rowid tables. Migration 8 keeps the log in pages, a row
//! per commit with an event a line.

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
    // 5: integer keys, appends. Runs get an integer key `rid`. The log (`events`) is keyed
    // (rid, seq) and carries the board: the story an event moves (`story`: its number on
    // the board) and the column it moves it to (`moved`). `stories` only names the board's
    // stories, numbered as they joined; a story's column is the last event that moved it
    // (backlog before any). `steps` holds one row per start of a step, numbered (`n`) in
    // the order they started and updated in place when the step ends: `ok` NULL while it
    // runs; the newest row of a key is how that step stands. Earlier files are copied over:
    // each story's last move is marked on the event that made it, steps are numbered by
    // when they started.
    r"
ALTER TABLE runs RENAME TO runs_v4;
CREATE TABLE runs (
  rid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
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
  segments INTEGER NOT NULL DEFAULT 1,
  kind TEXT NOT NULL DEFAULT 'run'
);
INSERT INTO runs (id, workflow, workflow_sha256, workspace, simulate, seed, status, reason,
  started_ms, updated_ms, ended_ms, pid, segments, kind)
  SELECT id, workflow, workflow_sha256, workspace, simulate, seed, status, reason,
  started_ms, updated_ms, ended_ms, pid, segments, kind FROM runs_v4 ORDER BY started_ms, id;
DROP TABLE runs_v4;

ALTER TABLE stories RENAME TO stories_v4;
CREATE TABLE stories (
  run INTEGER NOT NULL,
  n INTEGER NOT NULL,
  story TEXT NOT NULL,
  PRIMARY KEY (run, n)
) WITHOUT ROWID;
CREATE TABLE stories_numbered_v4 AS SELECT r.rid AS run, s.run_id, s.story, s.status, s.seq,
  row_number() OVER (PARTITION BY s.run_id ORDER BY s.rowid) AS n
  FROM stories_v4 s JOIN runs r ON r.id = s.run_id;
INSERT INTO stories (run, n, story) SELECT run, n, story FROM stories_numbered_v4 ORDER BY run, n;
CREATE INDEX stories_numbered_v4_moved ON stories_numbered_v4 (run_id, seq);

ALTER TABLE events RENAME TO events_v4;
CREATE TABLE events (
  run INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  wall_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  step TEXT,
  story INTEGER,
  moved TEXT,
  data TEXT NOT NULL,
  PRIMARY KEY (run, seq)
) WITHOUT ROWID;
INSERT OR IGNORE INTO events (run, seq, at_ms, wall_ms, kind, step, story, moved, data)
  SELECT r.rid, e.seq, e.at_ms, e.wall_ms, e.kind, e.step, m.n, m.status, e.data
  FROM events_v4 e JOIN runs r ON r.id = e.run_id
  LEFT JOIN stories_numbered_v4 m
    ON m.run_id = e.run_id AND m.seq = e.seq AND m.status != 'backlog'
  ORDER BY r.rid, e.seq;
DROP TABLE events_v4;
DROP TABLE stories_numbered_v4;
DROP TABLE stories_v4;

ALTER TABLE steps RENAME TO steps_v4;
CREATE TABLE steps (
  run INTEGER NOT NULL,
  n INTEGER NOT NULL,
  key TEXT NOT NULL,
  ok INTEGER,
  validation INTEGER NOT NULL DEFAULT 0,
  feedback TEXT,
  PRIMARY KEY (run, n)
) WITHOUT ROWID;
INSERT INTO steps (run, n, key, ok, validation, feedback)
  SELECT r.rid,
  row_number() OVER (PARTITION BY s.run_id ORDER BY s.started_seq, s.key),
  s.key, CASE WHEN s.status = 'running' THEN NULL ELSE s.ok END, s.validation, s.feedback
  FROM steps_v4 s JOIN runs r ON r.id = s.run_id ORDER BY r.rid;
DROP TABLE steps_v4;
",
    // 6: the prompt each task was given, beside what its agent printed (masked and capped
    // like the transcript), for a step's page in `bmad serve`.
    r"
ALTER TABLE transcripts ADD COLUMN prompt TEXT;
",
    // 7: one integer key for each row a run writes per task: `id` = (the run's rid << 40)
    // + its number in the run (an event's seq, a step's or a story's number, a
    // transcript's in the order they were kept). A rowid table's append is cheaper than a
    // composite key's, and a run's rows are one range of ids.
    r"
ALTER TABLE events RENAME TO events_v6;
CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  at_ms INTEGER NOT NULL,
  wall_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  step TEXT,
  story INTEGER,
  moved TEXT,
  data TEXT NOT NULL
);
INSERT INTO events (id, at_ms, wall_ms, kind, step, story, moved, data)
  SELECT (run << 40) + seq, at_ms, wall_ms, kind, step, story, moved, data FROM events_v6
  ORDER BY run, seq;
DROP TABLE events_v6;

ALTER TABLE steps RENAME TO steps_v6;
CREATE TABLE steps (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL,
  ok INTEGER,
  validation INTEGER NOT NULL DEFAULT 0,
  feedback TEXT
);
INSERT INTO steps (id, key, ok, validation, feedback)
  SELECT (run << 40) + n, key, ok, validation, feedback FROM steps_v6 ORDER BY run, n;
DROP TABLE steps_v6;

ALTER TABLE stories RENAME TO stories_v6;
CREATE TABLE stories (
  id INTEGER PRIMARY KEY,
  story TEXT NOT NULL
);
INSERT INTO stories (id, story) SELECT (run << 40) + n, story FROM stories_v6 ORDER BY run, n;
DROP TABLE stories_v6;

ALTER TABLE transcripts RENAME TO transcripts_v6;
CREATE TABLE transcripts (
  id INTEGER PRIMARY KEY,
  seq INTEGER NOT NULL,
  step TEXT NOT NULL,
  agent TEXT NOT NULL,
  tasks TEXT NOT NULL,
  story TEXT,
  attempt INTEGER NOT NULL,
  ok INTEGER NOT NULL,
  stdout TEXT NOT NULL,
  stderr TEXT NOT NULL,
  wall_ms INTEGER NOT NULL,
  prompt TEXT
);
INSERT INTO transcripts (id, seq, step, agent, tasks, story, attempt, ok, stdout, stderr,
  wall_ms, prompt)
  SELECT (r.rid << 40) + row_number() OVER (PARTITION BY t.run_id ORDER BY t.seq, t.rowid),
  t.seq, t.step, t.agent, t.tasks, t.story, t.attempt, t.ok, t.stdout, t.stderr, t.wall_ms,
  t.prompt
  FROM transcripts_v6 t JOIN runs r ON r.id = t.run_id ORDER BY r.rid, t.seq, t.rowid;
DROP TABLE transcripts_v6;
",
    // 8: the log and the progress in pages: a row of `log` holds the events one commit
    // brought, one JSON object a line (`seq`, `at_ms`, `wall_ms`, `kind`, `step`, `story`,
    // `moved` and the event itself as `data`), keyed by (the run's rid << 40) + the seq of
    // its last event; a row of `progress` holds the step starts and ends and the stories
    // joining the board that one commit brought, a line each, in the order written. A
    // task's records cost a line each, not a row each. Earlier files are copied over a
    // record a page: the stories, then each step start with its end.
    r"
CREATE TABLE log (
  id INTEGER PRIMARY KEY,
  events TEXT NOT NULL
);
INSERT INTO log (id, events)
  SELECT id, json_object('seq', id & 1099511627775, 'at_ms', at_ms, 'wall_ms', wall_ms,
  'kind', kind, 'step', step, 'story', story, 'moved', moved,
  'data', CASE WHEN json_valid(data) THEN json(data) ELSE data END)
  FROM events ORDER BY id;
DROP TABLE events;
CREATE TABLE progress (
  page INTEGER PRIMARY KEY,
  run INTEGER NOT NULL,
  records TEXT NOT NULL
);
CREATE INDEX progress_run ON progress (run, page);
INSERT INTO progress (run, records)
  SELECT id >> 40, json_object('story', id & 1099511627775, 'name', story)
  FROM stories ORDER BY id;
INSERT INTO progress (run, records)
  SELECT id >> 40, json_object('start', id & 1099511627775, 'key', key,
  'ok', CASE WHEN ok IS NULL THEN NULL WHEN ok THEN json('true') ELSE json('false') END,
  'validation', CASE WHEN validation THEN json('true') ELSE json('false') END,
  'feedback', feedback)
  FROM steps ORDER BY id;
DROP TABLE stories;
DROP TABLE steps;
",
];

/// The tables the first `version` migrations leave (made, renamed, not dropped): a file
/// claiming that version has them all, or it is not (or no longer) a bmad state database.
pub(super) fn tables_of(version: usize) -> Vec<&'static str> {
    let mut tables: Vec<&'static str> = Vec::new();
    let word = |text: &'static str| {
        text.split([' ', '(', '\n', ';'])
            .find(|w| !w.is_empty())
            .unwrap_or("")
    };
    for statement in MIGRATIONS
        .iter()
        .take(version)
        .flat_map(|sql| sql.split(';'))
    {
        let statement = statement.trim();
        if let Some(rest) = statement.strip_prefix("CREATE TABLE ") {
            tables.push(word(rest));
        } else if let Some(rest) = statement.strip_prefix("DROP TABLE ") {
            let gone = word(rest);
            tables.retain(|t| *t != gone);
        } else if let Some(rest) = statement.strip_prefix("ALTER TABLE ")
            && let Some((from, to)) = rest.split_once(" RENAME TO ")
        {
            let (from, to) = (word(from), word(to));
            for t in &mut tables {
                if *t == from {
                    *t = to;
                }
            }
        }
    }
    tables
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
        // Tables a migration renames, copies over and drops are not looked for.
        assert!(!all.iter().any(|t| t.ends_with("_v4")), "{all:?}");
    }
}
