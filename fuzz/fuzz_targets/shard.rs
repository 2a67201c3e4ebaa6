//! Any bytes as an MDS shard: parsing (from its own header and with fixed columns), reading
//! and decoding every sample must return, never panic.
#![no_main]

use std::sync::Arc;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use mds_format::encoding::ColumnEncoding;
use mds_format::{Columns, MdsShard};

fn exercise(shard: &MdsShard) {
    for i in 0..shard.len().min(256) {
        if let Ok(s) = shard.sample(i) {
            let _ = s.decode_all();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let data = Bytes::copy_from_slice(data);
    if let Ok(shard) = MdsShard::parse_self_describing("fuzz", data.clone()) {
        exercise(&shard);
    }
    let encodings = ["bytes", "int", "ndarray", "ndarray:uint8", "str", "json", "list[png]", "jpeg_array", "pil", "float16"];
    let names = encodings.iter().map(|e| (*e).to_owned()).collect();
    let encodings = encodings.iter().map(|e| e.parse::<ColumnEncoding>().expect("valid")).collect();
    let columns = Arc::new(Columns::mds(names, encodings));
    if let Ok(shard) = MdsShard::parse("fuzz", data, columns) {
        exercise(&shard);
    }
});
