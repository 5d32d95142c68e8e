//! The live view: the events a run records after a place in its log, pushed as
//! server-sent events while it goes on (the store is read every [`POLL`] by the events'
//! places, at most [`BATCH`] at a time), then an `end` event once it has stopped and every
//! event is sent. `log` events carry each event (its place, time, text, and the board move
//! it makes); a `run` event after each batch says how the run stands.

use super::queries::event_text;
use super::routes::{App, PageError, read};
use crate::runtime::event::EventKind;
use crate::state::{LogEntry, RunInfo};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use std::convert::Infallible;
use std::time::Duration;

/// How often the store is read while nothing new is there.
pub(super) const POLL: Duration = Duration::from_millis(200);
/// The most events read at a time.
pub(super) const BATCH: u64 = 2000;

/// Where the stream starts.
#[derive(serde::Deserialize)]
pub(super) struct After {
    /// The last event the page has (0: from the start).
    #[serde(default)]
    after: u64,
}

/// One event as the page takes it.
fn log_event(e: &LogEntry) -> Event {
    let kind: Option<EventKind> = serde_json::from_str(&e.data).ok();
    let json = serde_json::json!({
        "seq": e.seq,
        "at_ms": e.at_ms,
        "at": crate::model::literal::human_ms(e.at_ms),
        "kind": e.kind,
        "step": e.step,
        "story": e.story,
        "moved": e.moved,
        "text": event_text(e, kind.as_ref()),
    });
    Event::default()
        .event("log")
        .id(e.seq.to_string())
        .data(json.to_string())
}

fn run_event(r: &RunInfo) -> Event {
    let json = serde_json::json!({
        "status": r.status,
        "live": r.status.live(),
        "events": r.events,
    });
    Event::default().event("run").data(json.to_string())
}

/// The stream of a run's new events.
pub(super) async fn events(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(q): Query<After>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, PageError> {
    let resumed = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let after = resumed.unwrap_or(q.after);
    let run = read(&app, move |s| Ok(s.run(&id)?.id)).await?;
    let stream = futures::stream::unfold(Some((app, run, after)), |at| async move {
        let (app, run, mut after) = at?;
        loop {
            let id = run.clone();
            let batch = read(&app, move |s| {
                Ok((s.log_after(&id, after, BATCH)?, s.run(&id)?))
            })
            .await;
            let (log, info) = match batch {
                Ok(b) => b,
                Err(PageError(_, message)) => {
                    let gone = Event::default().event("failed").data(message);
                    return Some((vec![gone], None));
                }
            };
            if let Some(last) = log.last() {
                after = last.seq;
                let mut out: Vec<Event> = log.iter().map(log_event).collect();
                out.push(run_event(&info));
                return Some((out, Some((app, run, after))));
            }
            if !info.status.live() {
                let end = vec![run_event(&info), Event::default().event("end").data("")];
                return Some((end, None));
            }
            tokio::time::sleep(POLL).await;
        }
    });
    let flat = stream.flat_map(|batch| futures::stream::iter(batch.into_iter().map(Ok)));
    Ok(Sse::new(flat).keep_alive(KeepAlive::default()))
}
