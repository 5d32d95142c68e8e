//! What happens during a run, in order, with the (virtual or real) time it happened at.

use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// A function called with every event of a run, as it happens.
pub type Listener = Box<dyn Fn(&Event)>;

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Milliseconds since the run started.
    pub at_ms: u64,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// An artifact handed over: its path as written in the workflow and its content's sha256.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandedOver {
    /// The path.
    pub path: String,
    /// The sha256 of its content (of its entries' names and contents, for a directory).
    pub sha256: String,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// The run started (segment 1) or a resume continued it (segment 2, 3, ...).
    RunStarted {
        /// How many times the run has been started, this one included.
        segment: u32,
    },
    /// The run pauses: no new task starts (a budget is spent, an agent's service keeps
    /// refusing); `bmad run --resume` continues it.
    RunPaused {
        /// Why.
        reason: String,
    },
    /// A share of the run's budget is spent (80%, then 100%).
    BudgetSpent {
        /// The share, in percent.
        percent: u32,
        /// Spent and allowed, in words.
        what: String,
    },
    /// The run waits for a person's approval (`bmad approve RUN TARGET`).
    ApprovalAsked {
        /// What is approved: an environment, or an `approve` step (`review@s1` in a story).
        target: String,
        /// What the person is asked.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prompt: Option<String>,
        /// Who may answer (anyone when empty).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        who: Vec<String>,
    },
    /// A person answered.
    ApprovalAnswered {
        /// What was approved or rejected.
        target: String,
        /// Approved, or rejected.
        approved: bool,
        /// Why.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// Who answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
        /// How long it waited for the answer, by the wall clock (across a resume), when
        /// the store says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        waited_ms: Option<u64>,
    },
    /// A phase began.
    PhaseStarted {
        /// The phase.
        phase: String,
    },
    /// A phase ended.
    PhaseFinished {
        /// The phase.
        phase: String,
        /// Whether it succeeded.
        ok: bool,
    },
    /// An agent started a task.
    TaskStarted {
        /// The agent.
        agent: String,
        /// The tasks.
        tasks: Vec<String>,
        /// The story, inside a for-each.
        story: Option<String>,
        /// The attempt, inside a loop (from 1).
        attempt: u64,
        /// Whether it is a QA validation (the story is in review).
        validation: bool,
    },
    /// An agent finished a task.
    TaskFinished {
        /// The agent.
        agent: String,
        /// The tasks.
        tasks: Vec<String>,
        /// The story, inside a for-each.
        story: Option<String>,
        /// Whether it succeeded (for a validation: whether it approved).
        ok: bool,
        /// QA feedback or the failure's reason.
        feedback: Option<String>,
        /// What its CLI reported (session, turns, tokens, cost), for an exec agent whose
        /// output is a CLI's JSON. Boxed: most tasks have none, and every event of the
        /// run's log is as large as its largest kind.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<Box<super::agent_output::AgentResult>>,
    },
    /// A handoff message.
    Handoff {
        /// From.
        from: String,
        /// To.
        to: String,
        /// Artifacts handed over, with the sha256 of their content.
        artifacts: Vec<HandedOver>,
        /// Tasks done.
        completed: Vec<String>,
        /// Tasks left.
        pending: Vec<String>,
        /// Notes.
        notes: Option<String>,
    },
    /// A story could not be finished and was escalated as blocked.
    StoryBlocked {
        /// The story.
        story: String,
        /// Why.
        reason: String,
    },
    /// A story is done.
    StoryDone {
        /// The story.
        story: String,
    },
    /// A story's work was committed on its branch (delivery through git).
    StoryCommitted {
        /// The story.
        story: String,
        /// Its branch.
        branch: String,
        /// The commit its branch is at.
        commit: String,
        /// The files it changed since it started, from the repository's top.
        files: Vec<String>,
        /// Files it declares (`create`, `modify`) but did not change.
        untouched: Vec<String>,
    },
    /// The merge lane merged a story into the integration branch.
    StoryMerged {
        /// The story.
        story: String,
        /// The integration branch.
        into: String,
        /// The merge commit the branch is at now.
        commit: String,
        /// Whether its verdict steps ran again on the merged result (not when the result
        /// was exactly what they had approved).
        verified: bool,
    },
    /// The merge lane sent a story back to its dev agent for another attempt.
    StoryReturned {
        /// The story.
        story: String,
        /// Why: the conflict, or the verdict on the merged result.
        reason: String,
    },
    /// A monitored check changed status (healthy, warning, critical); recorded on changes
    /// only.
    CheckStatus {
        /// `monitor/check`, `monitor/metric`, `monitor/pattern` or `monitor` (its overall
        /// status).
        check: String,
        /// healthy, warning or critical.
        status: crate::model::Status,
        /// What the probe saw.
        detail: String,
        /// When it was last healthy (ms since the run started), for a change away from
        /// healthy: the fault began after it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_ok_ms: Option<u64>,
    },
    /// A monitor rule fired its actions.
    RuleFired {
        /// The monitor and rule (`production/pattern "WebRTC connection failed"`).
        rule: String,
        /// warning or critical.
        status: crate::model::Status,
        /// The actions, as written.
        actions: Vec<String>,
    },
    /// An alert was sent.
    Alert {
        /// The agent alerted, if one is named.
        to: Option<String>,
        /// Where it went: stdout, a file or a webhook URL.
        channel: String,
        /// What it said.
        message: String,
        /// Why it could not be delivered.
        error: Option<String>,
    },
    /// A healing procedure started.
    HealStarted {
        /// The heal.
        heal: String,
        /// What set it off.
        trigger: String,
    },
    /// A diagnosis check of a heal ran.
    HealDiagnosis {
        /// The heal.
        heal: String,
        /// The check.
        check: String,
        /// Whether it passed.
        ok: bool,
        /// What it said.
        detail: String,
    },
    /// A fix of a heal was tried and verified (or not).
    HealAttempt {
        /// The heal.
        heal: String,
        /// The round of fixes, from 1.
        round: u64,
        /// The fix.
        fix: String,
        /// Whether the fix ran and the verification passed.
        ok: bool,
        /// The output of its commands and why it failed.
        output: String,
    },
    /// A healing procedure ended.
    HealFinished {
        /// The heal.
        heal: String,
        /// Whether a fix verified.
        ok: bool,
        /// How many fixes were tried.
        attempts: u64,
    },
    /// An incident was opened.
    IncidentOpened {
        /// Its id (`INC-0001`).
        incident: String,
        /// Its level.
        level: String,
        /// What set it off.
        trigger: String,
    },
    /// An incident moved up a level.
    IncidentEscalated {
        /// The incident.
        incident: String,
        /// The level it was at.
        from: String,
        /// The level it is at now.
        to: String,
        /// Why.
        reason: String,
    },
    /// A stage of an incident's response (detection, triage, resolution, postmortem) ended.
    IncidentStage {
        /// The incident.
        incident: String,
        /// The stage.
        stage: String,
        /// Whether it succeeded.
        ok: bool,
    },
    /// An incident's resolution was verified.
    IncidentResolved {
        /// The incident.
        incident: String,
        /// Milliseconds from its detection to the verified resolution.
        after_ms: u64,
    },
    /// Workflows and monitors were paused (`stop_writes`, isolate) or resumed.
    Paused {
        /// What is paused (`affected_systems`).
        target: String,
        /// Who paused it (the emergency).
        by: String,
        /// True when paused, false when resumed.
        paused: bool,
    },
    /// A scheduled maintenance job started, ended, was skipped or queued.
    Maintenance {
        /// The job.
        job: String,
        /// started, succeeded, failed, skipped or queued.
        status: super::ops::MaintenanceStatus,
        /// Why, for failed and skipped.
        detail: Option<String>,
    },
    /// Anything else a step did: an alert, a deployment, an incident opened, ...
    Note {
        /// What kind of step.
        step: String,
        /// What it said.
        text: String,
    },
}

