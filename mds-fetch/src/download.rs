//! Downloads to local files (ranged, concurrent, retried, hash-checked), decompression of
//! shards, and uploads with a concurrency limit.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};

use crate::compression;
use crate::error::{Error, Result};
use crate::fetcher::Fetcher;
use crate::hash::Hasher;
use crate::retry::RetryPolicy;

/// How downloads and uploads are carried out. Plain data; `Default` suits shards of tens of MiB.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DownloadOptions {
    /// Objects larger than this are fetched as concurrent ranged GETs of this many bytes;
    /// smaller ones with one GET. Default 64 MiB, the reference's default shard `size_limit`,
    /// so ordinary shards take one GET (many shards are fetched at once anyway, and some
    /// servers, moto among them, serve many small ranges much slower than whole objects).
    pub part_size_bytes: u64,
    /// Ranged GETs of one object in flight at a time. Default 4.
    pub parts_in_flight: usize,
    /// Retries and per-request timeout, applied to every request (each part separately).
    pub retry: RetryPolicy,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        Self {
            part_size_bytes: 64 << 20,
            parts_in_flight: 4,
            retry: RetryPolicy::default(),
        }
    }
}

/// What the caller knows about an object from index.json; every field optional.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Expected<'a> {
    /// Size in bytes. When given, no HEAD request is made and a different size is an error.
    pub size_bytes: Option<u64>,
    /// `(algorithm, lowercase hex digest)` to validate the bytes against, e.g.
    /// `("xxh64", "44bc2cf5ad770999")`. The hash is computed while the bytes stream in.
    pub hash: Option<(&'a str, &'a str)>,
}

/// Downloads object `key` into the file `dest` (created or truncated; normally a unique
/// temporary name chosen by the cache, which renames it into place afterwards), fsyncs it and
/// returns its size in bytes.
///
/// Objects larger than [`DownloadOptions::part_size_bytes`] are fetched as concurrent ranged
/// GETs and written in order. Every request is retried on transient faults as
/// [`DownloadOptions::retry`] says; a fault that persists gives [`Error::RetriesExhausted`]
/// naming the object. With `expected.hash`, a mismatch gives [`Error::HashMismatch`]. On error
/// `dest` may hold partial data: the caller deletes it.
pub async fn download(
    fetcher: &dyn Fetcher,
    key: &str,
    dest: &Path,
    expected: &Expected<'_>,
    opts: &DownloadOptions,
) -> Result<u64> {
    let url = || fetcher.url(key);
    let hasher = match expected.hash {
        Some((algo, _)) => Some(Hasher::new(algo)?),
        None => None,
    };
    let part = opts.part_size_bytes.max(1);
    let file = std::fs::File::create(dest).map_err(|e| Error::io(dest, e))?;
    let mut sink = Sink {
        state: Some((file, hasher)),
        pending: None,
        dest: dest.to_path_buf(),
    };
    let size = match expected.size_bytes {
        Some(s) if s <= part => {
            // small object of known size: one whole GET, no HEAD
            let data = opts.retry.run(&url, || fetcher.get(key)).await?;
            if data.len() as u64 != s {
                return Err(Error::SizeMismatch {
                    url: url(),
                    expected: s,
                    actual: data.len() as u64,
                });
            }
            sink.push(data, &url).await?;
            s
        }
        _ => {
            let size = opts.retry.run(&url, || fetcher.size(key)).await?;
            if let Some(s) = expected.size_bytes
                && s != size
            {
                return Err(Error::SizeMismatch {
                    url: url(),
                    expected: s,
                    actual: size,
                });
            }
            let ranges = (0..size.div_ceil(part)).map(|i| i * part..((i + 1) * part).min(size));
            let mut parts = futures::stream::iter(ranges)
                .map(|r| get_part(fetcher, key, r, &opts.retry))
                .buffered(opts.parts_in_flight.max(1));
            // the previous part is written on the blocking pool while the next ones arrive
            while let Some(data) = parts.try_next().await? {
                sink.push(data, &url).await?;
            }
            size
        }
    };
    let hasher = sink.finish(&url).await?;
    if let (Some(h), Some((algo, want))) = (hasher, expected.hash) {
        let got = h.finish_hex();
        if !got.eq_ignore_ascii_case(want) {
            return Err(Error::HashMismatch {
                url: url(),
                algorithm: algo.to_string(),
                expected: want.to_string(),
                actual: got,
            });
        }
    }
    Ok(size)
}

type WriteState = (std::fs::File, Option<Hasher>);

/// Writes parts in order, each on tokio's blocking pool (short tasks, so paused test clocks
/// still auto-advance), overlapping the write of one part with the download of the next.
struct Sink {
    state: Option<WriteState>,
    pending: Option<tokio::task::JoinHandle<Result<WriteState>>>,
    dest: PathBuf,
}

