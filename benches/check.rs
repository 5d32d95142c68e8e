//! Parse + lower + check throughput on generated workflows (10,000 stories and 1,000
//! procedures, and ten times that for linearity). See BENCHMARKS.md.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

mod workload;

fn check(c: &mut Criterion) {
    let mut group = c.benchmark_group("check");
    group.sample_size(10);
    for (stories, procedures) in [(10_000, 1_000), (100_000, 10_000)] {
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
            b.iter_with_large_drop(|| bmad::check_text("big.bmad", black_box(&text)))
        });
    }
    group.finish();
}

criterion_group!(benches, check);
criterion_main!(benches);
