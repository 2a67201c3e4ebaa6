//! The one place that calls `mds-shuffle`: numpy's generator, per-shard sampling, the
//! shuffle algorithms and the partitions.

use crate::params::{PartitionAlgo, ShuffleAlgo};
use crate::plan::Work;

pub(crate) type ShuffleResult<T> = std::result::Result<T, mds_shuffle::Error>;

/// `np.random.default_rng(seed)`.
#[derive(Debug)]
pub(crate) struct Generator(mds_shuffle::rng::Generator);

impl Generator {
    pub(crate) fn new(seed: u64) -> Self {
        Self(mds_shuffle::rng::Generator::new(u128::from(seed)))
    }
    pub(crate) fn choice(&mut self, n: u64, k: u64) -> ShuffleResult<Vec<u64>> {
        self.0.choice(n, k)
    }
    pub(crate) fn shuffle<T>(&mut self, x: &mut [T]) {
        self.0.shuffle(x);
    }
}

/// numpy's pairwise float64 sum.
pub(crate) fn np_sum(a: &[f64]) -> f64 {
    mds_shuffle::rng::np_sum_f64(a)
}

/// `get_sampling`: samples chosen per shard this epoch.
pub(crate) fn sampling(
    samples_per_shard: &[u64],
    choose: u64,
    granularity: u64,
    seed: u64,
    epoch: u64,
    use_epoch: bool,
) -> ShuffleResult<Vec<u64>> {
    mds_shuffle::sampling::get_sampling(
        samples_per_shard,
        choose,
        granularity,
        seed,
        epoch,
        use_epoch,
    )
}

fn shuffle_algo(algo: ShuffleAlgo) -> mds_shuffle::ShuffleAlgo {
    match algo {
        ShuffleAlgo::Naive => mds_shuffle::ShuffleAlgo::Naive,
        ShuffleAlgo::Py1b => mds_shuffle::ShuffleAlgo::Py1b,
        ShuffleAlgo::Py1s => mds_shuffle::ShuffleAlgo::Py1s,
        ShuffleAlgo::Py2s => mds_shuffle::ShuffleAlgo::Py2s,
        ShuffleAlgo::Py1br => mds_shuffle::ShuffleAlgo::Py1br,
        ShuffleAlgo::Py1e => mds_shuffle::ShuffleAlgo::Py1e,
    }
}

/// `get_shuffle`: the epoch permutation of big ids.
pub(crate) fn shuffle(
    algo: ShuffleAlgo,
    units: &[u64],
    num_canonical_nodes: u32,
    seed: u64,
    epoch: u64,
    block_size: u64,
) -> ShuffleResult<mds_shuffle::Permutation> {
    mds_shuffle::shuffle(
        units,
        &mds_shuffle::ShuffleParams {
            algo: shuffle_algo(algo),
            num_canonical_nodes: u64::from(num_canonical_nodes),
            seed,
            epoch,
            block_size,
        },
    )
}

/// `get_partitions`: the lazy `(nodes, ranks, workers, batches, batch)` partition of epoch
/// positions.
#[allow(clippy::too_many_arguments)] // mirrors the reference's signature
pub(crate) fn partition_lazy(
    algo: PartitionAlgo,
    num_samples: u64,
    num_canonical_nodes: u32,
    nodes: u32,
    ranks_per_node: u32,
    workers_per_rank: u32,
    batch_size: u32,
    drop_first: u64,
    initial_physical_nodes: Option<u32>,
) -> ShuffleResult<mds_shuffle::Partition> {
    mds_shuffle::Partition::new(&mds_shuffle::PartitionParams {
        algo: match algo {
            PartitionAlgo::Orig => mds_shuffle::PartitionAlgo::Orig,
            PartitionAlgo::Relaxed => mds_shuffle::PartitionAlgo::Relaxed,
        },
        num_samples,
        num_canonical_nodes: u64::from(num_canonical_nodes),
        num_physical_nodes: u64::from(nodes),
        ranks_per_node: u64::from(ranks_per_node),
        workers_per_rank: u64::from(workers_per_rank),
        batch_size: u64::from(batch_size),
        drop_first,
        initial_physical_nodes: initial_physical_nodes.map(u64::from),
    })
}

/// [`partition_lazy`], materialised.
#[allow(clippy::too_many_arguments)] // mirrors the reference's signature
pub(crate) fn partition(
    algo: PartitionAlgo,
    num_samples: u64,
    num_canonical_nodes: u32,
    nodes: u32,
    ranks_per_node: u32,
    workers_per_rank: u32,
    batch_size: u32,
    drop_first: u64,
    initial_physical_nodes: Option<u32>,
) -> ShuffleResult<Work> {
    let p = partition_lazy(
        algo,
        num_samples,
        num_canonical_nodes,
        nodes,
        ranks_per_node,
        workers_per_rank,
        batch_size,
        drop_first,
        initial_physical_nodes,
    )?;
    let shape = p.shape().map(|d| usize::try_from(d).unwrap_or(0));
    Ok(Work {
        shape,
        ids: p.to_vec(),
    })
}
