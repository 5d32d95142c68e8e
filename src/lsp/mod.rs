//! `bmad lsp`: a language server over stdio, on rust-analyzer's `lsp-server` and the
//! `lsp-types` definitions. Each open document is loaded with its imports, checked and its
//! names indexed by the same code as `bmad check`; every feature reads that analysis, one
//! file a feature: diagnostics, hover, navigation (definition, references, rename),
//! completion, formatting, symbols and folding, semantic tokens and code actions.
//!
//! The stdlib modules and the explanations of diagnostic codes are written under the
//! user's cache directory (`$XDG_CACHE_HOME/bmad/VERSION`, else `~/.cache/bmad/VERSION`):
//! go to definition into `std.roles` opens `std/roles.bmad` there, and a diagnostic's code
//! links to `explain/CODE.md` there (what `bmad explain CODE` prints).

mod actions;
mod complete;
mod diagnostics;
mod document;
mod format;
mod hover;
mod navigate;
mod position;
mod server;
mod symbols;
mod tokens;
mod uri;

/// What stops the server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The editor broke the protocol, or the connection with it.
    #[error("the connection with the editor failed: {0}")]
    Protocol(#[from] lsp_server::ProtocolError),
    /// A message could not be sent: the editor went away.
    #[error("the editor closed the connection")]
    Closed,
    /// Reading or writing stdio failed.
    #[error("stdio: {0}")]
    Io(#[from] std::io::Error),
    /// The server's own capabilities did not serialise (never expected).
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

/// Serves one editor over stdin and stdout until it asks the server to exit.
///
/// # Errors
///
/// When the connection fails or the editor breaks the protocol.
pub fn serve_stdio() -> Result<(), Error> {
    let (connection, io) = lsp_server::Connection::stdio();
    server::serve(&connection)?;
    drop(connection);
    io.join()?;
    Ok(())
}
