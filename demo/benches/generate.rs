//! Criterion bench of the generator, in two variants side by side (as seed
//! 004 compares its two implementations): the plain generator and one with a
//! round of extra tariff work per call. `cargo xtask flamegraph --workload
//! bench` profiles it through criterion's profiler hook (`--bench
//! --profile-time 5`), one flamegraph per benchmark; `profile-baseline
//! --workload bench` also records criterion's own numbers per benchmark.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

fn generate(c: &mut Criterion) {
    c.bench_function("generate_200_subs", |b| {
        b.iter(|| cdr_demo::generate::generate_in_memory(black_box(200), 1, 7, 0))
    });
    c.bench_function("generate_200_subs_slowdown", |b| {
        b.iter(|| cdr_demo::generate::generate_in_memory(black_box(200), 1, 7, 1))
    });
}

criterion_group!(benches, generate);
criterion_main!(benches);
