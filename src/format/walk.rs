//! Walks the pest tree of a file into a flat stream of layout events: the words of the
//! source (verbatim), its punctuation, its comments, and where entries and lists start.

use crate::syntax::grammar::Rule;
use crate::syntax::lex::comment_len;
use pest::iterators::Pair;

/// What a word is, for spacing and line breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Word {
    /// Anything spaced on both sides.
    Plain,
    /// `{`: the entries after it go on lines of their own, one level in.
    Open,
    /// `}`: on a line of its own, one level out.
    Close,
    /// `,`: no space before; a line may break after it.
    Comma,
    /// `:`: no space before.
    Colon,
}

/// One layout event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Event<'a> {
    /// A word of the source, kept as written.
    Word(&'a str, Word),
    /// A comment (`// ...` or `/* ... */`).
    Comment {
        /// Its text, as written.
        text: &'a str,
        /// How many line breaks stood between it and what came before.
        breaks_before: usize,
        /// A line break followed it in the source (always true for `//`).
        break_after: bool,
        /// It stands where entries stand (inside braces, or at the top level), not in the
        /// middle of a header.
        entry_level: bool,
    },
    /// The next word starts an entry: a top-level item or an entry inside braces.
    Entry {
        /// A blank line stood before it in the source.
        blank: bool,
    },
    /// The next word starts a comma list; `hard` lists put every element on its own line.
    ListStart {
        /// One element per line.
        hard: bool,
    },
    /// The list ends.
    ListEnd,
}

/// Rules that are one word even though pest gives them inner pairs.
fn verbatim(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::string | Rule::text_block | Rule::rhai | Rule::quantity
    )
}

/// Where a walk's events go.
pub(super) trait Sink<'a> {
    /// Takes the next event.
    fn event(&mut self, event: Event<'a>);
}

impl<'a, F: FnMut(Event<'a>)> Sink<'a> for F {
    fn event(&mut self, event: Event<'a>) {
        self(event);
    }
}

/// Turns parsed files into events, one stretch of a file after another (see
/// [`crate::syntax::batch`]), giving each event to a sink as it comes.
pub(super) struct Walker<S> {
    sink: S,
    /// Line breaks since the last word or comment (a gap runs on into the next stretch).
    breaks: usize,
}

impl<'a, S: Sink<'a>> Walker<S> {
    /// A walker that gives its events to `sink`.
    pub(super) fn new(sink: S) -> Walker<S> {
        Walker { sink, breaks: 0 }
    }

    /// The sink, between two stretches.
    pub(super) fn sink(&mut self) -> &mut S {
        &mut self.sink
    }

    /// The sink, once the walk is over.
    pub(super) fn into_sink(self) -> S {
        self.sink
    }

    /// Emits the events of `src`, a stretch of a file, whose `file` pair is `file`; the
    /// next stretch goes on where it ends.
    pub(super) fn file(&mut self, src: &'a str, file: Pair<'a, Rule>) {
        let end = self.pair(src, file, true);
        self.gap(src, end, src.len(), Rule::file, &mut 1);
    }

    fn emit(&mut self, event: Event<'a>) {
        self.sink.event(event);
    }

