//! The lexical pieces whose inside the grammar does not look into: strings, text blocks,
//! rhai code in backticks or fences, and comments. One scanner for all who must step over
//! them: the splitter (which cuts a file into items), the formatter, and the REPL's
//! highlighter and definition reader.

/// A piece whose inside is not code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opaque {
    /// `"..."` on one line (a backslash escapes the next character, a newline too).
    String,
    /// `"""..."""`, over lines.
    TextBlock,
    /// `` `...` `` rhai on one line.
    RhaiCode,
    /// ```` ```...``` ```` rhai over lines.
    RhaiBlock,
    /// `// ...` to the end of the line.
    LineComment,
    /// `/* ... */`, over lines, not nested.
    BlockComment,
}

impl Opaque {
    /// What the piece is called in a diagnostic (`unterminated string`).
    pub fn name(self) -> &'static str {
        match self {
            Opaque::String => "string",
            Opaque::TextBlock => "text block",
            Opaque::RhaiCode => "rhai code",
            Opaque::RhaiBlock => "rhai block",
            Opaque::LineComment | Opaque::BlockComment => "comment",
        }
    }

    /// True for a comment.
    pub fn is_comment(self) -> bool {
        matches!(self, Opaque::LineComment | Opaque::BlockComment)
    }
}

/// A piece found at the start of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// What it is.
    pub kind: Opaque,
    /// Its length in bytes: through its closing delimiter; an unclosed one-line piece
    /// (string, rhai code) stops before the newline that ends it, any other unclosed piece
    /// at the end of the text. A line comment stops before its newline.
    pub len: usize,
    /// Whether it is closed (a line comment always is).
    pub closed: bool,
}

/// The opaque piece that starts `bytes`, if one does.
pub fn opaque(bytes: &[u8]) -> Option<Piece> {
    let (kind, open) = match bytes {
        [b'"', b'"', b'"', ..] => (Opaque::TextBlock, 3),
        [b'"', ..] => (Opaque::String, 1),
        [b'`', b'`', b'`', ..] => (Opaque::RhaiBlock, 3),
        [b'`', ..] => (Opaque::RhaiCode, 1),
        [b'/', b'/', ..] => (Opaque::LineComment, 2),
        [b'/', b'*', ..] => (Opaque::BlockComment, 2),
        _ => return None,
    };
    let rest = &bytes[open..];
    let (len, closed) = match kind {
        Opaque::String => one_line(rest, b'"', true),
        Opaque::RhaiCode => one_line(rest, b'`', false),
        Opaque::TextBlock => fenced(rest, b"\"\"\""),
        Opaque::RhaiBlock => fenced(rest, b"```"),
        Opaque::BlockComment => fenced(rest, b"*/"),
        Opaque::LineComment => (
            rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len()),
            true,
        ),
    };
    Some(Piece {
        kind,
        len: open + len,
        closed,
    })
}

/// The length of a one-line piece's rest through `close`, or to the newline that ends it
/// unclosed (with `escapes`, a backslash skips the next byte).
fn one_line(rest: &[u8], close: u8, escapes: bool) -> (usize, bool) {
    let mut i = 0;
    while i < rest.len() {
        match rest[i] {
            b'\\' if escapes => i += 1,
            b if b == close => return (i + 1, true),
            b'\n' => return (i, false),
            _ => {}
        }
        i += 1;
    }
    (rest.len(), false)
}

/// The length of a piece's rest through `fence`, or to the end of the text.
fn fenced(rest: &[u8], fence: &[u8]) -> (usize, bool) {
    rest.windows(fence.len())
        .position(|w| w == fence)
        .map_or((rest.len(), false), |n| (n + fence.len(), true))
}

/// The length of the comment at the start of `text` (`//` to the end of the line, or
/// `/*` through `*/` or to the end of the text); 0 when none starts there.
pub fn comment_len(text: &str) -> usize {
    opaque(text.as_bytes())
        .filter(|p| p.kind.is_comment())
        .map_or(0, |p| p.len)
}

/// The word (letters, digits, `_`) at the start of `bytes`.
pub fn word(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        .unwrap_or(bytes.len());
    &bytes[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(text: &str) -> Option<(Opaque, &str, bool)> {
        opaque(text.as_bytes()).map(|p| (p.kind, &text[..p.len], p.closed))
    }

    #[test]
    fn each_piece_ends_at_its_close() {
        assert_eq!(
            piece(r#""a \" b" c"#),
            Some((Opaque::String, r#""a \" b""#, true))
        );
        assert_eq!(
            piece("\"\"\"a\n\"b\"\n\"\"\" c"),
            Some((Opaque::TextBlock, "\"\"\"a\n\"b\"\n\"\"\"", true))
        );
        assert_eq!(
            piece("`x + 1` y"),
            Some((Opaque::RhaiCode, "`x + 1`", true))
        );
        assert_eq!(
            piece("```\nlet a = `b`;\n``` c"),
            Some((Opaque::RhaiBlock, "```\nlet a = `b`;\n```", true))
        );
        assert_eq!(
            piece("// note\nnext"),
            Some((Opaque::LineComment, "// note", true))
        );
        assert_eq!(
            piece("/* a\n b */ c"),
            Some((Opaque::BlockComment, "/* a\n b */", true))
        );
        assert_eq!(piece("phase"), None);
        assert_eq!(piece("/ 2"), None);
    }

    #[test]
    fn an_unclosed_piece_stops_at_its_line_or_the_end() {
        assert_eq!(
            piece("\"open\nnext"),
            Some((Opaque::String, "\"open", false))
        );
        assert_eq!(
            piece("\"escaped \\\nnewline\" x"),
            Some((Opaque::String, "\"escaped \\\nnewline\"", true))
        );
        assert_eq!(piece("`open\nx"), Some((Opaque::RhaiCode, "`open", false)));
        assert_eq!(
            piece("\"\"\"open\nx"),
            Some((Opaque::TextBlock, "\"\"\"open\nx", false))
        );
        assert_eq!(
            piece("/* open"),
            Some((Opaque::BlockComment, "/* open", false))
        );
        assert_eq!(piece("/*/"), Some((Opaque::BlockComment, "/*/", false)));
        assert_eq!(comment_len("/**/x"), 4);
        assert_eq!(comment_len("x"), 0);
    }
}
