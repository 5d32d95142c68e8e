//! The words with a fixed meaning in the language: sync points, strategies, handoff steps,
//! maintenance types, test types, limits, metrics and settings, with the units each takes.
//! The checker refuses other words ([`crate::check`]); the runtime acts on these.

use crate::model::literal::Kind;

/// Sync points a `sync { at ... }` may name.
pub const SYNC_POINTS: &[&str] = &[
    "agent_handoff",
    "phase_completion",
    "error_occurrence",
    "manual_trigger",
];
/// Sync strategies.
pub const SYNC_STRATEGIES: &[&str] = &["eventual_consistency", "immediate_consistency"];
/// Conflict resolution strategies.
pub const CONFLICT_STRATEGIES: &[&str] = &["last_write_wins"];
/// Who is told of a conflict.
pub const CONFLICT_NOTIFY: &[&str] = &["affected_agents", "all_agents", "none"];
/// Steps before a handoff.
pub const PRE_HANDOFF: &[&str] = &["save_state", "create_summary", "update_context"];
/// Steps after a handoff.
pub const POST_HANDOFF: &[&str] = &["verify_receipt", "confirm_understanding", "start_tracking"];
/// Maintenance types.
pub const MAINTENANCE_TYPES: &[&str] = &["updates", "cleanup", "backup"];
/// Overlap policies of a scheduled job.
pub const OVERLAP: &[&str] = &["skip", "queue"];
/// QA test types.
pub const TEST_TYPES: &[&str] = &["unit", "integration", "e2e", "performance", "security"];

/// What an exec agent's standard output can be (`output`): plain text, or the JSON of a
/// coding-agent CLI.
pub const OUTPUT_FORMATS: &[&str] = &["text", "claude", "codex", "gemini"];

/// The tools an agent can be given that bmad turns into a coding CLI's flags (`{tools}`);
/// other names stay free words for the agent's prompt.
pub const CLI_TOOLS: &[&str] = &["read", "write", "shell"];
/// What a for-each can iterate.
pub const FOR_EACH_SOURCES: &[&str] = &["stories"];

/// The run's events `notifications { on ... }` can name: the run finished (succeeded), it
/// failed, a story was blocked, the run paused, it waits for a person, its budget is 80%
/// or all spent.
pub const NOTIFY_EVENTS: &[&str] = &[
    "finished", "failed", "blocked", "paused", "waiting", "budget", "incident",
];

/// The severity words a log pattern may give without an incident level of that name
/// (`low` and `medium` make a warning, the others critical).
pub const SEVERITIES: &[&str] = &["low", "medium", "high", "critical"];

/// Per-agent limits and the units they take.
pub const PER_AGENT_LIMITS: &[(&str, &[Kind])] = &[
    ("cpu", &[Kind::Cores, Kind::Count]),
    ("memory", &[Kind::Size]),
    ("disk", &[Kind::Size]),
    ("cpu_time", &[Kind::Duration]),
];

/// Global limits and the units they take.
pub const GLOBAL_LIMITS: &[(&str, &[Kind])] = &[
    ("max_concurrent_agents", &[Kind::Count]),
    ("max_memory", &[Kind::Size]),
    ("max_api_calls", &[Kind::Rate]),
    ("max_cpu", &[Kind::Cores, Kind::Count]),
];

/// Settings and the units they take (`None`: a string or names).
pub const SETTINGS: &[(&str, Option<&[Kind]>)] = &[
    ("workspace", None),
    ("hosts", None),
    ("agents", None),
    ("git_remote", None),
    ("agent_timeout", Some(&[Kind::Duration])),
    ("script_timeout", Some(&[Kind::Duration])),
    ("script_max_operations", Some(&[Kind::Count])),
    ("script_max_call_depth", Some(&[Kind::Count])),
    ("script_max_string", Some(&[Kind::Size])),
    ("script_max_array", Some(&[Kind::Count])),
    ("script_max_memory", Some(&[Kind::Size])),
    ("seed", Some(&[Kind::Count])),
    ("transient_retries", Some(&[Kind::Count])),
    ("transient_backoff", Some(&[Kind::Duration])),
    ("resolution_window", Some(&[Kind::Duration])),
];

/// Known metrics and their units, for monitor thresholds and KPI targets.
pub const METRICS: &[(&str, &[Kind])] = &[
    ("response_time", &[Kind::Duration]),
    ("latency", &[Kind::Duration]),
    ("incident_resolution_time", &[Kind::Duration]),
    ("mean_time_to_recovery", &[Kind::Duration]),
    ("build_time", &[Kind::Duration]),
    ("memory_usage", &[Kind::Percent, Kind::Size]),
    ("cpu_usage", &[Kind::Percent]),
    ("disk_usage", &[Kind::Percent, Kind::Size]),
    ("connection_pool", &[Kind::Percent]),
    ("pool_usage", &[Kind::Percent]),
    ("error_rate", &[Kind::Percent]),
    ("defect_escape_rate", &[Kind::Percent]),
    ("availability", &[Kind::Percent]),
    ("test_coverage", &[Kind::Percent]),
    ("stories_completed_per_sprint", &[Kind::Count]),
    ("deploys_per_day", &[Kind::Count]),
    ("tasks_completed_per_hour", &[Kind::Count]),
    ("open_incidents", &[Kind::Count]),
    ("request_rate", &[Kind::Rate]),
];

/// The units of a known metric.
pub fn metric_kinds(name: &str) -> Option<&'static [Kind]> {
    METRICS.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
}
