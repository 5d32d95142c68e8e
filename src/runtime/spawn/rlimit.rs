//! Resource limits a child gets before its program runs: set by the clone child itself
//! (`prlimit64` on itself), or by std's `Command` through a `pre_exec` hook where children
//! start that way.

/// A resource a limit bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// The data segment: heap and private writable mappings (`RLIMIT_DATA`).
    Data,
    /// CPU time in seconds (`RLIMIT_CPU`).
    CpuSeconds,
    /// The largest file it may write, in bytes (`RLIMIT_FSIZE`).
    FileSize,
}

impl Resource {
    /// Its number for `setrlimit` and `prlimit64`.
    #[cfg(unix)]
    pub(super) fn number(self) -> libc::c_int {
        // The constants are small non-negative numbers, whatever their C type.
        #[allow(clippy::cast_possible_wrap, clippy::cast_possible_truncation)]
        match self {
            Resource::Data => libc::RLIMIT_DATA as libc::c_int,
            Resource::CpuSeconds => libc::RLIMIT_CPU as libc::c_int,
            Resource::FileSize => libc::RLIMIT_FSIZE as libc::c_int,
        }
    }
}

/// A limit on one resource: the soft one the program meets first (and gets the signal
/// that names it: SIGXCPU, SIGXFSZ), the hard one the kernel enforces at last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimit {
    /// What it bounds.
    pub resource: Resource,
    /// The soft limit.
    pub soft: u64,
    /// The hard limit.
    pub hard: u64,
}

/// Sets `limits` on the calling process: std's `Command` calls it in its child between
/// fork and exec.
///
/// # Errors
///
/// When the system refuses a limit.
#[cfg(unix)]
pub(super) fn apply_to_self(limits: &[Rlimit]) -> std::io::Result<()> {
    for l in limits {
        let limit = libc::rlimit {
            rlim_cur: l.soft,
            rlim_max: l.hard,
        };
        // The resource's C type differs between C libraries.
        #[allow(clippy::cast_sign_loss, clippy::useless_conversion)]
        let resource = l.resource.number() as _;
        // SAFETY: setrlimit only reads the struct it is given; it is async-signal-safe
        // and allocates nothing.
        if unsafe { libc::setrlimit(resource, &raw const limit) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
