//! Checks formatted text piece by piece as the layout gives it, on a thread of its own for
//! a large text: each piece must parse item by item, as `bmad check` parses, into the words
//! and comments of the input it was laid out from. While the output is the input itself,
//! its pieces wait: an output equal to its input was just parsed, with these words.

use super::walk::Event;
use super::{Error, Parse};
use std::sync::mpsc::{Sender, channel};
use std::thread::{Scope, ScopedJoinHandle};

/// A piece of output and the input's words and comments it must hold.
type Piece<'a> = (String, Vec<&'a str>);

/// Checks the output as it comes; [`Verifier::finish`] gives it whole.
pub(super) enum Verifier<'scope, 'a> {
    /// On a thread of its own.
    Thread {
        /// Where the pieces go.
        pieces: Sender<Piece<'a>>,
        /// The thread.
        thread: ScopedJoinHandle<'scope, Result<String, Error>>,
    },
    /// On the caller's thread.
    Here(Check<'a>),
}

impl<'scope, 'a: 'scope> Verifier<'scope, 'a> {
    /// A verifier of the output of `input`: on a thread of `scope` when `threaded` (and
    /// the system gives one).
    pub(super) fn start<'env>(
        scope: &'scope Scope<'scope, 'env>,
        input: &'a str,
        threaded: bool,
    ) -> Verifier<'scope, 'a> {
        if threaded {
            let (tx, rx) = channel::<Piece<'a>>();
            let spawned = std::thread::Builder::new()
                .name("fmt-check".into())
                .spawn_scoped(scope, move || {
                    let mut check = Check::new(input);
                    for (text, words) in rx {
                        check.piece(text, words);
                    }
                    check.finish()
                });
            if let Ok(thread) = spawned {
                return Verifier::Thread { pieces: tx, thread };
            }
        }
        Verifier::Here(Check::new(input))
    }

    /// The next piece of output, laid out from the input whose words and comments are
    /// `words`.
    pub(super) fn piece(&mut self, text: String, words: Vec<&'a str>) {
        match self {
            // A send fails only when the thread is gone (it panicked): `finish` says so.
            Verifier::Thread { pieces, .. } => {
                let _ = pieces.send((text, words));
            }
            Verifier::Here(check) => check.piece(text, words),
        }
    }

    /// The whole output, once every piece is checked.
    pub(super) fn finish(self) -> Result<String, Error> {
        match self {
            Verifier::Thread { pieces, thread } => {
                drop(pieces);
                thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            }
            Verifier::Here(check) => check.finish(),
        }
    }
}

/// The state of the check.
pub(super) struct Check<'a> {
    input: &'a str,
    /// The pieces so far, in order.
    pieces: Vec<String>,
    /// Their length together.
    len: usize,
    /// The words of the pieces not checked yet, while the output is the input so far.
    waiting: Vec<(usize, Vec<&'a str>)>,
    /// The output so far is the input so far.
    same: bool,
    /// The first piece that did not pass.
    error: Option<Error>,
}

impl<'a> Check<'a> {
    fn new(input: &'a str) -> Check<'a> {
        Check {
            input,
            pieces: Vec::new(),
            len: 0,
            waiting: Vec::new(),
            same: true,
            error: None,
        }
    }

    fn piece(&mut self, text: String, words: Vec<&'a str>) {
        let at = self.len;
        self.len += text.len();
        if self.error.is_none() {
            if self.same && self.input.get(at..self.len) == Some(text.as_str()) {
                self.waiting.push((self.pieces.len(), words));
            } else {
                self.check_waiting();
                if self.error.is_none() {
                    self.error = compare(&text, &words).err();
                }
            }
        }
        self.pieces.push(text);
    }

    /// Checks the pieces that waited: the output is not its input after all.
    fn check_waiting(&mut self) {
        self.same = false;
        for (i, words) in std::mem::take(&mut self.waiting) {
            if self.error.is_none() {
                self.error = compare(&self.pieces[i], &words).err();
            }
        }
    }

    fn finish(mut self) -> Result<String, Error> {
        if self.same && self.len != self.input.len() {
            self.check_waiting();
        }
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut out = String::with_capacity(self.len);
        for p in &self.pieces {
            out.push_str(p);
        }
        Ok(out)
    }
}

/// Checks that `output` parses (as `bmad check` parses it) into `words`: the words and
/// comments of the input it was laid out from.
pub(super) fn compare(output: &str, words: &[&str]) -> Result<(), Error> {
    compare_as(output, Parse::Items, words)
}

/// [`compare`], `output` parsed as `parse` says.
pub(super) fn compare_as(output: &str, parse: Parse, words: &[&str]) -> Result<(), Error> {
    let mut count = 0;
    let mut difference = None;
    super::walk(output, parse, |event: Event<'_>| {
        if let Some(w) = super::word(&event) {
            if difference.is_none() && words.get(count) != Some(&w) {
                difference = Some((count, Some(w.to_string())));
            }
            count += 1;
        }
    })?;
    if difference.is_none() && count != words.len() {
        difference = Some((count, None));
    }
    match difference {
        None => Ok(()),
        Some((i, output)) => {
            let shown =
                |w: Option<&str>| w.map_or_else(|| "(end)".to_string(), |w| format!("`{w}`"));
            Err(Error::Changed {
                first_difference: format!(
                    "{} / {}",
                    shown(words.get(i).copied()),
                    shown(output.as_deref())
                ),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<&str> {
        text.split_whitespace().collect()
    }

    #[test]
    fn pieces_that_are_the_input_wait_and_are_never_parsed() {
        // Not even a workflow: pieces equal to their input are taken as they are.
        let input = "not a workflow at all";
        let mut check = Check::new(input);
        check.piece("not a ".into(), vec!["wrong"]);
        check.piece("workflow at all".into(), vec![]);
        assert_eq!(check.finish().as_deref(), Ok(input));
    }

    #[test]
    fn a_piece_that_differs_has_the_pieces_that_waited_checked() {
        let input = "phase a {}\nphase b   {}\n";
        let mut check = Check::new(input);
        check.piece("phase a {}".into(), vec!["phase", "x", "{", "}"]);
        check.piece("\nphase b {}\n".into(), words("phase b { }"));
        let Err(Error::Changed { first_difference }) = check.finish() else {
            panic!("the first piece's words were wrong");
        };
        assert_eq!(first_difference, "`x` / `a`");
    }

    #[test]
    fn an_output_shorter_than_its_input_is_checked() {
        let mut check = Check::new("phase a {}\n// the end\n");
        check.piece("phase a {}\n".into(), words("phase a { } // the end"));
        let Err(Error::Changed { first_difference }) = check.finish() else {
            panic!("a comment went missing");
        };
        assert_eq!(first_difference, "`//` / (end)");
    }

    #[test]
    fn a_piece_that_does_not_parse_is_refused() {
        let mut check = Check::new("phase a {}\n");
        check.piece("phase a {\n".into(), words("phase a {"));
        assert_eq!(check.finish(), Err(Error::Syntax));
    }
}
