//! The one public error type of `mds-dataset`.

/// Everything that can go wrong while configuring, planning or streaming a dataset.
///
/// Variants name the parameter, stream, shard or sample involved; causes are in `source()`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A dataset parameter is out of range or inconsistent with another one.
    #[error("invalid parameter `{param}`: {reason}")]
    InvalidParameter {
        /// Parameter name as the reference spells it (`batch_size`, `cache_limit`, …).
        param: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A stream's parameters are invalid or disagree with the other streams.
    #[error("stream {stream}: {reason}")]
    InvalidStream {
        /// Index of the stream in the dataset's stream list.
        stream: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The world (rank, node, worker) description is inconsistent.
    #[error("invalid world: {reason}")]
    InvalidWorld {
        /// What is wrong with it.
        reason: String,
    },
    /// A stream's index.json could not be read.
    #[error("stream {stream}: cannot read index file {path}")]
    IndexRead {
        /// Index of the stream.
        stream: usize,
        /// Path or URL of the index file.
        path: String,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// A stream without a remote has no index.json in its local directory (the reference
    /// raises `RuntimeError` for this; a missing *remote* index is [`Error::Fetch`]).
    #[error("stream {stream}: no remote given and no index file at {path}")]
    NoLocalIndex {
        /// Index of the stream.
        stream: usize,
        /// Where the index file was looked for.
        path: String,
    },
    /// A stream's index.json is empty or not JSON (the reference raises
    /// `json.JSONDecodeError`).
    #[error("stream {stream}: index file at {path} is empty or corrupted")]
    IndexJson {
        /// Index of the stream.
        stream: usize,
        /// Path of the index file.
        path: String,
        /// The parser's error (line and column).
        #[source]
        source: serde_json::Error,
    },
    /// A local directory already holds another remote's shards (in this dataset, or in a live
    /// dataset of any process on the node). Same remote, same directory is fine.
    #[error("{reason} (stream {stream})")]
    ReusedLocal {
        /// Index of the stream.
        stream: usize,
        /// What reuses it; starts with the reference's words, "Reused local directory".
        reason: String,
    },
    /// Iterating without `batch_size` (the reference's words).
    #[error(
        "Please pass `batch_size` to StreamingDataset. It should be set the same as the DataLoader, and is the number of samples per batch, for each device. It is necessary for deterministic resumption and optimal performance."
    )]
    MissingBatchSize,
    /// A column of an unsafe encoding (pickle) without `allow_unsafe_types`.
    #[error(
        "Column {column} contains an unsafe type: {encoding}. To proceed anyway, set ``allow_unsafe_types=True``. (stream {stream}, shard {shard})"
    )]
    UnsafeColumn {
        /// Index of the stream.
        stream: usize,
        /// The shard's basename.
        shard: String,
        /// The column's name.
        column: String,
        /// Its encoding.
        encoding: String,
    },
    /// A stream holds no samples at all.
    #[error("Stream contains no samples: {path} (stream {stream})")]
    EmptyStream {
        /// Index of the stream.
        stream: usize,
        /// Path or URL of its index file.
        path: String,
    },
    /// The cache limit cannot even hold the index files.
    #[error(
        "Minimum cache usage ({min_bytes} bytes) is larger than the cache limit ({limit_bytes} bytes). Please raise `cache_limit`. (The minimum is the size of every stream's index.json.)"
    )]
    CacheLimitBelowIndex {
        /// Bytes of all index.json files.
        min_bytes: u64,
        /// The configured limit.
        limit_bytes: u64,
    },
    /// The cache limit is below four times the largest shard (the reference's rule).
    #[error(
        "Cache limit ({limit_bytes} bytes) is too low. Increase the `cache_limit` to at-least four times the largest shard size ({shard_bytes} bytes) which includes raw (decompressed) and zip (compressed) file size."
    )]
    CacheLimitTooLow {
        /// The configured limit.
        limit_bytes: u64,
        /// Raw plus compressed bytes of the largest shard.
        shard_bytes: u64,
    },
    /// Random access outside `-size..size`.
    #[error("invalid sample index {index}: 0 <= index < {size}")]
    SampleOutOfRange {
        /// The requested index as given.
        index: i64,
        /// Number of underlying samples.
        size: u64,
    },
    /// Decompressing a shard failed.
    #[error("shard {shard} (stream {stream}): cannot decompress {compression}")]
    Decompress {
        /// Index of the stream.
        stream: usize,
        /// Shard basename.
        shard: String,
        /// The index's compression spec (`zstd`, `zstd:7`, …).
        compression: String,
        /// The codec failure.
        #[source]
        source: std::io::Error,
    },
    /// A shard's bytes disagree with its layout or with index.json.
    #[error("shard {shard}{}: {reason}", sample.map(|s| format!(", sample {s}")).unwrap_or_default())]
    CorruptShard {
        /// Shard basename.
        shard: String,
        /// Index of the sample within the shard, when one is involved.
        sample: Option<u64>,
        /// What is wrong.
        reason: String,
    },
    /// A column value failed to decode.
    #[error("shard {shard}, sample {sample}, column {column}")]
    Decode {
        /// Shard basename.
        shard: String,
        /// Index of the sample within the shard.
        sample: u64,
        /// Column name.
        column: String,
        /// The decoding failure.
        #[source]
        source: mds_format::encoding::EncodingError,
    },
    /// Fetching a file from the remote failed.
    #[error("stream {stream}: cannot fetch {key}")]
    Fetch {
        /// Index of the stream.
        stream: usize,
        /// Object key relative to the stream's remote.
        key: String,
        /// The fetch failure.
        #[source]
        source: Box<mds_fetch::Error>,
    },
    /// The shard cache failed.
    #[error("stream {stream}: cache error for {shard}")]
    Cache {
        /// Index of the stream.
        stream: usize,
        /// Shard basename.
        shard: String,
        /// The cache failure.
        #[source]
        source: Box<mds_cache::Error>,
    },
    /// Local file system work failed (creating directories, copying).
    #[error("{path}")]
    Io {
        /// The path involved.
        path: String,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// Planning an epoch (resampling, shuffle, partition) failed.
    #[error("epoch {epoch}: cannot plan the sample order")]
    Plan {
        /// The epoch being planned.
        epoch: u64,
        /// The planning failure.
        #[source]
        source: mds_shuffle::Error,
    },
    /// A batching method cannot build the epoch with these settings.
    #[error("{reason} (batching method {method})")]
    Batching {
        /// `stratified`, `per_stream` or `device_per_stream`.
        method: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A resumption state is malformed or does not fit this dataset.
    #[error("invalid resume state: {reason}")]
    InvalidState {
        /// What is wrong with it.
        reason: String,
    },
    /// A synchronous entry point needs a tokio runtime handle and none was given.
    #[error("no tokio runtime: pass one with `with_runtime(handle)` to use the synchronous API")]
    NoRuntime,
    /// Preparing a shard in the background failed (shared by every run of that shard).
    #[error(transparent)]
    Prepare(std::sync::Arc<Error>),
    /// A background prefetch task ended without reporting why (it panicked or was cancelled).
    #[error("prefetch task stopped unexpectedly")]
    PrefetchStopped,
}

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn param(param: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidParameter {
            param,
            reason: reason.into(),
        }
    }

    /// True when the error comes from the configuration (parameters, streams, world, state),
    /// not from data or I/O: the Python package maps these to `ValueError`.
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            Self::InvalidParameter { .. }
                | Self::InvalidStream { .. }
                | Self::UnsafeColumn { .. }
                | Self::MissingBatchSize
                | Self::ReusedLocal { .. }
                | Self::InvalidWorld { .. }
                | Self::CacheLimitBelowIndex { .. }
                | Self::CacheLimitTooLow { .. }
                | Self::InvalidState { .. }
                | Self::Batching { .. }
        )
    }
}
