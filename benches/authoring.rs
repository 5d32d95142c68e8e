//! Authoring tools, through the release `bmad` binary as a user runs them, from process
//! start to exit: `bmad graph` of the seed example (Mermaid and DOT, everything drawn).
//! Target: under 20 ms. Medians of 30 runs; BENCHMARKS.md records them.
//!
//! `cargo bench --bench authoring`.

use std::process::Command;
use std::time::Instant;

const RUNS: usize = 30;

fn median_ms(args: &[&str]) -> f64 {
    let mut times: Vec<f64> = (0..RUNS)
        .map(|_| {
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

fn main() {
    for file in [
        "examples/seed-product.bmad",
        "examples/seed-operations.bmad",
    ] {
        for format in ["mermaid", "dot"] {
            let ms = median_ms(&["graph", file, "--format", format]);
            println!("bmad graph {file} --format {format}: median {ms:.1} ms");
        }
    }
}
