//! Crash safety: a workflow of exec agents is killed with SIGKILL at two dozen different
//! moments and resumed each time. Steps that ended before a kill never run again, steps in
//! flight at a kill run again, every step's side effect is in the ledger exactly once,
//! and the artifacts equal those of a run that was never interrupted.

use crate::common;
use crate::harness::fill;

use bmad::state::Store;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::git::{GIT_ENV, git};

/// Parallel agents, a handoff, then twelve stories (a dependency chain and independent ones)
/// each developed, validated (QA rejects the first attempt of stories ending in 2) and
/// packaged, then a release step.
fn workflow() -> String {
    let agent = common::fixture("ledger.sh");
    let mut src = fill(
        r#"
        agent worker { backend exec "sh {agent}" }
        agent qa { backend exec "sh {agent}" }
        workflow crash { start design }
        phase design {
          parallel {
            worker: spec {
              produces spec = "/out/spec-none.txt"
            }
            worker: plan {
              produces plan = "/out/plan-none.txt"
            }
          }
          handoff worker -> qa {
            artifacts spec, plan
          }
        }
        phase build after design max 3 {
          for story in stories max 3 {
            repeat max 3 {
              worker: implement
              qa: validate
            } until approved
            worker: package
          }
        }
        phase release after build {
          worker: release {
            produces notes = "/out/release-none.txt"
          }
        }
        "#,
        &[("agent", &agent)],
    );
    src.push_str(&common::stories(&[
        ("s1", None),
        ("s2", Some("s1")),
        ("s3", None),
        ("s4", Some("s3")),
        ("s5", None),
        ("s6", Some("s2")),
        ("s7", None),
        ("s8", Some("s7")),
        ("s9", Some("s8")),
        ("s10", None),
        ("s11", Some("s4")),
        ("s12", Some("s10")),
    ]));
    src
}

fn start(file: &Path, ws: &Path, resume: bool) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bmad"));
    cmd.arg("run")
        .arg(file)
        .arg("--workspace")
        .arg(ws)
        .env("NO_COLOR", "1")
        .env("LEDGER_WORK", "0.2")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if resume {
        cmd.arg("--resume");
    }
    cmd.spawn().expect("bmad starts")
}

/// Every file under `dir/out`, with its content.
fn artifacts(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir.join("out")).expect("out/ exists") {
        let e = e.unwrap();
        out.insert(
            e.file_name().to_string_lossy().into_owned(),
            std::fs::read_to_string(e.path()).unwrap(),
        );
    }
    out
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The steps of the run that ended well (not run again) and those in flight; `None`
/// before the first segment recorded the run (it was killed that early).
fn recorded(ws: &Path) -> Option<(BTreeSet<String>, Vec<String>)> {
    let store = Store::open(&ws.join(".bmad/state.db")).expect("the state file opens");
    let run = store.runs().unwrap().into_iter().next()?;
    let finished = store
        .finished_steps(&run.id)
        .unwrap()
        .into_iter()
        .filter(|s| s.replayable())
        .map(|s| s.key)
        .collect();
    Some((finished, store.steps_in_flight(&run.id).unwrap()))
}

/// Whether the newest run in the workspace's store is recorded as succeeded.
fn succeeded(ws: &Path) -> bool {
    let store = Store::open(&ws.join(".bmad/state.db")).expect("the state file opens");
    let newest = store.runs().unwrap().into_iter().next();
    newest.is_some_and(|r| r.status == bmad::state::RunStatus::Succeeded)
}

