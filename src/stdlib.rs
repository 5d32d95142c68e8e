//! The standard library: .bmad modules embedded in the binary, imported as `std.NAME`.

/// Every stdlib module: its import name and its text.
pub const MODULES: &[(&str, &str)] = &[
    ("std.roles", include_str!("../stdlib/roles.bmad")),
    ("std.agents", include_str!("../stdlib/agents.bmad")),
];

/// The text of a stdlib module.
pub fn module(name: &str) -> Option<&'static str> {
    MODULES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// The display name of a module in diagnostics: `std.roles` is `std/roles.bmad`.
pub fn display_name(name: &str) -> String {
    format!("{}.bmad", name.replace('.', "/"))
}
