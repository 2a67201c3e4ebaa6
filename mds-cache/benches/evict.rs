//! Eviction with 10 k cached shards: a full scan of the directory (`usage`), and a miss
//! that scans, evicts the least recently used shard, fills, fsyncs and renames; and, as
//! the floor, a miss in an empty cache without a limit.

use std::fs;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mds_cache::{Cache, CacheConfig};

const ENTRIES: u64 = 10_000;

fn evict(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = CacheConfig {
        limit_bytes: Some(ENTRIES),
        max_shard_bytes: 1,
        ..CacheConfig::default()
    };
    let cache = Cache::open(dir.path(), config).expect("open cache");
    // Seed 10 k one-byte shards directly in the cache's layout (documented in the crate
    // docs): going through `get` would fsync 10 k times before measuring anything.
    for i in 0..ENTRIES {
        let name = format!("shard.{i:05}.mds");
        fs::write(dir.path().join(&name), b"x").expect("seed shard");
        let lock = dir
            .path()
            .join(".mds-cache/shards")
            .join(format!("{name}.lock"));
        fs::write(&lock, b"").expect("seed lock");
        fs::hard_link(
            &lock,
            dir.path()
                .join(".mds-cache/present")
                .join(format!("{name}~1")),
        )
        .expect("seed index");
    }
    assert_eq!(cache.usage().expect("usage").cached_shards, 10_000);

    let mut g = c.benchmark_group("evict");
    g.sample_size(20).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(1));
    g.bench_function("usage_scan_10k", |b| {
        b.iter(|| black_box(cache.usage().expect("usage")));
    });
    let mut next = ENTRIES;
    g.bench_function("miss_evicting_lru_10k", |b| {
        b.iter(|| {
            // Names cycle over 10 001, so every get is a miss that evicts one shard.
            let name = format!("shard.{:05}.mds", next % (ENTRIES + 1));
            next += 1;
            let pin = cache
                .get(&name, 1, |tmp: &Path| fs::write(tmp, b"y"))
                .expect("miss");
            drop(black_box(pin));
        });
    });
    // The floor of any miss: a fill of one byte with its fsyncs and rename, no eviction.
    let empty = tempfile::tempdir().expect("temp dir");
    let unlimited = Cache::open(empty.path(), CacheConfig::default()).expect("open cache");
    let mut n = 0u64;
    g.bench_function("miss_no_eviction", |b| {
        b.iter(|| {
            n += 1;
            let name = format!("fresh.{n}.mds");
            let pin = unlimited
                .get(&name, 1, |tmp: &Path| fs::write(tmp, b"z"))
                .expect("miss");
            drop(black_box(pin));
        });
    });
    g.finish();
}

criterion_group!(benches, evict);
criterion_main!(benches);
