//! The stack an evaluation runs on, sized from its limits so that every value it can build
//! can also be dropped, copied and printed (rhai does these by native recursion, one or
//! more frames per level of nesting, which no progress callback watches).
//!
//! Invariant: every level of nesting of a script's value (an array, a map, a function
//! pointer's curried arguments, a captured variable) is at least one heap allocation,
//! counted against `script_max_memory`, and native recursion over a value takes at most
//! [`STACK_PER_BYTE`] bytes of stack per byte its levels allocate. An evaluation runs where
//! [`values_reserve`] (`max_memory * STACK_PER_BYTE`, plus room for the
//! [`super::values::MAX_KEPT_DEPTH`] levels a value from before may add) is free below the
//! engine's own recursion, which [`super::bounds`] stops above that reserve. So any value
//! that fits the memory bound fits the stack, whatever the limits; a value that leaves an
//! evaluation nests at most `MAX_KEPT_DEPTH` levels (deeper ones are dropped there), so
//! the caller's thread never recurses deeper. The stack is reserved, not used: pages are
//! taken only as recursion reaches them. (Without the counting allocator, memory is not
//! counted and the invariant does not hold: see [`super::CountingAllocator`].)

use super::Limits;

/// Stack bytes per allocated byte that native recursion over a value may take, with a
/// margin: measured in a debug build (the largest frames) by `examples/stackprobe.rs`:
/// nested arrays take 40 bytes a level and 1,314 bytes of stack a level to print (1,265 to
/// copy, 241 to drop): 33 per byte; an array in a closure 160 and 3,025 (19); a closure
/// chain 120 and 2,016 for `debug`, 544 to drop (17).
pub const STACK_PER_BYTE: usize = 40;

/// Stack for the engine's own recursion (calls, expressions, comparisons), above the
/// reserve for values.
pub const ENGINE_STACK: usize = 32 * 1024 * 1024;

/// Stack for the levels a value kept from before the evaluation may add (at most
/// [`super::values::MAX_KEPT_DEPTH`], 4 KiB each).
pub const KEPT_STACK: usize = super::values::MAX_KEPT_DEPTH * 4 * 1024;

/// The stack kept below the engine's recursion for native recursion over values.
pub fn values_reserve(limits: &Limits) -> usize {
    limits
        .max_memory
        .saturating_mul(STACK_PER_BYTE)
        .saturating_add(KEPT_STACK)
}

/// The stack an evaluation under `limits` needs.
pub fn needed(limits: &Limits) -> usize {
    values_reserve(limits).saturating_add(ENGINE_STACK)
}

/// `limits` with `script_max_memory` lowered, where needed, to what a stack of `stack` bytes
/// holds under the invariant above.
pub fn fitted(limits: &Limits, stack: usize) -> Limits {
    let room = stack.saturating_sub(ENGINE_STACK + KEPT_STACK) / STACK_PER_BYTE;
    Limits {
        max_memory: limits.max_memory.min(room),
        ..limits.clone()
    }
}

/// Runs `f` where the stack has what `limits` need free: on this thread when it has it,
/// else on a thread of its own with that stack (its file root is this thread's). Where the
/// system will not reserve that much (strict overcommit, a `ulimit -v`, less memory than
/// the reservation), on the largest stack it gives, an eighth at a time down to
/// [`super::bounds::FALLBACK_STACK`], with `script_max_memory` lowered to what that stack
/// holds ([`fitted`]): the script still runs, bounded, and the invariant stands. `f` gets
/// the limits it runs under.
///
/// # Errors
///
/// The system's error when not even the smallest of those stacks can be had.
pub fn with_stack<T: Send>(
    limits: &Limits,
    f: impl FnOnce(&Limits) -> T + Send,
) -> std::io::Result<T> {
    let left = super::bounds::stack_left().unwrap_or(0);
    let root = super::host::current_root();
    let mut job = Some(f);
    let mut size = needed(limits);
    loop {
        let under = fitted(limits, size);
        if left >= size {
            return job.take().map(|f| f(&under)).ok_or_else(gone);
        }
        let root = root.clone();
        let tried = std::thread::scope(|s| {
            let job = &mut job;
            let under = &under;
            let worker = std::thread::Builder::new()
                .name("bmad-script".into())
                .stack_size(size)
                .spawn_scoped(s, move || {
                    job.take()
                        .map(|f| super::host::with_root(root, || f(under)))
                })?;
            worker
                .join()
                .map_err(|_| std::io::Error::other("the script's thread panicked"))
        });
        match tried {
            Ok(done) => return done.ok_or_else(gone),
            Err(e) if size <= super::bounds::FALLBACK_STACK || job.is_none() => return Err(e),
            // An eighth, not a half: where address space or commit is what ran out, a stack
            // just under the limit would leave the heap nothing to grow into.
            Err(_) => size = (size / 8).max(super::bounds::FALLBACK_STACK),
        }
    }
}

/// The error of an evaluation whose work was already taken (never: each path runs it once).
fn gone() -> std::io::Error {
    std::io::Error::other("the script's work was already run")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_thread_evaluates_under_the_default_limits_in_place() {
        let needed = needed(&Limits::default());
        assert!(super::super::bounds::SCRIPT_STACK >= needed + (8 << 20));
        let on = std::thread::Builder::new()
            .stack_size(super::super::bounds::SCRIPT_STACK)
            .spawn(move || {
                let here = std::thread::current().id();
                with_stack(&Limits::default(), move |_| {
                    std::thread::current().id() == here
                })
                .unwrap()
            })
            .unwrap();
        assert!(on.join().unwrap(), "evaluated on another thread");
    }
}
