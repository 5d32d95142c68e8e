//! The REPL's session: a workflow built from a loaded file and the definitions typed at
//! the prompt, the `:` commands over it, and rhai expressions evaluated in its scope. The
//! line editor (`bmad repl`) only reads lines and prints [`Reply`]s, so the session is
//! the same whether it is driven from a terminal, a pipe or a host program.

mod commands;
pub mod complete;
mod focus;
pub mod highlight;

use crate::Checked;
use crate::diagnostic::{Code, Diagnostic};
use crate::render::{RenderOptions, render};
use crate::syntax::{ast, split};
use std::path::{Path, PathBuf};

/// The name of the session's own source (what was typed at the prompt).
pub const SOURCE_NAME: &str = "<repl>";

/// What one input produced.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Results (to stdout).
    pub out: String,
    /// Diagnostics and errors (to stderr).
    pub err: String,
    /// The session ends.
    pub quit: bool,
}

impl Reply {
    fn out(text: impl Into<String>) -> Reply {
        Reply {
            out: text.into(),
            ..Reply::default()
        }
    }

    fn err(text: impl Into<String>) -> Reply {
        Reply {
            err: text.into(),
            ..Reply::default()
        }
    }
}

/// One definition typed at the prompt.
struct Typed {
    /// What it defines (`agent dev`, `settings`): a new definition with the same key
    /// replaces it.
    key: String,
    text: String,
}

/// A REPL session.
pub struct Session {
    file: Option<PathBuf>,
    typed: Vec<Typed>,
    workspace: PathBuf,
    color: bool,
    checked: Checked,
    /// Variables the typed rhai declared (`let x = ...`), over the standard ones.
    scope: rhai::Scope<'static>,
}

impl Session {
    /// An empty session whose `:run` and rhai file functions work in `workspace`;
    /// diagnostics in colour when `color`.
    pub fn new(workspace: PathBuf, color: bool) -> Session {
        let mut session = Session {
            file: None,
            typed: Vec::new(),
            workspace,
            color,
            checked: crate::check_text(SOURCE_NAME, ""),
            scope: crate::script::standard_scope(),
        };
        session.recheck();
        session
    }

    /// The session's workflow, checked.
    pub fn checked(&self) -> &Checked {
        &self.checked
    }

    /// Everything the session's workflow defines, as (kind, name), for completion.
    pub fn names(&self) -> Vec<(&'static str, String)> {
        focus::defined(&self.checked.program)
    }

    /// Handles one complete input: a `:command`, definitions, or a rhai expression.
    pub fn input(&mut self, text: &str) -> Reply {
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.starts_with("//") && !trimmed.contains('\n') {
            return Reply::default();
        }
        if let Some(command) = trimmed.strip_prefix(':') {
            return commands::run(self, command);
        }
        if starts_definition(trimmed) {
            self.define(text)
        } else {
            self.eval(trimmed)
        }
    }

    /// Loads `path` as the session's file; the definitions typed so far are dropped.
    pub fn load(&mut self, path: &Path) -> Reply {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        if !absolute.is_file() {
            return Reply::err(format!(
                "error: cannot load `{}`: no such file\n",
                path.display()
            ));
        }
        let dropped = self.typed.len();
        self.file = Some(absolute);
        self.typed.clear();
        self.recheck();
        let mut reply = self.report_all(false);
        let names = self.names().len();
        let dropped = if dropped > 0 {
            format!(" ({dropped} typed definition(s) dropped)")
        } else {
            String::new()
        };
        reply.out = format!("loaded {}: {names} definitions{dropped}\n", path.display());
        reply
    }

