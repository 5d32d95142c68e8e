//! The `bmad` command: a thin front over the library.

mod cli;

/// Counts what each thread allocates, so scripts are held to `script_max_memory`.
#[global_allocator]
static ALLOCATOR: bmad::script::CountingAllocator = bmad::script::CountingAllocator;

fn main() -> std::process::ExitCode {
    bmad::script::CountingAllocator::installed();
    // The command runs on a thread with the stack scripts need under the default limits
    // (conditions are evaluated on the run's own thread). Reserved, not used: pages are
    // taken only as the stack grows. Where the system refuses that much address space,
    // a smaller stack (scripts then run on threads of their own, or fail naming the limit).
    let spawn = |stack| {
        std::thread::Builder::new()
            .name("bmad".into())
            .stack_size(stack)
            .spawn(cli::main)
    };
    let work = spawn(bmad::script::bounds::thread_stack())
        .or_else(|_| spawn(bmad::script::bounds::FALLBACK_STACK));
    let done = work.map(std::thread::JoinHandle::join);
    bmad::script::CountingAllocator::before_exit();
    match done {
        Ok(Ok(code)) => code,
        // A thread that cannot start, or a panic (already reported by the panic hook).
        _ => std::process::ExitCode::from(101),
    }
}
