//! bmad: a workflow language for multi-agent product development and operations.
//!
//! A `.bmad` file describes phases, parallel agents, handoffs, stories and their
//! dependencies, monitors, healing procedures, incidents, emergencies, limits and KPIs.
//! This crate parses it (pest), lowers it to an IR (serde) and checks it (miette
//! diagnostics). The `bmad` binary is a thin front over this library.
//!
//! # Checking
//!
//! ```
//! let checked = bmad::check_text(
//!     "hello.bmad",
//!     r#"
//! import std.roles
//! workflow hello { start write }
//! phase write {
//!   analyst: brainstorming {
//!     produces notes = "docs/notes.md"
//!   }
//! }
//! "#,
//! );
//! assert!(!checked.has_errors());
//! assert_eq!(checked.program.phases[0].name.name, "write");
//! // The IR serialises with serde, spans included.
//! let json = serde_json::to_string(&checked.program).unwrap();
//! assert!(json.contains("\"brainstorming\""));
//! ```
//!
//! # Embedding: running a workflow with your own agents
//!
//! An [`Engine`] loads a workflow; a host program gives any agent its own backend (a
//! closure here, or any [`runtime::backend::AgentBackend`]), listens to the run's events
//! and runs it. Agents the host does not take over keep the backend their file declares.
//!
//! ```
//! use bmad::runtime::backend::Outcome;
//! use bmad::runtime::event::EventKind;
//! use bmad::runtime::RunOptions;
//! use std::cell::RefCell;
//! use std::rc::Rc;
//!
//! let mut engine = bmad::Engine::from_text(
//!     "review.bmad",
//!     r#"
//! agent writer { backend sim duration 1h }
//! agent reviewer { backend sim duration 1h }
//! phase draft {
//!   writer: write {
//!     produces draft = "/docs/draft.md"
//!   }
//!   handoff writer -> reviewer {
//!     artifacts draft
//!   }
//!   reviewer: review
//! }
//! "#,
//! )
//! .expect("the workflow checks clean");
//!
//! // The host's own reviewer: a closure that sees the task and its prompt.
//! engine
//!     .agent("reviewer", |task| Outcome {
//!         ok: task.prompt.contains("review"),
//!         ..Outcome::default()
//!     })
//!     .unwrap();
//!
//! // Every event, as it happens.
//! let seen = Rc::new(RefCell::new(Vec::new()));
//! let log = Rc::clone(&seen);
//! engine.on_event(move |e| {
//!     if let EventKind::TaskFinished { agent, ok, .. } = &e.kind {
//!         log.borrow_mut().push(format!("{agent} ok={ok}"));
//!     }
//! });
//!
//! let workspace = tempfile::tempdir().unwrap();
//! let options = RunOptions {
//!     seed: 7,
//!     workspace: workspace.path().to_path_buf(),
//!     simulate: false,
//!     ..Default::default()
//! };
//! // The simulated writer takes an hour of virtual time: a paused clock skips it.
//! let report = tokio::runtime::Builder::new_current_thread()
//!     .enable_all()
//!     .start_paused(true)
//!     .build()
//!     .unwrap()
//!     .block_on(engine.run(options))
//!     .unwrap();
//!
//! assert!(report.ok);
//! assert_eq!(*seen.borrow(), ["writer ok=true", "reviewer ok=true"]);
//! assert_eq!(report.makespan_ms, 3_600_000);
//! assert!(workspace.path().join("docs/draft.md").exists());
//! ```
//!
//! The pipeline: [`load`] reads the root file and its imports, [`syntax`] parses each file
//! into an AST with spans, [`ir::lower`] builds one [`ir::Program`], [`check::check`] lints it.
//! [`render`] turns diagnostics into text; [`diagnostic::to_json`] into JSON lines.

pub mod check;
pub mod diagnostic;
pub mod engine;
pub mod explain;
pub mod format;
pub mod graph;
pub mod ir;
pub mod load;
#[cfg(feature = "lsp")]
pub mod lsp;
pub mod model;
pub mod probe;
pub mod project;
pub mod render;
pub mod repl;
pub mod runtime;
pub mod script;
#[cfg(feature = "serve")]
pub mod serve;
pub mod source;
pub mod state;
pub mod stdlib;
pub mod syntax;
#[cfg(feature = "temporal")]
pub mod temporal;

#[cfg(test)]
mod layers;

pub use engine::Engine;

use diagnostic::{Code, Diagnostic};
use source::SourceMap;
use std::path::Path;

/// A loaded, lowered and checked workflow.
#[derive(Debug)]
pub struct Checked {
    /// Every source file.
    pub sources: SourceMap,
    /// The IR.
    pub program: ir::Program,
    /// Every diagnostic, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// True when the root file could not be read at all.
    pub io_failed: bool,
}

impl Checked {
    /// True when any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The sha256 of every file the workflow is made of, in load order: a run records it,
    /// and a resume refuses a workflow whose files changed since.
    pub fn workflow_sha256(&self) -> String {
        runtime::digest::sha256_texts(self.sources.files().map(|(_, f)| f.text.as_str()))
    }
}

fn finish(loaded: load::Loaded) -> Checked {
    finish_indexed(loaded, false).0
}

