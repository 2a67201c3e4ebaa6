//! Property tests: permutations, determinism, elastic resumption.

use std::collections::BTreeMap;

use mds_shuffle::{
    EpochParams, EpochPlan, Error, Partition, PartitionAlgo, PartitionParams, ShuffleAlgo,
    ShuffleParams, shuffle,
};
use proptest::prelude::*;

fn algo() -> impl Strategy<Value = ShuffleAlgo> {
    prop::sample::select(ShuffleAlgo::ALL.to_vec())
}

fn counts(ids: impl IntoIterator<Item = u64>) -> BTreeMap<u64, u64> {
    let mut m = BTreeMap::new();
    for id in ids {
        *m.entry(id).or_insert(0) += 1;
    }
    m
}

/// The global consumption order of an uninterrupted epoch on `p` nodes: with one rank,
/// worker and sample per batch, node `n`'s k-th sample is `seq[k * p + n]`.
fn global_order(n: u64, c: u64, p: u64) -> Vec<u64> {
    let part = Partition::new(&PartitionParams {
        algo: PartitionAlgo::Orig,
        num_samples: n,
        num_canonical_nodes: c,
        num_physical_nodes: p,
        ..PartitionParams::default()
    })
    .unwrap();
    let q = part.shape()[3];
    let mut seq = Vec::new();
    for k in 0..q {
        for node in 0..p {
            if let Some(x) = part.get(node, 0, 0, k, 0) {
                seq.push(x);
            }
        }
    }
    seq
}

