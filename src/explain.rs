//! The long explanation of every diagnostic code (`bmad explain CODE`): what it means, why
//! bmad reports it, a wrong example and a right one. The texts are docs/codes/*.md, built
//! into the binary; a test checks each wrong example gives its code and each right one
//! checks clean.

use crate::diagnostic::Code;

/// The explanation of `code`, as Markdown.
pub fn explanation(code: Code) -> &'static str {
    match code {
        Code::Io => include_str!("../docs/codes/io.md"),
        Code::Encoding => include_str!("../docs/codes/encoding.md"),
        Code::EmptyFile => include_str!("../docs/codes/empty-file.md"),
        Code::TooDeep => include_str!("../docs/codes/too-deep.md"),
        Code::Syntax => include_str!("../docs/codes/syntax.md"),
        Code::ImportNotFound => include_str!("../docs/codes/import-not-found.md"),
        Code::ImportCycle => include_str!("../docs/codes/import-cycle.md"),
        Code::InvalidLiteral => include_str!("../docs/codes/invalid-literal.md"),
        Code::UnitMismatch => include_str!("../docs/codes/unit-mismatch.md"),
        Code::Undefined => include_str!("../docs/codes/undefined.md"),
        Code::Duplicate => include_str!("../docs/codes/duplicate.md"),
        Code::DependencyCycle => include_str!("../docs/codes/dependency-cycle.md"),
        Code::ParallelTooWide => include_str!("../docs/codes/parallel-too-wide.md"),
        Code::LimitExceeded => include_str!("../docs/codes/limit-exceeded.md"),
        Code::ArtifactNotProduced => include_str!("../docs/codes/artifact-not-produced.md"),
        Code::Unreachable => include_str!("../docs/codes/unreachable.md"),
        Code::UnboundedLoop => include_str!("../docs/codes/unbounded-loop.md"),
        Code::Verdict => include_str!("../docs/codes/verdict.md"),
        Code::UnknownSetting => include_str!("../docs/codes/unknown-setting.md"),
        Code::Missing => include_str!("../docs/codes/missing.md"),
        Code::ScriptSyntax => include_str!("../docs/codes/script-syntax.md"),
        Code::ScriptUndefined => include_str!("../docs/codes/script-undefined.md"),
        Code::Unused => include_str!("../docs/codes/unused.md"),
        Code::PathOutside => include_str!("../docs/codes/path-outside.md"),
        Code::ProjectFormat => include_str!("../docs/codes/project-format.md"),
        Code::UnknownStatus => include_str!("../docs/codes/unknown-status.md"),
        Code::GitRemote => include_str!("../docs/codes/git-remote.md"),
    }
}

/// The code named `name`: `bmad::undefined` or just `undefined`.
pub fn lookup(name: &str) -> Option<Code> {
    let short = name.trim().strip_prefix("bmad::").unwrap_or(name.trim());
    Code::ALL
        .into_iter()
        .find(|c| c.as_str().strip_prefix("bmad::") == Some(short))
}

/// The one-line summary of `code` (its explanation's title).
pub fn title(code: Code) -> &'static str {
    let first = explanation(code).lines().next().unwrap_or("");
    first.split_once(": ").map_or(first, |(_, t)| t)
}

/// A fenced example: its language (`bmad` or `text`) and its text.
pub type Example = (String, String);

/// The examples of an explanation: the fenced blocks under "## Wrong" and "## Right".
pub fn examples(text: &str) -> (Vec<Example>, Vec<Example>) {
    let (mut wrong, mut right) = (Vec::new(), Vec::new());
    let mut section = "";
    let mut block: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some((lang, body)) = block.as_mut() {
            if line == "```" {
                let done = (std::mem::take(lang), std::mem::take(body));
                match section {
                    "wrong" => wrong.push(done),
                    "right" => right.push(done),
                    _ => {}
                }
                block = None;
            } else {
                body.push_str(line);
                body.push('\n');
            }
        } else if let Some(lang) = line.strip_prefix("```") {
            block = Some((lang.to_string(), String::new()));
        } else if line == "## Wrong" {
            section = "wrong";
        } else if line == "## Right" {
            section = "right";
        }
    }
    (wrong, right)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_found_by_either_name() {
        assert_eq!(lookup("bmad::undefined"), Some(Code::Undefined));
        assert_eq!(lookup("unit-mismatch"), Some(Code::UnitMismatch));
        assert_eq!(lookup("nope"), None);
        assert_eq!(title(Code::Undefined), "a name that is not defined");
    }
}
