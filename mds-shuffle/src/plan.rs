//! One epoch end to end, as the reference's dataset composes it with `batching_method='random'`
//! (spec §D): weights → resampling → partition → shuffle → sample ids per worker.

use crate::error::{Error, Result};
use crate::partition::{Partition, PartitionAlgo, PartitionParams};
use crate::sampling::{
    ResampleParams, SampleMap, SamplingMethod, StreamWeight, apply_weights, resample_streams,
};
use crate::shuffle::{
    Permutation, ShuffleAlgo, ShuffleParams, default_shuffle_block_size, shuffle,
};

/// Everything that determines an epoch's sample order. Field names and defaults follow the
/// reference's `StreamingDataset` arguments.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochParams {
    /// Samples in each shard, all streams concatenated in stream order.
    pub samples_per_shard: Vec<u64>,
    /// Shards of each stream; empty = one stream holding every shard.
    pub shards_per_stream: Vec<u64>,
    /// Weight of each stream; empty = unspecified for every stream.
    pub weights: Vec<StreamWeight>,
    /// `epoch_size` (`None` = absent).
    pub epoch_size: Option<u64>,
    /// `shuffle_seed` (default 9176).
    pub seed: u64,
    /// Epoch number (0-based).
    pub epoch: u64,
    /// `sampling_method` (default balanced).
    pub sampling_method: SamplingMethod,
    /// `sampling_granularity` (default 1).
    pub granularity: u64,
    /// `shuffle` (default false).
    pub shuffle: bool,
    /// `shuffle_algo` (default py1e).
    pub shuffle_algo: ShuffleAlgo,
    /// `num_canonical_nodes`; `None` = the reference's default for the algorithm.
    pub num_canonical_nodes: Option<u64>,
    /// `shuffle_block_size`; `None` = `max(4_000_000 // num_canonical_nodes, 1 << 18)`.
    pub shuffle_block_size: Option<u64>,
    /// `partition_algo` (default relaxed).
    pub partition_algo: PartitionAlgo,
    /// Physical nodes.
    pub num_physical_nodes: u64,
    /// Ranks per node.
    pub ranks_per_node: u64,
    /// DataLoader workers per rank (the reference counts 0 workers as 1).
    pub workers_per_rank: u64,
    /// Per-device batch size.
    pub batch_size: u64,
    /// Samples already consumed this epoch (resumption).
    pub sample_in_epoch: u64,
    /// Physical nodes at the start of the run, when resuming on a different count.
    pub initial_physical_nodes: Option<u64>,
}

impl Default for EpochParams {
    fn default() -> Self {
        Self {
            samples_per_shard: Vec::new(),
            shards_per_stream: Vec::new(),
            weights: Vec::new(),
            epoch_size: None,
            seed: 9176,
            epoch: 0,
            sampling_method: SamplingMethod::Balanced,
            granularity: 1,
            shuffle: false,
            shuffle_algo: ShuffleAlgo::Py1e,
            num_canonical_nodes: None,
            shuffle_block_size: None,
            partition_algo: PartitionAlgo::Relaxed,
            num_physical_nodes: 1,
            ranks_per_node: 1,
            workers_per_rank: 1,
            batch_size: 1,
            sample_in_epoch: 0,
            initial_physical_nodes: None,
        }
    }
}

/// A planned epoch: which underlying sample each `(node, rank, worker, batch, slot)` reads.
///
/// Holds the permutation (4 bytes per sample up to 2^32 samples) and the resampling map
/// (nothing without resampling); the partition is evaluated lazily.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochPlan {
    partition: Partition,
    perm: Option<Permutation>,
    map: SampleMap,
    choose_per_stream: Vec<u64>,
    epoch_size: u64,
    shuffle_units: Vec<u64>,
    num_canonical_nodes: u64,
    shuffle_block_size: u64,
}

