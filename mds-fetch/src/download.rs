//! Downloads to local files (ranged, concurrent, retried, hash-checked), decompression of
//! shards, and uploads with a concurrency limit.

use std::path::{Path, PathBuf};

use std::sync::{Arc, Mutex, PoisonError};

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
/// Bodies are streamed to the file in chunks of about 1 MiB (one write on the
/// blocking pool overlapping the next chunk's arrival), so memory stays bounded whatever the
/// object's size. Objects larger than [`DownloadOptions::part_size_bytes`] are fetched as
/// concurrent ranged GETs, each written at its offset. A request that fails mid-body is
/// retried from the first byte not yet written, as [`DownloadOptions::retry`] says; a fault
/// that persists gives [`Error::RetriesExhausted`] naming the object. With `expected.hash`
/// the digest is computed over the bytes in order (while they stream in for one-part objects;
/// by reading the file back for multi-part ones) and a mismatch is [`Error::HashMismatch`].
/// On error `dest` may hold partial data: the caller deletes it.
pub async fn download(
    fetcher: &dyn Fetcher,
    key: &str,
    dest: &Path,
    expected: &Expected<'_>,
    opts: &DownloadOptions,
) -> Result<u64> {
    let url = || fetcher.url(key);
    let hasher = match expected.hash {
        Some((algo, _)) => Some(crate::hash::hasher(algo)?),
        None => None,
    };
    let part = opts.part_size_bytes.max(1);
    let file = Arc::new(std::fs::File::create(dest).map_err(|e| Error::io(dest, e))?);
    let (size, hasher) = match expected.size_bytes {
        Some(s) if s <= part => {
            // one GET of the whole object (no HEAD); its reported size is checked
            let state = PartState::new(hasher);
            stream_part(fetcher, key, 0..s, true, &file, dest, &state, &opts.retry).await?;
            (s, state.into_hasher())
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
            let ranges: Vec<_> = (0..size.div_ceil(part))
                .map(|i| i * part..((i + 1) * part).min(size))
                .collect();
            let one = ranges.len() <= 1;
            let (streamed, after) = if one { (hasher, None) } else { (None, hasher) };
            let state = PartState::new(streamed);
            if one {
                // the HEAD gave the size: a ranged GET, like every later attempt
                stream_part(
                    fetcher,
                    key,
                    0..size,
                    false,
                    &file,
                    dest,
                    &state,
                    &opts.retry,
                )
                .await?;
            } else {
                futures::stream::iter(ranges)
                    .map(|r| async {
                        let st = PartState::new(None);
                        stream_part(fetcher, key, r, false, &file, dest, &st, &opts.retry).await
                    })
                    .buffer_unordered(opts.parts_in_flight.max(1))
                    .try_collect::<()>()
                    .await?;
            }
            let hasher = match after {
                Some(h) => Some(hash_file(h, dest).await?),
                None => state.into_hasher(),
            };
            (size, hasher)
        }
    };
    let sync_dest = dest.to_path_buf();
    tokio::task::spawn_blocking(move || file.sync_all().map_err(|e| Error::io(&sync_dest, e)))
        .await
        .map_err(|e| Error::Task {
            url: url(),
            source: Box::new(e),
        })??;
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

/// Bytes gathered from a body before one write to the file (bodies arrive in chunks of a few
/// KiB over HTTP; one blocking-pool task per chunk would cost more than the copy).
pub(crate) const WRITE_CHUNK_BYTES: usize = 1 << 20;

/// Progress of one part, shared by its attempts (and by a write still running on the blocking
/// pool after its attempt timed out, which is why it is behind a lock rather than owned).
struct PartState {
    inner: Arc<Mutex<Progress>>,
}

struct Progress {
    /// Bytes of the part written, counted from its start, contiguous.
    done: u64,
    /// Fed with the part's bytes in order, exactly once each.
    hasher: Option<Hasher>,
}

impl PartState {
    fn new(hasher: Option<Hasher>) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Progress { done: 0, hasher })),
        }
    }

    fn done(&self) -> u64 {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .done
    }

    fn into_hasher(self) -> Option<Hasher> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .hasher
            .take()
    }
}

/// Body chunks waiting to be written, in order, and their total length in bytes.
#[derive(Default)]
struct Chunks {
    chunks: Vec<Bytes>,
    len: usize,
}

/// Writes `data` at `part_start + at` and advances the part's progress. Blocking. A write that
/// overlaps what is already written (an attempt that timed out finishing late) rewrites the
/// same bytes, since objects do not change, and feeds the hasher only the new tail.
fn write_chunk(
    file: &std::fs::File,
    dest: &Path,
    progress: &Mutex<Progress>,
    part_start: u64,
    at: u64,
    data: &[u8],
) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let mut p = progress.lock().unwrap_or_else(PoisonError::into_inner);
    if at > p.done {
        // a gap: only a late write of an abandoned attempt can be ahead; the next attempt
        // rewrites from `done`
        return Ok(());
    }
    file.write_all_at(data, part_start + at)
        .map_err(|e| Error::io(dest, e))?;
    let end = at + data.len() as u64;
    if end > p.done {
        let fresh = usize::try_from(p.done - at).unwrap_or(usize::MAX);
        if let (Some(h), Some(tail)) = (p.hasher.as_mut(), data.get(fresh..)) {
            h.update(tail);
        }
        p.done = end;
    }
    Ok(())
}

