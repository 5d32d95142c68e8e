//! BMAD-METHOD projects as they are (`stories from bmad "DIR"`), on realistic fixture
//! projects (tests/fixtures/bmad, built from the documented examples): a v6 sprint, a v6
//! stories list and a v7 ticket tree run in their order with real exec agents; done
//! stories are not run again; each status moves forward in its own file, with the rest
//! of the file kept; a project with a problem fails the step at its file, line and column.

use crate::common;
use crate::harness::fill;

use common::run_in;
use std::path::Path;

/// The v6 status file of the fixture project.
pub const SPRINT: &str = "_bmad-output/implementation-artifacts/sprint-status.yaml";
/// The v7 initiative folder of the fixture project.
const TREE: &str = "_bmad-output/initiative-cart";

/// Copies the directory `from` into `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A workspace holding a copy of the fixture project `name`.
pub fn project(name: &str) -> tempfile::TempDir {
    let ws = tempfile::tempdir().unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bmad")
        .join(name);
    copy_dir(&from, ws.path());
    ws
}

/// The fixture project `name`'s file `path`, as it is in the repository.
pub fn original(name: &str, path: &str) -> String {
    let at = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bmad")
        .join(name)
        .join(path);
    std::fs::read_to_string(at).unwrap()
}

/// A workflow that builds and reviews every story of the project in the workspace with
/// the fixture agents: `status` is the file they copy, `stop` and `fail` stories as the
/// developer script takes them.
pub fn workflow(status: &str, stop: &str, fail: &str) -> String {
    fill(
        r#"
        agent dev { backend exec "sh {dev} {status} {stop} {fail}" stdin }
        agent qa { backend exec "sh {review} {status}" }
        workflow bmad_method { start development }
        stories from bmad "/"
        phase development {
          for story in stories max 2 {
            repeat max 2 {
              dev: build {
                context story, dependencies
              }
              qa: review
            } until approved
          }
        }
        "#,
        &[
            ("dev", &common::fixture("bmad-dev.sh")),
            ("review", &common::fixture("bmad-review.sh")),
            ("status", &status),
            ("stop", &stop),
            ("fail", &fail),
        ],
    )
}

