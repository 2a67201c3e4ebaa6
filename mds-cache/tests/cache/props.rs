//! Property: after any sequence of gets, releases and evictions, usage stays within the
//! limit (plus at most one shard, only while pins force it) and pinned shards stay.

use std::fs;
use std::path::Path;
use std::time::Duration;

use mds_cache::{Cache, CacheConfig, Pin};
use proptest::prelude::*;

use crate::util::content;

#[derive(Clone, Debug)]
enum Op {
    /// Get shard i and keep the pin.
    Get(usize),
    /// Drop the i-th held pin (modulo their number).
    Release(usize),
    /// Evict shard i.
    Evict(usize),
}

fn op(n: usize) -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..n).prop_map(Op::Get),
        2 => any::<usize>().prop_map(Op::Release),
        1 => (0..n).prop_map(Op::Evict),
    ]
}

fn case() -> impl Strategy<Value = (Vec<u64>, u64, Vec<Op>)> {
    prop::collection::vec(1..=100u64, 2..8).prop_flat_map(|sizes| {
        let max = *sizes.iter().max().unwrap();
        let sum: u64 = sizes.iter().sum();
        let n = sizes.len();
        (Just(sizes), max..=sum, prop::collection::vec(op(n), 1..40))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn usage_within_limit_and_pins_present((sizes, limit, ops) in case()) {
        let t = tempfile::tempdir().unwrap();
        let max = *sizes.iter().max().unwrap();
        let config = CacheConfig {
            limit_bytes: Some(limit),
            max_shard_bytes: max,
            space_wait_timeout: Some(Duration::ZERO),
        };
        let cache = Cache::open(t.path(), config).unwrap();
        let name = |i: usize| format!("s{i}.mds");
        let mut held: Vec<(usize, Pin)> = Vec::new();
        for op in ops {
            match op {
                Op::Get(i) => {
                    let pinned_before = !held.is_empty();
                    let r = cache.get(&name(i), sizes[i], |tmp: &Path| fs::write(tmp, content(&name(i), sizes[i])));
                    match r {
                        Ok(pin) => {
                            prop_assert_eq!(fs::read(pin.path()).unwrap(), content(&name(i), sizes[i]));
                            // A miss with no pins held evicts down to the limit (a hit evicts
                            // nothing, so an earlier overshoot may remain until the next miss).
                            if pin.filled() && !pinned_before {
                                prop_assert!(cache.usage().unwrap().total_bytes() <= limit);
                            }
                            held.push((i, pin));
                        }
                        Err(e) => prop_assert!(e.is_cache_full() && pinned_before, "{:?}", e),
                    }
                }
                Op::Release(k) => {
                    if !held.is_empty() {
                        let k = k % held.len();
                        held.swap_remove(k);
                    }
                }
                Op::Evict(i) => {
                    let evicted = cache.evict(&name(i)).unwrap();
                    prop_assert!(!(evicted && held.iter().any(|(j, _)| *j == i)));
                }
            }
            let usage = cache.usage().unwrap();
            prop_assert!(usage.total_bytes() <= limit + max, "{:?} over {} + {}", usage, limit, max);
            prop_assert_eq!(usage.filling_shards, 0);
            for (i, pin) in &held {
                prop_assert_eq!(fs::metadata(pin.path()).map(|m| m.len()).ok(), Some(sizes[*i]));
            }
        }
    }
}
