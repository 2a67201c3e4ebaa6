//! `Stream` (one data source) and the dataset's configuration (reference §10).

use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::params::{BatchingMethod, PartitionAlgo, SamplingMethod, ShuffleAlgo};
use crate::world::World;

/// How much of a stream goes into each epoch (at most one per stream, reference §11.2).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Weight {
    /// Relative weight (≥ 0) against the other streams' proportions.
    Proportion(f64),
    /// Multiplier (≥ 0) on the stream's sample count.
    Repeat(f64),
    /// Absolute samples per epoch.
    Choose(u64),
}

/// One source of samples: a remote MDS dataset, its local cache directory and its weight.
///
/// Unset fields take the dataset's defaults (`split`, `download_retry`, `download_timeout`,
/// `validate_hash`, `keep_zip`). Validation happens in [`crate::StreamingDatasetBuilder::build`],
/// whose errors name the stream's index.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stream {
    pub(crate) remote: Option<String>,
    pub(crate) local: Option<PathBuf>,
    pub(crate) split: Option<String>,
    pub(crate) proportion: Option<f64>,
    pub(crate) repeat: Option<f64>,
    pub(crate) choose: Option<u64>,
    pub(crate) download_retry: Option<u32>,
    pub(crate) download_timeout: Option<Duration>,
    pub(crate) validate_hash: Option<String>,
    pub(crate) keep_zip: Option<bool>,
}

impl Stream {
    /// A stream with nothing set.
    pub fn new() -> Self {
        Self::default()
    }
    /// Remote root: a URL (`s3://…`, `gs://…`, `file://…`, …) or a local path.
    #[must_use]
    pub fn with_remote(mut self, remote: &str) -> Self {
        self.remote = Some(remote.to_owned());
        self
    }
    /// Local cache root (when the remote is a local path equal to this, nothing is copied).
    #[must_use]
    pub fn with_local(mut self, local: &Path) -> Self {
        self.local = Some(local.to_owned());
        self
    }
    /// Sub-directory under both remote and local.
    #[must_use]
    pub fn with_split(mut self, split: &str) -> Self {
        self.split = Some(split.to_owned());
        self
    }
    /// Relative weight.
    #[must_use]
    pub fn with_proportion(mut self, proportion: f64) -> Self {
        self.proportion = Some(proportion);
        self
    }
    /// Multiplier on the stream's size.
    #[must_use]
    pub fn with_repeat(mut self, repeat: f64) -> Self {
        self.repeat = Some(repeat);
        self
    }
    /// Absolute samples per epoch.
    #[must_use]
    pub fn with_choose(mut self, choose: u64) -> Self {
        self.choose = Some(choose);
        self
    }
    /// Total download attempts per file (the reference's meaning; 0 is taken as 1).
    #[must_use]
    pub fn with_download_retry(mut self, attempts: u32) -> Self {
        self.download_retry = Some(attempts);
        self
    }
    /// Per-download time limit.
    #[must_use]
    pub fn with_download_timeout(mut self, timeout: Duration) -> Self {
        self.download_timeout = Some(timeout);
        self
    }
    /// Hash algorithm to validate downloaded shards with (an index.json hash name).
    #[must_use]
    pub fn with_validate_hash(mut self, algo: &str) -> Self {
        self.validate_hash = Some(algo.to_owned());
        self
    }
    /// Keep compressed shards after decompressing them.
    #[must_use]
    pub fn with_keep_zip(mut self, keep: bool) -> Self {
        self.keep_zip = Some(keep);
        self
    }

    /// The configured weight, if any.
    pub fn weight(&self) -> Option<Weight> {
        self.proportion
            .map(Weight::Proportion)
            .or(self.repeat.map(Weight::Repeat))
            .or(self.choose.map(Weight::Choose))
    }
    /// Remote root, if any.
    pub fn remote(&self) -> Option<&str> {
        self.remote.as_deref()
    }
    /// Local root, if any.
    pub fn local(&self) -> Option<&Path> {
        self.local.as_deref()
    }
    /// Split, if any.
    pub fn split(&self) -> Option<&str> {
        self.split.as_deref()
    }

    pub(crate) fn validate(&self, i: usize) -> Result<()> {
        let bad = |reason: &str| {
            Err(Error::InvalidStream {
                stream: i,
                reason: reason.to_owned(),
            })
        };
        let n = usize::from(self.proportion.is_some())
            + usize::from(self.repeat.is_some())
            + usize::from(self.choose.is_some());
        if n > 1 {
            return bad(
                "at most one of `proportion`, `repeat`, and `choose` may be specified; the others are derived",
            );
        }
        if self
            .proportion
            .is_some_and(|p| !(p >= 0.0 && p.is_finite()))
        {
            return bad("`proportion` must be non-negative");
        }
        if self.repeat.is_some_and(|r| !(r >= 0.0 && r.is_finite())) {
            return bad("`repeat` must be non-negative");
        }
        if self.download_timeout.is_some_and(|t| t.is_zero()) {
            return bad("`download_timeout` must be positive");
        }
        if self.remote.is_none() && self.local.is_none() {
            return bad("`remote` and/or `local` path must be provided");
        }
        Ok(())
    }
}

/// Every parameter of the reference's `StreamingDataset`, resolved defaults included.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) streams: Vec<Stream>,
    pub(crate) download_retry: u32,
    pub(crate) download_timeout: Duration,
    pub(crate) validate_hash: Option<String>,
    pub(crate) keep_zip: bool,
    pub(crate) epoch_size: Option<u64>,
    pub(crate) predownload: Option<u64>,
    pub(crate) cache_limit_bytes: Option<u64>,
    pub(crate) sampling_method: SamplingMethod,
    pub(crate) sampling_granularity: NonZeroU64,
    pub(crate) partition_algo: PartitionAlgo,
    pub(crate) num_canonical_nodes: Option<u32>,
    pub(crate) batch_size: Option<u32>,
    pub(crate) shuffle: bool,
    pub(crate) shuffle_algo: ShuffleAlgo,
    pub(crate) shuffle_seed: u64,
    pub(crate) shuffle_block_size: Option<u64>,
    pub(crate) batching_method: BatchingMethod,
    pub(crate) allow_unsafe_types: bool,
    pub(crate) replication: Option<u32>,
    pub(crate) world: Option<World>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            streams: Vec::new(),
            download_retry: 2,
            download_timeout: Duration::from_secs(60),
            validate_hash: None,
            keep_zip: false,
            epoch_size: None,
            predownload: None,
            cache_limit_bytes: None,
            sampling_method: SamplingMethod::Balanced,
            sampling_granularity: NonZeroU64::MIN,
            partition_algo: PartitionAlgo::Relaxed,
            num_canonical_nodes: None,
            batch_size: None,
            shuffle: false,
            shuffle_algo: ShuffleAlgo::Py1e,
            shuffle_seed: 9176,
            shuffle_block_size: None,
            batching_method: BatchingMethod::Random,
            allow_unsafe_types: false,
            replication: None,
            world: None,
        }
    }
}

impl Config {
    /// `predownload` default: `8 * batch_size` if a batch size is set, else 64.
    pub(crate) fn predownload(&self) -> u64 {
        self.predownload
            .unwrap_or_else(|| self.batch_size.map_or(64, |b| 8 * u64::from(b)))
    }
}
