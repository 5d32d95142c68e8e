//! `bmad runs`: the runs in the state store; `bmad runs show RUN_ID`: one run's status,
//! story board, checkpoints, shared state conflicts and timeline; `bmad runs log RUN_ID
//! [STEP] [--follow]`: what its tasks printed. `--format json` for all.

use super::{RunsArgs, RunsCommand, RunsFormat as Format};
use bmad::state::{RunInfo, StateError, Store, StoryStatus, utc};
use std::fmt::Write as _;
use std::io::Write;
use std::process::ExitCode;

fn when(ms: i64) -> String {
    let (d, t) = utc(ms);
    format!("{d} {t}")
}

/// Lists the runs or shows one.
pub(super) fn run(args: &RunsArgs) -> ExitCode {
    let path = match args.store.state_path() {
        Ok(path) => path,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "{e}");
            return ExitCode::from(2);
        }
    };
    if !path.exists() {
        let _ = writeln!(
            std::io::stderr(),
            "error: no state file at `{}` (a `bmad run` in this workspace makes one; \
             or name it with --state)",
            path.display()
        );
        return ExitCode::from(2);
    }
    let out = Store::open(&path).and_then(|store| match &args.show {
        None => list(&store, args.format),
        Some(RunsCommand::Show { run }) => show(&store, run, args.format),
        Some(RunsCommand::Log {
            run,
            step,
            follow,
            prompt,
        }) => {
            log(&store, run, step.as_deref(), *follow, *prompt, args.format).map(|()| String::new())
        }
    });
    match out {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            ExitCode::from(match e {
                StateError::Corrupt { .. } => 1,
                _ => 2,
            })
        }
    }
}

fn list(store: &Store, format: Format) -> Result<String, StateError> {
    let runs = store.runs()?;
    if format == Format::Json {
        return Ok(runs
            .iter()
            .map(|r| serde_json::to_string(r).unwrap_or_default() + "\n")
            .collect());
    }
    let mut out = format!(
        "{:<22} {:<11} {:<19} {:>7}  {}\n",
        "RUN", "STATUS", "STARTED (UTC)", "EVENTS", "WORKFLOW"
    );
    for r in &runs {
        let _ = writeln!(
            out,
            "{:<22} {:<11} {:<19} {:>7}  {}{}",
            r.id,
            r.status,
            when(r.started_ms),
            r.events,
            r.workflow,
            if r.simulate { " (simulated)" } else { "" }
        );
    }
    if runs.is_empty() {
        out.push_str("(no runs yet)\n");
    }
    Ok(out)
}

fn show(store: &Store, id: &str, format: Format) -> Result<String, StateError> {
    let run = store.run(id)?;
    let board = store.board(&run.id)?;
    let events = store.events(&run.id)?;
    let checkpoints = store.checkpoints(&run.id)?;
    let audit = store.audit(&run.id)?;
    let state = store.state(&run.id)?;
    let approvals = store.approvals(&run.id)?;
    if format == Format::Json {
        let json = serde_json::json!({
            "run": run,
            "board": board,
            "checkpoints": checkpoints,
            "state": state.iter().map(|(k, v, w)| serde_json::json!({"key": k, "value": v, "writer": w})).collect::<Vec<_>>(),
            "audit": audit,
            "approvals": approvals.iter().map(|a| serde_json::json!({
                "target": a.target,
                "attempt": a.attempt,
                "prompt": a.prompt,
                "who": a.who,
                "asked_ms": a.asked_ms,
                "status": super::approve::approval_status(a),
                "answered_ms": a.answered_ms,
            })).collect::<Vec<_>>(),
            "usage": bmad::runtime::report::UsageReport::of(
                &events
                    .iter()
                    .filter_map(|e| serde_json::from_value(e.data.clone()).ok())
                    .collect::<Vec<bmad::runtime::event::EventKind>>()
            ),
            "timeline": events,
        });
        return Ok(serde_json::to_string_pretty(&json).unwrap_or_default() + "\n");
    }
    let mut out = header(&run);
    let kinds: Vec<bmad::runtime::event::EventKind> = events
        .iter()
        .filter_map(|e| serde_json::from_value(e.data.clone()).ok())
        .collect();
    let usage = bmad::runtime::report::UsageReport::of(&kinds);
    if usage.tasks > 0 {
        out.push('\n');
        out.push_str(&usage.lines());
    }
    if !approvals.is_empty() {
        out.push_str("\napprovals\n");
        for a in &approvals {
            let _ = writeln!(out, "  {}", super::approve::approval_line(a));
        }
        if approvals.iter().any(|a| a.answer.is_none()) {
            let _ = writeln!(
                out,
                "  answer with `bmad approve {} TARGET` (or `--reject WHY`)",
                run.id
            );
        }
    }
    out.push_str("\nstory board\n");
    // The columns in the order work moves through them.
    for &column in StoryStatus::ALL {
        let stories: Vec<String> = board
            .iter()
            .filter(|b| b.status == column)
            .map(|b| match &b.reason {
                Some(why) => format!("{} ({why})", b.story),
                None => b.story.clone(),
            })
            .collect();
        let _ = writeln!(
            out,
            "  {:<12} {:>4}  {}",
            column.label(),
            stories.len(),
            stories.join(", ")
        );
    }
    let _ = writeln!(out, "\ncheckpoints   {}", checkpoints.len());
    if let Some(c) = checkpoints.last() {
        let _ = writeln!(
            out,
            "  last at event {} ({}), {}",
            c.seq,
            c.reason,
            when(c.wall_ms)
        );
    }
    if !audit.is_empty() {
        let _ = writeln!(out, "\nshared state overwritten (audit trail)");
        for a in &audit {
            let _ = writeln!(
                out,
                "  #{} {}: `{}` replaced the value of `{}`: {}",
                a.seq, a.key, a.new_writer, a.old_writer, a.old_value
            );
        }
    }
    let _ = writeln!(out, "\ntimeline");
    for e in &events {
        let summary = serde_json::from_value::<bmad::runtime::event::EventKind>(e.data.clone())
            .map_or_else(|_| e.data.to_string(), |k| k.text());
        let _ = writeln!(
            out,
            "  {:>5} {} [{:>9}] {summary}",
            e.seq,
            utc(e.wall_ms).1,
            bmad::model::literal::human_ms(e.at_ms)
        );
    }
    Ok(out)
}

