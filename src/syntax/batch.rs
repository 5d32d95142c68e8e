//! Parses the chunks of a file (see [`split`](super::split)) a batch at a time: pest's cost
//! to start a parse and build its pairs is paid once for many small items instead of once
//! for each, which halves the parse of a file of many short items. The result is the one
//! of parsing every chunk alone; a batch that does not give it is parsed chunk by chunk.

use super::grammar::{BmadParser, Rule};
use super::split::Chunk;
use pest::Parser;
use pest::iterators::Pair;

/// Chunks are parsed together up to about this many bytes: pest's token queue, which grows
/// by doubling in every parse, then stays small enough for the allocator to give the memory
/// the last batch freed (at 32 KB it grew, by an estimate of 10 tokens of 48 bytes for each
/// 60-byte story, to about half a megabyte, onto fresh memory each time).
/// Starting a parse is still paid once for a hundred short items.
pub(super) const BATCH_BYTES: usize = 8 * 1024;

/// What parsing a stretch of a file gave.
pub enum Piece<'a, 'c> {
    /// The `file` pair of `text[offset..end]`: one chunk or several, each of which parses
    /// alone into exactly its items here.
    Parsed {
        /// Where the stretch starts in the file (the pair's positions are relative to it).
        offset: usize,
        /// Where it ends.
        end: usize,
        /// Its `file` pair.
        file: Pair<'a, Rule>,
    },
    /// A chunk that does not parse: too deep or unterminated (never given to pest), or
    /// refused by pest with `error`.
    Failed {
        /// The chunk.
        chunk: &'c Chunk,
        /// pest's error, when pest was run on it.
        error: Option<Box<pest::error::Error<Rule>>>,
    },
}

/// Whether pest may be run on a chunk, and whether it could parse: a chunk nested too
/// deep would exhaust the stack, one with an unterminated string or an unclosed brace
/// cannot parse.
fn parsable(chunk: &Chunk) -> bool {
    chunk.too_deep_at.is_none() && chunk.unterminated.is_none() && chunk.unclosed_brace.is_none()
}

/// Parses the `chunks` of `text` in order, giving each stretch to `f` as it is parsed.
pub fn parse<'a, 'c>(text: &'a str, chunks: &'c [Chunk], mut f: impl FnMut(Piece<'a, 'c>)) {
    let mut i = 0;
    while i < chunks.len() {
        let first = &chunks[i];
        if first.too_deep_at.is_some() || first.unterminated.is_some() {
            f(Piece::Failed {
                chunk: first,
                error: None,
            });
            i += 1;
            continue;
        }
        match several(text, &chunks[i..]) {
            Batch::Parsed {
                taken,
                offset,
                end,
                file,
            } => {
                f(Piece::Parsed { offset, end, file });
                i += taken;
            }
            Batch::Alone(taken) => {
                for chunk in &chunks[i..i + taken] {
                    f(alone(text, chunk));
                }
                i += taken;
            }
        }
    }
}

/// What [`several`] made of the chunks it was given.
pub enum Batch<'a> {
    /// The first `taken` chunks parsed together into `file`, the stretch
    /// `text[offset..end]`, each chunk's items exactly as parsing it alone gives them.
    Parsed {
        /// How many chunks the stretch holds (at least two).
        taken: usize,
        /// Where the stretch starts in the file.
        offset: usize,
        /// Where it ends.
        end: usize,
        /// Its `file` pair.
        file: Pair<'a, Rule>,
    },
    /// The first this many chunks are to be parsed one at a time (a batch of them did not
    /// parse, or there was one).
    Alone(usize),
}

