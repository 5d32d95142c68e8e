//! `bmad init --from-bmad DIR`: a workflow written into a BMAD-METHOD project's directory
//! that runs the project's stories as they are (`stories from bmad "/"`) with the BMAD
//! roles: Amelia (the developer) builds each story, the code review gives its verdict.
//! The project is read first (a project with problems gets its diagnostics, and no
//! file), and the workflow is checked before it is written; an existing file is never
//! overwritten.

use bmad::project::{DiskFiles, Layout, Progress, Project};
use bmad::render::{RenderOptions, render};
use bmad::source::SourceMap;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// The file written into the project.
const FILE: &str = "workflow.bmad";

/// What the header says of the project.
fn describe(project: &Project) -> String {
    let format = match project.layout {
        Layout::SprintStatus => "a v6 project (sprint-status.yaml and its story files)",
        Layout::StoriesList => "a v6 spec folder in stories mode (stories.yaml)",
        Layout::TicketTree => "a v7 ticket tree (tickets.toml and plans)",
    };
    let total = project.stories.len();
    let done = project
        .stories
        .iter()
        .filter(|s| s.progress == Progress::Done)
        .count();
    format!("{format}: {total} stories, {done} done")
}

/// The workflow for `project`.
fn workflow(project: &Project) -> String {
    let about = describe(project);
    let statuses = match project.layout {
        Layout::SprintStatus => "in sprint-status.yaml: in-progress, review, done",
        Layout::StoriesList => "in each story file's frontmatter: in-progress, in-review, done",
        Layout::TicketTree => "in each ticket's plan: in-progress, in-review, done, blocked",
    };
    format!(
        r#"// This BMAD-METHOD project, run by bmad as it is ({about}).
// Written by `bmad init --from-bmad`. bmad reads the stories when development starts
// (stories already done are not run again) and a real run writes each story's status
// back as it moves, {statuses} (never backwards; a simulation writes none).
//
//   bmad check {FILE}
//   bmad run --simulate {FILE} --workspace .
//   bmad run {FILE} --workspace . --agents claude_code
import std.roles

workflow bmad_method {{
  start development
}}

// Amelia, BMAD's developer (bmad-agent-dev): builds each story as bmad-build does.
override agent dev {{
  role "Developer (BMAD: Amelia)"
  prompt "You are Amelia, the BMAD developer. Build the story as its file says, the way the bmad-build workflow does: meet every acceptance criterion, test what you build, and keep the story's tasks and Dev Agent Record current."
}}

// BMAD's code review (bmad-code-review): a verdict on each story's change.
override agent qa {{
  role "Code reviewer (BMAD: bmad-code-review)"
  prompt "You review the story's change the way bmad-code-review does: check it against every acceptance criterion, triage each finding with a verdict and evidence, and send the story back with what must change when it is not ready."
}}

stories from bmad "/"

phase development {{
  for story in stories max 2 {{
    repeat max 3 {{
      dev: build {{
        context story, dependencies
      }}
      qa: review {{
        tests unit, integration
      }}
    }} until approved
  }}
}}
"#
    )
}

/// Reads the project at `dir`, writes its workflow; exit 1 when the project has problems,
/// 2 when the file cannot be written.
pub(super) fn run(dir: &Path) -> ExitCode {
    let mut err = std::io::stderr();
    if !dir.is_dir() {
        let _ = writeln!(err, "error: `{}` is not a directory", dir.display());
        return ExitCode::from(2);
    }
    let path = dir.join(FILE);
    if path.exists() {
        let _ = writeln!(err, "error: `{}` exists; not overwritten", path.display());
        return ExitCode::from(2);
    }
    let mut sources = SourceMap::new();
    let files = DiskFiles {
        root: dir.to_path_buf(),
    };
    let project = match bmad::project::read(&files, "", &mut sources) {
        Ok(p) => p,
        Err(diagnostics) => {
            for d in &diagnostics {
                let _ = write!(err, "{}", render(d, &sources, RenderOptions::default()));
            }
            let _ = writeln!(
                err,
                "error: `{}` is not a BMAD project bmad can run: {} problem(s); no workflow written",
                dir.display(),
                diagnostics.len()
            );
            return ExitCode::from(1);
        }
    };
    let text = workflow(&project);
    // A workflow that does not check clean is a bug in bmad: never hand it out.
    let checked = bmad::check_text_in(FILE, &text, dir);
    if checked.has_errors() {
        let _ = writeln!(
            err,
            "error: the workflow for this project does not check clean"
        );
        return ExitCode::from(2);
    }
    if let Err(e) = std::fs::write(&path, &text) {
        let _ = writeln!(err, "error: cannot write `{}`: {e}", path.display());
        return ExitCode::from(2);
    }
    let shown = path.display();
    println!("wrote {shown} ({})", describe(&project));
    println!(
        "next: bmad check {shown} && bmad run --simulate {shown} --workspace {}",
        dir.display()
    );
    ExitCode::SUCCESS
}
