//! Reading projects held in memory: each format's stories and statuses, and odd or broken
//! input (multi-byte text, CRLF lines, empty files, a lone `---`) giving diagnostics,
//! never a panic.

use super::*;
use std::collections::BTreeMap;

/// Files in memory, by path.
struct MemFiles(BTreeMap<String, String>);

impl ProjectFiles for MemFiles {
    fn read(&self, path: &str) -> Result<Option<String>, String> {
        Ok(self.0.get(path).cloned())
    }

    fn list(&self, path: &str) -> Vec<String> {
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}/")
        };
        let mut names: Vec<String> = self
            .0
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .map(|rest| rest.split('/').next().unwrap_or(rest).to_string())
            .collect();
        names.dedup();
        names
    }
}

fn files(entries: &[(&str, &str)]) -> MemFiles {
    MemFiles(
        entries
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
    )
}

fn read_mem(entries: &[(&str, &str)]) -> Result<Project, Vec<Diagnostic>> {
    read(&files(entries), "p", &mut SourceMap::new())
}

#[test]
fn a_stories_list_with_crlf_lines_and_multibyte_titles_reads() {
    let p = read_mem(&[
        (
            "p/stories.yaml",
            "- id: \"1\"\r\n  title: \"Café menü ✓\"\r\n- id: 2\r\n  title: \"Zwei\"\r\n",
        ),
        (
            "p/stories/1-cafe.md",
            "---\r\nstatus: 'in-review'\r\n---\r\n# Café\r\n",
        ),
    ])
    .unwrap();
    assert_eq!(p.layout, Layout::StoriesList);
    let ids: Vec<&str> = p.stories.iter().map(|s| s.story.id.name.as_str()).collect();
    assert_eq!(ids, ["1", "2"]);
    assert_eq!(p.stories[0].progress, Progress::Review);
    assert_eq!(p.stories[1].story.after[0].name, "1");
}

#[test]
fn odd_input_gives_diagnostics_never_a_panic() {
    let cases: &[&[(&str, &str)]] = &[
        &[("p/sprint-status.yaml", "")],
        &[("p/sprint-status.yaml", "development_status:\n")],
        &[(
            "p/sprint-status.yaml",
            "development_status:\n  1-1-é: ✓ # ü\n",
        )],
        &[(
            "p/sprint-status.yaml",
            "development_status: {1-1-a: done}\n",
        )],
        &[(
            "p/sprint-status.yaml",
            "development_status:\n  1-1-a: 'done\n",
        )],
        &[("p/stories.yaml", "---\n")],
        &[("p/stories.yaml", "- title: no id\n- id: []\n")],
        &[("p/stories.yaml", "{a: 1}")],
        &[("p/tickets.toml", "")],
        &[("p/tickets.toml", "[[epic]]\nid = 1\n")],
        &[("p/tickets.toml", "[[epic]]\nid = 1.5\nslug = \"epic-é\"\n")],
        &[
            (
                "p/tickets.toml",
                "[[epic]]\nid = 1\nslug = \"epic-a\"\nafter = [true]\n",
            ),
            (
                "p/epic-a/tickets.toml",
                "[[entry]]\nid = \"\"\n[[entry]]\nafter = [{}]\n",
            ),
            ("p/epic-a/x-plan.md", "---"),
            ("p/epic-a/y.md", "---\nid: 1\n"),
        ],
        &[("p/readme.md", "nothing here")],
    ];
    for (n, case) in cases.iter().enumerate() {
        // Either way is fine; it must not panic, and a failure names something.
        if let Err(found) = read_mem(case) {
            assert!(!found.is_empty(), "case {n}");
        }
    }
}

#[test]
fn a_ticket_gated_on_a_whole_epic_knows_its_gates() {
    let p = read_mem(&[
        (
            "p/tickets.toml",
            "[[epic]]\nid = 1\nslug = \"epic-a\"\n[[epic]]\nid = \"6a\"\nslug = \"epic-b\"\nafter = [1]\n",
        ),
        ("p/epic-a/tickets.toml", "[[entry]]\nid = 1\n[[entry]]\nid = 2\nafter = [1]\n"),
        ("p/epic-b/tickets.toml", "[[entry]]\nid = 1\nafter = [\"1.1\"]\n"),
    ])
    .unwrap();
    let b = &p.stories[2];
    assert_eq!(b.story.id.name, "6a.1");
    let after: Vec<&str> = b.story.after.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(after, ["1.1", "1.2"]);
    assert_eq!(b.gates, ["1.1", "1.2"]);
    assert_eq!(
        b.place.as_ref().unwrap().file,
        "p/epic-b/story-6a-1-plan.md"
    );
}
