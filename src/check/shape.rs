//! The shape of constructs: parts they cannot work without, counts that must be whole and
//! at least one, options that apply only to some probes, story types with no agent.

// Definitions, entries and phases are numbered in u32: there are fewer of them than
// bytes in the workflow, whose files are at most 64 MiB each (load::MAX_FILE_BYTES).
#![allow(clippy::cast_possible_truncation)]

use super::names::article;
use super::steps::{Body, StepLint};
use crate::diagnostic::{Code, Diagnostic, did_you_mean};
use crate::ir::{ProcKind, Program};
use crate::model::literal::Value;
use crate::model::step::{Count, Step, StepKind, Text, walk};
use crate::model::{HealthProbe, SettingValue, Story};
use crate::source::Span;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

/// Reports missing parts and values that make no sense where they are, outside steps
/// ([`Steps`] looks at those, and found the heals without a fix).
pub(super) fn check(p: &Program, steps: &Steps, diags: &mut Vec<Diagnostic>) {
    required(p, &steps.fixless, diags);
    counts(p, diags);
    probes(p, diags);
    settings(p, diags);
}

/// The shape of steps in every body: counts of at least one, HTTP statuses only on HTTP
/// probes, an agent for each story type, a `fix` in each heal (a lint of the shared walk,
/// [`super::steps`]).
pub(super) struct Steps<'a> {
    p: &'a Program,
    /// The spans of procedures' `attempts`: a heal's is also the maximum of its lowered
    /// retry, reported once.
    attempts: HashSet<Span>,
    /// The heal being walked, and whether a fix was seen in it.
    heal: Option<(u32, bool)>,
    /// The heals without a fix, by position (reported with the other missing parts).
    fixless: Vec<u32>,
    /// `assign`s by story type in for-eaches, for [`Steps::story`].
    typed: Vec<&'a Step>,
}

impl<'a> Steps<'a> {
    /// The lint for `p`.
    pub(super) fn new(p: &'a Program) -> Steps<'a> {
        let attempts = (p.procedures.iter())
            .filter_map(|x| x.attempts.map(|a| a.span))
            .collect();
        Steps {
            p,
            attempts,
            heal: None,
            fixless: Vec::new(),
            typed: Vec::new(),
        }
    }

    /// Every inline story must have an agent in each `assign` by story type of a
    /// for-each: called on each story after the walk.
    pub(super) fn story(&self, s: &Story, diags: &mut Vec<Diagnostic>) {
        if !self.typed.is_empty() {
            story_type(s, &self.typed, diags);
        }
    }
}

impl<'a> StepLint<'a> for Steps<'a> {
    fn enter(&mut self, body: Body) {
        self.heal = match body {
            Body::Procedure(i) => {
                (self.p.procedures[i as usize].kind == ProcKind::Heal).then_some((i, false))
            }
            _ => None,
        };
    }

    fn step(&mut self, s: &'a Step, diags: &mut Vec<Diagnostic>) {
        match &s.kind {
            StepKind::Retry { max: Some(m), .. } if self.attempts.contains(&m.span) => {}
            StepKind::Parallel { max: Some(m), .. }
            | StepKind::ForEach { max: Some(m), .. }
            | StepKind::Repeat { max: Some(m), .. }
            | StepKind::Retry { max: Some(m), .. } => at_least_one(m, "`max`", diags),
            StepKind::Probe(pr) => {
                let (method, http) = (pr.method.word(), pr.method.http().is_some());
                probe_expect(method, http, "probe", pr.expect.as_ref(), diags);
                probe_ca_file(method, http, "probe", pr.ca_file.as_ref(), diags);
            }
            StepKind::Group { label, .. } => {
                if let Some((_, found)) = &mut self.heal {
                    *found |= label.starts_with("fix ");
                }
            }
            _ => {}
        }
        if let StepKind::ForEach { body, .. } = &s.kind {
            typed_assigns(body, &mut self.typed);
        }
    }

