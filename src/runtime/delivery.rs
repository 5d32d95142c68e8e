//! Delivering a for-each's stories through git (the git mechanics are in [`super::git`]).
//! In a real run whose workspace is in a git working tree, each story runs in a worktree of
//! its own, on its branch, started from the integration branch once the stories it depends
//! on merged. When its body ends well, everything the story changed is committed; the
//! merge lane merges it onto the integration branch as it stands, runs the story's verdict
//! steps again on the merged result (unless it is exactly what they approved) and only then
//! moves the branch. A conflict, or a verdict that rejects the merged result, sends the
//! story back to its dev agent from the current integration branch, as one more attempt of
//! its loop. The worktree, the commit and the merge are each a recorded step: a resume
//! neither merges twice nor loses a commit, and leaves no worktree behind.

use super::Runner;
use super::event::EventKind;
use super::git::commit::{StoryInfo, commit_all, message, untouched_now};
use super::git::lane::{Advanced, Lane, Merge};
use super::git::repo::Repo;
use super::git::worktree::{Tree, Trees};
use super::git::{GitError, GitRun, short};
use super::steps::{Ctx, LoopState, StepError};
use super::workspace::Workspace;
use crate::ir::Program;
use crate::model::step::{Step, StepKind, Task, holds_verdict, walk};
use crate::model::{Backend, Story};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

/// What delivery needs from the workflow: the integration branch its git agents name, and
/// the state it shares with them.
#[derive(Debug)]
pub(super) struct GitSetup {
    /// The `base` of the workflow's git agents: the integration branch (the branch checked
    /// out in the workspace when none names one).
    pub base: Option<String>,
    /// Shared with the git agents: the stories' descriptions, what the lane merged.
    pub run: Arc<GitRun>,
}

impl GitSetup {
    /// The setup of `program`'s git agents; an error when two name different branches.
    pub(super) fn of(program: &Program) -> Result<GitSetup, GitError> {
        let mut base: Option<String> = None;
        for a in &program.agents {
            if let Some(Backend::Git { base: Some(b), .. }) = &a.backend {
                match &base {
                    Some(other) if other.as_str() != b.value.as_str() => {
                        return Err(GitError::TwoBases(other.clone(), b.value.to_string()));
                    }
                    _ => base = Some(b.value.to_string()),
                }
            }
        }
        // The stories are made known to the git agents when delivery starts (their tasks
        // run only in a story's worktree): nothing per story here, where most runs have
        // no delivery (a simulation never has).
        Ok(GitSetup {
            base,
            run: Arc::new(GitRun::default()),
        })
    }
}

/// What a story says about itself, for its commit.
fn story_info(s: &Story) -> StoryInfo {
    StoryInfo {
        id: s.id.name.to_string(),
        title: s
            .title
            .as_ref()
            .map_or(String::new(), |t| t.value.to_string()),
        accept: s.accept.iter().map(|a| a.value.to_string()).collect(),
        declared: s
            .create
            .iter()
            .map(|c| c.path.value.to_string())
            .chain(s.modify.iter().map(|m| m.path.value.to_string()))
            .collect(),
    }
}

/// A story's worktree as its steps see it.
pub(super) struct StoryTree {
    /// The worktree.
    pub tree: Tree,
    /// The workspace's copy in it: artifacts and `sh` steps resolve here.
    pub workspace: Workspace,
    repo: Repo,
    integration: String,
    declared: Vec<String>,
}

/// The delivery of one for-each's stories.
pub(super) struct Delivery {
    repo: Repo,
    trees: Trees,
    lane: Lane,
    /// The worktrees of blocked stories: kept for a person to look at.
    kept: RefCell<BTreeSet<PathBuf>>,
}

/// Why the lane did not merge a story.
enum NotMerged {
    /// Sent back to the story's dev agent, with this feedback.
    Returned(String),
    /// Something outside the story failed: it is blocked.
    Failed(StepError),
}

