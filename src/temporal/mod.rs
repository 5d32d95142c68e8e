//! Agent tasks on Temporal workers (feature `temporal`): the coordinator stays bmad (its
//! scheduler, limits, budgets, QA loops and state store); only agent tasks travel. Each
//! task of an exec or script agent becomes one Temporal workflow execution, whose id is
//! the run's, the step's and the attempt's, running one activity on a task queue; a
//! `bmad worker` polls that queue and runs the task as a local run would
//! ([`crate::runtime::Runner::run_remote`]).
//!
//! [`executor`] is the coordinator's side (an agent backend), [`worker`] the worker's,
//! [`task`] what both share: the workflow, the activity and what travels between them.

pub mod executor;
pub mod task;
pub mod worker;

use std::time::Duration;

/// The environment variable a coordinator or worker reads a Temporal API key from (never
/// a flag, never an input of a workflow).
pub const API_KEY_VAR: &str = "TEMPORAL_API_KEY";

/// Where the Temporal server is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `host:port`.
    pub address: String,
    /// The namespace (`default`).
    pub namespace: String,
    /// The task queue the agent tasks go to (`bmad`).
    pub task_queue: String,
    /// Whether to speak TLS (`temporal+tls://`, or an API key given).
    pub tls: bool,
    /// How often a worker must report a task alive before Temporal gives the task to
    /// another worker.
    pub heartbeat: Duration,
    /// A PEM file of the certificate authority the server's certificate is checked
    /// against (a private CA); the system's roots otherwise. Turns TLS on.
    pub ca_file: Option<std::path::PathBuf>,
}

/// The default task queue.
pub const DEFAULT_TASK_QUEUE: &str = "bmad";
/// The default namespace.
pub const DEFAULT_NAMESPACE: &str = "default";
/// The default heartbeat timeout.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(30);

/// Why Temporal settings are wrong or the server cannot be reached.
#[derive(Debug, thiserror::Error)]
pub enum TemporalError {
    /// The executor is not `temporal://HOST:PORT`.
    #[error(
        "executor `{0}` is not understood: give `local` or `temporal://HOST:PORT` \
         (`temporal+tls://HOST:PORT` for TLS)"
    )]
    Executor(String),
    /// The address could not be made a URL.
    #[error("Temporal address `{0}` is not HOST:PORT")]
    Address(String),
    /// The connection failed.
    #[error("cannot reach the Temporal server at {address}: {reason}")]
    Connect {
        /// `host:port`.
        address: String,
        /// What failed.
        reason: String,
    },
    /// The server refused the API key (gRPC `UNAUTHENTICATED` or `PERMISSION_DENIED`).
    #[error(
        "the Temporal server at {address} refused the API key ({API_KEY_VAR} {given}): \
         {message}"
    )]
    Refused {
        /// `host:port`.
        address: String,
        /// `is set` or `is not set`.
        given: &'static str,
        /// What the server said.
        message: String,
    },
    /// The worker could not be made or stopped with an error.
    #[error("the Temporal worker: {0}")]
    Worker(String),
}

impl Settings {
    /// The settings for `executor` (`temporal://HOST:PORT`, `temporal+tls://HOST:PORT`);
    /// `Ok(None)` for `local`.
    ///
    /// # Errors
    ///
    /// [`TemporalError::Executor`] for anything else.
    pub fn of_executor(executor: &str) -> Result<Option<Settings>, TemporalError> {
        if executor == "local" {
            return Ok(None);
        }
        let (tls, address) = if let Some(a) = executor.strip_prefix("temporal://") {
            (false, a)
        } else if let Some(a) = executor.strip_prefix("temporal+tls://") {
            (true, a)
        } else {
            return Err(TemporalError::Executor(executor.to_string()));
        };
        let address = address.trim_end_matches('/');
        if address.is_empty() || address.contains('/') {
            return Err(TemporalError::Executor(executor.to_string()));
        }
        Ok(Some(Settings::at(address, tls)))
    }