/// Tokens and cost in a few words: `1.2k in (800 cached), 640 out, $0.0421`.
pub fn usage_text(u: &super::agent_output::Usage) -> String {
    let n = |v: u64| {
        if v >= 10_000 {
            format!("{:.0}k", v as f64 / 1000.0)
        } else if v >= 1000 {
            format!("{:.1}k", v as f64 / 1000.0)
        } else {
            v.to_string()
        }
    };
    let mut out = format!("{} in", n(u.input_tokens));
    if u.cached_tokens > 0 {
        let _ = write!(out, " ({} cached)", n(u.cached_tokens));
    }
    let _ = write!(out, ", {} out", n(u.output_tokens));
    if let Some(c) = u.cost_usd {
        let _ = write!(out, ", ${c:.4}");
    }
    out
}

impl EventKind {
    /// The event's name, as in its JSON `event` field.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::RunStarted { .. } => "run_started",
            EventKind::RunPaused { .. } => "run_paused",
            EventKind::BudgetSpent { .. } => "budget_spent",
            EventKind::ApprovalAsked { .. } => "approval_asked",
            EventKind::ApprovalAnswered { .. } => "approval_answered",
            EventKind::PhaseStarted { .. } => "phase_started",
            EventKind::PhaseFinished { .. } => "phase_finished",
            EventKind::TaskStarted { .. } => "task_started",
            EventKind::TaskFinished { .. } => "task_finished",
            EventKind::Handoff { .. } => "handoff",
            EventKind::StoryBlocked { .. } => "story_blocked",
            EventKind::StoryDone { .. } => "story_done",
            EventKind::StoryCommitted { .. } => "story_committed",
            EventKind::StoryMerged { .. } => "story_merged",
            EventKind::StoryReturned { .. } => "story_returned",
            EventKind::CheckStatus { .. } => "check_status",
            EventKind::RuleFired { .. } => "rule_fired",
            EventKind::Alert { .. } => "alert",
            EventKind::HealStarted { .. } => "heal_started",
            EventKind::HealDiagnosis { .. } => "heal_diagnosis",
            EventKind::HealAttempt { .. } => "heal_attempt",
            EventKind::HealFinished { .. } => "heal_finished",
            EventKind::IncidentOpened { .. } => "incident_opened",
            EventKind::IncidentEscalated { .. } => "incident_escalated",
            EventKind::IncidentStage { .. } => "incident_stage",
            EventKind::IncidentResolved { .. } => "incident_resolved",
            EventKind::Paused { .. } => "paused",
            EventKind::Maintenance { .. } => "maintenance",
            EventKind::Note { .. } => "note",
        }
    }

    /// One line saying what happened.
    pub fn text(&self) -> String {
        let story = |s: &Option<String>| s.as_ref().map_or(String::new(), |s| format!(" [{s}]"));
        match self {
            EventKind::RunStarted { segment: 1 } => "run started".into(),
            EventKind::RunStarted { segment } => format!("run resumed (start {segment})"),
            EventKind::RunPaused { reason } => format!("run paused: {reason}"),
            EventKind::BudgetSpent { percent, what } => {
                format!("{percent}% of the run's budget is spent ({what})")
            }
            EventKind::ApprovalAsked {
                target,
                prompt,
                who,
            } => format!(
                "waiting for approval of `{target}`{}{} (bmad approve RUN {target} [--reject WHY])",
                prompt.as_ref().map_or(String::new(), |p| format!(": {p}")),
                if who.is_empty() {
                    String::new()
                } else {
                    format!(" by {}", who.join(", "))
                }
            ),
            EventKind::ApprovalAnswered {
                target,
                approved,
                reason,
                by,
                ..
            } => format!(
                "`{target}` {}{}{}",
                if *approved { "approved" } else { "rejected" },
                by.as_ref().map_or(String::new(), |b| format!(" by {b}")),
                reason.as_ref().map_or(String::new(), |r| format!(": {r}"))
            ),
            EventKind::PhaseStarted { phase } => format!("phase {phase}"),
            EventKind::PhaseFinished { phase, ok } => {
                format!("phase {phase} {}", if *ok { "done" } else { "failed" })
            }
            EventKind::TaskStarted {
                agent,
                tasks,
                story: s,
                attempt,
                ..
            } => format!(
                "{agent}: {}{}{}",
                tasks.join(", "),
                story(s),
                if *attempt > 1 {
                    format!(" (attempt {attempt})")
                } else {
                    String::new()
                }
            ),
            EventKind::TaskFinished {
                agent,
                tasks,
                story: s,
                ok,
                feedback,
                result,
            } => format!(
                "{agent}: {}{} {}{}{}",
                tasks.join(", "),
                story(s),
                if *ok { "ok" } else { "failed" },
                result
                    .as_ref()
                    .map_or(String::new(), |r| format!(" ({})", usage_text(&r.usage))),
                feedback
                    .as_ref()
                    .map_or(String::new(), |f| format!(": {f}"))
            ),
            EventKind::Handoff {
                from,
                to,
                artifacts,
                ..
            } => format!(
                "{from} -> {to} ({})",
                artifacts
                    .iter()
                    .map(|a| a.path.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            EventKind::StoryBlocked { story, reason } => format!("story {story} blocked: {reason}"),
            EventKind::StoryDone { story } => format!("story {story} done"),
            EventKind::StoryCommitted {
                story,
                branch,
                commit,
                files,
                untouched,
            } => format!(
                "story {story} committed on {branch} ({}): {}{}",
                super::git::short(commit),
                if files.is_empty() {
                    "no file changed".to_string()
                } else {
                    files.join(", ")
                },
                if untouched.is_empty() {
                    String::new()
                } else {
                    format!("; declared but not changed: {}", untouched.join(", "))
                }
            ),
            EventKind::StoryMerged {
                story,
                into,
                commit,
                verified,
            } => format!(
                "story {story} merged into {into} ({}){}",
                super::git::short(commit),
                if *verified {
                    ", verified on the merged result"
                } else {
                    ""
                }
            ),
            EventKind::StoryReturned { story, reason } => {
                format!("story {story} sent back by the merge lane: {reason}")
            }
            EventKind::CheckStatus {
                check,
                status,
                detail,
                ..
            } => format!("{check} {status}: {detail}"),
            EventKind::RuleFired {
                rule,
                status,
                actions,
            } => format!("{rule} ({status}) => {}", actions.join(", ")),
            EventKind::Alert {
                to,
                channel,
                message,
                error,
            } => format!(
                "alert {}via {channel}: {message}{}",
                to.as_ref().map_or(String::new(), |t| format!("{t} ")),
                error
                    .as_ref()
                    .map_or(String::new(), |e| format!(" (not delivered: {e})"))
            ),
            EventKind::HealStarted { heal, trigger } => format!("heal {heal} started: {trigger}"),
            EventKind::HealDiagnosis {
                heal,
                check,
                ok,
                detail,
            } => format!(
                "heal {heal} diagnosis {check}: {} {detail}",
                if *ok { "ok" } else { "failed:" }
            ),
            EventKind::HealAttempt {
                heal,
                round,
                fix,
                ok: true,
                ..
            } => format!("heal {heal} round {round} fix {fix} verified"),
            // Why it failed, with its exit code, and the end of what it printed.
            EventKind::HealAttempt {
                heal,
                round,
                fix,
                output,
                ..
            } => {
                let tail = super::verdict::last_lines(output.trim(), 3).replace('\n', " | ");
                if tail.is_empty() {
                    format!("heal {heal} round {round} fix {fix} did not verify")
                } else {
                    format!("heal {heal} round {round} fix {fix} did not verify: {tail}")
                }
            }
            EventKind::HealFinished { heal, ok, attempts } => format!(
                "heal {heal} {} after {attempts} fix(es)",
                if *ok { "healed" } else { "failed" }
            ),
            EventKind::IncidentOpened {
                incident,
                level,
                trigger,
            } => format!("incident {incident} opened at level {level}: {trigger}"),
            EventKind::IncidentEscalated {
                incident,
                from,
                to,
                reason,
            } => format!("incident {incident} escalated {from} -> {to}: {reason}"),
            EventKind::IncidentStage {
                incident,
                stage,
                ok,
            } => format!(
                "incident {incident} {stage} {}",
                if *ok { "done" } else { "failed" }
            ),
            EventKind::IncidentResolved { incident, after_ms } => format!(
                "incident {incident} resolved after {}",
                crate::model::literal::human_ms(*after_ms)
            ),
            EventKind::Paused { target, by, paused } => format!(
                "{target} {} by {by}",
                if *paused { "paused" } else { "resumed" }
            ),
            EventKind::Maintenance {
                job,
                status,
                detail,
            } => format!(
                "maintenance {job} {status}{}",
                detail.as_ref().map_or(String::new(), |d| format!(": {d}"))
            ),
            EventKind::Note { step, text } => format!("{step}: {text}"),
        }
    }
}
