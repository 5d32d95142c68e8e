//! Children started with `clone` and an environment block built once. When any variable
//! is set on it, std's `Command` copies bmad's whole environment into a map and makes a C
//! string of every variable for each child it starts: two fifths of bmad's own
//! instructions per `exec` task in a profile. Here bmad's environment is read once (a
//! change a host program makes to its own environment later is not seen by the children),
//! and a child's block is that list of pointers with the child's own variables over it.
//! The child itself is started as `posix_spawn` starts one, without its stack mapped
//! afresh each time (`clone.rs`). Linux only (the child is waited for through a pidfd);
//! elsewhere, or where the kernel has no pidfds, [`available`] is false and the caller
//! starts a [`Spec::to_command`].

use std::ffi::OsString;
use std::path::PathBuf;

/// A child to start: `program` with `args`, in `dir`, with bmad's environment and `env`
/// over it and `limits` on it, its output piped, in a process group of its own.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The program, by its path.
    pub program: OsString,
    /// Its arguments (without the program).
    pub args: Vec<OsString>,
    /// Its working directory (bmad's when none).
    pub dir: Option<PathBuf>,
    /// Variables set over bmad's environment, in order (a later one wins).
    pub env: Vec<(&'static str, OsString)>,
    /// Resource limits set on it before its program runs.
    pub limits: Vec<Rlimit>,
}

impl Spec {
    /// `program` with `args`, in bmad's directory, with bmad's environment.
    pub fn new(program: impl Into<OsString>, args: Vec<OsString>) -> Spec {
        Spec {
            program: program.into(),
            args,
            dir: None,
            env: Vec::new(),
            limits: Vec::new(),
        }
    }

    /// Sets `key` to `value` in the child's environment.
    pub fn env(&mut self, key: &'static str, value: impl Into<OsString>) -> &mut Spec {
        self.env.push((key, value.into()));
        self
    }

    /// The same child as a `tokio::process::Command` (its standard streams and process
    /// group are the caller's to set). Its limits make std fork all of bmad for it (a
    /// `pre_exec` hook) instead of using `posix_spawn`.
    pub fn to_command(&self) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(&self.args);
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        #[cfg(unix)]
        if !self.limits.is_empty() {
            let limits = self.limits.clone();
            // SAFETY: the closure runs in the child between fork and exec; it only calls
            // setrlimit, which is async-signal-safe, and allocates nothing.
            unsafe {
                cmd.pre_exec(move || rlimit::apply_to_self(&limits));
            }
        }
        cmd
    }
}

#[cfg(target_os = "linux")]
pub use linux::{Child, Started, available, start};
pub use rlimit::{Resource, Rlimit};

/// Whether [`start`] can start children here: never outside Linux.
#[cfg(not(target_os = "linux"))]
pub fn available() -> bool {
    false
}

#[cfg(target_os = "linux")]
mod clone;
#[cfg(target_os = "linux")]
mod linux;
mod rlimit;
#[cfg(all(test, target_os = "linux"))]
mod tests;
