//! Agent backends: how an agent does a task. The simulated backend is deterministic: the
//! same seed, agent, task and attempt give the same duration and outcome.

use super::workspace::Artifact;
use crate::ir::Program;
use crate::model::Backend;
use crate::model::literal::Value;
use futures::future::BoxFuture;
use std::time::Duration;

/// One task given to an agent.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The run's id in the state store, when the run is recorded (`BMAD_RUN_ID`).
    pub run: Option<String>,
    /// The step's place in the workflow, the same in every run of it (`BMAD_STEP`): with
    /// the run's id, a key for an agent that must not do a side effect twice when a step
    /// in flight at a crash runs again.
    pub step: String,
    /// The agent.
    pub agent: String,
    /// The tasks, in order.
    pub tasks: Vec<String>,
    /// The story, inside a for-each.
    pub story: Option<String>,
    /// The attempt, from 1.
    pub attempt: u64,
    /// Whether this is a validation (QA): failing it sends work back, it does not fail the
    /// step.
    pub validation: bool,
    /// The prompt: the agent's persona, the tasks, the story and QA's last feedback.
    pub prompt: String,
    /// The artifacts the task declares it produces, resolved inside the workspace (the
    /// story's worktree, when it has one).
    pub produces: Vec<Artifact>,
    /// The story's git worktree, when its work is delivered through git: the agent works
    /// there (`BMAD_WORKTREE`), not in the workspace.
    pub tree: Option<super::git::Tree>,
    /// The task's own time limit, when it declares one (`timeout` in the task).
    pub timeout: Option<std::time::Duration>,
    /// What the task may still spend under the run's budget (Claude Code's
    /// `--max-budget-usd`, `{budget}`; a streaming CLI is stopped past it).
    pub budget: super::budget::Left,
    /// The price of the agent's model, for a CLI that reports tokens but no cost.
    pub price: Option<crate::model::budget::Price>,
    /// The task came from a coordinator elsewhere ([`super::remote`]): its processes are
    /// this worker's (`BMAD_REMOTE=1`), and a resumed coordinator on the same machine does
    /// not stop them as its crashed run's.
    pub remote: bool,
}

/// How a task ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// Whether it succeeded (for a validation: whether it approved).
    pub ok: bool,
    /// QA feedback, or the reason of a failure.
    pub feedback: Option<String>,
    /// What the agent printed, when it is a process (kept for `bmad runs log`).
    pub transcript: Option<Transcript>,
    /// What its CLI reported: session, turns, tokens, cost (an exec agent with a JSON
    /// `output`).
    pub result: Option<super::agent_output::AgentResult>,
    /// The agent's service refused the task (rate limited, overloaded, out of credit): no
    /// fault of the task, not one of its attempts.
    pub transient: Option<super::transient::Transient>,
    /// It was stopped at the budget it was given (Claude Code's `error_max_budget_usd`, a
    /// streaming CLI stopped past its share): not a failure of its work.
    pub over_budget: bool,
}

/// What a task's agent printed on its standard output and error, each kept up to
/// [`Transcript::MAX_BYTES`]: the start and the end of a longer one, with a mark where the
/// middle was cut.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transcript {
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl Transcript {
    /// The most kept of each stream.
    pub const MAX_BYTES: usize = 64 * 1024;
    /// Of a longer stream, how much of its start is kept (the rest is its end).
    pub const HEAD_BYTES: usize = 16 * 1024;

    /// The transcript of what a process printed.
    pub fn of(stdout: &[u8], stderr: &[u8]) -> Transcript {
        Transcript {
            stdout: Self::kept(stdout),
            stderr: Self::kept(stderr),
        }
    }

    /// `bytes` as text, the middle cut out (and said so) when it is over the maximum.
    pub fn kept(bytes: &[u8]) -> String {
        if bytes.len() <= Self::MAX_BYTES {
            return String::from_utf8_lossy(bytes).into_owned();
        }
        let tail = Self::MAX_BYTES - Self::HEAD_BYTES;
        let cut = bytes.len() - Self::MAX_BYTES;
        format!(
            "{}\n[... bmad cut {cut} bytes here: it keeps the first {} KiB and the last {} KiB \
             ...]\n{}",
            String::from_utf8_lossy(&bytes[..Self::HEAD_BYTES]),
            Self::HEAD_BYTES / 1024,
            tail / 1024,
            String::from_utf8_lossy(&bytes[bytes.len() - tail..])
        )
    }
}

/// A way of running an agent's tasks. A host program can register its own.
pub trait AgentBackend: Send + Sync {
    /// Does the task; resolves when it is done.
    fn run(&self, invocation: Invocation) -> BoxFuture<'static, Outcome>;

    /// Whether it reads the invocation's prompt; one that does not (a simulated agent) is
    /// given an empty one, and the prompt is not made.
    fn reads_prompt(&self) -> bool {
        true
    }
}

/// A simulated agent: it takes `duration`, fails with probability `fail_rate`, and when it
/// succeeds writes a placeholder for each artifact it produces.
#[derive(Debug, Clone)]
pub struct SimBackend {
    /// How long a task takes.
    pub duration: Duration,
    /// Probability of failure, 0 to 1.
    pub fail_rate: f64,
    /// Seed of the outcomes.
    pub seed: u64,
}

