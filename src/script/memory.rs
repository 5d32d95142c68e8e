//! Memory accounting for scripts: a global allocator that counts, per thread, the bytes
//! allocated and not yet freed there, so an evaluation can be stopped when the values it
//! builds pass `script_max_memory`. The `bmad` binary installs it; a program embedding the
//! library installs it too to get the limit (without it, the limit is not enforced).

// Allocation sizes are at most isize::MAX (a Layout guarantees it): they count as isize.
#![allow(clippy::cast_possible_wrap)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

thread_local! {
    /// Bytes allocated minus bytes freed on this thread (frees of memory allocated
    /// elsewhere make it smaller: only differences over one evaluation are used).
    static NET: Cell<isize> = const { Cell::new(0) };
}

/// Whether [`CountingAllocator`] serves this process's allocations.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// The system allocator, counting what each thread allocates. Install it with
/// `#[global_allocator] static A: bmad::script::CountingAllocator = bmad::script::CountingAllocator;`.
pub struct CountingAllocator;

fn add(bytes: isize) {
    // A thread being torn down may still allocate: then nothing is counted.
    let _ = NET.try_with(|n| n.set(n.get().wrapping_add(bytes)));
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
    NET.try_with(Cell::get).unwrap_or(0)
}
