//! `bmad graph` in pages: every page of every bundled workflow (the examples and the
//! `bmad init` templates) rendered by Graphviz fits a screen; the Mermaid of every page is
//! well formed; pages are listed, chosen and written one a file; a part too big for one
//! page takes numbered pages that each fit.
//!
//! The bound: no side over 2,000 points, and no page over three times longer than wide
//! (or wider than long) unless it fits a screen at full size. 2,000 points are 2,667
//! pixels at 96 dpi: fitted to a 1,920-pixel screen the 10-point labels show at about 7
//! points (10 pixels), the smallest still readable. A page within 1,440 x 810 points
//! (1,920 x 1,080 pixels) shows whole at full size whatever its shape; past that, a page
//! more than three times longer than wide shrinks too much to fit or scrolls across
//! several screens.

use crate::common;

use std::path::{Path, PathBuf};

/// The longest side a page may draw to, in points.
const MAX_SIDE: f64 = 2000.0;
/// The most a page's long side may be of its short side, unless it fits a screen.
const MAX_ASPECT: f64 = 3.0;
/// A 1,920 x 1,080-pixel screen in points: a page within it shows whole at full size.
const SCREEN: (f64, f64) = (1440.0, 810.0);

/// Every bundled workflow.
fn bundled() -> Vec<String> {
    let mut files = Vec::new();
    for dir in ["examples", "stdlib/templates"] {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        for entry in std::fs::read_dir(&root)
            .expect("the directory is there")
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.ends_with(".bmad") {
                files.push(format!("{dir}/{name}"));
            }
        }
    }
    files.sort();
    assert!(files.len() >= 7, "{files:?}");
    files
}

/// Whether Graphviz is installed; says the test is skipped when not.
fn graphviz() -> bool {
    let found = std::process::Command::new("dot").arg("-V").output().is_ok();
    if !found {
        eprintln!(
            "skipped: Graphviz's `dot` is not installed (apt-get install graphviz; .ci/run installs it)"
        );
    }
    found
}

fn bmad_ok(args: &[&str]) -> String {
    let out = common::bmad(args);
    assert!(
        out.status.success(),
        "bmad {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The pages `bmad graph --out` writes for `file`, in a directory of `dir`.
fn pages_written(file: &str, format: &str, dir: &Path) -> Vec<PathBuf> {
    let out = dir.join(file.replace('/', "_"));
    let listed = bmad_ok(&[
        "graph",
        file,
        "--format",
        format,
        "--out",
        out.to_str().unwrap(),
    ]);
    listed.lines().map(PathBuf::from).collect()
}

/// The (width, height) in points of each graph of a DOT text, as Graphviz lays it out.
fn rendered_sizes(dot: &str, what: &str) -> Vec<(f64, f64)> {
    let out = common::run_with_stdin("dot", &["-Tplain"], dot);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "{what}: dot said: {stderr}"
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut words = l.strip_prefix("graph ")?.split_whitespace();
            let _scale = words.next()?;
            let width: f64 = words.next()?.parse().ok()?;
            let height: f64 = words.next()?.parse().ok()?;
            Some((width * 72.0, height * 72.0))
        })
        .collect()
}

#[track_caller]
fn assert_fits(what: &str, (width, height): (f64, f64)) {
    let (long, short) = (width.max(height), width.min(height).max(1.0));
    assert!(
        long <= MAX_SIDE,
        "{what} draws {width:.0} x {height:.0} points: over {MAX_SIDE} on a side"
    );
    assert!(
        (width <= SCREEN.0 && height <= SCREEN.1) || long / short <= MAX_ASPECT,
        "{what} draws {width:.0} x {height:.0} points: over {MAX_ASPECT} times longer than wide"
    );
}

