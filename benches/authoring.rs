//! Authoring tools, through the release `bmad` binary as a user runs them, from process
//! start to exit: `bmad graph` of the seed example (Mermaid and DOT, everything drawn) and
//! `bmad fmt` of it (checking a formatted file; rewriting a file with every indent and
//! line break gone). Target: under 20 ms. And the REPL's start: on a pseudo-terminal, from
//! process start to the prompt on the screen; through a pipe, start to exit on `:quit`
//! (empty, and with the seed example loaded). Target: under 50 ms. Medians of 30 runs;
//! BENCHMARKS.md records them.
//!
//! `cargo bench --bench authoring`.

// The tests' pseudo-terminal, shared as is: its items are `pub` for the test crates, and
// tests/ keeps its own lint policy.
#[path = "../tests/integration/common/pty.rs"]
#[allow(unreachable_pub, clippy::borrow_as_ptr)]
mod pty;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 30;

fn median_ms(args: &[&str]) -> f64 {
    median_ms_after(args, || {})
}

/// The median time of `bmad ARGS`, calling `before` ahead of each run (not timed).
fn median_ms_after(args: &[&str], before: impl Fn()) -> f64 {
    let mut times: Vec<f64> = (0..RUNS)
        .map(|_| {
            before();
            let t = Instant::now();
            let out = Command::new(env!("CARGO_BIN_EXE_bmad"))
                .args(args)
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .output()
                .expect("bmad runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[RUNS / 2]
}

/// The median time from starting `bmad repl ARGS` on a pseudo-terminal to its prompt.
fn repl_prompt_ms(args: &[&str]) -> f64 {
    let mut times: Vec<f64> = (0..RUNS)
        .map(|_| {
            let mut command = Command::new(env!("CARGO_BIN_EXE_bmad"));
            command
                .arg("repl")
                .args(args)
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .env("BMAD_HISTORY", "/dev/null");
            let t = Instant::now();
            let mut term = pty::Pty::spawn(command);
            loop {
                if pty::plain(&term.screen.lock().expect("screen")).contains("bmad> ") {
                    break;
                }
                assert!(
                    t.elapsed() < Duration::from_secs(10),
                    "no prompt: {}",
                    term.raw()
                );
                std::thread::sleep(Duration::from_micros(200));
            }
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            term.send(":quit\r");
            let _ = term.child.wait();
            ms
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[RUNS / 2]
}

/// The median time of `bmad repl ARGS` reading `:quit` from a pipe, start to exit.
fn repl_piped_ms(args: &[&str]) -> f64 {
    let mut times: Vec<f64> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            let mut child = Command::new(env!("CARGO_BIN_EXE_bmad"))
                .arg("repl")
                .args(args)
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()
                .expect("bmad runs");
            let mut stdin = child.stdin.take().expect("piped");
            stdin.write_all(b":quit\n").expect("written");
            drop(stdin);
            assert!(child.wait().expect("exits").success());
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[RUNS / 2]
}

fn main() {
    for args in [&[][..], &["examples/seed-product.bmad"][..]] {
        let shown = args.first().copied().unwrap_or("(empty)");
        let ms = repl_prompt_ms(args);
        println!("bmad repl {shown}: prompt on a terminal after median {ms:.1} ms");
        let ms = repl_piped_ms(args);
        println!("bmad repl {shown} < ':quit': median {ms:.1} ms");
    }
    for file in [
        "examples/seed-product.bmad",
        "examples/seed-operations.bmad",
    ] {
        for format in ["mermaid", "dot"] {
            let ms = median_ms(&["graph", file, "--format", format]);
            println!("bmad graph {file} --format {format}: median {ms:.1} ms");
        }
        let ms = median_ms(&["fmt", "--check", file]);
        println!("bmad fmt --check {file}: median {ms:.1} ms");
        // The same words with no indentation and no line breaks (comments dropped: a
        // line comment would swallow the rest of the line).
        let text = std::fs::read_to_string(file).expect("the example reads");
        let flat: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.starts_with("//"))
            .collect();
        let dir = std::env::temp_dir().join(format!("bmad-fmt-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let messy = dir.join("messy.bmad");
        let messy_arg = messy.to_str().expect("utf-8 path");
        let ms = median_ms_after(&["fmt", messy_arg], || {
            std::fs::write(&messy, flat.join(" ")).expect("writes");
        });
        println!("bmad fmt {file} (one line, rewritten): median {ms:.1} ms");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
