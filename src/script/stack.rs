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

/// Runs `f` where the stack has `needed` bytes free: on this thread when it has them, else
/// on a thread of its own with that stack (its file root is this thread's).
///
/// # Errors
///
/// The system's error when it cannot give a thread that stack.
pub fn with_stack<T: Send>(needed: usize, f: impl FnOnce() -> T + Send) -> std::io::Result<T> {
    if super::bounds::stack_left().is_some_and(|left| left >= needed) {
        return Ok(f());
    }
    let root = super::host::current_root();
    std::thread::scope(|s| {
        let worker = std::thread::Builder::new()
            .name("bmad-script".into())
            .stack_size(needed)
            .spawn_scoped(s, move || super::host::with_root(root, f))?;
        worker
            .join()
            .map_err(|_| std::io::Error::other("the script's thread panicked"))
    })
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
                with_stack(needed, move || std::thread::current().id() == here).unwrap()
            })
            .unwrap();
        assert!(on.join().unwrap(), "evaluated on another thread");
    }
}
