//! The quick story reader against pest: whatever it reads, pest and the builder read the
//! same, spans and all.

use super::story;
use crate::syntax::ast::{Item, Story};
use crate::syntax::grammar::{BmadParser, Rule};
use crate::syntax::{Parsed, build};
use pest::Parser;
use proptest::prelude::*;

/// Some text before the piece: spans are the file's, not the piece's.
const BEFORE: &str = "phase p {\n}\n";

/// The story that pest and the builder make of `piece` parsed alone, if it is one story
/// and nothing else.
fn by_pest(piece: &str) -> Option<Story> {
    let text = format!("{BEFORE}{piece}");
    let mut parsed = Parsed::default();
    let mut pairs = BmadParser::parse(Rule::file, &text[BEFORE.len()..]).ok()?;
    build(0, BEFORE.len(), pairs.next()?, &mut parsed);
    match (parsed.items.pop(), parsed.items.is_empty()) {
        (Some(Item::Story(s)), true) if parsed.diagnostics.is_empty() => Some(*s),
        _ => None,
    }
}

/// What the quick reader makes of `piece`; when it reads a story, pest reads the same.
fn checked(piece: &str) -> Result<Option<Story>, TestCaseError> {
    let text = format!("{BEFORE}{piece}");
    let quick = story(0, &text, BEFORE.len(), text.len()).map(|s| *s);
    if let Some(q) = &quick {
        let pest = by_pest(piece);
        prop_assert_eq!(Some(q), pest.as_ref(), "{:?}", piece);
    }
    Ok(quick)
}

#[test]
fn stories_are_read_as_pest_reads_them() {
    let read = [
        "story \"s5\" backend {\n  title \"Story 5\"\n  after \"s2\"\n}\n",
        "// a note\nstory \"s1\" frontend {\n}\n\n",
        "story\"a\"x{title\"t\"after\"b\",\"c\" , \"d\"}",
        "story \"a\\\"b\\n\" t /* c */ {\n  epic \"e\" // c\n  accept \"x\"\n  accept \"y\"\n}\n",
        "story \"é\\é\" t {\n  create \"a.rs\" template \"t.rs\"\n  create \"b.rs\"\n}",
        "story \"a\" t {\n  modify \"a\" \"why\"\n  modify \"b\"\n  title \"1\"\n  title \"2\"\n}",
        "story \"a\" t {\n  from_prd \"p\"\n  from_arch \"q\"\n  after \"x\"\n  after \"y\"\n}",
        "story \"a\\\n\" _t9 {}\r\n",
    ];
    for piece in read {
        let quick = checked(piece).map_err(|e| e.to_string()).unwrap();
        assert!(quick.is_some(), "{piece:?}");
    }
    let left = [
        "story \"\"\"a\"\"\" t {}",
        "story \"a\" t {}\nstory \"b\" t {}",
        "story \"a\" t {\n  title \"x\" ,\n}",
        "story \"a\" t {\n  titles \"x\"\n}",
        "story \"a\" t {\n  create \"x\" template\n}",
        "story \"a\" t {\n  modify \"x\" \"\"\"y\"\"\"\n}",
        "story \"a\n\" t {}",
        "story \"a\" 9t {}",
        "story \"a\" t {} /* open",
        "storyx \"a\" t {}",
        "phase p {\n}\n",
    ];
    for piece in left {
        assert!(checked(piece).unwrap().is_none(), "{piece:?}");
    }
}

/// Pieces of stories, right and wrong, to put together.
const BITS: &[&str] = &[
    "story",
    "story ",
    "\"s1\"",
    "\"a b\"",
    "\"\"",
    "\"\"\"",
    "\"x\\\"y\"",
    "\"\\n\"",
    "\"é\"",
    "\"\\",
    "\"open\n",
    "backend",
    " t9",
    "_x",
    "9",
    "{",
    "}",
    " {\n",
    "\n}\n",
    "title ",
    "after ",
    "epic ",
    "accept ",
    "create ",
    "template ",
    "modify ",
    "from_prd ",
    "from_arch ",
    "titles ",
    ",",
    ", ",
    " ",
    "\n",
    "\t",
    "\r\n",
    "// c\n",
    "// c",
    "/* c */",
    "/* c",
    "/",
    "*/",
    "phase",
    "\\",
];

/// A story with entries of every kind, separated by white space and comments.
fn a_story() -> impl Strategy<Value = String> {
    let gap = prop::sample::select(vec![" ", "  ", "\n  ", "\t", " /* c */ ", " // c\n", ""]);
    let string = prop::sample::select(vec![
        "\"s1\"",
        "\"Story 5\"",
        "\"\"",
        "\"a\\\"b\"",
        "\"é\\t\"",
    ]);
    let entry = (
        prop::sample::select(vec![
            "title",
            "after",
            "epic",
            "accept",
            "create",
            "modify",
            "from_prd",
            "from_arch",
        ]),
        prop::collection::vec((gap.clone(), string.clone()), 1..4),
        gap.clone(),
    )
        .prop_map(|(kw, mut strings, g)| {
            strings.truncate(match kw {
                "after" => 3,
                "create" | "modify" => 2,
                _ => 1,
            });
            let mut e = kw.to_string();
            for (i, (gap, s)) in strings.iter().enumerate() {
                if i > 0 && kw == "after" {
                    e.push(',');
                } else if i > 0 && kw == "create" {
                    e.push_str(" template");
                }
                e.push_str(if gap.is_empty() { " " } else { gap });
                e.push_str(s);
            }
            e.push_str(g);
            e
        });
    (gap.clone(), string, prop::collection::vec(entry, 0..6), gap).prop_map(
        |(g, id, entries, end)| format!("story {id}{g}backend {{\n  {}}}{end}\n", entries.concat()),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn generated_stories_are_read_as_pest_reads_them(piece in a_story()) {
        prop_assert!(checked(&piece)?.is_some(), "{:?}", piece);
    }

    #[test]
    fn bits_of_stories_are_read_as_pest_reads_them(
        bits in prop::collection::vec(prop::sample::select(BITS), 0..24)
    ) {
        checked(&bits.concat())?;
    }

    #[test]
    fn changed_stories_are_read_as_pest_reads_them(
        (piece, at, bit) in a_story().prop_flat_map(|s| {
            let n = s.len();
            (Just(s), 0..=n, prop::sample::select(BITS))
        })
    ) {
        let at = (at..=piece.len()).find(|&i| piece.is_char_boundary(i)).unwrap_or(0);
        checked(&format!("{}{bit}{}", &piece[..at], &piece[at..]))?;
    }
}
