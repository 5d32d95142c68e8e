//! Children started with `posix_spawn` and an environment block built once. When any
//! variable is set on it, std's `Command` copies bmad's whole environment into a map and
//! makes a C string of every variable for each child it starts: two fifths of bmad's own
//! instructions per `exec` task in a profile. Here bmad's environment is read once (a
//! change a host program makes to its own environment later is not seen by the children),
//! and a child's block is that list of pointers with the child's own variables over it.
//! Linux only (the child is waited for through a pidfd); elsewhere, or where the kernel
//! has no pidfds or the C library no `posix_spawn_file_actions_addchdir_np`, [`available`]
//! is false and the caller starts a [`Spec::to_command`].

use std::ffi::OsString;
use std::path::PathBuf;

/// A child to start: `program` with `args`, in `dir`, with bmad's environment and `env`
/// over it, its output piped, in a process group of its own.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The program, by its path.
    pub program: OsString,
    /// Its arguments (without the program).
    pub args: Vec<OsString>,
    /// Its working directory (bmad's when none).
    pub dir: Option<PathBuf>,
    /// Variables set over bmad's environment, in order (a later one wins).
    pub env: Vec<(&'static str, OsString)>,
}

impl Spec {
    /// `program` with `args`, in bmad's directory, with bmad's environment.
    pub fn new(program: impl Into<OsString>, args: Vec<OsString>) -> Spec {
        Spec {
            program: program.into(),
            args,
            dir: None,
            env: Vec::new(),
        }
    }

    /// Sets `key` to `value` in the child's environment.
    pub fn env(&mut self, key: &'static str, value: impl Into<OsString>) -> &mut Spec {
        self.env.push((key, value.into()));
        self
    }

    /// The same child as a `tokio::process::Command` (its standard streams and process
    /// group are the caller's to set).
    pub fn to_command(&self) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(&self.args);
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }
}

#[cfg(target_os = "linux")]
pub use linux::{Child, Started, available, start};

/// Whether [`start`] can start children here: never outside Linux.
#[cfg(not(target_os = "linux"))]
pub fn available() -> bool {
    false
}

#[cfg(target_os = "linux")]
mod linux {
    use super::Spec;
    use rustix::process::{Pid, PidfdFlags, Signal, WaitOptions, pidfd_open, waitpid};
    use std::ffi::{CString, c_char, c_int};
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;
    use std::sync::OnceLock;
    use tokio::io::Interest;
    use tokio::io::unix::AsyncFd;
    use tokio::net::unix::pipe;

    /// `posix_spawn_file_actions_addchdir_np` (glibc 2.29, musl 1.1.24), looked up when
    /// bmad runs so that bmad still starts on an older C library.
    type AddChdir =
        unsafe extern "C" fn(*mut libc::posix_spawn_file_actions_t, *const c_char) -> c_int;

