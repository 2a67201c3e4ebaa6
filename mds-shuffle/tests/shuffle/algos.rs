//! shuffle_*.json: every shuffle case, ids or error.

use mds_shuffle::{Permutation, ShuffleAlgo, ShuffleParams, shuffle};

use crate::util::{cases, load, u, u_list};

#[track_caller]
fn check_file(file: &str, algo: ShuffleAlgo) {
    let v = load(file);
    assert_eq!(v["algo"].as_str().unwrap(), algo.name());
    let mut n = 0;
    for case in cases(&v) {
        let sizes = u_list(&case["shard_sizes"]);
        let params = ShuffleParams {
            algo,
            num_canonical_nodes: u(&case["num_canonical_nodes"]),
            seed: u(&case["seed"]),
            epoch: u(&case["epoch"]),
            block_size: u(&case["block_size"]),
        };
        let got = shuffle(&sizes, &params);
        if case.get("error").is_some() {
            assert!(
                got.is_err(),
                "{file}: expected an error for {params:?} {sizes:?}"
            );
        } else {
            let got = got.unwrap_or_else(|e| panic!("{file}: {params:?} {sizes:?}: {e}"));
            assert!(matches!(got, Permutation::U32(_)));
            assert_eq!(
                got.to_u64_vec(),
                u_list(&case["ids"]),
                "{file}: {params:?} {sizes:?}"
            );
        }
        n += 1;
    }
    assert!(n > 100, "{file}: only {n} cases");
}

#[test]
fn naive() {
    check_file("shuffle_naive.json", ShuffleAlgo::Naive);
}

#[test]
fn py1s() {
    check_file("shuffle_py1s.json", ShuffleAlgo::Py1s);
}

#[test]
fn py2s() {
    check_file("shuffle_py2s.json", ShuffleAlgo::Py2s);
}

#[test]
fn py1br() {
    check_file("shuffle_py1br.json", ShuffleAlgo::Py1br);
}

#[test]
fn py1e() {
    check_file("shuffle_py1e.json", ShuffleAlgo::Py1e);
}

#[test]
fn names_round_trip() {
    for algo in ShuffleAlgo::ALL {
        assert_eq!(ShuffleAlgo::from_name(algo.name()).unwrap(), algo);
    }
    assert!(ShuffleAlgo::from_name("py3x").is_err());
}

#[test]
fn zero_canonical_nodes_is_an_error() {
    let p = ShuffleParams {
        num_canonical_nodes: 0,
        ..ShuffleParams::default()
    };
    assert!(shuffle(&[3, 4], &p).is_err());
}
