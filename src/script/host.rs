//! The host API scripts call: artifacts (exists, read, sha256), declared environment
//! variables, time, text and log matching, and network probes to declared hosts. Files
//! are confined to the workspace; nothing else of the machine is reachable. Every
//! function checks the evaluation's deadline and bounds its own waiting by what is left.

use super::Sandbox;
use super::bounds::{check_deadline, remaining};
use rhai::{Dynamic, Engine, EvalAltResult, Map};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

type Res<T> = Result<T, Box<EvalAltResult>>;

/// Names of every host function, for the compile-time check of function calls.
pub const HOST_FUNCTIONS: &[&str] = &[
    "sleep",
    "exists",
    "read",
    "sha256",
    "env",
    "now",
    "ms",
    "seconds",
    "minutes",
    "hours",
    "matches",
    "log_contains",
    "tcp_connect",
    "http_get",
];

/// Most bytes `sha256` and `log_contains` read from one file.
const MAX_SCAN_BYTES: u64 = 256 * 1024 * 1024;
/// Longest regex pattern.
const MAX_PATTERN: usize = 4096;

/// Why a path of the workspace cannot be read: each variant holds the path as written.
#[derive(Debug, thiserror::Error)]
pub enum ConfineError {
    /// `..` leads out of the workspace.
    #[error("`{0}` is outside the workspace")]
    Outside(String),
    /// No such file.
    #[error("cannot read `{0}`: no such file in the workspace")]
    NotFound(String),
    /// The file cannot be opened or its metadata read.
    #[error("cannot read `{path}`: {source}")]
    Unreadable {
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// What was opened cannot be told apart from a link out.
    #[error("cannot read `{0}`: its real path is unknown")]
    UnknownRealPath(String),
    /// What was opened is outside the workspace (a symlink).
    #[error("`{0}` leads outside the workspace")]
    LeadsOut(String),
    /// A directory, a FIFO, a device.
    #[error("cannot read `{0}`: not a regular file")]
    NotAFile(String),
}

impl From<ConfineError> for Box<EvalAltResult> {
    fn from(e: ConfineError) -> Self {
        e.to_string().into()
    }
}

fn fail<T>(message: String) -> Res<T> {
    Err(message.into())
}

thread_local! {
    /// The directory file functions read from, for the evaluation running on this thread,
    /// when it is not the workspace (a script agent in a story's worktree).
    static ROOT: std::cell::RefCell<Option<PathBuf>> = const { std::cell::RefCell::new(None) };
}

/// The directory file functions read from on this thread: `workspace`, or the one the
/// evaluation runs in ([`with_root`]).
fn root(workspace: &Path) -> PathBuf {
    ROOT.with(|r| r.borrow().clone())
        .unwrap_or_else(|| workspace.to_path_buf())
}

/// The directory [`with_root`] set on this thread, if any.
pub fn current_root() -> Option<PathBuf> {
    ROOT.with(|r| r.borrow().clone())
}

/// Runs `f` with file functions reading from `dir` instead of the workspace (`None`: the
/// workspace), on this thread.
pub fn with_root<T>(dir: Option<PathBuf>, f: impl FnOnce() -> T) -> T {
    /// Puts the thread's directory back, even when `f` panics.
    struct Restore(Option<PathBuf>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let before = self.0.take();
            ROOT.with(|r| *r.borrow_mut() = before);
        }
    }
    let _restore = Restore(ROOT.with(|r| r.replace(dir)));
    f()
}

/// `path` inside the workspace, lexically: absolute-looking paths (`/docs/prd.md`) are
/// taken from the workspace root; `..` that leaves it is refused. Symlinks are checked on
/// the opened file by [`open_confined`].
///
/// # Errors
///
/// When `..` leads out of the workspace.
pub fn confine(workspace: &Path, path: &str) -> Result<PathBuf, ConfineError> {
    let mut inside = PathBuf::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(part) => inside.push(part),
            Component::ParentDir => {
                if !inside.pop() {
                    return Err(ConfineError::Outside(path.to_string()));
                }
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Ok(workspace.join(&inside))
}

/// Opens a regular file of the workspace for reading. The file is opened first (never
/// blocking, so a FIFO cannot hang the script) and then the path of what was really opened
/// is checked, so a symlink swapped in between cannot lead out. Fails closed.
///
/// # Errors
///
/// When the path leads out of the workspace, or the file cannot be opened or is not a
/// regular file.
pub fn open_confined(root: &Path, path: &str) -> Result<File, ConfineError> {
    let full = confine(root, path)?;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let unreadable = |source| ConfineError::Unreadable {
        path: path.to_string(),
        source,
    };
    let file = options.open(&full).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ConfineError::NotFound(path.to_string()),
        _ => unreadable(e),
    })?;
    let real =
        real_path(&file, &full).ok_or_else(|| ConfineError::UnknownRealPath(path.to_string()))?;
    if !real.starts_with(root) {
        return Err(ConfineError::LeadsOut(path.to_string()));
    }
    let meta = file.metadata().map_err(unreadable)?;
    if !meta.is_file() {
        return Err(ConfineError::NotAFile(path.to_string()));
    }
    Ok(file)
}

