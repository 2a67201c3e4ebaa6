//! `mds plan` against the reference's orders for the `all_encodings` fixture (written by
//! mosaicml-streaming 0.13: 1 node, 1 rank, no DataLoader workers, epoch 0).

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/all_encodings")
}

fn plan(args: &[String]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_mds"))
        .arg("plan")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mds plan {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn flatten(v: &Value, out: &mut Vec<i64>) {
    match v {
        Value::Array(items) => items.iter().for_each(|x| flatten(x, out)),
        other => out.push(other.as_i64().unwrap()),
    }
}

#[test]
fn reproduces_every_reference_order() {
    let text = std::fs::read_to_string(fixture().join("orders.json")).unwrap();
    let orders: Value = serde_json::from_str(&text).unwrap();
    let orders = orders["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 9);
    for case in orders {
        let config = case["config"].as_object().unwrap();
        let mut args = vec![fixture().display().to_string()];
        for (key, value) in config {
            match key.as_str() {
                "shuffle" if value.as_bool().unwrap() => args.push("--shuffle".into()),
                "shuffle" => {}
                "shuffle_seed" => args.extend(["--seed".into(), value.to_string()]),
                "shuffle_algo" => {
                    args.extend(["--shuffle-algo".into(), value.as_str().unwrap().into()]);
                }
                "num_canonical_nodes" => {
                    args.extend(["--num-canonical-nodes".into(), value.to_string()]);
                }
                "shuffle_block_size" => {
                    args.extend(["--shuffle-block-size".into(), value.to_string()]);
                }
                other => panic!("unhandled config key {other}"),
            }
        }
        args.extend(["--batch-size".into(), case["batch_size"].to_string()]);
        let got = plan(&args);
        let resolved = &case["resolved"];
        assert_eq!(
            got["num_canonical_nodes"], resolved["num_canonical_nodes"],
            "{config:?}"
        );
        assert_eq!(
            got["shuffle_block_size"], resolved["shuffle_block_size"],
            "{config:?}"
        );
        assert_eq!(got["shuffle_algo"], resolved["shuffle_algo"], "{config:?}");
        assert_eq!(got["seed"], resolved["shuffle_seed"], "{config:?}");
        let shape: Vec<u64> = got["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect();
        assert_eq!(&shape[..3], &[1, 1, 1]);
        let mut ids = Vec::new();
        flatten(&got["partition"], &mut ids);
        assert_eq!(ids.len() as u64, shape.iter().product::<u64>());
        let ids: Vec<i64> = ids.into_iter().filter(|&x| x != -1).collect();
        let want: Vec<i64> = case["order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_i64().unwrap())
            .collect();
        assert_eq!(ids, want, "{config:?}");
    }
}

#[test]
fn samples_per_shard_without_dataset() {
    let got = plan(&[
        "--samples-per-shard".into(),
        "3,4".into(),
        "--nodes".into(),
        "2".into(),
        "--batch-size".into(),
        "2".into(),
    ]);
    assert_eq!(got["shape"], serde_json::json!([2, 1, 1, 2, 2]));
    // 7 samples over 2 canonical nodes: the short row repeats its last id (reference orig).
    assert_eq!(
        got["partition"],
        serde_json::json!([[[[[0, 1], [2, 2]]]], [[[[3, 4], [5, 6]]]]])
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_mds"))
        .args([
            "plan",
            "--samples-per-shard",
            "3,4",
            "--shuffle-algo",
            "py9",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("py9"));
    let out = Command::new(env!("CARGO_BIN_EXE_mds"))
        .args(["plan", "/nonexistent/dataset"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/dataset"));
}

/// `mds plan ARGS` must fail with exit status 1 (an error, not a panic's 101) and a message
/// holding every `needles` entry.
fn plan_fails(args: &[&str], needles: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_mds"))
        .arg("plan")
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "mds plan {args:?}: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "mds plan {args:?} printed a partial plan"
    );
    for needle in needles {
        assert!(stderr.contains(needle), "mds plan {args:?}: {stderr}");
    }
}

#[test]
fn absurd_sizes_are_errors_naming_the_parameter() {
    let max = "1099511627776"; // mds_shuffle::MAX_SAMPLES
    plan_fails(
        &["--samples-per-shard", "18446744073709551615", "--shuffle"],
        &["--samples-per-shard", "samples_per_shard", max],
    );
    plan_fails(
        &["--samples-per-shard", "18446744073709551615,1"],
        &["samples_per_shard"],
    );
    plan_fails(
        &[
            "--samples-per-shard",
            "100",
            "--batch-size",
            "18446744073709551615",
        ],
        &["--batch-size", "batch_size = 18446744073709551615", max],
    );
    plan_fails(
        &[
            "--samples-per-shard",
            "100",
            "--workers-per-rank",
            "4294967295",
            "--ranks-per-node",
            "4294967295",
        ],
        &[
            "--workers-per-rank",
            "[1, 4294967295, 4294967295, 1, 1]",
            max,
        ],
    );
    // Each size is allowed and the partition fits, but it would be almost all padding.
    plan_fails(
        &[
            "--samples-per-shard",
            "100",
            "--batch-size",
            "1000000000000",
        ],
        &[
            "--batch-size",
            "pads an epoch of 100 samples with 999999999900 empty entries",
            "4294967296", // mds_shuffle::MAX_PADDING
        ],
    );
    plan_fails(
        &[
            "--samples-per-shard",
            "100",
            "--workers-per-rank",
            "100000",
            "--ranks-per-node",
            "100000",
        ],
        &[
            "--workers-per-rank",
            "[1, 100000, 100000, 1, 1]",
            "4294967296",
        ],
    );
    plan_fails(
        &[
            "--samples-per-shard",
            "100",
            "--num-canonical-nodes",
            "18446744073709551615",
        ],
        &["--num-canonical-nodes", "num_canonical_nodes"],
    );
}

#[test]
fn zero_parameters_are_named() {
    plan_fails(
        &[
            "--samples-per-shard",
            "100",
            "--shuffle",
            "--shuffle-block-size",
            "0",
        ],
        &["--shuffle-block-size", "shuffle_block_size = 0"],
    );
    plan_fails(
        &["--samples-per-shard", "100", "--nodes", "0"],
        &["--nodes", "num_physical_nodes = 0"],
    );
    plan_fails(
        &["--samples-per-shard", "100", "--batch-size", "0"],
        &["--batch-size", "batch_size = 0"],
    );
    // Unused without --shuffle, as in the reference.
    let got = plan(&[
        "--samples-per-shard".into(),
        "5".into(),
        "--shuffle-block-size".into(),
        "0".into(),
    ]);
    assert_eq!(got["shuffle_block_size"], 0);
    // The reference treats 0 canonical nodes as unset and defaults it (nodes for py1e,
    // 64 x nodes for py1s); the plan reports the value used.
    for (algo, want) in [("py1e", 2), ("py1s", 128)] {
        let got = plan(&[
            "--samples-per-shard".into(),
            "1000".into(),
            "--nodes".into(),
            "2".into(),
            "--num-canonical-nodes".into(),
            "0".into(),
            "--shuffle".into(),
            "--shuffle-algo".into(),
            algo.into(),
        ]);
        assert_eq!(got["num_canonical_nodes"], want, "{algo}");
    }
}
