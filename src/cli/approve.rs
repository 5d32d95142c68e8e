//! `bmad approve RUN [TARGET] [--reject WHY] [--as NAME]`: answers an approval a run waits
//! for, from another terminal; without a target, lists what the run waits for. `bmad ack
//! RUN INCIDENT` acknowledges a page the same way.

use super::{AckArgs, ApproveArgs};
use bmad::state::{Answer, Approval, Store};
use std::io::Write;
use std::process::ExitCode;

/// Prints `message` as an error; exit code 2.
fn fail(message: &str) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "error: {message}");
    ExitCode::from(2)
}

/// The store at `store`'s path and the run `id` names in it.
fn open(store: &super::StoreArgs, id: &str) -> Result<(Store, bmad::state::RunInfo), ExitCode> {
    let path = store.state_path().map_err(|e| {
        let _ = writeln!(std::io::stderr(), "{e}");
        ExitCode::from(2)
    })?;
    if !path.exists() {
        return Err(fail(&format!("no state file at `{}`", path.display())));
    }
    let store = Store::open(&path).map_err(|e| fail(&e.to_string()))?;
    let run = store.run(id).map_err(|e| fail(&e.to_string()))?;
    Ok((store, run))
}

/// Answers, or lists, the run's approvals.
pub(super) fn run(args: &ApproveArgs) -> ExitCode {
    let (mut store, run) = match open(&args.store, &args.run) {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let Some(target) = &args.target else {
        return list(&store, &run.id);
    };
    let answer = Answer {
        approved: args.reject.is_none(),
        reason: args.reject.clone(),
        by: args.by.clone().or_else(|| std::env::var("USER").ok()),
    };
    match store.answer_approval(&run.id, target, &answer) {
        Ok(()) => {
            println!(
                "`{target}` of run {} {}",
                run.id,
                if answer.approved {
                    "approved"
                } else {
                    "rejected"
                }
            );
            if !run.status.live() {
                println!(
                    "the run is not going on: `bmad run FILE --resume` continues it with this answer"
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}

/// Acknowledges an incident's page.
pub(super) fn ack(args: &AckArgs) -> ExitCode {
    let (mut store, run) = match open(&args.store, &args.run) {
        Ok(opened) => opened,
        Err(code) => return code,
    };
    let answer = Answer {
        approved: true,
        reason: None,
        by: args.by.clone().or_else(|| std::env::var("USER").ok()),
    };
    match store.answer_approval(&run.id, &args.incident, &answer) {
        Ok(()) => {
            println!("{} of run {} acknowledged", args.incident, run.id);
            ExitCode::SUCCESS
        }
        Err(bmad::state::AnswerRefused::Answered { .. }) => fail(&format!(
            "{} of run {} is already acknowledged",
            args.incident, run.id
        )),
        Err(bmad::state::AnswerRefused::NotAsked { .. }) => fail(&format!(
            "run {} has paged for no incident `{}`",
            run.id, args.incident
        )),
        Err(e) => fail(&e.to_string()),
    }
}

/// Lists the approvals of run `id`: target, status, who may answer, the question.
fn list(store: &Store, id: &str) -> ExitCode {
    match store.approvals(id) {
        Ok(all) if all.is_empty() => {
            println!("run {id} asked for no approval");
            ExitCode::SUCCESS
        }
        Ok(all) => {
            for a in &all {
                println!("{}", approval_line(a));
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}

/// An approval on one line: target, status, who may answer, the question.
pub(super) fn approval_line(a: &Approval) -> String {
    let who = a.who.as_ref().map_or(String::new(), |w| {
        format!(" (by {})", w.split(',').collect::<Vec<_>>().join(", "))
    });
    let prompt = a.prompt.as_ref().map_or(String::new(), |p| format!(" {p}"));
    format!("{:<24} {}{who}{prompt}", a.target, approval_status(a))
}

/// `waiting`, `approved by X` or `rejected by X: why`.
pub(super) fn approval_status(a: &Approval) -> String {
    match &a.answer {
        None => "waiting".to_string(),
        Some(x) if x.approved => format!("approved{}", by(x)),
        Some(x) => format!(
            "rejected{}: {}",
            by(x),
            x.reason.as_deref().unwrap_or_default()
        ),
    }
}

fn by(a: &Answer) -> String {
    a.by.as_ref().map_or(String::new(), |b| format!(" by {b}"))
}
