//! The for-each over stories: the workflow's stories and those of its story files, run in
//! dependency order (petgraph-free: a ready queue over the DAG), independent stories side
//! by side, at most `max` at once. A story that fails is escalated as blocked, and so is
//! every story that depends on it; the others go on. A story that depends on an unknown
//! story, or waits in a cycle, is blocked saying so. A BMAD project's story goes where its
//! files say: done is not run again, in review lets its dependents start (but not those
//! gated on its whole epic), dropped blocks what depends on it.

use super::Runner;
use super::event::EventKind;
use super::steps::{Ctx, StepError};
use crate::model::Story;
use crate::model::step::Step;
use crate::project::Progress;
use futures::FutureExt;
use futures::stream::{FuturesUnordered, StreamExt};
use rustc_hash::{FxBuildHasher, FxHashMap};
use std::collections::VecDeque;

impl Runner {
    /// Runs `body` once per story.
    pub(super) async fn for_each<'a>(
        &'a self,
        max: Option<usize>,
        body: &'a [Step],
        ctx: &'a Ctx<'a>,
    ) -> Result<(), StepError> {
        let loaded = super::story_files::load(&self.workspace, &self.program.story_sources)?;
        // A simulation must not mark a real project's stories done.
        if !self.options.simulate {
            self.statuses.track(loaded.places.iter().cloned());
        } else if !loaded.places.is_empty() {
            self.note(
                "stories",
                "a simulated run writes no status back into the BMAD project".into(),
            );
        }
        let stories: Vec<&Story> = self
            .program
            .stories
            .iter()
            .map(|s| &**s)
            .chain(&loaded.stories)
            .collect();
        let progress = |s: &Story| loaded.progress.get(s.id.name.as_str()).copied();
        let mut index: FxHashMap<&str, usize> =
            FxHashMap::with_capacity_and_hasher(stories.len(), FxBuildHasher);
        for (i, s) in stories.iter().enumerate() {
            if index.insert(s.id.name.as_str(), i).is_some() {
                return Err(StepError::Setup(format!(
                    "story `{}` is defined twice (in the workflow or its story files)",
                    s.id.name
                )));
            }
        }
        // Each story records a start and an end per task and its own end, at least: room
        // for them (and a quarter more: the run's own events, notes) spares the log its
        // growth, a copy of itself each time it doubles. Room not used is never touched.
        let each = 1 + 2 * body.len().min(4);
        let n = stories.len();
        self.rec
            .expect(n.saturating_mul(each).saturating_add(n / 4 + 64));
        if let Some(j) = self.rec.journal() {
            j.stories_known(stories.iter().map(|s| s.id.name.as_str()));
        }
        let mut waiting = vec![0usize; stories.len()];
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); stories.len()];
        let mut unknown = Vec::new();
        let mut deps: Vec<Vec<&Story>> = vec![Vec::new(); stories.len()];
        for (i, s) in stories.iter().enumerate() {
            let gates = loaded.gates.get(s.id.name.as_str());
            for a in &s.after {
                match index.get(a.name.as_str()) {
                    Some(&j) => {
                        deps[i].push(stories[j]);
                        let gate = gates.is_some_and(|g| g.iter().any(|x| *x == a.name));
                        let satisfied = match progress(stories[j]) {
                            Some(Progress::Done) => true,
                            Some(Progress::Review) => !gate,
                            _ => false,
                        };
                        if !satisfied {
                            waiting[i] += 1;
                            dependents[j].push(i);
                        }
                    }
                    None => unknown.push((i, a.name.to_string())),
                }
            }
        }
        let mut blocked = vec![false; stories.len()];
        let mut done = vec![false; stories.len()];
        for (i, s) in stories.iter().enumerate() {
            match progress(s) {
                Some(Progress::Done) => {
                    done[i] = true;
                    self.note(
                        "stories",
                        format!(
                            "story {} is done in its BMAD project: not run again",
                            s.id.name
                        ),
                    );
                }
                Some(Progress::Dropped) => self.block(
                    &stories,
                    &dependents,
                    &mut blocked,
                    i,
                    "dropped in its BMAD plan".into(),
                ),
                _ => {}
            }
        }
        for (i, dep) in unknown {
            self.block(
                &stories,
                &dependents,
                &mut blocked,
                i,
                format!("depends on unknown story `{dep}`"),
            );
        }
        let mut ready: VecDeque<usize> = (0..stories.len())
            .filter(|i| waiting[*i] == 0 && !blocked[*i] && !done[*i])
            .collect();
        // In a git workspace each story works in a worktree of its own and merges through
        // the lane; otherwise stories share the workspace.
        let delivery = self.delivery(&stories, &ctx.path).await?;
        let delivery = delivery.as_ref();
        let limit = max.unwrap_or(usize::MAX).max(1);
        let width = limit.min(stories.len());
        let mut running = FuturesUnordered::new();
        // Why the run paused, once a story stopped for it: no story starts after that.
        let mut paused: Option<StepError> = None;
        loop {
            while running.len() < limit && paused.is_none() {
                let Some(i) = ready.pop_front() else { break };
                // A person may have finished it by hand since the run read the project.
                let id = stories[i].id.name.as_str();
                if self.statuses.progress_now(&self.workspace, id) == Some(Progress::Done) {
                    done[i] = true;
                    self.note(
                        "stories",
                        format!(
                            "story {id} was marked done in its BMAD project during the run: not run"
                        ),
                    );
                    release(&dependents[i], &mut waiting, &blocked, &mut ready);
                    continue;
                }
                // The story's context lives while it runs, made when it starts.
                let (story, after) = (stories[i], std::mem::take(&mut deps[i]));
                running.push(
                    async move {
                        let ctx = &ctx.for_story(story, after, width);
                        let done = match delivery {
                            // Boxed: its future is large, and rare (a git workspace).
                            Some(d) => self.delivered_story(body, ctx, d).boxed_local().await,
                            // A story its last verdicts rejected is not done.
                            None => self.steps(body, ctx).await.and_then(|()| {
                                ctx.state
                                    .rejected()
                                    .map_or(Ok(()), |why| Err(StepError::Rejected(why)))
                            }),
                        };
                        (i, done)
                    }
                    .boxed_local(),
                );
            }
            let Some((i, result)) = running.next().await else {
                break;
            };
            match result {
                Ok(()) => {
                    done[i] = true;
                    self.record(EventKind::StoryDone {
                        story: stories[i].id.name.to_string(),
                    });
                    release(&dependents[i], &mut waiting, &blocked, &mut ready);
                }
                // Neither done nor blocked: it goes on when the run is resumed.
                Err(e @ StepError::Paused(_)) => paused = Some(e),
                Err(reason) => {
                    self.block(&stories, &dependents, &mut blocked, i, reason.to_string());
                }
            }
        }
        drop(running);
        if let Some(e) = paused {
            if let Some(d) = delivery {
                self.end_delivery(d).await;
            }
            return Err(e);
        }
        // What never became ready waits on a cycle (story files are not checked before
        // the run; the workflow's own stories are).
        for i in 0..stories.len() {
            if !done[i] && !blocked[i] {
                self.block(
                    &stories,
                    &dependents,
                    &mut blocked,
                    i,
                    "waits for a dependency cycle among the stories".into(),
                );
            }
        }
        if let Some(d) = delivery {
            self.end_delivery(d).await;
        }
        Ok(())
    }

    /// Escalates story `i` as blocked, and every story that depends on it.
    fn block(
        &self,
        stories: &[&Story],
        dependents: &[Vec<usize>],
        blocked: &mut [bool],
        i: usize,
        reason: String,
    ) {
        let mut stack = vec![(i, reason)];
        while let Some((j, why)) = stack.pop() {
            if std::mem::replace(&mut blocked[j], true) {
                continue;
            }
            let sid = stories[j].id.name.to_string();
            for &d in &dependents[j] {
                stack.push((d, format!("depends on blocked story `{sid}`")));
            }
            self.record(EventKind::StoryBlocked {
                story: sid,
                reason: why,
            });
        }
        self.sync_point("error_occurrence");
    }
}

/// One dependency of each of `dependents` is done: those that wait for nothing more (and
/// are not blocked) are ready.
fn release(
    dependents: &[usize],
    waiting: &mut [usize],
    blocked: &[bool],
    ready: &mut VecDeque<usize>,
) {
    for &d in dependents {
        waiting[d] -= 1;
        if waiting[d] == 0 && !blocked[d] {
            ready.push_back(d);
        }
    }
}
