//! The crate's error type: every failure the reference raises as `ValueError`, with the
//! parameters that caused it.

/// What went wrong while planning an epoch.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `integers(low, high)` with `high <= low` (numpy: "low >= high").
    #[error("integers: empty range [{low}, {high})")]
    EmptyRange {
        /// Inclusive lower bound.
        low: i64,
        /// Exclusive upper bound.
        high: i64,
    },
    /// `choice(n, k, replace=False)` with `k > n`.
    #[error("choice: cannot take {size} samples without replacement from {population}")]
    ChoiceTooLarge {
        /// Population size.
        population: u64,
        /// Requested sample count.
        size: u64,
    },
    /// `uniform(low, high)` with a negative or non-finite range.
    #[error("uniform: invalid range [{low}, {high})")]
    UniformRange {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// A parameter is out of its domain (zero where the reference divides by it, and the like).
    #[error("invalid {name} = {value}: {reason}")]
    InvalidParam {
        /// Parameter name as the reference spells it.
        name: &'static str,
        /// The value given.
        value: u64,
        /// Why it is rejected.
        reason: &'static str,
    },
    /// py1br: `int(0.75 * block_size) == 0`, so the stagger draw has an empty range.
    #[error("shuffle_block_size = {block_size} is too small for {algo}")]
    BlockSizeTooSmall {
        /// Algorithm name.
        algo: &'static str,
        /// The block size given.
        block_size: u64,
    },
    /// py1e: a canonical node got no samples (fewer samples than canonical nodes).
    #[error(
        "canonical node {node} of {num_canonical_nodes} has no samples ({num_samples} samples in total)"
    )]
    EmptyCanonicalNode {
        /// Index of the empty canonical node.
        node: u64,
        /// Number of canonical nodes.
        num_canonical_nodes: u64,
        /// Samples in the epoch.
        num_samples: u64,
    },
    /// Neither of canonical and physical node counts divides the other.
    #[error(
        "num_canonical_nodes = {canonical} and num_physical_nodes = {physical}: one must divide the other"
    )]
    IndivisibleNodes {
        /// Canonical nodes.
        canonical: u64,
        /// Physical nodes.
        physical: u64,
    },
    /// `sample_in_epoch` lies beyond the (padded) epoch.
    #[error("sample_in_epoch = {drop_first} is beyond the epoch of {num_samples} samples")]
    ResumeBeyondEpoch {
        /// Samples already seen.
        drop_first: u64,
        /// Samples in the epoch.
        num_samples: u64,
    },
    /// Elastic resumption: the global batch does not split over the initial devices.
    #[error("global batch {global_batch} does not divide over {initial_devices} initial devices")]
    GlobalBatchIndivisible {
        /// `nodes * ranks_per_node * batch_size`.
        global_batch: u64,
        /// `initial_physical_nodes * ranks_per_node`.
        initial_devices: u64,
    },
    /// The orig partition's padding slice cannot broadcast (numpy's broadcast error).
    #[error("partition padding of {padding} cannot be filled from a slice of {source_len}")]
    PaddingBroadcast {
        /// Padding columns.
        padding: u64,
        /// Length of the source slice.
        source_len: u64,
    },
    /// The remaining samples do not reshape over the physical nodes.
    #[error("{remaining} remaining samples do not split over {physical} physical nodes")]
    Reshape {
        /// Samples left after dropping.
        remaining: u64,
        /// Physical nodes.
        physical: u64,
    },
    /// Stream weights mix relative (`proportion`) and absolute (`repeat`/`choose`) kinds.
    #[error("stream {stream}: relative and absolute stream weights are incompatible")]
    MixedWeights {
        /// First stream whose kind differs.
        stream: usize,
    },
    /// `epoch_size` given together with absolute stream weights.
    #[error("epoch_size = {epoch_size} is only allowed when weighting streams relatively")]
    EpochSizeWithAbsoluteWeights {
        /// The epoch size given.
        epoch_size: u64,
    },
    /// A stream or shard has no samples where sampling divides by its size.
    #[error("stream {stream} has no samples to choose from")]
    EmptyStream {
        /// Stream index.
        stream: usize,
    },
    /// An unknown algorithm name.
    #[error("unknown {kind} algorithm {name:?}")]
    UnknownAlgorithm {
        /// `shuffle`, `partition` or `sampling`.
        kind: &'static str,
        /// The name given.
        name: String,
    },
    /// A size parameter (or a total derived from parameters) exceeds what mds plans; see
    /// [`crate::MAX_SAMPLES`] and [`crate::MAX_CANONICAL_NODES`].
    #[error("{name} = {value} exceeds the supported maximum of {max}")]
    TooLarge {
        /// The parameter (or derived total) as the reference spells it.
        name: &'static str,
        /// The value given or derived.
        value: u64,
        /// The bound.
        max: u64,
    },
    /// The padded partition `(nodes, ranks_per_node, workers_per_rank, batches, batch_size)`
    /// holds more than [`crate::MAX_SAMPLES`] entries.
    #[error(
        "the partition of shape {shape:?} (nodes, ranks_per_node, workers_per_rank, batches, batch_size) holds more than {max} entries; lower those parameters"
    )]
    PartitionTooLarge {
        /// `[nodes, ranks_per_node, workers_per_rank, batches, batch_size]`.
        shape: [u64; 5],
        /// The bound on entries, padding included.
        max: u64,
    },
    /// The padded partition adds more than [`crate::MAX_PADDING`] `-1` entries to the epoch.
    #[error(
        "the partition of shape {shape:?} (nodes, ranks_per_node, workers_per_rank, batches, batch_size) pads an epoch of {num_samples} samples with {padding} empty entries, more than {max}; lower those parameters"
    )]
    PaddingTooLarge {
        /// `[nodes, ranks_per_node, workers_per_rank, batches, batch_size]`.
        shape: [u64; 5],
        /// Samples in the epoch.
        num_samples: u64,
        /// Entries of the partition beyond `num_samples`.
        padding: u64,
        /// The bound on padding.
        max: u64,
    },
    /// Memory for the permutation or sample map cannot be allocated.
    #[error("cannot allocate {what} of {count} entries")]
    OutOfMemory {
        /// What was being allocated.
        what: &'static str,
        /// Entries requested.
        count: u64,
    },
    /// A count overflows the platform's integer types.
    #[error("{what} overflows")]
    Overflow {
        /// What overflowed.
        what: &'static str,
    },
}

/// `Result` with this crate's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