#[test]
fn a_run_killed_at_two_dozen_moments_resumes_to_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("crash.bmad");
    std::fs::write(&file, workflow()).unwrap();

    // The reference: one run, never interrupted.
    let clean = dir.path().join("clean");
    let out = start(&file, &clean, false).wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = artifacts(&clean);
    let expected_steps = lines(&clean.join("ledger.log")).len();
    assert!(expected_steps >= 40, "{expected_steps} steps");

    // The same workflow killed again and again.
    let ws = dir.path().join("crashed");
    // Milliseconds each segment lives; some die while they resume, before any step.
    let delays = [
        150, 90, 210, 120, 300, 40, 170, 250, 110, 340, 60, 200, 130, 280, 160, 230, 100, 320, 190,
        50, 140, 260, 180, 310, 125, 220, 70, 155, 240, 105,
    ];
    let mut kills = 0;
    let mut segment = 0;
    let mut finished_before: BTreeSet<String> = BTreeSet::new();
    let mut in_flight_before: Vec<String> = Vec::new();
    let mut invocations_seen = 0;
    let mut recorded_run = false;
    loop {
        let mut child = start(&file, &ws, recorded_run);
        let deadline = Instant::now()
            + delays
                .get(segment)
                .map_or(Duration::from_secs(120), |ms| Duration::from_millis(*ms));
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if Instant::now() >= deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        // What this segment invoked: never a step that had ended before it started, and
        // every step that was in flight when the last one was killed.
        let invocations = lines(&ws.join("invocations.log"));
        let now: Vec<&String> = invocations[invocations_seen..].iter().collect();
        invocations_seen = invocations.len();
        for step in &now {
            assert!(
                !finished_before.contains(*step),
                "segment {segment} ran `{step}` again, which had ended before"
            );
        }
        match status {
            Some(status) => {
                let mut stderr = String::new();
                use std::io::Read;
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut stderr)
                    .unwrap();
                assert!(status.success(), "segment {segment}: {stderr}");
                if recorded_run {
                    assert!(stderr.contains("resuming run"), "{stderr}");
                }
                for step in &in_flight_before {
                    assert!(
                        now.contains(&step),
                        "`{step}` was in flight at the kill and did not run again"
                    );
                }
                break;
            }
            None => {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                kills += 1;
            }
        }
        // Killed after it recorded its success, before it exited: it is done.
        if succeeded(&ws) {
            break;
        }
        let Some((finished, in_flight)) = recorded(&ws) else {
            segment += 1;
            continue;
        };
        recorded_run = true;
        assert!(
            finished.is_superset(&finished_before),
            "a step that had ended is no longer recorded as ended"
        );
        // The first segment may die before it starts a step; later ones make progress.
        finished_before = finished;
        in_flight_before = in_flight;
        segment += 1;
        assert!(segment < 200, "the run never finished");
    }
    assert!(
        kills >= 20,
        "only {kills} kills: the workflow ended too soon"
    );

    // Every step's side effect exactly once, and the same artifacts as the clean run.
    let ledger = lines(&ws.join("ledger.log"));
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for l in &ledger {
        *counts
            .entry(l.split_once(' ').map_or("", |(_, step)| step))
            .or_default() += 1;
    }
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "side effects repeated: {twice:?}");
    assert_eq!(
        counts.len(),
        expected_steps,
        "every step of the clean run did its side effect"
    );
    assert_eq!(artifacts(&ws), expected);

    // The store agrees: one run, succeeded, every story done.
    let store = Store::open(&ws.join(".bmad/state.db")).unwrap();
    let runs = store.runs().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, bmad::state::RunStatus::Succeeded);
    // Resumed at most once per kill (a kill may come before a resume reopened the run: on
    // a loaded machine most of them can), and at least once.
    let segments = runs[0].segments as usize;
    assert!(
        segments >= 2 && segments <= kills + 1,
        "{segments} segments for {kills} kills"
    );
    let board = store.board(&runs[0].id).unwrap();
    assert_eq!(board.len(), 12);
    assert!(
        board
            .iter()
            .all(|b| b.status == bmad::state::StoryStatus::Done),
        "{board:?}"
    );
}

