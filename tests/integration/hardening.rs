//! Hostile cases of issue 25 found by its adversarial verification: a `.bmad` directory
//! planted as a link out of the workspace, an artifact an agent turns into a FIFO, a
//! foreign SQLite database that carries a schema version, an endless stdin.

use crate::harness::Test;

/// A run with one exec agent whose command is `command`, producing `docs/x.md`, and one
/// that needs it.
const FLOW: &str = r#"
    agent w {
      backend exec "mkdir -p docs && {command}"
    }
    agent r {
      backend exec "echo read"
    }
    phase p {
      w: write {
        produces x = "docs/x.md"
      }
      r: read {
        needs x
      }
    }
    "#;

#[cfg(unix)]
#[test]
fn a_bmad_directory_linked_out_of_the_workspace_is_refused_and_nothing_written_there() {
    let outside = tempfile::tempdir().unwrap();
    let test = Test::new().workflow(&FLOW.replace("{command}", "echo x > docs/x.md"));
    std::fs::create_dir(test.path().join("ws")).unwrap();
    std::os::unix::fs::symlink(outside.path(), test.path().join("ws/.bmad")).unwrap();
    let ran = test
        .args(&["run", "flow.bmad", "--workspace", "ws"])
        .status(2)
        .stderr_contains("`.bmad` is a symbolic link that leads outside the workspace")
        .run();
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    // The commands that open the store refuse it too.
    Test::at(ran.path())
        .args(&["runs", "--workspace", "ws"])
        .status(2)
        .stderr_contains("`.bmad` is a symbolic link that leads outside the workspace")
        .run();
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}

#[cfg(unix)]
#[test]
fn an_artifact_turned_into_a_fifo_is_not_waited_on() {
    // Hashing the artifact, or inlining it in the next prompt, opened the FIFO and waited
    // for a writer for ever: the run hung, and SIGTERM could not stop it.
    Test::new()
        .workflow(&FLOW.replace("{command}", "mkfifo docs/x.md"))
        .args(&["run", "flow.bmad", "--workspace", "ws"])
        .stderr_contains("r: read ok")
        .run();
}

#[test]
fn a_foreign_database_with_a_schema_version_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("PRAGMA user_version = 1; CREATE TABLE notes (x)")
        .unwrap();
    drop(conn);
    let before = std::fs::read(&path).unwrap();
    let err = bmad::state::Store::open(&path).err().expect("refused");
    let message = err.to_string();
    assert!(message.contains("app.db"), "{message}");
    assert!(
        message.contains("schema version 1 but no table `runs`"),
        "{message}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before, "not modified");
    assert!(!dir.path().join("app.db-wal").exists());
    // With no table at all (a version only).
    let bare = dir.path().join("bare.db");
    let conn = rusqlite::Connection::open(&bare).unwrap();
    conn.execute_batch("PRAGMA user_version = 3").unwrap();
    drop(conn);
    let before = std::fs::read(&bare).unwrap();
    assert!(bmad::state::Store::open(&bare).is_err());
    assert_eq!(std::fs::read(&bare).unwrap(), before, "not modified");
}

#[cfg(unix)]
#[test]
fn an_endless_stdin_is_refused_at_the_size_limit() {
    // /dev/zero never ends: it was read whole (for ever, memory growing) before the size
    // was looked at.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bmad"))
        .args(["check", "-"])
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot read stdin: it is larger than 64 MiB"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn an_agent_whose_background_job_holds_its_output_open_ends_when_it_exits() {
    // The job inherits the agent's standard output and holds it open: the task waited for
    // its end for ever. Now it ends shortly after the agent, and the job is stopped with
    // the run.
    Test::new()
        .workflow(
            r#"
            agent d {
              backend exec "sleep 1000 & echo started"
            }
            phase p {
              d: go
            }
            "#,
        )
        .args(&["run", "flow.bmad", "--workspace", "ws"])
        .stdout_contains("run succeeded")
        .stderr_contains("its agents or commands left running were killed")
        .run();
}

#[test]
fn http_get_works_in_a_check_evaluated_on_the_run_s_own_thread() {
    // A condition runs on the run's thread, inside its runtime, where `http_get` started
    // a runtime of its own: tokio refused with a panic, and every such check failed with
    // "Cannot start a runtime from within a runtime".
    let test = Test::new();
    let server = crate::common::loopback::serve(test.path().to_path_buf());
    let flow = r#"
        settings {
          hosts "127.0.0.1"
        }
        agent a {
          backend exec "true"
        }
        check up = `http_get("http://127.0.0.1:{port}/health", 5000).ok`
        phase p {
          a: go
          check up
        }
        "#
    .replace("{port}", &server.port.to_string());
    test.workflow(&flow)
        .args(&["run", "flow.bmad", "--workspace", "ws"])
        .stdout_contains("run succeeded")
        .stderr_lacks("runtime from within a runtime")
        .run();
}

#[cfg(unix)]
#[test]
fn the_repl_reading_an_endless_line_from_a_pipe_stops_at_the_size_limit() {
    // /dev/zero has no newline: the line was held as it grew, gigabytes in seconds.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bmad"))
        .arg("repl")
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("line 1 makes an input longer than 64 MiB"),
        "{stderr}"
    );
}
