//! A story read without pest. A large workflow is mostly stories (a DAG of ten thousand is
//! ten thousand short items), and pest spends some twenty thousand instructions on each
//! (every character tried against ranges, attempts recorded for its error messages, a pair
//! built for each token). This reader takes the common case of a piece of the file
//! ([`split`](super::split)) that is one story and nothing else, and gives exactly the
//! story that parsing the piece with the grammar and building it gives; anything it is
//! not sure of (another item, an unusual entry, a string it does not take, text after the
//! story) it leaves to pest by giving `None`. It follows grammar/bmad.pest's `story` rule
//! and its lexical rules (WHITESPACE, COMMENT, `string`, `ident`, the `kw_*` rules).

use super::builder::push_exact;
use super::lex;
use crate::model::literal::unescape;
use crate::model::step::{Name, Text};
use crate::source::{FileId, Span};
use crate::syntax::ast::{FileChange, NewFile, Story};

/// The story that `text[start..end]` is, as parsing it alone with the grammar and building
/// it gives it; `None` when the piece is not one story alone, or is one this reader does
/// not take (then pest decides what it is).
pub(super) fn story(file: FileId, text: &str, start: usize, end: usize) -> Option<Box<Story>> {
    let mut r = Reader {
        file,
        text: &text[..end],
        at: start,
    };
    r.skip()?;
    let begin = r.at;
    if r.word() != b"story" {
        return None;
    }
    r.skip()?;
    let id = r.string_name()?;
    r.skip()?;
    let story_type = r.ident()?;
    r.skip()?;
    r.byte(b'{')?;
    // Boxed at once, as the item holds it: the story is not copied into its box.
    let mut s = Box::new(Story::new(id, story_type, Span::default()));
    loop {
        r.skip()?;
        if r.peek() == Some(b'}') {
            r.at += 1;
            break;
        }
        let word = r.word();
        r.skip()?;
        match word {
            b"accept" => {
                let t = r.text()?;
                push_exact(&mut s.accept, t);
            }
            b"title" => s.title = Some(r.text()?),
            b"after" => {
                push_exact(&mut s.after, r.string_name()?);
                loop {
                    let before = r.at;
                    r.skip()?;
                    if r.peek() != Some(b',') {
                        r.at = before;
                        break;
                    }
                    r.at += 1;
                    r.skip()?;
                    s.after.push(r.string_name()?);
                }
            }
            b"epic" => s.epic = Some(r.string_name()?),
            b"create" => {
                let path = r.text()?;
                let before = r.at;
                r.skip()?;
                let template = if r.word() == b"template" {
                    r.skip()?;
                    Some(r.text()?)
                } else {
                    r.at = before;
                    None
                };
                push_exact(&mut s.create, NewFile { path, template });
            }
            b"modify" => {
                let path = r.text()?;
                let before = r.at;
                r.skip()?;
                let changes = if r.peek() == Some(b'"') {
                    Some(r.text()?)
                } else {
                    r.at = before;
                    None
                };
                push_exact(&mut s.modify, FileChange { path, changes });
            }
            b"from_prd" => s.from_prd = Some(r.text()?),
            b"from_arch" => s.from_arch = Some(r.text()?),
            _ => return None,
        }
    }
    s.span = r.span(begin, r.at);
    r.skip()?;
    (r.at == end).then_some(s)
}

/// A place in the text of a piece, moving forward.
struct Reader<'t> {
    file: FileId,
    /// The file's text up to the end of the piece.
    text: &'t str,
    /// The next byte to read.
    at: usize,
}

impl<'t> Reader<'t> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start, end)
    }

    /// Steps over what the grammar's WHITESPACE and COMMENT take between two tokens;
    /// `None` at a block comment never closed (the grammar's COMMENT does not take it).
    fn skip(&mut self) -> Option<()> {
        let bytes = self.text.as_bytes();
        while let Some(&b) = bytes.get(self.at) {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => self.at += 1,
                b'/' if matches!(bytes.get(self.at + 1), Some(b'/' | b'*')) => {
                    let piece = lex::opaque(&bytes[self.at..])?;
                    if !piece.closed {
                        return None;
                    }
                    self.at += piece.len;
                }
                _ => break,
            }
        }
        Some(())
    }

    /// The word (letters, digits, `_`) here, stepped over: a keyword matches when it is
    /// the whole word (the grammar's `"kw" ~ !ident_char`).
    fn word(&mut self) -> &'t [u8] {
        let text: &'t str = self.text;
        let word = lex::word(&text.as_bytes()[self.at..]);
        self.at += word.len();
        word
    }

    /// The byte `b`, stepped over.
    fn byte(&mut self, b: u8) -> Option<()> {
        (self.peek() == Some(b)).then(|| self.at += 1)
    }

    /// An `ident` as a name.
    fn ident(&mut self) -> Option<Name> {
        let start = self.at;
        match self.peek() {
            Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
            _ => return None,
        }
        self.word();
        Some(Name {
            // A word is ASCII: its ends are character boundaries.
            name: self.text[start..self.at].into(),
            span: self.span(start, self.at),
        })
    }

    /// A `string` (not a text block) as a text: its characters between the quotes, with
    /// escapes resolved, and the span of the quotes and all.
    fn text(&mut self) -> Option<Text> {
        let bytes = self.text.as_bytes();
        let start = self.at;
        if bytes.get(start..start + 3) == Some(b"\"\"\"") || self.peek() != Some(b'"') {
            return None;
        }
        let mut i = start + 1;
        let mut escaped = false;
        loop {
            match bytes.get(i)? {
                b'"' => break,
                b'\n' => return None,
                b'\\' => {
                    escaped = true;
                    // The escaped character: a byte of it is enough, the rest of a longer
                    // one are taken as any character of a string.
                    if i + 1 >= bytes.len() {
                        return None;
                    }
                    i += 2;
                }
                _ => i += 1,
            }
        }
        let inner = &self.text[start + 1..i];
        self.at = i + 1;
        let value = if escaped {
            unescape(inner).into()
        } else {
            inner.into()
        };
        Some(Text {
            value,
            span: self.span(start, self.at),
        })
    }

    /// A `string` as a name (story and epic ids).
    fn string_name(&mut self) -> Option<Name> {
        let text = self.text()?;
        Some(Name {
            name: text.value,
            span: text.span,
        })
    }
}

#[cfg(test)]
#[path = "quick_tests.rs"]
mod tests;
