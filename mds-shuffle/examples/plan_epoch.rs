//! Plans one epoch and reads every worker's sample ids; prints timings and peak memory as one
//! JSON line. Used by `benches/side_by_side.py`.
//!
//! `cargo run --release -p mds-shuffle --example plan_epoch -- --samples 1000000000 \
//!  --shards 100000 [--algo py1e] [--nodes 1 --ranks 8 --workers 8 --batch 32] [--canonical C]
//!  [--block BS] [--no-shuffle] [--one-by-one]`
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::many_single_char_names
)] // a command-line tool; counts like 1e9 parse as f64

use std::time::Instant;

use mds_shuffle::{EpochParams, EpochPlan, ShuffleAlgo};

fn peak_rss_bytes() -> u64 {
    // VmHWM of this process (Linux); 0 elsewhere.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<u64>().ok())
            })
        })
        .map_or(0, |kb| kb * 1024)
}

/// CPU seconds (user + sys) of this process so far (Linux, 100 Hz ticks); 0 elsewhere.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0)
        })
        .unwrap_or(0.0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let get = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .map(|i| args[i + 1].clone())
    };
    let num =
        |name: &str, default: u64| get(name).map_or(default, |v| v.parse::<f64>().unwrap() as u64);
    let samples = num("--samples", 10_000_000);
    let shards = num("--shards", 1000).max(1);
    let algo = ShuffleAlgo::from_name(&get("--algo").unwrap_or_else(|| "py1e".into())).unwrap();
    let base = samples / shards;
    let sizes: Vec<u64> = (0..shards)
        .map(|i| base + u64::from(i < samples % shards))
        .collect();
    let params = EpochParams {
        samples_per_shard: sizes,
        shuffle: !args.iter().any(|a| a == "--no-shuffle"),
        shuffle_algo: algo,
        seed: num("--seed", 9176),
        epoch: num("--epoch", 0),
        num_canonical_nodes: get("--canonical").map(|v| v.parse().unwrap()),
        shuffle_block_size: get("--block").map(|v| v.parse().unwrap()),
        num_physical_nodes: num("--nodes", 1),
        ranks_per_node: num("--ranks", 1),
        workers_per_rank: num("--workers", 1),
        batch_size: num("--batch", 1),
        ..EpochParams::default()
    };
    let t0 = Instant::now();
    let plan = EpochPlan::new(&params).unwrap();
    let plan_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    // Order-sensitive hash, same as side_by_side.py: sum over workers g of (g + 1) * sum over
    // positions i of (i + 1) * id, wrapping at 2^64.
    let mut hash = 0u64;
    let mut count = 0u64;
    // Every worker's ids in one lockstep pass, hashed as they come (`--one-by-one`: each
    // worker read alone). Per worker: ids so far and its running sum.
    let [p, r, w, _, _] = plan.shape();
    let mut per_worker = vec![(0u64, 0u64); (p * r * w) as usize];
    let mut add = |g: usize, id: u64| {
        let (n, s) = &mut per_worker[g];
        *n += 1;
        *s = s.wrapping_add(n.wrapping_mul(id));
    };
    if args.iter().any(|a| a == "--one-by-one") {
        let mut g = 0;
        for node in 0..p {
            for rank in 0..r {
                for worker in 0..w {
                    plan.worker_samples(node, rank, worker)
                        .for_each(|id| add(g, id));
                    g += 1;
                }
            }
        }
    } else {
        plan.for_each_sample(&mut add);
    }
    for (g, &(n, s)) in per_worker.iter().enumerate() {
        count += n;
        hash = hash.wrapping_add((g as u64 + 1).wrapping_mul(s));
    }
    let read_s = t1.elapsed().as_secs_f64();
    let cpu_s = cpu_seconds();
    let peak = peak_rss_bytes();
    #[allow(clippy::cast_precision_loss)]
    let per_sample = peak as f64 / samples.max(1) as f64;
    println!(
        "{{\"impl\":\"mds\",\"algo\":\"{algo}\",\"samples\":{samples},\"shards\":{shards},\"plan_s\":{plan_s:.3},\"read_all_workers_s\":{read_s:.3},\"total_s\":{:.3},\"cpu_s\":{cpu_s:.2},\"peak_rss_bytes\":{peak},\"bytes_per_sample\":{per_sample:.2},\"ids_read\":{count},\"order_hash\":{hash}}}",
        plan_s + read_s
    );
}
