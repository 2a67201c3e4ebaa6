//! Any bytes as the data and meta files of a CSV and a JSON shard: never a panic.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use mds_format::{ShardMeta, SplitShard};

fn meta(format: &str) -> ShardMeta {
    let text = format!(
        r#"{{"column_encodings": ["float", "int", "str"], "column_names": ["f", "i", "s"],
        "columns": {{"f": "float", "i": "int", "s": "str"}}, "compression": null, "format": "{format}",
        "hashes": [], "newline": "\n", "raw_data": {{"basename": "d", "bytes": 0, "hashes": {{}}}},
        "raw_meta": {{"basename": "m", "bytes": 0, "hashes": {{}}}}, "samples": 0, "size_limit": null,
        "version": 2, "zip_data": null, "zip_meta": null}}"#
    );
    let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    ShardMeta::from_value(std::path::Path::new("index.json"), 0, &value).expect("valid entry")
}

fuzz_target!(|data: &[u8]| {
    let cut = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let (m, d) = data.split_at(cut);
    for format in ["csv", "json"] {
        let mut entry = meta(format);
        entry.samples = u64::from(m.get(..4).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])));
        if let Ok(shard) = SplitShard::parse(&entry, Bytes::copy_from_slice(d), Bytes::copy_from_slice(m)) {
            for i in 0..shard.len().min(256) {
                if let Ok(s) = shard.sample(i) {
                    let _ = s.decode_all();
                }
            }
        }
    }
});
