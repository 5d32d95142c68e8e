//! The pest parser generated from grammar/bmad.pest.

/// The generated parser; [`Rule`] names every grammar rule.
#[derive(pest_derive::Parser)]
#[grammar = "../grammar/bmad.pest"]
pub struct BmadParser;
