//! Story work through a git remote on Temporal workers (cargo feature `temporal`): twenty
//! stories over two `bmad worker`s and a shared bare repository, the coordinator and each
//! worker in directories of their own (only the bare repository shared). Every story's
//! branch is pushed by a worker from a worktree of its own and merged by the coordinator's
//! lane; the bare repository's `main` ends with all twenty stories; a worker SIGKILLed
//! mid-task loses its task to the other, which starts it from a clean worktree of the
//! story's base; `max_concurrent_agents` holds across the workers (the agents' ledger of
//! start and end times shows no more at once); a coordinator SIGKILLed with story tasks
//! in flight resumes with `--resume`, starts no task twice and merges every story.
//! Without the `temporal` CLI it says so and checks nothing, as
//! tests/integration/temporal.rs.

use crate::common;
use crate::common::git::{GIT_ENV, git};
use crate::harness::{fill, wait_until};
use crate::temporal::{DevServer, Worker, dev_server};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The stories: s01 to s20, s02 after s01 and s12 after s11.
fn ids() -> Vec<String> {
    (1..=20).map(|n| format!("s{n:02}")).collect()
}

/// Dev and QA exec agents over the twenty stories, at most three agents at once.
fn workflow(remote: &Path) -> String {
    let agent = common::fixture("temporal-git.sh");
    let mut src = fill(
        r#"
        settings {
          git_remote "{remote}"
        }
        limits {
          global { max_concurrent_agents 3 }
        }
        agent dev { backend exec "sh {agent}" timeout 120s }
        agent qa { backend exec "sh {agent}" timeout 120s }
        workflow stories { start build }
        phase build max 3 {
          for story in stories max 3 {
            repeat max 3 {
              dev: implement
              qa: validate
            } until approved
          }
        }
        "#,
        &[("remote", &remote.display()), ("agent", &agent)],
    );
    let dag: Vec<(String, Option<&str>)> = ids()
        .into_iter()
        .map(|id| {
            let after = match id.as_str() {
                "s02" => Some("s01"),
                "s12" => Some("s11"),
                _ => None,
            };
            (id, after)
        })
        .collect();
    let dag: Vec<(&str, Option<&str>)> = dag.iter().map(|(i, a)| (i.as_str(), *a)).collect();
    src.push_str(&common::stories(&dag));
    src
}

/// A `bmad worker` with its own cache and working directory under `home`.
fn worker(server: &DevServer, home: &Path, name: &str, env: &[(&str, &str)]) -> Worker {
    std::fs::create_dir_all(home).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bmad"));
    cmd.args(["worker", "--temporal", &server.address])
        .args(["--task-queue", "git", "--concurrency", "2"])
        .arg("--cache")
        .arg(home.join("cache"))
        .current_dir(home)
        .envs(GIT_ENV)
        .env("HOME", home)
        .env("WORKER", name)
        .envs(env.iter().copied())
        .env("AFTER_s02", "s01")
        .env("AFTER_s12", "s11")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(home.join(format!("{name}.log"))).unwrap());
    Worker(cmd.spawn().expect("bmad worker starts"))
}

/// One agent task in the ledger: its step, its worker, and when it started and ended
/// (`None` for the one the test killed).
struct Ran {
    step: String,
    worker: String,
    start: u128,
    end: Option<u128>,
}

fn ledger(path: &Path) -> Vec<Ran> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut ran: Vec<Ran> = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split(' ').collect();
        match words.as_slice() {
            ["start", at, step, _attempt, worker] => ran.push(Ran {
                step: (*step).to_string(),
                worker: (*worker).to_string(),
                start: at.parse().unwrap(),
                end: None,
            }),
            ["end", at, step] => {
                if let Some(r) = ran
                    .iter_mut()
                    .rev()
                    .find(|r| r.step == *step && r.end.is_none())
                {
                    r.end = Some(at.parse().unwrap());
                }
            }
            _ => panic!("a ledger line: {line}"),
        }
    }
    ran
}

/// The most tasks that ran at once (the killed one left out: its slot is its retry's).
fn most_at_once(ran: &[Ran]) -> usize {
    let mut edges: Vec<(u128, i32)> = Vec::new();
    for r in ran {
        if let Some(end) = r.end {
            edges.push((r.start, 1));
            edges.push((end, -1));
        }
    }
    // An end before a start at the same instant.
    edges.sort();
    let (mut now, mut most) = (0i32, 0i32);
    for (_, d) in edges {
        now += d;
        most = most.max(now);
    }
    usize::try_from(most).unwrap_or(0)
}

