//! The IR: one normalised program for a workflow and everything it imports. Every
//! procedural construct (phase, heal, maintenance, emergency, incident response) is a
//! step graph; configuration stays declarative. Serialisable, spans kept.

pub mod heal;
pub mod lower;
mod phases;
pub mod prices;
pub mod vocab;

use crate::model::step::{Count, Name, Step, Text};
use crate::source::Span;
use serde::Serialize;

pub use lower::lower;

/// What kind of construct a procedure was written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcKind {
    /// `procedure`.
    Procedure,
    /// `heal`: a self-healing procedure.
    Heal,
    /// `maintenance`: a scheduled job.
    Maintenance,
    /// `emergency`: an emergency protocol.
    Emergency,
    /// The incident response workflow of `incidents`.
    Incident,
}

impl ProcKind {
    /// The keyword it was written with.
    pub fn keyword(self) -> &'static str {
        match self {
            ProcKind::Procedure => "procedure",
            ProcKind::Heal => "heal",
            ProcKind::Maintenance => "maintenance",
            ProcKind::Emergency => "emergency",
            ProcKind::Incident => "incidents",
        }
    }
}

/// When a maintenance job runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Schedule {
    /// The cron expression.
    pub cron: Text,
    /// `skip` or `queue` a run while the previous one is still going.
    pub overlap: Option<Name>,
    /// updates, cleanup or backup.
    pub kind: Option<Name>,
}

/// A named step graph.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Procedure {
    /// Its name.
    pub name: Name,
    /// What it was written as.
    pub kind: ProcKind,
    /// The agent responsible.
    pub agent: Option<Name>,
    /// Rounds of fixes at most (heal).
    pub attempts: Option<Count>,
    /// When it runs by itself (maintenance).
    pub schedule: Option<Schedule>,
    /// The response team (emergency).
    pub team: Vec<Name>,
    /// What it does.
    pub body: Vec<Step>,
    /// A heal's plan, beside its body (the same plan as a step graph): the operations
    /// runtime runs it to record each diagnosis, fix and verification on its own, and the
    /// graph draws it.
    #[serde(skip)]
    pub heal: Option<Box<heal::HealPlan>>,
    /// The whole definition.
    pub span: Span,
}

/// A list of steps of a program, by what holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// The body of phase `i`.
    Phase(u32),
    /// The body of procedure `i` (heals, maintenance, emergencies, incidents included).
    Procedure(u32),
    /// The steps of check `i`.
    Check(u32),
}

/// A workflow and everything it imports, normalised.
#[derive(Debug, Default, Serialize)]
pub struct Program {
    /// Source files, indexed by the `file` of every span.
    pub files: Vec<String>,
    /// The entry.
    pub workflow: Option<crate::model::Workflow>,
    /// Agents.
    pub agents: Vec<crate::model::Agent>,
    /// Declared artifacts.
    pub artifacts: Vec<crate::model::ArtifactDecl>,
    /// Phases, in declaration order.
    pub phases: Vec<crate::model::Phase>,
    /// Epics.
    pub epics: Vec<crate::model::Epic>,
    /// Inline stories, each in the box the parser built it in: a workflow can hold a
    /// hundred thousand, and lowering moves the pointers instead of copying the stories.
    pub stories: Vec<Box<crate::model::Story>>,
    /// Story files loaded at run time.
    pub story_sources: Vec<crate::model::StoriesFrom>,
    /// Deployment environments.
    pub environments: Vec<crate::model::Environment>,
    /// Declared environment variables.
    pub env_vars: Vec<crate::model::EnvVar>,
    /// Named checks.
    pub checks: Vec<crate::model::CheckDef>,
    /// Procedures, heals, maintenance jobs, emergencies and the incident workflow.
    pub procedures: Vec<Procedure>,
    /// Monitors.
    pub monitors: Vec<crate::model::Monitor>,
    /// Incident levels, lowest first.
    pub incident_levels: Vec<crate::model::Level>,
    /// Resource limits.
    pub limits: Option<crate::model::Limits>,
    /// What the run may spend, and the workflow's own prices.
    pub budget: Option<crate::model::budget::Budget>,
    /// Who hears of the run.
    pub notifications: Option<crate::model::Notifications>,
    /// The prices of the stdlib (`std.prices`), which the workflow's own override.
    pub default_prices: Vec<crate::model::budget::Price>,
    /// State synchronisation.
    pub sync: Option<crate::model::Sync>,
    /// The handoff protocol.
    pub handoff_protocol: Option<crate::model::HandoffProtocol>,
    /// KPIs.
    pub kpis: Vec<crate::model::Kpi>,
    /// Settings.
    pub settings: Vec<crate::model::Setting>,
    /// Imported `.rhai` modules, each as one script spanning its file.
    pub rhai_modules: Vec<crate::model::step::Script>,
    /// Where lines start in each source file, to name places at run time.
    #[serde(skip)]
    pub lines: std::sync::Arc<crate::source::LineIndex>,
    /// Files that are stdlib modules (their definitions are never "unused").
    #[serde(skip)]
    pub stdlib_files: Vec<u32>,
    /// The directory of each source file read from disk, indexed like `files` (`None` for
    /// text in memory and stdlib modules): relative paths a file names (`ca_file`) are
    /// taken from it.
    #[serde(skip)]
    pub file_dirs: Vec<Option<std::path::PathBuf>>,
}

