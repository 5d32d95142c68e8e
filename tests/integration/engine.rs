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
    assert!(err.message.contains("bmad::undefined"), "{err}");
    let mut engine = Engine::from_text("flow.bmad", FLOW).unwrap();
    let err = engine
        .agent("ghost", |_| Outcome {
            ok: true,
            ..Outcome::default()
        })
        .unwrap_err();
    assert_eq!(err.message, "the workflow has no agent `ghost`");
}
