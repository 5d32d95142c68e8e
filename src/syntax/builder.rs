//! The builder of the syntax tree and its small shared pieces: spans, names, texts,
//! quantities, counts, scripts, conditions and artifact references.

use super::grammar::Rule;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::literal::{parse_quantity, unescape};
use crate::model::step::{ArtifactRef, Cond, Count, Name, Quantity, Script, Text};
use crate::source::{FileId, Span};
use compact_str::CompactString;
use pest::iterators::Pair;

/// Turns pest pairs into AST nodes, collecting literal diagnostics on the way.
pub(super) struct Builder<'d> {
    /// The file being built.
    pub file: FileId,
    /// Byte offset of the chunk being built within the file.
    pub offset: usize,
    /// Diagnostics found while building.
    pub diags: &'d mut Vec<Diagnostic>,
}

/// Shorthand for a pest pair of this grammar.
pub(super) type P<'i> = Pair<'i, Rule>;

// Pairs are taken by value, as pest's iterators hand them out (a pair is a cheap cursor).
#[allow(clippy::needless_pass_by_value)]
impl Builder<'_> {
    /// The span of a pair in file coordinates.
    pub(super) fn span(&self, p: &P) -> Span {
        let s = p.as_span();
        Span::new(self.file, self.offset + s.start(), self.offset + s.end())
    }

    /// A name from an `ident`, `path`, `agent_ref` or `match_pattern` pair.
    pub(super) fn name(&self, p: P) -> Name {
        Name {
            name: p.as_str().into(),
            span: self.span(&p),
        }
    }

    /// A name from a `string` pair (story and epic ids).
    pub(super) fn string_name(&self, p: P) -> Name {
        let text = self.text(p);
        Name {
            name: text.value,
            span: text.span,
        }
    }

    /// The names of an `ident_list`.
    pub(super) fn names(&self, p: P) -> Vec<Name> {
        let inner = p.into_inner();
        // Sized by the pairs in the list (collecting a filter would hold four places).
        let mut names = Vec::with_capacity(inner.len());
        names.extend(
            inner
                .filter(|c| c.as_rule() == Rule::ident)
                .map(|c| self.name(c)),
        );
        names
    }

    /// The texts of a `string_list`.
    pub(super) fn texts(&self, p: P) -> Vec<Text> {
        p.into_inner().map(|c| self.text(c)).collect()
    }

    /// A text from a `string` or `text_block` pair.
    pub(super) fn text(&self, p: P) -> Text {
        let span = self.span(&p);
        let inner = p.into_inner().next();
        let value = match inner {
            Some(i) if i.as_rule() == Rule::text_inner => dedent(i.as_str()).into(),
            Some(i) if i.as_str().contains('\\') => unescape(i.as_str()).into(),
            Some(i) => i.as_str().into(),
            None => CompactString::default(),
        };
        Text { value, span }
    }

    /// A typed literal; a malformed one is reported and kept with no value.
    pub(super) fn quantity(&mut self, p: P) -> Quantity {
        let span = self.span(&p);
        let value = match parse_quantity(p.as_str()) {
            Ok(v) => Some(v),
            Err(e) => {
                self.diags.push(
                    Diagnostic::error(Code::InvalidLiteral, e.message.clone())
                        .at(span, "not a valid literal")
                        .help(e.help),
                );
                None
            }
        };
        Quantity { value, span }
    }

    /// A whole number from an `int` pair.
    pub(super) fn count(&mut self, p: P) -> Count {
        let span = self.span(&p);
        let digits: String = p.as_str().chars().filter(|c| *c != '_').collect();
        let value = digits.parse().unwrap_or_else(|_| {
            self.diags.push(
                Diagnostic::error(
                    Code::InvalidLiteral,
                    format!("`{}` is too large", p.as_str()),
                )
                .at(span, "too large")
                .help("use a number below 2^64"),
            );
            0
        });
        Count { value, span }
    }

    /// The number of a `max_clause`.
    pub(super) fn max(&mut self, p: P) -> Option<Count> {
        p.into_inner()
            .find(|c| c.as_rule() == Rule::int)
            .map(|c| self.count(c))
    }

    /// rhai code from a `rhai` pair.
    pub(super) fn script(&self, p: P) -> Script {
        let code = p.into_inner().next();
        match code {
            Some(c) => Script {
                code: c.as_str().to_string(),
                span: self.span(&c),
            },
            None => Script {
                code: String::new(),
                span: Span::default(),
            },
        }
    }

    /// A condition from a `cond` pair.
    pub(super) fn cond(&self, p: P) -> Cond {
        match p.into_inner().next() {
            Some(c) if c.as_rule() == Rule::rhai => Cond::Script(self.script(c)),
            Some(c) => Cond::Path(self.name(c)),
            None => Cond::Path(missing(Span::default())),
        }
    }

    /// The artifacts of an `artifact_refs` pair.
    pub(super) fn artifact_refs(&self, p: P) -> Vec<ArtifactRef> {
        p.into_inner()
            .map(|c| match c.as_rule() {
                Rule::string => ArtifactRef::Path(self.text(c)),
                _ => ArtifactRef::Named(self.name(c)),
            })
            .collect()
    }

    /// The first quantity inside a pair (`timeout 5s`, `backoff 1s`).
    pub(super) fn first_quantity(&mut self, p: P) -> Option<Quantity> {
        p.into_inner()
            .find(|c| c.as_rule() == Rule::quantity)
            .map(|c| self.quantity(c))
    }

    /// The next child as a name, or a placeholder the checker ignores.
    pub(super) fn next_name<'i>(&self, kids: &mut impl Iterator<Item = P<'i>>, at: Span) -> Name {
        kids.find(|c| !is_keyword(c.as_rule()))
            .map_or_else(|| missing(at), |c| self.name(c))
    }
}