impl EpochPlan {
    /// Plans the epoch described by `params`.
    pub fn new(params: &EpochParams) -> Result<Self> {
        let p = params;
        Self::check_sizes(p)?;
        let shards_per_stream = if p.shards_per_stream.is_empty() {
            vec![p.samples_per_shard.len() as u64]
        } else {
            p.shards_per_stream.clone()
        };
        let mut per_stream = Vec::with_capacity(shards_per_stream.len());
        let mut first = 0usize;
        for &n in &shards_per_stream {
            let last = usize::try_from(n)
                .ok()
                .and_then(|n| first.checked_add(n))
                .filter(|&l| l <= p.samples_per_shard.len())
                .ok_or(Error::InvalidParam {
                    name: "shards_per_stream",
                    value: n,
                    reason: "more shards than given",
                })?;
            per_stream.push(p.samples_per_shard[first..last].iter().sum::<u64>());
            first = last;
        }
        let weights = if p.weights.is_empty() {
            vec![StreamWeight::Unspecified; shards_per_stream.len()]
        } else {
            p.weights.clone()
        };
        let (choose_per_stream, epoch_size) =
            apply_weights(&per_stream, &weights, p.epoch_size, p.seed)?;
        if epoch_size > crate::MAX_SAMPLES {
            return Err(Error::TooLarge {
                name: "epoch size (after stream weights)",
                value: epoch_size,
                max: crate::MAX_SAMPLES,
            });
        }
        let (shuffle_units, map) = resample_streams(&ResampleParams {
            samples_per_shard: p.samples_per_shard.clone(),
            shards_per_stream,
            choose_per_stream: choose_per_stream.clone(),
            seed: p.seed,
            epoch: p.epoch,
            sampling_method: p.sampling_method,
            granularity: p.granularity,
            shuffle: p.shuffle,
        })?;
        let num_canonical_nodes = match p.num_canonical_nodes {
            Some(c) if c > 0 => c,
            _ => p
                .shuffle_algo
                .default_num_canonical_nodes(p.num_physical_nodes),
        };
        let shuffle_block_size = p
            .shuffle_block_size
            .unwrap_or_else(|| default_shuffle_block_size(num_canonical_nodes));
        let partition = Partition::new(&PartitionParams {
            algo: p.partition_algo,
            num_samples: epoch_size,
            num_canonical_nodes,
            num_physical_nodes: p.num_physical_nodes,
            ranks_per_node: p.ranks_per_node,
            workers_per_rank: p.workers_per_rank.max(1),
            batch_size: p.batch_size,
            drop_first: p.sample_in_epoch,
            initial_physical_nodes: p.initial_physical_nodes,
        })?;
        let perm = if p.shuffle {
            Some(shuffle(
                &shuffle_units,
                &ShuffleParams {
                    algo: p.shuffle_algo,
                    num_canonical_nodes,
                    seed: p.seed,
                    epoch: p.epoch,
                    block_size: shuffle_block_size,
                },
            )?)
        } else {
            None
        };
        Ok(Self {
            partition,
            perm,
            map,
            choose_per_stream,
            epoch_size,
            shuffle_units,
            num_canonical_nodes,
            shuffle_block_size,
        })
    }

    /// `[nodes, ranks_per_node, workers_per_rank, batches_per_worker, batch_size]`.
    pub fn shape(&self) -> [u64; 5] {
        self.partition.shape()
    }

    /// Samples each stream contributes this epoch.
    pub fn choose_per_stream(&self) -> &[u64] {
        &self.choose_per_stream
    }

    /// Samples in the epoch (before padding).
    pub fn epoch_size(&self) -> u64 {
        self.epoch_size
    }

    /// Sample counts of the shuffle units (shards after resampling).
    pub fn shuffle_units(&self) -> &[u64] {
        &self.shuffle_units
    }

    /// The map from epoch positions (before shuffling) to underlying sample ids.
    pub fn sample_map(&self) -> &SampleMap {
        &self.map
    }