/// Streams `range` of `key` into `file` at the same offsets, retrying from the first byte not
/// yet written. `whole`: the range is the whole object, fetched with a plain GET while nothing
/// is written (so the server's idea of the size is checked) and ranged after that.
#[allow(clippy::too_many_arguments)] // one call site per download shape
async fn stream_part(
    fetcher: &dyn Fetcher,
    key: &str,
    range: std::ops::Range<u64>,
    whole: bool,
    file: &Arc<std::fs::File>,
    dest: &Path,
    state: &PartState,
    retry: &RetryPolicy,
) -> Result<()> {
    let url = || fetcher.url(key);
    let want = range.end - range.start;
    retry
        .run(&url, || async {
            let done = state.done();
            if done >= want {
                return Ok(());
            }
            let (size, mut body) = if whole && done == 0 {
                fetcher.get_stream(key, None).await?
            } else {
                fetcher
                    .get_stream(key, Some(range.start + done..range.end))
                    .await?
            };
            if whole
                && done == 0
                && let Some(n) = size
                && n != want
            {
                return Err(Error::SizeMismatch {
                    url: url(),
                    expected: want,
                    actual: n,
                });
            }
            let mut at = done;
            // Chunks are gathered as they came (no copy) and written one after the other.
            let mut buf = Chunks::default();
            let mut pending: Option<tokio::task::JoinHandle<Result<()>>> = None;
            let flush = |buf: &mut Chunks, at: u64| {
                let data = std::mem::take(buf);
                let (file, dest, progress) = (
                    Arc::clone(file),
                    dest.to_path_buf(),
                    Arc::clone(&state.inner),
                );
                let start = range.start;
                tokio::task::spawn_blocking(move || {
                    let mut at = at;
                    for chunk in &data.chunks {
                        write_chunk(&file, &dest, &progress, start, at, chunk)?;
                        at += chunk.len() as u64;
                    }
                    Ok(())
                })
            };
            let join = |h: tokio::task::JoinHandle<Result<()>>| async {
                h.await.map_err(|e| Error::Task {
                    url: url(),
                    source: Box::new(e),
                })?
            };
            let mut received = done;
            let outcome: Result<()> = async {
                while let Some(chunk) = body.try_next().await? {
                    received += chunk.len() as u64;
                    if received > want {
                        return Err(Error::SizeMismatch {
                            url: url(),
                            expected: want,
                            actual: received,
                        });
                    }
                    buf.len += chunk.len();
                    buf.chunks.push(chunk);
                    if buf.len >= WRITE_CHUNK_BYTES {
                        if let Some(p) = pending.take() {
                            join(p).await?;
                        }
                        let n = buf.len as u64;
                        pending = Some(flush(&mut buf, at));
                        at += n;
                    }
                }
                Ok(())
            }
            .await;
            // What arrived is kept even when the body broke, so a retry resumes after it.
            if let Some(p) = pending.take() {
                join(p).await?;
            }
            if buf.len > 0 {
                join(flush(&mut buf, at)).await?;
            }
            outcome?;
            if received < want {
                return Err(Error::Truncated {
                    url: url(),
                    start: range.start + done,
                    expected: want - done,
                    actual: received - done,
                });
            }
            Ok(())
        })
        .await
}

/// Feeds `h` with the contents of `path` (multi-part downloads, whose parts arrive out of
/// order). Blocking work on the blocking pool.
async fn hash_file(mut h: Hasher, path: &Path) -> Result<Hasher> {
    let path = path.to_path_buf();
    let shown = path.display().to_string();
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut f = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf).map_err(|e| Error::io(&path, e))?;
            if n == 0 {
                return Ok(h);
            }
            h.update(&buf[..n]);
        }
    })
    .await
    .map_err(|e| Error::Task {
        url: shown,
        source: Box::new(e),
    })?
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
    /// The decompressed size index.json records (`raw_data.bytes`): more output than this is
    /// an error before it reaches the disk, and a different size is [`Error::SizeMismatch`].
    pub raw_size_bytes: Option<u64>,
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
    compression::parse(to.compression)?;
    download(fetcher, key, to.zip_dest, expected, opts).await?;
    let max_len = to.raw_size_bytes.unwrap_or(u64::MAX);
    let n = compression::decompress_file_async(to.compression, to.zip_dest, to.raw_dest, max_len)
        .await?;
    if let Some(want) = to.raw_size_bytes
        && n != want
    {
        return Err(Error::SizeMismatch {
            url: format!("{} (decompressed)", fetcher.url(key)),
            expected: want,
            actual: n,
        });
    }
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
