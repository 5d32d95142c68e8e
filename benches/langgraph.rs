//! The peer of the simulated step (issue 21's "100x LangGraph"): a LangGraph chain of no-op
//! nodes (`benches/peers/langgraph_chain.py`), run by the Python that `LANGGRAPH_PYTHON`
//! names (default `python3`) when it has `langgraph`; else the comparison is skipped with
//! how to install it (`python3 -m venv /tmp/lg && /tmp/lg/bin/pip install langgraph`).

use std::path::PathBuf;
use std::process::Command;

/// The chain lengths measured: their CPU difference over their length difference is the
/// marginal CPU of a LangGraph step.
pub(crate) const CHAINS: [usize; 2] = [500, 5_000];

/// The Python to run the chain with, when it has LangGraph.
pub(crate) fn python() -> Option<String> {
    let python = std::env::var("LANGGRAPH_PYTHON").unwrap_or_else(|_| "python3".into());
    let has = Command::new(&python)
        .args(["-c", "import langgraph"])
        .output()
        .is_ok_and(|o| o.status.success());
    has.then_some(python)
}

/// The command that runs a chain of `n` nodes with `python`.
pub(crate) fn chain(python: &str, n: usize) -> Command {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/peers/langgraph_chain.py");
    let mut cmd = Command::new(python);
    cmd.arg(script).arg(n.to_string());
    cmd
}
