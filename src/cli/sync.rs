//! `bmad sync`: the `manual_trigger` sync point. A running run is asked for a checkpoint
//! (it polls the store every second) and this waits until it is taken; a run that is not
//! running gets its checkpoint from here.

use super::SyncArgs;
use bmad::state::Store;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Takes a checkpoint of the run.
pub(super) fn run(args: &SyncArgs) -> ExitCode {
    let mut err = std::io::stderr();
    let path = match args.store.state_path() {
        Ok(path) => path,
        Err(e) => {
            let _ = writeln!(err, "{e}");
            return ExitCode::from(2);
        }
    };
    if !path.exists() {
        let _ = writeln!(err, "error: no state file at `{}`", path.display());
        return ExitCode::from(2);
    }
    match sync(&path, args.run.as_deref()) {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            let _ = writeln!(err, "error: {message}");
            ExitCode::from(2)
        }
    }
}

fn sync(path: &std::path::Path, id: Option<&str>) -> Result<String, String> {
    let mut store = Store::open(path).map_err(|e| e.to_string())?;
    let run = match id {
        Some(id) => store.run(id).map_err(|e| e.to_string())?,
        None => store
            .runs()
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|r| r.status.live())
            .ok_or("no run is running; name one: bmad sync RUN_ID")?,
    };
    if !run.status.live() {
        let (seq, _) = store.last_event(&run.id).map_err(|e| e.to_string())?;
        let board = store.board(&run.id).map_err(|e| e.to_string())?;
        let snapshot = bmad::state::snapshot(board.iter().map(|b| b.status), seq);
        store
            .checkpoint(&run.id, seq, "manual_trigger", &snapshot, true)
            .map_err(|e| e.to_string())?;
        return Ok(format!(
            "checkpoint of run {} ({}) taken at event {seq}",
            run.id, run.status
        ));
    }
    let before = store.checkpoints(&run.id).map_err(|e| e.to_string())?.len();
    store.request_sync(&run.id).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        let now = store.checkpoints(&run.id).map_err(|e| e.to_string())?;
        if let Some(c) = now
            .iter()
            .skip(before)
            .find(|c| c.reason == "manual_trigger")
        {
            return Ok(format!(
                "checkpoint of run {} taken at event {}",
                run.id, c.seq
            ));
        }
    }
    Err(format!(
        "run {} did not take the checkpoint within 10 s (does its workflow list \
         `manual_trigger` among its sync points?)",
        run.id
    ))
}
