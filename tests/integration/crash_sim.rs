//! Crash safety at the scheduler's scale (issue 21): a simulated run of 10,000 stories (a
//! seeded DAG, each story after up to two earlier ones; dev -> QA loops, QA rejecting 20%)
//! is killed with SIGKILL at random moments and resumed each time; it ends with the same
//! report as a run that was never interrupted. The moments are drawn from a seed printed
//! by the test (`BMAD_CRASH_SEED` sets it) over the length of the uninterrupted run.

use bmad::state::Store;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const STORIES: usize = 10_000;

/// Kills before the run is let to finish.
const KILLS: usize = 3;

/// splitmix64.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The seeded DAG of benches/dags.rs (`seeded`), with its dev -> QA workflow.
fn workflow() -> String {
    let mut s = String::from(
        "agent ui_dev { backend sim duration 45m }\n\
         agent backend_dev { backend sim duration 1h }\n\
         agent qa { backend sim duration 15m fail 20% }\n\
         limits {\n  global {\n    max_concurrent_agents 8\n  }\n}\n\
         phase development max 8 {\n  for story in stories max 8 {\n\
         \x20   assign dev by story.type {\n      frontend => ui_dev\n      backend => backend_dev\n    }\n\
         \x20   repeat max 3 {\n      dev: implement\n      qa: validate\n    } until approved\n  }\n}\n",
    );
    for i in 0..STORIES {
        let kind = if i % 2 == 0 { "frontend" } else { "backend" };
        s.push_str(&format!(
            "story \"s{i}\" {kind} {{\n  title \"Story {i}\"\n"
        ));
        if i > 0 {
            let h = mix(i as u64 ^ 0x5eed);
            let mut after: Vec<u64> = (0..h % 3)
                .map(|k| mix(h.wrapping_add(k)) % i as u64)
                .collect();
            after.dedup();
            if !after.is_empty() {
                let names: Vec<String> = after.iter().map(|a| format!("\"s{a}\"")).collect();
                s.push_str(&format!("  after {}\n", names.join(", ")));
            }
        }
        s.push_str("}\n");
    }
    s
}

fn start(file: &Path, ws: &Path, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_bmad"))
        .args(["run", "--simulate"])
        .arg(file)
        .arg("--workspace")
        .arg(ws)
        .args(extra)
        .env("BMAD_LOG", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bmad starts")
}

/// Waits for `child` to end; exit code 3 is a run with blocked stories.
fn ended(child: Child) {
    let out = child.wait_with_output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 3)),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The report without what depends on when the run was interrupted: its events (each
/// with its virtual time; a resumed task starts again later) and the times derived from
/// them; the stories done and blocked (with their reasons) as sets, for the order they
/// ended in is the clock's. What the run did, and to which stories, must be the same.
fn outcome(path: &Path) -> serde_json::Value {
    let mut report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let o = report.as_object_mut().unwrap();
    for timed in [
        "events",
        "makespan_ms",
        "busy_ms",
        "critical_path",
        "max_concurrent",
        "kpis",
        "people",
    ] {
        o.remove(timed);
    }
    let strings = |v: Option<serde_json::Value>| -> Vec<String> {
        v.and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default()
    };
    let mut done = strings(o.remove("stories_done"));
    done.sort();
    let blocked = strings(o.remove("stories_blocked"));
    let reasons = strings(o.remove("blocked_reasons"));
    assert_eq!(blocked.len(), reasons.len());
    let mut blocked: Vec<(String, String)> = blocked.into_iter().zip(reasons).collect();
    blocked.sort();
    o.insert("stories_done".into(), serde_json::json!(done));
    o.insert("stories_blocked".into(), serde_json::json!(blocked));
    report
}

/// Says which parts of two outcomes differ (they are too long to print whole).
fn same(resumed: &serde_json::Value, clean: &serde_json::Value) {
    let differ: Vec<String> = clean
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, v)| resumed.get(k.as_str()) != Some(v))
        .map(|(k, v)| {
            let short = |v: &serde_json::Value| v.to_string().chars().take(300).collect::<String>();
            format!(
                "{k}: resumed {} / clean {}",
                short(&resumed[k.as_str()]),
                short(v)
            )
        })
        .collect();
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

#[test]
fn a_simulated_run_of_10000_stories_killed_at_random_moments_resumes_to_the_same_report() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dag.bmad");
    std::fs::write(&file, workflow()).unwrap();

    // The reference, never interrupted (and recorded nowhere: the report is the same).
    let clean = dir.path().join("clean.json");
    let began = Instant::now();
    ended(start(
        &file,
        &dir.path().join("clean"),
        &["--state", "none", "--report", clean.to_str().unwrap()],
    ));
    let whole = began.elapsed();

    let seed = std::env::var("BMAD_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        });
    eprintln!("BMAD_CRASH_SEED={seed}; the uninterrupted run took {whole:?}");
    let ws = dir.path().join("crashed");
    let db = ws.join(".bmad/state.db");
    let resumed = dir.path().join("resumed.json");
    let report = ["--report", resumed.to_str().unwrap()];
    // Resume once a segment recorded the run (one killed sooner left nothing to resume).
    let args = |db: &Path| -> Vec<&str> {
        let recorded = db.exists()
            && Store::open(db)
                .ok()
                .and_then(|s| s.runs().ok())
                .is_some_and(|r| !r.is_empty());
        let resume: &[&str] = if recorded { &["--resume"] } else { &[] };
        [resume, &report[..]].concat()
    };
    let mut moments = Vec::new();
    let mut finished = false;
    for k in 0..KILLS {
        // Between 5% and 60% of a run's length into the segment: each segment replays what
        // came before and goes on, so a kill lands in the replay or in new work.
        let at = whole.mul_f64((50 + mix(seed ^ k as u64) % 550) as f64 / 1000.0);
        let mut child = start(&file, &ws, &args(&db));
        let deadline = Instant::now() + at;
        while Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                finished = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if finished {
            // This segment ran to the end before its moment came.
            ended(child);
            break;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        moments.push(at);
        // What the kill left is a whole state file.
        if db.exists() {
            Store::open(&db).unwrap().verify().unwrap();
        }
    }
    eprintln!("killed at {moments:?} into each segment");
    if !finished {
        ended(start(&file, &ws, &args(&db)));
    }
    assert!(!moments.is_empty(), "the run ended before the first kill");
    same(&outcome(&resumed), &outcome(&clean));

    let store = Store::open(&db).unwrap();
    let runs = store.runs().unwrap();
    assert_eq!(runs.len(), 1, "one run, resumed");
    // A kill before a segment recorded the run or reopened it makes no segment.
    assert!(runs[0].segments as usize <= 1 + moments.len());
    let board = store.board(&runs[0].id).unwrap();
    assert_eq!(board.len(), STORIES);
}
