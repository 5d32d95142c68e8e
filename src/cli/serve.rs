//! `bmad serve [--state PATH] [--addr ADDR] [--token TOKEN]`: the web view of the state
//! store (`bmad::serve`); prints the address it listens on, then serves until stopped.

use super::ServeArgs;
use bmad::serve::{Config, listen, serve};
use std::io::Write;
use std::process::ExitCode;

/// Serves until the process is stopped; exit 2 when it cannot start.
pub(super) fn run(args: &ServeArgs) -> ExitCode {
    let fail = |message: &str| {
        let _ = writeln!(std::io::stderr(), "error: {message}");
        ExitCode::from(2)
    };
    let state = match args.store.state_path() {
        Ok(path) => path,
        Err(e) => return fail(&e),
    };
    let token = args.token.clone().or_else(|| {
        std::env::var("BMAD_SERVE_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())
    });
    let config = Config {
        state,
        addr: args.addr,
        token,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the server's runtime: {e}")),
    };
    runtime.block_on(async {
        let listener = match listen(&config).await {
            Ok(l) => l,
            Err(e) => return fail(&e.to_string()),
        };
        let addr = listener.local_addr().map_or(config.addr, |a| a);
        let mut out = std::io::stdout();
        let _ = writeln!(out, "bmad serve: http://{addr}/");
        if config.token.is_some() {
            let _ = writeln!(
                out,
                "open it once as http://{addr}/?token=YOUR_TOKEN (a cookie keeps it)"
            );
        }
        let _ = out.flush();
        match serve(config, listener).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&format!("the server stopped: {e}")),
        }
    })
}
