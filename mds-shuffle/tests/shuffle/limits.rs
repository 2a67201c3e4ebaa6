//! Parameters too large to plan, and zero block sizes, give typed errors naming the parameter
//! (never a panic, an allocation abort or a walk that never ends).

use mds_shuffle::{
    EpochParams, EpochPlan, Error, MAX_CANONICAL_NODES, MAX_PADDING, MAX_SAMPLES, Partition,
    PartitionParams, ShuffleAlgo, ShuffleParams, shuffle,
};

#[allow(clippy::needless_pass_by_value)] // call sites build the params inline
fn plan(params: EpochParams) -> Result<EpochPlan, Error> {
    EpochPlan::new(&params)
}

fn small() -> EpochParams {
    EpochParams {
        samples_per_shard: vec![100],
        ..EpochParams::default()
    }
}

#[test]
fn huge_epoch_is_too_large_not_a_capacity_panic() {
    for shuffle in [false, true] {
        let err = plan(EpochParams {
            samples_per_shard: vec![u64::MAX],
            shuffle,
            ..EpochParams::default()
        })
        .unwrap_err();
        assert_eq!(
            err,
            Error::TooLarge {
                name: "total samples (sum of samples_per_shard)",
                value: u64::MAX,
                max: MAX_SAMPLES,
            }
        );
    }
    // The sum overflows u64: reported saturated, not wrapped.
    let err = plan(EpochParams {
        samples_per_shard: vec![u64::MAX, 5],
        shuffle: true,
        ..EpochParams::default()
    })
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooLarge {
                value: u64::MAX,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("samples_per_shard"), "{err}");
}

#[test]
fn every_shuffle_rejects_a_huge_total() {
    for algo in [
        ShuffleAlgo::Naive,
        ShuffleAlgo::Py1b,
        ShuffleAlgo::Py1br,
        ShuffleAlgo::Py1e,
        ShuffleAlgo::Py1s,
        ShuffleAlgo::Py2s,
        ShuffleAlgo::NativeNode,
    ] {
        let params = ShuffleParams {
            algo,
            ..ShuffleParams::default()
        };
        let err = shuffle(&[MAX_SAMPLES, 1], &params).unwrap_err();
        assert_eq!(
            err,
            Error::TooLarge {
                name: "total samples (sum of shard sizes)",
                value: MAX_SAMPLES + 1,
                max: MAX_SAMPLES,
            },
            "{algo}"
        );
        assert_eq!(
            shuffle(&[u64::MAX, 2], &params).unwrap_err(),
            Error::Overflow {
                what: "total sample count"
            }
        );
        let err = shuffle(
            &[10],
            &ShuffleParams {
                num_canonical_nodes: MAX_CANONICAL_NODES + 1,
                ..params
            },
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::TooLarge {
                    name: "num_canonical_nodes",
                    ..
                }
            ),
            "{algo}: {err}"
        );
    }
}

#[test]
fn absurd_partition_shapes_are_rejected() {
    // One huge batch: the padded partition (not the epoch) is too large.
    let err = plan(EpochParams {
        batch_size: u64::MAX,
        ..small()
    })
    .unwrap_err();
    assert_eq!(
        err,
        Error::TooLarge {
            name: "batch_size",
            value: u64::MAX,
            max: MAX_SAMPLES,
        }
    );
    // Each factor is allowed, their product is not.
    let err = plan(EpochParams {
        workers_per_rank: u64::from(u32::MAX),
        ranks_per_node: u64::from(u32::MAX),
        ..small()
    })
    .unwrap_err();
    assert!(
        matches!(err, Error::PartitionTooLarge { shape, max: MAX_SAMPLES }
            if shape[1] == u64::from(u32::MAX) && shape[2] == u64::from(u32::MAX)),
        "{err}"
    );
    assert!(err.to_string().contains("workers_per_rank"), "{err}");
    // Zero batches still bound the walk over nodes, ranks and workers.
    let err = Partition::new(&PartitionParams {
        num_samples: 0,
        ranks_per_node: 1 << 30,
        workers_per_rank: 1 << 30,
        ..PartitionParams::default()
    })
    .unwrap_err();
    assert!(matches!(err, Error::PartitionTooLarge { .. }), "{err}");
    for (name, params) in [
        (
            "ranks_per_node",
            PartitionParams {
                ranks_per_node: u64::MAX,
                ..PartitionParams::default()
            },
        ),
        (
            "workers_per_rank",
            PartitionParams {
                workers_per_rank: u64::MAX,
                ..PartitionParams::default()
            },
        ),
        (
            "num_physical_nodes",
            PartitionParams {
                num_physical_nodes: u64::MAX,
                num_canonical_nodes: u64::MAX,
                ..PartitionParams::default()
            },
        ),
    ] {
        let err = Partition::new(&params).unwrap_err();
        assert!(
            matches!(err, Error::TooLarge { name: n, value: u64::MAX, .. } if n == name
                || n == "num_canonical_nodes"),
            "{name}: {err}"
        );
    }
    // A shape within the bound still plans.
    let ok = plan(EpochParams {
        batch_size: 1 << 20,
        ..small()
    })
    .unwrap();
    assert_eq!(ok.shape(), [1, 1, 1, 1, 1 << 20]);
}