    /// Adds the definitions of `text`, replacing earlier typed ones of the same name.
    fn define(&mut self, text: &str) -> Reply {
        let parsed = crate::load::parse_text(SOURCE_NAME, text);
        let errors: Vec<&Diagnostic> = parsed
            .diagnostics
            .iter()
            .filter(|d| d.is_error() && d.code != Code::EmptyFile)
            .collect();
        if !errors.is_empty() {
            let mut err: String = errors
                .iter()
                .map(|d| render(d, &parsed.sources, self.options()))
                .collect();
            err.push_str("not added\n");
            return Reply::err(err);
        }
        let mut said = Vec::new();
        let mut added = Vec::new();
        for chunk in split::split(text) {
            let piece = text[chunk.start..chunk.end].trim();
            let Some(key) = crate::load::parse_text(SOURCE_NAME, piece)
                .modules
                .first()
                .and_then(|m| m.items.first())
                .map(key)
            else {
                continue;
            };
            let typed = Typed {
                key: key.clone(),
                text: piece.to_string(),
            };
            match self.typed.iter().position(|t| t.key == key) {
                Some(i) => {
                    self.typed[i] = typed;
                    said.push(format!("replaced {key}"));
                }
                None => {
                    self.typed.push(typed);
                    said.push(format!("defined {key}"));
                }
            }
            added.push(key);
        }
        self.recheck();
        // What the new definitions brought: their errors and warnings (an unused warning
        // is expected of a definition just typed).
        let ranges = self.typed_ranges(&added);
        // The session's source is the root file of its check: the first one.
        let source = 0;
        let mut reply = Reply::out(said.join("\n") + "\n");
        for d in &self.checked.diagnostics {
            let Some(primary) = &d.primary else { continue };
            let here = primary.span.file == source
                && ranges
                    .iter()
                    .any(|r| r.contains(&(primary.span.start as usize)));
            if here && d.code != Code::Unused {
                reply
                    .err
                    .push_str(&render(d, &self.checked.sources, self.options()));
            }
        }
        reply
    }

    /// Evaluates a rhai expression or statement in the workflow's script scope.
    fn eval(&mut self, code: &str) -> Reply {
        let (scripts, _) =
            crate::script::Scripts::new(&self.checked.program, self.workspace.clone());
        match scripts.eval_text(code, &mut self.scope) {
            Ok(value) if value.is_unit() => Reply::default(),
            Ok(value) if value.is_string() => Reply::out(format!("{value:?}\n")),
            Ok(value) => Reply::out(format!("{value}\n")),
            Err(e) => {
                let at = e
                    .position
                    .map_or(String::new(), |(l, c)| format!(" (line {l}, column {c})"));
                Reply::err(format!("error: {}{at}\n", e.message))
            }
        }
    }

    /// The session's source: the loaded file (imported) and every typed definition.
    fn text(&self) -> String {
        let mut text = String::new();
        if let Some(file) = &self.file {
            let path = file.display().to_string();
            let quoted = path.replace('\\', "\\\\").replace('"', "\\\"");
            text.push_str(&format!("import \"{quoted}\"\n"));
        }
        for typed in &self.typed {
            text.push_str(&typed.text);
            text.push('\n');
        }
        text
    }

    /// Where the typed definitions with these keys stand in [`Session::text`].
    fn typed_ranges(&self, keys: &[String]) -> Vec<std::ops::Range<usize>> {
        let mut offset =
            self.text().len() - self.typed.iter().map(|t| t.text.len() + 1).sum::<usize>();
        let mut ranges = Vec::new();
        for typed in &self.typed {
            if keys.contains(&typed.key) {
                ranges.push(offset..offset + typed.text.len());
            }
            offset += typed.text.len() + 1;
        }
        ranges
    }

    fn recheck(&mut self) {
        self.checked = self.fresh();
    }

    /// A new check of the session's workflow (relative imports from the current
    /// directory; an empty session is not an error).
    fn fresh(&self) -> Checked {
        let dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        let mut checked = crate::check_text_in(SOURCE_NAME, &self.text(), &dir);
        checked.diagnostics.retain(|d| d.code != Code::EmptyFile);
        checked
    }

