//! Splits a file into top-level items before parsing, so that a syntax error in one item
//! does not hide errors in the next, and measures nesting so that deep input is refused
//! before the recursive parser could exhaust the stack.

use super::{keywords, lex};

/// Deepest nesting (braces plus `else if` chains) the parser accepts.
pub const MAX_DEPTH: usize = 64;

/// One top-level item's text range, with what the scan noticed about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// Where the nesting first went past [`MAX_DEPTH`], if it did.
    pub too_deep_at: Option<usize>,
    /// The innermost `{` still open at the end of the chunk.
    pub unclosed_brace: Option<usize>,
    /// A string, text block, rhai fence or comment that is never closed: where it opens
    /// and what it is.
    pub unterminated: Option<(usize, &'static str)>,
}

/// Cuts `text` into chunks, one per top-level item. A chunk starts at a word in column 0:
/// any word when no brace is open (the item before is complete), and a keyword that only
/// starts items even when a brace is left open (the item before lacks its `}`). Comments
/// and blank lines before the first item belong to the first chunk.
///
/// The second kind of cut is a guess made to recover from a missing `}`: the keyword may as
/// well be a name inside the open block (`after a,` then `phase` on the next line). The
/// parser first cuts with [`split_balanced`] and uses this split only on a piece that does
/// not parse.
pub fn split(text: &str) -> Vec<Chunk> {
    split_at_items(text, true)
}

/// Cuts `text` into chunks at words in column 0 that can start an item, where no brace is
/// open: every chunk but the last holds balanced braces. Another word in column 0 cannot
/// start a chunk that parses: it continues the item before (`kpi k:` then the metric on
/// the next line) or is an error found when that item is cut again with [`split`]. Each
/// chunk of [`split`] lies inside one of these (it only adds cuts), so a chunk of this
/// split can be cut again with [`split`] alone.
pub fn split_balanced(text: &str) -> Vec<Chunk> {
    split_at_items(text, false)
}

/// Where `text`, parsed whole, nests deeper than [`MAX_DEPTH`], if it does (the nesting
/// counted as in [`split_balanced`], never started again inside open braces).
pub fn too_deep(text: &str) -> Option<usize> {
    split_balanced(text).iter().find_map(|c| c.too_deep_at)
}