impl Program {
    /// The agent named `name`.
    pub fn agent(&self, name: &str) -> Option<&crate::model::Agent> {
        self.agents.iter().find(|a| a.name.name == name)
    }

    /// The value of setting `name` when it is a string or a name (the first of names).
    pub fn setting_name(&self, name: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|s| s.name.name == name)
            .and_then(|s| match &s.value {
                crate::model::SettingValue::Text(t) => Some(t.value.as_str()),
                crate::model::SettingValue::Names(n) => n.first().map(|n| n.name.as_str()),
                crate::model::SettingValue::Quantity(_) => None,
            })
    }

    /// The value of setting `name` when it is a quantity.
    pub fn setting_value(&self, name: &str) -> Option<crate::model::literal::Value> {
        self.settings
            .iter()
            .find(|s| s.name.name == name)
            .and_then(|s| match &s.value {
                crate::model::SettingValue::Quantity(q) => q.value,
                _ => None,
            })
    }

    /// `file:line:column` of a span's start, for messages at run time.
    pub fn locate(&self, span: crate::source::Span) -> String {
        self.lines.locate(span)
    }

    /// The procedure named `name`.
    pub fn procedure(&self, name: &str) -> Option<&Procedure> {
        self.procedures.iter().find(|p| p.name.name == name)
    }

    /// The price of `model` (a model's name, or a CLI's output format): the workflow's
    /// own, else an imported `std.prices`, else the bundled `std.prices`; the last written
    /// wins.
    pub fn price(&self, model: &str) -> Option<&crate::model::budget::Price> {
        let own = self
            .budget
            .as_ref()
            .map_or(&[][..], |b| b.prices.as_slice());
        let named = |p: &&crate::model::budget::Price| p.model.value == model;
        own.iter()
            .rfind(named)
            .or_else(|| self.default_prices.iter().rfind(named))
            .or_else(|| prices::bundled().iter().rfind(named))
    }

    /// A global limit's value.
    pub fn global_limit(&self, name: &str) -> Option<&crate::model::step::Quantity> {
        self.limits
            .as_ref()
            .and_then(|l| l.global.iter().find(|e| e.name.name == name))
            .map(|e| &e.value)
    }

    /// Every step list of the program: phase bodies, procedure bodies, check bodies.
    pub fn bodies(&self) -> impl Iterator<Item = &[Step]> {
        self.bodies_of().map(|(_, steps)| steps)
    }

    /// Every step list of the program with what holds it, in the order of
    /// [`Program::bodies`].
    // Phases, procedures and checks are numbered in u32: fewer than the workflow's bytes.
    #[allow(clippy::cast_possible_truncation)]
    pub fn bodies_of(&self) -> impl Iterator<Item = (Body, &[Step])> {
        let phases = (self.phases.iter().enumerate())
            .map(|(i, ph)| (Body::Phase(i as u32), ph.body.as_slice()));
        let procedures = (self.procedures.iter().enumerate())
            .map(|(i, pr)| (Body::Procedure(i as u32), pr.body.as_slice()));
        let checks = (self.checks.iter().enumerate()).filter_map(|(i, c)| match &c.body {
            crate::model::CheckBody::Steps { steps } => {
                Some((Body::Check(i as u32), steps.as_slice()))
            }
            crate::model::CheckBody::Script(_) => None,
        });
        phases.chain(procedures).chain(checks)
    }

    /// Phases in an order where each comes after every phase it names in `after`
    /// (declaration order among equals); phases in a cycle come last (the checker reports
    /// the cycle).
    pub fn phase_order(&self) -> Vec<usize> {
        phases::order(&phases::After::of(self))
    }

    /// Which phases the workflow reaches: its `start` (or, with none, every phase with no
    /// `after`) and every phase that runs after a reached one.
    pub fn reachable_phases(&self) -> Vec<bool> {
        self.phase_order_and_reach().1
    }

    /// [`Program::phase_order`] and [`Program::reachable_phases`] together, the `after`
    /// edges resolved once for both.
    pub fn phase_order_and_reach(&self) -> (Vec<usize>, Vec<bool>) {
        let after = phases::After::of(self);
        let order = phases::order(&after);
        let reached = phases::reached(self, &after, &order);
        (order, reached)
    }

    /// The file path `t` names, a relative one taken from the directory of the file that
    /// declares it (from the current directory for text in memory).
    pub fn path_from_file(&self, t: &crate::model::step::Text) -> std::path::PathBuf {
        let path = std::path::Path::new(t.value.as_str());
        match self.file_dirs.get(t.span.file as usize) {
            Some(Some(dir)) if path.is_relative() => dir.join(path),
            _ => path.to_path_buf(),
        }
    }

    /// True when the span is in a stdlib module.
    pub fn in_stdlib(&self, span: Span) -> bool {
        self.stdlib_files.contains(&span.file)
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write;
    /// The order of repeated sweeps in declaration order (the definition of
    /// [`super::Program::phase_order`], quadratic), for comparison.
    fn sweeps(after: &[Vec<usize>]) -> Vec<usize> {
        let n = after.len();
        let mut done = vec![false; n];
        let mut order = Vec::new();
        loop {
            let before = order.len();
            for i in 0..n {
                if !done[i] && after[i].iter().all(|&j| done[j]) {
                    done[i] = true;
                    order.push(i);
                }
            }
            if order.len() == before {
                break;
            }
        }
        order.extend((0..n).filter(|&i| !done[i]));
        order
    }

    #[test]
    // The generator's numbers are below its small bounds.
    #[allow(clippy::cast_possible_truncation)]
    fn phase_order_is_the_order_of_repeated_sweeps() {
        // A small deterministic generator: graphs with forward and backward `after`,
        // several per phase, cycles and names that are not phases.
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        for _ in 0..400 {
            let n = 1 + next(12) as usize;
            let mut src = String::from("agent a {\n  role \"x\"\n}\n");
            let mut after = vec![Vec::new(); n];
            for (i, deps) in after.iter_mut().enumerate() {
                let mut names = Vec::new();
                for _ in 0..next(3) {
                    let j = next(n as u64 + 1) as usize;
                    if j == n {
                        names.push("ghost".to_string());
                    } else if !deps.contains(&j) {
                        deps.push(j);
                        names.push(format!("p{j}"));
                    }
                }
                let after = if names.is_empty() {
                    String::new()
                } else {
                    format!(" after {}", names.join(", "))
                };
                let _ = write!(src, "phase p{i}{after} {{\n  a: t\n}}\n");
            }
            let checked = crate::check_text("order.bmad", &src);
            assert_eq!(checked.program.phase_order(), sweeps(&after), "{src}");
        }
    }
}