fn read(ws: &Path, path: &str) -> String {
    std::fs::read_to_string(ws.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The lines of `after` that differ from `before` (the files have the same lines).
fn changed_lines(before: &str, after: &str) -> Vec<String> {
    assert_eq!(before.lines().count(), after.lines().count(), "{after}");
    before
        .lines()
        .zip(after.lines())
        .filter(|(b, a)| b != a)
        .map(|(_, a)| a.to_string())
        .collect()
}

#[test]
fn a_v6_sprint_runs_in_order_and_each_status_moves_forward_in_place() {
    let ws = project("v6-sprint");
    let report = run_in(&workflow(SPRINT, "-", "-"), ws.path(), false);
    assert!(report.ok, "{:?}", report.failed);
    let built = [
        "1-2-account-management",
        "1-3-password-reset",
        "2-1-personality-system",
    ];
    assert_eq!(report.stories_done, built);
    // 1-1 is done: not run again.
    assert_eq!(
        read(ws.path(), "ledger.txt").lines().collect::<Vec<_>>(),
        built
    );
    // While a story is built it is in progress (its epic too); while reviewed, in review.
    let dev = read(ws.path(), "seen-dev-1-2-account-management.txt");
    assert!(
        dev.contains(
            "  1-2-account-management: in-progress   # story file written by create-story\n"
        ),
        "{dev}"
    );
    assert!(dev.contains("  epic-1: in-progress\n"), "{dev}");
    assert!(dev.contains("  1-3-password-reset: backlog\n"), "{dev}");
    let review = read(ws.path(), "seen-review-1-2-account-management.txt");
    assert!(
        review.contains("  1-2-account-management: review   #"),
        "{review}"
    );
    let later = read(ws.path(), "seen-dev-2-1-personality-system.txt");
    assert!(
        later.contains("  epic-1: done\n") && later.contains("  epic-2: in-progress\n"),
        "{later}"
    );
    // At the end only the statuses and `last_updated` changed: comments, custom keys and
    // the action items are as they were.
    let before = original("v6-sprint", SPRINT);
    let after = read(ws.path(), SPRINT);
    let changed = changed_lines(&before, &after);
    assert_eq!(changed.len(), 6, "{changed:?}");
    assert!(changed[0].starts_with("last_updated: "), "{changed:?}");
    assert_eq!(
        &changed[1..],
        [
            "  epic-1: done",
            "  1-2-account-management: done   # story file written by create-story",
            "  1-3-password-reset: done",
            "  epic-2: done",
            "  2-1-personality-system: done",
        ]
    );
    // The story's title, criteria and file come from its story file; one without a file
    // has them from epics.md.
    let prompt = read(ws.path(), "prompt-1-2-account-management.txt");
    for line in [
        "Story 1-2-account-management (story): Account Management",
        "Story file (read it first): docs/stories/1-2-account-management.md",
        "- accept: Both changes are written to the audit log",
        "Depends on story 1-1-user-authentication (done)",
    ] {
        assert!(prompt.contains(line), "{line:?} missing from:\n{prompt}");
    }
    let prompt = read(ws.path(), "prompt-1-3-password-reset.txt");
    assert!(
        prompt.contains("Story 1-3-password-reset (story): Password Reset"),
        "{prompt}"
    );
    assert!(
        prompt.contains("- accept: A reset link is mailed and works once within an hour"),
        "{prompt}"
    );
}

#[test]
fn a_v6_stories_list_runs_after_its_done_story_and_writes_the_story_files() {
    let ws = project("v6-stories");
    let report = run_in(
        &workflow("stories/2-digest-rendering.md", "-", "-"),
        ws.path(),
        false,
    );
    assert!(report.ok, "{:?}", report.failed);
    assert_eq!(report.stories_done, ["2", "3"]);
    assert_eq!(read(ws.path(), "ledger.txt"), "2\n3\n");
    let seen = read(ws.path(), "seen-dev-2.txt");
    assert!(seen.contains("status: 'in-progress'\n"), "{seen}");
    let seen = read(ws.path(), "seen-review-2.txt");
    assert!(seen.contains("status: 'in-review'\n"), "{seen}");
    let file = read(ws.path(), "stories/2-digest-rendering.md");
    let before = original("v6-stories", "stories/2-digest-rendering.md");
    assert_eq!(
        file,
        before.replace("status: 'ready-for-dev'", "status: 'done'")
    );
    // stories.yaml never holds a status; a story with no file has none to write.
    assert_eq!(
        read(ws.path(), "stories.yaml"),
        original("v6-stories", "stories.yaml")
    );
    let prompt = read(ws.path(), "prompt-3.txt");
    assert!(
        prompt.contains("Description: Sends each user's digest at 07:00"),
        "{prompt}"
    );
    assert!(prompt.contains("Depends on story 2 (done)"), "{prompt}");
}

/// The v7 plan of a ticket in the fixture tree.
fn plan(ws: &Path, epic: &str, file: &str) -> String {
    read(ws, &format!("{TREE}/{epic}/{file}"))
}

#[test]
fn a_v7_ticket_tree_runs_its_dependencies_and_epic_gates_and_writes_plans_only() {
    let ws = project("v7-tickets");
    let report = run_in(&workflow("-", "-", "-"), ws.path(), false);
    assert!(report.ok, "{:?}", report.failed);
    let ledger = read(ws.path(), "ledger.txt");
    let order: Vec<&str> = ledger.lines().collect();
    // 1.1 is done; 1.2 is built (in review): it is run to finish, and 2.1, which needs it,
    // still waits for the whole of epic 1 (epic 2's gate), 1.3 included.
    assert_eq!(order.len(), 4, "{order:?}");
    let at = |id: &str| order.iter().position(|s| *s == id).unwrap();
    assert!(at("2.1") > at("1.2") && at("2.1") > at("1.3"), "{order:?}");
    assert!(at("2.2") > at("2.1"), "{order:?}");
    // Statuses go to plans: the existing one moves, a missing one is made.
    assert!(
        plan(ws.path(), "epic-cart-core", "story-cart-totals-plan.md").contains("status: 'done'\n")
    );
    let made = plan(
        ws.path(),
        "epic-cart-core",
        "spike-measure-add-item-latency-plan.md",
    );
    assert_eq!(
        made,
        "---\ntitle: 'Measure add-item latency'\ntype: 'feature'\nticket: 3\nstatus: 'done'\n---\n"
    );
    let bug = plan(
        ws.path(),
        "epic-cart-rules",
        "bug-quantity-can-go-negative-plan.md",
    );
    assert!(
        bug.contains("type: 'bugfix'\nticket: 2\nstatus: 'done'\n"),
        "{bug}"
    );
    // tickets.toml, the leaves and the done plan are untouched.
    for file in [
        "tickets.toml",
        "epic-cart-core/tickets.toml",
        "epic-cart-rules/tickets.toml",
        "epic-cart-core/story-cart-service-scaffold.md",
        "epic-cart-core/story-cart-service-scaffold-plan.md",
    ] {
        let path = format!("{TREE}/{file}");
        assert_eq!(
            read(ws.path(), &path),
            original("v7-tickets", &path),
            "{file}"
        );
    }
    let prompt = read(ws.path(), "prompt-1.3.txt");
    assert!(
        prompt.contains("Story 1.3 (spike): Measure add-item latency"),
        "{prompt}"
    );
    let prompt = read(ws.path(), "prompt-2.1.txt");
    assert!(
        prompt.contains("- accept: A valid code lowers the total"),
        "{prompt}"
    );
}

#[test]
fn a_v7_ticket_that_fails_is_blocked_in_its_plan_and_so_is_what_waits_for_it() {
    let ws = project("v7-tickets");
    let report = run_in(&workflow("-", "-", "1.3"), ws.path(), false);
    assert!(report.ok, "{:?}", report.failed);
    assert_eq!(report.stories_done, ["1.2"]);
    let spike = plan(
        ws.path(),
        "epic-cart-core",
        "spike-measure-add-item-latency-plan.md",
    );
    assert!(spike.contains("status: 'blocked'\n"), "{spike}");
    assert!(spike.contains("blocked_reason: '"), "{spike}");
    assert!(spike.contains("blocked_at: '"), "{spike}");
    // Epic 2 waits for all of epic 1: its tickets are blocked too.
    let rules = plan(
        ws.path(),
        "epic-cart-rules",
        "story-apply-and-refuse-discount-codes-plan.md",
    );
    assert!(rules.contains("status: 'blocked'\n"), "{rules}");
    assert!(rules.contains("depends on blocked story `1.3`"), "{rules}");
}

#[test]
fn a_project_with_a_problem_fails_the_step_at_its_file_line_and_column() {
    let ws = project("v6-sprint");
    let status = ws.path().join(SPRINT);
    let text = std::fs::read_to_string(&status).unwrap();
    std::fs::write(
        &status,
        text.replace(
            "1-3-password-reset: backlog",
            "1-3-password-reset: finished",
        ),
    )
    .unwrap();
    let failed = run_in(&workflow(SPRINT, "-", "-"), ws.path(), false)
        .failed
        .expect("fails");
    assert!(
        failed.contains(&format!("{SPRINT}:31:23: `finished` is not a status of `1-3-password-reset` [bmad::unknown-status]")),
        "{failed}"
    );
    assert!(!ws.path().join("ledger.txt").exists(), "nothing ran");
}
