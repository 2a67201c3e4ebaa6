//! Writes small MDS datasets whose single `int` column `id` holds the global sample id.

use std::path::Path;

/// Writes one stream: shards of the given sizes, ids starting at `first_id`.
pub(crate) fn write_stream(dir: &Path, sizes: &[u64], first_id: u64) {
    std::fs::create_dir_all(dir).unwrap();
    let mut shards = Vec::new();
    let mut id = first_id;
    for (k, &n) in sizes.iter().enumerate() {
        let name = format!("shard.{k:05}.mds");
        let mut data = Vec::new();
        let n32 = u32::try_from(n).unwrap();
        data.extend_from_slice(&n32.to_le_bytes());
        let head = 4 * (n32 + 2);
        for i in 0..=n32 {
            data.extend_from_slice(&(head + 8 * i).to_le_bytes());
        }
        for _ in 0..n {
            data.extend_from_slice(&i64::try_from(id).unwrap().to_le_bytes());
            id += 1;
        }
        std::fs::write(dir.join(&name), &data).unwrap();
        shards.push(serde_json::json!({
            "column_encodings": ["int"], "column_names": ["id"], "column_sizes": [8],
            "compression": null, "format": "mds", "hashes": [],
            "raw_data": {"basename": name, "bytes": data.len(), "hashes": {}},
            "samples": n, "size_limit": 1 << 26, "version": 2, "zip_data": null
        }));
    }
    let index = serde_json::json!({"shards": shards, "version": 2});
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
}

/// The `id` of a sample.
pub(crate) fn id_of(s: &mds_dataset::Sample) -> u64 {
    match s.get("id") {
        Some(mds_dataset::format::encoding::Value::Int(v)) => u64::try_from(*v).unwrap(),
        other => panic!("unexpected id value {other:?}"),
    }
}

pub(crate) fn fixture(name: &str) -> serde_json::Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}
