//! Mutation-based: the bundled examples, the stdlib and the UI tests' broken files (and now
//! and then a generated workflow), with one to three mutations.

use crate::items::workflow;
use crate::{import_dir, root};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use std::path::PathBuf;
use std::sync::OnceLock;

// ---------------------------------------------------------------------------------------
// Mutations of real files.

/// The bundled examples, the stdlib and the UI tests' broken files, with the directory
/// their relative imports resolve from.
fn seeds() -> &'static [(String, PathBuf)] {
    static SEEDS: OnceLock<Vec<(String, PathBuf)>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut out = Vec::new();
        for dir in ["examples", "stdlib", "stdlib/templates", "tests/ui"] {
            let dir = root(dir);
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "bmad"))
                .collect();
            files.sort();
            for f in files {
                let bytes = std::fs::read(&f).unwrap();
                out.push((String::from_utf8_lossy(&bytes).into_owned(), dir.clone()));
            }
        }
        assert!(out.len() > 50, "{} seed files", out.len());
        out
    })
}

/// Text worth inserting: tokens of the grammar, unbalanced openers, odd characters, huge
/// numbers, deep nesting.
const INSERTS: &[&str] = &[
    "{",
    "}",
    "{ }",
    ":",
    ",",
    "=>",
    "->",
    "=",
    "\"",
    "\"\"\"",
    "`",
    "```",
    "//",
    "/*",
    "*/",
    "\n",
    "\r\n",
    "\r",
    "\t",
    " ",
    "phase",
    "agent",
    "story",
    "import",
    "on failure",
    "else",
    "if",
    "max",
    "parallel",
    "repeat",
    "until",
    "verdict",
    "produces",
    "needs",
    "dev: implement",
    "call x",
    "é",
    "🦀",
    "\u{200B}",
    "\u{FEFF}",
    "\u{0}",
    "\u{7F}",
    "\u{2028}",
    "ä",
    "99999999999999999999",
    "18446744073709551616",
    "4294967296",
    "1e309",
    "-1",
    "0.0.0",
    "30s",
    "80%",
    "1000/hour",
    "4GB",
    "2 cores",
    "`1 +`",
    "`é`",
    "```\né(\n```",
    "import \"back.bmad\"\n",
    "import std.roles\n",
    "{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{",
    "}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}",
];

#[derive(Debug, Clone)]
enum Mutation {
    /// Removes up to `len` bytes at a place.
    Delete(Index, usize),
    /// Copies up to `len` bytes from one place to another.
    Duplicate(Index, usize, Index),
    /// Moves up to `len` bytes from one place to another.
    Move(Index, usize, Index),
    Insert(Index, &'static str),
    /// Inserts a character, any.
    InsertChar(Index, char),
    Truncate(Index),
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    /// Wraps the text from a place to the end of its line in `n` braces.
    Nest(Index, usize),
    /// Every `\n` becomes `\r\n`.
    Crlf,
    /// A byte order mark in front.
    Bom,
}

/// The largest char boundary of `s` not after `at`.
fn floor(s: &str, at: usize) -> usize {
    crate::floor_boundary(s, at)
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        2 => (any::<Index>(), 1usize..64, any::<Index>()).prop_map(|(i, n, j)| Mutation::Duplicate(i, n, j)),
        2 => (any::<Index>(), 1usize..64, any::<Index>()).prop_map(|(i, n, j)| Mutation::Move(i, n, j)),
        6 => (any::<Index>(), select(INSERTS)).prop_map(|(i, s)| Mutation::Insert(i, s)),
        2 => (any::<Index>(), any::<char>()).prop_map(|(i, c)| Mutation::InsertChar(i, c)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        2 => any::<Index>().prop_map(Mutation::DeleteLine),
        2 => any::<Index>().prop_map(Mutation::DuplicateLine),
        2 => (any::<Index>(), any::<Index>()).prop_map(|(i, j)| Mutation::SwapLines(i, j)),
        1 => (any::<Index>(), 55usize..72).prop_map(|(i, n)| Mutation::Nest(i, n)),
        1 => Just(Mutation::Crlf),
        1 => Just(Mutation::Bom),
    ]
}

/// Line ranges of `s` (each with its `\n`).
fn lines(s: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for l in s.split_inclusive('\n') {
        out.push((start, start + l.len()));
        start += l.len();
    }
    out
}

fn apply(text: &mut String, m: &Mutation) {
    let len = text.len();
    let at = |i: &Index, text: &str| floor(text, i.index(len + 1));
    match m {
        Mutation::Delete(i, n) => {
            let a = at(i, text);
            let b = floor(text, a + n);
            text.replace_range(a..b, "");
        }
        Mutation::Duplicate(i, n, j) => {
            let a = at(i, text);
            let piece = text[a..floor(text, a + n)].to_string();
            let to = at(j, text);
            text.insert_str(to, &piece);
        }
        Mutation::Move(i, n, j) => {
            let a = at(i, text);
            let piece = text[a..floor(text, a + n)].to_string();
            text.replace_range(a..a + piece.len(), "");
            let to = floor(text, j.index(text.len() + 1));
            text.insert_str(to, &piece);
        }
        Mutation::Insert(i, s) => {
            let a = at(i, text);
            text.insert_str(a, s);
        }
        Mutation::InsertChar(i, c) => {
            let a = at(i, text);
            text.insert(a, *c);
        }
        Mutation::Truncate(i) => {
            let a = at(i, text);
            text.truncate(a);
        }
        Mutation::DeleteLine(i) | Mutation::DuplicateLine(i) => {
            let ls = lines(text);
            if ls.is_empty() {
                return;
            }
            let (a, b) = ls[i.index(ls.len())];
            if matches!(m, Mutation::DeleteLine(_)) {
                text.replace_range(a..b, "");
            } else {
                let line = text[a..b].to_string();
                text.insert_str(b, &line);
            }
        }
        Mutation::SwapLines(i, j) => {
            let ls = lines(text);
            if ls.is_empty() {
                return;
            }
            let (x, y) = (ls[i.index(ls.len())], ls[j.index(ls.len())]);
            let (first, second) = if x.0 <= y.0 { (x, y) } else { (y, x) };
            if first == second {
                return;
            }
            let (f, s) = (
                text[first.0..first.1].to_string(),
                text[second.0..second.1].to_string(),
            );
            text.replace_range(second.0..second.1, &f);
            text.replace_range(first.0..first.1, &s);
        }
        Mutation::Nest(i, n) => {
            let a = at(i, text);
            let end = text[a..].find('\n').map_or(text.len(), |e| a + e);
            text.insert_str(end, &" }".repeat(*n));
            text.insert_str(a, &"{ ".repeat(*n));
        }
        Mutation::Crlf => *text = text.replace('\n', "\r\n"),
        Mutation::Bom => text.insert(0, '\u{feff}'),
    }
}

/// A bundled file, or now and then a generated workflow, with one to three mutations.
pub(crate) fn mutated() -> impl Strategy<Value = (String, PathBuf)> {
    let base = prop_oneof![
        3 => any::<Index>().prop_map(|which| which.get(seeds()).clone()),
        1 => workflow().prop_map(|text| (text, import_dir().to_path_buf())),
    ];
    (base, prop::collection::vec(mutation(), 1..4)).prop_map(|((mut text, dir), ms)| {
        for m in &ms {
            apply(&mut text, m);
        }
        (text, dir)
    })
}