    fn leave(&mut self, _body: Body, _diags: &mut Vec<Diagnostic>) {
        if let Some((i, false)) = self.heal.take() {
            self.fixless.push(i);
        }
    }
}

fn missing(diags: &mut Vec<Diagnostic>, span: crate::source::Span, what: String, help: &str) {
    diags.push(
        Diagnostic::error(Code::Missing, what)
            .at(span, "here")
            .help(help.to_string()),
    );
}

/// `fixless`: the positions of the heals without a fix, in order.
fn required(p: &Program, fixless: &[u32], diags: &mut Vec<Diagnostic>) {
    for (i, pr) in p.procedures.iter().enumerate() {
        match pr.kind {
            ProcKind::Maintenance if pr.schedule.is_none() => missing(
                diags,
                pr.name.span,
                format!("maintenance `{}` has no `cron` trigger", pr.name.name),
                "say when it runs: `maintenance name cron \"0 3 * * *\" { ... }`",
            ),
            ProcKind::Heal if fixless.binary_search(&(i as u32)).is_ok() => missing(
                diags,
                pr.name.span,
                format!("heal `{}` has no `fix`", pr.name.name),
                "a healing procedure tries fixes in order: add `fix name { ... }`",
            ),
            ProcKind::Incident => {
                let mut seen: HashMap<&str, crate::source::Span> = HashMap::default();
                for s in &pr.body {
                    if let StepKind::Group { label, .. } = &s.kind
                        && let Some(first) = seen.insert(label, s.span)
                    {
                        diags.push(
                            Diagnostic::error(
                                Code::Duplicate,
                                format!("incident stage `{label}` is written twice"),
                            )
                            .at(s.span, "written again here")
                            .also(first, "first written here")
                            .help("merge the two stages into one"),
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

fn at_least_one(c: &Count, what: &str, diags: &mut Vec<Diagnostic>) {
    if c.value == 0 {
        diags.push(
            Diagnostic::error(Code::InvalidLiteral, format!("{what} 0 lets nothing run"))
                .at(c.span, "must be at least 1")
                .help(format!("write {what} 1 or more")),
        );
    }
}

fn counts(p: &Program, diags: &mut Vec<Diagnostic>) {
    for ph in &p.phases {
        if let Some(m) = &ph.max {
            at_least_one(m, "`max`", diags);
        }
    }
    for pr in &p.procedures {
        if let Some(a) = &pr.attempts {
            at_least_one(a, "`attempts`", diags);
        }
    }
    let whole = ["max_concurrent_agents"];
    let entries = p.limits.iter().flat_map(|l| l.global.iter());
    for e in entries.filter(|e| whole.contains(&e.name.name.as_str())) {
        if let Some(Value::Count(n)) = e.value.value
            && (n.fract() != 0.0 || n < 1.0)
        {
            diags.push(
                Diagnostic::error(
                    Code::InvalidLiteral,
                    format!("`{}` takes a whole number of at least 1", e.name.name),
                )
                .at(e.value.span, "not a whole number of agents")
                .help("write a whole number, like 8"),
            );
        }
    }
}

/// `expect` is an HTTP status: only HTTP probes (`http`) have one, and it is 100 to 599.
/// `method` is the probe's method as written, or `sh` or `check`.
fn probe_expect(
    method: &str,
    http: bool,
    what: &str,
    expect: Option<&Count>,
    diags: &mut Vec<Diagnostic>,
) {
    let Some(e) = expect else { return };
    if !http {
        diags.push(
            Diagnostic::error(
                Code::UnknownSetting,
                format!(
                    "{} has no HTTP status to expect",
                    article(&format!("{method} {what}"))
                ),
            )
            .at(e.span, "only HTTP probes expect a status")
            .help("remove `expect`, or probe with get"),
        );
    } else if !(100..=599).contains(&e.value) {
        diags.push(
            Diagnostic::error(
                Code::InvalidLiteral,
                format!("{} is not an HTTP status", e.value),
            )
            .at(e.span, "not a status")
            .help("an HTTP status is between 100 and 599, like 200"),
        );
    }
}

/// `ca_file` trusts a private CA for an `https` URL: only HTTP probes have one.
fn probe_ca_file(
    method: &str,
    http: bool,
    what: &str,
    ca_file: Option<&Text>,
    diags: &mut Vec<Diagnostic>,
) {
    if let Some(ca) = ca_file
        && !http
    {
        diags.push(
            Diagnostic::error(
                Code::UnknownSetting,
                format!(
                    "{} has no certificate to trust",
                    article(&format!("{method} {what}"))
                ),
            )
            .at(ca.span, "only HTTP probes take a `ca_file`")
            .help("remove `ca_file`, or probe an https:// URL with get"),
        );
    }
}

/// A health check's `expect` and `ca_file` (probes in steps are [`Steps`]'s).
fn probes(p: &Program, diags: &mut Vec<Diagnostic>) {
    for m in &p.monitors {
        for h in &m.health {
            let (method, http) = match &h.probe {
                HealthProbe::Probe(pr) => (pr.method.word(), pr.method.http().is_some()),
                HealthProbe::Sh { .. } => ("sh", false),
                HealthProbe::Check { .. } => ("check", false),
            };
            probe_expect(method, http, "health check", h.expect.as_ref(), diags);
            probe_ca_file(method, http, "health check", h.ca_file.as_ref(), diags);
        }
    }
}

/// Settings whose value is text must not get a number, and the other way round; script
/// limits are at least 1 (rhai reads 0 as "no limit") and the call depth is bounded.
fn settings(p: &Program, diags: &mut Vec<Diagnostic>) {
    use crate::script::limits::MAX_CALL_DEPTH;
    for s in &p.settings {
        let SettingValue::Quantity(q) = &s.value else {
            continue;
        };
        let Some(v) = q.value else { continue };
        let name = s.name.name.as_str();
        if !name.starts_with("script_") {
            continue;
        }
        if v.as_f64() < 1.0 {
            diags.push(
                Diagnostic::error(
                    Code::InvalidLiteral,
                    format!("setting `{name}` must be at least 1"),
                )
                .at(q.span, "0 would mean no limit at all")
                .help("a script limit keeps every evaluation bounded: give it a positive value"),
            );
        } else if name == "script_max_call_depth" && v.as_f64() > MAX_CALL_DEPTH as f64 {
            diags.push(
                Diagnostic::error(
                    Code::InvalidLiteral,
                    format!("setting `{name}` is at most {MAX_CALL_DEPTH}"),
                )
                .at(q.span, "deeper calls could overflow the native stack")
                .help(format!("write {MAX_CALL_DEPTH} or less")),
            );
        }
    }
    for s in &p.settings {
        let wants_text = matches!(
            s.name.name.as_str(),
            "workspace" | "hosts" | "agents" | "git_remote"
        );
        let ok = match &s.value {
            SettingValue::Quantity(_) => !wants_text,
            SettingValue::Text(_) => wants_text,
            SettingValue::Names(n) => {
                s.name.name == "hosts" || (s.name.name == "agents" && n.len() == 1)
            }
        };
        if !ok
            && crate::ir::vocab::SETTINGS
                .iter()
                .any(|(n, _)| *n == s.name.name)
        {
            let want = if wants_text {
                "a string"
            } else {
                "a number or quantity"
            };
            diags.push(
                Diagnostic::error(
                    Code::UnitMismatch,
                    format!("setting `{}` takes {want}", s.name.name),
                )
                .at(s.name.span, format!("needs {want}"))
                .help(format!(
                    "see GRAMMAR.md, settings: `{}` takes {want}",
                    s.name.name
                )),
            );
        }
        if s.name.name == "workspace"
            && let SettingValue::Text(t) = &s.value
        {
            workspace_setting(t, diags);
        }
        if s.name.name == "git_remote"
            && let SettingValue::Text(t) = &s.value
        {
            super::remote::git_remote(t, diags);
        }
    }
}

/// The `workspace` setting names a directory from the workflow file's: not an empty one
/// (leave the setting out), not one from `~` (no shell expands it).
fn workspace_setting(t: &crate::model::step::Text, diags: &mut Vec<Diagnostic>) {
    let v = t.value.as_str();
    let wrong = if v.trim().is_empty() {
        Some((
            "the workspace is empty",
            "leave the setting out to work in the current directory, or write \".\" for the workflow file's",
        ))
    } else if v.starts_with('~') {
        Some((
            "`~` is not expanded in the workspace",
            "write the directory from the workflow file's (\"../target/demo\") or in full",
        ))
    } else {
        None
    };
    if let Some((message, help)) = wrong {
        diags.push(
            Diagnostic::error(Code::InvalidLiteral, message)
                .at(t.span, "not a directory bmad can use")
                .help(help),
        );
    }
}

/// The `assign ... by story.type` steps of a for-each (whose body is `body`) that have no
/// `_` arm: each inline story must find its type among their arms. An assign in a
/// for-each nested in another is found from both and kept once.
fn typed_assigns<'a>(body: &'a [Step], out: &mut Vec<&'a Step>) {
    walk(body, &mut |x| {
        if let StepKind::Assign { arms, by, .. } = &x.kind
            && by.name.ends_with(".type")
            && !arms.iter().any(|a| a.story_type.name == "_")
            && !out.iter().any(|seen| std::ptr::eq(*seen, x))
        {
            out.push(x);
        }
    });
}

/// Reports `story` when one of `assigns` has no arm for its type.
fn story_type(story: &Story, assigns: &[&Step], diags: &mut Vec<Diagnostic>) {
    let t = story.story_type.name.as_str();
    if t.is_empty() {
        return;
    }
    for step in assigns {
        let StepKind::Assign { arms, .. } = &step.kind else {
            continue;
        };
        if arms.iter().any(|a| a.story_type.name == t) {
            continue;
        }
        let types = arms.iter().map(|a| a.story_type.name.as_str());
        let help = did_you_mean(t, types).unwrap_or_else(|| {
            format!("add `{t} => agent` to the assign, or `_ => agent` for every other type")
        });
        diags.push(
            Diagnostic::error(
                Code::Undefined,
                format!(
                    "no agent is assigned to {t} stories like `{}`",
                    story.id.name
                ),
            )
            .at(story.story_type.span, format!("type `{t}`"))
            .also(step.span, "this assign has no arm for it")
            .help(help),
        );
    }
}

#[cfg(test)]
mod tests {
    /// A story type missing from an assign is reported once, also when the assign sits in
    /// a for-each inside another (both for-eaches find it).
    #[test]
    fn a_nested_assign_reports_a_story_once() {
        let src = "import std.roles\nstory \"1\" infra {\n  title \"t\"\n}\nphase p {\n  for story in stories {\n    for story in stories {\n      assign d by story.type {\n        backend => backend_dev\n      }\n      d: implement\n    }\n  }\n}\n";
        let found: Vec<String> = crate::check_text("t.bmad", src)
            .diagnostics
            .into_iter()
            .map(|d| d.message)
            .collect();
        assert_eq!(found, ["no agent is assigned to infra stories like `1`"]);
    }

    /// A heal without a fix is found in the shared walk but reported with the other
    /// missing parts, after the duplicate of the same name at the same place.
    #[test]
    fn a_fixless_heal_is_reported_after_its_duplicate() {
        let heal = "heal restart {\n  agent self_healer\n}\n";
        let src = format!("import std.roles\n{heal}{heal}");
        let found: Vec<(usize, String)> = crate::check_text("t.bmad", &src)
            .diagnostics
            .iter()
            .map(|d| {
                let at = d.primary.as_ref().map_or(0, |l| l.span.start as usize);
                (at, d.code.as_str().to_string())
            })
            .collect();
        let second = src.rfind("restart").unwrap();
        assert!(
            found.ends_with(&[
                (second, "bmad::duplicate".to_string()),
                (second, "bmad::missing".to_string()),
            ]),
            "{found:?}"
        );
    }
}