/// Fifteen stories delivered through git, three at a time, each developed and validated
/// (QA rejects the first attempt of stories ending in 2); six depend on another and copy
/// its file, which they only have if they started after it merged; three conflict with
/// each other, so the lane sends stories back.
fn delivered_workflow() -> String {
    let agent = common::fixture("deliver-crash.sh");
    let mut src = fill(
        r#"
        agent dev { backend exec "sh {agent}" }
        agent qa { backend exec "sh {agent}" }
        workflow crash { start build }
        phase build max 3 {
          for story in stories max 3 {
            repeat max 3 {
              dev: implement
              qa: validate
            } until approved
          }
        }
        "#,
        &[("agent", &agent)],
    );
    for (id, after) in [
        ("s1", None),
        ("s2", Some("s1")),
        ("s3", None),
        ("s4", Some("s3")),
        ("s5", None),
        ("s6", Some("s2")),
        ("s7", None),
        ("s8", Some("s7")),
        ("s9", None),
        ("s10", Some("s8")),
        ("s11", None),
        ("s12", Some("s10")),
        ("s13", None),
        ("s14", None),
        ("s15", None),
    ] {
        let after = after.map_or(String::new(), |a| format!("  after \"{a}\"\n"));
        src.push_str(&format!(
            "story \"{id}\" backend {{\n  title \"story {id}\"\n{after}  create \"/stories/{id}.txt\"\n}}\n"
        ));
    }
    src
}

/// A repository on `main` with the project's test command, in `dir`.
fn delivered_project(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("shared.txt"), "base\n").unwrap();
    std::fs::write(
        dir.join("test.sh"),
        "for f in stories/*.txt; do [ -e \"$f\" ] || continue; grep -q '^story ' \"$f\" || exit 1; done\n",
    )
    .unwrap();
    common::git::init(dir, "the project");
}

fn start_delivered(file: &Path, ws: &Path, ledger: &Path, resume: bool) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bmad"));
    cmd.arg("run")
        .arg(file)
        .arg("--workspace")
        .arg(ws)
        .envs(GIT_ENV)
        .env("GIT_CEILING_DIRECTORIES", ws.parent().unwrap())
        .env("NO_COLOR", "1")
        .env("LEDGER_DIR", ledger)
        .env("LEDGER_WORK", "0.04")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if resume {
        cmd.arg("--resume");
    }
    cmd.spawn().expect("bmad starts")
}

