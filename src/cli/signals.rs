//! Ctrl-C and SIGTERM during a run or a monitor session, watched on a thread of their own:
//! the run's scripts are stopped from there at once (a script evaluating on the run's
//! thread would keep the run from seeing the signal), then the run is told.

use tokio::sync::oneshot;

/// A signal that stops a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Signal {
    /// SIGINT, from the terminal.
    CtrlC,
    /// SIGTERM, from a service manager or `kill`.
    Term,
}

impl Signal {
    /// How the signal is named in messages.
    pub(super) fn name(self) -> &'static str {
        match self {
            Signal::CtrlC => "Ctrl-C",
            Signal::Term => "SIGTERM",
        }
    }

    /// 128 + the signal's number, as shells report it.
    pub(super) fn exit_code(self) -> u8 {
        match self {
            Signal::CtrlC => 130,
            Signal::Term => 143,
        }
    }
}

/// Watches for Ctrl-C and SIGTERM on a thread of its own; at the first, calls `on_signal`
/// with it there and then resolves the receiver. When the signals cannot be watched the receiver
/// fails at once (match on `Ok` to ignore that).
pub(super) fn watch(on_signal: impl FnOnce(Signal) + Send + 'static) -> oneshot::Receiver<Signal> {
    let (tell, told) = oneshot::channel();
    let watcher = move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        let signal = rt.block_on(async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok()?;
            tokio::select! {
                got = tokio::signal::ctrl_c() => got.ok().map(|()| Signal::CtrlC),
                got = term.recv() => got.map(|()| Signal::Term),
            }
        });
        if let Some(signal) = signal {
            on_signal(signal);
            let _ = tell.send(signal);
        }
    };
    // Without the thread, signals keep their default action: the process ends.
    let _ = std::thread::Builder::new()
        .name("bmad-signals".into())
        .spawn(watcher);
    told
}
