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
    /// evaluations then enforce `script_max_memory`.
    pub fn installed() {
        INSTALLED.store(true, Ordering::Relaxed);
    }
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