/// The attempts a story's body allows: the `max` of its first `repeat` that holds a verdict
/// step, 1 when it has none.
fn attempts_allowed(body: &[Step]) -> u64 {
    let mut max = None;
    walk(body, &mut |s| {
        if max.is_none()
            && let StepKind::Repeat {
                max: Some(m), body, ..
            } = &s.kind
            && holds_verdict(body)
        {
            max = Some(m.value);
        }
    });
    max.unwrap_or(1)
}

/// The verdict steps of `body`, in order.
fn verdicts(body: &[Step]) -> Vec<&Task> {
    let mut found = Vec::new();
    walk(body, &mut |s| {
        if let StepKind::Task(t) = &s.kind
            && t.is_verdict()
        {
            found.push(&**t);
        }
    });
    found
}

impl Runner {
    /// The delivery through git of the `stories` of the for-each at `place`; `None` in a
    /// simulation, or when the workspace is in no git working tree (or one that ignores
    /// it): then stories share the workspace.
    pub(super) async fn delivery(
        &self,
        stories: &[&Story],
        place: &str,
    ) -> Result<Option<Delivery>, StepError> {
        if self.options.simulate {
            return Ok(None);
        }
        let failed = |source| StepError::Git {
            doing: "delivering the stories through git",
            source,
        };
        let Some(repo) = Repo::find(self.workspace.root()).await.map_err(failed)? else {
            return Ok(None);
        };
        self.git.run.know(stories.iter().map(|s| story_info(s)));
        let integration = repo
            .integration(self.git.base.as_deref())
            .await
            .map_err(failed)?;
        let run = self
            .run_id()
            .map_or_else(|| format!("run-{}", std::process::id()), str::to_string);
        let trees = Trees::open(repo.clone(), self.workspace.root(), &run, place)
            .await
            .map_err(failed)?;
        let lane = Lane::new(repo.clone(), integration);
        Ok(Some(Delivery {
            repo,
            trees,
            lane,
            kept: RefCell::default(),
        }))
    }

    /// Removes the delivery's worktrees, except those of blocked stories.
    pub(super) async fn end_delivery(&self, d: &Delivery) {
        let kept = d.kept.borrow().clone();
        if let Err(e) = d.trees.finish(&kept).await {
            self.note(
                "delivery",
                format!("the worktrees could not all be removed: {e}"),
            );
        }
    }

