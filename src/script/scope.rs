//! The variables every script may use: the run state the runtime fills in. Scripts are
//! compiled against this scope with strict variables, so any other name is an error at
//! check time.

use rhai::{Dynamic, Map, Scope};

/// Variables and what they hold, for documentation and compile-time checks.
pub(super) const VARIABLES: &[(&str, &str)] = &[
    ("approved", "bool: the last QA validation passed"),
    ("passed", "bool: the last check or step passed"),
    (
        "attempt",
        "int: the current attempt of a loop or retry, from 1",
    ),
    (
        "story",
        "map: the current story (id, type, epic, title, status, attempts)",
    ),
    ("outputs", "map: outputs of finished steps, by step name"),
    (
        "qa_feedback",
        "string: QA's feedback on the last validation",
    ),
    (
        "system",
        "map: system state for emergencies (status: partial_outage, full_outage, ...)",
    ),
    (
        "incident",
        "map: the current incident (level, started_ms, ...)",
    ),
    (
        "task",
        "map: the task a script agent runs (agent, name, tasks, prompt, story, attempt)",
    ),
];

/// A scope with every standard variable at its empty value, as constants: a script reads
/// the run state but cannot change it.
pub fn standard_scope() -> Scope<'static> {
    scope_with(std::iter::empty())
}

/// A standard scope with some variables given values (the others empty), as constants.
pub fn scope_with<'a>(values: impl IntoIterator<Item = (&'a str, Dynamic)>) -> Scope<'static> {
    let mut given: Vec<(&str, Dynamic)> = values.into_iter().collect();
    let mut scope = Scope::new();
    for (name, _) in VARIABLES {
        let value = match given.iter().position(|(n, _)| n == name) {
            Some(i) => given.swap_remove(i).1,
            None => match *name {
                "approved" | "passed" => Dynamic::from(false),
                "attempt" => Dynamic::from(0_i64),
                "qa_feedback" => Dynamic::from(String::new()),
                _ => Dynamic::from(Map::new()),
            },
        };
        scope.push_constant_dynamic(*name, value);
    }
    scope
}

/// The scope scripts are compiled against: the same names as plain variables. Compiling
/// against constants would let rhai's optimiser fold their empty values into the script.
pub(super) fn compile_scope() -> Scope<'static> {
    let mut scope = Scope::new();
    for (name, _) in VARIABLES {
        scope.push_dynamic(*name, Dynamic::UNIT);
    }
    scope
}
