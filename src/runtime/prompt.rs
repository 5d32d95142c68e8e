//! The prompt an agent gets: its persona, the tasks, where it works, the files it must read
//! (what the step `needs`, inlined up to a size) and write (what it `produces`), the story
//! with its files, acceptance criteria and finished dependencies, the test types to run,
//! the context it loads (artifacts inlined, up to a size), the task's own prompt and the
//! last verdicts' feedback in their own words.

use super::Runner;
use super::steps::Ctx;
use super::workspace::Artifact;
use crate::model::Story;
use crate::model::step::{ArtifactRef, Task};
use std::fmt::Write;
use std::io::Read;

/// The most of one artifact (a `needs` or a `context`) inlined in a prompt; a larger one
/// is cut, with a note saying where the rest is.
pub(super) const MAX_CONTEXT_BYTES: u64 = 32 * 1024;

/// What a verdict step's prompt says about giving the verdict (see [`super::verdict`]).
pub(super) const VERDICT_HOWTO: &str = "You give a verdict: end your answer with a line \
`VERDICT: approved`, or `VERDICT: rejected: <what must change>` (exiting non-zero rejects \
too).\n";

fn story_block(out: &mut String, s: &Story) {
    let title = s.title.as_ref().map_or("", |t| t.value.as_str());
    let _ = writeln!(out, "Story {} ({}): {title}", s.id.name, s.story_type.name);
    if let Some(e) = &s.epic {
        let _ = writeln!(out, "Epic: {}", e.name);
    }
    if let Some(d) = &s.description {
        let _ = writeln!(out, "Description: {}", d.value);
    }
    if let Some(f) = &s.file {
        let _ = writeln!(out, "Story file (read it first): {}", f.value);
    }
    if let Some(t) = &s.from_prd {
        let _ = writeln!(out, "From the PRD: {}", t.value);
    }
    if let Some(t) = &s.from_arch {
        let _ = writeln!(out, "From the architecture: {}", t.value);
    }
    for f in &s.create {
        let template = f
            .template
            .as_ref()
            .map_or(String::new(), |t| format!(" from template {}", t.value));
        let _ = writeln!(out, "- create {}{template}", f.path.value);
    }
    for f in &s.modify {
        let changes = f
            .changes
            .as_ref()
            .map_or(String::new(), |c| format!(": {}", c.value));
        let _ = writeln!(out, "- modify {}{changes}", f.path.value);
    }
    for a in &s.accept {
        let _ = writeln!(out, "- accept: {}", a.value);
    }
}

