//! Hit path: pinning and unpinning a cached shard, next to a plain open + stat of the same
//! file as the floor any file-based cache pays.

use std::fs;
use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mds_cache::{Cache, CacheConfig};

fn hit(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = CacheConfig {
        limit_bytes: Some(1 << 30),
        ..CacheConfig::default()
    };
    let cache = Cache::open(dir.path(), config).expect("open cache");
    let name = "shard.00000.mds";
    let size = 1 << 20;
    let path = cache
        .get(name, size, |tmp: &Path| fs::write(tmp, vec![7u8; 1 << 20]))
        .expect("fill")
        .path()
        .to_path_buf();

    let mut g = c.benchmark_group("hit");
    g.throughput(Throughput::Elements(1));
    g.bench_function("open_stat_baseline", |b| {
        b.iter(|| {
            let f = fs::File::open(black_box(&path)).expect("open");
            black_box(f.metadata().expect("stat").len())
        });
    });
    g.bench_function("pin_unpin", |b| {
        b.iter(|| drop(black_box(cache.pin(black_box(name), size).expect("pin"))));
    });
    g.bench_function("get_hit", |b| {
        b.iter(|| {
            let pin = cache.get(black_box(name), size, |_: &Path| {
                Err(std::io::Error::other("miss in a hit bench"))
            });
            drop(black_box(pin.expect("hit")));
        });
    });
    g.finish();
}

criterion_group!(benches, hit);
criterion_main!(benches);
