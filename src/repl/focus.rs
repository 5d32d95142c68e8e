//! Finding one definition of a workflow by name, and cutting the workflow down to it for
//! `:ir`, `:graph` and `:run`.

use crate::ir::{ProcKind, Program};
use crate::model::step::{CallKind, Name, Step, StepKind};

/// Why a workflow cannot be cut down to one definition.
#[derive(Debug, thiserror::Error)]
pub(super) enum FocusError {
    /// No definition of the kind wanted has the name.
    #[error("nothing named `{name}` {what}{}", did_you_mean.as_ref().map_or(String::new(), |h| format!(" ({h})")))]
    NotFound {
        /// The name given.
        name: String,
        /// What was wanted (`to draw (a phase, procedure or monitor)`).
        what: &'static str,
        /// The name it may mean.
        did_you_mean: Option<String>,
    },
    /// A procedure that a monitor or an incident starts, not `:run`.
    #[error(
        "`{name}` is an {kind}: it runs when a monitor or an incident starts it, not with :run"
    )]
    NotRunnable {
        /// The procedure.
        name: String,
        /// Its kind's keyword.
        kind: &'static str,
    },
}

/// Everything `p` defines, as (kind, name), in declaration order within each kind.
pub(super) fn defined(p: &Program) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut add = |kind: &'static str, name: &str| out.push((kind, name.to_string()));
    p.agents.iter().for_each(|a| add("agent", &a.name.name));
    p.phases.iter().for_each(|x| add("phase", &x.name.name));
    p.stories.iter().for_each(|s| add("story", &s.id.name));
    p.artifacts
        .iter()
        .for_each(|a| add("artifact", &a.name.name));
    p.checks.iter().for_each(|c| add("check", &c.name.name));
    for pr in p
        .procedures
        .iter()
        .filter(|pr| pr.kind != ProcKind::Incident)
    {
        add(pr.kind.keyword(), &pr.name.name);
    }
    p.monitors.iter().for_each(|m| add("monitor", &m.name.name));
    p.environments
        .iter()
        .for_each(|e| add("environment", &e.name.name));
    p.incident_levels
        .iter()
        .for_each(|l| add("level", &l.name.name));
    p.env_vars.iter().for_each(|e| add("env", &e.name.name));
    p.kpis.iter().for_each(|k| add("kpi", &k.name.name));
    out
}

/// The IR of every definition named `name`, each as `kind name` and pretty JSON without
/// spans (places in the source are noise at the prompt; `bmad check --emit ir` has them).
pub(super) fn ir_of(p: &Program, name: &str) -> Vec<(String, String)> {
    let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(p) else {
        return Vec::new();
    };
    let named = |v: &serde_json::Value| {
        ["name", "id"].iter().any(|k| match v.get(k) {
            Some(serde_json::Value::String(s)) => s == name,
            Some(inner) => inner.get("name").and_then(|n| n.as_str()) == Some(name),
            None => false,
        })
    };
    let mut out = Vec::new();
    for (field, value) in &fields {
        let serde_json::Value::Array(items) = value else {
            continue;
        };
        for item in items.iter().filter(|v| named(v)) {
            let mut item = item.clone();
            drop_spans(&mut item);
            let json = serde_json::to_string_pretty(&item).unwrap_or_default();
            out.push((format!("{field}: {name}"), json));
        }
    }
    out
}

fn drop_spans(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            map.remove("span");
            map.values_mut().for_each(drop_spans);
            // A name without its place is just the name.
            if let (1, Some(serde_json::Value::String(name))) = (map.len(), map.get("name")) {
                *v = serde_json::Value::String(name.clone());
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_spans),
        _ => {}
    }
}

/// `p` with only the definition named `name` to draw: a phase (its flow), a procedure of
/// any kind, or a monitor (drawn with every procedure and incident level, not only the
/// ones its rules lead to).
pub(super) fn for_graph(mut p: Program, name: &str) -> Result<Program, FocusError> {
    if let Some(i) = p.phases.iter().position(|x| x.name.name == name) {
        let mut phase = p.phases.swap_remove(i);
        phase.after.clear();
        p.phases = vec![phase];
        p.procedures.clear();
        p.monitors.clear();
        p.stories.clear();
        p.incident_levels.clear();
        return Ok(p);
    }
    if let Some(i) = p.procedures.iter().position(|x| x.name.name == name) {
        p.procedures = vec![p.procedures.swap_remove(i)];
        p.phases.clear();
        p.monitors.clear();
        p.stories.clear();
        p.incident_levels.clear();
        return Ok(p);
    }
    if let Some(i) = p.monitors.iter().position(|x| x.name.name == name) {
        p.monitors = vec![p.monitors.swap_remove(i)];
        p.phases.clear();
        p.stories.clear();
        return Ok(p);
    }
    Err(not_found(
        &p,
        name,
        "to draw (a phase, procedure or monitor)",
    ))
}

/// `p` cut down to run only the definition named `name`: a phase (without the phases
/// before it), or a procedure, heal or maintenance job (called from a phase of its own).
pub(super) fn for_run(mut p: Program, name: &str) -> Result<Program, FocusError> {
    if let Some(w) = p.workflow.as_mut() {
        w.start = None;
    }
    if let Some(i) = p.phases.iter().position(|x| x.name.name == name) {
        let mut phase = p.phases.swap_remove(i);
        phase.after.clear();
        keep_artifacts(&mut p);
        p.phases = vec![phase];
        return Ok(p);
    }
    keep_artifacts(&mut p);
    let Some(pr) = p.procedures.iter().find(|x| x.name.name == name) else {
        return Err(not_found(&p, name, "to run (a phase or procedure)"));
    };
    let kind = match pr.kind {
        ProcKind::Procedure | ProcKind::Maintenance => CallKind::Call,
        ProcKind::Heal => CallKind::Heal,
        other => {
            return Err(FocusError::NotRunnable {
                name: name.to_string(),
                kind: other.keyword(),
            });
        }
    };
    let span = pr.span;
    let step = Step {
        span,
        kind: StepKind::Call {
            target: pr.name.clone(),
            kind,
        },
    };
    p.phases = vec![crate::model::Phase {
        name: Name {
            name: name.into(),
            span,
        },
        after: Vec::new(),
        max: None,
        body: vec![step],
        span,
    }];
    Ok(p)
}

/// The artifacts the phases produce, declared on their own: a phase run alone reads
/// what the others wrote in an earlier run (and fails clearly when it is not there).
fn keep_artifacts(p: &mut Program) {
    let mut declared: Vec<crate::model::ArtifactDecl> = Vec::new();
    for phase in &p.phases {
        crate::model::step::walk(&phase.body, &mut |s| {
            let StepKind::Task(t) = &s.kind else { return };
            for produced in &t.produces {
                if let (Some(name), Some(path)) = (&produced.name, &produced.path)
                    && !declared.iter().any(|d| d.name.name == name.name)
                {
                    declared.push(crate::model::ArtifactDecl {
                        name: name.clone(),
                        path: path.clone(),
                        provided: true,
                        span: produced.span,
                    });
                }
            }
        });
    }
    declared.retain(|d| !p.artifacts.iter().any(|a| a.name.name == d.name.name));
    p.artifacts.extend(declared);
}

fn not_found(p: &Program, name: &str, what: &'static str) -> FocusError {
    let names = defined(p);
    let did_you_mean = crate::diagnostic::did_you_mean(name, names.iter().map(|(_, n)| n.as_str()));
    FocusError::NotFound {
        name: name.to_string(),
        what,
        did_you_mean,
    }
}
