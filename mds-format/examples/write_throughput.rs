//! Write throughput of the synthetic datasets of shared/bench/baseline.md, timed like
//! shared/bench/make_datasets.py: the clock covers writer construction, `write` calls and
//! `finish`, not sample generation (samples are generated up front).
//!
//! `cargo run --release -p mds-format --example write_throughput -- OUT_DIR [SCALE] [NAMES]`
//! (SCALE 1.0 = the baseline's 200k tokens / 1M text / 20k images samples; NAMES a comma list).
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)] // a measuring tool

use std::path::PathBuf;
use std::time::Instant;

use mds_format::MdsWriter;

#[path = "../benches/synth.rs"]
mod synth;

fn main() {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(
        args.next()
            .expect("usage: write_throughput OUT_DIR [SCALE] [NAMES]"),
    );
    let scale: f64 = args.next().map_or(1.0, |s| s.parse().unwrap());
    let names = args
        .next()
        .unwrap_or_else(|| "tokens,text,images,text_zstd".to_owned());
    for name in names.split(',') {
        let (n, columns, compression): (f64, &[(&str, &str)], Option<&str>) = match name {
            "tokens" => (
                200_000.0,
                &[("tokens", "ndarray:int32:2048"), ("id", "int")],
                None,
            ),
            "text" => (1_000_000.0, &[("text", "str"), ("label", "int")], None),
            "images" => (20_000.0, &[("image", "bytes"), ("label", "int")], None),
            "text_zstd" => (
                1_000_000.0,
                &[("text", "str"), ("label", "int")],
                Some("zstd"),
            ),
            other => panic!("unknown dataset {other}"),
        };
        let n = ((n * scale) as usize).max(1);
        let rows = match name {
            "tokens" => synth::tokens(n),
            "images" => synth::images(n),
            _ => synth::text(n),
        };
        let dir = out.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        let t0 = Instant::now();
        let mut w = MdsWriter::builder(&dir)
            .with_columns(columns)
            .with_compression(compression)
            .build_mds()
            .unwrap();
        for row in &rows {
            w.write(row).unwrap();
        }
        let index = w.finish().unwrap();
        let secs = t0.elapsed().as_secs_f64();
        let raw: u64 = index.shards.iter().map(|s| s.raw_data.bytes).sum();
        println!(
            "{name}: {n} samples, {} shards, {:.1} MB raw in {secs:.3} s: {:.0} samples/s, {:.0} MB/s raw",
            index.shards.len(),
            raw as f64 / 1e6,
            n as f64 / secs,
            raw as f64 / 1e6 / secs
        );
    }
}