    /// The default settings for the server at `address` (`host:port`).
    pub fn at(address: &str, tls: bool) -> Settings {
        Settings {
            address: address.to_string(),
            namespace: DEFAULT_NAMESPACE.to_string(),
            task_queue: DEFAULT_TASK_QUEUE.to_string(),
            tls,
            heartbeat: DEFAULT_HEARTBEAT,
            ca_file: None,
        }
    }

    /// Connects a client to the server (an API key from [`API_KEY_VAR`] turns TLS on).
    ///
    /// # Errors
    ///
    /// [`TemporalError::Connect`] when it cannot be reached.
    pub async fn connect(
        &self,
        identity: &str,
    ) -> Result<temporalio_client::Client, TemporalError> {
        use temporalio_client::errors::ClientConnectError;
        use temporalio_client::{Client, ClientOptions, Connection, ConnectionOptions, TlsOptions};
        let api_key = std::env::var(API_KEY_VAR).ok().filter(|k| !k.is_empty());
        let has_key = api_key.is_some();
        let ca = match &self.ca_file {
            Some(path) => Some(std::fs::read(path).map_err(|e| TemporalError::Connect {
                address: self.address.clone(),
                reason: format!("cannot read the CA file `{}`: {e}", path.display()),
            })?),
            None => None,
        };
        let tls = self.tls || api_key.is_some() || ca.is_some();
        let scheme = if tls { "https" } else { "http" };
        let url = temporalio_client::Url::parse(&format!("{scheme}://{}", self.address))
            .map_err(|_| TemporalError::Address(self.address.clone()))?;
        let connect_error = |reason: String| TemporalError::Connect {
            address: self.address.clone(),
            reason,
        };
        let options = ConnectionOptions::new(url)
            .identity(identity.to_string())
            .connect_timeout(Duration::from_secs(5))
            .maybe_api_key(api_key)
            .maybe_tls_options(
                tls.then(|| TlsOptions::builder().maybe_server_root_ca_cert(ca).build()),
            )
            .build();
        let connection = Connection::connect(options).await.map_err(|e| match e {
            ClientConnectError::SystemInfoCallError(status)
                if matches!(
                    i32::from(status.code()),
                    UNAUTHENTICATED | PERMISSION_DENIED
                ) =>
            {
                TemporalError::Refused {
                    address: self.address.clone(),
                    given: if has_key { "is set" } else { "is not set" },
                    message: status.message().to_string(),
                }
            }
            e => connect_error(root_cause(&e)),
        })?;
        Client::new(
            connection,
            ClientOptions::new(self.namespace.clone()).build(),
        )
        .map_err(|e| connect_error(error_chain(&e)))
    }
}

/// gRPC's `UNAUTHENTICATED` status code.
const UNAUTHENTICATED: i32 = 16;
/// gRPC's `PERMISSION_DENIED` status code.
const PERMISSION_DENIED: i32 = 7;

/// An error and its sources, `: `-separated (gRPC errors say little at the top).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut words = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        let more = s.to_string();
        if !words.contains(&more) {
            words.push_str(": ");
            words.push_str(&more);
        }
        next = s.source();
    }
    words
}

/// The innermost source of an error (what a refused connection says: `Connection
/// refused (os error 111)`), not the transport's wrappers around it.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(s) = last.source() {
        last = s;
    }
    last.to_string()
}

/// `name@host:pid`: who a client or worker is, as the Temporal UI shows it.
pub fn identity(name: &str) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    format!("{name}@{host}:{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executors_are_local_or_a_temporal_address() {
        assert_eq!(Settings::of_executor("local").ok(), Some(None));
        let s = Settings::of_executor("temporal://127.0.0.1:7233")
            .ok()
            .flatten();
        assert_eq!(
            s.map(|s| (s.address, s.tls)),
            Some(("127.0.0.1:7233".into(), false))
        );
        let s = Settings::of_executor("temporal+tls://x.tmprl.cloud:7233")
            .ok()
            .flatten();
        assert_eq!(s.map(|s| s.tls), Some(true));
        for bad in ["temporal://", "http://x:1", "temporal://a/b", "k8s"] {
            assert!(Settings::of_executor(bad).is_err(), "{bad}");
        }
    }
}