/// Every non-padding entry of a partition.
fn entries(part: &Partition) -> Vec<u64> {
    part.to_vec()
        .into_iter()
        .filter_map(|x| u64::try_from(x).ok())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every algorithm returns a permutation of 0..N, and the same inputs give the same output.
    #[test]
    fn shuffle_is_a_deterministic_permutation(
        sizes in prop::collection::vec(1u64..60, 1..12),
        c in 1u64..5,
        seed in 0u64..100_000,
        epoch in 0u64..4,
        block in 4u64..64,
        algo in algo(),
    ) {
        let n: u64 = sizes.iter().sum();
        prop_assume!(n >= c);
        let params = ShuffleParams { algo, num_canonical_nodes: c, seed, epoch, block_size: block };
        let a = shuffle(&sizes, &params).unwrap();
        let b = shuffle(&sizes, &params).unwrap();
        prop_assert_eq!(&a, &b);
        let mut v = a.to_u64_vec();
        v.sort_unstable();
        prop_assert_eq!(v, (0..n).collect::<Vec<_>>());
    }

    /// A padded epoch holds every sample at least once, and only padding repeats: its multiset
    /// is 0..N plus fewer than one global batch (times canonical nodes) of repeats.
    #[test]
    fn padded_epoch_is_a_permutation_of_its_multiset(
        sizes in prop::collection::vec(1u64..40, 1..10),
        c_exp in 0u32..3,
        p_exp in 0u32..3,
        r in 1u64..4,
        w in 1u64..3,
        b in 1u64..5,
        shuffle_on in any::<bool>(),
        algo in algo(),
        seed in 0u64..1000,
    ) {
        let (c, p) = (1u64 << c_exp, 1u64 << p_exp);
        let n: u64 = sizes.iter().sum();
        prop_assume!(n >= c);
        let params = EpochParams {
            samples_per_shard: sizes,
            shuffle: shuffle_on,
            shuffle_algo: algo,
            seed,
            num_canonical_nodes: Some(c),
            shuffle_block_size: Some(16),
            num_physical_nodes: p,
            ranks_per_node: r,
            workers_per_rank: w,
            batch_size: b,
            ..EpochParams::default()
        };
        let plan = match EpochPlan::new(&params) {
            Ok(plan) => plan,
            // The reference raises ValueError for these too (tiny epochs on many nodes).
            Err(Error::PaddingBroadcast { .. } | Error::Reshape { .. }) => return Ok(()),
            Err(e) => return Err(TestCaseError::fail(format!("{params:?}: {e}"))),
        };
        let again = EpochPlan::new(&params).unwrap();
        prop_assert_eq!(plan.to_vec(), again.to_vec());
        let ids: Vec<u64> = plan.to_vec().into_iter().filter_map(|x| u64::try_from(x).ok()).collect();
        let m = counts(ids.iter().copied());
        prop_assert_eq!(m.keys().copied().collect::<Vec<_>>(), (0..n).collect::<Vec<_>>());
        let extra = ids.len() as u64 - n;
        prop_assert!(extra < c * p.max(1) + p * r, "extra {} for c {} p {} r {}", extra, c, p, r);
        // The shuffled epoch is the unshuffled one mapped through a bijection.
        let unshuffled = EpochPlan::new(&EpochParams { shuffle: false, ..params }).unwrap();
        let mut a: Vec<u64> = counts(ids).into_values().collect();
        let mut z: Vec<u64> = counts(unshuffled.to_vec().into_iter().filter_map(|x| u64::try_from(x).ok())).into_values().collect();
        a.sort_unstable();
        z.sort_unstable();
        prop_assert_eq!(a, z);
    }

    /// Resuming at any sample_in_epoch on any node count the reference accepts: the union over
    /// all workers of what remains is what remains of the uninterrupted epoch (as a set; the
    /// multiset may only add rank padding).
    #[test]
    fn resume_anywhere_on_any_accepted_node_count(
        n in 1u64..300,
        c_exp in 0u32..4,
        p0_exp in 0u32..4,
        p2_pick in 0usize..8,
        r in 1u64..4,
        w in 1u64..3,
        b in 1u64..5,
        at in 0.0f64..1.0,
        relaxed_odd in any::<bool>(),
    ) {
        let c = 1u64 << c_exp;
        let p0 = 1u64 << p0_exp;
        prop_assume!(n >= c.max(p0));
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
        let s = (at * n as f64) as u64;
        let (p2, initial, algo) = if relaxed_odd {
            // Elastic: 3 nodes never divide a power-of-two canonical count (> 1).
            (3 * (1 + p2_pick as u64 % 2), Some(p0), PartitionAlgo::Relaxed)
        } else {
            (1u64 << (p2_pick % 4), None, PartitionAlgo::Orig)
        };
        // Batch size that keeps the global batch divisible over the initial devices.
        let b2 = if initial.is_some() { b * p0 } else { b };
        let params = PartitionParams {
            algo,
            num_samples: n,
            num_canonical_nodes: c,
            num_physical_nodes: p2,
            ranks_per_node: r,
            workers_per_rank: w,
            batch_size: b2,
            drop_first: s,
            initial_physical_nodes: initial,
        };
        let resumed = match Partition::new(&params) {
            Ok(part) => part,
            Err(e) => {
                // Only the reference's own rejections (it raises ValueError for these too).
                let allowed = match e {
                    Error::IndivisibleNodes { .. } => initial.is_none(),
                    Error::PaddingBroadcast { .. } | Error::Reshape { .. } => true,
                    _ => false,
                };
                prop_assert!(allowed, "{params:?}: {e}");
                return Ok(());
            }
        };
        // What the partition actually resumes from: the node count whose layout it slices.
        let layout_p = match initial {
            Some(p0) if !((p2 <= c && c.is_multiple_of(p2)) || (p2 > c && p2.is_multiple_of(c))) => p0,
            _ => p2,
        };
        let seq = global_order(n, c, layout_p);
        let dropped = s - s % layout_p;
        let remaining = counts(seq.iter().copied().skip(usize::try_from(dropped).unwrap()));
        let got = counts(entries(&resumed));
        prop_assert_eq!(got.keys().collect::<Vec<_>>(), remaining.keys().collect::<Vec<_>>(), "{:?}", params);
        for (id, k) in &remaining {
            prop_assert!(got[id] >= *k, "{params:?}: id {id} appears {} < {k}", got[id]);
        }
        let extra: u64 = got.values().sum::<u64>() - remaining.values().sum::<u64>();
        prop_assert!(extra < layout_p * r, "{params:?}: {extra} padding repeats");
    }
}

/// For a fixed canonical node count (>= physical), the global order does not depend on the
/// physical world: the union of step j over all devices is the same window.
#[test]
fn global_order_is_independent_of_physical_nodes() {
    let base = global_order(1000, 8, 1);
    for p in [2, 4, 8] {
        assert_eq!(global_order(1000, 8, p), base, "p = {p}");
    }
}
