//! The text of a file as coloured tokens: keywords, names, numbers with units, strings and
//! text blocks, rhai code and comments. One scanner for the REPL's highlighter and the
//! language server's semantic tokens.

use super::{keywords, lex};

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A keyword of the grammar.
    Keyword,
    /// Any other word (a name).
    Name,
    /// A number, with its unit if one is written with it.
    Number,
    /// A string or text block.
    String,
    /// rhai code in backticks or fences.
    Rhai,
    /// A comment.
    Comment,
    /// Anything else: punctuation, white space.
    Other,
}

/// One token: its place in the text (bytes) and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// Where it starts.
    pub start: usize,
    /// Its length in bytes.
    pub len: usize,
    /// What it is.
    pub kind: Kind,
}

/// The tokens of `text`, in order; together they cover the whole text.
pub fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(c) = text[at..].chars().next() {
        let rest = &text[at..];
        let (len, kind) = if let Some(piece) = lex::opaque(rest.as_bytes()) {
            let kind = match piece.kind {
                lex::Opaque::LineComment | lex::Opaque::BlockComment => Kind::Comment,
                lex::Opaque::String | lex::Opaque::TextBlock => Kind::String,
                lex::Opaque::RhaiCode | lex::Opaque::RhaiBlock => Kind::Rhai,
            };
            (piece.len.max(1), kind)
        } else if c.is_ascii_digit() {
            let n = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '%' | '/')))
                .unwrap_or(rest.len());
            (n, Kind::Number)
        } else if c.is_ascii_alphabetic() || c == '_' {
            let n = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let keyword = keywords::all().binary_search(&&rest[..n]).is_ok();
            (n, if keyword { Kind::Keyword } else { Kind::Name })
        } else {
            (c.len_utf8(), Kind::Other)
        };
        // A piece never ends inside a character (the scanner stops at ASCII delimiters).
        let len = (at + len..=text.len())
            .find(|&end| text.is_char_boundary(end))
            .map_or(text.len() - at, |end| end - at);
        out.push(Token {
            start: at,
            len,
            kind,
        });
        at += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{Kind, tokens};

    #[test]
    fn a_line_in_tokens() {
        let text = "phase build { sh `x` \"é\" 5s } // done";
        let kinds: Vec<(Kind, &str)> = tokens(text)
            .into_iter()
            .filter(|t| t.kind != Kind::Other)
            .map(|t| (t.kind, &text[t.start..t.start + t.len]))
            .collect();
        assert_eq!(
            kinds,
            [
                (Kind::Keyword, "phase"),
                (Kind::Name, "build"),
                (Kind::Keyword, "sh"),
                (Kind::Rhai, "`x`"),
                (Kind::String, "\"é\""),
                (Kind::Number, "5s"),
                (Kind::Comment, "// done"),
            ]
        );
    }
}
