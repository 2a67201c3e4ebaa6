//! Planning one epoch: each shuffle algorithm, then reading every worker's ids.
//!
//! `cargo bench -p mds-shuffle --bench epoch` runs 10 M samples over 1,000 shards for every
//! algorithm. `MDS_BENCH_SAMPLES=1e9 MDS_BENCH_SHARDS=100000` runs the 1-billion-sample,
//! 100,000-shard case (py1e only unless `MDS_BENCH_ALGOS` lists more; about 4 GiB of memory).
//! Peak memory and the side-by-side comparison with numpy and the reference are in
//! `benches/side_by_side.py`.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)] // bench setup

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mds_shuffle::{EpochParams, EpochPlan, ShuffleAlgo};

fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(default, |v| v as u64)
}

fn sizes(samples: u64, shards: u64) -> Vec<u64> {
    let base = samples / shards;
    (0..shards)
        .map(|i| base + u64::from(i < samples % shards))
        .collect()
}

fn epoch(c: &mut Criterion) {
    let samples = env_count("MDS_BENCH_SAMPLES", 10_000_000);
    let shards = env_count("MDS_BENCH_SHARDS", 1_000).max(1);
    let big = samples > 100_000_000;
    let algos: Vec<ShuffleAlgo> = match std::env::var("MDS_BENCH_ALGOS") {
        Ok(list) => list
            .split(',')
            .map(|a| ShuffleAlgo::from_name(a.trim()).unwrap())
            .collect(),
        Err(_) if big => vec![ShuffleAlgo::Py1e],
        Err(_) => ShuffleAlgo::ALL.to_vec(),
    };
    let shard_sizes = sizes(samples, shards);
    let mut group = c.benchmark_group(format!("epoch/{samples}x{shards}"));
    group.throughput(Throughput::Elements(samples));
    group.sample_size(10);
    for algo in algos {
        let params = EpochParams {
            samples_per_shard: shard_sizes.clone(),
            shuffle: true,
            shuffle_algo: algo,
            num_physical_nodes: 2,
            ranks_per_node: 8,
            workers_per_rank: 4,
            batch_size: 32,
            ..EpochParams::default()
        };
        group.bench_with_input(BenchmarkId::new("plan+read", algo), &params, |b, p| {
            b.iter(|| {
                let plan = EpochPlan::new(p).unwrap();
                let [nodes, ranks, workers, _, _] = plan.shape();
                let mut sum = 0u64;
                for node in 0..nodes {
                    for rank in 0..ranks {
                        for worker in 0..workers {
                            sum = plan
                                .worker_samples(node, rank, worker)
                                .fold(sum, u64::wrapping_add);
                        }
                    }
                }
                black_box(sum)
            });
        });
    }
    group.finish();
}

criterion_group!(benches, epoch);
criterion_main!(benches);
