//! The checker's name resolution as data for tools: every definition and every use of a
//! name with the definition it resolves to (the language server's go to definition, find
//! references, rename, hover and semantic tokens).

// Definitions are numbered in u32, as in `defs` and `names`.
#![allow(clippy::cast_possible_truncation)]

use super::defs::Defs;
use super::names::Resolution;
use super::refs::{After, AfterTo, Ns};
use crate::source::Span;
use compact_str::CompactString;

/// One definition of a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// What it is: `agent`, `phase`, `story`, `artifact`, `check`, `heal`, `procedure`,
    /// `level`, ... (a procedure by the keyword it was written with).
    pub kind: &'static str,
    /// Its name as written.
    pub name: CompactString,
    /// Where the name is written.
    pub span: Span,
}

/// One use of a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Use {
    /// Where the name is written.
    pub span: Span,
    /// What the place wants (`agent`, `phase`, ...).
    pub kind: &'static str,
    /// The definition it resolves to: a position in [`Index::symbols`]; `None` for a name
    /// that is not defined, an agent group or an agent variable.
    pub symbol: Option<u32>,
}

/// Every definition and use of a program's names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Index {
    /// The definitions, in definition order.
    pub symbols: Vec<Symbol>,
    /// The uses, in the checker's order.
    pub uses: Vec<Use>,
}

impl Index {
    /// The symbol defined or used at byte `offset` of file `file`: its position in
    /// [`Index::symbols`].
    pub fn symbol_at(&self, file: crate::source::FileId, offset: u32) -> Option<u32> {
        let inside = |s: Span| s.file == file && s.start <= offset && offset <= s.end;
        self.symbols
            .iter()
            .position(|s| inside(s.span))
            .map(|i| i as u32)
            .or_else(|| {
                self.uses
                    .iter()
                    .find(|u| inside(u.span))
                    .and_then(|u| u.symbol)
            })
    }

    /// Where symbol `i` is used.
    pub fn uses_of(&self, i: u32) -> impl Iterator<Item = Span> + '_ {
        self.uses
            .iter()
            .filter(move |u| u.symbol == Some(i))
            .map(|u| u.span)
    }
}

/// What a definition in `ns` of procedure kind `kind` is called.
fn kind_of(ns: Ns, kind: Option<crate::ir::ProcKind>) -> &'static str {
    match (ns, kind) {
        (_, Some(k)) => k.keyword(),
        (Ns::Level, None) => "level",
        (Ns::Procedure(_), None) => "procedure",
        (other, None) => other.noun(),
    }
}

/// The index of a checked program, from its definitions, the resolution of its
/// references and its stories' `after`s resolved while they were collected.
pub(super) fn build(defs: &Defs, names: &Resolution, afters: &[After]) -> Index {
    let symbols = defs
        .entries()
        .iter()
        .map(|e| Symbol {
            kind: kind_of(e.ns, e.def.kind),
            name: e.name.name.clone(),
            span: e.name.span,
        })
        .collect();
    let mut uses: Vec<Use> = names
        .uses()
        .zip(names.targets())
        .map(|((r, _), t)| Use {
            span: r.name.span,
            kind: kind_of(r.ns, None),
            symbol: *t,
        })
        .collect();
    uses.extend(afters.iter().filter_map(|a| match a.to {
        AfterTo::Entry(e) => Some(Use {
            span: a.at,
            kind: "story",
            symbol: Some(e),
        }),
        AfterTo::Ref(_) => None,
    }));
    Index { symbols, uses }
}
