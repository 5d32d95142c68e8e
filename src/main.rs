//! The `bmad` command: a thin front over the library.

mod cli;

/// Counts what each thread allocates, so scripts are held to `script_max_memory`.
#[global_allocator]
static ALLOCATOR: bmad::script::CountingAllocator = bmad::script::CountingAllocator;

fn main() -> std::process::ExitCode {
    bmad::script::CountingAllocator::installed();
    // The command runs on a thread with the stack scripts are given (conditions are
    // evaluated on the run's own thread): their bounds stop deep recursion long before
    // its end. Reserved, not used: pages are taken only as the stack grows.
    let work = std::thread::Builder::new()
        .name("bmad".into())
        .stack_size(bmad::script::bounds::SCRIPT_STACK)
        .spawn(cli::main);
    match work.map(std::thread::JoinHandle::join) {
        Ok(Ok(code)) => code,
        // A thread that cannot start, or a panic (already reported by the panic hook).
        _ => std::process::ExitCode::from(101),
    }
}
