//! `bmad repl [FILE]`: the interactive session. On a terminal, rustyline gives line
//! editing, history, multi-line blocks, completion and highlighting; from a pipe, lines
//! are read as they come, a block until it closes.

use super::ReplArgs;
use bmad::repl::{Reply, Session, complete, highlight, is_complete};
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Editor};
use std::borrow::Cow;
use std::cell::RefCell;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Runs the session until `:quit` or the end of input.
pub fn run(args: &ReplArgs) -> ExitCode {
    let interactive = std::io::stdin().is_terminal();
    let color =
        interactive && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let workspace = args.workspace.clone().unwrap_or_else(|| PathBuf::from("."));
    let mut session = Session::new(workspace, color);
    if let Some(file) = &args.file {
        print(&session.load(file));
    }
    if interactive {
        terminal(session, color)
    } else {
        piped(session)
    }
}

fn print(reply: &Reply) {
    let _ = std::io::stdout().write_all(reply.out.as_bytes());
    let _ = std::io::stderr().write_all(reply.err.as_bytes());
    let _ = std::io::stdout().flush();
}

/// Lines from a pipe: each complete input as it closes.
fn piped(mut session: Session) -> ExitCode {
    let mut buffer = String::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        // A command ends a block left open: the block is read as it stands (and its
        // error shown) rather than swallowing the rest of the input.
        if !buffer.is_empty() && line.trim_start().starts_with(':') {
            print(&session.input(&buffer));
            buffer.clear();
        }
        buffer.push_str(&line);
        buffer.push('\n');
        if is_complete(&buffer) {
            let reply = session.input(&buffer);
            buffer.clear();
            print(&reply);
            if reply.quit {
                return ExitCode::SUCCESS;
            }
        }
    }
    if !buffer.trim().is_empty() {
        print(&session.input(&buffer));
    }
    ExitCode::SUCCESS
}

/// The history file: `$BMAD_HISTORY`, else `~/.bmad_history`.
fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BMAD_HISTORY") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".bmad_history"))
}

fn terminal(mut session: Session, color: bool) -> ExitCode {
    let mut editor: Editor<Helper, DefaultHistory> = match Editor::new() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot start the line editor: {e}");
            return ExitCode::from(2);
        }
    };
    editor.set_helper(Some(Helper {
        names: RefCell::new(session.names()),
        color,
        files: FilenameCompleter::new(),
    }));
    let history = history_path();
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    println!("bmad repl: type definitions or rhai; :help lists the commands, Ctrl-D leaves");
    loop {
        match editor.readline("bmad> ") {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                    if let Some(h) = &history {
                        let _ = editor.append_history(h);
                    }
                }
                let reply = session.input(&line);
                print(&reply);
                if reply.quit {
                    break;
                }
                if let Some(helper) = editor.helper() {
                    *helper.names.borrow_mut() = session.names();
                }
            }
            Err(rustyline::error::ReadlineError::Interrupted) => {}
            Err(rustyline::error::ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    ExitCode::SUCCESS
}

/// Completion, highlighting and multi-line input for rustyline.
struct Helper {
    /// The session's definitions, refreshed after each input.
    names: RefCell<Vec<(&'static str, String)>>,
    color: bool,
    files: FilenameCompleter,
}

impl Completer for Helper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        if line.trim_start().starts_with(":load ") {
            return self.files.complete(line, pos, ctx);
        }
        let (start, found) = complete::complete(line, pos, &self.names.borrow());
        let pairs = found
            .into_iter()
            .map(|f| Pair {
                display: f.clone(),
                replacement: f,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for Helper {
    type Hint = String;
}

impl Highlighter for Helper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if self.color {
            Cow::Owned(highlight::highlight(line))
        } else {
            Cow::Borrowed(line)
        }
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _kind: CmdKind) -> bool {
        self.color
    }
}

impl Validator for Helper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(if is_complete(ctx.input()) {
            ValidationResult::Valid(None)
        } else {
            ValidationResult::Incomplete
        })
    }
}

impl rustyline::Helper for Helper {}
