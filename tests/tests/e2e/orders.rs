//! Every configuration of the fixture's orders.json (written by mosaicml-streaming 0.13),
//! read through `StreamingDataset::iter` and compared sample by sample.

use std::path::Path;

use mds_dataset::{ShuffleAlgo, StreamingDataset, World};

#[test]
fn fixture_orders_through_the_iterator() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/all_encodings");
    let orders: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("orders.json")).unwrap()).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let reference = StreamingDataset::builder()
        .with_local(&dir)
        .with_allow_unsafe_types(true)
        .with_world(World::default())
        .build()
        .unwrap();
    let all: Vec<_> = (0..1000).map(|i| reference.get(i).unwrap()).collect();
    for o in orders["orders"].as_array().unwrap() {
        let cfg = &o["config"];
        let mut b = StreamingDataset::builder()
            .with_local(&dir)
            .with_allow_unsafe_types(true)
            .with_batch_size(u32::try_from(o["batch_size"].as_u64().unwrap()).unwrap())
            .with_world(World::default())
            .with_runtime(rt.handle().clone())
            .with_shuffle(cfg["shuffle"].as_bool().unwrap_or(false));
        if let Some(s) = cfg.get("shuffle_seed") {
            b = b.with_shuffle_seed(s.as_u64().unwrap());
        }
        if let Some(a) = cfg.get("shuffle_algo") {
            b = b.with_shuffle_algo(a.as_str().unwrap().parse::<ShuffleAlgo>().unwrap());
        }
        if let Some(n) = cfg.get("num_canonical_nodes") {
            b = b.with_num_canonical_nodes(u32::try_from(n.as_u64().unwrap()).unwrap());
        }
        if let Some(n) = cfg.get("shuffle_block_size") {
            b = b.with_shuffle_block_size(n.as_u64().unwrap());
        }
        let ds = b.build().unwrap();
        let want: Vec<usize> = o["order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| usize::try_from(v.as_u64().unwrap()).unwrap())
            .collect();
        let got: Vec<_> = ds.iter().unwrap().map(Result::unwrap).collect();
        assert_eq!(got.len(), want.len(), "{cfg}");
        for (k, (g, &w)) in got.iter().zip(&want).enumerate() {
            // Debug text, not ==: NaN columns compare unequal to themselves
            assert_eq!(
                format!("{:?}", g.values()),
                format!("{:?}", all[w].values()),
                "{cfg}: position {k} should be sample {w}"
            );
        }
    }
}