    /// What starting a child needs, found once: the chdir action and working pidfds.
    fn add_chdir() -> Option<AddChdir> {
        static FOUND: OnceLock<Option<AddChdir>> = OnceLock::new();
        *FOUND.get_or_init(|| {
            let pidfds = pidfd_open(rustix::process::getpid(), PidfdFlags::empty()).is_ok();
            // SAFETY: dlsym with a NUL-terminated name; the symbol, when found, is the C
            // library's function of this signature.
            let sym = unsafe {
                libc::dlsym(
                    libc::RTLD_DEFAULT,
                    c"posix_spawn_file_actions_addchdir_np".as_ptr(),
                )
            };
            (pidfds && !sym.is_null()).then(|| {
                // SAFETY: a non-null pointer to the function named above.
                unsafe { std::mem::transmute::<*mut libc::c_void, AddChdir>(sym) }
            })
        })
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

    /// Turns a `posix_spawn*` return value into a result.
    fn check(ret: c_int) -> io::Result<()> {
        if ret == 0 {
            Ok(())
        } else {
            Err(io::Error::from_raw_os_error(ret))
        }
    }

    /// The spawn actions and attributes, destroyed when dropped if they were initialised.
    struct Setup {
        actions: libc::posix_spawn_file_actions_t,
        attrs: libc::posix_spawnattr_t,
        actions_made: bool,
        attrs_made: bool,
    }

    impl Drop for Setup {
        fn drop(&mut self) {
            // SAFETY: each is destroyed only when its init succeeded.
            unsafe {
                if self.actions_made {
                    libc::posix_spawn_file_actions_destroy(&raw mut self.actions);
                }
                if self.attrs_made {
                    libc::posix_spawnattr_destroy(&raw mut self.attrs);
                }
            }
        }
    }

    /// Whether [`start`] can start children here.
    pub fn available() -> bool {
        add_chdir().is_some()
    }

    /// Starts `spec` as std's `Command` would with its standard output and error piped,
    /// its standard input piped when `piped` (else the null device), in a new process
    /// group, with no signal blocked and SIGPIPE at its default. Must be called inside a
    /// Tokio runtime.
    ///
    /// # Errors
    ///
    /// When it cannot be started, or children cannot be started this way here
    /// ([`available`]).
    pub fn start(spec: &Spec, piped: bool) -> io::Result<Started> {
        let add_chdir = add_chdir().ok_or_else(|| io::Error::other("no posix_spawn here"))?;
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

        let mut pid: libc::pid_t = 0;
        // SAFETY: the actions and attributes are initialised before use and destroyed by
        // Setup's drop (and only then); every pointer given to posix_spawn (program, argv,
        // envp, the directory) points to a NUL-terminated string alive until it returns, and
        // argv and envp end with a null pointer. (std made sure fds 0-2 are open when bmad
        // started, so the pipes are not among the descriptors they are put on.)
        unsafe {
            let mut setup = Setup {
                actions: std::mem::zeroed(),
                attrs: std::mem::zeroed(),
                actions_made: false,
                attrs_made: false,
            };
            check(libc::posix_spawn_file_actions_init(&raw mut setup.actions))?;
            setup.actions_made = true;
            check(libc::posix_spawnattr_init(&raw mut setup.attrs))?;
            setup.attrs_made = true;
            let actions = &raw mut setup.actions;
            let attrs = &raw mut setup.attrs;
            for (fd, to) in [
                (stdin_fd, 0),
                (out_w.as_raw_fd(), 1),
                (err_w.as_raw_fd(), 2),
            ] {
                check(libc::posix_spawn_file_actions_adddup2(actions, fd, to))?;
            }
            if let Some(d) = &dir {
                check(add_chdir(actions, d.as_ptr()))?;
            }
            let mut signals: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&raw mut signals);
            check(libc::posix_spawnattr_setsigmask(attrs, &raw const signals))?;
            libc::sigaddset(&raw mut signals, libc::SIGPIPE);
            check(libc::posix_spawnattr_setsigdefault(
                attrs,
                &raw const signals,
            ))?;
            check(libc::posix_spawnattr_setpgroup(attrs, 0))?;
            let flags = libc::c_short::try_from(
                libc::POSIX_SPAWN_SETPGROUP
                    | libc::POSIX_SPAWN_SETSIGMASK
                    | libc::POSIX_SPAWN_SETSIGDEF,
            )
            .map_err(io::Error::other)?;
            check(libc::posix_spawnattr_setflags(attrs, flags))?;
            check(libc::posix_spawn(
                &raw mut pid,
                argv[0].as_ptr(),
                actions,
                attrs,
                arg_ptrs.as_ptr().cast::<*mut c_char>(),
                envp.as_ptr().cast::<*mut c_char>(),
            ))?;
        }
        drop((in_r, out_w, err_w));
        let child = Child::new(pid)?;
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
        fn new(raw: libc::pid_t) -> io::Result<Child> {
            let pid = Pid::from_raw(raw).ok_or_else(|| io::Error::other("no child"))?;
            let mut child = Child {
                pid,
                pidfd: None,
                status: None,
            };
            // On failure, the drop kills and reaps it.
            let fd = pidfd_open(pid, PidfdFlags::empty())?;
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
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn a_child_gets_its_arguments_directory_environment_and_input() {
        if !available() {
            return;
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let mut spec = Spec::new(
            "/bin/sh",
            vec![
                "-c".into(),
                "echo \"$1 $SPAWN_TEST $HOME\"; pwd; cat; echo oops >&2; exit 3".into(),
                "sh".into(),
                "arg".into(),
            ],
        );
        spec.dir = Some(dir.path().to_path_buf());
        spec.env("SPAWN_TEST", "first")
            .env("HOME", "/nowhere")
            .env("SPAWN_TEST", "second");
        let (status, out, err) = rt.block_on(async {
            let mut started = start(&spec, true).expect("it starts");
            let mut stdin = started.stdin.take().expect("piped");
            stdin.write_all(b"input\n").await.expect("written");
            drop(stdin);
            let (mut out, mut err) = (String::new(), String::new());
            started.stdout.read_to_string(&mut out).await.expect("read");
            started.stderr.read_to_string(&mut err).await.expect("read");
            (started.child.wait().await.expect("waited"), out, err)
        });
        let here = dir.path().canonicalize().expect("canonical");
        assert_eq!(
            out,
            format!("arg second /nowhere\n{}\ninput\n", here.display())
        );
        assert_eq!(err, "oops\n");
        assert_eq!(status.code(), Some(3));
    }

    #[test]
    fn a_dropped_child_is_killed_and_reaped_and_a_bad_one_fails() {
        if !available() {
            return;
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let pid = rt.block_on(async {
            let started =
                start(&Spec::new("/bin/sleep", vec!["1000".into()]), false).expect("it starts");
            started.child.id()
        });
        // Reaped: no zombie is left with its pid (the reaper thread may take a moment).
        let gone = (0..200).any(|_| {
            let there = std::path::Path::new(&format!("/proc/{pid}")).exists();
            if there {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            !there
        });
        assert!(gone, "{pid} was left");
        rt.block_on(async {
            let missing = Spec::new("/nonexistent/program", Vec::new());
            assert!(start(&missing, false).is_err());
            let mut bad_dir = Spec::new("/bin/true", Vec::new());
            bad_dir.dir = Some("/nonexistent/dir".into());
            assert!(start(&bad_dir, false).is_err());
            let nul = Spec::new("/bin/true", vec!["a\0b".into()]);
            assert!(start(&nul, false).is_err());
        });
    }
}
