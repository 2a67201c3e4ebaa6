//! Reads a dataset and writes it again with mds: decoding every value and encoding it back.
//! Used to check that the Python library reads what mds writes.
//!
//! `cargo run -p mds-format --example rewrite -- SRC DST [COMPRESSION|none] [HASH,HASH] [SIZE_LIMIT]`
#![allow(clippy::unwrap_used, clippy::print_stdout)] // a tool

use std::path::Path;

use mds_format::encoding::Value;
use mds_format::{Dataset, MdsWriter};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (src, dst) = (Path::new(&args[0]), Path::new(&args[1]));
    let compression = args.get(2).map(String::as_str).filter(|c| *c != "none");
    let hashes: Vec<&str> = args
        .get(3)
        .map(|h| h.split(',').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    let limit = args
        .get(4)
        .map(|l| mds_format::writer::parse_size(l).unwrap());
    let ds = Dataset::open(src).unwrap();
    let first = &ds.index().shards[0];
    let columns: Vec<(&str, &str)> = first
        .column_names
        .iter()
        .zip(&first.column_encodings)
        .map(|(n, e)| (n.as_str(), e.as_str()))
        .collect();
    let mut w = MdsWriter::builder(dst)
        .with_columns(&columns)
        .with_compression(compression)
        .with_hashes(&hashes)
        .with_size_limit(limit.or(first.size_limit))
        .build_mds()
        .unwrap();
    for i in 0..ds.len() {
        let values: Vec<Value> = ds
            .get(i)
            .unwrap()
            .decode_all()
            .unwrap()
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        w.write(&values).unwrap();
    }
    let index = w.finish().unwrap();
    println!(
        "{} samples in {} shards",
        index.num_samples(),
        index.shards.len()
    );
}
