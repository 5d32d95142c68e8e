//! The pages' shared frame and the two main pages: the run list and a run (its board,
//! approvals, KPIs, the workflow graph, the timeline and critical path, the latest events).

use super::gantt::{self, escape, step_href};
use super::queries::{RunRow, RunView};
use crate::model::literal::human_ms;
use crate::state::{RunInfo, StoryStatus, now_ms, utc};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

/// The style sheet, embedded.
pub(super) const STYLE: &str = include_str!("assets/style.css");
/// The script of the live view, embedded.
pub(super) const SCRIPT: &str = include_str!("assets/app.js");
/// The latest events a run page lists (new ones are added as they come).
const LATEST: usize = 60;
/// The most cards a column shows when the page is drawn (new moves add theirs).
pub(super) const MAX_CARDS: usize = 400;

/// A whole page.
pub(super) fn frame(title: &str, body: &Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " - bmad" }
                link rel="stylesheet" href="/assets/style.css";
                script src="/assets/app.js" defer {}
            }
            body {
                header.top { a href="/" { "bmad runs" } }
                main { (body) }
            }
        }
    }
}

/// An error page with its status code.
pub(super) fn error_page(status: StatusCode, message: &str) -> Response {
    let body = html! {
        h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("error")) }
        p.error { (message) }
        p { a href="/" { "All runs" } }
    };
    (status, Html(frame("error", &body).into_string())).into_response()
}

/// When, in UTC.
pub(super) fn when(ms: i64) -> String {
    let (d, t) = utc(ms);
    format!("{d} {t}")
}

/// How long a run has taken by the wall clock (so far, while it goes on).
fn duration(r: &RunInfo) -> String {
    let end = r.ended_ms.unwrap_or_else(|| {
        if r.status.live() {
            now_ms()
        } else {
            r.updated_ms
        }
    });
    human_ms(u64::try_from(end - r.started_ms).unwrap_or(0))
}

fn run_href(id: &str) -> String {
    format!("/runs/{}", escape(id))
}

/// The table of runs (or the word that there are none): the run list's part that
/// `/parts/runs` redraws.
pub(super) fn runs_table(runs: &[RunRow]) -> Markup {
    html! {
        @if runs.is_empty() {
            p { "No runs yet: `bmad run FILE` records one." }
        } @else {
            table.runs {
                thead { tr { th { "run" } th { "kind" } th { "status" } th { "workflow" } th { "started (UTC)" } th { "duration" }
                    th { "done" } th { "blocked" } th { "stories" } th { "spend" } th { "events" } } }
                tbody {
                    @for r in runs {
                        @let count = |s: StoryStatus| r.columns.iter().find(|(c, _)| *c == s).map_or(0, |(_, n)| *n);
                        tr.run data-run=(r.info.id) {
                            td { a href=(run_href(&r.info.id)) { (r.info.id) } }
                            td { (r.info.kind) }
                            td { span class={"status " (r.info.status)} { (r.info.status) } }
                            td { (r.info.workflow) @if r.info.simulate { " (simulated)" } }
                            td { (when(r.info.started_ms)) }
                            td { (duration(&r.info)) }
                            td.num { (count(StoryStatus::Done)) }
                            td.num { (count(StoryStatus::Blocked)) }
                            td.num { (r.columns.iter().map(|(_, n)| n).sum::<usize>()) }
                            td.num { @match r.spend { Some(s) => { "$" (format!("{s:.2}")) }, None => "-" } }
                            td.num { (r.info.events) }
                        }
                    }
                }
            }
    }
    }
}

/// The list of runs.
pub(super) fn run_list(runs: &[RunRow]) -> Markup {
    let body = html! {
        h1 { "Runs" }
        // Redrawn every 2 s from `/parts/runs` while the page is shown (assets/app.js).
        div #runs { (runs_table(runs)) }
    };
    frame("runs", &body)
}

/// The head of a run's pages: what it is and how it stands (`span_ms`: its length by its
/// own clock, virtual in a simulation).
pub(super) fn run_header(r: &RunInfo, span_ms: u64) -> Markup {
    html! {
        h1 { "Run " (r.id) }
        p.meta {
            span class={"status " (r.status)} id="run-status" { (r.status) }
            @if let Some(why) = &r.reason { " " span.reason { (why) } }
            " · " (r.kind) " of " code { (r.workflow) }
            @if r.simulate { " (simulated, seed " (r.seed) ")" }
            " · started " (when(r.started_ms)) " UTC · " (duration(r))
            @if r.simulate { " (" (human_ms(span_ms)) " of virtual time)" }
            " · " span #events { (r.events) } " events"
        }
        nav.tabs {
            a href=(run_href(&r.id)) { "Board and timeline" }
            a href={(run_href(&r.id)) "/ops"} { "Operations" }
        }
    }
}