#[test]
fn every_page_of_every_bundled_workflow_renders_within_a_screen() {
    if !graphviz() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for file in bundled() {
        let written = pages_written(&file, "dot", dir.path());
        let listed = bmad_ok(&["graph", &file, "--pages"]);
        assert_eq!(written.len(), listed.lines().count(), "{file}: {listed}");
        for page in &written {
            let what = format!("{file}: {}", page.display());
            let sizes = rendered_sizes(&std::fs::read_to_string(page).unwrap(), &what);
            assert_eq!(sizes.len(), 1, "{what}: one graph a page");
            assert_fits(&what, sizes[0]);
        }
        // Printed together, the pages are one graph after another, the same sizes.
        let all = bmad_ok(&["graph", &file, "--format", "dot"]);
        assert_eq!(rendered_sizes(&all, &file).len(), written.len(), "{file}");
    }
}

/// What is wrong with one page of Mermaid, if anything: the flowchart header, subgraphs
/// opened and closed, each node declared once, each edge between declared nodes, the
/// stand-ins' class defined.
fn mermaid_problem(page: &str) -> Option<String> {
    let mut lines = page.lines();
    let header = lines.next().unwrap_or("");
    if header != "flowchart TB" && header != "flowchart LR" {
        return Some(format!("starts with `{header}`"));
    }
    let mut declared = std::collections::HashSet::new();
    let mut depth = 0usize;
    let mut edges = Vec::new();
    for line in lines.map(str::trim) {
        if line.starts_with("subgraph ") {
            depth += 1;
        } else if line == "end" {
            let Some(d) = depth.checked_sub(1) else {
                return Some("`end` without a subgraph".into());
            };
            depth = d;
        } else if line.starts_with("classDef ") {
        } else if let Some((from, rest)) = line.split_once(" --> ").or(line.split_once(" ~~~ ")) {
            let to = rest.rsplit([' ', '|']).next().unwrap_or("");
            edges.push((from.to_string(), to.to_string()));
        } else if line.contains(" -->|") {
            let (from, rest) = line.split_once(" -->|").unwrap();
            let to = rest.rsplit(' ').next().unwrap_or("");
            edges.push((from.to_string(), to.to_string()));
        } else {
            let id: String = line
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect();
            let quoted = line.matches('"').count();
            if !id.starts_with('n') || quoted < 2 || quoted % 2 != 0 {
                return Some(format!("not a node, edge or subgraph: `{line}`"));
            }
            if !declared.insert(id.clone()) {
                return Some(format!("`{id}` declared twice"));
            }
        }
    }
    if depth != 0 {
        return Some(format!("{depth} subgraph(s) not closed"));
    }
    if let Some((from, to)) = edges
        .iter()
        .find(|(f, t)| !declared.contains(f) || !declared.contains(t))
    {
        return Some(format!("the edge {from} -> {to} is to an undeclared node"));
    }
    if page.contains(":::offpage") && !page.contains("classDef offpage") {
        return Some("stand-ins without their class".into());
    }
    None
}

#[test]
fn the_mermaid_of_every_page_of_every_bundled_workflow_is_well_formed() {
    for file in bundled() {
        let pages = bmad_ok(&["graph", &file, "--pages"]);
        // Printed together: Markdown, a heading and a block a page.
        let text = bmad_ok(&["graph", &file]);
        let blocks: Vec<&str> = text
            .split("```mermaid\n")
            .skip(1)
            .map(|b| b.split("```").next().unwrap())
            .collect();
        assert_eq!(blocks.len(), pages.lines().count(), "{file}:\n{text}");
        for (block, listed) in blocks.iter().zip(pages.lines()) {
            let name = listed.split_whitespace().next().unwrap();
            assert!(text.contains(&format!("## {name}: ")), "{file}: {name}");
            if let Some(problem) = mermaid_problem(block) {
                panic!("{file}, page {name}: {problem}:\n{block}");
            }
            // Alone, the page is the same flowchart.
            let alone = bmad_ok(&["graph", &file, "--page", name]);
            assert_eq!(&alone, block, "{file}: {name}");
        }
        // One file a page, each the page alone.
        let dir = tempfile::tempdir().unwrap();
        for page in pages_written(&file, "mermaid", dir.path()) {
            assert_eq!(page.extension().unwrap(), "mmd");
            let text = std::fs::read_to_string(&page).unwrap();
            assert!(blocks.contains(&text.as_str()), "{}", page.display());
        }
    }
}

