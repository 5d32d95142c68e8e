//! `bmad serve` in a real browser: headless Chromium driven over WebDriver (chromedriver,
//! one browser session for every page): the run list, a run's board moving a card while
//! the run goes on and its approval shown answered (without a reload), a step's transcript, an incident. A screenshot of
//! each is saved under target/screenshots/. Chromium and chromedriver are Debian's
//! (`.ci/run` installs them); without them this test fails, unless
//! `BMAD_BROWSER_TESTS=skip` says they could not be installed (`.ci/run` sets it then,
//! with a warning).

use crate::common;
use crate::common::web::serve;
use crate::harness::{DEADLINE, wait_until};
use crate::serve::waiting_run;
use fantoccini::{Client, ClientBuilder, Locator};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A chromedriver, stopped when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free loopback port (bound, then released for chromedriver).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// chromedriver on a free port, once it answers.
fn driver() -> (Driver, u16) {
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "chromedriver does not start ({e}): install Debian's `chromium` and \
                 `chromium-driver` (.ci/run does), or set BMAD_BROWSER_TESTS=skip where \
                 they cannot be installed"
            )
        });
    let up = wait_until(DEADLINE, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(up, "chromedriver never listened on port {port}");
    (Driver(child), port)
}

/// Where the screenshots go: target/screenshots/.
fn screenshots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    );
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("a screenshot");
    std::fs::write(screenshots().join(name), png).unwrap();
}

/// The text of the element `css` finds, once there is one.
async fn text_of(c: &Client, css: &str) -> String {
    let e = c
        .wait()
        .at_most(DEADLINE)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}` on the page: {e}"));
    e.text().await.unwrap()
}

/// Adds a simulated run of `example` to the store at `state`; its id.
fn add_simulated(state: &Path, ws: &Path, command: &[&str], example: &str) -> String {
    let before = run_ids(state);
    let file = format!("examples/{example}");
    let mut args: Vec<&str> = command.to_vec();
    args.extend([file.as_str(), "--simulate", "--workspace"]);
    args.push(ws.to_str().unwrap());
    args.extend(["--state", state.to_str().unwrap()]);
    let out = common::bmad(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut new: Vec<String> = run_ids(state)
        .into_iter()
        .filter(|id| !before.contains(id))
        .collect();
    assert_eq!(new.len(), 1, "{new:?}");
    new.remove(0)
}

/// The ids of the runs in the store at `state`.
fn run_ids(state: &Path) -> Vec<String> {
    let store = bmad::state::Store::open_read_only(state).unwrap();
    store.runs().unwrap().into_iter().map(|r| r.id).collect()
}

#[test]
fn the_pages_in_a_real_browser_list_runs_move_cards_live_show_transcripts_and_incidents() {
    if std::env::var("BMAD_BROWSER_TESTS").is_ok_and(|v| v == "skip") {
        eprintln!("warning: BMAD_BROWSER_TESTS=skip: the browser tests did not run");
        return;
    }
    // One store: a run waiting for its approval, a simulated product run, a simulated
    // week of operations.
    let (ws, mut waiting, live_id) = waiting_run();
    let state = crate::serve::state(ws.path());
    let product = add_simulated(
        &state,
        &ws.path().join("product"),
        &["run"],
        "seed-product.bmad",
    );
    let ops = add_simulated(
        &state,
        &ws.path().join("ops"),
        &["monitor", "--for", "7d"],
        "seed-operations.bmad",
    );
    let served = serve(&state, &[]);
    let base = format!("http://{}", served.addr);
    let (_driver, port) = driver();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1400,1100"]
            }),
        );
        let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("chromedriver starts a headless Chromium session");

        // The run list.
        c.goto(&format!("{base}/")).await.unwrap();
        let rows = c.find_all(Locator::Css("table.runs tr.run")).await.unwrap();
        assert_eq!(rows.len(), 3);
        let list = text_of(&c, "table.runs").await;
        assert!(
            list.contains(&product) && list.contains(&ops) && list.contains("waiting"),
            "{list}"
        );
        shot(&c, "run-list.png").await;
        // A run recorded while the list is shown appears in it without a reload.
        c.execute("window.notReloaded = true;", vec![])
            .await
            .unwrap();
        let later = add_simulated(&state, &ws.path().join("later"), &["run"], "hello.bmad");
        c.wait()
            .at_most(DEADLINE)
            .every(Duration::from_millis(100))
            .for_element(Locator::Css(&format!(
                r#"table.runs tr.run[data-run="{later}"]"#
            )))
            .await
            .expect("the new run appears in the list");
        let still = c
            .execute("return window.notReloaded === true;", vec![])
            .await
            .unwrap();
        assert_eq!(still, serde_json::json!(true), "the list was reloaded");

        // A run's board while it goes on: its story waits for its approval; once approved (from
        // another terminal) its card moves to done without a reload.
        c.goto(&format!("{base}/runs/{live_id}")).await.unwrap();
        let card = r#"#board .column:not([data-column="done"]) .card[data-story="s1"]"#;
        text_of(&c, card).await;
        c.execute("window.notReloaded = true;", vec![])
            .await
            .unwrap();
        let waiting_for = text_of(&c, "#part-approvals .approval").await;
        assert!(waiting_for.contains("waiting"), "{waiting_for}");
        shot(&c, "run-board-before.png").await;
        let out = common::bmad(&[
            "approve",
            &live_id,
            "review@s1",
            "--state",
            state.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(waiting.wait().unwrap().success());
        let done = text_of(
            &c,
            r#"#board .column[data-column="done"] .card[data-story="s1"]"#,
        )
        .await;
        assert!(done.contains("s1"));
        c.wait()
            .at_most(DEADLINE)
            .every(Duration::from_millis(100))
            .for_element(Locator::Css("#run-status.succeeded"))
            .await
            .expect("the run's status turns to succeeded");
        // The approval, answered, is shown as such.
        c.wait()
            .at_most(DEADLINE)
            .every(Duration::from_millis(100))
            .for_element(Locator::Css("#part-approvals .approval span.ok"))
            .await
            .expect("the approval is shown approved");
        let still = c
            .execute("return window.notReloaded === true;", vec![])
            .await
            .unwrap();
        assert_eq!(still, serde_json::json!(true), "the page was reloaded");
        let left = c.find_all(Locator::Css(card)).await.unwrap();
        assert!(left.is_empty(), "the card is still where it was too");
        shot(&c, "run-board-live.png").await;

        // A step's transcript: the agent printed the prompt it was given.
        c.goto(&format!("{base}/runs/{live_id}/steps/build/0/s1/0/%231/0"))
            .await
            .unwrap();
        let transcript = text_of(&c, "article.transcript pre.stdout").await;
        assert!(transcript.contains("implement"), "{transcript}");
        shot(&c, "step-transcript.png").await;

        // An incident: its timeline and post-mortem.
        c.goto(&format!("{base}/runs/{ops}/ops")).await.unwrap();
        let incident = text_of(&c, "article.incident#INC-0001").await;
        assert!(
            incident.contains("resolved after") && incident.contains("Timeline"),
            "{incident}"
        );
        assert!(incident.contains("root-cause-analysis.md"), "{incident}");
        c.execute(
            "document.getElementById('INC-0001').scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
        shot(&c, "incident.png").await;
        c.close().await.unwrap();
    });
    for name in [
        "run-list.png",
        "run-board-live.png",
        "step-transcript.png",
        "incident.png",
    ] {
        assert!(
            screenshots()
                .join(name)
                .metadata()
                .is_ok_and(|m| m.len() > 1000),
            "{name}"
        );
    }
}
