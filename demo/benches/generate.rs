//! Criterion bench of the generator. `cargo xtask flamegraph --workload bench`
//! profiles it through criterion's profiler hook (`--bench --profile-time 5`).

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

fn generate(c: &mut Criterion) {
    c.bench_function("generate_200_subs", |b| {
        b.iter(|| cdr_demo::generate::generate_in_memory(black_box(200), 1, 7, 0))
    });
}

criterion_group!(benches, generate);
criterion_main!(benches);