#[test]
fn the_pages_of_the_seed_are_listed_by_part() {
    let listed = bmad_ok(&["graph", "examples/seed-product.bmad", "--pages"]);
    let names: Vec<&str> = listed
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "phases",
            "stories",
            "monitors",
            "heals",
            "incidents",
            "emergencies",
            "procedures",
            "maintenance"
        ],
        "{listed}"
    );
    assert!(
        listed.contains("maintenance  scheduled maintenance (3 definitions)"),
        "{listed}"
    );
    let ops = bmad_ok(&[
        "graph",
        "examples/seed-product.bmad",
        "--only",
        "ops",
        "--pages",
    ]);
    assert!(ops.starts_with("monitors "), "{ops}");
}

#[test]
fn a_page_is_drawn_alone_and_an_unknown_one_is_named_with_the_pages_there_are() {
    let heals = bmad_ok(&[
        "graph",
        "examples/seed-operations.bmad",
        "--page",
        "heals",
        "--format",
        "dot",
    ]);
    assert!(heals.starts_with("digraph \"heals\" {"), "{heals}");
    assert_eq!(heals.matches("digraph").count(), 1, "{heals}");
    // The rule that starts the heal, on the monitors page, is drawn as a dashed stand-in.
    assert!(
        heals.contains(
            "[label=\"monitor production: pattern \\\"WebRTC connection failed\\\" (h... (on page monitors)\", shape=ellipse, style=dashed]"
        ),
        "{heals}"
    );
    let out = common::bmad(&["graph", "examples/hello.bmad", "--page", "heals"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: no page `heals`: the pages are phases\n"
    );
}

#[test]
fn a_part_too_big_for_a_page_takes_numbered_pages_that_each_fit() {
    // 40 procedures and 25 phases in a row.
    let mut text = String::from("import std.roles\n");
    for i in 0..40 {
        text.push_str(&format!(
            "procedure release_{i} {{\n  devops: prepare_{i}\n  sh \"./scripts/check-{i}.sh --all\"\n  devops: deploy_{i}, verify_{i}\n  report \"release {i} done\"\n}}\n"
        ));
    }
    for i in 0..25 {
        let after = if i > 0 {
            format!(" after p{}", i - 1)
        } else {
            String::new()
        };
        text.push_str(&format!(
            "phase p{i}{after} {{\n  analyst: research_{i}\n  pm: plan_{i}, review_{i}\n}}\n"
        ));
    }
    let (dir, file) = common::temp_file("big.bmad", &text);
    let file = file.to_str().unwrap();
    let listed = bmad_ok(&["graph", file, "--pages"]);
    let procedure_pages: Vec<&str> = listed
        .lines()
        .filter(|l| l.starts_with("procedures-"))
        .collect();
    assert!(procedure_pages.len() >= 2, "{listed}");
    assert!(
        procedure_pages[0].contains(&format!("procedures (1 of {})", procedure_pages.len())),
        "{listed}"
    );
    // Every procedure is drawn once, on one of them.
    let all = bmad_ok(&["graph", file, "--only", "ops"]);
    for i in 0..40 {
        assert_eq!(
            all.matches(&format!("[\"procedure release_{i}\"]")).count(),
            1,
            "release_{i}"
        );
    }
    if !graphviz() {
        return;
    }
    for page in pages_written(file, "dot", dir.path()) {
        let what = page.display().to_string();
        let sizes = rendered_sizes(&std::fs::read_to_string(&page).unwrap(), &what);
        assert_fits(&what, sizes[0]);
    }
}
