//! Lays the event stream out: two spaces per level, one entry per line, blank lines kept
//! (at most one), comma lists wrapped at [`WIDTH`] columns under their first element.

use super::walk::{Event, Word};

/// The widest a line gets where a comma list can break.
pub const WIDTH: usize = 100;
/// Spaces per level.
const INDENT: usize = 2;
/// Extra indent of a line that continues a header after a comment.
const CONTINUATION: usize = 4;

#[derive(Clone, Copy)]
struct Break {
    blank: bool,
    /// An entry or brace: at the block's indent; otherwise a continuation.
    structural: bool,
}

struct Tok<'a> {
    text: &'a str,
    space: bool,
    comment: bool,
    /// The list this token starts.
    starts: Option<usize>,
    /// The list this comma separates.
    comma_of: Option<usize>,
}

#[derive(Default)]
struct Line<'a> {
    col: usize,
    toks: Vec<Tok<'a>>,
    /// Each list's `hard` flag.
    lists: Vec<bool>,
}

/// Lays events out as they come, as text ending in one newline (empty for no events).
#[derive(Default)]
pub(super) struct Layout<'a> {
    out: String,
    indent: usize,
    line: Line<'a>,
    /// Lines started so far (lists only wrap on the line they start on).
    line_no: usize,
    started: bool,
    pending: Option<Break>,
    just_opened: bool,
    /// The last word was `}`: what a comment pushes to the next line (`else`, `until`,
    /// `on failure`) stands at the brace's indent, not as a continuation.
    after_close: bool,
    /// A list starts at the next word.
    list_next: Option<bool>,
    /// Open lists: the line they started on and their index there.
    lists: Vec<(usize, usize)>,
}

