//! sampling.json, pipeline.json and dataset_e2e.json: weighting, resampling and the whole
//! epoch composition.

use mds_shuffle::sampling::get_sampling;
use mds_shuffle::{
    EpochParams, EpochPlan, PartitionAlgo, SamplingMethod, ShuffleAlgo, StreamWeight,
};
use serde_json::Value;

use crate::util::{cases, i_list, load, opt_u, u, u_list};

#[test]
fn sampling_vectors() {
    let v = load("sampling.json");
    for case in cases(&v) {
        let got = get_sampling(
            &u_list(&case["samples_per_shard"]),
            u(&case["choose"]),
            u(&case["granularity"]),
            u(&case["seed"]),
            u(&case["epoch"]),
            case["use_epoch"].as_bool().unwrap(),
        )
        .unwrap();
        assert_eq!(got, u_list(&case["out"]), "{case}");
    }
}

fn weight(w: &Value) -> StreamWeight {
    let obj = w.as_object().unwrap();
    if let Some(x) = obj.get("proportion") {
        StreamWeight::Proportion(x.as_f64().unwrap())
    } else if let Some(x) = obj.get("repeat") {
        StreamWeight::Repeat(x.as_f64().unwrap())
    } else if let Some(x) = obj.get("choose") {
        StreamWeight::Choose(u(x))
    } else {
        StreamWeight::Unspecified
    }
}

fn params(c: &Value) -> EpochParams {
    let get = |k: &str| c.get(k).unwrap_or(&Value::Null);
    EpochParams {
        samples_per_shard: u_list(&c["samples_per_shard"]),
        shards_per_stream: u_list(&c["shards_per_stream"]),
        weights: c["weights"]
            .as_array()
            .unwrap()
            .iter()
            .map(weight)
            .collect(),
        epoch_size: opt_u(get("epoch_size")),
        seed: u(&c["seed"]),
        epoch: u(&c["epoch"]),
        sampling_method: SamplingMethod::from_name(c["sampling_method"].as_str().unwrap()).unwrap(),
        granularity: u(&c["granularity"]),
        shuffle: c["shuffle"].as_bool().unwrap(),
        shuffle_algo: ShuffleAlgo::from_name(c["shuffle_algo"].as_str().unwrap()).unwrap(),
        num_canonical_nodes: opt_u(get("num_canonical_nodes")),
        shuffle_block_size: opt_u(get("shuffle_block_size")),
        partition_algo: PartitionAlgo::from_name(c["partition_algo"].as_str().unwrap()).unwrap(),
        num_physical_nodes: u(&c["num_physical_nodes"]),
        ranks_per_node: u(&c["ranks_per_node"]),
        workers_per_rank: u(&c["workers_per_rank"]),
        batch_size: u(&c["batch_size"]),
        sample_in_epoch: opt_u(get("sample_in_epoch")).unwrap_or(0),
        initial_physical_nodes: opt_u(get("initial_physical_nodes")),
    }
}

#[test]
fn pipeline_vectors() {
    let v = load("pipeline.json");
    let mut n = 0;
    for case in cases(&v) {
        let p = params(&case["config"]);
        let want = &case["expected"];
        let plan = EpochPlan::new(&p).unwrap_or_else(|e| panic!("{p:?}: {e}"));
        assert_eq!(
            plan.choose_per_stream(),
            u_list(&want["choose_per_stream"]),
            "{p:?}"
        );
        assert_eq!(plan.epoch_size(), u(&want["epoch_size"]), "{p:?}");
        assert_eq!(
            plan.shuffle_units(),
            u_list(&want["shuffle_units"]),
            "{p:?}"
        );
        assert_eq!(
            plan.sample_map().to_vec(),
            u_list(&want["small_per_big"]),
            "{p:?}"
        );
        assert_eq!(plan.shape().to_vec(), u_list(&want["shape"]), "{p:?}");
        assert_eq!(plan.to_vec(), i_list(&want["ids"]), "{p:?}");
        n += 1;
    }
    assert_eq!(n, 32);
}

