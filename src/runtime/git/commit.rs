//! A story's commit: everything its worktree changed (what `.gitignore` ignores left out)
//! as one commit on its branch, with a message built from the story; and the files the
//! story declared that it did not touch.

use super::command::{Git, GitError, nul_split};
use super::repo::Repo;
use super::worktree::Tree;
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
    /// Where the story started: its branch's fork from the integration branch.
    pub fork: String,
    /// The files the story changed since it started, from the repository's top.
    pub files: Vec<String>,
    /// The declared files it did not change, as written.
    pub untouched: Vec<String>,
}

impl Committed {
    /// Whether the story changed nothing at all since it started.
    pub fn is_empty(&self) -> bool {
        self.head == self.fork
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
            m.push_str(&format!("- {a}\n"));
        }
        m.push('\n');
    }
    m.push_str(&format!(
        "Bmad-Story: {}\nBmad-Attempts: {attempts}\n",
        story.id
    ));
    if let Some(run) = run {
        m.push_str(&format!("Bmad-Run: {run}\n"));
    }
    m
}

/// Stages everything `tree` changed, what `.gitignore` ignores left out.
async fn stage(git: &Git) -> Result<(), GitError> {
    git.run(["add", "-A", "--", "."]).await.map(|_| ())
}

/// Where the story of `tree` started: the fork of its branch from `integration`.
async fn fork(git: &Git, integration: &str) -> Result<String, GitError> {
    git.run(["merge-base", "HEAD", &format!("refs/heads/{integration}")])
        .await
}

/// The files changed between `from` and the index (after [`stage`]).
async fn changed(git: &Git, from: &str) -> Result<Vec<String>, GitError> {
    let out = git
        .run([
            "diff",
            "--cached",
            "--name-only",
            "-z",
            "--no-renames",
            from,
            "--",
        ])
        .await?;
    Ok(nul_split(&out).map(str::to_string).collect())
}

/// Commits everything the story of `tree` changed onto its branch with `message`, made
/// with `repo`'s identity. `declared` are the story's declared files.
pub async fn commit_all(
    repo: &Repo,
    tree: &Tree,
    integration: &str,
    story: &StoryInfo,
    message: &str,
) -> Result<Committed, GitError> {
    let git = Git::at(&tree.root);
    stage(&git).await?;
    let written = git.run(["write-tree"]).await?;
    let head = git.run(["rev-parse", "HEAD"]).await?;
    let head_tree = git.run(["rev-parse", "HEAD^{tree}"]).await?;
    let commit = if written != head_tree {
        let args: Vec<std::ffi::OsString> = ["commit-tree", &written, "-p", &head, "-m", message]
            .iter()
            .map(Into::into)
            .collect();
        let made = git.run_with(&args, &repo.identity).await?;
        let branch = tree.branch.as_deref().unwrap_or("HEAD");
        git.run([
            "update-ref",
            "-m",
            &format!("bmad: story {}", story.id),
            &format!("refs/heads/{branch}"),
            &made,
            &head,
        ])
        .await?;
        Some(made)
    } else {
        None
    };
    let head = commit.clone().unwrap_or(head);
    let fork = fork(&git, integration).await?;
    let files = changed(&git, &fork).await?;
    let untouched = untouched(&story.declared, &repo.sub, &files);
    Ok(Committed {
        commit,
        head,
        fork,
        files,
        untouched,
    })
}

/// The declared files of a story that its worktree has not changed yet (everything it
/// changed is staged on the way, as a commit would take it).
pub async fn untouched_now(
    repo: &Repo,
    tree: &Tree,
    integration: &str,
    declared: &[String],
) -> Result<Vec<String>, GitError> {
    let git = Git::at(&tree.root);
    stage(&git).await?;
    let fork = fork(&git, integration).await?;
    let files = changed(&git, &fork).await?;
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
