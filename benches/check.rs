//! Parse + lower + check throughput on generated workflows (10,000 stories and 1,000
//! procedures, and ten times that for linearity), in the process and as the `bmad check`
//! command, and rendering the diagnostics of a large file. See BENCHMARKS.md.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::fmt::Write;
use std::hint::black_box;
use std::process::{Command, Stdio};

mod workload;

const SIZES: [(usize, usize); 2] = [(10_000, 1_000), (100_000, 10_000)];

/// `bmad::check_text` on the text in memory, repeated in one process.
fn in_process(c: &mut Criterion) {
    let mut group = c.benchmark_group("check");
    group.sample_size(10);
    for (stories, procedures) in SIZES {
        let text = workload::workflow(stories, procedures);
        let checked = bmad::check_text("big.bmad", &text);
        assert!(
            !checked.has_errors(),
            "the generated workflow must be valid"
        );
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(format!("{stories}_stories_{procedures}_procedures"), |b| {
            // The result is dropped outside the timing: the target is parse, lower and
            // check, and `bmad check` frees it off the main thread.
            b.iter_with_large_drop(|| bmad::check_text("big.bmad", black_box(&text)));
        });
    }
    group.finish();
}

/// `bmad check FILE` as a user runs it: a new process each time, from start to exit.
fn command(c: &mut Criterion) {
    let mut group = c.benchmark_group("check_command");
    group.sample_size(10);
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (stories, procedures) in SIZES {
        let text = workload::workflow(stories, procedures);
        let path = dir.path().join(format!("big{stories}.bmad"));
        std::fs::write(&path, &text).expect("the workload is written");
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(format!("{stories}_stories_{procedures}_procedures"), |b| {
            b.iter(|| {
                let status = Command::new(env!("CARGO_BIN_EXE_bmad"))
                    .arg("check")
                    .arg(&path)
                    .stderr(Stdio::null())
                    .status()
                    .expect("bmad runs");
                assert!(status.success(), "the generated workflow checks clean");
            });
        });
    }
    group.finish();
}

/// Rendering the diagnostics of a large file: 300 undefined agents among 30,000 stories
/// (the cost of a report must not grow with the size of its file).
fn render(c: &mut Criterion) {
    let mut text = String::from("import std.roles\n");
    for i in 0..30_000 {
        let _ = write!(text, "story \"s{i}\" backend {{\n  title \"t\"\n}}\n");
    }
    text.push_str("phase p {\n");
    for i in 0..300 {
        let _ = writeln!(text, "  nobody{i}: work");
    }
    text.push_str("}\n");
    let checked = bmad::check_text("errors.bmad", &text);
    assert_eq!(checked.diagnostics.len(), 300);
    let options = bmad::render::RenderOptions::default();
    c.bench_function("render_300_diagnostics_in_30000_stories", |b| {
        b.iter(|| {
            checked
                .diagnostics
                .iter()
                .map(|d| bmad::render::render(d, &checked.sources, options).len())
                .sum::<usize>()
        });
    });
}

criterion_group!(benches, in_process, command, render);
criterion_main!(benches);