    /// Emits one pair; returns where it really ends: white space and comments that pest
    /// left at the end of its span (before an optional part that was absent) belong to
    /// the parent, which emits them at its own level.
    fn pair(&mut self, src: &'a str, pair: Pair<'a, Rule>, top: bool) -> usize {
        let rule = pair.as_rule();
        let span = pair.as_span();
        if verbatim(rule) {
            self.word(span.as_str(), Word::Plain);
            return span.end();
        }
        // Looked at as they come (most pairs are leaves, or have one or two children).
        let mut children = pair
            .into_inner()
            .filter(|c| c.as_rule() != Rule::EOI)
            .peekable();
        if !top && children.peek().is_none() && !span.as_str().contains(['{', '}']) {
            self.word(span.as_str(), Word::Plain);
            return span.end();
        }
        let list = match rule {
            Rule::ident_list | Rule::string_list | Rule::artifact_refs | Rule::rule_actions => {
                Some(false)
            }
            // Two or more `name = "path"` declarations: one per line.
            Rule::opt_produces => Some(
                children
                    .clone()
                    .filter(|c| Pair::clone(c).into_inner().count() == 2)
                    .count()
                    >= 2,
            ),
            _ => None,
        };
        // Braces open at this level; the top level counts as one.
        let mut depth = usize::from(top);
        let mut pos = span.start();
        let mut first = true;
        for child in children {
            let start = child.as_span().start();
            self.gap(src, pos, start, rule, &mut depth);
            if depth > 0 {
                self.emit(Event::Entry {
                    blank: self.breaks >= 2,
                });
            }
            if first && child.as_rule() != Rule::kw_produces {
                if let Some(hard) = list {
                    self.emit(Event::ListStart { hard });
                }
                first = false;
            }
            pos = self.pair(src, child, false);
        }
        if list.is_some() && !first {
            self.emit(Event::ListEnd);
        }
        if top {
            return pos;
        }
        // Punctuation left at the end (a closing brace) is this pair's; white space and
        // comments after it are the parent's.
        let tail = &src[pos..span.end()];
        let own = last_punctuation_end(tail).map_or(pos, |n| pos + n);
        self.gap(src, pos, own, rule, &mut depth);
        own
    }

    fn word(&mut self, text: &'a str, kind: Word) {
        self.emit(Event::Word(text, kind));
        self.breaks = 0;
    }

    /// Emits the punctuation and comments between two words.
    fn gap(&mut self, src: &'a str, from: usize, to: usize, rule: Rule, depth: &mut usize) {
        let text = &src[from..to];
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let rest = &text[i..];
            let c = bytes[i];
            if c == b'\n' {
                self.breaks += 1;
                i += 1;
            } else if c.is_ascii_whitespace() {
                i += 1;
            } else if rest.starts_with("//") || rest.starts_with("/*") {
                let len = comment_len(rest);
                let comment = &rest[..len];
                let after = src[from + i + len..].trim_start_matches([' ', '\t', '\r']);
                let break_after =
                    comment.starts_with("//") || after.starts_with('\n') || after.is_empty();
                self.emit(Event::Comment {
                    text: comment.trim_end(),
                    breaks_before: self.breaks,
                    break_after,
                    entry_level: *depth > 0,
                });
                self.breaks = 0;
                i += len;
            } else {
                let (len, kind) = punctuation(rest);
                // A comma after an `assign` arm is optional: arms stand on lines of their own.
                let dropped = rule == Rule::assign_arm && kind == Word::Comma;
                match kind {
                    Word::Open => *depth += 1,
                    Word::Close => *depth = depth.saturating_sub(1),
                    _ => {}
                }
                if !dropped {
                    self.word(&rest[..len], kind);
                }
                i += len;
            }
        }
    }
}

/// The punctuation word at the start of `text` (the grammar's literals between words).
fn punctuation(text: &str) -> (usize, Word) {
    for (p, kind) in [
        ("=>", Word::Plain),
        ("->", Word::Plain),
        ("{", Word::Open),
        ("}", Word::Close),
        (",", Word::Comma),
        (":", Word::Colon),
        ("=", Word::Plain),
    ] {
        if text.starts_with(p) {
            return (p.len(), kind);
        }
    }
    // Not punctuation the grammar has: keep the character as a word of its own (the
    // check in `format` then finds whether anything was lost).
    let len = text.chars().next().map_or(1, char::len_utf8);
    (len, Word::Plain)
}

/// Where the last punctuation in `text` ends (skipping white space and comments).
fn last_punctuation_end(text: &str) -> Option<usize> {
    let mut i = 0;
    let mut last = None;
    while i < text.len() {
        let rest = &text[i..];
        let c = rest.chars().next().map_or(' ', |c| c);
        if c.is_whitespace() {
            i += c.len_utf8();
        } else if rest.starts_with("//") || rest.starts_with("/*") {
            i += comment_len(rest);
        } else {
            i += punctuation(rest).0;
            last = Some(i);
        }
    }
    last
}
