//! The crate's one public error type.

use std::path::PathBuf;
use std::time::Duration;

/// A boxed error from a backend (object_store, an I/O layer, a custom [`crate::Fetcher`]).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong while resolving a URL, fetching, validating, decompressing or
/// uploading. Every variant names the URL (remote object) or path (local file) it is about.
///
/// Classify with [`Error::is_not_found`] and [`Error::is_retryable`]; the download helpers retry
/// only errors for which `is_retryable()` is true.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL's scheme is known but mds cannot read it (dbfs, sftp, alipan, ...).
    #[error("{url}: unsupported scheme `{scheme}`{hint}")]
    UnsupportedScheme {
        /// The URL as given.
        url: String,
        /// Its scheme, without `://`.
        scheme: String,
        /// Extra advice, empty or starting with `; `.
        hint: String,
    },
    /// The scheme is supported, but this build of mds-fetch lacks the cargo feature for it.
    #[error(
        "{url}: this build has no `{feature}` support (enable the mds-fetch feature `{feature}`)"
    )]
    FeatureDisabled {
        /// The URL as given.
        url: String,
        /// The cargo feature that would enable it.
        feature: &'static str,
    },
    /// The URL (or a key under it) cannot be parsed.
    #[error("{url}: invalid URL or key: {reason}")]
    InvalidUrl {
        /// The URL or key.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The backend could not be configured (missing credentials, bad option, ...).
    #[error("{url}: cannot configure the storage backend")]
    Config {
        /// The URL being configured.
        url: String,
        /// The backend's error.
        #[source]
        source: BoxError,
    },
    /// The object does not exist.
    #[error("{url}: object not found")]
    NotFound {
        /// The object's URL.
        url: String,
        /// The backend's error.
        #[source]
        source: BoxError,
    },
    /// A request to the storage backend failed.
    #[error("{url}: request failed{}", if *retryable { " (transient)" } else { "" })]
    Request {
        /// The object's URL.
        url: String,
        /// Whether a retry may succeed (5xx, connection reset, broken body, ...).
        retryable: bool,
        /// The backend's error.
        #[source]
        source: BoxError,
    },
    /// One request took longer than the configured timeout (`download_timeout`).
    #[error("{url}: request timed out after {after:?}")]
    Timeout {
        /// The object's URL.
        url: String,
        /// The timeout that elapsed.
        after: Duration,
    },
    /// The server returned fewer (or more) bytes than asked for.
    #[error("{url}: expected {expected} bytes for range {start}.., got {actual}")]
    Truncated {
        /// The object's URL.
        url: String,
        /// First byte of the requested range.
        start: u64,
        /// Bytes requested.
        expected: u64,
        /// Bytes received.
        actual: u64,
    },
    /// The object's size differs from the size the caller expected (from index.json).
    #[error("{url}: object has {actual} bytes, index says {expected}")]
    SizeMismatch {
        /// The object's URL.
        url: String,
        /// Size the caller expected.
        expected: u64,
        /// Size the server reports.
        actual: u64,
    },
    /// A transient fault persisted through every attempt.
    #[error("{url}: giving up after {attempts} attempts")]
    RetriesExhausted {
        /// The object's URL.
        url: String,
        /// Attempts made (1 + retries).
        attempts: u32,
        /// The last attempt's error.
        #[source]
        source: Box<Error>,
    },
    /// The backend does not implement an operation (for example `put` on a read-only fetcher).
    #[error("{url}: {operation} is not supported by this backend")]
    Unsupported {
        /// The object's URL.
        url: String,
        /// The operation, e.g. `"put"`.
        operation: &'static str,
    },
    /// Reading or writing a local file failed.
    #[error("{path}: I/O error", path = path.display())]
    Io {
        /// The local file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The hash algorithm is not one mds knows (see [`mds_format::hash::HashAlgorithm::ALL`]).
    #[error("unknown hash algorithm `{algorithm}`")]
    UnknownHash {
        /// The name given.
        algorithm: String,
    },
    /// The downloaded bytes do not hash to the value recorded in index.json.
    #[error("{url}: checksum failure ({algorithm}: expected {expected}, got {actual})")]
    HashMismatch {
        /// The object's URL.
        url: String,
        /// Hash algorithm used.
        algorithm: String,
        /// Digest recorded in index.json (lowercase hex).
        expected: String,
        /// Digest of the downloaded bytes (lowercase hex).
        actual: String,
    },
    /// The compression name is not one the reference writes (`br`, `bz2`, `gz`, `snappy`, `zstd`).
    #[error("unknown compression `{compression}`")]
    UnknownCompression {
        /// The name given (family, optionally `:level`).
        compression: String,
    },
    /// Decompressing a downloaded shard failed (corrupt or not in the declared format).
    #[error("{path}: cannot decompress as {compression}", path = path.display())]
    Decompress {
        /// The compressed file.
        path: PathBuf,
        /// The compression family.
        compression: String,
        /// The codec's error.
        #[source]
        source: std::io::Error,
    },
    /// A background task panicked or was cancelled.
    #[error("{url}: background task failed")]
    Task {
        /// The object or file the task worked on.
        url: String,
        /// The join error.
        #[source]
        source: BoxError,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether the object (or local file) does not exist.
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::NotFound { .. } => true,
            Error::Io { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
            Error::RetriesExhausted { source, .. } => source.is_not_found(),
            _ => false,
        }
    }

    /// Whether retrying the same request may succeed: transient server errors, dropped
    /// connections, truncated bodies and timeouts.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Request { retryable, .. } => *retryable,
            Error::Timeout { .. } | Error::Truncated { .. } => true,
            _ => false,
        }
    }

    /// Wraps an error from a custom backend. `retryable` says whether a retry may succeed.
    pub fn request(url: impl Into<String>, retryable: bool, source: impl Into<BoxError>) -> Self {
        Error::Request {
            url: url.into(),
            retryable,
            source: source.into(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Classifies an object_store error, naming `url`.
pub(crate) fn from_store(url: String, err: object_store::Error) -> Error {
    use object_store::Error as E;
    match err {
        E::NotFound { .. } => Error::NotFound {
            url,
            source: Box::new(err),
        },
        E::Generic { .. } => Error::Request {
            url,
            retryable: generic_is_retryable(&err),
            source: Box::new(err),
        },
        // permission, authentication, preconditions, bad paths, configuration
        _ => Error::Request {
            url,
            retryable: false,
            source: Box::new(err),
        },
    }
}

/// object_store reports HTTP statuses other than 401/403/404/409/412/304, transport failures
/// and broken bodies as `Generic`. A transport error is visible as an `HttpError` in the source
/// chain; the rest are mostly 5xx / 429. Both are retried (at most `retries` times).
fn generic_is_retryable(err: &object_store::Error) -> bool {
    #[cfg(any(feature = "s3", feature = "gcs", feature = "azure", feature = "http"))]
    {
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(e) = cur {
            if let Some(h) = e.downcast_ref::<object_store::client::HttpError>() {
                use object_store::client::HttpErrorKind as K;
                return matches!(
                    h.kind(),
                    K::Connect | K::Request | K::Timeout | K::Interrupted | K::Decode | K::Unknown
                );
            }
            cur = e.source();
        }
    }
    let _ = err;
    true
}
