//! The standard library: .bmad modules embedded in the binary, imported as `std.NAME`.

/// Every stdlib module: its import name and its text.
pub const MODULES: &[(&str, &str)] = &[
    ("std.roles", include_str!("../stdlib/roles.bmad")),
    ("std.agents", include_str!("../stdlib/agents.bmad")),
    ("std.prices", include_str!("../stdlib/prices.bmad")),
];

/// The text of a stdlib module.
pub fn module(name: &str) -> Option<&'static str> {
    MODULES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// The display name of a module in diagnostics: `std.roles` is `std/roles.bmad`.
pub fn display_name(name: &str) -> String {
    format!("{}.bmad", name.replace('.', "/"))
}

/// Templates `bmad init` starts a workflow from: name, file written, text, and what it is.
pub const TEMPLATES: &[(&str, &str, &str, &str)] = &[
    (
        "product",
        "workflow.bmad",
        include_str!("../stdlib/templates/product.bmad"),
        "an idea to reviewed stories: PRD, parallel design, dev/QA loops",
    ),
    (
        "operations",
        "operations.bmad",
        include_str!("../stdlib/templates/operations.bmad"),
        "a health check, a self-healing procedure and incident response",
    ),
];