fn split_at_items(text: &str, recovering: bool) -> Vec<Chunk> {
    let bytes = text.as_bytes();
    // A chunk starts at the text's start or after a newline: sized for that many once, the
    // list is not copied as it grows (what is not used of it is never touched).
    let lines = memchr::memchr_iter(b'\n', bytes).count();
    let mut chunks = Vec::with_capacity(lines + 1);
    let mut start = 0;
    // Positions of the open braces; `else if` chain lengths per brace level.
    let mut open: Vec<usize> = Vec::new();
    let mut chain: Vec<usize> = vec![0];
    let mut chain_sum = 0;
    let mut prev_word_else = false;
    let mut too_deep_at = None;
    let mut unterminated = None;
    let mut i = 0;
    let mut line_start = true;
    // The indentation of each open brace's line, of the current line (once it has a
    // non-blank byte), where the line began; and the first brace whose `}` stands less
    // indented than its line: a `}` meant for an outer block, the inner one left open.
    let mut open_indent: Vec<usize> = Vec::new();
    let (mut line_indent, mut line_begin): (Option<usize>, usize) = (None, 0);
    let mut mismatched: Option<usize> = None;
    // Whether the current chunk has anything but comments and white space yet.
    let mut has_code = false;
    while i < bytes.len() {
        let b = bytes[i];
        // A space or tab only ends the line's start (the common case, taken first).
        if b == b' ' || b == b'\t' {
            line_start = false;
            i += 1;
            continue;
        }
        if line_start && b.is_ascii_alphabetic() && has_code {
            let word = lex::word(&bytes[i..]);
            let next = bytes.get(i + word.len()).copied().unwrap_or(b'\n');
            // `monitor: task` in column 0 is a step of the open block, not an item.
            let spaced = matches!(next, b' ' | b'\t' | b'\n' | b'\r' | b'{');
            let cut = if recovering {
                open.is_empty() || (spaced && keywords::is_strong(word))
            } else {
                open.is_empty() && keywords::is_item(word)
            };
            if cut {
                chunks.push(Chunk {
                    start,
                    end: i,
                    too_deep_at: too_deep_at.take(),
                    unclosed_brace: unclosed(&open, mismatched.take()),
                    unterminated: unterminated.take(),
                });
                start = i;
                has_code = false;
                open.clear();
                open_indent.clear();
                chain.clear();
                chain.push(0);
                chain_sum = 0;
            }
        }
        line_start = false;
        // The `}` that starts its line is compared with its brace's line below.
        let first_on_line = line_indent.is_none() && !b.is_ascii_whitespace();
        if first_on_line {
            line_indent = Some(i - line_begin);
        }
        let is_comment = b == b'/' && matches!(bytes.get(i + 1), Some(b'/' | b'*'));
        if !b.is_ascii_whitespace() && !is_comment {
            has_code = true;
        }
        if !b.is_ascii_whitespace() && !b.is_ascii_alphabetic() && b != b'_' {
            prev_word_else = false;
        }
        match b {
            b'\n' => {
                line_start = true;
                (line_indent, line_begin) = (None, i + 1);
            }
            b'"' | b'`' | b'/' => {
                if let Some(piece) = lex::opaque(&bytes[i..]) {
                    if !piece.closed {
                        unterminated.get_or_insert((i, piece.kind.name()));
                    }
                    // A one-line piece stops before its newline, seen next as code.
                    i += piece.len;
                    continue;
                }
            }
            b'{' => {
                open.push(i);
                open_indent.push(line_indent.unwrap_or(0));
                chain.push(0);
                if too_deep_at.is_none() && open.len() + chain_sum > MAX_DEPTH {
                    too_deep_at = Some(i);
                }
            }
            b'}' => {
                if let (Some(brace), Some(indent)) = (open.pop(), open_indent.pop())
                    && first_on_line
                    && line_indent.is_some_and(|here| here < indent)
                {
                    mismatched.get_or_insert(brace);
                }
                if chain.len() > 1 {
                    chain_sum -= chain.pop().unwrap_or(0);
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let word = lex::word(&bytes[i..]);
                let level = chain.len() - 1;
                match word {
                    b"else" => {
                        chain[level] += 1;
                        chain_sum += 1;
                        if too_deep_at.is_none() && open.len() + chain_sum > MAX_DEPTH {
                            too_deep_at = Some(i);
                        }
                    }
                    b"if" if !prev_word_else => {
                        chain_sum -= chain[level];
                        chain[level] = 0;
                    }
                    _ => {}
                }
                prev_word_else = word == b"else";
                i += word.len();
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    chunks.push(Chunk {
        start,
        end: text.len(),
        too_deep_at,
        unclosed_brace: unclosed(&open, mismatched),
        unterminated,
    });
    chunks
}

/// The brace to name as never closed when `open` is left at the end of a chunk: the first
/// one a less indented `}` closed (that `}` was meant for an outer block), else the
/// innermost still open.
fn unclosed(open: &[usize], mismatched: Option<usize>) -> Option<usize> {
    if open.is_empty() {
        None
    } else {
        mismatched.or_else(|| open.last().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<&str> {
        split(src).iter().map(|c| &src[c.start..c.end]).collect()
    }

    #[test]
    fn items_at_column_zero_start_chunks() {
        let src = "// head\nagent a {\n  role \"x\"\n}\nphase p {\n  check c\n}\n";
        assert_eq!(
            texts(src),
            vec![
                "// head\nagent a {\n  role \"x\"\n}\n",
                "phase p {\n  check c\n}\n"
            ]
        );
    }

    #[test]
    fn an_unclosed_brace_does_not_swallow_the_next_strong_item() {
        let src = "phase a {\n  x: y\nphase b {\n}\n";
        assert_eq!(texts(src), vec!["phase a {\n  x: y\n", "phase b {\n}\n"]);
        assert_eq!(split(src)[0].unclosed_brace, Some(8));
    }

    #[test]
    fn an_item_keyword_used_as_an_agent_name_does_not_split() {
        let src = "incidents {\n  detection {\nmonitor: detect\n  }\n}\n";
        assert_eq!(split(src).len(), 1);
    }

    #[test]
    fn a_misspelled_item_keyword_does_not_swallow_the_item_before() {
        let src = "kpi a: deploys_per_day >= 3\nphsae b {\n}\n";
        assert_eq!(
            texts(src),
            vec!["kpi a: deploys_per_day >= 3\n", "phsae b {\n}\n"]
        );
    }

    #[test]
    fn unterminated_strings_and_blocks_are_found() {
        assert_eq!(
            split("agent a {\n  role \"x\n}\n")[0].unterminated,
            Some((17, "string"))
        );
        assert_eq!(
            split("check c {\n  sh \"\"\"\n  ls\n}\n")[0].unterminated,
            Some((15, "text block"))
        );
        assert_eq!(
            split("/* open\nphase p {}\n")[0].unterminated,
            Some((0, "comment"))
        );
    }

    #[test]
    fn keywords_in_strings_and_comments_do_not_split() {
        let src = "phase a {\n  sh \"\"\"\nphase b\n\"\"\"\n}\n/*\nphase c\n*/\n";
        assert_eq!(texts(src).len(), 1);
    }

    #[test]
    fn deep_nesting_is_found() {
        let deep = format!("phase a {}{}", "{".repeat(100), "}".repeat(100));
        assert!(split(&deep)[0].too_deep_at.is_some());
        let chain = format!("phase a {{ if x {{}} {} }}", "else if x {} ".repeat(100));
        assert!(split(&chain)[0].too_deep_at.is_some());
        let flat = format!("phase a {{ {} }}", "if x {} else {} ".repeat(200));
        assert_eq!(split(&flat)[0].too_deep_at, None);
    }
}
