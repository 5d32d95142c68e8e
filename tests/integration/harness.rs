//! The test harness, in the manner of just's `Test` builder: a workflow as an indented
//! literal, the arguments of `bmad`, the expected status and output, in a few lines; and
//! waiting on a condition with a deadline instead of sleeping for a fixed window.
//!
//! ```ignore
//! Test::new()
//!     .workflow(
//!         r#"
//!         agent lonely {
//!           backend sim
//!         }
//!         "#,
//!     )
//!     .args(&["check", "flow.bmad"])
//!     .stderr_contains("bmad::unused")
//!     .run();
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a test waits for something that normally takes well under a second: generous,
/// for a loaded machine; a condition that holds ends the wait at once.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// How often a condition is polled.
const POLL: Duration = Duration::from_millis(20);

/// `text` without its common indentation: a literal indented with the code around it
/// reads as the file it stands for. A first line that is empty (the newline after `r#"`)
/// is dropped, and a last line of blanks (the indentation of the closing `"#`) is emptied,
/// so the text ends with a newline.
pub fn dedent(text: &str) -> String {
    let text = text.strip_prefix('\n').unwrap_or(text);
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        if line.trim().is_empty() {
            // Blank lines keep their newline only.
            if line.ends_with('\n') {
                out.push('\n');
            }
        } else {
            out.push_str(&line[indent..]);
        }
    }
    out
}

/// [`dedent`]ed `text` with each `{name}` of `vars` replaced by its value; other braces
/// are the workflow's own, written once (no doubling as in `format!`).
pub fn fill(text: &str, vars: &[(&str, &dyn std::fmt::Display)]) -> String {
    let mut out = dedent(text);
    for (name, value) in vars {
        out = out.replace(&format!("{{{name}}}"), &value.to_string());
    }
    out
}

