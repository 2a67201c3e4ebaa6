//! Throughput of decoding, encoding and writing the synthetic datasets of
//! shared/bench/baseline.md (tokens, text, images, text_zstd), scaled down so one iteration
//! stays short.
//!
//! `cargo bench -p mds-format --bench format` (criterion; `-- write` for one group).
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)] // a bench: panics are fine, data sizes are small

use std::hint::black_box;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mds_format::encoding::{self, ColumnEncoding, Value};
use mds_format::{Columns, MdsShard, MdsWriter};

#[path = "synth.rs"]
mod synth;
use synth::{images, text, tokens};

struct Set {
    name: &'static str,
    columns: &'static [(&'static str, &'static str)],
    compression: Option<&'static str>,
    rows: Vec<Vec<Value>>,
}

fn sets() -> Vec<Set> {
    vec![
        Set {
            name: "tokens",
            columns: &[("tokens", "ndarray:int32:2048"), ("id", "int")],
            compression: None,
            rows: tokens(4096),
        },
        Set {
            name: "text",
            columns: &[("text", "str"), ("label", "int")],
            compression: None,
            rows: text(100_000),
        },
        Set {
            name: "images",
            columns: &[("image", "bytes"), ("label", "int")],
            compression: None,
            rows: images(256),
        },
        Set {
            name: "text_zstd",
            columns: &[("text", "str"), ("label", "int")],
            compression: Some("zstd"),
            rows: text(100_000),
        },
    ]
}

fn encoded_bytes(set: &Set, encodings: &[ColumnEncoding]) -> u64 {
    set.rows
        .iter()
        .map(|r| {
            r.iter()
                .zip(encodings)
                .map(|(v, e)| encoding::encode(e, v).unwrap().len() as u64)
                .sum::<u64>()
        })
        .sum()
}

fn encodings_of(set: &Set) -> Vec<ColumnEncoding> {
    let mut cols = set.columns.to_vec();
    cols.sort_unstable();
    cols.iter().map(|(_, e)| e.parse().unwrap()).collect()
}

/// Writes a set into a fresh temp dir; returns the dir (kept alive by the caller).
fn write(set: &Set) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut w = MdsWriter::builder(dir.path())
        .with_columns(set.columns)
        .with_compression(set.compression)
        .with_exist_ok(true)
        .build_mds()
        .unwrap();
    for row in &set.rows {
        w.write(row).unwrap();
    }
    w.finish().unwrap();
    dir
}

fn benches(c: &mut Criterion) {
    let sets = sets();

    let mut g = c.benchmark_group("write");
    g.sample_size(10);
    for set in &sets {
        let bytes = encoded_bytes(set, &encodings_of(set));
        g.throughput(Throughput::Bytes(bytes));
        g.bench_function(BenchmarkId::new("bytes", set.name), |b| {
            b.iter(|| black_box(write(set)));
        });
        g.throughput(Throughput::Elements(set.rows.len() as u64));
        g.bench_function(BenchmarkId::new("samples", set.name), |b| {
            b.iter(|| black_box(write(set)));
        });
    }
    g.finish();

    let mut g = c.benchmark_group("encode");
    for set in sets.iter().filter(|s| s.compression.is_none()) {
        let encs = encodings_of(set);
        g.throughput(Throughput::Bytes(encoded_bytes(set, &encs)));
        let mut out = Vec::with_capacity(1 << 26);
        g.bench_function(set.name, |b| {
            b.iter(|| {
                out.clear();
                for row in &set.rows {
                    for (v, e) in row.iter().zip(&encs) {
                        encoding::encode_into(e, v, &mut out).unwrap();
                    }
                }
                black_box(out.len())
            });
        });
    }
    g.finish();

    let mut g = c.benchmark_group("decode");
    for set in sets.iter().filter(|s| s.compression.is_none()) {
        let dir = write(set);
        let data = Bytes::from(std::fs::read(dir.path().join("shard.00000.mds")).unwrap());
        let mut cols = set.columns.to_vec();
        cols.sort_unstable();
        let columns = Arc::new(Columns::mds(
            cols.iter().map(|(n, _)| (*n).to_owned()).collect(),
            encodings_of(set),
        ));
        let shard = MdsShard::parse("bench", data.clone(), columns).unwrap();
        g.throughput(Throughput::Elements(shard.len() as u64));
        g.bench_function(BenchmarkId::new("samples", set.name), |b| {
            b.iter(|| {
                for i in 0..shard.len() {
                    let s = shard.sample(i).unwrap();
                    for k in 0..s.columns().len() {
                        black_box(s.decode(k).unwrap());
                    }
                }
            });
        });
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.bench_function(BenchmarkId::new("open_shard", set.name), |b| {
            b.iter(|| {
                black_box(
                    MdsShard::parse_self_describing("bench", data.clone())
                        .unwrap()
                        .len(),
                )
            });
        });
    }
    g.finish();
}

criterion_group!(format, benches);
criterion_main!(format);
