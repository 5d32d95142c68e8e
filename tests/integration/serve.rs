//! `bmad serve` over HTTP: every address on a real store (a simulated run of the bundled
//! product example, a simulated week of the operations example, a run waiting for an
//! approval), the live stream, what a bad run id, a damaged store, a missing token, a
//! foreign host and a non-loopback address without a token get.

use crate::common;
use crate::common::web::{Served, serve};
use crate::harness::{DEADLINE, wait_until};
use std::path::{Path, PathBuf};

/// A simulated run of `example` (under examples/) in a new workspace; the workspace and
/// the run's id.
pub fn simulated(example: &str, command: &[&str]) -> (tempfile::TempDir, String) {
    let ws = tempfile::tempdir().unwrap();
    let file = format!("examples/{example}");
    let mut args: Vec<&str> = command.to_vec();
    args.extend([file.as_str(), "--simulate", "--workspace"]);
    args.push(ws.path().to_str().unwrap());
    let out = common::bmad(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = run_id(&state(ws.path()));
    (ws, id)
}

/// The state file of a workspace.
pub fn state(ws: &Path) -> PathBuf {
    ws.join(".bmad/state.db")
}

/// The id of the newest run in a store.
pub fn run_id(state: &Path) -> String {
    let store = bmad::state::Store::open_read_only(state).unwrap();
    store.runs().unwrap().remove(0).id
}

/// A workflow whose one story waits for a person's approval; its agent prints what it
/// was asked (so its transcript holds the prompt too).
pub const WAITING: &str = r#"
agent dev { backend exec "cat" stdin }
workflow w { start build }
phase build {
  for story in stories {
    repeat max 2 {
      dev: implement
      approve review "Does the change read well?"
    } until approved
  }
}
story "s1" feature { title "the one story" }
"#;

/// `bmad run flow.bmad` of [`WAITING`] in a new workspace, in the background, once it
/// waits for `review@s1`: the workspace, the process and the run's id.
pub fn waiting_run() -> (tempfile::TempDir, std::process::Child, String) {
    let ws = tempfile::tempdir().unwrap();
    std::fs::write(ws.path().join("flow.bmad"), WAITING).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_bmad"))
        .args(["run", "flow.bmad", "--workspace", "."])
        .current_dir(ws.path())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let path = state(ws.path());
    let mut id = String::new();
    let asked = wait_until(DEADLINE, || {
        let Some(store) = common::store_once_written(&path) else {
            return false;
        };
        let Some(run) = store.runs().ok().and_then(|r| r.into_iter().next()) else {
            return false;
        };
        id = run.id.clone();
        store
            .approvals(&run.id)
            .is_ok_and(|a| a.iter().any(|a| a.answer.is_none()))
    });
    assert!(asked, "the run never asked for its approval");
    (ws, child, id)
}

fn ok(s: &Served, path: &str) -> String {
    let a = s.get(path, &[]);
    assert_eq!(a.status, 200, "GET {path}: {}", a.body);
    a.body
}

#[test]
fn every_page_of_a_simulated_run_answers_and_the_stream_replays_its_log() {
    let (ws, id) = simulated("seed-product.bmad", &["run"]);
    let s = serve(&state(ws.path()), &[]);
    let list = ok(&s, "/");
    assert!(list.contains(&id) && list.contains("succeeded"), "{list}");
    let run = ok(&s, &format!("/runs/{id}"));
    for want in [
        "Story board",
        r#"data-column="done""#,
        r#"class="card" data-story="3.6.15""#,
        "story_qa #1",
        r#"<svg class="flow""#,
        r#"<svg class="gantt""#,
        "Critical path",
        "development_velocity",
        "/assets/app.js",
    ] {
        assert!(run.contains(want), "no {want} in the run page");
    }
    // A prefix of the id names the run too.
    ok(&s, &format!("/runs/{}", &id[..id.len() - 2]));
    let step = ok(&s, &format!("/runs/{id}/steps/ideation/1"));
    assert!(
        step.contains("Artifacts") && step.contains("pm: validate_business_value"),
        "{step}"
    );
    let handoff = ok(
        &s,
        &format!("/runs/{id}/steps/development/0/3.6.17/1/%232/1"),
    );
    assert!(
        handoff.contains("story_qa") && handoff.contains("Attempts"),
        "{handoff}"
    );
    assert!(ok(&s, &format!("/runs/{id}/ops")).contains("No incident was opened"));
    // The run list's table, which the list page redraws.
    let runs = ok(&s, "/parts/runs");
    assert!(
        runs.starts_with(r#"<table class="runs""#) && runs.contains(&id) && !runs.contains("<html"),
        "{runs}"
    );
    // The parts the live page redraws as tasks start and end.
    let flow = ok(&s, &format!("/runs/{id}/parts/flow"));
    assert!(
        flow.starts_with(r#"<svg class="flow""#) && flow.contains("node box ok"),
        "{flow}"
    );
    let timeline = ok(&s, &format!("/runs/{id}/parts/timeline"));
    assert!(
        timeline.contains("Critical path") && !timeline.contains("<html"),
        "{timeline}"
    );
    assert_eq!(s.get(&format!("/runs/{id}/parts/nope"), &[]).status, 404);
    let stream = s.get(&format!("/runs/{id}/events?after=0"), &[]);
    assert_eq!(stream.status, 200);
    assert_eq!(stream.header("content-type"), Some("text/event-stream"));
    let events = stream.body.matches("event: log").count();
    let store = bmad::state::Store::open_read_only(&state(ws.path())).unwrap();
    assert_eq!(
        events as u64,
        store.run(&id).unwrap().events,
        "{}",
        stream.body
    );
    assert!(stream.body.contains(r#""moved":"done""#) && stream.body.ends_with("event: end\n\n"));
    // From a place on: only what came after it.
    let tail = s.get(&format!("/runs/{id}/events?after={}", events - 1), &[]);
    assert_eq!(tail.body.matches("event: log").count(), 1, "{}", tail.body);
    let css = s.get("/assets/style.css", &[]);
    assert_eq!(
        (css.status, css.header("content-type")),
        (200, Some("text/css; charset=utf-8"))
    );
    let js = s.get("/assets/app.js", &[]);
    assert!(js.status == 200 && js.body.contains("EventSource"));
    assert!(
        list.contains("content-security-policy") || css.header("content-security-policy").is_some()
    );
}

#[test]
fn a_bad_run_id_step_or_page_is_an_error_page_with_its_status() {
    let (ws, id) = simulated("hello.bmad", &["run"]);
    let s = serve(&state(ws.path()), &[]);
    for (path, status, says) in [
        ("/runs/nope".to_string(), 404, "no run `nope`"),
        ("/runs/%00%ff".to_string(), 400, "Invalid URL"),
        (format!("/runs/{id}/steps/no/such/step"), 404, "has no step"),
        (format!("/runs/{id}/nothing"), 404, "no such page"),
        ("/runs/nope/events".to_string(), 404, "no run"),
        ("/runs/nope/ops".to_string(), 404, "no run"),
        ("/../../etc/passwd".to_string(), 404, "no such page"),
    ] {
        let a = s.get(&path, &[]);
        assert_eq!(a.status, status, "{path}: {}", a.body);
        assert!(
            a.body.contains(says) && a.body.contains("<h1>"),
            "{path}: {}",
            a.body
        );
    }
    // Without a token the view answers no approval.
    let post = s.request(
        "POST",
        &format!("/runs/{id}/approvals/x"),
        &[],
        "decision=approve",
    );
    assert_eq!(post.status, 403, "{}", post.body);
    assert!(post.body.contains("serve-read-only"));
    // A page elsewhere reaching it through another name is refused.
    let rebound = s.get("/", &["Host: evil.example"]);
    assert_eq!(rebound.status, 403);
    ok(&s, "/");
}

#[test]
fn a_damaged_or_foreign_store_is_an_error_page_and_the_server_goes_on() {
    let (ws, id) = simulated("hello.bmad", &["run"]);
    let path = state(ws.path());
    let s = serve(&path, &[]);
    ok(&s, &format!("/runs/{id}"));
    // Damaged in place: its pages are overwritten with noise past the header.
    let mut bytes = std::fs::read(&path).unwrap();
    for b in bytes.iter_mut().skip(100) {
        *b = 0x5a;
    }
    for ext in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(ws.path().join(format!(".bmad/state.db{ext}")));
    }
    std::fs::write(&path, &bytes).unwrap();
    for page in [
        "/".to_string(),
        format!("/runs/{id}"),
        format!("/runs/{id}/events"),
    ] {
        let a = s.get(&page, &[]);
        assert_eq!(a.status, 500, "{page}: {}", a.body);
        assert!(a.body.contains("damaged"), "{page}: {}", a.body);
    }
    // Another program's file, then none at all.
    std::fs::write(
        &path,
        b"not a database at all, just some text that is long enough",
    )
    .unwrap();
    assert_eq!(s.get("/", &[]).status, 500);
    std::fs::remove_file(&path).unwrap();
    let gone = s.get("/", &[]);
    assert_eq!(gone.status, 503, "{}", gone.body);
    assert!(!path.exists(), "the viewer made a store");
    assert_eq!(s.get("/assets/style.css", &[]).status, 200);
}

#[test]
fn a_non_loopback_address_needs_a_token_and_the_token_guards_every_request() {
    let (ws, id) = simulated("hello.bmad", &["run"]);
    let path = state(ws.path());
    let p = path.to_str().unwrap();
    let refused = common::bmad(&["serve", "--state", p, "--addr", "0.0.0.0:0"]);
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("[serve-no-token]"), "{err}");
    let weak = common::bmad(&["serve", "--state", p, "--token", "short"]);
    assert!(String::from_utf8_lossy(&weak.stderr).contains("[serve-weak-token]"));
    let missing = common::bmad(&["serve", "--state", "/nonexistent/state.db"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("[serve-no-state]"));

    let token = "a-long-enough-test-token";
    let s = serve(&path, &["--token", token]);
    let bare = s.get("/", &[]);
    assert_eq!(bare.status, 401, "{}", bare.body);
    assert!(!bare.body.contains(&id));
    assert_eq!(
        s.get("/", &["Authorization: Bearer wrong-token-of-some-length"])
            .status,
        401
    );
    assert_eq!(
        s.get("/", &[&format!("Authorization: Bearer {token}")])
            .status,
        200
    );
    // A link with the token sets the cookie and sends the browser on without it.
    let link = s.get(&format!("/runs/{id}?token={token}"), &[]);
    assert_eq!(link.status, 303, "{}", link.body);
    assert_eq!(
        link.header("location"),
        Some(format!("/runs/{id}").as_str())
    );
    let cookie = link.header("set-cookie").unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let with_cookie = s.get(
        &format!("/runs/{id}"),
        &[&format!("Cookie: bmad_token={token}")],
    );
    assert_eq!(with_cookie.status, 200);
    assert!(
        !with_cookie.body.contains(token),
        "the page shows the token"
    );
}

#[test]
fn with_the_token_an_approval_is_answered_from_the_page_and_the_run_goes_on() {
    let (ws, mut child, id) = waiting_run();
    let token = "another-long-test-token";
    let s = serve(&state(ws.path()), &["--token", token]);
    let auth = format!("Authorization: Bearer {token}");
    let page = s.get(&format!("/runs/{id}"), &[&auth]);
    assert!(
        page.body.contains(r#"<form class="answer" method="post""#),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"data-column="review""#));
    // The approvals alone, as the page redraws them when one is asked or answered.
    let part = s.get(&format!("/runs/{id}/parts/approvals"), &[&auth]);
    assert!(
        part.body.contains("review@s1") && part.body.contains(r#"<form class="answer""#),
        "{}",
        part.body
    );
    let transcript = s.get(&format!("/runs/{id}/steps/build/0/s1/0/%231/0"), &[&auth]);
    assert!(
        transcript.body.contains("Transcript") && transcript.body.contains("implement"),
        "{}",
        transcript.body
    );
    // The prompt the task was given, kept beside its transcript.
    let prompt = transcript
        .body
        .split(r#"<pre class="prompt">"#)
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .unwrap_or_else(|| panic!("no prompt: {}", transcript.body));
    assert!(
        prompt.contains("implement") && prompt.contains("the one story"),
        "{prompt}"
    );
    let form = "decision=maybe";
    let target = "/approvals/review%40s1";
    assert_eq!(
        s.request("POST", &format!("/runs/{id}{target}"), &[&auth], form)
            .status,
        400
    );
    let foreign = s.request(
        "POST",
        &format!("/runs/{id}{target}"),
        &[&auth, "Origin: http://evil.example"],
        "decision=approve",
    );
    assert_eq!(foreign.status, 403);
    let not_asked = s.request(
        "POST",
        &format!("/runs/{id}/approvals/nothing"),
        &[&auth],
        "decision=approve",
    );
    assert_eq!(not_asked.status, 409, "{}", not_asked.body);
    let answered = s.request(
        "POST",
        &format!("/runs/{id}{target}"),
        &[&auth],
        "decision=approve&by=tester&reason=",
    );
    assert_eq!(answered.status, 303, "{}", answered.body);
    assert!(child.wait().unwrap().success());
    let stream = s.get(&format!("/runs/{id}/events"), &[&auth]);
    assert!(stream.body.contains(r#""moved":"done""#), "{}", stream.body);
    assert!(
        stream.body.contains("approved by tester"),
        "{}",
        stream.body
    );
}

#[test]
fn the_operations_page_shows_checks_heals_and_incidents_with_their_post_mortem() {
    let (ws, id) = simulated("seed-operations.bmad", &["monitor", "--for", "7d"]);
    let s = serve(&state(ws.path()), &[]);
    let ops = ok(&s, &format!("/runs/{id}/ops"));
    for want in [
        "INC-0001",
        "resolved after",
        "root-cause-analysis.md",
        "heal webrtc_connection_failure",
        "webrtc_connection_failure",
        "fix 1",
        "Checks",
    ] {
        assert!(ops.contains(want), "no {want} in the operations page");
    }
    assert!(ok(&s, "/").contains("monitor"));
}

#[test]
fn a_declared_secret_shows_on_no_page_masked_in_transcripts_and_events() {
    let ws = tempfile::tempdir().unwrap();
    let flow = r#"env DEPLOY_TOKEN secret
agent printer {
  backend exec "echo token is $DEPLOY_TOKEN"
}
agent leaky {
  backend script `#{ ok: false, feedback: "auth failed with " + env("DEPLOY_TOKEN") }`
}
phase p {
  printer: show
  repeat max 1 {
    leaky: validate
  } until approved
}
"#;
    std::fs::write(ws.path().join("flow.bmad"), flow).unwrap();
    let secret = "s3cr3t-t0ken-value";
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bmad"))
        .args(["run", "flow.bmad", "--workspace", "."])
        .current_dir(ws.path())
        .env("DEPLOY_TOKEN", secret)
        .output()
        .unwrap();
    assert!(!out.status.success(), "the leaky validation fails the run");
    let path = state(ws.path());
    let id = run_id(&path);
    let store = bmad::state::Store::open_read_only(&path).unwrap();
    let mut pages = vec![
        "/".to_string(),
        format!("/runs/{id}"),
        format!("/runs/{id}/ops"),
        format!("/runs/{id}/events"),
    ];
    for step in store.step_starts(&id).unwrap() {
        pages.push(format!("/runs/{id}/steps/{}", step.key.replace('#', "%23")));
    }
    let s = serve(&path, &[]);
    let mut all = String::new();
    for page in &pages {
        all.push_str(&ok(&s, page));
    }
    assert!(!all.contains(secret), "a page shows the secret");
    assert!(
        all.contains("token is ***") && all.contains("auth failed with ***"),
        "{all}"
    );
}
