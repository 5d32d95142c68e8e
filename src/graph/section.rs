//! The parts of a workflow's drawing, each drawn on its own page or pages, in a fixed
//! order: the phase flow, the story DAG, then the operations split by kind.

/// Which way a page's flow runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Top to bottom (Mermaid `TB`, DOT `rankdir=TB`): step after step downwards.
    TopDown,
    /// Left to right (Mermaid `LR`, DOT `rankdir=LR`): a fan of many branches (a
    /// monitor's rules) stacks downwards instead of spreading across.
    LeftRight,
}

/// The part of the workflow a node draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Section {
    /// The phases' step flows.
    #[default]
    Phases,
    /// The story DAG.
    Stories,
    /// Monitors, their rules and the actions the rules fire.
    Monitors,
    /// Self-healing procedures (`heal`).
    Heals,
    /// The incident levels and the incident response workflow.
    Incidents,
    /// Emergency protocols.
    Emergencies,
    /// Plain procedures (`procedure`).
    Procedures,
    /// Scheduled maintenance jobs.
    Maintenance,
}

impl Section {
    /// Every section, in the order the pages come.
    pub const ALL: [Section; 8] = [
        Section::Phases,
        Section::Stories,
        Section::Monitors,
        Section::Heals,
        Section::Incidents,
        Section::Emergencies,
        Section::Procedures,
        Section::Maintenance,
    ];

    /// Its name: the name of its page (`heals`), or of each of its pages with a number
    /// (`heals-2`) when it takes several.
    pub fn name(self) -> &'static str {
        match self {
            Section::Phases => "phases",
            Section::Stories => "stories",
            Section::Monitors => "monitors",
            Section::Heals => "heals",
            Section::Incidents => "incidents",
            Section::Emergencies => "emergencies",
            Section::Procedures => "procedures",
            Section::Maintenance => "maintenance",
        }
    }

    /// What its pages show, for their titles.
    pub fn description(self) -> &'static str {
        match self {
            Section::Phases => "the phase flow",
            Section::Stories => "the story DAG",
            Section::Monitors => "monitors and the actions of their rules",
            Section::Heals => "self-healing procedures",
            Section::Incidents => "incident levels and the response workflow",
            Section::Emergencies => "emergency protocols",
            Section::Procedures => "procedures",
            Section::Maintenance => "scheduled maintenance",
        }
    }

    /// Which way its pages run: a monitor fans out into many rules, drawn left to right
    /// so that they stack rather than spread across the page.
    pub fn direction(self) -> Direction {
        match self {
            Section::Monitors => Direction::LeftRight,
            _ => Direction::TopDown,
        }
    }
}