    /// Every diagnostic of the session's workflow, and a count line when `summary`.
    fn report_all(&self, summary: bool) -> Reply {
        let mut reply = Reply::default();
        for d in &self.checked.diagnostics {
            reply
                .err
                .push_str(&render(d, &self.checked.sources, self.options()));
        }
        if summary {
            let errors = self
                .checked
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .count();
            let warnings = self.checked.diagnostics.len() - errors;
            reply.out = if errors + warnings == 0 {
                "clean: no errors, no warnings\n".to_string()
            } else {
                format!("{errors} error(s), {warnings} warning(s)\n")
            };
        }
        reply
    }

    fn options(&self) -> RenderOptions {
        RenderOptions {
            color: self.color,
            ..RenderOptions::default()
        }
    }
}

/// True when `text` is an input still open: a brace, a text block, a rhai fence or a
/// block comment not yet closed. The line editor reads more lines until it is complete.
pub fn is_complete(text: &str) -> bool {
    split::split(text).iter().all(|c| {
        c.unclosed_brace.is_none()
            && !matches!(
                c.unterminated,
                Some((_, "text block" | "rhai block" | "comment"))
            )
    })
}

/// The words that start a definition; anything else typed is rhai.
const ITEM_KEYWORDS: &[&str] = &[
    "import",
    "workflow",
    "agent",
    "override",
    "artifact",
    "phase",
    "epic",
    "story",
    "stories",
    "environment",
    "env",
    "check",
    "heal",
    "procedure",
    "maintenance",
    "incidents",
    "emergency",
    "monitor",
    "limits",
    "sync",
    "handoffs",
    "kpi",
    "settings",
];

fn starts_definition(text: &str) -> bool {
    let word: String = text
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let rest = &text[word.len()..];
    // `check(...)` or `env("X")` is a rhai call, not a definition.
    ITEM_KEYWORDS.contains(&word.as_str()) && !rest.starts_with(['(', '.', '='])
}

/// What an item defines, as `kind name`; items defined once have no name.
fn key(item: &ast::Item) -> String {
    use ast::Item;
    let (kind, name): (&str, Option<&str>) = match item {
        Item::Import(i) => (
            "import",
            Some(match &i.target {
                ast::ImportTarget::File(f) | ast::ImportTarget::Module(f) => f.as_str(),
            }),
        ),
        Item::Workflow(_) => ("workflow", None),
        Item::Agent(a) => ("agent", Some(&a.name.name)),
        Item::Artifact(a) => ("artifact", Some(&a.name.name)),
        Item::Phase(p) => ("phase", Some(&p.name.name)),
        Item::Epic(e) => ("epic", Some(&e.id.name)),
        Item::Story(s) => ("story", Some(&s.id.name)),
        Item::StoriesFrom(s) => ("stories from", Some(&s.pattern.value)),
        Item::Environment(e) => ("environment", Some(&e.name.name)),
        Item::EnvVar(e) => ("env", Some(&e.name.name)),
        Item::Check(c) => ("check", Some(&c.name.name)),
        Item::Heal(h) => ("heal", Some(&h.name.name)),
        Item::Procedure(p) => ("procedure", Some(&p.name.name)),
        Item::Maintenance(m) => ("maintenance", Some(&m.name.name)),
        Item::Incidents(_) => ("incidents", None),
        Item::Emergency(e) => ("emergency", Some(&e.name.name)),
        Item::Monitor(m) => ("monitor", Some(&m.name.name)),
        Item::Limits(_) => ("limits", None),
        Item::Sync(_) => ("sync", None),
        Item::Handoffs(_) => ("handoffs", None),
        Item::Kpi(k) => ("kpi", Some(&k.name.name)),
        Item::Settings(_) => ("settings", None),
    };
    match name {
        Some(n) => format!("{kind} {n}"),
        None => kind.to_string(),
    }
}