fn header(run: &RunInfo) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "run        {}", run.id);
    let _ = writeln!(
        out,
        "status     {}{}",
        run.status,
        run.reason
            .as_ref()
            .map_or(String::new(), |r| format!(": {r}"))
    );
    let _ = writeln!(
        out,
        "workflow   {}{}",
        run.workflow,
        if run.simulate {
            format!(" (simulated, seed {})", run.seed)
        } else {
            String::new()
        }
    );
    let _ = writeln!(out, "workspace  {}", run.workspace);
    let _ = writeln!(out, "started    {} UTC", when(run.started_ms));
    if let Some(end) = run.ended_ms {
        let _ = writeln!(out, "ended      {} UTC", when(end));
    }
    let _ = writeln!(
        out,
        "segments   {} (started {} time(s): resumes after a stop)",
        run.segments, run.segments
    );
    let _ = writeln!(out, "events     {}", run.events);
    out
}

/// Prints what the tasks of run `id` printed (those at steps under `step`), and, with
/// `follow`, what its tasks print as they end until it stops.
fn log(
    store: &Store,
    id: &str,
    step: Option<&str>,
    follow: bool,
    prompt: bool,
    format: Format,
) -> Result<(), StateError> {
    let run = store.run(id)?.id;
    let mut seen = 0;
    loop {
        // Whether it was still running before these were read: what it printed before it
        // stopped is all read then.
        let running = follow && store.run(&run)?.status.live();
        let mut out = std::io::stdout().lock();
        for t in store.transcripts(&run, step, seen)? {
            seen = seen.max(t.seq);
            let _ = out.write_all(transcript(&t, prompt, format).as_bytes());
        }
        let _ = out.flush();
        if !running {
            return Ok(());
        }
        drop(out);
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

/// One task's transcript, for people (with its prompt when asked) or as a JSON line (the
/// prompt in it when one was recorded).
fn transcript(t: &bmad::state::TranscriptRow, prompt: bool, format: Format) -> String {
    if format == Format::Json {
        return serde_json::to_string(t).unwrap_or_default() + "\n";
    }
    let story = t
        .story
        .as_ref()
        .map_or(String::new(), |s| format!(" [story {s}]"));
    let mut out = format!(
        "── {} {}: {}{story}, attempt {}, {} ({}) ──\n",
        t.step,
        t.agent,
        t.tasks,
        t.attempt,
        if t.ok { "ok" } else { "failed" },
        utc(t.wall_ms).1
    );
    if prompt {
        match &t.prompt {
            Some(p) => {
                out.push_str("── prompt ──\n");
                out.push_str(p);
                if !p.ends_with('\n') {
                    out.push('\n');
                }
                out.push_str("── output ──\n");
            }
            None => out.push_str("(no prompt recorded)\n"),
        }
    }
    for (name, text) in [("stdout", &t.stdout), ("stderr", &t.stderr)] {
        if text.is_empty() {
            continue;
        }
        if name == "stderr" {
            out.push_str("── stderr ──\n");
        }
        out.push_str(text);
        if !text.ends_with('\n') {
            out.push('\n');
        }
    }
    if t.stdout.is_empty() && t.stderr.is_empty() {
        out.push_str("(printed nothing)\n");
    }
    out
}
