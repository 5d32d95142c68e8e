//! A run's operations, from its log: each check and how it stands (with its changes),
//! each heal with its diagnosis and every fix tried with its output, each incident with
//! its timeline and the post-mortem it wrote (read from the run's workspace, confined to
//! it: `ops/incidents/ID/*.md` only).

use super::queries::event_text;
use crate::runtime::event::EventKind;
use crate::state::LogEntry;
use std::path::Path;

/// A check's changes of status, the newest last.
pub(super) struct Check {
    pub(super) name: String,
    /// (ms since the run started, status, what the probe saw).
    pub(super) changes: Vec<(u64, String, String)>,
}

/// One healing procedure as it ran.
pub(super) struct Heal {
    pub(super) name: String,
    pub(super) trigger: String,
    pub(super) at_ms: u64,
    /// (check, passed, what it said).
    pub(super) diagnoses: Vec<(String, bool, String)>,
    /// (round, fix, verified, output).
    pub(super) fixes: Vec<(u64, String, bool, String)>,
    /// Whether a fix verified, once it ended.
    pub(super) ok: Option<bool>,
}

/// One incident.
pub(super) struct Incident {
    pub(super) id: String,
    pub(super) level: String,
    pub(super) trigger: String,
    /// (ms since the run started, what happened).
    pub(super) timeline: Vec<(u64, String)>,
    /// Milliseconds from detection to the verified resolution.
    pub(super) resolved_after: Option<u64>,
    /// The post-mortem's files: (name, text).
    pub(super) postmortem: Vec<(String, String)>,
}

/// A run's operations.
#[derive(Default)]
pub(super) struct Ops {
    pub(super) checks: Vec<Check>,
    pub(super) heals: Vec<Heal>,
    pub(super) incidents: Vec<Incident>,
    /// Alerts, rules fired, pauses and maintenance: (ms, what happened).
    pub(super) other: Vec<(u64, String)>,
}

/// The post-mortem's files, as the runtime names them.
const POSTMORTEM: [&str; 3] = [
    "incident-timeline.md",
    "root-cause-analysis.md",
    "prevention-measures.md",
];
/// The most of a post-mortem file shown.
const MAX_FILE: u64 = 64 * 1024;

/// The operations of a log; post-mortems read from `workspace`.
pub(super) fn ops(log: &[LogEntry], kinds: &[Option<EventKind>], workspace: &Path) -> Ops {
    let mut o = Ops::default();
    for (e, kind) in log.iter().zip(kinds) {
        let Some(kind) = kind else { continue };
        let at = e.at_ms;
        match kind {
            EventKind::CheckStatus {
                check,
                status,
                detail,
                ..
            } => {
                let change = (at, status.word().to_string(), detail.clone());
                match o.checks.iter_mut().find(|c| c.name == *check) {
                    Some(c) => c.changes.push(change),
                    None => o.checks.push(Check {
                        name: check.clone(),
                        changes: vec![change],
                    }),
                }
            }
            EventKind::HealStarted { heal, trigger } => o.heals.push(Heal {
                name: heal.clone(),
                trigger: trigger.clone(),
                at_ms: at,
                diagnoses: Vec::new(),
                fixes: Vec::new(),
                ok: None,
            }),
            EventKind::HealDiagnosis {
                heal,
                check,
                ok,
                detail,
            } => {
                if let Some(h) = open_heal(&mut o.heals, heal) {
                    h.diagnoses.push((check.clone(), *ok, detail.clone()));
                }
            }
            EventKind::HealAttempt {
                heal,
                round,
                fix,
                ok,
                output,
            } => {
                if let Some(h) = open_heal(&mut o.heals, heal) {
                    h.fixes.push((*round, fix.clone(), *ok, output.clone()));
                }
            }
            EventKind::HealFinished { heal, ok, .. } => {
                if let Some(h) = open_heal(&mut o.heals, heal) {
                    h.ok = Some(*ok);
                }
            }
            EventKind::IncidentOpened {
                incident,
                level,
                trigger,
            } => o.incidents.push(Incident {
                id: incident.clone(),
                level: level.clone(),
                trigger: trigger.clone(),
                timeline: vec![(at, kind.text())],
                resolved_after: None,
                postmortem: Vec::new(),
            }),
            EventKind::IncidentEscalated { incident, to, .. } => {
                if let Some(i) = o.incidents.iter_mut().rfind(|i| i.id == *incident) {
                    i.level.clone_from(to);
                    i.timeline.push((at, kind.text()));
                }
            }
            EventKind::IncidentStage { incident, .. } => {
                if let Some(i) = o.incidents.iter_mut().rfind(|i| i.id == *incident) {
                    i.timeline.push((at, kind.text()));
                }
            }
            EventKind::IncidentResolved { incident, after_ms } => {
                if let Some(i) = o.incidents.iter_mut().rfind(|i| i.id == *incident) {
                    i.resolved_after = Some(*after_ms);
                    i.timeline.push((at, kind.text()));
                }
            }
            EventKind::Note { step, text } if step == "postmortem" => {
                if let Some(i) = o
                    .incidents
                    .iter_mut()
                    .rfind(|i| text.starts_with(&format!("{}:", i.id)))
                {
                    i.timeline
                        .push((at, format!("post-mortem written: {text}")));
                }
            }
            EventKind::Alert { .. }
            | EventKind::RuleFired { .. }
            | EventKind::Paused { .. }
            | EventKind::Maintenance { .. } => {
                o.other.push((at, event_text(e, Some(kind))));
            }
            _ => {}
        }
    }
    for i in &mut o.incidents {
        i.postmortem = postmortem(workspace, &i.id);
    }
    o
}

/// The heal of that name that is still going on (the newest).
fn open_heal<'h>(heals: &'h mut [Heal], name: &str) -> Option<&'h mut Heal> {
    heals.iter_mut().rfind(|h| h.name == name)
}

/// The post-mortem files of incident `id` in `workspace`, those there; nothing for an id
/// that is not a plain name or a path that leads out of the workspace.
fn postmortem(workspace: &Path, id: &str) -> Vec<(String, String)> {
    use std::io::Read;
    let plain = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !plain {
        return Vec::new();
    }
    let Ok(root) = workspace.canonicalize() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for name in POSTMORTEM {
        let full = root.join("ops/incidents").join(id).join(name);
        if crate::runtime::confined::check_inside(&root, &full).is_err() {
            continue;
        }
        let Ok(file) = std::fs::File::open(&full) else {
            continue;
        };
        let mut text = String::new();
        if file.take(MAX_FILE).read_to_string(&mut text).is_ok() {
            out.push((name.to_string(), text));
        }
    }
    out
}
