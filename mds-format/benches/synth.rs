//! Synthetic datasets shaped like shared/bench/make_datasets.py's (tokens, text, images),
//! shared by the `format` bench and the `write_throughput` example.
#![allow(
    dead_code,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap
)] // each user takes what it needs; sizes are small

use bytes::Bytes;
use mds_format::encoding::{DType, Value};

/// A small deterministic generator (splitmix64): the bench needs data of the right shape,
/// not numpy's exact values.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "was",
    "for",
    "on",
    "as",
    "with",
    "by",
    "stream",
    "shard",
    "sample",
    "token",
    "index",
    "offset",
    "column",
    "encoding",
    "compression",
    "hash",
    "epoch",
];

/// `tokens`: ndarray:int32:2048 + id int, as (values in column order: id, tokens).
pub(crate) fn tokens(n: usize) -> Vec<Vec<Value>> {
    let mut rng = Rng(1);
    (0..n)
        .map(|i| {
            let data: Vec<u8> = (0..2048)
                .flat_map(|_| (rng.below(50257) as i32).to_le_bytes())
                .collect();
            vec![
                Value::Int(i as i64),
                Value::Array {
                    dtype: DType::Int32,
                    shape: vec![2048],
                    data: Bytes::from(data),
                },
            ]
        })
        .collect()
}

/// `text`: a JSON-ish str of 50..=500 chars + label int (column order: label, text).
pub(crate) fn text(n: usize) -> Vec<Vec<Value>> {
    let mut rng = Rng(2);
    (0..n)
        .map(|i| {
            let label = rng.below(1000);
            let len = 50 + rng.below(451) as usize;
            let mut s = format!("{{\"id\": {i}, \"label\": {label}, \"text\": \"");
            while s.len() < len - 2 {
                s.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
                s.push(' ');
            }
            s.truncate(len - 2);
            s.push_str("\"}");
            vec![Value::Int(label as i64), Value::Str(s.into())]
        })
        .collect()
}

/// `images`: ~100 KiB random bytes + label int (column order: image, label).
pub(crate) fn images(n: usize) -> Vec<Vec<Value>> {
    let mut rng = Rng(3);
    (0..n)
        .map(|_| {
            let size = 102_400 + rng.below(8193) as usize - 4096;
            let data: Vec<u8> = (0..size.div_ceil(8))
                .flat_map(|_| rng.next().to_le_bytes())
                .take(size)
                .collect();
            vec![
                Value::Bytes(Bytes::from(data)),
                Value::Int(rng.below(1000) as i64),
            ]
        })
        .collect()
}
