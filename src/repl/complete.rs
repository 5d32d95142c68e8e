//! Tab completion: the language's keywords, the REPL's commands and the names the
//! session's workflow defines.

use super::commands::COMMANDS;

/// Where the word being completed starts in `line` (the cursor at `pos`) and the
/// candidates for it. `names` are the session's definitions.
pub fn complete(line: &str, pos: usize, names: &[(&'static str, String)]) -> (usize, Vec<String>) {
    let before = &line[..pos];
    let start = before
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '.')))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word = &before[start..];
    let at_line_start = start == before.len() - before.trim_start().len();
    if let Some(command) = word.strip_prefix(':').filter(|_| at_line_start) {
        let found = COMMANDS
            .iter()
            .filter(|(c, _, _)| c.starts_with(command))
            .map(|(c, _, _)| format!(":{c}"))
            .collect();
        return (start, found);
    }
    // `dev:` completes the word after the colon (a task list follows an agent).
    let (start, word) = match word.rfind(':') {
        Some(i) => (start + i + 1, &word[i + 1..]),
        None => (start, word),
    };
    if word.is_empty() {
        return (start, Vec::new());
    }
    // A command's argument (`:run build`) is a name of the workflow, never a keyword, and
    // only of the kinds the command takes.
    let command = before
        .trim_start()
        .strip_prefix(':')
        .and_then(|c| c.split_whitespace().next());
    let keywords: &[&str] = if command.is_some() {
        &[]
    } else {
        crate::syntax::keywords::all()
    };
    let takes = |kind: &str| match command {
        Some("run") => matches!(
            kind,
            "phase" | "procedure" | "heal" | "maintenance" | "emergency"
        ),
        Some("graph") => matches!(
            kind,
            "phase" | "procedure" | "heal" | "monitor" | "maintenance" | "emergency"
        ),
        _ => true,
    };
    let mut found: Vec<String> = keywords
        .iter()
        .copied()
        .chain(
            names
                .iter()
                .filter(|(kind, _)| takes(kind))
                .map(|(_, n)| n.as_str()),
        )
        .filter(|c| c.starts_with(word) && *c != word)
        .map(str::to_string)
        .collect();
    found.sort();
    found.dedup();
    (start, found)
}

#[cfg(test)]
mod tests {
    use super::complete;

    #[test]
    fn completes_keywords_names_and_commands() {
        let names = vec![
            ("agent", "backend_dev".to_string()),
            ("phase", "build".to_string()),
            ("kpi", "build_time".to_string()),
        ];
        assert_eq!(complete("ph", 2, &names), (0, vec!["phase".to_string()]));
        assert_eq!(
            complete("  ba", 4, &names),
            (
                2,
                vec![
                    "backend".to_string(),
                    "backend_dev".to_string(),
                    "backoff".to_string(),
                    "base".to_string()
                ]
            )
        );
        assert_eq!(complete(":gr", 3, &names), (0, vec![":graph".to_string()]));
        assert_eq!(
            complete(":run bu", 7, &names),
            (5, vec!["build".to_string()])
        );
        assert_eq!(complete("backend_dev:imp", 15, &names).0, 12);
        // Words after characters of several bytes.
        assert_eq!(complete("é", 2, &names), (2, Vec::<String>::new()));
        assert_eq!(
            complete("notify ops \"café ph", "notify ops \"café ph".len(), &names),
            (18, vec!["phase".to_string()])
        );
    }
}
