//! The `git_remote` setting: the repository story work travels through when agent tasks
//! run on other machines. Every machine reads the same string, so it must name the same
//! repository on each (a URL or an absolute path), and it is no place for a credential.

use crate::diagnostic::{Code, Diagnostic};
use crate::model::step::Text;

/// What is wrong with a `git_remote` value, and what to write instead.
pub(super) fn problem(v: &str) -> Option<(&'static str, &'static str)> {
    let v = v.trim();
    if v.is_empty() {
        return Some((
            "the git remote is empty",
            "name the repository the workers clone: \"ssh://git@host/team/app.git\", \
             \"https://host/team/app.git\" or an absolute path (\"/srv/git/app.git\")",
        ));
    }
    if v.starts_with('~') {
        return Some((
            "`~` is not expanded in the git remote",
            "write the path in full (\"/srv/git/app.git\") or a URL",
        ));
    }
    if let Some((scheme, rest)) = v.split_once("://") {
        if scheme.is_empty() || rest.is_empty() {
            return Some((
                "the git remote is not a URL",
                "write SCHEME://HOST/PATH, such as \"ssh://git@host/team/app.git\"",
            ));
        }
        let authority = rest.split('/').next().unwrap_or_default();
        if let Some((user, _)) = authority.rsplit_once('@')
            && user.contains(':')
        {
            return Some((
                "the git remote holds a password",
                "a workflow carries no secret: leave the password out of the URL and give it \
                 to git on each machine (a credential helper, an SSH key)",
            ));
        }
        return None;
    }
    if v.starts_with('/') {
        return None;
    }
    // scp-like `host:path` or `user@host:path`: a colon before any slash.
    let colon = v.find(':');
    let slash = v.find('/');
    if let Some(c) = colon
        && c > 0
        && slash.is_none_or(|s| c < s)
    {
        return None;
    }
    Some((
        "the git remote is a relative path",
        "a relative path is another directory on each machine: write it in full \
         (\"/srv/git/app.git\") or as a URL",
    ))
}

/// Reports a `git_remote` setting every machine cannot read the same way.
pub(super) fn git_remote(t: &Text, diags: &mut Vec<Diagnostic>) {
    if let Some((message, help)) = problem(t.value.as_str()) {
        diags.push(
            Diagnostic::error(Code::GitRemote, message)
                .at(t.span, "not a repository every machine reaches")
                .help(help),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::problem;

    #[test]
    fn urls_absolute_paths_and_scp_forms_are_remotes() {
        for good in [
            "/srv/git/app.git",
            "file:///srv/git/app.git",
            "ssh://git@host/team/app.git",
            "https://host/team/app.git",
            "git@host:team/app.git",
            "host:app.git",
        ] {
            assert_eq!(problem(good), None, "{good}");
        }
        for bad in [
            "",
            "  ",
            "~/app.git",
            "app.git",
            "../srv/app.git",
            "https://me:secret@host/app.git",
            "://x",
        ] {
            assert!(problem(bad).is_some(), "{bad}");
        }
    }
}
