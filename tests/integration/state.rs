//! The state store seen from the command line: runs recorded and listed, a run shown with
//! its board and timeline, resumes refused when artifacts or the workflow changed, damaged
//! state files reported (never a panic), `bmad sync` checkpoints, and shared state
//! conflicts audited and told to the agents concerned.

use crate::common;

use crate::harness::wait_until;
use bmad::state::Store;
use common::bmad;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ws_arg(ws: &Path) -> &str {
    ws.to_str().expect("utf-8 path")
}

/// A simulated run of an example in `ws`; its id.
fn simulate(example: &str, ws: &Path) -> String {
    let out = bmad(&["run", "--simulate", example, "--workspace", ws_arg(ws)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let store = Store::open(&ws.join(".bmad/state.db")).unwrap();
    store.runs().unwrap()[0].id.clone()
}

#[test]
fn runs_are_listed_and_shown_with_board_checkpoints_and_timeline() {
    let ws = tempfile::tempdir().unwrap();
    let id = simulate("examples/seed-product.bmad", ws.path());
    assert!(ws.path().join(".bmad/.gitignore").exists());

    let out = bmad(&["runs", "--workspace", ws_arg(ws.path())]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout.starts_with("RUN "), "{stdout}");
    assert!(
        stdout.contains(&id) && stdout.contains("succeeded"),
        "{stdout}"
    );

    let out = bmad(&["runs", "--workspace", ws_arg(ws.path()), "--format", "json"]);
    let run: serde_json::Value =
        serde_json::from_str(text(&out).0.lines().next().unwrap()).unwrap();
    assert_eq!(run["id"], id.as_str());
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["simulate"], true);

    // A prefix of the id is enough.
    let out = bmad(&["runs", "--workspace", ws_arg(ws.path()), "show", &id[..12]]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for line in [
        format!("run        {id}"),
        "status     succeeded".into(),
        "  done            3  3.6.15, 3.6.16, 3.6.17".into(),
        "  blocked         0".into(),
    ] {
        assert!(stdout.contains(&line), "{line:?} missing:\n{stdout}");
    }
    assert!(
        stdout.contains("] pm -> architect (/docs/requirements/prd.md)"),
        "{stdout}"
    );

    let out = bmad(&[
        "runs",
        "--workspace",
        ws_arg(ws.path()),
        "show",
        &id,
        "--format",
        "json",
    ]);
    let shown: serde_json::Value = serde_json::from_str(&text(&out).0).unwrap();
    let board = shown["board"].as_array().unwrap();
    assert_eq!(board.len(), 3);
    assert!(board.iter().all(|b| b["status"] == "done"));
    // The seed checkpoints at every sync point: handoffs and phase completions at least.
    let reasons: Vec<&str> = shown["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["reason"].as_str().unwrap())
        .collect();
    for r in ["agent_handoff", "phase_completion"] {
        assert!(reasons.contains(&r), "{reasons:?}");
    }
    // The handoff message: from, to, wall-clock time, artifacts with their sha256.
    let handoff = shown["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "handoff")
        .unwrap();
    assert_eq!(handoff["data"]["from"], "pm");
    assert_eq!(handoff["data"]["to"], "architect");
    assert!(handoff["wall_ms"].as_i64().unwrap() > 1_700_000_000_000);
    let prd = std::fs::read(ws.path().join("docs/requirements/prd.md")).unwrap();
    assert_eq!(
        handoff["data"]["artifacts"][0]["sha256"],
        bmad::runtime::digest::sha256_bytes(&prd).as_str()
    );
    // The receiver's context is in the shared state.
    let state = shown["state"].as_array().unwrap();
    assert!(
        state
            .iter()
            .any(|s| s["key"] == "context/architect" && s["writer"] == "pm")
    );
}

/// A run of exec agents whose second phase fails until `ok` exists in the workspace.
fn failing_workflow(dir: &Path) -> std::path::PathBuf {
    let file = dir.join("w.bmad");
    std::fs::write(
        &file,
        r#"
agent writer { backend exec "echo drafted; echo x >> runs.txt" }
agent checker { backend exec "test -f ok" }
workflow w { start draft }
phase draft {
  writer: write {
    produces draft = "/docs/draft.md"
  }
}
phase review after draft {
  checker: review_draft
}
"#,
    )
    .unwrap();
    file
}

#[test]
fn a_failed_run_resumes_without_redoing_what_ended_and_refuses_changed_artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let file = failing_workflow(dir.path());
    let f = file.to_str().unwrap();
    let out = bmad(&["run", f, "--workspace", ws_arg(&ws)]);
    assert_eq!(out.status.code(), Some(1), "the review fails");

    // The draft changes behind the run's back: the resume says so before running anything.
    std::fs::write(ws.join("docs/draft.md"), "edited by hand\n").unwrap();
    std::fs::write(ws.join("ok"), "").unwrap();
    let out = bmad(&["run", f, "--workspace", ws_arg(&ws), "--resume"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("/docs/draft.md: changed (recorded sha256"),
        "{stderr}"
    );
    assert!(stderr.contains("--force"), "{stderr}");

    // --force goes on with the artifact as it is; the writer does not run again.
    let out = bmad(&["run", f, "--workspace", ws_arg(&ws), "--resume", "--force"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stderr.contains("WARN artifact /docs/draft.md: changed"),
        "{stderr}"
    );
    assert!(stderr.contains("resuming run"), "{stderr}");
    assert_eq!(std::fs::read_to_string(ws.join("runs.txt")).unwrap(), "x\n");
    assert_eq!(
        std::fs::read_to_string(ws.join("docs/draft.md")).unwrap(),
        "edited by hand\n"
    );

    // Nothing is left to resume.
    let out = bmad(&["run", f, "--workspace", ws_arg(&ws), "--resume"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("no unfinished run"), "{stderr}");

    let store = Store::open(&ws.join(".bmad/state.db")).unwrap();
    let runs = store.runs().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].status.as_str(), runs[0].segments),
        ("succeeded", 2)
    );
}

#[test]
fn a_resume_of_a_changed_workflow_needs_force() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let file = failing_workflow(dir.path());
    let f = file.to_str().unwrap();
    assert_eq!(
        bmad(&["run", f, "--workspace", ws_arg(&ws)]).status.code(),
        Some(1)
    );
    let edited = std::fs::read_to_string(&file).unwrap() + "// a comment\n";
    std::fs::write(&file, edited).unwrap();
    let out = bmad(&["run", f, "--workspace", ws_arg(&ws), "--resume"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("the workflow changed since run"),
        "{stderr}"
    );
    // A real run is not resumed as a simulation, nor elsewhere.
    let out = bmad(&[
        "run",
        "--simulate",
        f,
        "--workspace",
        ws_arg(&ws),
        "--resume",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out)
            .1
            .contains("was a real run; resume it without --simulate")
    );
    let elsewhere = dir.path().join("elsewhere");
    let state = ws.join(".bmad/state.db");
    let out = bmad(&[
        "run",
        f,
        "--workspace",
        ws_arg(&elsewhere),
        "--state",
        state.to_str().unwrap(),
        "--resume",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).1.contains("ran in the workspace"),
        "{}",
        text(&out).1
    );
    // A run id that is not there.
    let out = bmad(&["run", f, "--workspace", ws_arg(&ws), "--resume", "19990101"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("no run `19990101`"));
}

#[test]
fn damaged_or_foreign_state_files_are_reported_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    // Not a database at all.
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![0x5a; 8192]).unwrap();
    let out = bmad(&[
        "run",
        "--simulate",
        "examples/hello.bmad",
        "--workspace",
        ws_arg(dir.path()),
        "--state",
        garbage.to_str().unwrap(),
    ]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("is damaged or not a bmad state database"),
        "{stderr}"
    );

    // Someone else's SQLite database.
    let foreign = dir.path().join("foreign.db");
    let conn = rusqlite::Connection::open(&foreign).unwrap();
    conn.execute_batch("CREATE TABLE t (x)").unwrap();
    drop(conn);
    let err = Store::open(&foreign).err().expect("refused");
    assert!(err.to_string().contains("another program"), "{err}");
    // ... and left as it was: not switched to WAL (bytes 18 and 19 of the header are 1 for
    // a rollback journal, 2 for WAL), no journal file beside it.
    let header = std::fs::read(&foreign).unwrap();
    assert_eq!(&header[18..20], [1, 1]);
    assert!(!dir.path().join("foreign.db-wal").exists());

    // An empty file: refused, never replaced by a new store.
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, "").unwrap();
    let err = Store::open(&empty).err().expect("refused");
    assert!(
        err.to_string().contains("the file is empty (0 bytes)")
            && err.to_string().contains("empty.db"),
        "{err}"
    );
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);

    // From a newer bmad.
    let newer = dir.path().join("newer.db");
    drop(Store::open(&newer).unwrap());
    let conn = rusqlite::Connection::open(&newer).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = Store::open(&newer).err().expect("refused");
    assert!(err.to_string().contains("schema version 99"), "{err}");

    // A damaged page of the log: the error names the file and the damage.
    let ws = dir.path().join("rows");
    let id = simulate("examples/hello.bmad", &ws);
    let state = ws.join(".bmad/state.db");
    let conn = rusqlite::Connection::open(&state).unwrap();
    // The log's first page: its first line cut short.
    conn.execute_batch(
        "UPDATE log SET events = substr(events, 1, 20) WHERE id = (SELECT min(id) FROM log)",
    )
    .unwrap();
    drop(conn);
    let out = bmad(&["runs", "--workspace", ws_arg(&ws), "show", &id]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("rows/.bmad/state.db") && stderr.contains("a damaged page of the log"),
        "{stderr}"
    );

    // A real state file cut in half.
    let ws = dir.path().join("ws");
    let id = simulate("examples/seed-product.bmad", &ws);
    let state = ws.join(".bmad/state.db");
    let len = std::fs::metadata(&state).unwrap().len();
    assert!(len > 16 * 1024, "{len} bytes");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&state)
        .unwrap();
    f.set_len(len / 2).unwrap();
    drop(f);
    let out = bmad(&["runs", "--workspace", ws_arg(&ws), "show", &id]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("damaged"), "{stderr}");
    let out = bmad(&[
        "run",
        "--simulate",
        "examples/seed-product.bmad",
        "--workspace",
        ws_arg(&ws),
        "--resume",
        &id,
    ]);
    let (_, stderr) = text(&out);
    assert!(matches!(out.status.code(), Some(1 | 2)), "{stderr}");
    assert!(stderr.contains("damaged"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bmad_sync_takes_a_checkpoint_of_a_running_run_and_of_a_stopped_one() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let file = dir.path().join("slow.bmad");
    std::fs::write(
        &file,
        r#"
agent worker { backend exec "sleep 3" }
sync {
  at manual_trigger
}
phase work {
  worker: work
}
"#,
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bmad"))
        .args(["run", file.to_str().unwrap(), "--workspace", ws_arg(&ws)])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the run to be recorded.
    let state = ws.join(".bmad/state.db");
    let started = wait_until(Duration::from_secs(10), || {
        common::store_once_written(&state)
            .and_then(|s| s.runs().ok())
            .is_some_and(|r| !r.is_empty())
    });
    assert!(started, "the run never started");
    let out = bmad(&["sync", "--workspace", ws_arg(&ws)]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.starts_with("checkpoint of run "), "{stdout}");
    assert!(child.wait().unwrap().success());

    let store = Store::open(&state).unwrap();
    let run = store.runs().unwrap().remove(0);
    let reasons: Vec<String> = store
        .checkpoints(&run.id)
        .unwrap()
        .into_iter()
        .map(|c| c.reason)
        .collect();
    // The one sync point it declares, and the run's end.
    assert_eq!(reasons, ["manual_trigger", "run_end"]);

    // A run that ended gets its checkpoint from `bmad sync` itself.
    let out = bmad(&["sync", &run.id, "--workspace", ws_arg(&ws)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert!(text(&out).0.contains("(succeeded)"));
    assert_eq!(store.checkpoints(&run.id).unwrap().len(), 3);
    // Without a running run there is nothing to pick.
    let out = bmad(&["sync", "--workspace", ws_arg(&ws)]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn handoffs_between_two_sync_points_conflict_the_last_wins_and_the_agents_are_told() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let file = dir.path().join("conflict.bmad");
    std::fs::write(
        &file,
        r#"
agent architect { backend exec "echo design" }
agent ux { backend exec "sleep 0.2; echo flows" }
agent sm { backend exec "cat > sm-prompt.txt" stdin }
sync {
  at phase_completion
  strategy eventual_consistency
  conflict last_write_wins {
    audit
    notify affected_agents
  }
}
workflow w { start design }
phase design {
  parallel {
    architect: system_design {
      produces design = "/docs/design.md"
    }
    ux: user_flows {
      produces flows = "/docs/flows.md"
    }
  }
  handoff architect -> sm {
    artifacts design
  }
  handoff ux -> sm {
    artifacts flows
  }
}
phase planning after design {
  sm: break_down_stories
}
"#,
    )
    .unwrap();
    let out = bmad(&["run", file.to_str().unwrap(), "--workspace", ws_arg(&ws)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let prompt = std::fs::read_to_string(ws.join("sm-prompt.txt")).unwrap();
    assert!(
        prompt.contains(
            "`context/sm` was written by `architect` and then by `ux` before they synced"
        ),
        "{prompt}"
    );
    let store = Store::open(&ws.join(".bmad/state.db")).unwrap();
    let run = store.runs().unwrap().remove(0);
    let audit = store.audit(&run.id).unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].old_writer.as_str(), audit[0].new_writer.as_str()),
        ("architect", "ux")
    );
    assert!(
        audit[0].old_value.contains("/docs/design.md"),
        "{:?}",
        audit[0]
    );
    let state = store.state(&run.id).unwrap();
    assert_eq!(state.len(), 1);
    assert_eq!(state[0].2, "ux", "the last write wins");
    let out = bmad(&["runs", "--workspace", ws_arg(&ws), "show", &run.id]);
    assert!(
        text(&out)
            .0
            .contains("context/sm: `ux` replaced the value of `architect`"),
        "{}",
        text(&out).0
    );
}

/// `bmad runs log`: what each task printed, in order, successful ones too, a long output
/// cut with a mark; one step's alone; as JSON; and, with `--follow`, a running run's tasks
/// as they end, until it stops.
#[test]
fn the_log_of_a_run_has_what_every_task_printed() {
    let ws = tempfile::tempdir().unwrap();
    let (_dir, flow) = common::temp_file(
        "log.bmad",
        r#"agent talker {
  backend exec "echo \"hello from $BMAD_TASKS\"; echo 'a warning' >&2"
}
agent long {
  backend exec "yes x | tr -d '\\n' | head -c 100000; echo; echo the end"
}
agent slow {
  backend exec "sleep 1; echo slept"
}
phase p {
  talker: greet
  long: ramble
  slow: wait
  slow: wait_more
}
"#,
    );
    let flow = flow.to_str().unwrap();
    let out = bmad(&["run", flow, "--workspace", ws_arg(ws.path())]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let store = Store::open(&ws.path().join(".bmad/state.db")).unwrap();
    let id = store.runs().unwrap()[0].id.clone();

    let out = bmad(&["runs", "--workspace", ws_arg(ws.path()), "log", &id]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let greet = stdout
        .find("── p/0 talker: greet, attempt 1, ok (")
        .unwrap();
    let ramble = stdout.find("── p/1 long: ramble, attempt 1, ok (").unwrap();
    assert!(greet < ramble, "{stdout}");
    assert!(
        stdout.contains("hello from greet\n── stderr ──\na warning\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("[... bmad cut 34473 bytes here") && stdout.contains("xxx\nthe end\n"),
        "{}",
        &stdout[..stdout.len().min(2000)]
    );
    let out = bmad(&["runs", "--workspace", ws_arg(ws.path()), "log", &id, "p/0"]);
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("talker: greet") && !stdout.contains("long: ramble"),
        "{stdout}"
    );
    let out = bmad(&[
        "runs",
        "--workspace",
        ws_arg(ws.path()),
        "--format",
        "json",
        "log",
        &id,
    ]);
    let first: serde_json::Value =
        serde_json::from_str(text(&out).0.lines().next().unwrap()).unwrap();
    assert_eq!(first["agent"], "talker");
    assert_eq!(first["stderr"], "a warning\n");

    // Following a run as it goes: started first, the log prints each task as it ends and
    // stops when the run does.
    let ws = tempfile::tempdir().unwrap();
    let mut running = std::process::Command::new(env!("CARGO_BIN_EXE_bmad"))
        .args(["run", flow, "--workspace", ws_arg(ws.path())])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let db = ws.path().join(".bmad/state.db");
    let first = || {
        let store = common::store_once_written(&db)?;
        store.runs().ok()?.first().map(|r| r.id.clone())
    };
    wait_until(Duration::from_secs(5), || first().is_some());
    let id = first().expect("the run is recorded");
    let out = bmad(&[
        "runs",
        "--workspace",
        ws_arg(ws.path()),
        "log",
        &id,
        "--follow",
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(running.wait().unwrap().success());
    assert!(
        stdout.contains("slow: wait, attempt 1, ok") && stdout.contains("slow: wait_more"),
        "the follow ended before the run: {stdout}"
    );
}
