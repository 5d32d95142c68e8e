//! What the fuzzing found, each input kept as a test.

use crate::{NAME, import_dir};
use bmad::diagnostic::Code;

/// The parser cut a file before every item keyword in column 0 even inside an open brace
/// (to recover from a missing `}`), and before any word in column 0 outside braces: a
/// valid item whose next line starts with a name that is a keyword (`phase`, `monitor`),
/// or an item written over several lines, was refused with syntax errors `bmad fmt`
/// did not find.
#[test]
pub(crate) fn an_item_continued_in_column_zero_parses() {
    for text in [
        "handoffs { after a ,\nphase }\n",
        "kpi\n\na\n\n:\n\ndeploys_per_day\n\n>\n\n30s\n",
        "import std.roles\nphase p after a,\nmonitor {\n  dev: implement\n}\nphase a {\n  dev: x\n}\n",
        "incidents {\n  level high {\n    agents dev,\nmonitor\n  }\n}\n",
        "story \"s1\"\nstory {\n  accept \"it works\"\n}\n",
    ] {
        let parsed = bmad::load::parse_text(NAME, text);
        let syntax: Vec<_> = parsed
            .diagnostics
            .iter()
            .filter(|d| d.code == Code::Syntax)
            .collect();
        assert!(syntax.is_empty(), "{text:?}: {syntax:?}");
        assert!(bmad::format::format(text).is_ok(), "{text:?}");
    }
    // A missing `}` is still found where it is, and the items after it still parse.
    let text = "phase a {\n  dev: x\nphase b {\n  dev: y\n}\nkpi\nk: deploys_per_day >= 3\n";
    let parsed = bmad::load::parse_text(NAME, text);
    let errors: Vec<_> = parsed.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(errors, [Code::Syntax], "{:?}", parsed.diagnostics);
    let secondary = &parsed.diagnostics[0].secondary[0];
    assert_eq!(secondary.text, "this `{` is never closed");
    assert_eq!(secondary.span.start, 8);
    assert_eq!(parsed.modules[0].items.len(), 2, "phase b and the kpi");
}

/// A rhai error at a character of more than one byte (`é`) was placed on its first byte
/// only: the span ended inside the character (a JSON consumer or an editor slicing the
/// text there would fail). The same for a `.rhai` module starting with one.
#[test]
pub(crate) fn a_rhai_error_at_a_wide_character_covers_the_character() {
    let text =
        "check a {\n  check ```\n\tlet é = 1;\n```\n}\nphase p {\n  check `ä(1)`\n  check a\n}\n";
    let checked = bmad::check_text_in(NAME, text, import_dir());
    assert!(checked.has_errors());
    for d in &checked.diagnostics {
        let span = d.primary.as_ref().unwrap().span;
        let (start, end) = (span.start as usize, span.end as usize);
        assert!(
            text.is_char_boundary(start) && text.is_char_boundary(end),
            "{d:?}"
        );
        assert!(end > start, "{d:?}");
    }
    let module = "import \"unicode.rhai\"\nphase p {\n  check `true`\n}\n";
    let checked = bmad::check_text_in(NAME, module, import_dir());
    let d = checked
        .diagnostics
        .iter()
        .find(|d| d.code == Code::ScriptSyntax)
        .expect("the module does not compile");
    let span = d.primary.as_ref().unwrap().span;
    let file = checked.sources.get(span.file);
    assert!(file.name.ends_with("unicode.rhai"), "{}", file.name);
    assert_eq!(&file.text[span.start as usize..span.end as usize], "ä");
}

/// `bmad::format::format` counted the nesting of a text with the parser's recovery split,
/// which starts again at an item keyword in column 0 even inside open braces: a text
/// nested 10,000 deep with `stories` (a loop's collection) in column 0 at every level
/// passed the depth check and overflowed the stack in pest. `bmad fmt` was safe (it
/// parses the file first); a program calling the library was not. The parser now also
/// names the nesting (it reported only syntax errors).
#[test]
pub(crate) fn a_deep_text_with_item_keywords_in_column_zero_is_refused_not_overflowed() {
    let n = 10_000;
    let text = format!(
        "phase p {{\n{}{}",
        "for s in\nstories {\n".repeat(n),
        "}\n".repeat(n + 1)
    );
    assert_eq!(
        bmad::format::format(&text),
        Err(bmad::format::Error::Syntax)
    );
    let checked = bmad::check_text(NAME, &text);
    assert!(
        checked.diagnostics.iter().any(|d| d.code == Code::TooDeep),
        "{:?}",
        checked.diagnostics.first()
    );
    // Shallow enough, the same text parses and formats.
    let text = format!(
        "phase p {{\n{}{}",
        "for s in\nstories {\n".repeat(40),
        "}\n".repeat(41)
    );
    assert!(bmad::load::parse_text(NAME, &text).diagnostics.is_empty());
    assert!(bmad::format::format(&text).is_ok());
}

/// Where only a string may stand, the grammar read `"""x"` as the empty string then `"x"`
/// while the parser's item splitter read a text block left open: `bmad fmt` would lay out a
/// file `bmad check` refuses. Three quotes now always open a text block.
#[test]
pub(crate) fn three_quotes_open_a_text_block_wherever_they_stand() {
    let text = "story \"x\" a { modify \"\"\"x\" }\n";
    let parsed = bmad::load::parse_text(NAME, text);
    assert_eq!(parsed.diagnostics.len(), 1, "{:?}", parsed.diagnostics);
    assert_eq!(parsed.diagnostics[0].message, "unterminated text block");
    assert_eq!(bmad::format::format(text), Err(bmad::format::Error::Syntax));
    // With a space, two strings.
    let text = "story \"x\" a { modify \"\" \"x\" }\n";
    assert!(bmad::load::parse_text(NAME, text).diagnostics.is_empty());
    assert!(bmad::format::format(text).is_ok());
}

/// `backend script NAME` is compiled as the call `NAME(task)`, placed at the name: an
/// error after the name (a keyword as the name: `if(task)`) was placed past it, beyond
/// the end of the file. It is placed on the name.
#[test]
pub(crate) fn an_error_in_a_script_made_from_a_name_is_placed_on_the_name() {
    let text = "import std.roles\nagent a { backend script if }\n";
    let checked = bmad::check_text(NAME, text);
    let d = checked
        .diagnostics
        .iter()
        .find(|d| d.code == Code::ScriptSyntax)
        .expect("`if(task)` does not compile");
    let span = d.primary.as_ref().unwrap().span;
    assert_eq!(&text[span.start as usize..span.end as usize], "if");
}

/// A `.rhai` module that is not UTF-8 text (or holds a NUL) was placed on the first byte
/// of the replacement character shown for the bad byte, inside it.
#[test]
pub(crate) fn a_rhai_module_that_is_not_text_is_placed_on_a_whole_character() {
    for module in ["latin1.rhai", "nul.rhai"] {
        let text = format!("import \"{module}\"\nphase p {{\n  check `true`\n}}\n");
        let checked = bmad::check_text_in(NAME, &text, import_dir());
        let d = checked
            .diagnostics
            .iter()
            .find(|d| d.code == Code::Encoding)
            .expect("the module is not text");
        let span = d.primary.as_ref().unwrap().span;
        let file = checked.sources.get(span.file);
        let shown = file.text.get(span.start as usize..span.end as usize);
        assert!(
            matches!(shown, Some("\u{FFFD}" | "\u{2400}")),
            "{module}: {shown:?}"
        );
    }
}
