//! Starting a child on Linux: its argument and environment blocks, its pipes, and the
//! child itself, waited for through its pidfd.

use super::Spec;
use super::clone::{Plan, launch};
use rustix::process::{Pid, PidfdFlags, Signal, WaitOptions, pidfd_open, waitpid};
use std::ffi::{CString, c_char};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::OnceLock;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::net::unix::pipe;

/// Whether this kernel gives pidfds (Linux 5.3), found once.
fn pidfds() -> bool {
    static FOUND: OnceLock<bool> = OnceLock::new();
    *FOUND.get_or_init(|| pidfd_open(rustix::process::getpid(), PidfdFlags::empty()).is_ok())
}

/// bmad's environment as `NAME=value` C strings, each with the length of its name, read
/// once: bmad does not change its own environment.
fn environment() -> &'static [(usize, CString)] {
    static ENV: OnceLock<Vec<(usize, CString)>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut seen = std::collections::HashSet::new();
        let mut all: Vec<(usize, CString)> = std::env::vars_os()
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            // A name given twice: the last one counts, as with std.
            .filter(|(k, _)| seen.insert(k.clone()))
            .filter_map(|(k, v)| Some((k.len(), entry(k.as_bytes(), v.as_bytes())?)))
            .collect();
        all.reverse();
        all
    })
}

/// `name=value` as a C string; none when either holds a NUL byte.
fn entry(name: &[u8], value: &[u8]) -> Option<CString> {
    let mut bytes = Vec::with_capacity(name.len() + value.len() + 2);
    bytes.extend_from_slice(name);
    bytes.push(b'=');
    bytes.extend_from_slice(value);
    CString::new(bytes).ok()
}

fn nul_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "nul byte found in provided data",
    )
}

/// A started child, its standard streams' other ends.
pub struct Started {
    /// The child.
    pub child: Child,
    /// Its standard input, when piped.
    pub stdin: Option<pipe::Sender>,
    /// Its standard output.
    pub stdout: pipe::Receiver,
    /// Its standard error.
    pub stderr: pipe::Receiver,
}

/// A pipe, both ends close-on-exec: (read, write).
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: pipe2 writes two descriptors into the array it is given.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both were just opened and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// `fd` made non-blocking, for the runtime's reactor.
fn nonblocking(fd: OwnedFd) -> io::Result<OwnedFd> {
    rustix::fs::fcntl_setfl(&fd, rustix::fs::OFlags::NONBLOCK)?;
    Ok(fd)
}

/// Whether [`start`] can start children here.
pub fn available() -> bool {
    super::clone::supported() && pidfds()
}