impl SimBackend {
    /// The simulated backend an agent declares (`backend sim ...`), with defaults of 10
    /// minutes (2 minutes for a `git` agent) and no failures for agents that declare
    /// another backend.
    pub fn for_agent(p: &Program, agent: &str, seed: u64) -> SimBackend {
        let backend = p.agent(agent).and_then(|a| a.backend.as_ref());
        let minutes = if matches!(backend, Some(Backend::Git { .. })) {
            2
        } else {
            10
        };
        let mut sim = SimBackend {
            duration: Duration::from_secs(minutes * 60),
            fail_rate: 0.0,
            seed,
        };
        if let Some(Backend::Sim {
            duration,
            fail,
            seed: own,
        }) = backend
        {
            if let Some(Value::Duration(ms)) = duration.and_then(|q| q.value) {
                sim.duration = Duration::from_millis(ms);
            }
            if let Some(Value::Percent(pc)) = fail.and_then(|q| q.value) {
                sim.fail_rate = pc / 100.0;
            }
            if let Some(s) = own {
                sim.seed = seed ^ s.value;
            }
        }
        sim
    }
}

/// A 64-bit FNV-1a hash of parts, each part ended by a byte of its own, finalised: stable
/// across runs and platforms.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    /// More bytes of the current part.
    fn bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// Ends the current part.
    fn end_part(&mut self) {
        self.0 ^= 0xff;
        self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
    }

    fn part(&mut self, bytes: &[u8]) {
        self.bytes(bytes);
        self.end_part();
    }

    /// The hash. FNV mixes its last bytes poorly into the low bits, which decide the
    /// outcome: one round of the splitmix64 finaliser makes every attempt an independent
    /// draw.
    fn finish(self) -> u64 {
        let mut h = self.0;
        h ^= h >> 30;
        h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^= h >> 27;
        h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^ (h >> 31)
    }
}

impl AgentBackend for SimBackend {
    fn reads_prompt(&self) -> bool {
        false
    }

    fn run(&self, inv: Invocation) -> BoxFuture<'static, Outcome> {
        let mut roll = Fnv::new();
        roll.part(&self.seed.to_le_bytes());
        roll.part(inv.agent.as_bytes());
        // The tasks joined by commas, as one part.
        for (i, t) in inv.tasks.iter().enumerate() {
            if i > 0 {
                roll.bytes(b",");
            }
            roll.bytes(t.as_bytes());
        }
        roll.end_part();
        roll.part(inv.story.as_deref().unwrap_or_default().as_bytes());
        roll.part(&inv.attempt.to_le_bytes());
        let roll = roll.finish();
        let ok = (roll % 10_000) as f64 >= self.fail_rate * 10_000.0;
        let duration = self.duration;
        Box::pin(async move {
            tokio::time::sleep(duration).await;
            if ok {
                for a in &inv.produces {
                    if let Err(e) = a.write_placeholder(&inv.agent) {
                        return Outcome {
                            ok: false,
                            feedback: Some(e.to_string()),
                            ..Outcome::default()
                        };
                    }
                }
            }
            let feedback = (!ok).then(|| {
                if inv.validation {
                    format!("{} found defects in attempt {}", inv.agent, inv.attempt)
                } else {
                    format!("{} failed {} (simulated)", inv.agent, inv.tasks.join(","))
                }
            });
            Outcome {
                ok,
                feedback,
                ..Outcome::default()
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_transcript_keeps_its_start_and_end_and_says_what_was_cut() {
        let long: Vec<u8> = (0..200_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let kept = Transcript::kept(&long);
        assert!(kept.starts_with("abcdef"));
        assert!(kept.contains("[... bmad cut 134464 bytes here"));
        assert!(kept.ends_with(std::str::from_utf8(&long[long.len() - 100..]).unwrap()));
        assert!(kept.len() < Transcript::MAX_BYTES + 200);
        assert_eq!(Transcript::kept(b"short"), "short");
    }

    #[test]
    fn a_failure_rate_fails_that_share_of_tasks_with_independent_attempts() {
        let sim = SimBackend {
            duration: Duration::ZERO,
            fail_rate: 0.2,
            seed: 1,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        let (mut failed, mut thrice) = (0, 0);
        for story in 0..5_000 {
            let fails = (1..=3).filter(|attempt| {
                let inv = Invocation {
                    run: None,
                    step: String::new(),
                    agent: "qa".into(),
                    tasks: vec!["validate".into()],
                    story: Some(format!("s{story}")),
                    attempt: *attempt,
                    validation: true,
                    prompt: String::new(),
                    produces: Vec::new(),
                    tree: None,
                    timeout: None,
                    budget: crate::runtime::budget::Left::default(),
                    price: None,
                    remote: false,
                };
                !rt.block_on(sim.run(inv)).ok
            });
            let n = fails.count();
            failed += n;
            thrice += usize::from(n == 3);
        }
        // 15,000 draws at 20%: 3,000 expected; three failures in a row: 0.8%, 40 expected.
        assert!((2_700..3_300).contains(&failed), "{failed} failures");
        assert!(
            (15..70).contains(&thrice),
            "{thrice} stories failed three times"
        );
    }

    #[test]
    fn the_same_inputs_give_the_same_outcome() {
        let sim = SimBackend {
            duration: Duration::ZERO,
            fail_rate: 0.5,
            seed: 7,
        };
        let inv = |attempt| Invocation {
            run: None,
            step: String::new(),
            agent: "qa".into(),
            tasks: vec!["validate".into()],
            story: Some("1".into()),
            attempt,
            validation: true,
            prompt: String::new(),
            produces: Vec::new(),
            tree: None,
            timeout: None,
            budget: crate::runtime::budget::Left::default(),
            price: None,
            remote: false,
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let a: Vec<bool> = (1..=20).map(|i| rt.block_on(sim.run(inv(i))).ok).collect();
        let b: Vec<bool> = (1..=20).map(|i| rt.block_on(sim.run(inv(i))).ok).collect();
        assert_eq!(a, b);
        assert!(
            a.iter().any(|x| *x) && a.iter().any(|x| !*x),
            "a 50% rate gives both: {a:?}"
        );
    }
}