impl<'a> Layout<'a> {
    /// A layout whose text is sized for about `capacity` bytes.
    pub(super) fn with_capacity(capacity: usize) -> Layout<'a> {
        Layout {
            out: String::with_capacity(capacity),
            ..Layout::default()
        }
    }

    /// Takes the text laid out so far, at the end of a top-level item (the next event
    /// starts an item on a line of its own): the text goes on in the next one taken, or
    /// the one [`Layout::finish`] gives.
    pub(super) fn cut(&mut self) -> String {
        self.flush();
        let capacity = self.out.capacity();
        std::mem::replace(&mut self.out, String::with_capacity(capacity))
    }

    /// How much text is laid out and not taken yet.
    pub(super) fn laid_out(&self) -> usize {
        self.out.len()
    }

    /// The text laid out (since the last [`Layout::cut`]).
    pub(super) fn finish(mut self) -> String {
        self.flush();
        if self.started {
            self.out.push('\n');
        }
        self.out
    }

    /// Lays out the next event.
    pub(super) fn event(&mut self, event: &Event<'a>) {
        match *event {
            Event::Word(text, kind) => self.word(text, kind),
            Event::Comment {
                text,
                breaks_before,
                break_after,
                entry_level,
            } => self.comment(text, breaks_before, break_after, entry_level),
            Event::Entry { blank } => {
                let blank = blank || self.pending.is_some_and(|b| b.blank);
                self.pending = Some(Break {
                    blank,
                    structural: true,
                });
            }
            Event::ListStart { hard } => self.list_next = Some(hard),
            Event::ListEnd => {
                self.lists.pop();
            }
        }
    }

    fn word(&mut self, text: &'a str, kind: Word) {
        if kind == Word::Close {
            self.indent = self.indent.saturating_sub(1);
            let empty = self.just_opened && self.line.toks.last().is_some_and(|t| t.text == "{");
            if empty {
                self.push(text, false);
                self.pending = None;
                self.just_opened = false;
                return;
            }
            self.pending = Some(Break {
                blank: false,
                structural: true,
            });
        }
        if let Some(b) = self.pending.take() {
            let extra = if b.structural || self.after_close {
                0
            } else {
                CONTINUATION
            };
            self.start_line(b.blank && !self.just_opened, self.indent * INDENT + extra);
        } else if !self.started {
            self.start_line(false, self.indent * INDENT);
        }
        let space = !self.line.toks.is_empty() && !matches!(kind, Word::Comma | Word::Colon);
        self.push(text, space);
        if kind == Word::Comma {
            let line_no = self.line_no;
            self.line.toks.last_mut().expect("just pushed").comma_of = self
                .lists
                .last()
                .filter(|(l, _)| *l == line_no)
                .map(|(_, i)| *i);
        }
        self.just_opened = kind == Word::Open;
        self.after_close = kind == Word::Close;
        if kind == Word::Open {
            self.indent += 1;
            self.pending = Some(Break {
                blank: false,
                structural: true,
            });
        }
    }

    fn comment(&mut self, text: &'a str, breaks_before: usize, break_after: bool, level: bool) {
        let trailing = breaks_before == 0 && !self.line.toks.is_empty();
        if trailing {
            self.line.toks.push(Tok {
                text,
                space: true,
                comment: true,
                starts: None,
                comma_of: None,
            });
            if break_after && self.pending.is_none() {
                self.pending = Some(Break {
                    blank: false,
                    structural: false,
                });
            }
            return;
        }
        let extra = if level || self.after_close {
            0
        } else {
            CONTINUATION
        };
        self.start_line(
            breaks_before >= 2 && !self.just_opened,
            self.indent * INDENT + extra,
        );
        self.pending = None;
        self.just_opened = false;
        self.line.toks.push(Tok {
            text,
            space: false,
            comment: true,
            starts: None,
            comma_of: None,
        });
        if break_after {
            self.pending = Some(Break {
                blank: false,
                structural: false,
            });
        }
    }

    fn push(&mut self, text: &'a str, space: bool) {
        let starts = self.list_next.take().map(|hard| {
            let index = self.line.lists.len();
            self.line.lists.push(hard);
            self.lists.push((self.line_no, index));
            index
        });
        self.line.toks.push(Tok {
            text,
            space,
            comment: false,
            starts,
            comma_of: None,
        });
    }

    /// Ends the line being built and starts another at `col`.
    fn start_line(&mut self, blank: bool, col: usize) {
        self.flush();
        if self.started {
            self.out.push('\n');
            if blank {
                self.out.push('\n');
            }
        }
        self.started = true;
        self.line_no += 1;
        self.line.col = col;
    }

    /// Writes the line being built, breaking its comma lists where it is too wide.
    fn flush(&mut self) {
        let line = std::mem::take(&mut self.line);
        if line.toks.is_empty() {
            return;
        }
        let mut col = line.col;
        push_spaces(&mut self.out, col);
        let mut list_cols = vec![0; line.lists.len()];
        let mut break_to = None;
        for (i, tok) in line.toks.iter().enumerate() {
            if let Some(to) = break_to.take() {
                self.out.push('\n');
                push_spaces(&mut self.out, to);
                col = to;
            } else if tok.space {
                self.out.push(' ');
                col += 1;
            }
            if let Some(list) = tok.starts {
                list_cols[list] = col;
            }
            self.out.push_str(tok.text);
            col = match tok.text.rfind('\n') {
                Some(n) => tok.text[n + 1..].chars().count(),
                None => col + tok.text.chars().count(),
            };
            let Some(list) = tok.comma_of else { continue };
            let next_is_comment = line.toks.get(i + 1).is_some_and(|t| t.comment);
            if next_is_comment || i + 1 == line.toks.len() {
                continue;
            }
            let too_wide = col + segment_width(&line.toks[i + 1..]) > WIDTH;
            if line.lists[list] || (too_wide && list_cols[list] < col) {
                break_to = Some(list_cols[list]);
            }
        }
    }
}

/// The width of the words up to and including the next comma (comments count nothing).
fn segment_width(toks: &[Tok]) -> usize {
    let mut width = 0;
    for tok in toks.iter().filter(|t| !t.comment) {
        width += usize::from(tok.space) + tok.text.chars().count();
        if tok.text == "," {
            break;
        }
    }
    width
}

fn push_spaces(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}
