//! partitions.json: every partition case, shape + ids or error.

use mds_shuffle::{Partition, PartitionAlgo, PartitionParams};

use crate::util::{cases, i_list, load, opt_u, u, u_list};

#[test]
fn all_partition_vectors() {
    let v = load("partitions.json");
    let mut n = 0;
    for case in cases(&v) {
        let params = PartitionParams {
            algo: PartitionAlgo::from_name(case["algo"].as_str().unwrap()).unwrap(),
            num_samples: u(&case["num_samples"]),
            num_canonical_nodes: u(&case["num_canonical_nodes"]),
            num_physical_nodes: u(&case["num_physical_nodes"]),
            ranks_per_node: u(&case["ranks_per_node"]),
            workers_per_rank: u(&case["workers_per_rank"]),
            batch_size: u(&case["batch_size"]),
            drop_first: u(&case["drop_first"]),
            initial_physical_nodes: opt_u(&case["initial_physical_nodes"]),
        };
        let got = Partition::new(&params);
        if case.get("error").is_some() {
            assert!(got.is_err(), "expected an error for {params:?}");
        } else {
            let got = got.unwrap_or_else(|e| panic!("{params:?}: {e}"));
            assert_eq!(got.shape().to_vec(), u_list(&case["shape"]), "{params:?}");
            assert_eq!(got.to_vec(), i_list(&case["ids"]), "{params:?}");
        }
        n += 1;
    }
    assert!(n > 900, "only {n} cases");
}

#[test]
fn zero_parameters_are_errors() {
    let base = PartitionParams {
        num_samples: 10,
        ..PartitionParams::default()
    };
    for bad in [
        PartitionParams {
            batch_size: 0,
            ..base.clone()
        },
        PartitionParams {
            num_physical_nodes: 0,
            ..base.clone()
        },
        PartitionParams {
            num_canonical_nodes: 0,
            ..base.clone()
        },
        PartitionParams {
            ranks_per_node: 0,
            ..base.clone()
        },
        PartitionParams {
            drop_first: 12,
            ..base.clone()
        },
    ] {
        assert!(Partition::new(&bad).is_err(), "{bad:?}");
    }
}
