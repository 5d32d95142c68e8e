//! Syntax highlighting of the line being typed: keywords, strings and text blocks, rhai
//! code, numbers with units, comments and `:` commands, in ANSI colours. The coloured
//! text has the same width as the input (the line editor requires it).

use crate::syntax::tokens::{self, Kind};

const KEYWORD: &str = "\x1b[1;34m";
const STRING: &str = "\x1b[32m";
const RHAI: &str = "\x1b[36m";
const NUMBER: &str = "\x1b[33m";
const COMMENT: &str = "\x1b[2m";
const COMMAND: &str = "\x1b[1;35m";
const RESET: &str = "\x1b[0m";

/// `line` with ANSI colours.
pub fn highlight(line: &str) -> String {
    let mut out = String::with_capacity(line.len() * 2);
    let trimmed = line.trim_start();
    if trimmed.starts_with(':') {
        let indent = line.len() - trimmed.len();
        let end = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
        out.push_str(&line[..indent]);
        paint(&mut out, COMMAND, &trimmed[..end]);
        out.push_str(&trimmed[end..]);
        return out;
    }
    for t in tokens::tokens(line) {
        let piece = &line[t.start..t.start + t.len];
        let colour = match t.kind {
            Kind::Keyword => KEYWORD,
            Kind::String => STRING,
            Kind::Rhai => RHAI,
            Kind::Number => NUMBER,
            Kind::Comment => COMMENT,
            Kind::Name | Kind::Other => {
                out.push_str(piece);
                continue;
            }
        };
        paint(&mut out, colour, piece);
    }
    out
}

fn paint(out: &mut String, colour: &str, text: &str) {
    out.push_str(colour);
    out.push_str(text);
    out.push_str(RESET);
}

#[cfg(test)]
mod tests {
    use super::highlight;

    fn strip(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn colours_keep_the_text_and_mark_each_kind() {
        let line = "phase p max 3 { sh \"make \\\"x\\\"\" timeout 30s } // done `rhai` ";
        let lit = highlight(line);
        assert_eq!(strip(&lit), line);
        assert!(lit.starts_with("\x1b[1;34mphase\x1b[0m p "));
        assert!(lit.contains("\x1b[33m30s\x1b[0m"));
        assert!(lit.contains("\x1b[32m\"make \\\"x\\\"\"\x1b[0m"));
        assert!(lit.contains("\x1b[2m// done `rhai` \x1b[0m"));
        assert_eq!(highlight(":graph build"), "\x1b[1;35m:graph\x1b[0m build");
        let open = "check c = `1 + ";
        assert_eq!(strip(&highlight(open)), open);
    }
}
