//! Verification throughput at the default argon2id parameters (m=19456, t=2, p=1) with a pepper:
//! one verification at a time on one thread, and many at once through the hashing pool (one slot
//! per core). The pool should reach at least 90% of cores x the one-thread rate. Figures are in
//! BENCHMARKS.md ("Verification").

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sip2auth::auth::hashing::Hasher;
use sip2auth::auth::pool::{HashPool, Job};
use sip2auth::auth::{KeyRing, PepperKey};
use sip2auth::config::security::HashingConfig;

fn verify(c: &mut Criterion) {
    let config = HashingConfig::default();
    let keys = Arc::new(KeyRing::new(1, PepperKey::from_bytes([7; 32]), vec![]));
    let hasher = Hasher::new(&config, keys).expect("default parameters are valid");
    let stored = hasher.hash(b"493817").expect("hashing works");
    let pool = HashPool::new(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");

    let mut group = c.benchmark_group("verify");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(1));
    group.bench_function("one_thread", |b| {
        b.iter(|| hasher.verify(&stored, b"2749"));
    });
    group.bench_function(format!("pool_{}_slots", pool.size()), |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let started = Instant::now();
                let jobs: Vec<_> = (0..iters)
                    .map(|_| {
                        let (pool, hasher, stored) = (pool.clone(), hasher.clone(), stored.clone());
                        tokio::spawn(async move {
                            pool.run(Job::Verify, move || hasher.verify(&stored, b"2749"))
                                .await
                        })
                    })
                    .collect();
                for job in jobs {
                    let _ = job.await;
                }
                started.elapsed()
            })
        });
    });
    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