/// A name that is not there: a placeholder the checker ignores.
pub(super) fn missing(span: Span) -> Name {
    Name {
        name: CompactString::default(),
        span,
    }
}

/// Text that is not there.
pub(super) fn missing_text(span: Span) -> Text {
    Text {
        value: CompactString::default(),
        span,
    }
}

/// Pushes `x`, holding one place when it is the first item: most lists of an item (a
/// story's files and criteria) hold one, and a list grown by push holds four. A workflow
/// can have a hundred thousand stories.
pub(super) fn push_exact<T>(v: &mut Vec<T>, x: T) {
    if v.capacity() == 0 {
        v.reserve_exact(1);
    }
    v.push(x);
}

/// True for the `kw_*` rules (keywords carry no data).
pub(super) fn is_keyword(rule: Rule) -> bool {
    let r = rule as usize;
    r >= Rule::kw_accept as usize && r <= Rule::kw_workflow as usize
}

/// Removes the common indentation of a `"""` text block and its first and last blank lines.
fn dedent(raw: &str) -> String {
    let lines: Vec<&str> = raw.lines().collect();
    let body: Vec<&str> = lines
        .iter()
        .copied()
        .skip_while(|l| l.trim().is_empty())
        .collect();
    let end = body
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .map_or(0, |i| i + 1);
    let body = &body[..end];
    let indent = body
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    body.iter()
        .map(|l| l.get(indent..).unwrap_or("").trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_rules_are_contiguous() {
        assert!(is_keyword(Rule::kw_check));
        assert!(is_keyword(Rule::kw_accept));
        assert!(is_keyword(Rule::kw_workflow));
        assert!(!is_keyword(Rule::ident));
        assert!(!is_keyword(Rule::EOI));
        assert!(!is_keyword(Rule::workflow));
    }

    #[test]
    fn text_blocks_are_dedented() {
        assert_eq!(dedent("\n    a\n      b\n  "), "a\n  b");
    }
}