/// Starts `spec` as std's `Command` would with its standard output and error piped,
/// its standard input piped when `piped` (else the null device), in a new process
/// group, under its limits, with no signal blocked and SIGPIPE at its default. Must be
/// called inside a Tokio runtime.
///
/// # Errors
///
/// When it cannot be started, or children cannot be started this way here
/// ([`available`]).
pub fn start(spec: &Spec, piped: bool) -> io::Result<Started> {
    if !available() {
        return Err(io::Error::other(
            "children cannot be started here with clone and pidfds",
        ));
    }
    let cstr = |b: &[u8]| CString::new(b).map_err(|_| nul_error());
    let mut argv = Vec::with_capacity(spec.args.len() + 1);
    argv.push(cstr(spec.program.as_bytes())?);
    for a in &spec.args {
        argv.push(cstr(a.as_bytes())?);
    }
    let dir = match &spec.dir {
        Some(d) => Some(cstr(d.as_os_str().as_bytes())?),
        None => None,
    };
    let own: Vec<CString> = spec
        .env
        .iter()
        .map(|(k, v)| entry(k.as_bytes(), v.as_bytes()).ok_or_else(nul_error))
        .collect::<io::Result<_>>()?;
    // bmad's variables but those the child sets, then the child's (a later one wins).
    let set = |name: &[u8]| spec.env.iter().any(|(k, _)| k.as_bytes() == name);
    let mut envp: Vec<*const c_char> = Vec::with_capacity(environment().len() + own.len() + 1);
    envp.extend(
        environment()
            .iter()
            .filter(|(len, e)| !set(&e.as_bytes()[..*len]))
            .map(|(_, e)| e.as_ptr()),
    );
    for (i, e) in own.iter().enumerate() {
        let later = spec.env[i + 1..].iter().any(|(k, _)| *k == spec.env[i].0);
        if !later {
            envp.push(e.as_ptr());
        }
    }
    envp.push(std::ptr::null());
    let mut arg_ptrs: Vec<*const c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    arg_ptrs.push(std::ptr::null());

    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    // The null device is shared: put on the child's input as it is, never closed.
    let (in_r, in_w) = if piped {
        let (r, w) = pipe()?;
        (Some(r), Some(w))
    } else {
        (None, None)
    };
    let stdin_fd = match &in_r {
        Some(r) => r.as_raw_fd(),
        None => super::super::process::null_device()?.as_raw_fd(),
    };

    let mut plan = Plan::new(
        argv[0].as_ptr(),
        arg_ptrs.as_ptr(),
        envp.as_ptr(),
        dir.as_ref().map_or(std::ptr::null(), |d| d.as_ptr()),
        [stdin_fd, out_w.as_raw_fd(), err_w.as_raw_fd()],
        &spec.limits,
    )?;
    // (std made sure fds 0-2 are open when bmad started, so the pipes are not among the
    // descriptors they are put on.)
    let (pid, pidfd) = launch(&mut plan)?;
    drop((in_r, out_w, err_w));
    let child = Child::new(pid, pidfd)?;
    Ok(Started {
        child,
        stdin: match in_w {
            Some(w) => Some(pipe::Sender::from_owned_fd_unchecked(nonblocking(w)?)?),
            None => None,
        },
        stdout: pipe::Receiver::from_owned_fd_unchecked(nonblocking(out_r)?)?,
        stderr: pipe::Receiver::from_owned_fd_unchecked(nonblocking(err_r)?)?,
    })
}

/// A child started by [`start`], waited for through its pidfd. Dropped before it was
/// waited for, it is killed and reaped.
pub struct Child {
    pid: Pid,
    pidfd: Option<AsyncFd<OwnedFd>>,
    status: Option<ExitStatus>,
}

impl Child {
    fn new(raw: libc::pid_t, fd: OwnedFd) -> io::Result<Child> {
        let pid = Pid::from_raw(raw).ok_or_else(|| io::Error::other("no child"))?;
        let mut child = Child {
            pid,
            pidfd: None,
            status: None,
        };
        // On failure, the drop kills and reaps it.
        // SAFETY: the AsyncFd owns the descriptor, which stays open and the same until
        // it is dropped.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE)? };
        child.pidfd = Some(fd);
        Ok(child)
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.pid.as_raw_nonzero().get().unsigned_abs()
    }

    /// Reaps it if it has ended.
    fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if self.status.is_none()
            && let Some((_, status)) = waitpid(Some(self.pid), WaitOptions::NOHANG)?
        {
            self.status = Some(ExitStatus::from_raw(status.as_raw()));
        }
        Ok(self.status)
    }

    /// Waits for it to end.
    ///
    /// # Errors
    ///
    /// When it cannot be waited for.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        loop {
            if let Some(status) = self.status {
                return Ok(status);
            }
            // Readable once it has ended (at once if it had when it was registered).
            let Some(fd) = &self.pidfd else {
                return Err(io::Error::other("the child has no pidfd"));
            };
            let mut ready = fd.readable().await?;
            ready.clear_ready();
            drop(ready);
            self.try_wait()?;
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if matches!(self.try_wait(), Ok(Some(_))) {
            return;
        }
        // Not reaped yet, so the pid is still this child's.
        let _ = rustix::process::kill_process(self.pid, Signal::KILL);
        if matches!(self.try_wait(), Ok(Some(_))) {
            return;
        }
        let pid = self.pid;
        // Dies at once, but is reaped away from the runtime's threads.
        let _ = std::thread::Builder::new()
            .name("bmad-reap".into())
            .spawn(move || waitpid(Some(pid), WaitOptions::empty()));
    }
}