impl Runner {
    /// The prompt of `task` for `agent` in `ctx`, which writes `produces`.
    pub(super) fn prompt(
        &self,
        agent: &str,
        task: &Task,
        ctx: &Ctx,
        produces: &[Artifact],
    ) -> String {
        let mut out = String::new();
        if let Some(p) = self.program.agent(agent).and_then(|a| a.prompt.as_ref()) {
            out.push_str(&p.value);
            out.push_str("\n\n");
        }
        let tasks: Vec<&str> = task.tasks.iter().map(|n| n.name.as_str()).collect();
        let _ = writeln!(out, "Tasks: {}", tasks.join(", "));
        if let Some(m) = &task.mode {
            let _ = writeln!(out, "Mode: {}", m.name);
        }
        if let Some(t) = &ctx.tree {
            let _ = writeln!(
                out,
                "You work in {} (this story's git worktree, on branch {}): change files \
                 there; bmad commits what you change.",
                t.tree.dir.display(),
                t.tree.branch
            );
        }
        if !produces.is_empty() {
            out.push_str("Write:\n");
            for a in produces {
                let _ = writeln!(out, "- {}: {}", a.label(), a.path.display());
            }
        }
        let needs: Vec<Artifact> = task
            .needs
            .iter()
            .filter_map(|r| self.found(r, ctx))
            .collect();
        if !needs.is_empty() {
            out.push_str("Read:\n");
            for a in &needs {
                let _ = writeln!(out, "- {}: {}", a.label(), a.path.display());
            }
        }
        if let Some(s) = ctx.story {
            story_block(&mut out, s);
        }
        if !task.tests.is_empty() {
            let tests: Vec<&str> = task.tests.iter().map(|n| n.name.as_str()).collect();
            let _ = writeln!(out, "Test types to run: {}", tests.join(", "));
        }
        if task.is_verdict() {
            out.push_str(VERDICT_HOWTO);
        }
        // What it must read, inlined (but what its context inlines anyway).
        for a in &needs {
            let in_context = a
                .name
                .as_ref()
                .is_some_and(|n| task.context.iter().any(|c| c.name == n.as_str()));
            if !in_context {
                inline(&mut out, "Needs", a);
            }
        }
        for c in &task.context {
            match c.name.as_str() {
                "story" => {}
                "dependencies" => Self::dependencies(&mut out, ctx),
                name => {
                    let r = ArtifactRef::Named(crate::model::step::Name {
                        name: name.into(),
                        span: c.span,
                    });
                    if let Some(a) = self.found(&r, ctx) {
                        inline(&mut out, "Context", &a);
                    }
                }
            }
        }
        if let Some(p) = &task.prompt {
            out.push_str(&p.value);
            out.push('\n');
        }
        let feedback = ctx.state.feedback.borrow();
        if !feedback.is_empty() {
            let _ = writeln!(out, "QA feedback on the last attempt: {feedback}");
        }
        out
    }

    /// Artifact `r` where the step finds it: in the story's worktree, else the workspace.
    fn found(&self, r: &ArtifactRef, ctx: &Ctx) -> Option<Artifact> {
        let here = self.workspace_at(ctx).artifact(r).ok();
        match here {
            Some(a) if a.exists() => Some(a),
            _ => self.workspace.artifact(r).ok(),
        }
    }

    /// The stories this one depends on (all done: a story starts only after them).
    fn dependencies(out: &mut String, ctx: &Ctx) {
        for d in ctx.deps.iter() {
            let title = d.title.as_ref().map_or("", |t| t.value.as_str());
            let files: Vec<&str> = d
                .create
                .iter()
                .map(|f| f.path.value.as_str())
                .chain(d.modify.iter().map(|f| f.path.value.as_str()))
                .collect();
            let _ = writeln!(
                out,
                "Depends on story {} (done): {title}; files: {}",
                d.id.name,
                files.join(", ")
            );
        }
    }
}

/// `a` under a heading `what`, its content inlined up to [`MAX_CONTEXT_BYTES`].
fn inline(out: &mut String, what: &str, a: &Artifact) {
    match &a.name {
        Some(n) => writeln!(out, "\n## {what}: {n} ({})", a.written),
        None => writeln!(out, "\n## {what}: {}", a.written),
    }
    .unwrap_or_default();
    if a.is_dir() {
        let _ = writeln!(out, "(a directory: {})", a.path.display());
        return;
    }
    let mut text = String::new();
    // Only a regular file: a FIFO or a device put at the artifact's path is not waited on.
    let read = crate::load::open_regular(&a.path)
        .and_then(|(f, _)| f.take(MAX_CONTEXT_BYTES).read_to_string(&mut text));
    match read {
        Ok(_) => {
            out.push_str(&text);
            if !text.ends_with('\n') {
                out.push('\n');
            }
            let size = std::fs::metadata(&a.path).map_or(0, |m| m.len());
            if size > MAX_CONTEXT_BYTES {
                let _ = writeln!(
                    out,
                    "(cut at {MAX_CONTEXT_BYTES} of {size} bytes: read {} for the rest)",
                    a.path.display()
                );
            }
        }
        Err(e) => {
            let _ = writeln!(out, "(not readable: {e})");
        }
    }
}
