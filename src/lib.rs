//! bmad: a workflow language for multi-agent product development and operations.
//!
//! A `.bmad` file describes phases, parallel agents, handoffs, stories and their
//! dependencies, monitors, healing procedures, incidents, emergencies, limits and KPIs.
//! This crate parses it (pest), lowers it to an IR (serde) and checks it (miette
//! diagnostics). The `bmad` binary is a thin front over this library.
//!
//! # Embedding
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
//! The pipeline: [`load`] reads the root file and its imports, [`syntax`] parses each file
//! into an AST with spans, [`ir::lower`] builds one [`ir::Program`], [`check::check`] lints it.
//! [`render`] turns diagnostics into text; [`diagnostic::to_json`] into JSON lines.

pub mod check;
pub mod diagnostic;
pub mod ir;
pub mod load;
pub mod render;
pub mod runtime;
pub mod script;
pub mod source;
pub mod stdlib;
pub mod syntax;

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
}

fn finish(loaded: load::Loaded) -> Checked {
    let files = loaded
        .sources
        .files()
        .map(|(_, f)| f.name.clone())
        .collect();
    let (mut program, lower_diags) = ir::lower(loaded.modules, files);
    program.lines = std::sync::Arc::new(source::LineIndex::new(&loaded.sources));
    program.rhai_modules = loaded
        .rhai_modules
        .iter()
        .map(|id| {
            let text = &loaded.sources.get(*id).text;
            ir::step::Script {
                code: text.clone(),
                span: source::Span::new(*id, 0, text.len()),
            }
        })
        .collect();
    let mut diagnostics = loaded.diagnostics;
    // A file that does not parse, or an import that is not found, leaves items out:
    // checking the rest would report their absence (undefined names, unreachable phases)
    // as if it were the problem.
    let unparsed = diagnostics.iter().any(|d| {
        matches!(
            d.code,
            Code::Syntax | Code::TooDeep | Code::Encoding | Code::ImportNotFound
        )
    });
    if !unparsed {
        diagnostics.extend(lower_diags);
        diagnostics.extend(check::check(&program));
    }
    // Unused-definition warnings are noise while there are errors: a typo in a reference
    // also makes the intended definition look unused.
    if diagnostics.iter().any(Diagnostic::is_error) {
        diagnostics.retain(|d| d.code != Code::Unused);
    }
    diagnostics.sort_by_key(|d| d.primary.as_ref().map(|l| (l.span.file, l.span.start)));
    Checked {
        sources: loaded.sources,
        program,
        diagnostics,
        io_failed: loaded.io_failed,
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
