//! The integration tests, one crate (issue 22 item 4): one binary to build and link instead
//! of one per file, each of which linked tokio, SQLite and the whole library; the tests of
//! every module run side by side. `cargo test --test integration monitor::` runs a module.
//!
//! `harness` is the `Test` builder (a workflow as an indented literal, the arguments, the
//! status and output expected) and the waits on a condition with a deadline; `common`
//! holds the helpers shared by several modules. tests/fuzz/ is a crate of its own (see
//! its header).

// Tests keep the library's lints but these: helpers are `pub` for the modules of this
// one crate, and pedantic style (raw-string hashes around workflows, casts of small test
// numbers, short names) is not worth its noise here.
#![allow(unreachable_pub, clippy::pedantic)]

mod common;
mod harness;

mod adapters;
mod approvals;
mod bmad_projects;
mod bmad_resume;
mod budget;
mod cli;
mod commands;
mod crash;
mod crash_sim;
mod delivery;
mod deploy;
mod editors;
mod engine;
mod examples;
mod exec;
mod explain;
mod fmt;
mod git;
mod grammar_doc;
mod graph;
mod graph_pages;
mod hardening;
mod incidents;
mod init;
mod limits;
mod lsp;
mod lsp_nvim;
mod monitor;
mod monitor_virtual;
mod processes;
mod progress;
mod repl;
mod robustness;
mod run;
mod script;
mod script_agents;
mod script_bounds;
mod serve;
mod serve_browser;
mod source_shape;
mod state;
mod state_files;
mod story_files;
#[cfg(feature = "temporal")]
mod temporal;
#[cfg(feature = "temporal")]
mod temporal_auth;
#[cfg(feature = "temporal")]
mod temporal_git;
mod tls;
mod ui;
mod workspace;