/// The real path of an open file: on Linux from its descriptor, elsewhere by name.
fn real_path(file: &File, full: &Path) -> Option<PathBuf> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let _ = full;
        std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = file;
        full.canonicalize().ok()
    }
}

fn declared(sandbox: &Sandbox, host: &str) -> Res<()> {
    let host = host.to_ascii_lowercase();
    if sandbox.hosts.contains(&host) {
        Ok(())
    } else {
        fail(format!(
            "host `{host}` is not declared by the workflow (declare it with `settings {{ hosts \"{host}\" }}`)"
        ))
    }
}

/// The time a network call may take: what the script asks, at most a minute, never past
/// the evaluation's deadline.
fn timeout(ms: i64) -> Duration {
    let asked = Duration::from_millis(ms.clamp(1, 60_000).unsigned_abs());
    remaining().map_or(asked, |left| asked.min(left).max(Duration::from_millis(1)))
}

/// A cache of compiled patterns, bounded in size; compiled outside the lock.
#[derive(Default)]
struct Patterns {
    cache: Mutex<HashMap<String, regex::Regex>>,
}

impl Patterns {
    fn get(&self, pattern: &str) -> Res<regex::Regex> {
        if let Some(r) = self.cache.lock().ok().and_then(|c| c.get(pattern).cloned()) {
            return Ok(r);
        }
        if pattern.len() > MAX_PATTERN {
            return fail(format!("a pattern is longer than {MAX_PATTERN} bytes"));
        }
        let r = regex::RegexBuilder::new(pattern)
            .size_limit(256 * 1024)
            .dfa_size_limit(2 * 1024 * 1024)
            .build()
            .map_err(|e| format!("invalid pattern: {e}"))?;
        if let Ok(mut cache) = self.cache.lock()
            && cache.len() < 256
        {
            cache.insert(pattern.to_string(), r.clone());
        }
        Ok(r)
    }
}

/// The longest slice a `sleep` waits before it looks at the deadline and cancellation.
const SLEEP_SLICE: Duration = Duration::from_millis(20);

/// `sleep(seconds)`: waits, in slices, never past the evaluation's deadline nor after the
/// run is stopped (rhai's own `sleep` ignores both and panics on a huge number).
fn sleep(seconds: f64) -> Res<()> {
    if seconds.is_nan() || seconds <= 0.0 {
        return Ok(());
    }
    let asked = Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX);
    let end = std::time::Instant::now().checked_add(asked);
    loop {
        check_deadline()?;
        let left = match end {
            Some(end) => end.saturating_duration_since(std::time::Instant::now()),
            None => Duration::MAX,
        };
        if left.is_zero() {
            return Ok(());
        }
        let wait = left.min(SLEEP_SLICE);
        std::thread::sleep(remaining().map_or(wait, |r| wait.min(r.max(Duration::from_millis(1)))));
    }
}

/// Registers the host API on `engine` for `sandbox`.
pub fn register(engine: &mut Engine, sandbox: Arc<Sandbox>) {
    engine.register_fn("sleep", sleep);
    engine.register_fn("sleep", |seconds: i64| sleep(seconds as f64));
    register_files(engine, &sandbox);
    let s = sandbox.clone();
    engine.register_fn("env", move |name: &str| -> Res<String> {
        let Some((_, default, _)) = s.env.iter().find(|(n, _, _)| n == name) else {
            return fail(format!(
                "environment variable `{name}` is not declared (declare it with `env {name}`)"
            ));
        };
        match std::env::var(name) {
            Ok(v) => Ok(v),
            Err(_) => default.clone().ok_or_else(|| {
                format!("environment variable `{name}` is not set and has no default").into()
            }),
        }
    });
    engine.register_fn("now", || -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    });
    engine.register_fn("ms", |n: i64| n);
    engine.register_fn("seconds", |n: i64| n.saturating_mul(1_000));
    engine.register_fn("minutes", |n: i64| n.saturating_mul(60_000));
    engine.register_fn("hours", |n: i64| n.saturating_mul(3_600_000));
    let patterns: Arc<Patterns> = Arc::default();
    let p = patterns.clone();
    engine.register_fn("matches", move |text: &str, pattern: &str| -> Res<bool> {
        check_deadline()?;
        Ok(p.get(pattern)?.is_match(text))
    });
    let s = sandbox.clone();
    engine.register_fn(
        "log_contains",
        move |path: &str, pattern: &str| -> Res<bool> {
            check_deadline()?;
            let r = patterns.get(pattern)?;
            let file = open_confined(&root(&s.workspace), path)?;
            let mut reader = BufReader::new(file.take(MAX_SCAN_BYTES));
            let mut line = Vec::new();
            loop {
                line.clear();
                let n = (&mut reader)
                    .take(s.limits.max_string as u64)
                    .read_until(b'\n', &mut line)
                    .map_err(|e| format!("cannot read `{path}`: {e}"))?;
                if n == 0 {
                    return Ok(false);
                }
                if r.is_match(&String::from_utf8_lossy(&line)) {
                    return Ok(true);
                }
                check_deadline()?;
            }
        },
    );
    register_network(engine, sandbox);
}

