//! The child's start itself: `clone` with the calling thread's memory (`CLONE_VM`), the
//! caller suspended until the child has called `execve` (`CLONE_VFORK`), and its pidfd
//! from the same call (`CLONE_PIDFD`). It is what glibc's `posix_spawn` does, but on a
//! stack in the caller's own frame: `posix_spawn` maps a fresh stack for every child and
//! unmaps it after, and while another of bmad's threads (the state writer) has run on the
//! other CPU, that unmapping interrupts it to flush its TLB. In a profile of 2,000 `exec`
//! tasks that flush was the largest kernel cost of bmad's own.
//!
//! Between `clone` and `execve` the child shares bmad's memory, so it makes raw system
//! calls only (as glibc's child calls its internal, unhookable wrappers: a function a
//! preloaded library puts over `execve` would run here, in bmad's memory, on a small
//! stack), on data the parent prepared: it allocates nothing, takes no lock, and cannot
//! unwind. glibc on `x86_64` and `aarch64` only (where the kernel's `sigaction` and the C
//! library's `clone` are known); elsewhere [`supported`] is false.

use std::ffi::{c_char, c_int, c_long, c_void};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use super::rlimit::Rlimit;

/// Bytes of the child's stack: it makes a few raw system calls and runs no Rust code of
/// any depth (it used under 1.5 KiB in a debug build, measured with a fill pattern).
const STACK_BYTES: usize = 16 * 1024;

/// Whether children start this way on this platform.
pub(super) const fn supported() -> bool {
    cfg!(all(
        target_env = "gnu",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))
}

/// Everything the child does, prepared by the parent; every pointer is alive until
/// [`launch`] returns.
pub(super) struct Plan {
    /// The program's path.
    program: *const c_char,
    /// Its arguments, ending with a null pointer.
    argv: *const *const c_char,
    /// Its environment, ending with a null pointer.
    envp: *const *const c_char,
    /// Its working directory, or null for bmad's.
    dir: *const c_char,
    /// The descriptors that become its standard input, output and error.
    stdio: [RawFd; 3],
    /// The resource limits it sets on itself: resource, soft and hard limit.
    limits: [(c_int, [u64; 2]); LIMITS_AT_MOST],
    /// How many of `limits` there are.
    limit_count: usize,
    /// What went wrong in the child before `execve` succeeded (an `errno`), or 0.
    failed: c_int,
}

/// The most resource limits a child is given (one per [`super::Resource`]).
const LIMITS_AT_MOST: usize = 3;

impl Plan {
    /// A plan with nothing failed yet.
    ///
    /// # Errors
    ///
    /// When more limits are given than there are resources.
    pub(super) fn new(
        program: *const c_char,
        argv: *const *const c_char,
        envp: *const *const c_char,
        dir: *const c_char,
        stdio: [RawFd; 3],
        given: &[Rlimit],
    ) -> io::Result<Plan> {
        let mut limits = [(0, [0; 2]); LIMITS_AT_MOST];
        if given.len() > LIMITS_AT_MOST {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "more resource limits than resources",
            ));
        }
        for (slot, l) in limits.iter_mut().zip(given) {
            *slot = (l.resource.number(), [l.soft, l.hard]);
        }
        Ok(Plan {
            program,
            argv,
            envp,
            dir,
            stdio,
            limits,
            limit_count: given.len(),
            failed: 0,
        })
    }
}

/// The stack the child runs on, 16-byte aligned.
#[repr(C, align(16))]
struct Stack([MaybeUninit<u8>; STACK_BYTES]);

/// The kernel's `struct sigaction` (`x86_64` and `aarch64` both have `sa_restorer`); only the
/// handler is read, and a disposition is set with nothing else in it.
#[repr(C)]
struct KernelSigaction {
    handler: libc::sighandler_t,
    flags: libc::c_ulong,
    restorer: usize,
    mask: u64,
}

/// The size of the kernel's signal set, in bytes.
const SIGSET_BYTES: usize = 8;

/// The last signal number.
const LAST_SIGNAL: c_int = 64;

/// The calling thread's `errno`.
fn errno() -> c_int {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Sets the calling thread's signal mask to `mask` (a bit per signal, raw: glibc's own
/// wrappers leave out its two internal signals), giving the one before.
///
/// # Safety
///
/// A raw `rt_sigprocmask` with valid pointers; sound anywhere.
unsafe fn set_mask(how: c_int, mask: u64) -> u64 {
    let mut before = 0u64;
    // SAFETY: both pointers are to live 8-byte sets, the size given.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            c_long::from(how),
            &raw const mask,
            &raw mut before,
            SIGSET_BYTES,
        )
    };
    before
}