/// Parses the first of `chunks` with as many of the chunks after it as fit in a batch.
pub fn several<'a>(text: &'a str, chunks: &[Chunk]) -> Batch<'a> {
    let Some(first) = chunks.first().filter(|c| parsable(c)) else {
        return Batch::Alone(1);
    };
    let taken = chunks
        .iter()
        .take_while(|c| parsable(c) && c.end - first.start <= BATCH_BYTES)
        .count()
        .max(1);
    if taken < 2 {
        return Batch::Alone(1);
    }
    let (offset, end) = (first.start, chunks[taken - 1].end);
    if let Ok(mut pairs) = BmadParser::parse(Rule::file, &text[offset..end])
        && let Some(file) = pairs.next()
        && aligned(&file, &chunks[1..taken], offset)
    {
        return Batch::Parsed {
            taken,
            offset,
            end,
            file,
        };
    }
    Batch::Alone(taken)
}

/// One chunk parsed alone.
fn alone<'a, 'c>(text: &'a str, chunk: &'c Chunk) -> Piece<'a, 'c> {
    let parsed = BmadParser::parse(Rule::file, &text[chunk.start..chunk.end]);
    match parsed.map(|mut pairs| pairs.next()) {
        Ok(Some(file)) => Piece::Parsed {
            offset: chunk.start,
            end: chunk.end,
            file,
        },
        Ok(None) => Piece::Failed { chunk, error: None },
        Err(e) => Piece::Failed {
            chunk,
            error: Some(Box::new(e)),
        },
    }
}

/// True when every chunk after the first of a batch starts an item of the batch's parse.
/// Then no item runs from one chunk into the next, and each chunk parses alone into the
/// same items: what an item looks at past its end (an optional part, a keyword's next
/// character) is the white space at the end of its chunk or the next chunk's first word,
/// and an optional part that took that word would run into the next chunk.
fn aligned(file: &Pair<'_, Rule>, rest: &[Chunk], offset: usize) -> bool {
    let mut starts = rest.iter().map(|c| c.start - offset).peekable();
    for item in file.clone().into_inner() {
        let at = item.as_span().start();
        match starts.peek() {
            Some(&s) if s == at => {
                starts.next();
            }
            Some(&s) if s < at => return false,
            _ => {}
        }
    }
    starts.peek().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::split::split;

    /// The stretches of `text`: (start, end) of each parsed one, or the start of a chunk
    /// that failed.
    fn pieces(text: &str) -> Vec<Result<(usize, usize), usize>> {
        let chunks = split(text);
        let mut out = Vec::new();
        parse(text, &chunks, |p| {
            out.push(match p {
                Piece::Parsed { offset, end, .. } => Ok((offset, end)),
                Piece::Failed { chunk, .. } => Err(chunk.start),
            });
        });
        out
    }

    #[test]
    fn chunks_that_parse_go_in_one_batch() {
        let text = "phase a {\n  x: y\n}\nphase b after a {\n  x: y\n}\n";
        assert_eq!(pieces(text), vec![Ok((0, text.len()))]);
    }

    #[test]
    fn a_chunk_that_fails_is_parsed_alone_and_the_rest_still_parse() {
        let text = "phase a {\n  x: y\n}\nphase {\n}\nphase c {\n}\n";
        assert_eq!(pieces(text), vec![Ok((0, 19)), Err(19), Ok((29, 41))]);
    }

    #[test]
    fn an_item_that_runs_into_the_next_chunk_is_not_taken_from_the_batch() {
        // Parsed together, `provided` would be the artifact's flag; alone, the second
        // chunk is not an item (what `bmad check` has always said).
        let text = "artifact a = \"a.md\"\nprovided\n";
        assert_eq!(pieces(text), vec![Ok((0, 20)), Err(20)]);
    }

    #[test]
    fn deep_and_unterminated_chunks_are_not_given_to_pest() {
        let deep = format!("phase a {}{}\n", "{".repeat(100), "}".repeat(100));
        let text = format!("phase a {{\n}}\n{deep}agent b {{\n  role \"x\n}}\n");
        assert_eq!(
            pieces(&text),
            vec![Ok((0, 12)), Err(12), Err(12 + deep.len())]
        );
    }
}
