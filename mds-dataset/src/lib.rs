//! StreamingDataset: stream MDS datasets from object storage with prefetch, caching and
//! elastic resumption, in the sample order of mosaicml-streaming.
//!
//! [`StreamingDataset`] mixes one or more [`Stream`]s, plans each epoch exactly as the Python
//! library does (stream weighting, resampling, shuffle, partition over nodes, ranks and
//! workers, batching methods), and yields samples through a prefetching [`SampleIter`]
//! (blocking) or [`SampleStream`] (async). Checkpoints ([`ResumeState`]) use the Python
//! library's `state_dict` keys, so runs can move between the two libraries.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let rt = tokio::runtime::Runtime::new()?;
//! let ds = mds_dataset::StreamingDataset::builder()
//!     .with_local(std::path::Path::new("/data/train"))
//!     .with_shuffle(true)
//!     .with_batch_size(32)
//!     .with_runtime(rt.handle().clone())
//!     .build()?;
//! for sample in ds.iter()? {
//!     let sample = sample?;
//!     let _tokens = sample.get("tokens");
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Features `s3`, `gcs`, `azure` and `http` enable those remotes (forwarded to `mds-fetch`);
//! local paths and `file://` always work.
//!
//! Differences from the reference, on purpose: `download_retry = 0` means one attempt (the
//! reference fails every download); a local remote is read in place without copying and
//! compressed shards in a read-only directory are decompressed in memory.
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]

pub use mds_cache as cache;
pub use mds_fetch as fetch;
pub use mds_format as format;
pub use mds_shuffle as shuffle;

mod config;
mod dataset;
mod error;
mod order;
mod params;
mod plan;
mod prefetch;
mod resume;
mod shards;
mod world;

pub use config::{Stream, Weight};
pub use dataset::{EpochPlan, ShardInfo, StreamingDataset, StreamingDatasetBuilder};
pub use error::{Error, Result};
pub use params::{
    BatchingMethod, PartitionAlgo, SamplingMethod, ShuffleAlgo, parse_bytes, parse_count,
};
pub use prefetch::{SampleIter, SampleStream};
pub use resume::ResumeState;
pub use shards::Sample;
pub use world::World;