fn finished(child: Child) -> (bool, String) {
    let out = child.wait_with_output().expect("bmad ends");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The shared bare repository with a first commit on `main`, and the coordinator's clone.
fn repositories(dir: &Path) -> (PathBuf, PathBuf) {
    let bare = dir.join("shared.git");
    git(
        dir,
        &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()],
    );
    let (seed, _) = common::git::repo();
    git(seed.path(), &["push", "-q", bare.to_str().unwrap(), "main"]);
    let coordinator = dir.join("coordinator");
    std::fs::create_dir_all(&coordinator).unwrap();
    let ws = coordinator.join("repo");
    git(
        &coordinator,
        &["clone", "-q", bare.to_str().unwrap(), ws.to_str().unwrap()],
    );
    (bare, ws)
}

/// Checks that every story's branch in the bare repository is merged into its `main`,
/// and that `main` holds every story's file; the files of `main`.
fn all_merged(bare: &Path) -> String {
    let bare_git = |args: &[&str]| git(bare, args);
    let files = bare_git(&["ls-tree", "-r", "--name-only", "main"]);
    for id in ids() {
        assert!(
            files.contains(&format!("stories/{id}.txt")),
            "{id}: {files}"
        );
        let branch = format!("refs/heads/bmad/story-{id}");
        let tip = bare_git(&["rev-parse", &branch]);
        let merged = Command::new("git")
            .arg("-C")
            .arg(bare)
            .args(["merge-base", "--is-ancestor", &tip, "main"])
            .envs(GIT_ENV)
            .status()
            .unwrap();
        assert!(merged.success(), "{id}'s branch is merged into main");
    }
    files
}

