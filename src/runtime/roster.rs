//! Which agents of a workflow are simulated, and binding them to a coding-agent adapter:
//! a real run whose agents are `sim` would only wait for them, so the CLI refuses it unless
//! told (`--allow-sim`), and `--agents claude_code` (or `settings { agents claude_code }`)
//! gives every simulated agent the adapter's backend, keeping its role and prompt.

use crate::ir::Program;
use crate::model::Backend;
use crate::model::step::{StepKind, walk};
use std::collections::BTreeSet;

/// Whether an agent with this backend is simulated in a real run.
fn simulated(backend: Option<&Backend>) -> bool {
    matches!(backend, None | Some(Backend::Sim { .. }))
}

/// The agents the workflow's steps give tasks to (directly or through `assign`) that are
/// simulated: `backend sim`, or no backend.
pub fn simulated_in_use(p: &Program) -> Vec<String> {
    let mut named = BTreeSet::new();
    for body in p.bodies() {
        walk(body, &mut |s| match &s.kind {
            StepKind::Task(t) => {
                named.insert(t.agent.name.as_str());
            }
            StepKind::Assign { arms, .. } => {
                named.extend(arms.iter().map(|a| a.agent.name.as_str()));
            }
            _ => {}
        });
    }
    named
        .into_iter()
        .filter(|n| p.agent(n).is_some_and(|a| simulated(a.backend.as_ref())))
        .map(str::to_string)
        .collect()
}

/// The adapter simulated agents are bound to: `name` given on the command line, else the
/// workflow's `agents` setting; `None` when neither names one.
pub fn adapter_name<'a>(p: &'a Program, given: Option<&'a str>) -> Option<&'a str> {
    given.or_else(|| p.setting_name("agents"))
}

/// The backend of adapter `name`: an `exec` agent of the workflow, or of `std.agents`.
///
/// # Errors
///
/// When no agent of the workflow or of `std.agents` is named `name`, or it is not an
/// `exec` agent.
pub fn adapter(p: &Program, name: &str) -> Result<Backend, super::SetupError> {
    if let Some(b @ Backend::Exec { .. }) = p.agent(name).and_then(|a| a.backend.clone()) {
        return Ok(b);
    }
    // The bundled module, loaded and lowered (it is checked with bmad's own tests).
    let loaded = crate::load::load_text("<std.agents>", "import std.agents\n", None);
    let files = loaded
        .sources
        .files()
        .map(|(_, f)| f.name.clone())
        .collect();
    let (std, _) = crate::ir::lower(loaded.modules, files);
    match std.agent(name).and_then(|a| a.backend.clone()) {
        Some(b @ Backend::Exec { .. }) => Ok(b),
        _ => Err(super::SetupError::NoAdapter {
            name: name.to_string(),
            known: std.agents.iter().map(|a| a.name.name.to_string()).collect(),
        }),
    }
}

/// The backend agent `backend` runs with once simulated agents are bound to `bound`.
pub fn bind<'a>(backend: Option<&'a Backend>, bound: Option<&'a Backend>) -> Option<&'a Backend> {
    match bound {
        Some(b) if simulated(backend) => Some(b),
        _ => backend,
    }
}
