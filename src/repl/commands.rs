//! The REPL's `:` commands.

use super::{Reply, Session, focus};
use crate::graph::render::Format;
use std::fmt::Write;

/// Every command with its arguments and what it does, for `:help` and completion.
pub(super) const COMMANDS: &[(&str, &str, &str)] = &[
    (
        "load",
        "FILE",
        "load a workflow file (drops the definitions typed so far)",
    ),
    (
        "check",
        "",
        "check the session's workflow and show every diagnostic",
    ),
    ("list", "", "list what the session's workflow defines"),
    ("ir", "NAME", "print the IR of a definition as JSON"),
    (
        "graph",
        "[NAME] [--format dot]",
        "draw a phase, procedure or monitor (or everything, a page a part) as Mermaid or DOT",
    ),
    (
        "run",
        "NAME --simulate [--seed N]",
        "run one phase or procedure with simulated agents on a virtual clock",
    ),
    ("help", "", "this list"),
    ("quit", "", "leave (Ctrl-D too)"),
];

/// Runs the command line after the `:`.
pub(super) fn run(session: &mut Session, line: &str) -> Reply {
    let mut words = line.split_whitespace();
    let command = words.next().unwrap_or("");
    let args: Vec<&str> = words.collect();
    match command {
        "q" | "quit" | "exit" => Reply {
            quit: true,
            ..Reply::default()
        },
        "h" | "help" | "?" => Reply::out(help()),
        "load" | "l" => match args.as_slice() {
            [file] => session.load(std::path::Path::new(file)),
            _ => Reply::err("usage: :load FILE\n"),
        },
        "check" | "c" => session.report_all(true),
        "list" | "ls" => list(session),
        "ir" => match args.as_slice() {
            [name] => ir(session, name),
            _ => Reply::err("usage: :ir NAME\n"),
        },
        "graph" | "g" => graph(session, &args),
        "run" | "r" => simulate(session, &args),
        other => {
            let names = COMMANDS.iter().map(|(c, _, _)| *c);
            let hint = crate::diagnostic::did_you_mean(other, names)
                .map_or(String::new(), |h| format!(" ({h})"));
            Reply::err(format!(
                "error: no command `:{other}`{hint}; :help lists them\n"
            ))
        }
    }
}

fn help() -> String {
    let mut out = String::from(
        "Type definitions (agent, phase, story, monitor, ...) to add them to the session's\n\
         workflow (the same name again replaces one); anything else is a rhai expression,\n\
         evaluated in the workflow's script scope. A block may span lines.\n\n",
    );
    for (name, args, what) in COMMANDS {
        let usage = format!(":{name} {args}");
        let _ = writeln!(out, "  {usage:<34} {what}");
    }
    out
}

fn list(session: &Session) -> Reply {
    let names = session.names();
    if names.is_empty() {
        return Reply::out("nothing defined yet\n");
    }
    let mut out = String::new();
    let mut kinds: Vec<&str> = Vec::new();
    for (kind, _) in &names {
        if !kinds.contains(kind) {
            kinds.push(kind);
        }
    }
    for kind in kinds {
        let of_kind: Vec<&str> = names
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, n)| n.as_str())
            .collect();
        let _ = writeln!(out, "{kind}: {}", of_kind.join(", "));
    }
    Reply::out(out)
}

fn ir(session: &Session, name: &str) -> Reply {
    let found = focus::ir_of(&session.checked.program, name);
    if found.is_empty() {
        return Reply::err(format!("error: nothing named `{name}` is defined\n"));
    }
    let mut out = String::new();
    for (what, json) in found {
        let _ = writeln!(out, "// {what}\n{json}");
    }
    Reply::out(out)
}

/// A fresh check of the session's workflow, refusing one with errors.
fn fresh_program(session: &Session, what: &str) -> Result<crate::ir::Program, Reply> {
    let checked = session.fresh();
    if checked.has_errors() {
        let mut reply = session.report_all(false);
        let _ = writeln!(reply.err, "not {what}: the workflow has errors");
        return Err(reply);
    }
    Ok(checked.program)
}

fn graph(session: &Session, args: &[&str]) -> Reply {
    let mut format = Format::Mermaid;
    let mut name = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match *arg {
            "--format" => match rest.next().copied() {
                Some("dot") => format = Format::Dot,
                Some("mermaid") => format = Format::Mermaid,
                _ => return Reply::err("usage: :graph [NAME] [--format mermaid|dot]\n"),
            },
            n if name.is_none() && !n.starts_with("--") => name = Some(n),
            _ => return Reply::err("usage: :graph [NAME] [--format mermaid|dot]\n"),
        }
    }
    let program = match fresh_program(session, "drawn") {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    let program = match name {
        Some(n) => match focus::for_graph(program, n) {
            Ok(p) => p,
            Err(e) => return Reply::err(format!("error: {e}\n")),
        },
        None => program,
    };
    let graph = crate::graph::build(&program, crate::graph::Only::All);
    Reply::out(crate::graph::render::render(&graph, format))
}

fn simulate(session: &Session, args: &[&str]) -> Reply {
    const USAGE: &str = "usage: :run NAME --simulate [--seed N]\n";
    let mut name = None;
    let (mut simulate, mut seed) = (false, 1_u64);
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match *arg {
            "--simulate" => simulate = true,
            "--seed" => match rest.next().and_then(|s| s.parse().ok()) {
                Some(s) => seed = s,
                None => return Reply::err(USAGE),
            },
            n if name.is_none() && !n.starts_with("--") => name = Some(n),
            _ => return Reply::err(USAGE),
        }
    }
    let Some(name) = name else {
        return Reply::err(USAGE);
    };
    if !simulate {
        return Reply::err(
            "error: the REPL runs simulated agents only: add --simulate (real agents run with `bmad run FILE`)\n",
        );
    }
    let program = match fresh_program(session, "run") {
        Ok(p) => p,
        Err(reply) => return reply,
    };
    let program = match focus::for_run(program, name) {
        Ok(p) => p,
        Err(e) => return Reply::err(format!("error: {e}\n")),
    };
    let options = crate::runtime::RunOptions {
        seed,
        workspace: session.workspace.clone(),
        simulate: true,
        ..Default::default()
    };
    let runner = match crate::runtime::Runner::new(program, options) {
        Ok(r) => r,
        Err(e) => return Reply::err(format!("error: {e}\n")),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build();
    match runtime {
        Ok(rt) => {
            let report = rt.block_on(runner.run());
            let mut reply = Reply::out(report.table());
            reply.failed = !report.ok;
            reply
        }
        Err(e) => Reply::err(format!("error: cannot start the runtime: {e}\n")),
    }
}