    /// Runs one story in its worktree, commits its work and merges it (the module's doc).
    pub(super) async fn delivered_story<'a>(
        &'a self,
        body: &'a [Step],
        ctx: &'a Ctx<'a>,
        d: &'a Delivery,
    ) -> Result<(), StepError> {
        let Some(story) = ctx.story else {
            return self.steps(body, ctx).await;
        };
        let id = story.id.name.as_str();
        let allowed = attempts_allowed(body);
        let mut round = 1u64;
        loop {
            let at = if round == 1 {
                ctx.clone()
            } else {
                ctx.at(format!("r{round}"))
            };
            let tree = self.tree_step(&at, d, id, round).await?;
            let at = Ctx {
                tree: Some(Rc::new(StoryTree {
                    workspace: self.workspace.rooted_at(&tree.dir),
                    tree: tree.clone(),
                    repo: d.repo.clone(),
                    integration: d.lane.branch.clone(),
                    declared: story_info(story).declared,
                })),
                ..at
            };
            if let Err(e) = self.steps(body, &at).await {
                return Err(self.keep(d, &tree, id, e));
            }
            // A story its last verdicts rejected is not committed, let alone merged.
            if let Some(why) = ctx.state.rejected() {
                return Err(self.keep(d, &tree, id, StepError::Rejected(why)));
            }
            if let Err(e) = self.commit_step(&at, d, story, &tree).await {
                return Err(self.keep(d, &tree, id, e));
            }
            match self.lane_step(&at, d, story, body, &tree).await {
                Ok(()) => {
                    d.trees.release(&tree);
                    return Ok(());
                }
                Err(NotMerged::Returned(why)) => {
                    let spent = ctx.state.verdict_attempt.get().max(1);
                    if spent >= allowed {
                        return Err(self.keep(
                            d,
                            &tree,
                            id,
                            StepError::Delivery(format!(
                                "the merge lane sent it back after its last attempt ({spent} of \
                                 {allowed}): {why}"
                            )),
                        ));
                    }
                    self.record(EventKind::StoryReturned {
                        story: id.to_string(),
                        reason: why.clone(),
                    });
                    *ctx.state.feedback.borrow_mut() = why;
                    ctx.state.carried.set(spent);
                    ctx.state.approved.set(false);
                    // The next round resets the story's branch: the decision to send it
                    // back must be on disk first, or a crash could keep the reset and lose
                    // the decision (and a resume would find nothing left to merge).
                    self.flush_journal();
                    round += 1;
                }
                Err(NotMerged::Failed(why)) => return Err(self.keep(d, &tree, id, why)),
            }
        }
    }

    /// Keeps the worktree of a story that is blocked; `why` with where its work is. A
    /// paused story's worktree is kept as it is, for the resume to go on in.
    fn keep(&self, d: &Delivery, tree: &Tree, story: &str, why: StepError) -> StepError {
        if matches!(why, StepError::Paused(_)) && tree.root.join(".git").is_file() {
            d.kept.borrow_mut().insert(tree.root.clone());
        }
        if matches!(why, StepError::Paused(_)) {
            return why;
        }
        self.git.run.held(story);
        if !tree.root.join(".git").is_file() {
            return why;
        }
        d.kept.borrow_mut().insert(tree.root.clone());
        StepError::Kept {
            why: Box::new(why),
            worktree: tree.root.clone(),
            branch: tree.branch.as_str().to_string(),
        }
    }

    /// The recorded step that gives a story its worktree for round `round`: on its branch
    /// at the integration branch's tip, new for the first round, reset for the others.
    async fn tree_step(
        &self,
        ctx: &Ctx<'_>,
        d: &Delivery,
        story: &str,
        round: u64,
    ) -> Result<Tree, StepError> {
        let at = ctx.at("tree");
        let tree = d.trees.of(story);
        let exists = tree.root.join(".git").is_file();
        if self.replayed(&at).is_some() {
            if exists {
                return Ok(tree);
            }
            // A story that merged before a crash handed its worktree on: it needs none.
            let branch = tree.branch.as_str();
            if let (Ok(head), Ok(tip)) = (d.repo.tip(branch).await, d.lane.tip().await)
                && d.lane.contains(&head, &tip).await.unwrap_or(false)
            {
                return Ok(tree);
            }
        }
        self.step_started(&at);
        let result = async {
            let tip = d.lane.tip().await?;
            if round == 1 || !exists {
                let (tree, aside) = d.trees.start(story, &tip).await?;
                if let Some(aside) = aside {
                    self.note(
                        "delivery",
                        format!(
                            "branch `{}` had commits `{}` lacks (from another run): renamed \
                             `{aside}`",
                            tree.branch.as_str(),
                            d.lane.branch
                        ),
                    );
                }
                Ok(tree)
            } else {
                d.trees.restart(&tree, &tip).await?;
                Ok(tree)
            }
        }
        .await
        .map_err(|source: GitError| StepError::Git {
            doing: "its worktree",
            source,
        });
        self.step_finished(
            &at,
            result.is_ok(),
            false,
            result.as_ref().err().map(ToString::to_string).as_deref(),
        );
        result
    }

    /// The recorded step that commits everything the story changed in its worktree.
    async fn commit_step(
        &self,
        ctx: &Ctx<'_>,
        d: &Delivery,
        story: &Story,
        tree: &Tree,
    ) -> Result<(), StepError> {
        let at = ctx.at("commit");
        if self.replayed(&at).is_some() || !tree.root.join(".git").is_file() {
            return Ok(());
        }
        self.step_started(&at);
        let info = story_info(story);
        let attempts = ctx.state.verdict_attempt.get().max(1);
        let text = message(&info, attempts, self.run_id());
        let result = match commit_all(&d.repo, tree, &d.lane.branch, &info, &text).await {
            Err(source) => Err(StepError::Git {
                doing: "committing its work",
                source,
            }),
            // Nothing to merge is no success: its agents worked elsewhere, or did nothing.
            Ok(c) if c.is_empty() => Err(StepError::Delivery(format!(
                "it changed no file in its worktree (`{}`, also `$BMAD_WORKTREE`): nothing \
                 to merge",
                tree.dir.display()
            ))),
            Ok(c) => Ok(c),
        };
        if let Ok(c) = &result {
            self.record(EventKind::StoryCommitted {
                story: info.id.clone(),
                branch: tree.branch.clone(),
                commit: c.head.clone(),
                files: c.files.clone(),
                untouched: c.untouched.clone(),
            });
        }
        self.step_finished(
            &at,
            result.is_ok(),
            false,
            result.as_ref().err().map(ToString::to_string).as_deref(),
        );
        result.map(|_| ())
    }

    /// The recorded step that merges the story through the lane. A story sent back is a
    /// verdict: it stands on a resume; a failure is tried again.
    async fn lane_step(
        &self,
        ctx: &Ctx<'_>,
        d: &Delivery,
        story: &Story,
        body: &[Step],
        tree: &Tree,
    ) -> Result<(), NotMerged> {
        let at = ctx.at("lane");
        if let Some(done) = self.replayed(&at) {
            return if done.ok {
                Ok(())
            } else {
                Err(NotMerged::Returned(
                    done.feedback.clone().unwrap_or_default(),
                ))
            };
        }
        self.step_started(&at);
        // The commit's record is on disk before the merge: a resume after a crash here must
        // not commit again and find nothing (the work already merged) to commit.
        self.flush_journal();
        let result = self.merge_story(ctx, d, story, body, tree).await;
        let (ok, returned, said) = match &result {
            Ok(said) => (true, false, said.clone()),
            Err(NotMerged::Returned(why)) => (false, true, why.clone()),
            Err(NotMerged::Failed(why)) => (false, false, why.to_string()),
        };
        self.step_finished(&at, ok, returned, Some(&said));
        result.map(|_| ())
    }

    /// Merges the story onto the integration branch in the lane's turn; what happened.
    async fn merge_story(
        &self,
        ctx: &Ctx<'_>,
        d: &Delivery,
        story: &Story,
        body: &[Step],
        tree: &Tree,
    ) -> Result<String, NotMerged> {
        let id = story.id.name.as_str();
        let into = d.lane.branch.as_str();
        let branch = tree.branch.as_str();
        let failed = |source| {
            NotMerged::Failed(StepError::Git {
                doing: "the merge lane",
                source,
            })
        };
        let _turn = d.lane.turn().await;
        // The integration branch may move under the lane (a person committing): merge again.
        for _ in 0..3 {
            let title = story_info(story).title;
            let subject = if title.is_empty() {
                format!("Merge story {id}")
            } else {
                format!("Merge story {id}: {title}")
            };
            let text = format!("{subject}\n\nBmad-Story: {id}\n");
            let (tip, merge) = d.lane.merge(branch, &text).await.map_err(failed)?;
            match merge {
                Merge::AlreadyIn => {
                    self.git.run.merged(id, &tip);
                    return Ok(format!("already in `{into}` ({})", short(&tip)));
                }
                Merge::Conflict { files, said } => {
                    let head = d.repo.tip(branch).await.map_err(failed)?;
                    let fork = d
                        .repo
                        .git
                        .run(["merge-base", &head, &tip])
                        .await
                        .map_err(failed)?;
                    let since = d.lane.merged_since(&fork).await.unwrap_or_default();
                    return Err(NotMerged::Returned(format!(
                        "merging onto `{into}` conflicts in {}: `{into}` changed since this \
                         attempt started ({}). The attempt was commit {}; do the story again \
                         on `{into}` as it is now.\n{said}",
                        files.join(", "),
                        if since.is_empty() {
                            "no story merged since".to_string()
                        } else {
                            since.join("; ")
                        },
                        short(&head)
                    )));
                }
                Merge::Clean {
                    commit,
                    tree: merged,
                    as_approved,
                } => {
                    if !as_approved {
                        // Verified in the story's own worktree, detached at the merge.
                        d.trees.detach(tree, &commit).await.map_err(failed)?;
                        self.verify_merged(ctx, body, tree, &commit, &merged, d)
                            .await?;
                    }
                    match d.lane.advance(&tip, &commit, id).await.map_err(failed)? {
                        // The branch moved: merge again, in the next round.
                        Advanced::Moved => {}
                        Advanced::Done => {
                            self.git.run.merged(id, &commit);
                            self.record(EventKind::StoryMerged {
                                story: id.to_string(),
                                into: into.to_string(),
                                commit: commit.clone(),
                                verified: !as_approved,
                            });
                            return Ok(format!("merged into `{into}` ({})", short(&commit)));
                        }
                    }
                }
            }
        }
        Err(NotMerged::Failed(StepError::Delivery(format!(
            "the merge lane: `{into}` kept moving while story `{id}` merged"
        ))))
    }

    /// Runs the story's verdict steps again on the merged result (`commit`, whose files are
    /// `merged`), checked out in `tree`.
    async fn verify_merged(
        &self,
        ctx: &Ctx<'_>,
        body: &[Step],
        tree: &Tree,
        commit: &str,
        merged: &str,
        d: &Delivery,
    ) -> Result<(), NotMerged> {
        let into = d.lane.branch.as_str();
        // Keyed by the merged files: a resume does not verify the same result twice.
        let vctx = Ctx {
            tree: Some(Rc::new(StoryTree {
                workspace: self.workspace.rooted_at(&tree.dir),
                tree: tree.clone(),
                repo: d.repo.clone(),
                integration: into.to_string(),
                declared: Vec::new(),
            })),
            // The same attempt, its verdicts given again on the merged result.
            state: Rc::new(LoopState {
                attempt: ctx.state.attempt.clone(),
                verdict_attempt: ctx.state.verdict_attempt.clone(),
                ..LoopState::default()
            }),
            ..ctx.at(format!("lane/{}", short(merged)))
        };
        // The verdict steps the approved attempt ran (not those of branches it did not take).
        let ran = ctx.state.verdict_places();
        let again = verdicts(body)
            .into_iter()
            .filter(|t| ran.contains(&t.agent.span));
        for (i, t) in again.enumerate() {
            let at = vctx.at(format!("v{i}"));
            self.task(t, &at).await.map_err(NotMerged::Failed)?;
            if !at.state.approved.get() {
                // The story's worktree back on its branch, as the report names it.
                let _ = d.trees.reattach(tree).await;
                let who = format!(
                    "{}: {}",
                    t.agent.name,
                    t.tasks
                        .iter()
                        .map(|n| n.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                return Err(NotMerged::Returned(format!(
                    "after merging onto `{into}` (as {}), `{who}` rejected the merged result: {}",
                    short(commit),
                    at.state.feedback.borrow()
                )));
            }
        }
        Ok(())
    }

    /// Adds to the feedback of a story's next attempt the files it declares but has not
    /// changed yet (a story delivered through git).
    pub(super) async fn untouched_feedback(&self, ctx: &Ctx<'_>) {
        let Some(t) = &ctx.tree else { return };
        if t.declared.is_empty() {
            return;
        }
        if let Ok(missing) = untouched_now(&t.repo, &t.tree, &t.integration, &t.declared).await
            && !missing.is_empty()
        {
            let mut feedback = ctx.state.feedback.borrow_mut();
            if !feedback.is_empty() {
                feedback.push('\n');
            }
            let _ = write!(
                feedback,
                "The story declares these files, and they are not changed yet: {}",
                missing.join(", ")
            );
        }
    }
}
