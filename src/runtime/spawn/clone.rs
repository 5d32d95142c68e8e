//! The child's start itself: `clone` with the calling thread's memory (`CLONE_VM`), the
//! caller suspended until the child has called `execve` (`CLONE_VFORK`), and its pidfd
//! from the same call (`CLONE_PIDFD`). It is what `posix_spawn` does, but on a stack on
//! the caller's own: glibc's `posix_spawn` maps a fresh stack for every child and unmaps
//! it after, and while another of bmad's threads (the state writer) has run on the other
//! CPU, that unmapping interrupts it to flush its TLB. In a profile of 2,000 `exec` tasks
//! that flush was the largest cost of bmad's own.
//!
//! Between `clone` and `execve` the child shares bmad's memory, so it only makes system
//! calls through the C library's thin wrappers, on data the parent prepared: it
//! allocates nothing, takes no lock, and cannot unwind.

use std::ffi::{c_char, c_int, c_void};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// Bytes of the child's stack: it makes a handful of system calls through the C library
/// and runs no Rust code of any depth (bmad is linked with symbols bound at load, so no
/// lazy binding runs on it either). glibc maps 32 KiB plus the arguments' size, for a
/// fallback through `/bin/sh` this never takes.
const STACK_BYTES: usize = 16 * 1024;

/// Everything the child does, prepared by the parent; every pointer is alive until
/// [`launch`] returns.
pub(super) struct Plan {
    /// The program's path.
    pub(super) program: *const c_char,
    /// Its arguments, ending with a null pointer.
    pub(super) argv: *const *const c_char,
    /// Its environment, ending with a null pointer.
    pub(super) envp: *const *const c_char,
    /// Its working directory, or null for bmad's.
    pub(super) dir: *const c_char,
    /// The descriptors that become its standard input, output and error.
    pub(super) stdio: [RawFd; 3],
    /// What went wrong in the child before `execve` succeeded (an `errno`), or 0.
    failed: c_int,
}

impl Plan {
    /// A plan with nothing failed yet.
    pub(super) fn new(
        program: *const c_char,
        argv: *const *const c_char,
        envp: *const *const c_char,
        dir: *const c_char,
        stdio: [RawFd; 3],
    ) -> Plan {
        Plan {
            program,
            argv,
            envp,
            dir,
            stdio,
            failed: 0,
        }
    }
}

/// The stack the child runs on, 16-byte aligned.
#[repr(C, align(16))]
struct Stack([MaybeUninit<u8>; STACK_BYTES]);

/// Starts the child `plan` describes, in a process group of its own, with no signal
/// blocked, every signal bmad handles back at its default, and SIGPIPE at its default:
/// its pid and pidfd once it has called `execve`.
///
/// # Errors
///
/// When the child cannot be made, or fails before its program runs (no such program, no
/// such directory, ...): that error, the child reaped.
pub(super) fn launch(plan: &mut Plan) -> io::Result<(libc::pid_t, OwnedFd)> {
    let mut stack = Stack([MaybeUninit::uninit(); STACK_BYTES]);
    let top = stack.0.as_mut_ptr_range().end.cast::<c_void>();
    let mut pidfd: c_int = -1;
    // SAFETY: all signals are blocked around the clone so that none is handled in the
    // child while it shares this thread's memory (the child resets the handlers before it
    // unblocks them). The child runs `child` on `stack`, which lives in this frame: this
    // thread is suspended (CLONE_VFORK) until the child has called execve or exited, so
    // neither the stack nor `plan` is used by two at once. `plan`'s pointers are alive
    // for this call (the caller's promise). CLONE_PIDFD writes the pidfd into `pidfd`.
    let pid = unsafe {
        let mut all = MaybeUninit::<libc::sigset_t>::uninit();
        let mut before = MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigfillset(all.as_mut_ptr());
        libc::pthread_sigmask(libc::SIG_BLOCK, all.as_ptr(), before.as_mut_ptr());
        let pid = libc::clone(
            child,
            top,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PIDFD | libc::SIGCHLD,
            std::ptr::from_mut(plan).cast::<c_void>(),
            &raw mut pidfd,
        );
        let made = io::Error::last_os_error();
        libc::pthread_sigmask(libc::SIG_SETMASK, before.as_ptr(), std::ptr::null_mut());
        if pid < 0 {
            return Err(made);
        }
        pid
    };
    // SAFETY: the kernel put a new descriptor there, owned by nobody else.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    // SAFETY: the child is done with `plan` (it has exec'd or exited); a volatile read
    // because the compiler does not know the child wrote it.
    let failed = unsafe { std::ptr::read_volatile(&raw const plan.failed) };
    if failed != 0 {
        // It has exited (or is about to): reaped here, not left a zombie.
        let mut status = 0;
        // SAFETY: waits for this process's own child.
        unsafe { libc::waitpid(pid, &raw mut status, 0) };
        return Err(io::Error::from_raw_os_error(failed));
    }
    Ok((pid, pidfd))
}

/// The child, on its own stack in bmad's memory: resets its signals, makes its process
/// group, puts its standard streams in place, moves to its directory and runs its
/// program; on a failure it records the error for the parent and exits with 127.
extern "C" fn child(arg: *mut c_void) -> c_int {
    let plan = arg.cast::<Plan>();
    // SAFETY: `arg` is the parent's `Plan`, alive and not touched by the suspended parent
    // until this child has exec'd or exited. Only async-signal-safe C library calls are
    // made, on values prepared before the clone.
    unsafe {
        let fail = |plan: *mut Plan| -> c_int {
            let errno = *libc::__errno_location();
            std::ptr::write_volatile(&raw mut (*plan).failed, errno.max(1));
            libc::_exit(127)
        };
        // A handler of bmad's would run here, in bmad's memory: every signal handled is
        // set back to its default, as is SIGPIPE (ignored by Rust programs).
        let mut seen = MaybeUninit::<libc::sigaction>::zeroed().assume_init();
        let mut default = MaybeUninit::<libc::sigaction>::zeroed().assume_init();
        default.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&raw mut default.sa_mask);
        for sig in 1..=libc::SIGRTMAX() {
            if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                continue;
            }
            let handled = libc::sigaction(sig, std::ptr::null(), &raw mut seen) == 0
                && seen.sa_sigaction != libc::SIG_DFL
                && seen.sa_sigaction != libc::SIG_IGN;
            if handled || sig == libc::SIGPIPE {
                libc::sigaction(sig, &raw const default, std::ptr::null_mut());
            }
        }
        if libc::setpgid(0, 0) != 0 {
            return fail(plan);
        }
        for (to, &from) in (0..).zip((*plan).stdio.iter()) {
            let ok = if from == to {
                // Already in place: only kept open across the exec.
                libc::fcntl(from, libc::F_SETFD, 0) == 0
            } else {
                libc::dup2(from, to) == to
            };
            if !ok {
                return fail(plan);
            }
        }
        if !(*plan).dir.is_null() && libc::chdir((*plan).dir) != 0 {
            return fail(plan);
        }
        let mut none = MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigemptyset(none.as_mut_ptr());
        libc::sigprocmask(libc::SIG_SETMASK, none.as_ptr(), std::ptr::null_mut());
        libc::execve((*plan).program, (*plan).argv, (*plan).envp);
        fail(plan)
    }
}
