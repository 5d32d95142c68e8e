//! The sandbox's limits: safe defaults, each overridable from the workflow's settings.

use crate::ir::Program;
use crate::model::SettingValue;
use crate::model::literal::Value;
use std::time::Duration;

/// The deepest call nesting a workflow may allow: each level costs native stack on the
/// evaluating thread (tokio's blocking threads have 2 MiB).
pub const MAX_CALL_DEPTH: usize = 64;

/// Limits on every script evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Most rhai operations per evaluation (`script_max_operations`).
    pub max_operations: u64,
    /// Deepest function call nesting (`script_max_call_depth`).
    pub max_call_depth: usize,
    /// Deepest expression nesting.
    pub max_expr_depth: usize,
    /// Longest string, in bytes (`script_max_string`).
    pub max_string: usize,
    /// Most array elements (`script_max_array`).
    pub max_array: usize,
    /// Most map entries.
    pub max_map: usize,
    /// Wall-clock time per evaluation (`script_timeout`).
    pub timeout: Duration,
    /// Most bytes the values of one evaluation may take (`script_max_memory`), enforced
    /// where the counting allocator is installed (the `bmad` binary).
    pub max_memory: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_operations: 1_000_000,
            max_call_depth: 16,
            max_expr_depth: 64,
            max_string: 1024 * 1024,
            max_array: 100_000,
            max_map: 10_000,
            timeout: Duration::from_secs(1),
            max_memory: 256_000_000,
        }
    }
}

impl Limits {
    /// The defaults, overridden by the program's `settings`.
    // The numbers are at least 1 (the guards) and `as` saturates past the maximum.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    pub fn from_program(p: &Program) -> Limits {
        let mut limits = Limits::default();
        for s in &p.settings {
            let SettingValue::Quantity(q) = &s.value else {
                continue;
            };
            // rhai reads 0 as "no limit": a value below 1 keeps the default (and
            // `bmad check` reports it).
            match (s.name.name.as_str(), q.value) {
                ("script_max_operations", Some(Value::Count(n))) if n >= 1.0 => {
                    limits.max_operations = n.round() as u64;
                }
                ("script_max_call_depth", Some(Value::Count(n))) if n >= 1.0 => {
                    limits.max_call_depth = (n.round() as usize).min(MAX_CALL_DEPTH);
                }
                ("script_max_array", Some(Value::Count(n))) if n >= 1.0 => {
                    limits.max_array = n.round() as usize;
                }
                ("script_max_string", Some(Value::Size(b))) if b >= 1 => {
                    limits.max_string = usize::try_from(b).unwrap_or(usize::MAX);
                }
                ("script_max_memory", Some(Value::Size(b))) if b >= 1 => {
                    limits.max_memory = usize::try_from(b).unwrap_or(usize::MAX);
                }
                ("script_timeout", Some(Value::Duration(ms))) if ms >= 1 => {
                    limits.timeout = Duration::from_millis(ms);
                }
                _ => {}
            }
        }
        limits
    }
}
