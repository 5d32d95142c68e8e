//! The bounds of the evaluation running on a thread: its deadline, a cancellation flag
//! (Ctrl-C, SIGTERM, a task dropped), the stack it may use (deep recursion, in calls or in
//! comparing and printing nested values, stops before the thread's stack is exhausted) and
//! the memory its values may take. rhai's progress callback checks them as it runs; host
//! functions check them before and while they wait.

use super::memory;
use rhai::{Dynamic, Engine, EvalAltResult, Position};
use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The stack a thread that evaluates scripts should have (the `bmad` binary's threads
/// do): what an evaluation under the default limits needs ([`super::stack::needed`]), so
/// that it runs in place rather than on a thread of its own (a thread's start costs more
/// than most conditions), and 16 MiB for the caller's own frames. Reserved address space,
/// not memory.
pub const SCRIPT_STACK: usize = super::stack::ENGINE_STACK
    + super::stack::KEPT_STACK
    + 256_000_000 * super::stack::STACK_PER_BYTE
    + 16 * 1024 * 1024;

/// The stack a thread gets where the system refuses to reserve [`SCRIPT_STACK`] (strict
/// overcommit, a small `ulimit -v`, less memory and swap than that): evaluations then run
/// on threads of their own sized from their limits, or fail naming `script_max_memory`.
pub const FALLBACK_STACK: usize = 64 * 1024 * 1024;

/// The stack to give the threads that evaluate scripts (the command's thread, the
/// runtime's): [`SCRIPT_STACK`] where the system reserves it (tried once), else
/// [`FALLBACK_STACK`], so that no thread fails to start (tokio panics when it cannot start
/// a thread of its blocking pool) on a machine that refuses the larger reservation.
pub fn thread_stack() -> usize {
    static STACK: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *STACK.get_or_init(|| {
        let probe = std::thread::Builder::new()
            .name("bmad-stack-probe".into())
            .stack_size(SCRIPT_STACK)
            .spawn(|| ());
        match probe.map(std::thread::JoinHandle::join) {
            Ok(Ok(())) => SCRIPT_STACK,
            _ => FALLBACK_STACK,
        }
    })
}

/// Why an evaluation was stopped from outside the script's own errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Its time limit passed.
    Deadline,
    /// The run was stopped (Ctrl-C, SIGTERM) or the task dropped.
    Cancelled,
    /// Its recursion used the stack the evaluation may use.
    Stack,
    /// The values it built took more memory than it may use.
    Memory,
}

impl Stop {
    /// The token rhai carries in `ErrorTerminated`.
    fn token(self) -> &'static str {
        match self {
            Stop::Deadline => "deadline",
            Stop::Cancelled => "cancelled",
            Stop::Stack => "stack",
            Stop::Memory => "memory",
        }
    }

    /// The stop a termination token stands for.
    pub fn of(token: &Dynamic) -> Option<Stop> {
        let token = token.clone().into_string().ok()?;
        [Stop::Deadline, Stop::Cancelled, Stop::Stack, Stop::Memory]
            .into_iter()
            .find(|s| s.token() == token)
    }

    /// The error that stops an evaluation for this reason.
    pub fn error(self) -> Box<EvalAltResult> {
        Box::new(EvalAltResult::ErrorTerminated(
            Dynamic::from(self.token()),
            Position::NONE,
        ))
    }
}

/// What bounds one evaluation.
pub struct Bounds {
    /// Wall-clock time it may take.
    pub timeout: Duration,
    /// Bytes its values may take, when allocations are counted.
    pub max_memory: usize,
    /// Flags set from elsewhere to stop it (the run's, the task's).
    pub cancel: Vec<Arc<AtomicBool>>,
    /// Stack kept free below the engine's recursion for native recursion over values.
    pub stack_reserve: usize,
}

thread_local! {
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    /// The lowest stack address the evaluation may reach (0: no evaluation).
    static STACK_FLOOR: Cell<usize> = const { Cell::new(0) };
    /// The bytes the evaluation may hold beyond its lowest count (`isize::MAX`: not
    /// counted).
    static MEMORY_ALLOWANCE: Cell<isize> = const { Cell::new(isize::MAX) };
    static CANCEL: RefCell<Vec<Arc<AtomicBool>>> = const { RefCell::new(Vec::new()) };
    /// The lowest address of this thread's stack, once known (0: not looked up yet).
    static STACK_LOW: Cell<usize> = const { Cell::new(0) };
}

/// The address of a local of the caller's frame: where the stack is now.
// Always inlined, or the local would be in a frame of its own, below the caller's.
#[allow(clippy::inline_always)]
#[inline(always)]
fn stack_now() -> usize {
    let marker = 0u8;
    std::ptr::from_ref::<u8>(std::hint::black_box(&marker)) as usize
}

/// The lowest usable address of the calling thread's stack, when the system says.
fn stack_low() -> Option<usize> {
    let known = STACK_LOW.with(Cell::get);
    if known != 0 {
        return Some(known);
    }
    let low = query_stack_low()?;
    STACK_LOW.with(|s| s.set(low));
    Some(low)
}

