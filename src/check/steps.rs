//! One walk over every step of a program for the lints that look at one step at a time.
//!
//! A large workflow's steps do not fit in the processor's cache: each walk over them reads
//! them from memory again, and a dozen walks cost more than the lints themselves
//! (BENCHMARKS.md, "Parse + lower + check"). So these lints share one walk.

use crate::diagnostic::Diagnostic;
pub(super) use crate::ir::Body;
use crate::ir::Program;
use crate::model::step::{Step, walk};

/// A lint that looks at one step at a time.
pub(super) trait StepLint<'a> {
    /// Whether it looks at the steps of `body` (by default, every body).
    fn wants(&self, _body: Body) -> bool {
        true
    }

    /// Called before the steps of a body it wants.
    fn enter(&mut self, _body: Body) {}

    /// Called on each step of the body, parents before children.
    fn step(&mut self, s: &'a Step, diags: &mut Vec<Diagnostic>);

    /// Called after the steps of a body it wants.
    fn leave(&mut self, _body: Body, _diags: &mut Vec<Diagnostic>) {}
}

/// Walks every body of `p` once, handing each step to each lint that wants its body, in
/// the order of `lints`.
pub(super) fn walk_all<'a>(
    p: &'a Program,
    lints: &mut [&mut dyn StepLint<'a>],
    diags: &mut Vec<Diagnostic>,
) {
    let mut active: Vec<usize> = Vec::with_capacity(lints.len());
    for (body, steps) in p.bodies_of() {
        active.clear();
        active.extend((0..lints.len()).filter(|&i| lints[i].wants(body)));
        for &i in &active {
            lints[i].enter(body);
        }
        walk(steps, &mut |s| {
            for &i in &active {
                lints[i].step(s, diags);
            }
        });
        for &i in &active {
            lints[i].leave(body, diags);
        }
    }
}

/// The scripts and probe hosts of steps, gathered for compiling the scripts afterwards.
impl<'a> StepLint<'a> for crate::script::InSteps {
    fn step(&mut self, s: &'a Step, _diags: &mut Vec<Diagnostic>) {
        crate::script::InSteps::step(self, s);
    }
}
