//! A story's commit: everything its worktree changed (what `.gitignore` ignores left out)
//! as one commit on its branch, with a message built from the story; and the files the
//! story declared that it did not touch.

use super::command::{Git, GitError, nul_split};
use super::repo::Repo;
use super::worktree::Tree;
use std::fmt::Write;
use std::path::{Component, Path};

/// What a story says about itself, for its commit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoryInfo {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its acceptance criteria.
    pub accept: Vec<String>,
    /// The files it declares it creates or modifies, as written (`/server/src/x.ts`; a
    /// trailing `/` is a directory), from the workspace's root.
    pub declared: Vec<String>,
}

/// A story's work, committed.
#[derive(Debug, Clone, PartialEq)]
pub struct Committed {
    /// The commit made now; `None` when nothing changed since the branch's last commit.
    pub commit: Option<String>,
    /// The commit the story's branch is at.
    pub head: String,
    /// The files the story changed since it started (since its branch's fork from the
    /// integration branch), from the repository's top.
    pub files: Vec<String>,
    /// The declared files it did not change, as written.
    pub untouched: Vec<String>,
}

impl Committed {
    /// Whether the story changed nothing at all since it started.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// The commit message of a story: its id and title, its acceptance criteria, and trailers
/// with its attempts and the run.
pub fn message(story: &StoryInfo, attempts: u64, run: Option<&str>) -> String {
    let mut m = if story.title.is_empty() {
        format!("Story {}\n\n", story.id)
    } else {
        format!("Story {}: {}\n\n", story.id, story.title)
    };
    if !story.accept.is_empty() {
        m.push_str("Acceptance criteria:\n");
        for a in &story.accept {
            let _ = writeln!(m, "- {a}");
        }
        m.push('\n');
    }
    let _ = write!(m, "Bmad-Story: {}\nBmad-Attempts: {attempts}\n", story.id);
    if let Some(run) = run {
        let _ = writeln!(m, "Bmad-Run: {run}");
    }
    m
}

/// Stages everything `tree` changed, what `.gitignore` ignores left out.
async fn stage(git: &Git) -> Result<(), GitError> {
    git.run(["add", "-A", "--", "."]).await.map(|_| ())
}

/// The files changed since `HEAD` forked from `integration`: up to `HEAD`, or up to the
/// index when `staged` (after [`stage`]).
async fn changed(git: &Git, integration: &str, staged: bool) -> Result<Vec<String>, GitError> {
    let out = if staged {
        let fork = git
            .run(["merge-base", "HEAD", &format!("refs/heads/{integration}")])
            .await?;
        git.run([
            "diff",
            "--cached",
            "--name-only",
            "-z",
            "--no-renames",
            &fork,
            "--",
        ])
        .await?
    } else {
        let range = format!("refs/heads/{integration}...HEAD");
        git.run(["diff", "--name-only", "-z", "--no-renames", &range, "--"])
            .await?
    };
    Ok(nul_split(&out).map(str::to_string).collect())
}

/// Commits everything the story of `tree` changed onto its branch with `message`, made
/// with `repo`'s identity (git's own `commit`, hooks off: one process for the tree, the
/// commit and the branch).
///
/// # Errors
///
/// A [`GitError`] when git cannot be started, or exits with an error.
pub async fn commit_all(
    repo: &Repo,
    tree: &Tree,
    integration: &str,
    story: &StoryInfo,
    message: &str,
) -> Result<Committed, GitError> {
    let git = Git::at(&tree.root);
    stage(&git).await?;
    let args = ["commit", "-q", "--no-verify", "-m", message];
    let out = git.output_of(&args, &repo.identity).await?;
    let commit = if out.status.success() {
        true
    } else if String::from_utf8_lossy(&out.stdout).contains("nothing to commit") {
        false
    } else {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        return Err(GitError::Failed {
            command: "commit".into(),
            said: crate::runtime::verdict::last_lines(
                &format!("{}{}", text(&out.stdout), text(&out.stderr)),
                8,
            ),
        });
    };
    let head = git.run(["rev-parse", "HEAD"]).await?;
    let files = changed(&git, integration, false).await?;
    let untouched = untouched(&story.declared, &repo.sub, &files);
    Ok(Committed {
        commit: commit.then(|| head.clone()),
        head,
        files,
        untouched,
    })
}

/// The declared files of a story that its worktree has not changed yet (everything it
/// changed is staged on the way, as a commit would take it).
///
/// # Errors
///
/// A [`GitError`] when git cannot be started, or exits with an error.
pub async fn untouched_now(
    repo: &Repo,
    tree: &Tree,
    integration: &str,
    declared: &[String],
) -> Result<Vec<String>, GitError> {
    let git = Git::at(&tree.root);
    stage(&git).await?;
    let files = changed(&git, integration, true).await?;
    Ok(untouched(declared, &repo.sub, &files))
}

/// The declared paths (as written, from the workspace `sub` of the repository) that no
/// changed file (from the repository's top) is or is under.
pub fn untouched(declared: &[String], sub: &Path, changed: &[String]) -> Vec<String> {
    declared
        .iter()
        .filter(|written| {
            let Some(path) = repo_path(sub, written) else {
                return false;
            };
            let dir = format!("{path}/");
            !changed
                .iter()
                .any(|c| *c == path || (written.ends_with('/') && c.starts_with(&dir)))
        })
        .cloned()
        .collect()
}

/// A declared path (`/src/x.ts`, `src/x.ts`) as git names it from the repository's top,
/// when it stays inside the workspace.
fn repo_path(sub: &Path, written: &str) -> Option<String> {
    let mut parts: Vec<String> = sub
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    let base = parts.len();
    for c in Path::new(written.trim_start_matches('/')).components() {
        match c {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::ParentDir if parts.len() > base => {
                parts.pop();
            }
            Component::ParentDir => return None,
            _ => {}
        }
    }
    (parts.len() > base).then(|| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_files_match_changed_ones_from_the_workspace_inside_the_repository() {
        let changed = vec!["app/src/a.ts".to_string(), "app/docs/x/y.md".to_string()];
        let declared: Vec<String> = ["/src/a.ts", "src/b.ts", "/docs/x/", "/docs/z/", "../a"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            untouched(&declared, Path::new("app"), &changed),
            ["src/b.ts", "/docs/z/"]
        );
        assert_eq!(
            untouched(&declared[..1], Path::new(""), &changed),
            ["/src/a.ts"]
        );
    }

    #[test]
    fn the_message_has_the_story_its_criteria_and_trailers() {
        let s = StoryInfo {
            id: "3.1".into(),
            title: "Signaling".into(),
            accept: vec!["offers are exchanged".into()],
            declared: Vec::new(),
        };
        assert_eq!(
            message(&s, 2, Some("r1")),
            "Story 3.1: Signaling\n\nAcceptance criteria:\n- offers are exchanged\n\n\
             Bmad-Story: 3.1\nBmad-Attempts: 2\nBmad-Run: r1\n"
        );
    }
}
