//! Static analysis of a program: one file per family of lints, each diagnostic with a
//! stable code. The checker never runs anything.

mod artifacts;
mod budget;
mod cycles;
mod defs;
mod index;
mod limits;
mod names;
mod paths;
mod reach;
mod refs;
mod remote;
mod scc;
mod shape;
mod steps;
mod units;
mod unused;
mod verdicts;
pub mod vocab;

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::Program;
use crate::model::literal::check_cron;

pub use index::{Index, Symbol, Use};

/// Every finding of the checker on `p`, in a stable order.
pub fn check(p: &Program) -> Vec<Diagnostic> {
    run(p, false).0
}

/// Every finding of the checker on `p` and the index of its names (what tools such as
/// the language server follow).
pub fn check_indexed(p: &Program) -> (Vec<Diagnostic>, Index) {
    let (diags, index) = run(p, true);
    (diags, index.unwrap_or_default())
}

fn run(p: &Program, with_index: bool) -> (Vec<Diagnostic>, Option<Index>) {
    let mut diags = Vec::new();
    // The lints that look at one step at a time share one walk over every step.
    let mut produced = defs::Produced::default();
    let mut refs = refs::Collector::new(p);
    let mut vars = names::AgentVars::default();
    let mut producers = artifacts::Producers::default();
    let mut shape_steps = shape::Steps::new(p);
    let mut scripts = crate::script::InSteps::default();
    steps::walk_all(
        p,
        &mut [
            &mut produced,
            &mut refs,
            &mut vars,
            &mut names::Modes::new(p),
            &mut vocab::Steps,
            &mut units::Steps,
            &mut shape_steps,
            &mut limits::Blocks::new(p),
            &mut producers,
            &mut reach::Loops,
            &mut verdicts::Verdicts::new(p),
            &mut scripts,
        ],
        &mut diags,
    );
    let mut defs = defs::collect(p, &produced, &mut diags);
    // Stories are the most numerous items: their definitions, references and types are
    // taken in one pass over them.
    for (i, s) in p.stories.iter().enumerate() {
        defs.story(i, s, p, &mut diags);
        refs.story(i, s, &defs);
        shape_steps.story(s, &mut diags);
    }
    let (refs, afters) = refs.finish();
    let names = names::check(&defs, &refs, &vars, &mut diags);
    let index = with_index.then(|| index::build(&defs, &names, &afters));
    vocab::check(p, &mut diags);
    units::check(p, &mut diags);
    crons(p, &mut diags);
    shape::check(p, &shape_steps, &mut diags);
    cycles::check(p, &names, &afters, &mut diags);
    limits::check(p, &mut diags);
    budget::check(p, &mut diags);
    // The phases' order and reach, from their `after` edges resolved once.
    let (order, reached) = p.phase_order_and_reach();
    artifacts::check(p, &order, &defs, producers, &mut diags);
    paths::check(p, &mut diags);
    reach::check(p, &reached, &names, &mut diags);
    verdicts::top_level(p, &mut diags);
    unused::check(p, &defs, &mut diags);
    diags.extend(crate::script::check_scripts(p, scripts));
    (diags, index)
}

fn crons(p: &Program, diags: &mut Vec<Diagnostic>) {
    for pr in &p.procedures {
        if let Some(s) = &pr.schedule
            && let Err(e) = check_cron(&s.cron.value)
        {
            diags.push(
                Diagnostic::error(Code::InvalidLiteral, e.message)
                    .at(s.cron.span, "not a valid cron expression")
                    .help(e.help),
            );
        }
    }
}
