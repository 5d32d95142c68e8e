//! `bmad serve`: a web view over the state store, live while runs go on. The run list, a
//! run (its story board, the workflow graph coloured by step state, a timeline of tasks
//! per agent with the critical path, KPIs against their targets), a step (its transcript,
//! attempts and artifacts), and the operations (checks, heals, incidents with their
//! timeline and post-mortem). Pages are HTML rendered on the server (templates compiled
//! into the binary, [`maud`]); the style sheet and the one script are embedded. New events
//! reach an open page as server-sent events, read from the store by their place in the
//! run's log.
//!
//! Safe by default: it listens on loopback unless told otherwise, and a non-loopback
//! address needs a token, which every request must then carry (a header, or the cookie a
//! `?token=` link sets). It reads the store only, except to answer an approval, which
//! needs the token too. It shows what the store holds (the runtime masks secrets before
//! they are recorded), and it reads no file but the store and, inside a run's workspace,
//! its workflow and its incidents' post-mortems.

mod auth;
mod flow;
mod gantt;
mod ops;
mod pages;
mod pages_detail;
mod queries;
mod routes;
mod sse;

use std::net::SocketAddr;
use std::path::PathBuf;

/// How `bmad serve` runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The state database.
    pub state: PathBuf,
    /// Where it listens.
    pub addr: SocketAddr,
    /// The token every request must carry; none: no token asked, and approvals are not
    /// answered from the page.
    pub token: Option<String>,
}

/// The shortest token accepted.
pub const MIN_TOKEN: usize = 16;

/// Why `bmad serve` does not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A non-loopback address without a token.
    #[error(
        "[serve-no-token] refusing to listen on {0} without a token: anyone who can reach \
         that address could read every run; give --token (at least {MIN_TOKEN} characters, \
         or BMAD_SERVE_TOKEN), or listen on 127.0.0.1"
    )]
    NoToken(SocketAddr),
    /// A token too short to guess hard.
    #[error("[serve-weak-token] the token is shorter than {MIN_TOKEN} characters")]
    WeakToken,
    /// No state file there.
    #[error(
        "[serve-no-state] no state file at `{}` (a `bmad run` in this workspace makes one; \
         or name it with --state)",
        .0.display()
    )]
    NoState(PathBuf),
    /// The address cannot be listened on.
    #[error("[serve-bind] cannot listen on {addr}: {message}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// What the system said.
        message: String,
    },
}

impl Config {
    /// Checks that the configuration is safe to serve: a token for a non-loopback address,
    /// a long enough token, a state file that is there.
    ///
    /// # Errors
    ///
    /// A [`ServeError`] saying what is wrong.
    pub fn check(&self) -> Result<(), ServeError> {
        match &self.token {
            None if !self.addr.ip().is_loopback() => return Err(ServeError::NoToken(self.addr)),
            Some(t) if t.chars().count() < MIN_TOKEN => return Err(ServeError::WeakToken),
            _ => {}
        }
        if !self.state.is_file() {
            return Err(ServeError::NoState(self.state.clone()));
        }
        Ok(())
    }
}

/// Listens on the configured address, checked first; the listener, to serve with
/// [`serve`].
///
/// # Errors
///
/// A [`ServeError`] when the configuration is unsafe or the address cannot be listened on.
pub async fn listen(config: &Config) -> Result<tokio::net::TcpListener, ServeError> {
    config.check()?;
    tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| ServeError::Bind {
            addr: config.addr,
            message: e.to_string(),
        })
}

/// Serves the view on `listener` until the process ends.
///
/// # Errors
///
/// When the server stops on an I/O error.
pub async fn serve(config: Config, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    axum::serve(listener, routes::router(config)).await
}