/// A workflow checked for a tool: see [`check_loaded_indexed`].
#[derive(Debug)]
pub struct Indexed {
    /// The workflow, checked as [`check_path`] checks it.
    pub checked: Checked,
    /// Every definition and use of its names.
    pub index: check::Index,
    /// When a file does not parse: the checker's findings on what did parse, which
    /// [`Checked::diagnostics`] leaves out (the items that did not parse are missing, so
    /// some of them are only their absence).
    pub held_back: Vec<Diagnostic>,
}

/// Lowers and checks a loaded workflow, as [`check_path`] does, and indexes its names
/// (every definition and use, [`check::Index`]). The names are indexed even when a file
/// does not parse: what parsed can still be followed.
pub fn check_loaded_indexed(loaded: load::Loaded) -> Indexed {
    let (checked, index, held_back) = finish_indexed(loaded, true);
    Indexed {
        checked,
        index: index.unwrap_or_default(),
        held_back,
    }
}

fn finish_indexed(
    loaded: load::Loaded,
    with_index: bool,
) -> (Checked, Option<check::Index>, Vec<Diagnostic>) {
    let files = loaded
        .sources
        .files()
        .map(|(_, f)| f.name.clone())
        .collect();
    let (mut program, lower_diags) = ir::lower(loaded.modules, files);
    program.lines = std::sync::Arc::new(source::LineIndex::new(&loaded.sources));
    program.file_dirs = loaded
        .sources
        .files()
        .map(|(_, f)| {
            f.path
                .as_deref()
                .and_then(Path::parent)
                .map(Path::to_path_buf)
        })
        .collect();
    program.rhai_modules = loaded
        .rhai_modules
        .iter()
        .map(|id| {
            let text = &loaded.sources.get(*id).text;
            model::step::Script {
                code: text.clone(),
                span: source::Span::new(*id, 0, text.len()),
            }
        })
        .collect();
    let mut diagnostics = loaded.diagnostics;
    let mut sources = loaded.sources;
    // A file that does not parse, or an import that is not found, leaves items out:
    // checking the rest would report their absence (undefined names, unreachable phases)
    // as if it were the problem.
    let unparsed = diagnostics.iter().any(|d| {
        matches!(
            d.code,
            Code::Syntax | Code::TooDeep | Code::Encoding | Code::ImportNotFound
        )
    });
    let index;
    let mut held_back = Vec::new();
    if unparsed {
        index = with_index.then(|| {
            let (found, index) = check::check_indexed(&program);
            held_back = found;
            index
        });
    } else {
        diagnostics.extend(lower_diags);
        let (found, names) = if with_index {
            let (found, names) = check::check_indexed(&program);
            (found, Some(names))
        } else {
            (check::check(&program), None)
        };
        index = names;
        diagnostics.extend(found);
        check_projects(&program, &mut sources, &mut diagnostics);
    }
    // Unused-definition warnings are noise while there are errors: a typo in a reference
    // also makes the intended definition look unused.
    if diagnostics.iter().any(Diagnostic::is_error) {
        diagnostics.retain(|d| d.code != Code::Unused);
    }
    diagnostics.sort_by_key(|d| d.primary.as_ref().map(|l| (l.span.file, l.span.start)));
    let checked = Checked {
        sources,
        program,
        diagnostics,
        io_failed: loaded.io_failed,
    };
    (checked, index, held_back)
}

/// Reads the BMAD projects the workflow names (`stories from bmad "DIR"`) beside its file,
/// when they are there (a run reads them from its workspace; one made during the run is
/// not there yet), and adds their problems to `diagnostics`. Only the files of a project
/// with problems join `sources`: the workflow's digest, which a resume compares, must not
/// change when a run writes a status.
fn check_projects(
    program: &ir::Program,
    sources: &mut SourceMap,
    diagnostics: &mut Vec<Diagnostic>,
) {
    for s in &program.story_sources {
        if s.format != model::StoryFormat::Bmad {
            continue;
        }
        let Some(Some(dir)) = program.file_dirs.get(s.span.file as usize) else {
            continue;
        };
        let inside = s.pattern.value.trim_start_matches('/');
        if !dir.join(inside).is_dir() {
            continue;
        }
        let mut own = SourceMap::new();
        let files = project::DiskFiles { root: dir.clone() };
        let Err(found) = project::read(&files, inside, &mut own) else {
            continue;
        };
        // The files by the name the workflow's own file is shown with.
        let shown_dir = Path::new(&sources.get(s.span.file).name)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let base = u32::try_from(sources.files().count()).unwrap_or(u32::MAX);
        for (_, f) in own.files() {
            let name = shown_dir.join(&f.name).display().to_string();
            sources.add(name, None, f.text.clone());
        }
        for mut d in found {
            for label in d.primary.iter_mut().chain(d.secondary.iter_mut()) {
                label.span.file += base;
            }
            if d.primary.is_none() {
                d = d.at(s.pattern.span, "this BMAD project");
            }
            diagnostics.push(d);
        }
    }
}

/// Loads, lowers and checks the workflow rooted at `path`.
pub fn check_path(path: &Path) -> Checked {
    finish(load::load_path(path))
}

/// Loads, lowers and checks a workflow given as text (relative imports resolve from the
/// current directory).
pub fn check_text(name: &str, text: &str) -> Checked {
    finish(load::load_text(name, text, None))
}

/// Loads, lowers and checks a workflow given as text whose relative imports resolve from
/// `dir`.
pub fn check_text_in(name: &str, text: &str, dir: &Path) -> Checked {
    finish(load::load_text(name, text, Some(dir)))
}
