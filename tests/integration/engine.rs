//! Embedding: a host program's own agent backend (a trait object that takes time) and
//! event listener, and the errors an Engine gives.

use bmad::Engine;
use bmad::runtime::RunOptions;
use bmad::runtime::backend::{AgentBackend, Invocation, Outcome};
use futures::future::BoxFuture;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A host agent that takes a minute per task and remembers the most tasks it had at once.
#[derive(Default)]
struct Crew {
    running: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
    stories: Arc<Mutex<Vec<String>>>,
}

impl AgentBackend for Crew {
    fn run(&self, inv: Invocation) -> BoxFuture<'static, Outcome> {
        let (running, most, stories) = (
            Arc::clone(&self.running),
            Arc::clone(&self.most),
            Arc::clone(&self.stories),
        );
        Box::pin(async move {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(60)).await;
            running.fetch_sub(1, Ordering::SeqCst);
            stories.lock().unwrap().extend(inv.story);
            Outcome {
                ok: true,
                ..Outcome::default()
            }
        })
    }
}

const FLOW: &str = r#"
agent dev { backend exec "false" }
story "a" backend { title "a" }
story "b" backend { title "b" }
story "c" backend { title "c" after "a" }
limits { global { max_concurrent_agents 2 } }
phase development {
  for story in stories {
    dev: implement
  }
}
"#;

#[test]
fn a_host_backend_takes_over_an_agent_under_the_workflows_limits() {
    let mut engine = Engine::from_text("flow.bmad", FLOW).unwrap();
    let crew = Crew::default();
    let (most, stories) = (Arc::clone(&crew.most), Arc::clone(&crew.stories));
    engine.backend("dev", Arc::new(crew)).unwrap();
    let events = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&events);
    engine.on_event(move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
    });
    let ws = tempfile::tempdir().unwrap();
    let options = RunOptions {
        seed: 1,
        workspace: ws.path().to_path_buf(),
        simulate: false,
        ..Default::default()
    };
    let report = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
        .block_on(engine.run(options))
        .unwrap();
    assert!(report.ok, "{:?}", report.failed);
    assert_eq!(most.load(Ordering::SeqCst), 2, "the global limit holds");
    assert_eq!(report.makespan_ms, 120_000, "a and b, then c");
    let mut done = stories.lock().unwrap().clone();
    done.sort();
    assert_eq!(done, ["a", "b", "c"]);
    assert_eq!(events.load(Ordering::SeqCst), report.events.len());
}

#[test]
fn engine_errors_are_clear() {
    let err = Engine::from_text("broken.bmad", "phase p {\n  nobody: x\n}\n")
        .err()
        .expect("errors");
    let bmad::engine::Error::Workflow(message) = &err else {
        panic!("a workflow error: {err:?}");
    };
    assert!(message.contains("bmad::undefined"), "{err}");
    let mut engine = Engine::from_text("flow.bmad", FLOW).unwrap();
    let err = engine
        .agent("ghost", |_| Outcome {
            ok: true,
            ..Outcome::default()
        })
        .unwrap_err();
    assert!(
        matches!(&err, bmad::engine::Error::NoAgent(a) if a == "ghost"),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "the workflow has no agent `ghost`");
}

/// Two phases; the host's agent fails the second phase's task until told otherwise.
const TWO_PHASES: &str = r#"
agent dev { backend exec "false" }
phase first {
  dev: plan
}
phase second after first {
  dev: build
}
"#;

#[test]
fn an_engine_runs_durably_and_resumes_by_the_librarys_policy() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.db");
    let options = || RunOptions {
        workspace: dir.path().to_path_buf(),
        ..RunOptions::default()
    };
    let tasks = Arc::new(Mutex::new(Vec::<String>::new()));
    let engine = |fail: bool| {
        let mut engine = Engine::from_text("two.bmad", TWO_PHASES).unwrap();
        let tasks = Arc::clone(&tasks);
        engine
            .agent("dev", move |inv| {
                tasks.lock().unwrap().extend(inv.tasks.iter().cloned());
                Outcome {
                    ok: !(fail && inv.tasks.iter().any(|t| t == "build")),
                    ..Outcome::default()
                }
            })
            .unwrap();
        engine
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (id, report) = rt
        .block_on(engine(true).run_durably(options(), &state, "two.bmad"))
        .unwrap();
    assert!(!report.ok, "the second phase failed");
    assert_eq!(*tasks.lock().unwrap(), ["plan", "build"]);

    // Another workflow's name is refused by the library, with a typed reason.
    let refused = rt
        .block_on(engine(false).resume(options(), &state, "other.bmad", Some(&id), false))
        .unwrap_err();
    assert!(
        matches!(
            refused,
            bmad::engine::Error::Resume(bmad::runtime::resume::ResumeRefused::Workflow { .. })
        ),
        "{refused:?}"
    );

    tasks.lock().unwrap().clear();
    let (resumed, report) = rt
        .block_on(engine(false).resume(options(), &state, "two.bmad", None, false))
        .unwrap();
    assert_eq!(resumed.run, id);
    assert!(report.ok, "{:?}", report.failed);
    assert_eq!(
        *tasks.lock().unwrap(),
        ["build"],
        "the first phase is not run again"
    );

    // Succeeded: nothing more to resume.
    let refused = rt
        .block_on(engine(false).resume(options(), &state, "two.bmad", Some(&id), false))
        .unwrap_err();
    assert!(
        matches!(
            &refused,
            bmad::engine::Error::Resume(bmad::runtime::resume::ResumeRefused::Succeeded(r))
                if *r == id
        ),
        "{refused:?}"
    );
}
