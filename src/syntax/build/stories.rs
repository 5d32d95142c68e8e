//! Builds stories.

use super::kids;
use crate::source::Span;
use crate::syntax::ast::{FileChange, NewFile, Story};
use crate::syntax::builder::{Builder, P, push_exact};
use crate::syntax::grammar::Rule;

impl Builder<'_> {
    pub(super) fn story(&mut self, p: P, span: Span) -> Option<Story> {
        let mut k = kids(p);
        let id = self.string_name(k.next()?);
        let story_type = self.next_name(&mut k, span);
        let mut s = Story::new(id, story_type, span);
        for e in k {
            let rule = e.as_rule();
            let mut v = kids(e);
            match rule {
                Rule::st_epic => s.epic = v.next().map(|c| self.string_name(c)),
                Rule::st_title => s.title = v.next().map(|c| self.text(c)),
                Rule::st_from_prd => s.from_prd = v.next().map(|c| self.text(c)),
                Rule::st_from_arch => s.from_arch = v.next().map(|c| self.text(c)),
                Rule::st_after => {
                    if let Some(l) = v.next() {
                        s.after.extend(l.into_inner().map(|c| self.string_name(c)));
                    }
                }
                Rule::st_modify => {
                    if let Some(path) = v.next().map(|c| self.text(c)) {
                        let changes = v.next().map(|c| self.text(c));
                        push_exact(&mut s.modify, FileChange { path, changes });
                    }
                }
                Rule::st_create => {
                    if let Some(path) = v.next().map(|c| self.text(c)) {
                        let template = v.next().map(|c| self.text(c));
                        push_exact(&mut s.create, NewFile { path, template });
                    }
                }
                Rule::st_accept => {
                    if let Some(t) = v.next().map(|c| self.text(c)) {
                        push_exact(&mut s.accept, t);
                    }
                }
                _ => {}
            }
        }
        Some(s)
    }
}