    /// Canonical nodes used (after defaulting).
    pub fn num_canonical_nodes(&self) -> u64 {
        self.num_canonical_nodes
    }

    /// Shuffle block size used (after defaulting).
    pub fn shuffle_block_size(&self) -> u64 {
        self.shuffle_block_size
    }

    /// The partition (positions in the epoch order).
    pub fn partition(&self) -> &Partition {
        &self.partition
    }

    /// The underlying sample id at `[node][rank][worker][batch][slot]`; `None` = padding.
    #[inline]
    pub fn get(&self, node: u64, rank: u64, worker: u64, batch: u64, slot: u64) -> Option<u64> {
        let pos = self.partition.get(node, rank, worker, batch, slot)?;
        self.sample_at(pos)
    }

    /// What worker `(node, rank, worker)` reads, batch-major, `None` = padding.
    pub fn worker_padded(
        &self,
        node: u64,
        rank: u64,
        worker: u64,
    ) -> impl Iterator<Item = Option<u64>> + '_ {
        self.partition
            .worker(node, rank, worker)
            .map(move |pos| self.sample_at(pos?))
    }

    /// Rejects parameters too large to plan before anything is allocated or walked.
    fn check_sizes(p: &EpochParams) -> Result<()> {
        let total = p
            .samples_per_shard
            .iter()
            .try_fold(0u64, |acc, &n| acc.checked_add(n))
            .filter(|&t| t <= crate::MAX_SAMPLES);
        if total.is_none() {
            return Err(Error::TooLarge {
                name: "total samples (sum of samples_per_shard)",
                value: p
                    .samples_per_shard
                    .iter()
                    .fold(0u64, |acc, &n| acc.saturating_add(n)),
                max: crate::MAX_SAMPLES,
            });
        }
        if let Some(e) = p.epoch_size.filter(|&e| e > crate::MAX_SAMPLES) {
            return Err(Error::TooLarge {
                name: "epoch_size",
                value: e,
                max: crate::MAX_SAMPLES,
            });
        }
        if let Some(c) = p
            .num_canonical_nodes
            .filter(|&c| c > crate::MAX_CANONICAL_NODES)
        {
            return Err(Error::TooLarge {
                name: "num_canonical_nodes",
                value: c,
                max: crate::MAX_CANONICAL_NODES,
            });
        }
        if p.num_physical_nodes == 0 {
            return Err(Error::InvalidParam {
                name: "num_physical_nodes",
                value: 0,
                reason: "must be at least 1",
            });
        }
        if p.num_physical_nodes > crate::MAX_SAMPLES {
            return Err(Error::TooLarge {
                name: "num_physical_nodes",
                value: p.num_physical_nodes,
                max: crate::MAX_SAMPLES,
            });
        }
        Ok(())
    }

    /// The sample ids worker `(node, rank, worker)` yields, in order, padding skipped (what
    /// the reference's dataset iterator yields for that worker).
    pub fn worker_samples(
        &self,
        node: u64,
        rank: u64,
        worker: u64,
    ) -> impl Iterator<Item = u64> + '_ {
        self.worker_padded(node, rank, worker).flatten()
    }

    /// Every worker's sample ids (padding skipped), indexed by
    /// `(node * ranks_per_node + rank) * workers_per_rank + worker`: what
    /// [`Self::worker_samples`] yields for each worker, 8 bytes a sample. Built with
    /// [`Self::for_each_sample`]; use that directly to read the ids without holding them.
    ///
    /// Errors: [`Error::OutOfMemory`] when the ids do not fit in memory.
    pub fn all_workers(&self) -> Result<Vec<Vec<u64>>> {
        let [p, r, w, batches, b] = self.shape();
        let oom = |count| Error::OutOfMemory {
            what: "every worker's sample ids",
            count,
        };
        // The shape is bounded by MAX_SAMPLES (Partition::new), so these fit in usize.
        let workers = usize::try_from(p * r * w).map_err(|_| oom(p * r * w))?;
        let per_worker = batches * b;
        let cap = usize::try_from(per_worker).map_err(|_| oom(per_worker))?;
        let mut out: Vec<Vec<u64>> = Vec::new();
        out.try_reserve_exact(workers).map_err(|_| oom(p * r * w))?;
        for _ in 0..workers {
            let mut ids = Vec::new();
            ids.try_reserve_exact(cap).map_err(|_| oom(per_worker))?;
            out.push(ids);
        }
        self.for_each_sample(|g, id| out[g].push(id));
        Ok(out)
    }

    /// Calls `f(g, id)` for every sample of the epoch, padding skipped, where `g` is the
    /// worker reading it, `(node * ranks_per_node + rank) * workers_per_rank + worker`. Each
    /// worker's ids come in the order [`Self::worker_samples`] yields them.
    ///
    /// The workers advance in lockstep, one batch each per global step (the order a training
    /// job consumes them), and a global step covers a contiguous window of the epoch order,
    /// so the permutation is read once, sequentially, instead of once per worker at a
    /// stride. Holds nothing beyond the plan and one iterator per worker.
    #[allow(clippy::many_single_char_names)] // the spec's notation: P, R, W, B
    pub fn for_each_sample(&self, mut f: impl FnMut(usize, u64)) {
        let [p, r, w, batches, b] = self.shape();
        let mut iters = Vec::new();
        for node in 0..p {
            for rank in 0..r {
                for worker in 0..w {
                    iters.push(self.worker_padded(node, rank, worker));
                }
            }
        }
        // p * r * w iterators exist, so w and the batch size (bounded with them by
        // Partition::new) fit in usize.
        let w = usize::try_from(w).unwrap_or(usize::MAX).max(1);
        let b = usize::try_from(b).unwrap_or(usize::MAX);
        let devices = iters.len() / w;
        for _ in 0..batches {
            // Global step q * W + worker: every device's batch from that worker.
            for worker in 0..w {
                for device in 0..devices {
                    let g = device * w + worker;
                    for id in iters[g].by_ref().take(b).flatten() {
                        f(g, id);
                    }
                }
            }
        }
    }

    /// The sample id at position `pos` of the epoch order.
    #[inline]
    fn sample_at(&self, pos: u64) -> Option<u64> {
        let big = match &self.perm {
            Some(perm) => perm.get(usize::try_from(pos).ok()?)?,
            None => pos,
        };
        self.map.get(big)
    }

    /// The whole `(P, R, W, Q, B)` array row-major with `-1` padding.
    pub fn to_vec(&self) -> Vec<i64> {
        let [p, r, w, _, _] = self.shape();
        let mut out = Vec::new();
        for node in 0..p {
            for rank in 0..r {
                for worker in 0..w {
                    out.extend(
                        self.worker_padded(node, rank, worker)
                            .map(|x| x.and_then(|v| i64::try_from(v).ok()).unwrap_or(-1)),
                    );
                }
            }
        }
        out
    }
}

/// The sample ids worker `(node, rank, worker)` reads this epoch, in order, padding skipped:
/// [`EpochPlan::new`] then [`EpochPlan::worker_samples`] in one call.
pub fn worker_sample_ids(
    params: &EpochParams,
    node: u64,
    rank: u64,
    worker: u64,
) -> Result<Vec<u64>> {
    let plan = EpochPlan::new(params)?;
    let [nodes, ranks, workers, _, _] = plan.shape();
    if node >= nodes || rank >= ranks || worker >= workers {
        return Err(Error::InvalidParam {
            name: "worker",
            value: node.max(rank).max(worker),
            reason: "(node, rank, worker) lies outside the world",
        });
    }
    Ok(plan.worker_samples(node, rank, worker).collect())
}