/// `bmad run` of `file` on the workspace `ws` through the server, from the coordinator's
/// directory under `dir`, with `more` arguments.
fn coordinator(server: &DevServer, dir: &Path, file: &Path, ws: &Path, more: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_bmad"))
        .arg("run")
        .arg(file)
        .arg("--workspace")
        .arg(ws)
        .args(["--executor", &format!("temporal://{}", server.address)])
        .args(["--task-queue", "git"])
        .args(more)
        .current_dir(dir.join("coordinator"))
        .envs(GIT_ENV)
        .env("GIT_CEILING_DIRECTORIES", dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bmad starts")
}

#[test]
fn twenty_stories_travel_through_a_git_remote_on_two_workers() {
    let Some(server) = dev_server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (bare, ws) = repositories(dir.path());
    // The workflow deployed at the same path for every machine, outside every repository.
    let flow = dir.path().join("flow");
    std::fs::create_dir_all(&flow).unwrap();
    let file = flow.join("stories.bmad");
    std::fs::write(&file, workflow(&bare)).unwrap();
    let ledger_file = dir.path().join("ledger.log");
    let ledger_text = ledger_file.to_str().unwrap();
    let stall_step = "build/0/s05/0/#1/0";
    let stall = [
        ("LEDGER", ledger_text),
        ("STALL_STEP", stall_step),
        ("STALL_ON", "w1"),
    ];
    let w1 = worker(&server, &dir.path().join("w1"), "w1", &stall);
    let report = dir.path().join("report.json");
    let run = coordinator(
        &server,
        dir.path(),
        &file,
        &ws,
        &[
            "--heartbeat-timeout",
            "2s",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    let pid_file = PathBuf::from(format!("{ledger_text}.pid"));
    if !wait_until(Duration::from_secs(60), || pid_file.exists()) {
        let mut run = run;
        let _ = run.kill();
        let (_, text) = finished(run);
        panic!(
            "the stalled task never started on w1: {text}\nledger: {}\nw1: {}",
            std::fs::read_to_string(&ledger_file).unwrap_or_default(),
            std::fs::read_to_string(dir.path().join("w1/w1.log")).unwrap_or_default()
        );
    }
    let _w2 = worker(
        &server,
        &dir.path().join("w2"),
        "w2",
        &[("LEDGER", ledger_text)],
    );
    // w1 dies at once with the agent it started (an orphan the test stops too); a new
    // worker on its cache sweeps what it left.
    drop(w1);
    let pid = std::fs::read_to_string(&pid_file).unwrap_or_default();
    let _ = Command::new("kill").args(["-9", pid.trim()]).status();
    let _w1 = worker(
        &server,
        &dir.path().join("w1"),
        "w1b",
        &[("LEDGER", ledger_text)],
    );
    let (ok, text) = finished(run);
    assert!(ok, "{text}");
    assert!(text.contains("pushed `main` to the git remote"), "{text}");

    // Every story's branch was pushed by a worker, and the lane merged it: the bare
    // repository's main holds all twenty.
    let bare_git = |args: &[&str]| git(&bare, args);
    let files = all_merged(&bare);
    // The killed try left nothing: its retry started from a clean worktree of the base.
    assert!(!files.contains(".junk"), "{files}");
    let s05 = bare_git(&["show", "main:stories/s05.txt"]);
    assert_eq!(s05.lines().count(), 1, "{s05}");
    // s07's second attempt started from its first one's pushed work.
    let s07 = bare_git(&["show", "main:stories/s07.txt"]);
    assert_eq!(s07.lines().count(), 2, "{s07}");
    // The coordinator's main is the bare repository's, and its checkout holds nothing
    // else: the agents worked in the workers' own worktrees.
    assert_eq!(
        git(&ws, &["rev-parse", "main"]),
        bare_git(&["rev-parse", "main"])
    );
    assert_eq!(git(&ws, &["status", "--porcelain"]), "");
    assert!(ws.join("stories/s20.txt").is_file());

    let ran = ledger(&ledger_file);
    let stalled: Vec<&Ran> = ran.iter().filter(|r| r.step == stall_step).collect();
    assert!(
        stalled.len() == 2 && stalled[0].worker == "w1" && stalled[0].end.is_none(),
        "the stalled task ran on w1, then again elsewhere: {:?}",
        stalled.iter().map(|r| &r.worker).collect::<Vec<_>>()
    );
    assert!(stalled[1].worker != "w1" && stalled[1].end.is_some());
    let workers: std::collections::BTreeSet<&str> = ran.iter().map(|r| r.worker.as_str()).collect();
    assert!(
        workers.contains("w2") && workers.contains("w1"),
        "{workers:?}"
    );
    assert!(workers.iter().all(|w| w.starts_with('w')), "{workers:?}");
    // The coordinator's limit held across the workers.
    let most = most_at_once(&ran);
    assert!((1..=3).contains(&most), "{most} agents at once");
}

#[test]
fn a_killed_coordinator_resumes_its_stories_through_the_git_remote() {
    let Some(server) = dev_server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (bare, ws) = repositories(dir.path());
    let flow = dir.path().join("flow");
    std::fs::create_dir_all(&flow).unwrap();
    let file = flow.join("stories.bmad");
    std::fs::write(&file, workflow(&bare)).unwrap();
    let ledger_file = dir.path().join("ledger.log");
    let ledger_env = [("LEDGER", ledger_file.to_str().unwrap())];
    let _w1 = worker(&server, &dir.path().join("w1"), "w1", &ledger_env);
    let _w2 = worker(&server, &dir.path().join("w2"), "w2", &ledger_env);
    let mut run = coordinator(&server, dir.path(), &file, &ws, &[]);
    // Killed with story tasks in flight on the workers, some stories merged already.
    let in_flight = wait_until(Duration::from_secs(120), || {
        let ran = ledger(&ledger_file);
        ran.len() >= 12 && ran.iter().any(|r| r.end.is_none())
    });
    run.kill().expect("SIGKILL");
    let (_, text) = finished(run);
    assert!(in_flight, "tasks in flight: {text}");
    let (ok, text) = finished(coordinator(&server, dir.path(), &file, &ws, &["--resume"]));
    assert!(ok, "{text}");
    assert!(text.contains("resuming run"), "{text}");

    // No task started twice: one start per step in the agents' ledger, and one execution
    // per task on the server.
    let ran = ledger(&ledger_file);
    let mut steps: Vec<&str> = ran.iter().map(|r| r.step.as_str()).collect();
    steps.sort_unstable();
    let all = steps.len();
    steps.dedup();
    assert_eq!(steps.len(), all, "a task started twice: {steps:?}");
    assert!(ran.iter().all(|r| r.end.is_some()), "every task ended");
    assert_eq!(crate::temporal::executions(&server), all);
    // Every story merged into the bare repository's main, which the coordinator's is.
    let files = all_merged(&bare);
    assert!(!files.contains(".junk"), "{files}");
    assert_eq!(
        git(&ws, &["rev-parse", "main"]),
        git(&bare, &["rev-parse", "main"])
    );
    assert_eq!(git(&ws, &["status", "--porcelain"]), "");
}
