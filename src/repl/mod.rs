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
    /// Something went wrong (an error, not a warning): a piped session exits 1.
    pub failed: bool,
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
            failed: true,
            ..Reply::default()
        }
    }
}

/// One definition typed at the prompt.
#[derive(Clone)]
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
    /// Functions the typed rhai declared (`fn f(x) { ... }`).
    functions: rhai::AST,
    /// The workflow's scripts compiled for rhai input, until the workflow changes.
    scripts: Option<crate::script::Scripts>,
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
            functions: rhai::AST::empty(),
            scripts: None,
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
        let code = skip_comments(trimmed);
        if code.is_empty() {
            return Reply::default();
        }
        if let Some(command) = trimmed.strip_prefix(':') {
            return commands::run(self, command);
        }
        if starts_definition(code) {
            self.define(text)
        } else {
            self.eval(trimmed)
        }
    }

    /// Loads `path` as the session's file; the definitions typed so far are dropped.
    pub fn load(&mut self, path: &Path) -> Reply {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        if !absolute.is_file() {
            let why = if absolute.is_dir() {
                "it is a directory"
            } else {
                "no such file"
            };
            return Reply::err(format!("error: cannot load `{}`: {why}\n", path.display()));
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
        let items = parsed.modules.first().map_or(&[][..], |m| &m.items[..]);
        let starts: Vec<usize> = items
            .iter()
            .map(|i| {
                let start = key(i).1.start as usize;
                // An import's span is its target's: the item starts at its keyword.
                match i {
                    ast::Item::Import(_) => text[..start].rfind("import").unwrap_or(start),
                    _ => start,
                }
            })
            .collect();
        let kept = self.typed.clone();
        let mut said = Vec::new();
        let mut added = Vec::new();
        for (i, item) in items.iter().enumerate() {
            // Each item's text runs to the next item (comments after it go with it).
            let end = starts.get(i + 1).copied().unwrap_or(text.len());
            let typed = Typed {
                key: key(item).0,
                text: text[starts[i]..end].trim().to_string(),
            };
            let verb = if let Some(at) = self.typed.iter().position(|t| t.key == typed.key) {
                self.typed[at] = typed.clone();
                "replaced"
            } else {
                self.typed.push(typed.clone());
                "defined"
            };
            said.push(format!("{verb} {}", typed.key));
            added.push(typed.key);
        }
        let before: Vec<(Code, String)> = self
            .checked
            .diagnostics
            .iter()
            .map(|d| (d.code, d.message.clone()))
            .collect();
        self.recheck();
        // What the new definitions brought: diagnostics with a place in them (a duplicate
        // of the loaded file's definition included), and new ones elsewhere (an imported
        // file's errors). An unused warning is expected of a definition just typed.
        let ranges = self.typed_ranges(&added);
        let mut reply = Reply::out(said.join("\n") + "\n");
        let mut refused = false;
        for d in &self.checked.diagnostics {
            let here = d.primary.iter().chain(&d.secondary).any(|l| {
                l.span.file == 0 && ranges.iter().any(|r| r.contains(&(l.span.start as usize)))
            });
            let elsewhere = d.primary.as_ref().is_some_and(|l| l.span.file != 0)
                && !before.contains(&(d.code, d.message.clone()));
            if (here || elsewhere) && d.code != Code::Unused {
                reply.failed |= d.is_error();
                // A phase typed on its own is unreachable until something runs it after
                // another: that is no reason to refuse it.
                refused |= d.is_error() && here && d.code != Code::Unreachable;
                reply
                    .err
                    .push_str(&render(d, &self.checked.sources, self.options()));
            }
        }
        // Definitions that bring errors are not kept: the session stays as it was.
        if refused {
            self.typed = kept;
            self.recheck();
            reply.out.clear();
            reply.err.push_str("not added\n");
        }
        reply
    }

    /// Evaluates a rhai expression or statement in the workflow's script scope.
    fn eval(&mut self, code: &str) -> Reply {
        let scripts = self.scripts.get_or_insert_with(|| {
            crate::script::Scripts::new(&self.checked.program, self.workspace.clone()).0
        });
        match scripts.eval_text(code, &mut self.scope, &mut self.functions) {
            Ok(value) if value.is_unit() => Reply::default(),
            Ok(value) if value.is_string() => Reply::out(format!("{value:?}\n")),
            Ok(value) => match crate::script::printable(&value) {
                Ok(text) => Reply::out(format!("{text}\n")),
                Err(e) => Reply::err(format!("error: {}\n", e.message)),
            },
            Err(e) => Reply::err(format!("error: {}\n", e.message)),
        }
    }

    /// The session's source: every typed definition, then the loaded file imported, two
    /// blank lines below them so that no diagnostic of a definition quotes that line, and
    /// a definition's line numbers are its own.
    fn text(&self) -> String {
        let mut text = String::new();
        for typed in &self.typed {
            text.push_str(&typed.text);
            text.push('\n');
        }
        let import = self.import_line();
        if !import.is_empty() {
            text.push_str("\n\n");
            text.push_str(&import);
        }
        text
    }

    /// The line importing the loaded file (empty without one).
    fn import_line(&self) -> String {
        let Some(file) = &self.file else {
            return String::new();
        };
        let path = file.display().to_string();
        let quoted = path.replace('\\', "\\\\").replace('"', "\\\"");
        format!("import \"{quoted}\"\n")
    }

    /// Where the typed definitions with these keys stand in [`Session::text`].
    fn typed_ranges(&self, keys: &[String]) -> Vec<std::ops::Range<usize>> {
        let mut offset = 0;
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
        self.scripts = None;
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
        reply.failed = self.checked.has_errors();
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

/// True when `text` ends inside a text block, a rhai fence or a block comment, where a
/// line that starts with `:` is text, not a command.
pub fn in_open_text(text: &str) -> bool {
    split::split(text).iter().any(|c| {
        matches!(
            c.unterminated,
            Some((_, "text block" | "rhai block" | "comment"))
        )
    })
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

fn starts_definition(text: &str) -> bool {
    let word: String = text
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let rest = &text[word.len()..];
    let next = rest.trim_start();
    // A keyword then more words: `story` alone or `story.id` is rhai (a script variable),
    // as is `env("X")`.
    crate::syntax::keywords::ITEM.contains(&word.as_str())
        && rest.starts_with(char::is_whitespace)
        && !next.is_empty()
        && !next.starts_with(['(', '.', '=', '+', '-', '*', '&', '|'])
}

/// `text` after the comments that start it.
fn skip_comments(mut text: &str) -> &str {
    while text.starts_with("//") || text.starts_with("/*") {
        text = text[crate::syntax::lex::comment_len(text)..].trim_start();
    }
    text
}

/// What an item defines, as `kind name` (items defined once have no name), and where it
/// is written.
fn key(item: &ast::Item) -> (String, crate::source::Span) {
    use ast::Item;
    let (kind, name, span): (&str, Option<&str>, crate::source::Span) = match item {
        Item::Import(i) => (
            "import",
            Some(match &i.target {
                ast::ImportTarget::File(f) | ast::ImportTarget::Module(f) => f.as_str(),
            }),
            i.span,
        ),
        Item::Workflow(x) => ("workflow", None, x.span),
        Item::Agent(a) => ("agent", Some(&a.name.name), a.span),
        Item::Artifact(a) => ("artifact", Some(&a.name.name), a.span),
        Item::Phase(p) => ("phase", Some(&p.name.name), p.span),
        Item::Epic(e) => ("epic", Some(&e.id.name), e.span),
        Item::Story(s) => ("story", Some(&s.id.name), s.span),
        Item::StoriesFrom(s) => ("stories from", Some(&s.pattern.value), s.span),
        Item::Environment(e) => ("environment", Some(&e.name.name), e.span),
        Item::EnvVar(e) => ("env", Some(&e.name.name), e.span),
        Item::Check(c) => ("check", Some(&c.name.name), c.span),
        Item::Heal(h) => ("heal", Some(&h.name.name), h.span),
        Item::Procedure(p) => ("procedure", Some(&p.name.name), p.span),
        Item::Maintenance(m) => ("maintenance", Some(&m.name.name), m.span),
        Item::Incidents(x) => ("incidents", None, x.span),
        Item::Emergency(e) => ("emergency", Some(&e.name.name), e.span),
        Item::Monitor(m) => ("monitor", Some(&m.name.name), m.span),
        Item::Limits(x) => ("limits", None, x.span),
        Item::Budget(x) => ("budget", None, x.span),
        Item::Notifications(x) => ("notifications", None, x.span),
        Item::Sync(x) => ("sync", None, x.span),
        Item::Handoffs(x) => ("handoffs", None, x.span),
        Item::Kpi(k) => ("kpi", Some(&k.name.name), k.span),
        Item::Settings(x) => ("settings", None, x.span),
    };
    let key = match name {
        Some(n) => format!("{kind} {n}"),
        None => kind.to_string(),
    };
    (key, span)
}