/// Polls `cond` until it holds or `within` has passed; whether it held. The test asserts
/// what it needs afterwards, with its own message.
pub fn wait_until(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

/// [`wait_until`] inside a tokio runtime on the wall clock: the runtime's other tasks go
/// on between polls.
pub async fn wait_until_async(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// A run of the `bmad` binary in a temporary directory, its expectations, then
/// [`Test::run`]. The directory is the working directory, so the workflow is `flow.bmad`
/// and a workspace may be a relative path; a status of 0 is expected unless told.
#[must_use = "a Test does nothing until run"]
pub struct Test {
    dir: Dir,
    cwd: Option<PathBuf>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Option<Vec<u8>>,
    status: Option<i32>,
    stdout: Option<String>,
    stderr: Option<String>,
    stdout_contains: Vec<String>,
    stderr_contains: Vec<String>,
    stdout_lacks: Vec<String>,
    stderr_lacks: Vec<String>,
}

impl Default for Test {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a test runs: a temporary directory of its own, or one given (another test's, to
/// run `bmad` again on what it left).
pub enum Dir {
    /// Removed when the test and what it ran are dropped.
    Temp(tempfile::TempDir),
    /// Left as it is.
    At(PathBuf),
}

impl Dir {
    /// Its path.
    pub fn path(&self) -> &Path {
        match self {
            Dir::Temp(t) => t.path(),
            Dir::At(p) => p,
        }
    }
}

impl Test {
    /// A test in a new, empty temporary directory.
    pub fn new() -> Test {
        Test::in_dir(Dir::Temp(
            tempfile::tempdir().expect("a temporary directory"),
        ))
    }

    /// A test in `dir`, which exists and is not removed afterwards.
    pub fn at(dir: &Path) -> Test {
        Test::in_dir(Dir::At(dir.to_path_buf()))
    }

    fn in_dir(dir: Dir) -> Test {
        Test {
            dir,
            cwd: None,
            args: Vec::new(),
            env: vec![("NO_COLOR".into(), "1".into())],
            stdin: None,
            status: Some(0),
            stdout: None,
            stderr: None,
            stdout_contains: Vec::new(),
            stderr_contains: Vec::new(),
            stdout_lacks: Vec::new(),
            stderr_lacks: Vec::new(),
        }
    }

    /// The temporary directory the test runs in.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The workflow, `flow.bmad` in the directory ([`dedent`]ed).
    pub fn workflow(self, text: &str) -> Test {
        self.file("flow.bmad", &dedent(text))
    }

    /// A file at `name` under the directory, with its parents, holding `text` as given.
    pub fn file(self, name: &str, text: &str) -> Test {
        self.bytes(name, text.as_bytes())
    }

    /// A file at `name` under the directory holding `bytes`.
    pub fn bytes(self, name: &str, bytes: &[u8]) -> Test {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("the file's directory is made");
        }
        std::fs::write(&path, bytes).expect("the file is written");
        self
    }

    /// Runs `bmad` from the package root instead (for paths such as `examples/hello.bmad`).
    pub fn at_root(mut self) -> Test {
        self.cwd = Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
        self
    }

    /// The arguments of `bmad`, after any given before.
    pub fn args(mut self, args: &[&str]) -> Test {
        self.args.extend(args.iter().map(|a| (*a).to_string()));
        self
    }

    /// One more argument: a path, say.
    pub fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Test {
        self.args
            .push(arg.as_ref().to_str().expect("a UTF-8 argument").to_string());
        self
    }

    /// An environment variable of the run.
    pub fn env(mut self, name: &str, value: &str) -> Test {
        self.env.push((name.into(), value.into()));
        self
    }

    /// What the run reads on its stdin (nothing otherwise).
    pub fn stdin(mut self, input: &str) -> Test {
        self.stdin = Some(input.as_bytes().to_vec());
        self
    }

    /// The exit status expected (0 unless told).
    pub fn status(mut self, code: i32) -> Test {
        self.status = Some(code);
        self
    }

    /// Any exit status will do (the test looks at the output only).
    pub fn any_status(mut self) -> Test {
        self.status = None;
        self
    }

    /// The whole of stdout, exactly as given.
    pub fn stdout(mut self, text: &str) -> Test {
        self.stdout = Some(text.to_string());
        self
    }

    /// The whole of stderr, exactly as given.
    pub fn stderr(mut self, text: &str) -> Test {
        self.stderr = Some(text.to_string());
        self
    }

    /// Text that stdout must contain.
    pub fn stdout_contains(mut self, text: &str) -> Test {
        self.stdout_contains.push(text.to_string());
        self
    }

    /// Text that stderr must contain.
    pub fn stderr_contains(mut self, text: &str) -> Test {
        self.stderr_contains.push(text.to_string());
        self
    }

    /// Text that stdout must not contain.
    pub fn stdout_lacks(mut self, text: &str) -> Test {
        self.stdout_lacks.push(text.to_string());
        self
    }

    /// Text that stderr must not contain.
    pub fn stderr_lacks(mut self, text: &str) -> Test {
        self.stderr_lacks.push(text.to_string());
        self
    }

    /// Runs `bmad` and checks every expectation; what it did, with the directory (kept
    /// alive for the files the test looks at next).
    pub fn run(self) -> Ran {
        let cwd = self.cwd.clone().unwrap_or_else(|| self.dir.path().into());
        let mut child = Command::new(env!("CARGO_BIN_EXE_bmad"))
            .args(&self.args)
            .current_dir(cwd)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the bmad binary starts");
        // Written from a thread: a program that answers while it reads must not deadlock.
        let writer = child
            .stdin
            .take()
            .zip(self.stdin.clone())
            .map(|(mut pipe, input)| {
                std::thread::spawn(move || {
                    use std::io::Write;
                    let _ = pipe.write_all(&input);
                })
            });
        let out = child.wait_with_output().expect("bmad runs");
        if let Some(w) = writer {
            let _ = w.join();
        }
        let ran = Ran {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            dir: self.dir,
        };
        let shown = || {
            format!(
                "bmad {:?}\n--- status: {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
                self.args, ran.code, ran.stdout, ran.stderr
            )
        };
        if let Some(code) = self.status {
            assert_eq!(ran.code, Some(code), "unexpected status: {}", shown());
        }
        if let Some(want) = &self.stdout {
            assert_eq!(&ran.stdout, want, "stdout: {}", shown());
        }
        if let Some(want) = &self.stderr {
            assert_eq!(&ran.stderr, want, "stderr: {}", shown());
        }
        for want in &self.stdout_contains {
            assert!(
                ran.stdout.contains(want.as_str()),
                "no {want:?} on stdout: {}",
                shown()
            );
        }
        for want in &self.stderr_contains {
            assert!(
                ran.stderr.contains(want.as_str()),
                "no {want:?} on stderr: {}",
                shown()
            );
        }
        for not in &self.stdout_lacks {
            assert!(
                !ran.stdout.contains(not.as_str()),
                "{not:?} on stdout: {}",
                shown()
            );
        }
        for not in &self.stderr_lacks {
            assert!(
                !ran.stderr.contains(not.as_str()),
                "{not:?} on stderr: {}",
                shown()
            );
        }
        ran
    }
}

/// What a [`Test`] run did.
pub struct Ran {
    /// The exit code (none if a signal ended it).
    pub code: Option<i32>,
    /// stdout, lossily decoded.
    pub stdout: String,
    /// stderr, lossily decoded.
    pub stderr: String,
    /// The test's directory, alive as long as this is.
    pub dir: Dir,
}

impl Ran {
    /// The test's directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The text of the file at `name` under the test's directory.
    pub fn read(&self, name: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{} cannot be read: {e}", path.display()))
    }
}

/// The harness itself: what it writes, and that an expectation that does not hold fails.
mod checks {
    use super::{Test, dedent, fill, wait_until};
    use std::time::Duration;

    #[test]
    fn dedent_drops_the_common_indentation_and_the_literal_s_own_lines() {
        let text = dedent(
            r#"
            phase p {
              wait 1s

            }
            "#,
        );
        assert_eq!(text, "phase p {\n  wait 1s\n\n}\n");
        assert_eq!(dedent("a\n  b"), "a\n  b");
        assert_eq!(
            fill("  x {a} {b} {c}\n", &[("a", &1), ("b", &"two")]),
            "x 1 two {c}\n"
        );
    }

    #[test]
    fn a_test_checks_the_status_and_both_outputs_whole_or_in_part() {
        let ran = Test::new()
            .workflow(
                r#"
                agent lonely {
                  backend sim
                }
                "#,
            )
            .arg("check")
            .args(&["--format", "json", "flow.bmad"])
            .env("BMAD_LOG", "off")
            .stdout_contains("\"code\":\"bmad::unused\"")
            .stdout_lacks("\"severity\":\"error\"")
            .stderr_lacks("error")
            .run();
        assert_eq!(ran.read("flow.bmad"), "agent lonely {\n  backend sim\n}\n");
        Test::new()
            .args(&["explain", "nothing-of-the-kind"])
            .any_status()
            .stdout("")
            .run();
        Test::new()
            .args(&["fmt", "--check", "-"])
            .stdin("kpi q: m < 5%\n")
            .stderr("")
            .run();
    }

    #[test]
    #[should_panic(expected = "unexpected status")]
    fn a_wrong_status_fails_the_test() {
        Test::new().args(&["check", "no-such.bmad"]).run();
    }

    #[test]
    #[should_panic(expected = "on stderr")]
    fn missing_output_fails_the_test() {
        Test::new()
            .args(&["check", "no-such.bmad"])
            .status(2)
            .stderr_contains("nothing like this")
            .run();
    }

    #[test]
    fn a_wait_ends_when_its_condition_holds_or_at_its_deadline() {
        let mut polls = 0;
        assert!(wait_until(Duration::from_secs(60), || {
            polls += 1;
            polls == 3
        }));
        assert!(!wait_until(Duration::from_millis(50), || false));
    }
}