#[test]
fn a_delivered_run_killed_in_the_lane_resumes_with_no_duplicate_merge_or_lost_commit() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("crash.bmad");
    std::fs::write(&file, delivered_workflow()).unwrap();

    // The reference: one run, never interrupted.
    let clean = dir.path().join("clean");
    let clean_ledger = dir.path().join("clean-ledger");
    std::fs::create_dir_all(&clean_ledger).unwrap();
    delivered_project(&clean);
    let out = start_delivered(&file, &clean, &clean_ledger, false)
        .wait_with_output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected_tree = git(&clean, &["rev-parse", "main^{tree}"]);

    // The same workflow killed again and again.
    let ws = dir.path().join("crashed");
    let ledger = dir.path().join("ledger");
    std::fs::create_dir_all(&ledger).unwrap();
    delivered_project(&ws);
    let first = git(&ws, &["rev-parse", "main"]);
    // Milliseconds each segment lives (a resume takes some 60 ms before it runs a step).
    let delays = [
        140, 90, 180, 110, 230, 75, 160, 200, 95, 250, 130, 170, 85, 210, 120, 190, 100, 240, 150,
        80, 220, 135, 175, 105, 260, 145, 195, 115, 205, 165,
    ];
    let (mut kills, mut segment, mut recorded_run) = (0, 0, false);
    // Kills that landed while a worktree, a commit or a merge was in flight.
    let mut in_git = 0;
    loop {
        let mut child = start_delivered(&file, &ws, &ledger, recorded_run);
        let deadline = Instant::now()
            + delays
                .get(segment)
                .map_or(Duration::from_secs(120), |ms| Duration::from_millis(*ms));
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if Instant::now() >= deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        if let Some(status) = status {
            let mut stderr = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            assert!(status.success(), "segment {segment}: {stderr}");
            break;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        segment += 1;
        assert!(segment < 200, "the run never finished");
        // Killed after it recorded its success, before it exited: it is done.
        if succeeded(&ws) {
            break;
        }
        let Some((_, in_flight)) = recorded(&ws) else {
            continue;
        };
        recorded_run = true;
        in_git += usize::from(
            in_flight
                .iter()
                .any(|s| s.ends_with("/tree") || s.ends_with("/commit") || s.ends_with("/lane")),
        );
    }
    eprintln!("{kills} kills, {in_git} of them in a worktree, commit or merge step");
    assert!(
        kills >= 15,
        "only {kills} kills: the workflow ended too soon"
    );
    assert!(
        in_git >= 3,
        "only {in_git} of {kills} kills landed in a worktree, commit or merge"
    );

    // No lost commit: main has exactly the clean run's files. No duplicate merge: one
    // merge commit per story. No stale worktree, nothing uncommitted.
    if git(&ws, &["rev-parse", "main^{tree}"]) != expected_tree {
        panic!(
            "main's tree differs from the clean run's\nclean:\n{}\ncrashed:\n{}\nshared.txt, clean:\n{}\ncrashed:\n{}\nhistory:\n{}",
            git(&clean, &["ls-tree", "-r", "main"]),
            git(&ws, &["ls-tree", "-r", "main"]),
            git(&clean, &["show", "main:shared.txt"]),
            git(&ws, &["show", "main:shared.txt"]),
            git(&ws, &["log", "--graph", "--format=%h %s", "--stat", "main"]),
        );
    }
    let merges = git(
        &ws,
        &[
            "log",
            "--first-parent",
            "--format=%s",
            &format!("{first}..main"),
        ],
    );
    let mut subjects: Vec<&str> = merges.lines().collect();
    subjects.sort();
    let mut stories: Vec<String> = (1..=15)
        .map(|i| format!("Merge story s{i}: story s{i}"))
        .collect();
    stories.sort();
    assert_eq!(subjects, stories);
    let worktrees = git(&ws, &["worktree", "list", "--porcelain"]);
    assert_eq!(
        worktrees
            .lines()
            .filter(|l| l.starts_with("worktree "))
            .count(),
        1,
        "{worktrees}"
    );
    assert!(!ws.join(".bmad/worktrees").exists());
    assert_eq!(git(&ws, &["status", "--porcelain"]), "");

    // Every step's side effect exactly once, and the same steps as the clean run (but the
    // lane's verifications of merged results and the rounds of stories it sent back: which
    // merges need them depends on which story merged first).
    let steps = |ledger: &Path| {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for l in lines(&ledger.join("ledger.log")) {
            let step = l
                .split_once(' ')
                .map_or(String::new(), |(_, s)| s.to_string());
            *counts.entry(step).or_default() += 1;
        }
        counts
    };
    let counts = steps(&ledger);
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "side effects repeated: {twice:?}");
    let story_steps = |counts: &BTreeMap<String, usize>| -> BTreeSet<String> {
        counts
            .keys()
            .filter(|k| !k.contains("/lane/") && !k.contains("/r2/") && !k.contains("/r3/"))
            .cloned()
            .collect()
    };
    assert_eq!(story_steps(&counts), story_steps(&steps(&clean_ledger)));

    let store = Store::open(&ws.join(".bmad/state.db")).unwrap();
    let runs = store.runs().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, bmad::state::RunStatus::Succeeded);
    let board = store.board(&runs[0].id).unwrap();
    assert!(
        board
            .iter()
            .all(|b| b.status == bmad::state::StoryStatus::Done),
        "{board:?}"
    );
    // The lane sent stories back, and every one of them merged in the end.
    let returned = store
        .events(&runs[0].id)
        .unwrap()
        .iter()
        .filter(|e| e.data["event"] == "story_returned")
        .count();
    assert!(returned >= 1, "no story was sent back");
}
