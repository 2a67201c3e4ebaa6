//! numpy-exact PCG64 and the shuffle and partition algorithms of mosaicml-streaming, as pure
//! functions.
//!
//! The crate reproduces, sample for sample, the order in which the Python `streaming` library
//! (0.13, numpy 2.1.3) reads an epoch:
//!
//! * [`rng`]: numpy's `SeedSequence`, `PCG64` and the `Generator` methods the library uses;
//! * [`shuffle()`]: the shuffle algorithms `naive`, `py1b`, `py1br`, `py1e`, `py1s`, `py2s`
//!   (plus native ones under their own names);
//! * [`Partition`]: the `orig` and `relaxed` partitions over nodes, ranks, workers and batches;
//! * [`sampling`]: stream weights (`proportion`, `repeat`, `choose`) and per-epoch resampling;
//! * [`EpochPlan`]: all of the above composed as the library's dataset does, giving each
//!   worker's sample ids.
//!
//! No I/O, no clock, no global RNG: every output depends only on the arguments.
//!
//! ```
//! use mds_shuffle::{EpochParams, EpochPlan, ShuffleAlgo};
//! # fn main() -> Result<(), mds_shuffle::Error> {
//! let plan = EpochPlan::new(&EpochParams {
//!     samples_per_shard: vec![10, 20, 30],
//!     shuffle: true,
//!     shuffle_algo: ShuffleAlgo::Py1e,
//!     ..EpochParams::default()
//! })?;
//! let ids: Vec<u64> = plan.worker_samples(0, 0, 0).collect();
//! assert_eq!(ids.len(), 60);
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]

mod error;
mod partition;
mod plan;
pub mod rng;
pub mod sampling;
mod shuffle;

pub use error::{Error, Result};

/// Largest epoch mds plans, in samples, and largest padded partition, in entries
/// (`nodes * ranks_per_node * workers_per_rank * batches * batch_size`): 2^40 (about 1.1e12).
/// A shuffled epoch holds its permutation in memory (4 or 8 bytes a sample) and the reference
/// materializes the partition as int64 (8 TiB at this size), so larger values are input
/// errors ([`Error::TooLarge`], [`Error::PartitionTooLarge`]), not plans.
pub const MAX_SAMPLES: u64 = 1 << 40;

/// Largest `num_canonical_nodes` mds plans: 2^32. Shuffles and partitions do work per
/// canonical node, so more would run for hours before failing ([`Error::TooLarge`]).
pub const MAX_CANONICAL_NODES: u64 = 1 << 32;

/// Most padding entries (`-1`) a partition may add to its epoch: 2^32. The padding grows with
/// `nodes * ranks_per_node * workers_per_rank * batch_size`, not with the dataset, so a bigger
/// figure comes from a mistyped shape, and its plan would be mostly padding
/// ([`Error::PaddingTooLarge`]).
pub const MAX_PADDING: u64 = 1 << 32;
pub use partition::{Partition, PartitionAlgo, PartitionParams, WorkerIter};
pub use plan::{EpochParams, EpochPlan, worker_sample_ids};
pub use sampling::{SampleMap, SamplingMethod, StreamWeight};
pub use shuffle::{Permutation, ShuffleAlgo, ShuffleParams, default_shuffle_block_size, shuffle};
