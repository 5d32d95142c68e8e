//! Evaluating a compiled condition: the target is 500,000 evaluations a second
//! (BENCHMARKS.md).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn eval(c: &mut Criterion) {
    let src = "import std.roles\ncheck ready = `approved && attempt < 3 && qa_feedback == \"\"`\n";
    let checked = bmad::check_text("bench.bmad", src);
    assert!(!checked.has_errors());
    let script = match &checked.program.checks[0].body {
        bmad::model::CheckBody::Script(s) => s.clone(),
        bmad::model::CheckBody::Steps { .. } => unreachable!("a script check"),
    };
    let (scripts, _) = bmad::script::Scripts::new(&checked.program, std::env::temp_dir());
    let mut scope = bmad::script::scope_with([
        ("approved", rhai::Dynamic::from(true)),
        ("attempt", rhai::Dynamic::from(1_i64)),
    ]);
    assert!(
        scripts
            .eval(&script, &mut scope)
            .unwrap()
            .as_bool()
            .unwrap()
    );
    let mut group = c.benchmark_group("script");
    group.throughput(Throughput::Elements(1));
    group.bench_function("condition", |b| {
        b.iter(|| black_box(scripts.eval(black_box(&script), &mut scope)));
    });
    group.finish();
}

criterion_group!(benches, eval);
criterion_main!(benches);
