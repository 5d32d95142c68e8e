//! Memory accounting for scripts: a global allocator that counts, per thread, the bytes
//! allocated and not yet freed there, so an evaluation can be stopped when the values it
//! builds pass `script_max_memory`. The `bmad` binary installs it; a program embedding the
//! library installs it too to get the limit (without it, the limit is not enforced).

// Allocation sizes are at most isize::MAX (a Layout guarantees it): they count as isize.
#![allow(clippy::cast_possible_wrap)]

use mimalloc::MiMalloc as System;
use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

/// What is counted on one thread.
#[derive(Clone, Copy)]
struct Count {
    /// Bytes allocated minus bytes freed on this thread (frees of memory allocated
    /// elsewhere make it smaller: only differences are used).
    net: isize,
    /// The lowest `net` since the last [`mark_low`].
    low: isize,
}

thread_local! {
    static COUNT: Cell<Count> = const { Cell::new(Count { net: 0, low: 0 }) };
}

/// Whether [`CountingAllocator`] serves this process's allocations.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// The system allocator, counting what each thread allocates. Install it with
/// `#[global_allocator] static A: bmad::script::CountingAllocator = bmad::script::CountingAllocator;`.
pub struct CountingAllocator;

fn add(bytes: isize) {
    // A thread being torn down may still allocate: then nothing is counted.
    let _ = COUNT.try_with(|c| {
        let mut count = c.get();
        count.net = count.net.wrapping_add(bytes);
        count.low = count.low.min(count.net);
        c.set(count);
    });
}

// SAFETY: every call is forwarded to the system allocator unchanged; counting only reads
// the layout and touches a thread-local counter with no destructor (it never allocates).
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is the system allocator's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        add(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            add(new_size as isize - layout.size() as isize);
        }
        p
    }
}

impl CountingAllocator {
    /// Marks the allocator as installed (the binary calls it first thing in `main`):
    /// evaluations then enforce `script_max_memory`. Freed memory goes back to the system
    /// once it has been free for [`PURGE_DELAY_MS`].
    pub fn installed() {
        INSTALLED.store(true, Ordering::Relaxed);
        set_purge_delay(PURGE_DELAY_MS);
    }

    /// The process is about to end (the binary calls it when its command returns): its
    /// memory goes back to the system with it, so the allocator no longer gives freed memory
    /// back page by page first. At exit mimalloc purges every free page of its arenas, one
    /// `madvise` per range, splitting the huge pages they sit on.
    pub fn before_exit() {
        set_purge_delay(-1);
    }
}

/// How long freed memory stays with the process before it goes back to the system, in
/// milliseconds. mimalloc's default, one second, gives back in the middle of a large
/// simulation what the run is about to allocate again: the pages come back zeroed by the
/// kernel, a third of a 100,000-story simulation's system time (BENCHMARKS.md, "Seventh
/// session"). Ten seconds keeps memory for reuse within a command and still gives it back
/// while a long run or a server idles.
pub const PURGE_DELAY_MS: i32 = 10_000;

/// mimalloc's `mi_option_purge_delay` (its place in `mi_option_t`, mimalloc v3).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets mimalloc's purge delay: milliseconds, or -1 for no purging at all.
fn set_purge_delay(ms: i32) {
    // SAFETY: setting an option is a plain store into mimalloc's option table, read on each
    // purge decision.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, ms.into()) };
}

/// Whether allocations are being counted.
pub fn counting() -> bool {
    INSTALLED.load(Ordering::Relaxed)
}

/// The net bytes allocated on this thread so far.
pub fn allocated_here() -> isize {
    COUNT.try_with(|c| c.get().net).unwrap_or(0)
}

/// The bytes this thread holds beyond the lowest count since [`mark_low`]: what an
/// evaluation built and still holds. Freeing what was allocated before the mark (a REPL
/// line dropping an earlier line's value) gives no credit: the count starts again from
/// its lowest point.
pub fn held_since_low() -> isize {
    COUNT
        .try_with(|c| {
            let count = c.get();
            count.net.wrapping_sub(count.low)
        })
        .unwrap_or(0)
}

/// Starts [`held_since_low`] from what this thread holds now; gives the previous lowest
/// count, for [`restore_low`].
pub fn mark_low() -> isize {
    COUNT
        .try_with(|c| {
            let mut count = c.get();
            let previous = count.low;
            count.low = count.net;
            c.set(count);
            previous
        })
        .unwrap_or(0)
}

/// Ends a [`mark_low`]: the lowest count is the one from before it, or lower if the
/// count went lower since (an enclosing evaluation keeps counting from its own mark).
pub fn restore_low(previous: isize) {
    let _ = COUNT.try_with(|c| {
        let mut count = c.get();
        count.low = count.low.min(previous);
        c.set(count);
    });
}

#[cfg(test)]
mod tests {
    use super::{PURGE_DELAY, PURGE_DELAY_MS, set_purge_delay};

    #[test]
    fn the_option_set_is_mimallocs_purge_delay() {
        // SAFETY: reading an option is a plain load from mimalloc's option table.
        let read = || unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) };
        // Its default (1,000 ms in mimalloc v3) says the place is the purge delay's: another
        // mimalloc numbering its options differently fails here, not silently.
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(read(), 1000);
        }
        set_purge_delay(PURGE_DELAY_MS);
        assert_eq!(read(), 10_000);
        set_purge_delay(-1);
        assert_eq!(read(), -1);
        set_purge_delay(1000);
    }
}
