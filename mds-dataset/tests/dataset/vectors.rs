//! pipeline.json and dataset_e2e.json (generated with the Python library): weighting,
//! resampling, shuffle and partition end to end, for every node, rank and worker.

use std::path::Path;

use mds_dataset::{PartitionAlgo, SamplingMethod, ShuffleAlgo, Stream, StreamingDataset, World};
use serde_json::Value;

use crate::util::{fixture, id_of, write_stream};

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

/// Writes the three streams of a config under `dir` and builds the dataset for `world`.
fn dataset(
    dir: &Path,
    cfg: &Value,
    world: World,
    rt: Option<tokio::runtime::Handle>,
) -> StreamingDataset {
    let sizes: Vec<u64> = cfg["samples_per_shard"]
        .as_array()
        .unwrap()
        .iter()
        .map(u)
        .collect();
    let per: Vec<usize> = cfg["shards_per_stream"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| usize::try_from(u(v)).unwrap())
        .collect();
    let mut streams = Vec::new();
    let (mut shard, mut id) = (0, 0);
    for (i, &n) in per.iter().enumerate() {
        let d = dir.join(format!("s{i}"));
        let z = &sizes[shard..shard + n];
        write_stream(&d, z, id);
        shard += n;
        id += z.iter().sum::<u64>();
        let mut s = Stream::new().with_local(&d);
        let w = &cfg["weights"][i];
        if let Some(p) = w.get("proportion") {
            s = s.with_proportion(p.as_f64().unwrap());
        }
        if let Some(r) = w.get("repeat") {
            s = s.with_repeat(r.as_f64().unwrap());
        }
        if let Some(c) = w.get("choose") {
            s = s.with_choose(u(c));
        }
        streams.push(s);
    }
    let mut b = StreamingDataset::builder()
        .with_streams(streams)
        .with_shuffle_seed(u(&cfg["seed"]))
        .with_sampling_method(
            cfg["sampling_method"]
                .as_str()
                .unwrap()
                .parse::<SamplingMethod>()
                .unwrap(),
        )
        .with_sampling_granularity(u(&cfg["granularity"]))
        .with_shuffle(cfg["shuffle"].as_bool().unwrap())
        .with_shuffle_algo(
            cfg["shuffle_algo"]
                .as_str()
                .unwrap()
                .parse::<ShuffleAlgo>()
                .unwrap(),
        )
        .with_num_canonical_nodes(u32::try_from(u(&cfg["num_canonical_nodes"])).unwrap())
        .with_shuffle_block_size(u(&cfg["shuffle_block_size"]))
        .with_partition_algo(
            cfg["partition_algo"]
                .as_str()
                .unwrap()
                .parse::<PartitionAlgo>()
                .unwrap(),
        )
        .with_batch_size(u32::try_from(u(&cfg["batch_size"])).unwrap())
        .with_world(world);
    if let Some(e) = cfg.get("epoch_size").and_then(Value::as_u64) {
        b = b.with_epoch_size(e);
    }
    if let Some(h) = rt {
        b = b.with_runtime(h);
    }
    b.build().unwrap()
}

#[test]
fn pipeline_vectors_every_worker() {
    let cases = fixture("pipeline.json");
    for (n, case) in cases["cases"].as_array().unwrap().iter().enumerate() {
        let cfg = &case["config"];
        let exp = &case["expected"];
        let tmp = tempfile::tempdir().unwrap();
        let (p, r, w) = (
            u(&cfg["num_physical_nodes"]),
            u(&cfg["ranks_per_node"]),
            u(&cfg["workers_per_rank"]),
        );
        let ranks = u32::try_from(p * r).unwrap();
        let base = World::new(0, ranks, u32::try_from(r).unwrap()).unwrap();
        let ds = dataset(tmp.path(), cfg, base, None);
        let choose: Vec<u64> = exp["choose_per_stream"]
            .as_array()
            .unwrap()
            .iter()
            .map(u)
            .collect();
        assert_eq!(
            ds.samples_per_stream(),
            &choose[..],
            "case {n}: per-stream counts"
        );
        assert_eq!(ds.epoch_size(), u(&exp["epoch_size"]), "case {n}");
        let shape: Vec<u64> = exp["shape"].as_array().unwrap().iter().map(u).collect();
        let ids: Vec<i64> = exp["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        let per_worker = usize::try_from(shape[3] * shape[4]).unwrap();
        if let Some(ipn) = cfg["initial_physical_nodes"].as_u64() {
            ds.load_state_dict(mds_dataset::ResumeState {
                epoch: i64::try_from(u(&cfg["epoch"])).unwrap(),
                sample_in_epoch: u(&cfg["sample_in_epoch"]),
                num_canonical_nodes: u32::try_from(u(&cfg["num_canonical_nodes"])).unwrap(),
                shuffle_seed: u(&cfg["seed"]),
                initial_physical_nodes: Some(u32::try_from(ipn).unwrap()),
            });
        }
        for rank in 0..ranks {
            for worker in 0..u32::try_from(w).unwrap() {
                let world = World::new(rank, ranks, u32::try_from(r).unwrap())
                    .unwrap()
                    .with_worker(worker, u32::try_from(w).unwrap())
                    .unwrap();
                let k = usize::try_from(u64::from(rank) * w + u64::from(worker)).unwrap();
                let want: Vec<u64> = ids[k * per_worker..(k + 1) * per_worker]
                    .iter()
                    .filter_map(|&x| u64::try_from(x).ok())
                    .collect();
                let got = if cfg["initial_physical_nodes"].is_u64() {
                    // resumption state applies through begin_epoch
                    ds.set_next_epoch(u(&cfg["epoch"]));
                    ds.begin_epoch(world).unwrap().sample_ids
                } else {
                    ds.epoch_sample_ids(world, u(&cfg["epoch"]), u(&cfg["sample_in_epoch"]))
                        .unwrap()
                };
                assert_eq!(got, want, "case {n} rank {rank} worker {worker}");
            }
        }
    }
}

#[test]
fn dataset_e2e_through_the_iterator() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let cases = fixture("dataset_e2e.json");
    let collect = |ds: &StreamingDataset| -> Vec<u64> {
        ds.iter().unwrap().map(|s| id_of(&s.unwrap())).collect()
    };
    for case in cases["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let cfg = &case["config"];
        let tmp = tempfile::tempdir().unwrap();
        let ds = dataset(tmp.path(), cfg, World::default(), Some(rt.handle().clone()));
        let e0: Vec<u64> = case["epoch0"].as_array().unwrap().iter().map(u).collect();
        let e1: Vec<u64> = case["epoch1"].as_array().unwrap().iter().map(u).collect();
        let r1: Vec<u64> = case["resume_epoch1_at_37"]
            .as_array()
            .unwrap()
            .iter()
            .map(u)
            .collect();
        assert_eq!(collect(&ds), e0, "{name}: epoch 0");
        assert_eq!(collect(&ds), e1, "{name}: epoch 1");
        let state = ds.state_dict(37, true);
        assert_eq!(state.epoch, 1, "{name}");
        let fresh = dataset(
            &tmp.path().join("again"),
            cfg,
            World::default(),
            Some(rt.handle().clone()),
        );
        fresh.load_state_dict(state);
        assert_eq!(collect(&fresh), r1, "{name}: epoch 1 resumed at 37");
    }
}
