//! State files across releases, and runs that keep none: a file written by the release
//! before issue 21 (schema 4, tests/fixtures/state-v4) and one by the release before the
//! log's pages (schema 7, tests/fixtures/state-v7) are migrated when they are opened and
//! read as those releases read them (runs, shown runs, logs, steps), and a failed run in
//! the oldest resumes; `--state none` writes no state file and refuses a resume.

use crate::common;

use bmad::runtime::{RunOptions, Runner};
use bmad::state::Store;
use common::bmad;
use std::path::{Path, PathBuf};

/// The fixture of schema `version` (4 or 7).
fn fixture_of(version: u32) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/state-v{version}"))
}

/// The schema-4 fixture.
fn fixture_dir() -> PathBuf {
    fixture_of(4)
}

/// A workspace holding a copy of the state file of schema `version`.
fn workspace_with_file_of(version: u32) -> tempfile::TempDir {
    let ws = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(ws.path().join(".bmad")).unwrap();
    std::fs::copy(
        fixture_of(version).join("state.db"),
        ws.path().join(".bmad/state.db"),
    )
    .unwrap();
    ws
}

/// A workspace holding a copy of the schema-4 state file.
fn workspace_with_old_file() -> tempfile::TempDir {
    workspace_with_file_of(4)
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn stdout_of(args: &[&str]) -> String {
    let out = bmad(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_state_file_of_the_release_before_issue_21_is_migrated_and_reads_the_same() {
    migrated_and_read_the_same(4);
}

#[test]
fn a_state_file_of_the_release_before_the_log_pages_is_migrated_and_reads_the_same() {
    migrated_and_read_the_same(7);
}

/// Opens a copy of the fixture of schema `version` and checks that the current bmad says
/// of it what the release that wrote it said.
fn migrated_and_read_the_same(version: u32) {
    let ws = workspace_with_file_of(version);
    let w = ws.path().to_str().unwrap();
    let expected = fixture_of(version).join("expected");

    let runs = stdout_of(&["runs", "--workspace", w, "--format", "json"]);
    let want = std::fs::read_to_string(fixture_of(version).join("runs.json")).unwrap();
    assert_eq!(json_lines(&runs), json_lines(&want));
    let ids: Vec<String> = json_lines(&want)
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 5);

    for id in &ids {
        let shown = stdout_of(&["runs", "--workspace", w, "show", id, "--format", "json"]);
        let mut shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
        let want = std::fs::read_to_string(expected.join(format!("{id}.show.json"))).unwrap();
        let mut want: serde_json::Value = serde_json::from_str(&want).unwrap();
        // The usage summary is the report's to compute, not the store's to keep.
        for v in [&mut shown, &mut want] {
            v.as_object_mut().unwrap().remove("usage");
        }
        // The approvals came to `runs show` after the release that wrote the schema-4 file:
        // none of the runs asked for one.
        let approvals = shown.as_object_mut().unwrap().remove("approvals");
        assert_eq!(approvals, Some(serde_json::json!([])), "runs show {id}");
        want.as_object_mut().unwrap().remove("approvals");
        assert_eq!(shown, want, "runs show {id}");
        let log = stdout_of(&["runs", "--workspace", w, "log", id, "--format", "json"]);
        let want = std::fs::read_to_string(expected.join(format!("{id}.log.json"))).unwrap();
        assert_eq!(json_lines(&log), json_lines(&want), "runs log {id}");
    }

    // What a resume reads: the steps that ended and those in flight.
    let steps: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(expected.join("steps.json")).unwrap())
            .unwrap();
    let store = Store::open(&ws.path().join(".bmad/state.db")).unwrap();
    for id in &ids {
        let finished: Vec<serde_json::Value> = store
            .finished_steps(id)
            .unwrap()
            .into_iter()
            .map(|s| {
                serde_json::json!({
                    "key": s.key, "ok": s.ok, "validation": s.validation, "feedback": s.feedback
                })
            })
            .collect();
        assert_eq!(
            serde_json::Value::from(finished),
            steps[id]["finished"],
            "{id}"
        );
        assert_eq!(
            serde_json::to_value(store.steps_in_flight(id).unwrap()).unwrap(),
            steps[id]["in_flight"],
            "{id}"
        );
    }
    let killed = &ids[0];
    assert_eq!(store.steps_in_flight(killed).unwrap().len(), 2);
    store.verify().unwrap();
    drop(store);

    // Opened again, it is not migrated twice.
    assert_eq!(
        json_lines(&stdout_of(&["runs", "--workspace", w, "--format", "json"])).len(),
        5
    );
}

#[test]
fn a_failed_run_in_a_migrated_file_resumes_without_redoing_what_ended() {
    let ws = workspace_with_old_file();
    let store = Store::open(&ws.path().join(".bmad/state.db")).unwrap();
    let failed = store
        .runs()
        .unwrap()
        .into_iter()
        .find(|r| r.workflow.ends_with("failing.bmad"))
        .unwrap();
    assert_eq!(failed.status, bmad::state::RunStatus::Failed);
    let src = std::fs::read_to_string(fixture_dir().join("failing.bmad")).unwrap();
    let checked = bmad::check_text("failing.bmad", &src);
    assert!(!checked.has_errors());
    // The checker passes now; the writer would leave runs.txt if it ran again.
    std::fs::write(ws.path().join("ok"), "").unwrap();
    let mut runner = Runner::new(
        checked.program,
        RunOptions {
            workspace: ws.path().to_path_buf(),
            ..Default::default()
        },
    )
    .unwrap();
    // --force: the draft it recorded is not in this workspace.
    let resumed = runner.resume(store, &failed, true).unwrap();
    assert_eq!(resumed.finished, 1, "draft/0 ended");
    assert!(resumed.in_flight.is_empty());
    assert_eq!(resumed.changed, vec!["/docs/draft.md: missing".to_string()]);
    let report = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(runner.run());
    assert!(report.ok, "{:?}", report.failed);
    drop(runner);
    assert!(!ws.path().join("runs.txt").exists(), "the writer ran again");

    let store = Store::open(&ws.path().join(".bmad/state.db")).unwrap();
    let run = store.run(&failed.id).unwrap();
    assert_eq!(
        (run.status, run.segments),
        (bmad::state::RunStatus::Succeeded, 2)
    );
    let finished: Vec<String> = store
        .finished_steps(&run.id)
        .unwrap()
        .into_iter()
        .filter(|s| s.ok)
        .map(|s| s.key)
        .collect();
    assert_eq!(finished, ["draft/0", "review/0"]);
}

#[test]
fn a_run_with_state_none_writes_no_state_file_and_cannot_be_resumed() {
    let ws = tempfile::tempdir().unwrap();
    let w = ws.path().to_str().unwrap();
    let out = bmad(&[
        "run",
        "--simulate",
        "examples/seed-product.bmad",
        "--workspace",
        w,
        "--state",
        "none",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("run not recorded (--state none)"),
        "{stderr}"
    );
    assert!(!ws.path().join(".bmad/state.db").exists());
    assert!(!Path::new(env!("CARGO_MANIFEST_DIR")).join("none").exists());

    let out = bmad(&[
        "run",
        "--simulate",
        "examples/seed-product.bmad",
        "--workspace",
        w,
        "--state",
        "none",
        "--resume",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr
            .contains("--resume continues a run from its state file, and --state none keeps none"),
        "{stderr}"
    );
    assert!(!ws.path().join(".bmad/state.db").exists());
}