/// Starts the child `plan` describes, in a process group of its own, under its resource
/// limits, with no signal blocked, every signal bmad handles back at its default, and
/// SIGPIPE at its default: its pid and pidfd once it has called `execve`.
///
/// # Errors
///
/// When the child cannot be made, or fails before its program runs (no such program, no
/// such directory, ...): that error, the child reaped.
pub(super) fn launch(plan: &mut Plan) -> io::Result<(libc::pid_t, OwnedFd)> {
    let mut stack = Stack([MaybeUninit::uninit(); STACK_BYTES]);
    let top = stack.0.as_mut_ptr_range().end.cast::<c_void>();
    let arg = std::ptr::from_mut(plan).cast::<c_void>();
    let base = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD;
    let mut pidfd: c_int = -1;
    // SAFETY: every signal is blocked around the clone so that none is handled in the
    // child while it shares this thread's memory (the child resets the handlers before it
    // unblocks them). The child runs `child` on `stack`, which lives in this frame: this
    // thread is suspended (CLONE_VFORK) until the child has called execve or exited, so
    // neither the stack nor `plan` is used by two at once. `plan`'s pointers are alive
    // for this call (the caller's promise). CLONE_PIDFD writes the pidfd into `pidfd`.
    let (pid, made) = unsafe {
        let before = set_mask(libc::SIG_BLOCK, !0);
        let mut pid = libc::clone(child, top, base | libc::CLONE_PIDFD, arg, &raw mut pidfd);
        let mut made = errno();
        // A filter or an emulator that refuses CLONE_PIDFD: the pidfd is opened after,
        // without a race (the child is not reaped before it is).
        if pid < 0 && matches!(made, libc::EINVAL | libc::EPERM | libc::ENOSYS) {
            pid = libc::clone(child, top, base, arg);
            made = errno();
        }
        set_mask(libc::SIG_SETMASK, before);
        (pid, made)
    };
    if pid < 0 {
        return Err(io::Error::from_raw_os_error(made));
    }
    // SAFETY: the child is done with `plan` (it has exec'd or exited); a volatile read
    // because the compiler does not know the child wrote it.
    let failed = unsafe { std::ptr::read_volatile(&raw const plan.failed) };
    let pidfd = if pidfd >= 0 {
        // SAFETY: the kernel put a new descriptor there, owned by nobody else.
        Ok(unsafe { OwnedFd::from_raw_fd(pidfd) })
    } else {
        rustix::process::Pid::from_raw(pid)
            .ok_or_else(|| io::Error::other("no child"))
            .and_then(|p| {
                rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty())
                    .map_err(io::Error::from)
            })
    };
    let pidfd = match pidfd {
        Ok(fd) if failed == 0 => fd,
        other => {
            // It failed before its program ran (and has exited), or cannot be waited
            // for: killed if still there, and reaped, never left running or a zombie.
            // SAFETY: signals and waits for this process's own unreaped child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                let mut status = 0;
                while libc::waitpid(pid, &raw mut status, 0) < 0 && errno() == libc::EINTR {}
            }
            return Err(match other {
                Err(e) => e,
                Ok(_) => io::Error::from_raw_os_error(failed),
            });
        }
    };
    Ok((pid, pidfd))
}

/// The child, on its own stack in bmad's memory: resets its signals, makes its process
/// group, sets its resource limits, puts its standard streams in place, moves to its
/// directory and runs its program; on a failure it records the error for the parent and
/// exits with 127.
extern "C" fn child(arg: *mut c_void) -> c_int {
    let plan = arg.cast::<Plan>();
    // SAFETY: `arg` is the parent's `Plan`, alive and not touched by the suspended parent
    // until this child has exec'd or exited. Only raw system calls are made (and the
    // C library's `syscall` and `errno`), on values prepared before the clone.
    unsafe {
        let fail = |plan: *mut Plan| -> c_int {
            std::ptr::write_volatile(&raw mut (*plan).failed, errno().max(1));
            libc::syscall(libc::SYS_exit_group, c_long::from(127));
            127
        };
        let sigaction = |sig: c_int, set: *const KernelSigaction, seen: *mut KernelSigaction| {
            libc::syscall(
                libc::SYS_rt_sigaction,
                c_long::from(sig),
                set,
                seen,
                SIGSET_BYTES,
            )
        };
        // A handler of bmad's would run here, in bmad's memory: every signal handled is
        // set back to its default, as is SIGPIPE (ignored by Rust programs); one ignored
        // stays ignored, as through an exec.
        let default = KernelSigaction {
            handler: libc::SIG_DFL,
            flags: 0,
            restorer: 0,
            mask: 0,
        };
        let mut seen = MaybeUninit::<KernelSigaction>::zeroed().assume_init();
        for sig in 1..=LAST_SIGNAL {
            if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                continue;
            }
            let handled = sigaction(sig, std::ptr::null(), &raw mut seen) == 0
                && seen.handler != libc::SIG_DFL
                && seen.handler != libc::SIG_IGN;
            if handled || sig == libc::SIGPIPE {
                sigaction(sig, &raw const default, std::ptr::null_mut());
            }
        }
        if libc::syscall(libc::SYS_setpgid, 0 as c_long, 0 as c_long) != 0 {
            return fail(plan);
        }
        for i in 0..LIMITS_AT_MOST.min((*plan).limit_count) {
            let (resource, limit) = (*plan).limits[i];
            // prlimit64 on itself (pid 0): the new limit, the old one not asked for.
            if libc::syscall(
                libc::SYS_prlimit64,
                0 as c_long,
                c_long::from(resource),
                limit.as_ptr(),
                std::ptr::null_mut::<u64>(),
            ) != 0
            {
                return fail(plan);
            }
        }
        for (to, &from) in (0..).zip((*plan).stdio.iter()) {
            let ok = if from == to {
                // Already in place: only kept open across the exec.
                libc::syscall(
                    libc::SYS_fcntl,
                    c_long::from(from),
                    c_long::from(libc::F_SETFD),
                    0 as c_long,
                ) == 0
            } else {
                libc::syscall(
                    libc::SYS_dup3,
                    c_long::from(from),
                    c_long::from(to),
                    0 as c_long,
                ) == c_long::from(to)
            };
            if !ok {
                return fail(plan);
            }
        }
        if !(*plan).dir.is_null() && libc::syscall(libc::SYS_chdir, (*plan).dir) != 0 {
            return fail(plan);
        }
        set_mask(libc::SIG_SETMASK, 0);
        libc::syscall(
            libc::SYS_execve,
            (*plan).program,
            (*plan).argv,
            (*plan).envp,
        );
        fail(plan)
    }
}
