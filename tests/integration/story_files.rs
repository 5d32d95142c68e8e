//! Story files: the stories the scrum master writes during sprint planning are read when
//! development's for-each starts, assigned by type and run in dependency order; broken
//! files, unknown dependencies and cycles are reported, never silently skipped.

use crate::common;
use crate::harness::fill;

use bmad::runtime::event::EventKind;
use common::run_in;

fn workflow(sm: &str) -> String {
    fill(
        r#"
        agent sm { backend exec "{sm}" }
        agent ui_dev { backend exec "cat > done-$BMAD_STORY.txt" stdin }
        agent backend_dev { backend exec "cat > done-$BMAD_STORY.txt" stdin }
        stories from "/docs/stories/*.yaml"
        phase sprint_planning {
          sm: break_down_stories {
            produces story_files = "/docs/stories/"
          }
        }
        phase development after sprint_planning {
          for story in stories {
            assign dev by story.type {
              frontend => ui_dev
              backend => backend_dev
            }
            dev: implement {
              context story, dependencies
            }
          }
        }
        "#,
        &[("sm", &sm)],
    )
}

fn started(report: &bmad::runtime::Report) -> Vec<(String, String)> {
    report
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TaskStarted {
                agent,
                story: Some(s),
                ..
            } => Some((agent.clone(), s.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn stories_written_during_sprint_planning_are_developed_in_order() {
    let ws = tempfile::tempdir().unwrap();
    let report = run_in(
        &workflow(&common::fixture("write-stories.sh")),
        ws.path(),
        false,
    );
    assert!(report.ok, "{:?}", report.failed);
    assert_eq!(
        started(&report),
        [
            ("backend_dev".to_string(), "3.6.15".to_string()),
            ("ui_dev".to_string(), "3.6.16".to_string())
        ]
    );
    assert_eq!(report.stories_done, ["3.6.15", "3.6.16"]);
    let prompt = std::fs::read_to_string(ws.path().join("done-3.6.16.txt")).unwrap();
    for line in [
        "Story 3.6.16 (frontend): Implement WebRTC peer connection",
        "- modify /client/src/services/webrtc.ts: Add peer connection logic",
        "Depends on story 3.6.15 (done): Signaling server; files: /server/src/signaling.ts",
    ] {
        assert!(prompt.contains(line), "{line:?} missing from:\n{prompt}");
    }
}

/// A scrum master that writes the given story files.
fn sm_writing(ws: &std::path::Path, files: &[(&str, &str)]) -> String {
    let dir = ws.join("seed-stories");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    "mkdir -p docs/stories && cp seed-stories/* docs/stories/".to_string()
}

#[test]
fn unknown_dependencies_and_cycles_block_stories_and_the_rest_goes_on() {
    let ws = tempfile::tempdir().unwrap();
    let story = |id: &str, deps: &str| {
        format!(
            "story:\n  id: \"{id}\"\n  type: backend\n  title: \"{id}\"\n  context:\n    dependencies: [{deps}]\n"
        )
    };
    let files = [
        ("a.yaml", story("a", "")),
        ("b.yaml", story("b", "\"ghost\"")),
        ("c.yaml", story("c", "\"d\"")),
        ("d.yaml", story("d", "\"c\"")),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let sm = sm_writing(ws.path(), &files);
    let report = run_in(&workflow(&sm), ws.path(), false);
    assert!(report.ok, "{:?}", report.failed);
    assert_eq!(report.stories_done, ["a"]);
    let blocked: Vec<(String, String)> = report
        .stories_blocked
        .iter()
        .cloned()
        .zip(report.blocked_reasons.iter().cloned())
        .collect();
    assert!(
        blocked.contains(&("b".into(), "depends on unknown story `ghost`".into())),
        "{blocked:?}"
    );
    assert!(
        blocked
            .iter()
            .any(|(s, why)| s == "c" && why.contains("cycle")),
        "{blocked:?}"
    );
    assert_eq!(blocked.len(), 3, "{blocked:?}");
}

#[test]
fn a_broken_story_file_fails_the_step_naming_the_file_and_line() {
    let ws = tempfile::tempdir().unwrap();
    let sm = sm_writing(
        ws.path(),
        &[(
            "bad.yaml",
            "story:\n  id: \"1\"\n  type: backend\n  titel: \"typo\"\n",
        )],
    );
    let failed = run_in(&workflow(&sm), ws.path(), false)
        .failed
        .expect("fails");
    assert!(failed.contains("docs/stories/bad.yaml:4:"), "{failed}");
    assert!(failed.contains("titel"), "{failed}");
}

#[test]
fn a_story_file_may_not_reuse_an_inline_story_id() {
    let ws = tempfile::tempdir().unwrap();
    let sm = sm_writing(
        ws.path(),
        &[("one.yaml", "story:\n  id: \"1\"\n  type: backend\n")],
    );
    let src = workflow(&sm) + "story \"1\" backend { title \"inline\" }\n";
    let failed = run_in(&src, ws.path(), false).failed.expect("fails");
    assert!(failed.contains("story `1` is defined twice"), "{failed}");
}