impl Sink {
    async fn wait(&mut self, url: &(dyn Fn() -> String + Sync)) -> Result<()> {
        if let Some(p) = self.pending.take() {
            let state = p.await.map_err(|e| Error::Task {
                url: url(),
                source: Box::new(e),
            })??;
            self.state = Some(state);
        }
        Ok(())
    }

    async fn push(&mut self, data: Bytes, url: &(dyn Fn() -> String + Sync)) -> Result<()> {
        self.wait(url).await?;
        let (mut file, mut hasher) = self.state.take().expect("state is back after wait");
        let dest = self.dest.clone();
        self.pending = Some(tokio::task::spawn_blocking(move || {
            use std::io::Write;
            if let Some(h) = hasher.as_mut() {
                h.update(&data);
            }
            file.write_all(&data).map_err(|e| Error::io(&dest, e))?;
            Ok((file, hasher))
        }));
        Ok(())
    }

    async fn finish(mut self, url: &(dyn Fn() -> String + Sync)) -> Result<Option<Hasher>> {
        self.wait(url).await?;
        let (file, hasher) = self.state.take().expect("state is back after wait");
        let dest = self.dest.clone();
        tokio::task::spawn_blocking(move || file.sync_all().map_err(|e| Error::io(&dest, e)))
            .await
            .map_err(|e| Error::Task {
                url: url(),
                source: Box::new(e),
            })??;
        Ok(hasher)
    }
}

async fn get_part(
    fetcher: &dyn Fetcher,
    key: &str,
    r: std::ops::Range<u64>,
    retry: &RetryPolicy,
) -> Result<Bytes> {
    let url = || fetcher.url(key);
    retry
        .run(&url, || async {
            let data = fetcher.get_range(key, r.clone()).await?;
            let want = r.end - r.start;
            if data.len() as u64 == want {
                Ok(data)
            } else {
                Err(Error::Truncated {
                    url: url(),
                    start: r.start,
                    expected: want,
                    actual: data.len() as u64,
                })
            }
        })
        .await
}

/// The whole object `key` in memory, with retries and the per-request timeout (for
/// `index.json` and other small files).
pub async fn fetch_bytes(fetcher: &dyn Fetcher, key: &str, retry: &RetryPolicy) -> Result<Bytes> {
    let url = || fetcher.url(key);
    retry.run(&url, || fetcher.get(key)).await
}

/// Where [`download_decompress`] puts a compressed shard and its decompressed form.
#[derive(Clone, Copy, Debug)]
pub struct Decompress<'a> {
    /// Compression of the remote object as index.json names it (`"zstd"`, `"zstd:7"`, ...).
    pub compression: &'a str,
    /// Local file for the compressed bytes (normally a temporary name in the cache).
    pub zip_dest: &'a Path,
    /// Local file for the decompressed `.mds` (normally a temporary name in the cache).
    pub raw_dest: &'a Path,
    /// Keep `zip_dest` after decompressing (the reference's `keep_zip`); otherwise it is removed.
    pub keep_zip: bool,
}

/// Downloads compressed shard `key` to `to.zip_dest`, validates it against `expected` (the
/// `zip_data` entry of index.json, as the reference does), then decompresses it into
/// `to.raw_dest` (fsynced). Unless `to.keep_zip`, the compressed file is removed afterwards.
/// Returns the decompressed size in bytes. The caller renames the files into place.
pub async fn download_decompress(
    fetcher: &dyn Fetcher,
    key: &str,
    to: &Decompress<'_>,
    expected: &Expected<'_>,
    opts: &DownloadOptions,
) -> Result<u64> {
    compression::family(to.compression)?;
    download(fetcher, key, to.zip_dest, expected, opts).await?;
    let n = compression::decompress_file_async(to.compression, to.zip_dest, to.raw_dest).await?;
    if !to.keep_zip {
        tokio::fs::remove_file(to.zip_dest)
            .await
            .map_err(|e| Error::io(to.zip_dest, e))?;
    }
    Ok(n)
}

/// Uploads local files: each `(local path, key)` pair is read and PUT to `key`, with at most
/// `max_in_flight` uploads at once and each PUT retried as `retry` says. Returns on the first
/// error (naming the file or object); files already uploaded stay.
pub async fn upload(
    fetcher: &dyn Fetcher,
    files: &[(PathBuf, String)],
    max_in_flight: usize,
    retry: &RetryPolicy,
) -> Result<()> {
    futures::stream::iter(files)
        .map(|(path, key)| async move {
            let data = Bytes::from(
                tokio::fs::read(path)
                    .await
                    .map_err(|e| Error::io(path.clone(), e))?,
            );
            let url = || fetcher.url(key);
            retry.run(&url, || fetcher.put(key, data.clone())).await
        })
        .buffer_unordered(max_in_flight.max(1))
        .try_collect::<()>()
        .await
}
