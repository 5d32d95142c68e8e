//! The pest parser generated from grammar/bmad.pest.

// pest_derive generates the `Rule` enum, its `EOI` variant and `Rule::all_rules` without
// docs: the comments in grammar/bmad.pest and GRAMMAR.md describe the rules.
#![allow(missing_docs)]

/// The generated parser; [`Rule`] names every grammar rule.
#[derive(pest_derive::Parser)]
#[grammar = "../grammar/bmad.pest"]
pub struct BmadParser;
