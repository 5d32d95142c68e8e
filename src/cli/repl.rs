//! `bmad repl [FILE]`: the interactive session. On a terminal, rustyline gives line
//! editing, history, multi-line blocks, completion and highlighting; from a pipe, lines
//! are read as they come, a block until it closes.

use super::ReplArgs;
use bmad::repl::{Reply, Session, complete, highlight, in_open_text, is_complete};
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
pub(super) fn run(args: &ReplArgs) -> ExitCode {
    let interactive = std::io::stdin().is_terminal();
    let color =
        interactive && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let workspace = args.workspace.clone().unwrap_or_else(|| PathBuf::from("."));
    let mut session = Session::new(workspace, color);
    let mut failed = false;
    if let Some(file) = &args.file {
        let reply = session.load(file);
        print(&reply);
        failed = reply.failed;
    }
    if interactive {
        terminal(session, color)
    } else {
        piped(session, failed)
    }
}

fn print(reply: &Reply) {
    let _ = std::io::stdout().write_all(reply.out.as_bytes());
    let _ = std::io::stderr().write_all(reply.err.as_bytes());
    let _ = std::io::stdout().flush();
}

/// Lines from a pipe: each complete input once the next line shows it is not continued
/// (an indented line continues it, as `bmad fmt` wraps a long header); a `:` command at
/// once. Exit 1 when any input failed (so a scripted session can be checked), 0 otherwise.
fn piped(mut session: Session, mut failed: bool) -> ExitCode {
    let mut buffer = String::new();
    // A complete input waiting for the next line.
    let mut held: Option<String> = None;
    let mut handle = |text: &str, failed: &mut bool| {
        let reply = session.input(text);
        print(&reply);
        *failed |= reply.failed;
        reply.quit
    };
    let max = bmad::load::MAX_FILE_BYTES;
    let mut stdin = std::io::stdin().lock();
    for number in 0.. {
        // A line, and the input held with it, are bounded as they are read (an endless
        // stream, /dev/zero, is not held whole).
        let mut bytes = Vec::new();
        match std::io::Read::take(&mut stdin, max.saturating_add(1)).read_until(b'\n', &mut bytes) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
        }
        if (bytes.len() + buffer.len()) as u64 > max {
            eprintln!(
                "error: line {} makes an input longer than {} MiB: the rest is not read",
                number + 1,
                max / 1024 / 1024
            );
            failed = true;
            buffer.clear();
            break;
        }
        let line = match String::from_utf8(bytes) {
            Ok(line) => line,
            Err(e) => {
                eprintln!(
                    "warning: line {} is not UTF-8; read with U+FFFD in place of the bad bytes",
                    number + 1
                );
                failed = true;
                String::from_utf8_lossy(e.as_bytes()).into_owned()
            }
        };
        if let Some(input) = held.take() {
            if line.starts_with([' ', '\t']) && !line.trim().is_empty() {
                buffer = input;
            } else if handle(&input, &mut failed) {
                break;
            }
        }
        // A command ends a block left open (not a text block: there `:` is text): the
        // block is read as it stands, its error shown, instead of swallowing the rest.
        if !buffer.is_empty() && line.trim_start().starts_with(':') && !in_open_text(&buffer) {
            handle(&buffer, &mut failed);
            buffer.clear();
        }
        buffer.push_str(&line);
        buffer.push('\n');
        if is_complete(&buffer) {
            let input = std::mem::take(&mut buffer);
            if !input.trim_start().starts_with(':') {
                held = Some(input);
            } else if handle(&input, &mut failed) {
                held = None;
                break;
            }
        }
    }
    for input in held.iter().chain(Some(&buffer)) {
        if !input.trim().is_empty() {
            handle(input, &mut failed);
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
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