#[cfg(target_os = "linux")]
fn query_stack_low() -> Option<usize> {
    let mut attr = std::mem::MaybeUninit::<libc::pthread_attr_t>::uninit();
    let mut addr: *mut libc::c_void = std::ptr::null_mut();
    let mut size: libc::size_t = 0;
    // SAFETY: pthread_getattr_np initialises `attr` for the calling thread (checked by its
    // return value); it is read once and destroyed; the out-pointers are valid locals.
    unsafe {
        if libc::pthread_getattr_np(libc::pthread_self(), attr.as_mut_ptr()) != 0 {
            return None;
        }
        let got = libc::pthread_attr_getstack(attr.as_ptr(), &raw mut addr, &raw mut size);
        libc::pthread_attr_destroy(attr.as_mut_ptr());
        (got == 0 && !addr.is_null()).then_some(addr as usize)
    }
}

#[cfg(not(target_os = "linux"))]
fn query_stack_low() -> Option<usize> {
    None
}

/// The stack left below here on this thread, when the system says where it ends.
pub fn stack_left() -> Option<usize> {
    let here = stack_now();
    stack_low().filter(|low| *low < here).map(|low| here - low)
}

/// The lowest address an evaluation starting here may use: at most
/// [`super::stack::ENGINE_STACK`] below here, and `reserve` bytes (at least 256 KiB, and
/// at least half of what is left) stay free for unwinding and for copying,
/// measuring and dropping deep values, which recurse natively without passing through the
/// progress callback (see [`super::stack`]). Where the stack's end is unknown, 1 MiB
/// below here.
fn stack_floor(reserve: usize) -> usize {
    let here = stack_now();
    match stack_low() {
        Some(low) if low < here => {
            let left = here - low;
            let floor = low + (left / 2).max(reserve).max(256 * 1024).min(left);
            // The engine's recursion never takes more than its share, however large the
            // stack (a value nested in itself would otherwise touch all of it).
            floor.max(here.saturating_sub(super::stack::ENGINE_STACK))
        }
        _ => here.saturating_sub(1 << 20),
    }
}

/// Sets this thread's bounds until the guard is dropped (the previous ones come back,
/// even when the evaluation panics).
pub fn enter(bounds: &Bounds) -> Entered {
    let allowance = if memory::counting() {
        isize::try_from(bounds.max_memory).unwrap_or(isize::MAX)
    } else {
        isize::MAX
    };
    Entered {
        low: memory::mark_low(),
        deadline: DEADLINE.with(|d| d.replace(Some(Instant::now() + bounds.timeout))),
        floor: STACK_FLOOR.with(|f| f.replace(stack_floor(bounds.stack_reserve))),
        allowance: MEMORY_ALLOWANCE.with(|m| m.replace(allowance)),
        cancel: CANCEL.with(|c| c.replace(bounds.cancel.clone())),
    }
}

/// The bounds that were in force before [`enter`]; restores them when dropped.
pub struct Entered {
    deadline: Option<Instant>,
    floor: usize,
    allowance: isize,
    low: isize,
    cancel: Vec<Arc<AtomicBool>>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        DEADLINE.with(|d| d.set(self.deadline));
        STACK_FLOOR.with(|f| f.set(self.floor));
        MEMORY_ALLOWANCE.with(|m| m.set(self.allowance));
        memory::restore_low(self.low);
        let cancel = std::mem::take(&mut self.cancel);
        CANCEL.with(|c| *c.borrow_mut() = cancel);
    }
}

/// Time left before this thread's evaluation must stop, if one is running.
pub fn remaining() -> Option<Duration> {
    DEADLINE
        .with(Cell::get)
        .map(|d| d.saturating_duration_since(Instant::now()))
}

fn cancelled() -> bool {
    CANCEL.with(|c| c.borrow().iter().any(|f| f.load(Ordering::Relaxed)))
}

/// Why this thread's evaluation must stop now, if it must: the deadline passed or the run
/// was cancelled.
pub fn stop_now() -> Option<Stop> {
    if cancelled() {
        Some(Stop::Cancelled)
    } else if remaining().is_some_and(|left| left.is_zero()) {
        Some(Stop::Deadline)
    } else {
        None
    }
}

/// An error when this thread's evaluation must stop (deadline, cancellation): host
/// functions call this before and while they wait, so they cannot outlast the evaluation.
///
/// # Errors
///
/// When the evaluation's deadline passed or it was cancelled.
pub fn check_deadline() -> Result<(), Box<EvalAltResult>> {
    match stop_now() {
        Some(stop) => Err(stop.error()),
        None => Ok(()),
    }
}

/// Makes the engine stop an evaluation past its bounds: stack and memory on every
/// operation (a comparison and a load each), the clock and the cancellation flag every 256
/// (reading the clock on every one would cost more than most conditions).
pub fn install(engine: &mut Engine) {
    engine.on_progress(|ops| {
        let floor = STACK_FLOOR.with(Cell::get);
        if floor != 0 && stack_now() < floor {
            return Some(Dynamic::from(Stop::Stack.token()));
        }
        if memory::held_since_low() > MEMORY_ALLOWANCE.with(Cell::get) {
            return Some(Dynamic::from(Stop::Memory.token()));
        }
        if ops % 256 != 0 {
            return None;
        }
        stop_now().map(|s| Dynamic::from(s.token()))
    });
}