#[test]
fn zero_block_size_names_shuffle_block_size() {
    // The reference fails in numpy (`integers(0, 0)`, py1e and py1br) only when it shuffles
    // with a block-based algorithm; mds fails the same way (and py1b, mds's own, too), with
    // the parameter's name.
    for (algo, name) in [
        (ShuffleAlgo::Py1e, "py1e"),
        (ShuffleAlgo::Py1br, "py1br"),
        (ShuffleAlgo::Py1b, "py1b"),
    ] {
        let err = plan(EpochParams {
            shuffle: true,
            shuffle_algo: algo,
            shuffle_block_size: Some(0),
            ..small()
        })
        .unwrap_err();
        assert_eq!(
            err,
            Error::BlockSizeTooSmall {
                algo: name,
                block_size: 0
            }
        );
        assert!(err.to_string().contains("shuffle_block_size = 0"), "{err}");
        // Without shuffling the block size is unused, as in the reference.
        plan(EpochParams {
            shuffle: false,
            shuffle_algo: algo,
            shuffle_block_size: Some(0),
            ..small()
        })
        .unwrap();
    }
    // Block sizes that ignore the value accept 0, like the reference.
    for algo in [ShuffleAlgo::Naive, ShuffleAlgo::Py1s, ShuffleAlgo::Py2s] {
        plan(EpochParams {
            shuffle: true,
            shuffle_algo: algo,
            shuffle_block_size: Some(0),
            ..small()
        })
        .unwrap();
    }
    // numpy cannot draw int(1.25 * bs) past int64.
    let err = plan(EpochParams {
        shuffle: true,
        shuffle_block_size: Some(u64::MAX),
        ..small()
    })
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooLarge {
                name: "shuffle_block_size",
                value: u64::MAX,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn zero_nodes_and_canonical_nodes() {
    let err = plan(EpochParams {
        num_physical_nodes: 0,
        ..small()
    })
    .unwrap_err();
    assert_eq!(
        err,
        Error::InvalidParam {
            name: "num_physical_nodes",
            value: 0,
            reason: "must be at least 1",
        }
    );
    // The reference treats num_canonical_nodes = 0 as unset (`if not num_canonical_nodes`)
    // and defaults it: 64 x physical nodes for py1s/py2s, else physical nodes.
    for (algo, want) in [(ShuffleAlgo::Py1e, 2), (ShuffleAlgo::Py1s, 128)] {
        let p = plan(EpochParams {
            num_canonical_nodes: Some(0),
            num_physical_nodes: 2,
            shuffle: true,
            shuffle_algo: algo,
            samples_per_shard: vec![1000],
            ..EpochParams::default()
        })
        .unwrap();
        assert_eq!(p.num_canonical_nodes(), want, "{algo}");
    }
    let err = plan(EpochParams {
        num_canonical_nodes: Some(u64::MAX),
        ..small()
    })
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooLarge {
                name: "num_canonical_nodes",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn huge_weights_and_epoch_size_are_too_large() {
    use mds_shuffle::StreamWeight;
    let err = plan(EpochParams {
        epoch_size: Some(u64::MAX),
        ..small()
    })
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooLarge {
                name: "epoch_size",
                ..
            }
        ),
        "{err}"
    );
    let err = plan(EpochParams {
        samples_per_shard: vec![10, 10],
        shards_per_stream: vec![1, 1],
        weights: vec![StreamWeight::Choose(u64::MAX), StreamWeight::Choose(2)],
        ..EpochParams::default()
    })
    .unwrap_err();
    assert!(matches!(err, Error::Overflow { .. }), "{err}");
    let err = plan(EpochParams {
        samples_per_shard: vec![10],
        weights: vec![StreamWeight::Repeat(1e15)],
        ..EpochParams::default()
    })
    .unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err}");
}

#[test]
fn all_workers_equals_each_worker_read_alone() {
    let mut cases = Vec::new();
    for (p, r, w, b, c, drop) in [
        (1, 1, 1, 1, None, 0),
        (2, 8, 4, 32, None, 0),
        (2, 3, 2, 5, Some(4), 7),
        (3, 2, 3, 4, Some(2), 0), // incompatible with C: relaxed slices the initial layout
        (4, 1, 2, 3, Some(2), 11),
    ] {
        cases.push(EpochParams {
            samples_per_shard: (0..37).map(|i| 50 + i * 7).collect(),
            shuffle: true,
            num_physical_nodes: p,
            ranks_per_node: r,
            workers_per_rank: w,
            batch_size: b,
            num_canonical_nodes: c,
            sample_in_epoch: drop,
            initial_physical_nodes: (p == 3).then_some(2),
            ..EpochParams::default()
        });
    }
    for params in cases {
        let plan = EpochPlan::new(&params).unwrap();
        let [p, r, w, _, _] = plan.shape();
        let all = plan.all_workers().unwrap();
        assert_eq!(all.len() as u64, p * r * w);
        let mut g = 0;
        for node in 0..p {
            for rank in 0..r {
                for worker in 0..w {
                    let alone: Vec<u64> = plan.worker_samples(node, rank, worker).collect();
                    assert_eq!(all[g], alone, "{params:?} worker {g}");
                    g += 1;
                }
            }
        }
    }
}

#[test]
fn padding_beyond_the_bound_is_an_error_and_below_it_a_plan() {
    // A global batch of 2^33 samples over a 100-sample epoch: under MAX_SAMPLES entries, but
    // all padding.
    let err = plan(EpochParams {
        batch_size: 1 << 33,
        ..small()
    })
    .unwrap_err();
    assert_eq!(
        err,
        Error::PaddingTooLarge {
            shape: [1, 1, 1, 1, 1 << 33],
            num_samples: 100,
            padding: (1 << 33) - 100,
            max: MAX_PADDING,
        }
    );
    assert!(err.to_string().contains("batch_size"), "{err}");
    // Large but plausible padding (a million -1s for a tiny dataset on a big cluster) plans.
    let ok = plan(EpochParams {
        ranks_per_node: 8,
        workers_per_rank: 8,
        batch_size: 1 << 14,
        ..small()
    })
    .unwrap();
    assert_eq!(ok.shape(), [1, 8, 8, 1, 1 << 14]);
}
