//! The crate's one public error type.

use std::path::PathBuf;
use std::time::Duration;

/// A boxed error returned by a fill callback (for example an `mds_fetch::Error`); callers can
/// `downcast_ref` it back to their own type.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in `mds-cache`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A size string that `parse_bytes` does not accept.
    #[error(
        "unsupported byte size {value:?}: {reason} (suffixes: b, kb, mb, gb, tb, pb, eb, zb, yb)"
    )]
    ParseBytes {
        /// The text as given.
        value: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// `limit_bytes` cannot hold the largest shard, so the cache could never make progress.
    #[error(
        "cache_limit ({limit_bytes} bytes) is smaller than the largest shard ({max_shard_bytes} bytes)"
    )]
    LimitTooSmall {
        /// The configured limit.
        limit_bytes: u64,
        /// The largest shard the caller declared.
        max_shard_bytes: u64,
    },

    /// A shard larger than the whole cache was requested.
    #[error("shard {shard}: {size_bytes} bytes do not fit in cache_limit ({limit_bytes} bytes)")]
    ShardTooLarge {
        /// Shard name (path relative to the cache directory).
        shard: String,
        /// Its declared size.
        size_bytes: u64,
        /// The configured limit.
        limit_bytes: u64,
    },

    /// The cache directory is in use for another source (see [`Claim`](crate::Claim)). The
    /// message starts with the reference's words for this.
    #[error(
        "Reused local directory: {dir} holds {other}, which a live dataset is reading, and cannot also hold {wanted}. Provide a different one."
    )]
    Claimed {
        /// The cache directory.
        dir: PathBuf,
        /// The source that asked for it.
        wanted: String,
        /// The source it is claimed for.
        other: String,
    },

    /// A shard name that is not a plain relative path inside the cache directory.
    #[error("invalid shard name {shard:?}: {reason}")]
    InvalidName {
        /// The name as given.
        shard: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// A file-system operation failed.
    #[error("cannot {op} {path}")]
    Io {
        /// What was being done (`open`, `lock`, `rename`, …).
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The fill callback returned an error; nothing was cached and its temporary file is gone.
    #[error("shard {shard}: fill failed")]
    Fill {
        /// Shard name.
        shard: String,
        /// The callback's error.
        #[source]
        source: BoxError,
    },

    /// The fill callback succeeded but left a file of the wrong size; it was discarded.
    #[error("shard {shard}: fill wrote {actual_bytes} bytes, expected {expected_bytes}")]
    FillSize {
        /// Shard name.
        shard: String,
        /// The size the caller declared.
        expected_bytes: u64,
        /// The size of the file the callback left (0 if it left none).
        actual_bytes: u64,
    },

    /// A file with the shard's name is cached with another size and is in use, so it cannot be
    /// replaced now (two datasets or two versions of one dataset in one cache directory).
    #[error(
        "shard {shard}: cached file has {found_bytes} bytes, expected {expected_bytes}, and it is in use"
    )]
    SizeMismatch {
        /// Shard name.
        shard: String,
        /// The size the caller declared.
        expected_bytes: u64,
        /// The size of the cached file.
        found_bytes: u64,
    },

    /// No room could be made: every cached shard is pinned (or being filled), the cache is
    /// already at or over its limit, and no pin was released within `space_wait_timeout`.
    #[error(
        "shard {shard}: cache full: {used_bytes} of {limit_bytes} bytes in use, {pinned_shards} pinned shard(s) \
         and {filling_shards} fill(s) in progress; nothing released within {waited:?} \
         (release pins or raise cache_limit)"
    )]
    CacheFull {
        /// The shard that needed room.
        shard: String,
        /// Its size.
        needed_bytes: u64,
        /// Bytes cached or reserved by fills in progress.
        used_bytes: u64,
        /// The configured limit.
        limit_bytes: u64,
        /// Cached shards that could not be evicted because a process pins them.
        pinned_shards: usize,
        /// Fills in progress in this cache directory.
        filling_shards: usize,
        /// How long this call waited for space before giving up.
        waited: Duration,
    },
}

impl Error {
    /// True for [`Error::CacheFull`]: retrying after releasing pins can succeed.
    pub fn is_cache_full(&self) -> bool {
        matches!(self, Error::CacheFull { .. })
    }

    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { op, path, source }
    }
}

/// `Result` with this crate's [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
