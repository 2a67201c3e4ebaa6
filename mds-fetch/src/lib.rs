//! Fetch MDS shards from S3, GCS, Azure, HTTP and local disk, on the `object_store` crate.
//!
//! * [`Fetcher`]: the trait every backend implements (ranged GET, size, whole GET, put, list),
//!   keys relative to a dataset root. Other crates can implement it for new backends.
//! * [`FetcherBuilder`] / [`from_url`]: the fetcher for a URL (`s3://`, `gs://`, `azure://`,
//!   `az://`, `abfs://`, `http(s)://`, `hf://`, `file://`, plain paths, `memory://`).
//! * [`download`]: an object into a (temporary) local file, as concurrent ranged GETs for large
//!   objects, with retries, exponential backoff and jitter ([`RetryPolicy`]), a per-request
//!   timeout, optional hash validation while streaming, fsync.
//!   [`download_decompress`] also decompresses a shard (`zstd`, `gz`, `bz2`, `br`, `snappy`);
//!   [`fetch_bytes`] reads a small object into memory; [`upload`] PUTs files with a
//!   concurrency limit.
//!
//! ```no_run
//! # async fn demo() -> Result<(), mds_fetch::Error> {
//! use mds_fetch::{DownloadOptions, Expected, RetryPolicy};
//!
//! let remote = mds_fetch::from_url("s3://my-bucket/datasets/train")?;
//! let opts = DownloadOptions {
//!     retry: RetryPolicy::from_reference(2, 60.0), // download_retry, download_timeout
//!     ..DownloadOptions::default()
//! };
//! let index = mds_fetch::fetch_bytes(remote.as_ref(), "index.json", &opts.retry).await?;
//! let expected = Expected { size_bytes: Some(67_108_000), hash: Some(("xxh64", "0123456789abcdef")) };
//! let tmp = std::path::Path::new("/nvme/cache/shard.00000.mds.tmp-1234");
//! mds_fetch::download(remote.as_ref(), "shard.00000.mds", tmp, &expected, &opts).await?;
//! # let _ = index;
//! # Ok(()) }
//! # fn main() { let _ = demo(); }
//! ```
//!
//! Errors name the object's URL; [`Error::is_not_found`] and [`Error::is_retryable`] classify
//! them. Only retryable errors are retried; a fault that persists through every attempt gives
//! [`Error::RetriesExhausted`].
//!
//! Differences from the Python library (spec §9): `download_retry` counts re-tries, so 0 means
//! one attempt instead of failing every download; `download_timeout` bounds every request on
//! every backend (the reference applies it to S3 only); `file://`, `http(s)://`, `az://` and
//! `abfs://` are accepted.
//!
//! # Features
//!
//! * `local` (default): local paths and `file://`.
//! * `s3`: `s3://` and S3-compatible servers (and `oci://` via its S3 endpoint).
//! * `gcs`: `gs://` (implies `s3` for HMAC keys).
//! * `azure`: `azure://`, `az://`, `abfs[s]://`, `azure-dl://`.
//! * `http`: `http(s)://` and `hf://`.
//! * `testing`: [`testing::FlakyFetcher`], a fault-injecting wrapper for tests.
#![warn(missing_docs)]
#![warn(clippy::future_not_send)]
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod builder;
pub mod compression;
mod download;
mod error;
mod fetcher;
pub mod hash;
mod retry;
#[cfg(feature = "testing")]
pub mod testing;

pub use builder::{FetcherBuilder, from_url};
pub use download::{
    Decompress, DownloadOptions, Expected, download, download_decompress, fetch_bytes, upload,
};
pub use error::{BoxError, Error, Result};
pub use fetcher::{ByteStream, Fetcher, LimitFetcher, ObjectStoreFetcher};
pub use retry::RetryPolicy;
