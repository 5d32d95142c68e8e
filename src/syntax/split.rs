//! Splits a file into top-level items before parsing, so that a syntax error in one item
//! does not hide errors in the next, and measures nesting so that deep input is refused
//! before the recursive parser could exhaust the stack.

/// Deepest nesting (braces plus `else if` chains) the parser accepts.
pub const MAX_DEPTH: usize = 64;

/// One top-level item's text range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// Where the nesting first went past [`MAX_DEPTH`], if it did.
    pub too_deep_at: Option<usize>,
}

/// Keywords that start a top-level item and never start anything nested.
const STRONG: &[&str] = &[
    "import",
    "workflow",
    "artifact",
    "phase",
    "story",
    "stories",
    "environment",
    "env",
    "procedure",
    "maintenance",
    "incidents",
    "emergency",
    "monitor",
    "sync",
    "handoffs",
    "kpi",
    "settings",
];

/// Keywords that start a top-level item but also appear inside blocks.
const WEAK: &[&str] = &["agent", "check", "heal", "epic", "limits"];

#[derive(Clone, Copy, PartialEq)]
enum State {
    Code,
    Str,
    TextBlock,
    Tick,
    Fence,
    LineComment,
    BlockComment,
}

/// Cuts `text` into chunks, one per top-level item. A chunk starts at a line that begins,
/// in column 0, with an item keyword followed by white space: always for keywords that
/// only start items, and for the others only when no brace is open. Text before the first
/// item (comments, blank lines) belongs to the first chunk.
pub fn split(text: &str) -> Vec<Chunk> {
    let bytes = text.as_bytes();
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut depth: usize = 0;
    let mut chain: Vec<usize> = vec![0];
    let mut chain_sum = 0;
    let mut prev_word_else = false;
    let mut too_deep_at = None;
    let mut state = State::Code;
    let mut i = 0;
    let mut line_start = true;
    // Whether the current chunk has anything but comments and white space yet.
    let mut has_code = false;
    while i < bytes.len() {
        let b = bytes[i];
        match state {
            State::Code => {
                if line_start && b.is_ascii_alphabetic() && has_code {
                    let word = word_at(bytes, i);
                    let next = bytes.get(i + word.len()).copied().unwrap_or(b'\n');
                    let spaced = next == b' ' || next == b'\t' || next == b'\n' || next == b'{';
                    if spaced && (STRONG.contains(&word) || (depth == 0 && WEAK.contains(&word))) {
                        chunks.push(Chunk {
                            start,
                            end: i,
                            too_deep_at: too_deep_at.take(),
                        });
                        start = i;
                        has_code = false;
                        depth = 0;
                        chain = vec![0];
                        chain_sum = 0;
                    }
                }
                line_start = false;
                let is_comment = b == b'/' && matches!(bytes.get(i + 1), Some(b'/') | Some(b'*'));
                if !b.is_ascii_whitespace() && !is_comment {
                    has_code = true;
                }
                if !b.is_ascii_whitespace() && !b.is_ascii_alphabetic() && b != b'_' {
                    prev_word_else = false;
                }
                match b {
                    b'\n' => line_start = true,
                    b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                        state = State::TextBlock;
                        i += 2;
                    }
                    b'"' => state = State::Str,
                    b'`' if bytes[i..].starts_with(b"```") => {
                        state = State::Fence;
                        i += 2;
                    }
                    b'`' => state = State::Tick,
                    b'/' if bytes.get(i + 1) == Some(&b'/') => state = State::LineComment,
                    b'/' if bytes.get(i + 1) == Some(&b'*') => {
                        state = State::BlockComment;
                        i += 1;
                    }
                    b'{' => {
                        depth += 1;
                        chain.push(0);
                        if too_deep_at.is_none() && depth + chain_sum > MAX_DEPTH {
                            too_deep_at = Some(i);
                        }
                    }
                    b'}' => {
                        depth = depth.saturating_sub(1);
                        if chain.len() > 1 {
                            chain_sum -= chain.pop().unwrap_or(0);
                        }
                    }
                    c if c.is_ascii_alphabetic() || c == b'_' => {
                        let word = word_at(bytes, i);
                        let level = chain.len() - 1;
                        match word {
                            "else" => {
                                chain[level] += 1;
                                chain_sum += 1;
                                if too_deep_at.is_none() && depth + chain_sum > MAX_DEPTH {
                                    too_deep_at = Some(i);
                                }
                            }
                            "if" if !prev_word_else => {
                                chain_sum -= chain[level];
                                chain[level] = 0;
                            }
                            _ => {}
                        }
                        prev_word_else = word == "else";
                        i += word.len();
                        continue;
                    }
                    _ => {}
                }
            }
            State::Str => match b {
                b'\\' => i += 1,
                b'"' => state = State::Code,
                b'\n' => {
                    state = State::Code;
                    line_start = true;
                }
                _ => {}
            },
            State::TextBlock => {
                if bytes[i..].starts_with(b"\"\"\"") {
                    state = State::Code;
                    i += 2;
                }
            }
            State::Tick => match b {
                b'`' => state = State::Code,
                b'\n' => {
                    state = State::Code;
                    line_start = true;
                }
                _ => {}
            },
            State::Fence => {
                if bytes[i..].starts_with(b"```") {
                    state = State::Code;
                    i += 2;
                }
            }
            State::LineComment => {
                if b == b'\n' {
                    state = State::Code;
                    line_start = true;
                }
            }
            State::BlockComment => {
                if bytes[i..].starts_with(b"*/") {
                    state = State::Code;
                    i += 1;
                }
            }
        }
        i += 1;
    }
    chunks.push(Chunk {
        start,
        end: text.len(),
        too_deep_at,
    });
    chunks
}

fn word_at(bytes: &[u8], i: usize) -> &str {
    let end = bytes[i..]
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        .map_or(bytes.len(), |n| i + n);
    std::str::from_utf8(&bytes[i..end]).unwrap_or("")
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
