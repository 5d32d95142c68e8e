//! Alerts: to stdout (addressed to an agent), appended as a JSON line to a file in the
//! workspace, or sent as JSON (a POST) to a webhook on a host the workflow declares. Secrets are
//! redacted from the message first. A simulation writes files but sends nothing over the
//! network and prints nothing.

use super::super::event::EventKind;
use super::{Desk, OpsHost};
use std::time::Duration;

/// How long a webhook may take.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);

impl Desk {
    /// Sends an alert and records it, with why it could not be delivered, if it could not.
    pub(in crate::runtime) async fn alert(
        &self,
        host: &dyn OpsHost,
        to: Option<&str>,
        channel: Option<&str>,
        message: &str,
    ) {
        let sandbox = host.sandbox();
        let message = sandbox.redact(message);
        let at = self
            .wall(host.now_ms())
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let json = serde_json::json!({ "at": at, "to": to, "message": message }).to_string();
        let (channel_name, error) = match channel {
            None => {
                if self.sim.is_none() {
                    println!("ALERT {at} {}: {message}", to.unwrap_or("operations"));
                }
                ("stdout".to_string(), None)
            }
            Some(url) if url.contains("://") => {
                let host = crate::script::host_of(url).unwrap_or_default();
                let error = if !sandbox.hosts.contains(&host) {
                    Some(format!("host `{host}` is not declared by the workflow"))
                } else if self.sim.is_some() {
                    None
                } else {
                    match crate::probe::http::post_json(url, &json, WEBHOOK_TIMEOUT).await {
                        Ok(status) if (200..300).contains(&status) => None,
                        Ok(status) => Some(format!("the webhook answered {status}")),
                        Err(e) => Some(e.to_string()),
                    }
                };
                (url.to_string(), error)
            }
            Some(path) => (
                path.to_string(),
                Self::append_alert(host, path, &json)
                    .err()
                    .map(|e| e.to_string()),
            ),
        };
        host.record(EventKind::Alert {
            to: to.map(str::to_string),
            channel: channel_name,
            message,
            error,
        });
    }

    /// Appends one JSON line to the file `path` of the workspace.
    fn append_alert(
        host: &dyn OpsHost,
        path: &str,
        json: &str,
    ) -> Result<(), crate::runtime::workspace::WorkspaceError> {
        let line = format!("{json}\n");
        let append = crate::runtime::confined::Mode::Append;
        host.workspace().write(path, line.as_bytes(), append)
    }
}