#[test]
fn dataset_e2e_vectors() {
    let v = load("dataset_e2e.json");
    for case in cases(&v) {
        let name = case["name"].as_str().unwrap();
        let mut p = params(&case["config"]);
        let plan = EpochPlan::new(&p).unwrap();
        assert_eq!(
            plan.num_canonical_nodes(),
            u(&case["resolved_num_canonical_nodes"]),
            "{name}"
        );
        assert_eq!(
            plan.shuffle_block_size(),
            u(&case["resolved_shuffle_block_size"]),
            "{name}"
        );
        let got: Vec<u64> = plan.worker_samples(0, 0, 0).collect();
        assert_eq!(got, u_list(&case["epoch0"]), "{name}: epoch 0");
        p.epoch = 1;
        let got: Vec<u64> = EpochPlan::new(&p)
            .unwrap()
            .worker_samples(0, 0, 0)
            .collect();
        assert_eq!(got, u_list(&case["epoch1"]), "{name}: epoch 1");
        p.sample_in_epoch = 37;
        let got: Vec<u64> = EpochPlan::new(&p)
            .unwrap()
            .worker_samples(0, 0, 0)
            .collect();
        assert_eq!(got, u_list(&case["resume_epoch1_at_37"]), "{name}: resume");
    }
}

#[test]
fn defaults_resolve_like_the_reference() {
    let plan = EpochPlan::new(&EpochParams {
        samples_per_shard: vec![100; 10],
        shuffle: true,
        shuffle_algo: ShuffleAlgo::Py1s,
        num_physical_nodes: 2,
        ..EpochParams::default()
    })
    .unwrap();
    assert_eq!(plan.num_canonical_nodes(), 128);
    assert_eq!(plan.shuffle_block_size(), 1 << 18);
    let plan = EpochPlan::new(&EpochParams {
        samples_per_shard: vec![5, 6],
        ..EpochParams::default()
    })
    .unwrap();
    assert_eq!(plan.num_canonical_nodes(), 1);
    assert_eq!(plan.shuffle_block_size(), 4_000_000);
    let ids: Vec<u64> = plan.worker_samples(0, 0, 0).collect();
    assert_eq!(ids, (0..11).collect::<Vec<_>>());
}

#[test]
fn mixed_weights_are_an_error() {
    let p = EpochParams {
        samples_per_shard: vec![5, 6],
        shards_per_stream: vec![1, 1],
        weights: vec![StreamWeight::Proportion(0.5), StreamWeight::Repeat(2.0)],
        ..EpochParams::default()
    };
    assert!(EpochPlan::new(&p).is_err());
    let p = EpochParams {
        samples_per_shard: vec![5, 6],
        shards_per_stream: vec![1, 1],
        weights: vec![StreamWeight::Repeat(1.0), StreamWeight::Repeat(2.0)],
        epoch_size: Some(7),
        ..EpochParams::default()
    };
    assert!(EpochPlan::new(&p).is_err());
}

#[test]
fn one_call_per_worker() {
    let p = EpochParams {
        samples_per_shard: vec![30, 25, 40],
        shuffle: true,
        ranks_per_node: 2,
        workers_per_rank: 2,
        batch_size: 4,
        ..EpochParams::default()
    };
    let plan = EpochPlan::new(&p).unwrap();
    let mut all = Vec::new();
    for rank in 0..2 {
        for worker in 0..2 {
            let ids = mds_shuffle::worker_sample_ids(&p, 0, rank, worker).unwrap();
            assert_eq!(
                ids,
                plan.worker_samples(0, rank, worker).collect::<Vec<_>>()
            );
            all.extend(ids);
        }
    }
    all.sort_unstable();
    all.dedup();
    assert_eq!(all, (0..95).collect::<Vec<_>>());
    assert!(mds_shuffle::worker_sample_ids(&p, 0, 2, 0).is_err());
}
