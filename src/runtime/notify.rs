//! Notifications: the run tells people what they need to act on (it finished, it failed, a
//! story was blocked, it paused, it waits for a person, its budget is 80% or all spent, an
//! incident was opened or climbed) on
//! the channels of the workflow's `notifications` block: stdout, a JSON-lines file of the
//! workspace, or a webhook (a POST of the JSON) on a host the workflow declares. Secrets are
//! masked before; a simulation writes files but prints and sends nothing.

use super::event::EventKind;
use crate::ir::Program;
use std::cell::RefCell;
use std::time::Duration;

/// How long a webhook may take.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// One notification: its event and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// The event (`crate::ir::vocab::NOTIFY_EVENTS`).
    pub event: &'static str,
    /// What happened, in words.
    pub message: String,
}

/// The notice an event of the run gives, if it is one people hear of.
pub fn notice_of(kind: &EventKind) -> Option<Notice> {
    let (event, message) = match kind {
        EventKind::StoryBlocked { story, reason } => {
            ("blocked", format!("story {story} is blocked: {reason}"))
        }
        EventKind::RunPaused { reason } => ("paused", format!("the run paused: {reason}")),
        EventKind::ApprovalAsked { .. } => ("waiting", kind.text()),
        EventKind::IncidentOpened { .. } | EventKind::IncidentEscalated { .. } => {
            ("incident", kind.text())
        }
        EventKind::BudgetSpent { percent, what } => (
            "budget",
            format!("{percent}% of the run's budget is spent ({what})"),
        ),
        _ => return None,
    };
    Some(Notice { event, message })
}

/// The deliveries in flight to one webhook, one after the other: once done, why each that
/// failed did.
type Delivery = tokio::task::JoinHandle<Vec<String>>;

/// Where the run's notices go.
#[derive(Debug, Default)]
pub struct Notifier {
    channels: Vec<String>,
    events: Vec<String>,
    sending: RefCell<Vec<(String, Delivery)>>,
}

/// Where a notice is delivered, and why it could not be.
pub struct Sent {
    /// The channel.
    pub channel: String,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

impl Notifier {
    /// The notifier of `program`'s `notifications` block (none: it tells nobody).
    pub fn of(program: &Program) -> Notifier {
        let Some(n) = &program.notifications else {
            return Notifier::default();
        };
        Notifier {
            channels: n.to.iter().map(|t| t.value.to_string()).collect(),
            events: n.on.iter().map(|e| e.name.to_string()).collect(),
            sending: RefCell::default(),
        }
    }

    /// Whether anyone hears of `event`.
    pub fn wants(&self, event: &str) -> bool {
        !self.channels.is_empty()
            && (self.events.is_empty() || self.events.iter().any(|e| e == event))
    }

    /// Sends `notice` to every channel: `json` is what files and webhooks get. Webhooks go
    /// out on the blocking pool ([`Notifier::finish`] waits for them); what failed at once
    /// is returned.
    pub fn send(
        &self,
        notice: &Notice,
        json: &str,
        simulate: bool,
        workspace: &super::workspace::Workspace,
        hosts: &std::collections::BTreeSet<String>,
    ) -> Vec<Sent> {
        let mut failed = Vec::new();
        for channel in &self.channels {
            if channel == "stdout" {
                if !simulate {
                    println!("NOTIFY {}: {}", notice.event, notice.message);
                }
            } else if channel.contains("://") {
                let host = crate::script::host_of(channel).unwrap_or_default();
                if !hosts.contains(&host) {
                    failed.push(Sent {
                        channel: channel.clone(),
                        error: Some(format!("host `{host}` is not declared by the workflow")),
                    });
                } else if !simulate {
                    let (url, body) = (channel.clone(), json.to_string());
                    // In order: after the notices sent to this webhook before.
                    let mut sending = self.sending.borrow_mut();
                    let before = sending
                        .iter()
                        .position(|(c, _)| c == channel)
                        .map(|i| sending.remove(i).1);
                    let delivery = tokio::spawn(async move {
                        let mut failed = match before {
                            Some(before) => before.await.unwrap_or_else(|e| vec![e.to_string()]),
                            None => Vec::new(),
                        };
                        match crate::probe::http::post_json(&url, &body, WEBHOOK_TIMEOUT).await {
                            Ok(status) if (200..300).contains(&status) => {}
                            Ok(status) => failed.push(format!("the webhook answered {status}")),
                            Err(e) => failed.push(e.to_string()),
                        }
                        failed
                    });
                    sending.push((channel.clone(), delivery));
                }
            } else {
                let line = format!("{json}\n");
                let append = super::confined::Mode::Append;
                if let Err(e) = workspace.write(channel, line.as_bytes(), append) {
                    failed.push(Sent {
                        channel: channel.clone(),
                        error: Some(e.to_string()),
                    });
                }
            }
        }
        failed
    }

    /// Waits for the webhooks in flight; those that failed, and why.
    pub async fn finish(&self) -> Vec<Sent> {
        let sending = std::mem::take(&mut *self.sending.borrow_mut());
        let mut failed = Vec::new();
        for (channel, delivery) in sending {
            let errors = delivery.await.unwrap_or_else(|e| vec![e.to_string()]);
            failed.extend(errors.into_iter().map(|e| Sent {
                channel: channel.clone(),
                error: Some(e),
            }));
        }
        failed
    }
}