/// A run's page.
pub(super) fn run_page(v: &RunView, can_answer: bool) -> Markup {
    let id = &v.info.id;
    let last = v.log.last().map_or(0, |e| e.seq);
    let body = html! {
        div #run data-run=(id) data-after=(last) data-live=(v.info.status.live()) {
            (run_header(&v.info, v.span_ms))
            div #part-approvals { (approvals_part(v, can_answer)) }
            section.kpis {
                h2 { "KPIs" }
                @match &v.kpis {
                    Ok(k) if k.is_empty() => p.note { "The workflow sets no KPIs." },
                    Ok(k) => table { thead { tr { th { "KPI" } th { "target" } th { "measured" } } }
                        tbody { @for k in k { tr class=(match k.met { Some(true) => "met", Some(false) => "missed", None => "" }) {
                            td { (k.name) } td { (k.target) } td { (k.shown()) } } } } },
                    Err(why) => p.note { "KPIs not measured: " (why) },
                }
                @if v.usage.tasks > 0 { pre.usage { (v.usage.lines()) } }
            }
            section #board {
                h2 { "Story board" }
                div.columns {
                    @for column in StoryStatus::ALL {
                        @let cards: Vec<_> = v.cards.iter().filter(|c| c.status == *column).collect();
                        div.column data-column=(column.as_str()) {
                            h3 { (column.label()) " " span.count { (cards.len()) } }
                            @for c in cards.iter().take(MAX_CARDS) {
                                div.card data-story=(c.story) {
                                    strong { (c.story) }
                                    @if c.attempts > 1 { " " span.attempts { "attempt " (c.attempts) } }
                                    @if let Some(why) = &c.reason { p.reason { (why) } }
                                    @for t in &c.verdicts {
                                        @let t = &v.tasks[*t];
                                        p class={"verdict " (gantt::state_class(t.ok))} {
                                            a href=(step_href(id, &t.step)) { (t.agent) " #" (t.attempt) }
                                            ": " @if t.ok == Some(true) { "approved" } @else { (t.feedback.as_deref().unwrap_or("rejected")) }
                                        }
                                    }
                                }
                            }
                            @if cards.len() > MAX_CARDS { p.note { "and " (cards.len() - MAX_CARDS) " more" } }
                        }
                    }
                }
            }
            section.graph {
                h2 { "Workflow" }
                div #part-flow { (flow_part(v)) }
            }
            section.timeline {
                div #part-timeline { (timeline_part(v)) }
            }
            section.events {
                h2 { "Latest events" }
                ol #log reversed {
                    @for (e, k) in v.log.iter().zip(&v.kinds).rev().take(LATEST) {
                        li data-seq=(e.seq) { span.at { "[" (human_ms(e.at_ms)) "]" } " " (super::queries::event_text(e, k.as_ref())) }
                    }
                }
            }
        }
    };
    frame(&format!("run {id}"), &body)
}

/// The workflow's graph, coloured by how the run's steps stand (redrawn as the run goes on).
pub(super) fn flow_part(v: &RunView) -> Markup {
    html! {
        @match &v.program {
            Some(p) => (super::flow::chart(p, &v.tasks)),
            None => p.note { "The workflow's file is not the one the run ran: not drawn." },
        }
    }
}

/// The timeline of tasks per agent and the critical path (redrawn as the run goes on).
pub(super) fn timeline_part(v: &RunView) -> Markup {
    let id = &v.info.id;
    let critical = gantt::critical_path(&v.tasks);
    html! {
        h2 { "Tasks per agent" }
        @if v.tasks.is_empty() { p.note { "No tasks yet." } } @else { (gantt::chart(&v.tasks, &critical, v.span_ms, id)) }
        h3 { "Critical path" }
        ol.critical {
            @for i in &critical {
                @let t = &v.tasks[*i];
                li { a href=(step_href(id, &t.step)) { (t.agent) ": " (t.tasks) }
                    @if let Some(s) = &t.story { " [" (s) "]" }
                    " " (human_ms(t.start)) "–" (human_ms(t.end.unwrap_or(t.start))) }
            }
        }
    }
}

/// The approvals a run asked for, with buttons to answer those still open (with a token):
/// a part of the run's page, redrawn when an approval is asked or answered.
pub(super) fn approvals_part(v: &RunView, can_answer: bool) -> Markup {
    if v.approvals.is_empty() {
        return html! {};
    }
    let id = &v.info.id;
    html! {
        section.approvals {
            h2 { "Approvals" }
            @for a in &v.approvals {
                div.approval data-target=(a.target) {
                    strong { (a.target) } " (attempt " (a.attempt) ")"
                    @if let Some(p) = &a.prompt { ": " (p) }
                    @if let Some(w) = &a.who { " · by " (w) }
                    @match &a.answer {
                        Some(ans) => { " · " span class=(if ans.approved { "ok" } else { "failed" }) {
                            (if ans.approved { "approved" } else { "rejected" })
                            @if let Some(b) = &ans.by { " by " (b) } @if let Some(r) = &ans.reason { ": " (r) } } },
                        None if can_answer => form.answer method="post" action={(run_href(id)) "/approvals/" (escape(&a.target))} {
                            input type="text" name="by" placeholder="your name";
                            input type="text" name="reason" placeholder="why (for a rejection)";
                            button name="decision" value="approve" { "Approve" }
                            button name="decision" value="reject" { "Reject" }
                        },
                        None => { " · " span.note { "waiting (answer with `bmad approve`, or serve with --token to answer here)" } },
                    }
                }
            }
        }
    }
}