fn register_files(engine: &mut Engine, sandbox: &Arc<Sandbox>) {
    let s = sandbox.clone();
    engine.register_fn("exists", move |path: &str| -> Res<bool> {
        check_deadline()?;
        // Anything outside the workspace "does not exist": no oracle for outside files.
        let root = root(&s.workspace);
        let Ok(full) = confine(&root, path) else {
            return Ok(false);
        };
        Ok(match full.canonicalize() {
            Ok(real) => real.starts_with(&root),
            Err(_) => false,
        })
    });
    let s = sandbox.clone();
    engine.register_fn("read", move |path: &str| -> Res<String> {
        check_deadline()?;
        let max = s.limits.max_string;
        let mut buf = Vec::new();
        open_confined(&root(&s.workspace), path)?
            .take(max as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read `{path}`: {e}"))?;
        if buf.len() > max {
            return fail(format!(
                "`{path}` is longer than the longest string a script may hold, {max} bytes (limit `script_max_string`)"
            ));
        }
        String::from_utf8(buf).map_err(|_| format!("`{path}` is not UTF-8 text").into())
    });
    let s = sandbox.clone();
    engine.register_fn("sha256", move |path: &str| -> Res<String> {
        use sha2::{Digest, Sha256};
        check_deadline()?;
        let mut file = open_confined(&root(&s.workspace), path)?.take(MAX_SCAN_BYTES + 1);
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        loop {
            let n = file
                .read(&mut buf)
                .map_err(|e| format!("cannot read `{path}`: {e}"))?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > MAX_SCAN_BYTES {
                return fail(format!(
                    "`{path}` is larger than {} MiB",
                    MAX_SCAN_BYTES >> 20
                ));
            }
            hasher.update(&buf[..n]);
            check_deadline()?;
        }
        let mut hex = String::with_capacity(64);
        for b in hasher.finalize() {
            let _ = write!(hex, "{b:02x}");
        }
        Ok(hex)
    });
}

fn register_network(engine: &mut Engine, sandbox: Arc<Sandbox>) {
    let s = sandbox.clone();
    engine.register_fn(
        "tcp_connect",
        move |host: &str, port: i64, timeout_ms: i64| -> Res<bool> {
            check_deadline()?;
            declared(&s, host)?;
            let port = u16::try_from(port).map_err(|_| format!("{port} is not a port"))?;
            let probed = crate::probe::tcp(host, port, timeout(timeout_ms), || {
                check_deadline().map_err(|e| -> crate::probe::GiveUp { e })
            })
            .map_err(|e| e.to_string())?;
            Ok(probed.answered)
        },
    );
    let s = sandbox;
    engine.register_fn("http_get", move |url: &str, timeout_ms: i64| -> Res<Map> {
        check_deadline()?;
        let host = super::host_of(url).ok_or_else(|| format!("`{url}` has no host"))?;
        declared(&s, &host)?;
        let probed = http_get_stoppable(url, timeout(timeout_ms))?;
        let mut result = Map::new();
        let status = i64::from(probed.status.unwrap_or(0));
        result.insert("status".into(), Dynamic::from(status));
        result.insert("ok".into(), Dynamic::from((200..300).contains(&status)));
        if let Some(e) = probed.error {
            result.insert("error".into(), Dynamic::from(e));
        }
        result.insert(
            "latency_ms".into(),
            Dynamic::from(i64::try_from(probed.latency.as_millis()).unwrap_or(i64::MAX)),
        );
        Ok(result)
    });
}

/// `GET url` on a thread of its own (its own runtime: the evaluating thread may be inside
/// the run's, where tokio refuses to start another), waited for in slices so that the
/// evaluation's deadline and cancellation (Ctrl-C, SIGTERM) stop the wait at once; the
/// request then ends by itself within `timeout`.
fn http_get_stoppable(url: &str, timeout: Duration) -> Res<crate::probe::Probed> {
    let (tx, rx) = std::sync::mpsc::channel();
    let url = url.to_string();
    std::thread::Builder::new()
        .name("bmad-http-get".into())
        .spawn(move || {
            let probed = crate::probe::http_blocking(crate::probe::HttpMethod::Get, &url, timeout);
            let _ = tx.send(probed);
        })
        .map_err(|e| format!("cannot start the request: {e}"))?;
    loop {
        check_deadline()?;
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(probed) => return Ok(probed),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return fail("the request's thread ended without an answer".to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::confine;
    use std::path::Path;

    #[test]
    fn paths_stay_in_the_workspace() {
        let ws = Path::new("/work/space");
        assert_eq!(
            confine(ws, "/docs/prd.md").unwrap(),
            Path::new("/work/space/docs/prd.md")
        );
        assert_eq!(
            confine(ws, "docs/../prd.md").unwrap(),
            Path::new("/work/space/prd.md")
        );
        assert!(confine(ws, "../etc/passwd").is_err());
        assert!(confine(ws, "/../../etc/passwd").is_err());
    }
}
