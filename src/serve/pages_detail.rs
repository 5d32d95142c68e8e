//! The detail pages: a step (each start of it, its tasks, what they printed, the artifacts
//! it handed over with their digests, its events) and a run's operations (checks, heals,
//! incidents with their timeline and post-mortem, alerts and the rest).

use super::gantt::state_class;
use super::ops::Ops;
use super::pages::{frame, run_header};
use super::queries::{RunView, event_text};
use crate::model::literal::human_ms;
use crate::runtime::event::EventKind;
use crate::state::{StepStart, TranscriptRow};
use maud::{Markup, html};

/// A step's page.
pub(super) fn step_page(
    v: &RunView,
    key: &str,
    starts: &[StepStart],
    transcripts: &[TranscriptRow],
) -> Markup {
    let tasks: Vec<_> = v.tasks.iter().filter(|t| t.step == key).collect();
    let events: Vec<_> = v
        .log
        .iter()
        .zip(&v.kinds)
        .filter(|(e, _)| e.step.as_deref() == Some(key))
        .collect();
    let body = html! {
        (run_header(&v.info, v.span_ms))
        h2 { "Step " code { (key) } }
        section.starts {
            h3 { "Attempts" }
            @if starts.is_empty() && tasks.is_empty() { p.note { "This step has not started in this run." } }
            table {
                thead { tr { th { "#" } th { "agent" } th { "tasks" } th { "story" } th { "attempt" } th { "from" } th { "to" } th { "outcome" } } }
                tbody {
                    @for (i, t) in tasks.iter().enumerate() {
                        tr class=(state_class(t.ok)) {
                            td { (i + 1) } td { (t.agent) } td { (t.tasks) } td { (t.story.as_deref().unwrap_or("")) }
                            td { (t.attempt) @if t.validation { " (QA)" } }
                            td { (human_ms(t.start)) } td { @if let Some(e) = t.end { (human_ms(e)) } }
                            td { (match t.ok { Some(true) => "ok", Some(false) => "failed", None => "running" })
                                 @if let Some(f) = &t.feedback { ": " (f) } }
                        }
                    }
                }
            }
            @if starts.len() > tasks.len() {
                p.note { (starts.len()) " start(s) recorded (a resume starts a step again): "
                    @for s in starts { span class=(state_class(s.ok)) { (state_class(s.ok)) } " " } }
            }
        }
        section.prompt {
            h3 { "Prompt" }
            @let prompts: Vec<_> = transcripts.iter().filter_map(|t| t.prompt.as_ref().map(|p| (t, p))).collect();
            @if prompts.is_empty() { p.note { "No prompt was kept for this step (the prompts of simulated agents are not kept, nor any in a store from before schema 6)." } }
            @for (t, p) in prompts {
                article.prompt {
                    h4 { (t.agent) ": " (t.tasks) @if let Some(s) = &t.story { " [" (s) "]" } ", attempt " (t.attempt) }
                    pre.prompt { (p) }
                }
            }
        }
        section.transcripts {
            h3 { "Transcript" }
            @if transcripts.is_empty() { p.note { "Nothing printed was kept for this step (simulated agents print nothing)." } }
            @for t in transcripts {
                article.transcript {
                    h4 { (t.agent) ": " (t.tasks) @if let Some(s) = &t.story { " [" (s) "]" }
                        ", attempt " (t.attempt) ", " (if t.ok { "ok" } else { "failed" })
                        @if t.step != key { " (" code { (t.step) } ")" } }
                    @if !t.stdout.is_empty() { pre.stdout { (t.stdout) } }
                    @if !t.stderr.is_empty() { h5 { "stderr" } pre.stderr { (t.stderr) } }
                    @if t.stdout.is_empty() && t.stderr.is_empty() { p.note { "(printed nothing)" } }
                }
            }
        }
        section.artifacts {
            h3 { "Artifacts" }
            @let handed: Vec<_> = events.iter().filter_map(|(_, k)| match k { Some(EventKind::Handoff { from, to, artifacts, .. }) => Some((from, to, artifacts)), _ => None }).collect();
            @if handed.is_empty() { p.note { "This step handed over no artifacts." } }
            @for (from, to, artifacts) in handed {
                p { (from) " → " (to) }
                table.digests { @for a in artifacts.iter() { tr { td { code { (a.path) } } td { code.digest { (a.sha256) } } } } }
            }
        }
        section.events {
            h3 { "Events" }
            ol { @for (e, k) in &events { li { span.at { "[" (human_ms(e.at_ms)) "]" } " " (event_text(e, k.as_ref())) } } }
        }
    };
    frame(&format!("step {key}"), &body)
}

/// A run's operations page.
pub(super) fn ops_page(v: &RunView, o: &Ops) -> Markup {
    let body = html! {
        (run_header(&v.info, v.span_ms))
        section.checks {
            h2 { "Checks" }
            @if o.checks.is_empty() { p.note { "No check changed status in this run." } }
            table {
                thead { tr { th { "check" } th { "status" } th { "since" } th { "detail" } th { "changes" } } }
                tbody { @for c in &o.checks { @if let Some((at, status, detail)) = c.changes.last() {
                    tr { td { (c.name) } td { span class={"check " (status)} { (status) } } td { (human_ms(*at)) } td { (detail) } td.num { (c.changes.len()) } }
                } } }
            }
        }
        section.heals {
            h2 { "Heals" }
            @if o.heals.is_empty() { p.note { "No heal ran." } }
            @for h in &o.heals {
                article.heal {
                    h3 { (h.name) " " span class=(state_class(h.ok)) { (match h.ok { Some(true) => "fixed", Some(false) => "not fixed", None => "going on" }) } }
                    p { "at " (human_ms(h.at_ms)) ", set off by " (h.trigger) }
                    @for (check, ok, detail) in &h.diagnoses { p class=(state_class(Some(*ok))) { "diagnosis " (check) ": " (detail) } }
                    @for (round, fix, ok, output) in &h.fixes {
                        h4 class=(state_class(Some(*ok))) { "fix " (round) ": " (fix) " " (if *ok { "verified" } else { "failed" }) }
                        @if !output.is_empty() { pre { (output) } }
                    }
                }
            }
        }
        section.incidents {
            h2 { "Incidents" }
            @if o.incidents.is_empty() { p.note { "No incident was opened." } }
            @for i in &o.incidents {
                article.incident id=(i.id) {
                    h3 { (i.id) " · " (i.level) " · " @match i.resolved_after { Some(ms) => span.ok { "resolved after " (human_ms(ms)) }, None => span.failed { "open" } } }
                    p { "set off by " (i.trigger) }
                    h4 { "Timeline" }
                    ol.timeline { @for (at, text) in &i.timeline { li { span.at { "[" (human_ms(*at)) "]" } " " (text) } } }
                    h4 { "Post-mortem" }
                    @if i.postmortem.is_empty() { p.note { "No post-mortem in the workspace." } }
                    @for (name, text) in &i.postmortem { details open { summary { (name) } pre.postmortem { (text) } } }
                }
            }
        }
        section.other {
            h2 { "Alerts, rules, pauses, maintenance" }
            @if o.other.is_empty() { p.note { "None." } }
            ol { @for (at, text) in &o.other { li { span.at { "[" (human_ms(*at)) "]" } " " (text) } } }
        }
    };
    frame(&format!("operations of {}", v.info.id), &body)
}
