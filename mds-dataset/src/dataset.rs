//! `StreamingDataset`, its builder, epochs, random access and checkpoints.
#![allow(clippy::single_match_else)] // two-way source selection reads better as a match

use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;

use crate::config::{Config, Stream};
use crate::error::{Error, Result};
use crate::params::{
    BatchingMethod, PartitionAlgo, SamplingMethod, ShuffleAlgo, parse_bytes, parse_count,
};
use crate::plan::{self, PlanInputs, StreamLayout, Weights};
use crate::resume::ResumeState;
use crate::shards::{self, OpenShard, Sample, ShardEntry};
use crate::world::World;

/// How a stream's shards reach this machine.
#[derive(Clone, Debug)]
pub(crate) enum Source {
    /// The dataset is already in a local directory: read it in place, never write to it.
    Direct { root: PathBuf },
    /// The remote is a local directory different from `local`: copy shards on demand.
    Copy { remote: PathBuf, local: PathBuf },
    /// An object store: shards are downloaded through mds-fetch into the node-wide mds-cache
    /// directory `local/split`.
    Remote {
        fetcher: Arc<dyn mds_fetch::Fetcher>,
        local: PathBuf,
        cache: Arc<std::sync::OnceLock<mds_cache::Cache>>,
        opts: mds_fetch::DownloadOptions,
        runtime: tokio::runtime::Handle,
    },
}

/// A stream with defaults applied and its source resolved.
pub(crate) struct ResolvedStream {
    pub(crate) split: Option<String>,
    pub(crate) source: Source,
    pub(crate) keep_zip: bool,
    pub(crate) validate_hash: Option<String>,
}

impl std::fmt::Debug for ResolvedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.source {
            Source::Direct { root } => format!("direct {}", root.display()),
            Source::Copy { remote, local } => {
                format!("copy {} -> {}", remote.display(), local.display())
            }
            Source::Remote { local, .. } => format!("remote -> {}", local.display()),
        };
        f.debug_struct("ResolvedStream")
            .field("split", &self.split)
            .field("source", &kind)
            .finish_non_exhaustive()
    }
}

/// Mutable per-dataset state: epochs and checkpoint (reference §16.1, §17).
#[derive(Debug, Clone)]
struct State {
    next_epoch: u64,
    resume: Option<ResumeState>,
    num_canonical_nodes: Option<u32>,
    shuffle_block_size: Option<u64>,
    shuffle_seed: u64,
    initial_physical_nodes: Option<u32>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) cfg: Config,
    pub(crate) streams: Vec<ResolvedStream>,
    pub(crate) shards: Vec<ShardEntry>,
    /// Global sample offset of each shard, plus the total at the end.
    pub(crate) shard_offsets: Vec<u64>,
    layouts: Vec<StreamLayout>,
    weights: Weights,
    pub(crate) world: World,
    state: Mutex<State>,
    pub(crate) runtime: Option<tokio::runtime::Handle>,
    /// The last shard opened by random access, reused by the next `get`.
    last_get: Mutex<Option<Arc<OpenShard>>>,
    /// This dataset's claims of its remote streams' cache directories.
    _claims: Vec<mds_cache::Claim>,
}

/// A dataset of one or more MDS streams, read in the reference's sample order.
///
/// Cheap to clone (shared state). Build with [`StreamingDataset::builder`].
#[derive(Debug, Clone)]
pub struct StreamingDataset {
    pub(crate) inner: Arc<Inner>,
}

/// Builder of [`StreamingDataset`]: every parameter of the reference's constructor
/// (reference.md §10.2) with its default; [`build`](Self::build) validates and loads the
/// streams' index files.
#[derive(Debug, Default)]
pub struct StreamingDatasetBuilder {
    cfg: Config,
    remote: Option<String>,
    local: Option<PathBuf>,
    split: Option<String>,
    streams_given: bool,
    runtime: Option<tokio::runtime::Handle>,
    errors: Vec<Error>,
}

macro_rules! setter {
    ($(#[$m:meta])* $name:ident, $field:ident: $ty:ty) => {
        $(#[$m])*
        #[must_use]
        pub fn $name(mut self, v: $ty) -> Self {
            self.cfg.$field = v.into();
            self
        }
    };
}

impl StreamingDatasetBuilder {
    /// The streams to mix (mutually exclusive with `with_remote`/`with_local`).
    #[must_use]
    pub fn with_streams(mut self, streams: Vec<Stream>) -> Self {
        self.cfg.streams = streams;
        self.streams_given = true;
        self
    }
    /// Single-stream shortcut: remote root (URL or local path).
    #[must_use]
    pub fn with_remote(mut self, remote: &str) -> Self {
        self.remote = Some(remote.to_owned());
        self
    }
    /// Single-stream shortcut: local root.
    #[must_use]
    pub fn with_local(mut self, local: &Path) -> Self {
        self.local = Some(local.to_owned());
        self
    }
    /// Default split of every stream.
    #[must_use]
    pub fn with_split(mut self, split: &str) -> Self {
        self.split = Some(split.to_owned());
        self
    }
    setter!(
        /// Default total download attempts (2).
        with_download_retry, download_retry: u32);
    setter!(
        /// Default download time limit (60 s).
        with_download_timeout, download_timeout: Duration);
    /// Default hash algorithm to validate downloads with (none).
    #[must_use]
    pub fn with_validate_hash(mut self, algo: &str) -> Self {
        self.cfg.validate_hash = Some(algo.to_owned());
        self
    }
    setter!(
        /// Default: keep compressed shards after decompression (false).
        with_keep_zip, keep_zip: bool);
    /// Samples per epoch over all streams (0 = derived from the streams).
    #[must_use]
    pub fn with_epoch_size(mut self, samples: u64) -> Self {
        self.cfg.epoch_size = Some(samples);
        self
    }
    /// [`with_epoch_size`](Self::with_epoch_size) from the reference's abbreviations
    /// (`"100k"`, `"1.5b"`).
    #[must_use]
    pub fn with_epoch_size_str(mut self, text: &str) -> Self {
        match parse_count("epoch_size", text) {
            Ok(v) => self.cfg.epoch_size = Some(v),
            Err(e) => self.errors.push(e),
        }
        self
    }
    /// Samples each worker may prepare ahead of the one it yields
    /// (default `8 * batch_size`, or 64).
    #[must_use]
    pub fn with_predownload(mut self, samples: u64) -> Self {
        self.cfg.predownload = Some(samples);
        self
    }
    /// Most bytes the local cache may hold (default: unlimited).
    #[must_use]
    pub fn with_cache_limit_bytes(mut self, bytes: u64) -> Self {
        self.cfg.cache_limit_bytes = Some(bytes);
        self
    }
    /// [`with_cache_limit_bytes`](Self::with_cache_limit_bytes) from a human string
    /// (`"10gb"`, binary units as the reference).
    #[must_use]
    pub fn with_cache_limit(mut self, text: &str) -> Self {
        match parse_bytes("cache_limit", text) {
            Ok(v) => self.cfg.cache_limit_bytes = Some(v),
            Err(e) => self.errors.push(e),
        }
        self
    }
    setter!(
        /// `balanced` (default) or `fixed`.
        with_sampling_method, sampling_method: SamplingMethod);
    /// Samples taken from one shard per pick of a fractional repeat (default 1, must be > 0).
    #[must_use]
    pub fn with_sampling_granularity(mut self, samples: u64) -> Self {
        match NonZeroU64::new(samples) {
            Some(g) => self.cfg.sampling_granularity = g,
            None => self
                .errors
                .push(Error::param("sampling_granularity", "must be positive")),
        }
        self
    }
    setter!(
        /// `relaxed` (default) or `orig`.
        with_partition_algo, partition_algo: PartitionAlgo);
    /// Canonical node count (default: physical nodes, or 64× for py1s/py2s; 0 = default).
    #[must_use]
    pub fn with_num_canonical_nodes(mut self, n: u32) -> Self {
        self.cfg.num_canonical_nodes = (n > 0).then_some(n);
        self
    }
    /// Per-device batch size (required before iterating).
    #[must_use]
    pub fn with_batch_size(mut self, n: u32) -> Self {
        if n == 0 {
            self.errors
                .push(Error::param("batch_size", "must be positive"));
        }
        self.cfg.batch_size = Some(n);
        self
    }
    setter!(
        /// Shuffle samples (default false).
        with_shuffle, shuffle: bool);
    setter!(
        /// Shuffle algorithm (default py1e).
        with_shuffle_algo, shuffle_algo: ShuffleAlgo);
    setter!(
        /// Shuffle seed (default 9176).
        with_shuffle_seed, shuffle_seed: u64);
    /// Shuffle block size in samples (default `max(4_000_000 / ncn, 2^18)`).
    #[must_use]
    pub fn with_shuffle_block_size(mut self, samples: u64) -> Self {
        if samples == 0 {
            self.errors
                .push(Error::param("shuffle_block_size", "must be positive"));
        }
        self.cfg.shuffle_block_size = Some(samples);
        self
    }
    setter!(
        /// Batching method (default random).
        with_batching_method, batching_method: BatchingMethod);
    setter!(
        /// Allow `pkl` columns (default false).
        with_allow_unsafe_types, allow_unsafe_types: bool);
    /// Groups of this many consecutive ranks read identical samples.
    #[must_use]
    pub fn with_replication(mut self, factor: u32) -> Self {
        self.cfg.replication = Some(factor);
        self
    }
    /// Who this process is (default: [`World::from_env`] at build time).
    #[must_use]
    pub fn with_world(mut self, world: World) -> Self {
        self.cfg.world = Some(world);
        self
    }
    /// Runtime that runs prefetching for the synchronous API ([`StreamingDataset::iter`]).
    #[must_use]
    pub fn with_runtime(mut self, handle: tokio::runtime::Handle) -> Self {
        self.runtime = Some(handle);
        self
    }

    /// Validates the parameters, loads every stream's index.json and resolves the weights.
    ///
    /// Blocking (reads index files); call it from a plain thread or `spawn_blocking`.
    #[allow(clippy::too_many_lines)] // the reference's construction sequence, step by step
    pub fn build(mut self) -> Result<StreamingDataset> {
        if let Some(e) = self.errors.drain(..).next() {
            return Err(e);
        }
        let shortcut = self.remote.is_some() || self.local.is_some();
        if self.streams_given == shortcut || (self.streams_given && self.cfg.streams.is_empty()) {
            return Err(Error::param(
                "streams",
                "you must provide either `streams` or `remote`/`local`, but not both",
            ));
        }
        if shortcut {
            let mut s = Stream::new();
            s.remote.clone_from(&self.remote);
            s.local.clone_from(&self.local);
            self.cfg.streams = vec![s];
        }
        if let Some(r) = self.cfg.replication
            && r == 0
        {
            return Err(Error::param(
                "replication",
                "replication factor must be positive",
            ));
        }
        let cfg = self.cfg;
        let world = match cfg.world {
            Some(w) => w,
            None => World::from_env()?,
        };
        let parallel = match cfg.replication {
            Some(r) => world.replicate(r)?,
            None => world,
        };
        let mut streams = Vec::new();
        let mut shards: Vec<ShardEntry> = Vec::new();
        let mut layouts = Vec::new();
        let mut index_bytes = 0u64;
        let mut sample_offset = 0u64;
        // Cache directories of remote streams, claimed for this dataset's lifetime.
        let mut claims = Vec::new();
        let mut claimed: Vec<(PathBuf, usize)> = Vec::new();
        for (i, s) in cfg.streams.iter().enumerate() {
            s.validate(i)?;
            let split = s.split.clone().or_else(|| self.split.clone());
            let resolved = resolve_stream(i, s, split, &cfg, self.runtime.as_ref())?;
            if let (Source::Remote { local, .. }, Some(remote)) = (&resolved.source, &s.remote) {
                let dir = shards::join(local, resolved.split.as_deref(), "");
                if let Some(j) = claimed.iter().position(|(d, _)| same_dir(d, &dir)) {
                    return Err(Error::ReusedLocal {
                        stream: i,
                        reason: format!(
                            "Reused local directory: {} is the local directory of streams {} and {i}. Provide a different one.",
                            dir.display(),
                            claimed[j].1
                        ),
                    });
                }
                std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
                    path: dir.display().to_string(),
                    source,
                })?;
                // Its files may be another remote's: then they (and its index.json) go first.
                let clear = |_previous: &str| {
                    mds_cache::Cache::open(&dir, mds_cache::CacheConfig::default())?.clear()?;
                    let index = dir.join("index.json");
                    match std::fs::remove_file(&index) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                            Err(mds_cache::Error::Io {
                                op: "remove",
                                path: index,
                                source: e,
                            })
                        }
                        _ => Ok(()),
                    }
                };
                let claim = mds_cache::Claim::acquire_with(&dir, &source_key(remote), clear)
                    .map_err(|e| Error::ReusedLocal {
                        stream: i,
                        reason: e.to_string(),
                    })?;
                claims.push(claim);
                claimed.push((dir, i));
            }
            let (text, path) = read_index(i, &resolved, s.remote.is_none())?;
            index_bytes += text.len() as u64;
            let entries = shards::parse_index(i, &path, &text, cfg.allow_unsafe_types)?;
            let samples_per_shard: Vec<u64> = entries.iter().map(|e| e.samples).collect();
            let total: u64 = samples_per_shard.iter().sum();
            if total == 0 {
                return Err(Error::EmptyStream { stream: i, path });
            }
            layouts.push(StreamLayout {
                samples_per_shard,
                sample_offset,
            });
            sample_offset += total;
            shards.extend(entries);
            streams.push(resolved);
        }
        if let Some(limit) = cfg.cache_limit_bytes {
            if limit <= index_bytes {
                return Err(Error::CacheLimitBelowIndex {
                    min_bytes: index_bytes,
                    limit_bytes: limit,
                });
            }
            let largest = shards
                .iter()
                .map(|e| e.raw_bytes + e.zip.as_ref().map_or(0, |z| z.1))
                .max()
                .unwrap_or(0);
            if limit < 4 * largest {
                return Err(Error::CacheLimitTooLow {
                    limit_bytes: limit,
                    shard_bytes: largest,
                });
            }
        }
        let mut shard_offsets = Vec::with_capacity(shards.len() + 1);
        let mut acc = 0;
        for e in &shards {
            shard_offsets.push(acc);
            acc += e.samples;
        }
        shard_offsets.push(acc);
        let weights_in: Vec<_> = cfg.streams.iter().map(Stream::weight).collect();
        let sizes: Vec<u64> = layouts.iter().map(StreamLayout::num_samples).collect();
        let weights = plan::apply_weights(&weights_in, &sizes, cfg.epoch_size, cfg.shuffle_seed)?;
        let state = State {
            next_epoch: 0,
            resume: None,
            num_canonical_nodes: cfg.num_canonical_nodes,
            shuffle_block_size: cfg.shuffle_block_size,
            shuffle_seed: cfg.shuffle_seed,
            initial_physical_nodes: None,
        };
        Ok(StreamingDataset {
            inner: Arc::new(Inner {
                cfg,
                streams,
                shards,
                shard_offsets,
                layouts,
                weights,
                world: parallel,
                state: Mutex::new(state),
                runtime: self.runtime,
                last_get: Mutex::new(None),
                _claims: claims,
            }),
        })
    }
}

/// One spelling of a remote, for telling whether two datasets read the same one: a local
/// path canonical and absolute (as `file://…`), a URL without trailing slashes.
fn source_key(remote: &str) -> String {
    match local_path_of(remote) {
        Some(p) => {
            let p = p.canonicalize().unwrap_or(p);
            format!("file://{}", p.display())
        }
        None => remote.trim_end_matches('/').to_owned(),
    }
}

/// Is `remote` a local path (no scheme, or `file://`)? Returns it as a path.
fn local_path_of(remote: &str) -> Option<PathBuf> {
    if let Some(p) = remote.strip_prefix("file://") {
        return Some(PathBuf::from(p));
    }
    if remote.contains("://") {
        None
    } else {
        Some(PathBuf::from(remote))
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

fn resolve_stream(
    i: usize,
    s: &Stream,
    split: Option<String>,
    cfg: &Config,
    runtime: Option<&tokio::runtime::Handle>,
) -> Result<ResolvedStream> {
    let keep_zip = s.keep_zip.unwrap_or(cfg.keep_zip);
    // Any remote that is not read in place goes through mds-fetch into the mds-cache directory,
    // so cache_limit, one download per node and validate_hash apply to local remotes too.
    let via_cache = |remote: &String, local: &Option<PathBuf>, runtime: &tokio::runtime::Handle| {
        let fetcher = mds_fetch::from_url(remote).map_err(|source| Error::Fetch {
            stream: i,
            key: remote.clone(),
            source: Box::new(source),
        })?;
        let local = local
            .clone()
            .unwrap_or_else(|| default_local(remote, split.as_deref()));
        let retry = s.download_retry.unwrap_or(cfg.download_retry);
        let timeout = s.download_timeout.unwrap_or(cfg.download_timeout);
        let opts = mds_fetch::DownloadOptions {
            retry: mds_fetch::RetryPolicy::from_reference(retry, timeout.as_secs_f64()),
            ..mds_fetch::DownloadOptions::default()
        };
        Ok::<_, Error>(Source::Remote {
            fetcher,
            local,
            cache: Arc::new(std::sync::OnceLock::new()),
            opts,
            runtime: runtime.clone(),
        })
    };
    let source = match (&s.remote, &s.local) {
        (None, Some(local)) => Source::Direct {
            root: local.clone(),
        },
        (Some(remote), local) => match local_path_of(remote) {
            Some(rp) => match local.as_ref().filter(|l| !same_dir(&rp, l)) {
                Some(l) => match runtime {
                    Some(rt) => via_cache(remote, local, rt)?,
                    // Without a runtime a local remote is still readable: copied on demand.
                    None => Source::Copy {
                        remote: rp,
                        local: l.clone(),
                    },
                },
                None => Source::Direct { root: rp },
            },
            None => via_cache(remote, local, runtime.ok_or(Error::NoRuntime)?)?,
        },
        (None, None) => {
            return Err(Error::InvalidStream {
                stream: i,
                reason: "`remote` and/or `local` path must be provided".into(),
            });
        }
    };
    let validate_hash = s
        .validate_hash
        .clone()
        .or_else(|| cfg.validate_hash.clone());
    if let Some(name) = &validate_hash
        && name.parse::<mds_format::hash::HashAlgorithm>().is_err()
    {
        let known: Vec<&str> = mds_format::hash::HashAlgorithm::ALL
            .iter()
            .map(|a| a.name())
            .collect();
        return Err(Error::param(
            "validate_hash",
            format!(
                "unknown hash algorithm {name:?}; supported: {}",
                known.join(", ")
            ),
        ));
    }
    Ok(ResolvedStream {
        split,
        source,
        keep_zip,
        validate_hash,
    })
}

/// What [`write_atomic`] puts at its destination.
#[derive(Clone, Copy)]
enum Content<'a> {
    /// A copy of this file.
    CopyOf(&'a Path),
    /// These bytes.
    Bytes(&'a [u8]),
}

/// Writes `content` to a temporary file beside `to`, then renames it over `to`: a reader of
/// `to` (another rank, another worker) sees the whole file or none. The temporary name holds
/// the process id, so processes filling the same file never write into each other's.
fn write_atomic(to: &Path, content: Content<'_>) -> Result<()> {
    let io = |p: &Path| {
        let shown = p.display().to_string();
        move |source| Error::Io {
            path: shown,
            source,
        }
    };
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let tmp = to.with_extension(format!("tmp.{}", std::process::id()));
    let written = match content {
        Content::CopyOf(from) => std::fs::copy(from, &tmp).map(drop).map_err(io(from)),
        Content::Bytes(data) => std::fs::write(&tmp, data).map_err(io(&tmp)),
    }
    .and_then(|()| std::fs::rename(&tmp, to).map_err(io(to)));
    if written.is_err() {
        // Best effort: the error above is the one to report.
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// The default local directory of a remote stream, the reference's
/// (`Stream._get_temporary_directory` in `streaming/base/stream.py`):
/// `<temp dir>/<blake2s-128 of the remote, hex>/<split>`. Shard paths then join the split
/// again under it (`…/<split>/<split>/shard.00000.mds`), as the reference's do. Unlike the
/// reference, an existing directory is reused rather than refused: the cache is safe to
/// share between datasets of the same remote.
fn default_local(remote: &str, split: Option<&str>) -> PathBuf {
    use blake2::Digest as _;
    use std::fmt::Write as _;
    let digest = blake2::Blake2s128::digest(remote.as_bytes());
    let hex = digest.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    });
    let dir = std::env::temp_dir().join(hex);
    match split.filter(|s| !s.is_empty()) {
        Some(s) => dir.join(s),
        None => dir,
    }
}

/// Reads stream `i`'s index.json (fetching it first from a remote). `no_remote`: the stream
/// has only a local directory.
fn read_index(i: usize, s: &ResolvedStream, no_remote: bool) -> Result<(Vec<u8>, String)> {
    let split = s.split.as_deref();
    let path = match &s.source {
        Source::Direct { root } => shards::join(root, split, "index.json"),
        Source::Copy { remote, local } => {
            let dst = shards::join(local, split, "index.json");
            if !dst.exists() {
                write_atomic(
                    &dst,
                    Content::CopyOf(&shards::join(remote, split, "index.json")),
                )?;
            }
            dst
        }
        Source::Remote {
            fetcher,
            local,
            opts,
            runtime,
            ..
        } => {
            let dst = shards::join(local, split, "index.json");
            if !dst.exists() {
                let key = split
                    .filter(|s| !s.is_empty())
                    .map_or_else(|| "index.json".to_owned(), |s| format!("{s}/index.json"));
                let bytes = runtime
                    .block_on(mds_fetch::fetch_bytes(fetcher.as_ref(), &key, &opts.retry))
                    .map_err(|source| Error::Fetch {
                        stream: i,
                        key: key.clone(),
                        source: Box::new(source),
                    })?;
                write_atomic(&dst, Content::Bytes(&bytes))?;
            }
            dst
        }
    };
    let shown = path.display().to_string();
    let text = std::fs::read(&path).map_err(|source| {
        if no_remote && source.kind() == std::io::ErrorKind::NotFound {
            Error::NoLocalIndex {
                stream: i,
                path: shown.clone(),
            }
        } else {
            Error::IndexRead {
                stream: i,
                path: shown.clone(),
                source,
            }
        }
    })?;
    Ok((text, shown))
}

/// One shard as index.json describes it; see [`StreamingDataset::shard_info`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardInfo {
    /// Index of its stream.
    pub stream: usize,
    /// The raw (`.mds`) file's basename, relative to the stream's root and split.
    pub basename: String,
    /// The raw file's size in bytes.
    pub bytes: u64,
    /// The raw file's hashes: algorithm name → hex digest.
    pub hashes: std::collections::BTreeMap<String, String>,
    /// The compressed file: basename, size in bytes and hashes, if the shard is compressed.
    pub zip: Option<(String, u64, std::collections::BTreeMap<String, String>)>,
    /// The compression spec (`zstd:7`), if any.
    pub compression: Option<String>,
    /// Samples in the shard.
    pub samples: u64,
    /// Column names, in the shard's order.
    pub column_names: Vec<String>,
    /// Column encodings, as index.json spells them.
    pub column_encodings: Vec<String>,
    /// Fixed sizes in bytes (`None`: variable), as index.json gives them.
    pub column_sizes: Vec<Option<u64>>,
    /// The hash algorithms the writer recorded (index.json's `hashes`).
    pub hash_names: Vec<String>,
    /// The writer's `size_limit` in bytes, if any.
    pub size_limit: Option<u64>,
}

/// One worker's share of one epoch.
#[derive(Debug, Clone)]
pub struct EpochPlan {
    /// The epoch.
    pub epoch: u64,
    /// Global samples skipped because they were consumed before a resumption.
    pub sample_in_epoch: u64,
    /// Underlying global sample ids this worker yields, in order (padding removed).
    pub sample_ids: Vec<u64>,
}

impl StreamingDataset {
    /// A builder with the reference's defaults.
    pub fn builder() -> StreamingDatasetBuilder {
        StreamingDatasetBuilder::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Underlying samples over all streams (not resampled): the reference's `size`.
    pub fn size(&self) -> u64 {
        self.inner.shard_offsets.last().copied().unwrap_or(0)
    }

    /// Same as [`size`](Self::size) (the reference's `num_samples`).
    pub fn num_samples(&self) -> u64 {
        self.size()
    }

    /// Samples per epoch over all ranks, after stream weighting.
    pub fn epoch_size(&self) -> u64 {
        self.inner.weights.epoch_size
    }

    /// Samples per epoch per rank: `ceil(epoch_size / ranks)` (parallel world), the
    /// reference's `len()`.
    pub fn len(&self) -> u64 {
        self.epoch_size()
            .div_ceil(u64::from(self.inner.world.num_ranks()))
    }

    /// True when an epoch holds no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Per-stream samples per epoch after weighting.
    pub fn samples_per_stream(&self) -> &[u64] {
        &self.inner.weights.choose
    }

    /// Each stream's derived weights `(proportion, repeat, choose)`, as the reference writes
    /// them back into its `Stream` objects: `proportion` is the stream's share of the epoch
    /// (normalised), `repeat` = `choose` / the stream's underlying samples (float64), and
    /// `choose` its samples per epoch.
    pub fn stream_weights(&self) -> Vec<(f64, f64, u64)> {
        let w = &self.inner.weights;
        self.inner
            .layouts
            .iter()
            .zip(w.proportion.iter().zip(&w.choose))
            .map(|(layout, (&p, &c))| {
                #[allow(clippy::cast_precision_loss)] // float64, as numpy divides there
                let repeat = c as f64 / layout.num_samples() as f64;
                (p, repeat, c)
            })
            .collect()
    }

    /// Number of shards over all streams.
    pub fn num_shards(&self) -> usize {
        self.inner.shards.len()
    }

    /// Shard `shard` (0-based over all streams, in stream order) as index.json describes it:
    /// what the reference's per-shard reader objects (`StreamingDataset.shards`) hold.
    /// `None` past the last shard.
    pub fn shard_info(&self, shard: usize) -> Option<ShardInfo> {
        let e = self.inner.shards.get(shard)?;
        Some(ShardInfo {
            stream: e.stream,
            basename: e.basename.clone(),
            bytes: e.raw_bytes,
            hashes: e.raw_hashes.clone(),
            zip: e
                .zip
                .clone()
                .map(|(basename, bytes)| (basename, bytes, e.zip_hashes.clone())),
            compression: e.compression.clone(),
            samples: e.samples,
            column_names: e.columns.names.to_vec(),
            column_encodings: e
                .columns
                .encodings
                .iter()
                .map(ToString::to_string)
                .collect(),
            column_sizes: e.column_sizes.clone(),
            hash_names: e.hash_names.clone(),
            size_limit: e.size_limit,
        })
    }

    /// Makes shard `shard` local (downloads it into the cache, evicting others under a
    /// `cache_limit`), as the reference's `prepare_shard`; blocking. A stream read in place
    /// needs nothing.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a shard past the last; download and cache errors.
    pub fn prepare_shard(&self, shard: usize) -> Result<()> {
        self.check_shard(shard)?;
        match &self.inner.streams[self.inner.shards[shard].stream].source {
            Source::Direct { .. } => Ok(()),
            _ => open_shard(&self.inner, shard).map(drop),
        }
    }

    /// Removes shard `shard` from the cache unless a process is reading it (the reference's
    /// `evict_shard`); `Ok(false)` if it was not cached or is in use. A stream read in place
    /// is never deleted (it is the dataset, not a cache).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a shard past the last; cache errors.
    pub fn evict_shard(&self, shard: usize) -> Result<bool> {
        self.check_shard(shard)?;
        let e = &self.inner.shards[shard];
        match &self.inner.streams[e.stream].source {
            Source::Remote { .. } => {
                // Random access may hold the last pin of it.
                let mut last = self
                    .inner
                    .last_get
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if last.as_ref().is_some_and(|s| s.id == shard) {
                    *last = None;
                }
                drop(last);
                cache_of(&self.inner, shard)?
                    .evict(&e.basename)
                    .map_err(|err| cache_error(e, err))
            }
            _ => Ok(false),
        }
    }

    fn check_shard(&self, shard: usize) -> Result<()> {
        if shard < self.inner.shards.len() {
            return Ok(());
        }
        Err(Error::param(
            "shard_id",
            format!(
                "shard {shard} does not exist: the dataset has {} shards",
                self.inner.shards.len()
            ),
        ))
    }

    /// The warnings the reference gives for these settings (Python raises each as a
    /// `UserWarning`), in its words:
    /// - `predownload` below `batch_size` (`streaming/base/dataset.py`);
    /// - `py1e` with a `shuffle_block_size` below some shard's sample count, so that shard is
    ///   not shuffled with its neighbours (`streaming/base/shuffle/py1e.py`). The reference
    ///   warns when a shard's span within a canonical node is larger than a drawn block,
    ///   which this checks before any epoch as: block size (the given one, or the default
    ///   for the canonical nodes known now) below the largest shard.
    pub fn config_warnings(&self) -> Vec<String> {
        let cfg = &self.inner.cfg;
        let mut out = Vec::new();
        if let (Some(p), Some(b)) = (cfg.predownload, cfg.batch_size)
            && p < u64::from(b)
        {
            out.push(format!(
                "predownload < batch_size ({p} < {b}).This may result in slower batch time. \
                 Recommendation is to set predownload to at-least batch_size."
            ));
        }
        if cfg.shuffle && cfg.shuffle_algo == ShuffleAlgo::Py1e {
            let ncn = cfg
                .num_canonical_nodes
                .unwrap_or_else(|| self.inner.world.num_nodes())
                .max(1);
            let block = cfg
                .shuffle_block_size
                .unwrap_or_else(|| (4_000_000 / u64::from(ncn)).max(1 << 18));
            if self.inner.shards.iter().any(|e| e.samples > block) {
                out.push(
                    "Shuffle block size was smaller than shard size for some shards. This will \
                     result in these shards not being shuffled with other shards. Set \
                     shuffle_block_size to a larger value for a higher quality shuffle."
                        .to_owned(),
                );
            }
        }
        out
    }

    /// The (parallel) world this dataset reads for.
    pub fn world(&self) -> World {
        self.inner.world
    }

    /// The epoch the next iteration starts (unless a loaded checkpoint says otherwise).
    pub fn next_epoch(&self) -> u64 {
        self.state().next_epoch
    }

    /// Sets the epoch the next iteration starts (what `set_epoch` does in training loops).
    pub fn set_next_epoch(&self, epoch: u64) {
        self.state().next_epoch = epoch;
    }

    fn default_ncn(&self, st: &mut State) -> u32 {
        *st.num_canonical_nodes.get_or_insert_with(|| {
            let nodes = self.inner.world.num_nodes();
            match self.inner.cfg.shuffle_algo {
                ShuffleAlgo::Py1s | ShuffleAlgo::Py2s => 64 * nodes,
                _ => nodes,
            }
        })
    }

    /// Epoch and offset to start from (reference `_resume`), filling NCN/block defaults.
    fn resume_point(&self, st: &mut State, presumed: u64) -> (u64, u64) {
        let (e, o) = self.resume_point_from(st, i64::try_from(presumed).unwrap_or(i64::MAX));
        (u64::try_from(e).unwrap_or(0), o)
    }

    /// [`resume_point`](Self::resume_point) for a presumed epoch that may be -1 (before the
    /// first epoch), as the reference's `_resume` takes it from `state_dict`.
    fn resume_point_from(&self, st: &mut State, presumed: i64) -> (i64, u64) {
        let from_ckpt = st
            .resume
            .clone()
            .filter(|r| r.epoch >= 0 && r.epoch >= presumed);
        let point = if let Some(r) = from_ckpt {
            st.num_canonical_nodes = Some(r.num_canonical_nodes);
            st.shuffle_seed = r.shuffle_seed;
            st.initial_physical_nodes = r.initial_physical_nodes;
            (r.epoch, r.sample_in_epoch)
        } else {
            self.default_ncn(st);
            (presumed, 0)
        };
        if st.shuffle_block_size.is_none() {
            let ncn = u64::from(st.num_canonical_nodes.unwrap_or(1).max(1));
            st.shuffle_block_size = Some((4_000_000 / ncn).max(1 << 18));
        }
        point
    }

    /// The reference's `state_dict(num_samples, from_beginning)`: where the job stands after
    /// `num_samples` more global samples of the current epoch.
    pub fn state_dict(&self, num_samples: u64, from_beginning: bool) -> ResumeState {
        let mut st = self.state();
        let current = i64::try_from(st.next_epoch).unwrap_or(i64::MAX) - 1;
        // Before any epoch (current = -1) a loaded checkpoint still applies: a state_dict
        // taken right after load_state_dict is that checkpoint, as in the reference.
        let (epoch, offset) = self.resume_point_from(&mut st, current);
        let sample_in_epoch = if from_beginning {
            num_samples
        } else {
            offset + num_samples
        };
        ResumeState {
            epoch,
            sample_in_epoch,
            num_canonical_nodes: st.num_canonical_nodes.unwrap_or(1),
            shuffle_seed: st.shuffle_seed,
            initial_physical_nodes: Some(
                st.initial_physical_nodes
                    .unwrap_or_else(|| self.inner.world.num_nodes()),
            ),
        }
    }

    /// The reference's `load_state_dict`: the next iteration resumes from `state` unless its
    /// epoch is older than [`next_epoch`](Self::next_epoch).
    pub fn load_state_dict(&self, state: ResumeState) {
        self.state().resume = Some(state);
    }

    /// Starts the next epoch for `world` (a worker of this dataset's parallel world with its
    /// DataLoader worker set): resolves epoch and resumption point, advances
    /// [`next_epoch`](Self::next_epoch), and returns this worker's sample ids.
    pub fn begin_epoch(&self, world: World) -> Result<EpochPlan> {
        let (epoch, sample_in_epoch, inputs) = {
            let mut st = self.state();
            let presumed = st.next_epoch;
            let (epoch, sample_in_epoch) = self.resume_point(&mut st, presumed);
            st.next_epoch = epoch + 1;
            (epoch, sample_in_epoch, st.clone())
        };
        let sample_ids = self.worker_ids(&inputs, world, epoch, sample_in_epoch)?;
        Ok(EpochPlan {
            epoch,
            sample_in_epoch,
            sample_ids,
        })
    }

    /// Sample ids `world` reads in `epoch` after skipping `sample_in_epoch`, without touching
    /// the epoch counter (what `mds plan` and tests use).
    pub fn epoch_sample_ids(
        &self,
        world: World,
        epoch: u64,
        sample_in_epoch: u64,
    ) -> Result<Vec<u64>> {
        let st = {
            let mut st = self.state();
            let mut probe = st.clone();
            probe.resume = None;
            self.resume_point(&mut probe, epoch);
            st.num_canonical_nodes = probe.num_canonical_nodes;
            st.shuffle_block_size = probe.shuffle_block_size;
            probe
        };
        self.worker_ids(&st, world, epoch, sample_in_epoch)
    }

    fn worker_ids(
        &self,
        st: &State,
        world: World,
        epoch: u64,
        sample_in_epoch: u64,
    ) -> Result<Vec<u64>> {
        let cfg = &self.inner.cfg;
        let Some(batch_size) = cfg.batch_size else {
            return Err(Error::MissingBatchSize);
        };
        let parallel = match cfg.replication {
            Some(r) if world.num_ranks() != self.inner.world.num_ranks() => world.replicate(r)?,
            _ => world,
        };
        let inputs = PlanInputs {
            streams: &self.inner.layouts,
            weights: &self.inner.weights,
            seed: st.shuffle_seed,
            sampling_method: cfg.sampling_method,
            granularity: cfg.sampling_granularity.get(),
            shuffle: cfg.shuffle,
            shuffle_algo: cfg.shuffle_algo,
            num_canonical_nodes: st.num_canonical_nodes.unwrap_or(1),
            shuffle_block_size: st.shuffle_block_size.unwrap_or(1 << 18),
            partition_algo: cfg.partition_algo,
            batching_method: cfg.batching_method,
            nodes: parallel.num_nodes(),
            ranks_per_node: parallel.ranks_per_node(),
            workers_per_rank: parallel.workers_per_rank(),
            batch_size,
            initial_physical_nodes: st.initial_physical_nodes,
        };
        plan::plan_worker(
            &inputs,
            epoch,
            sample_in_epoch,
            (
                parallel.node(),
                parallel.rank_of_node(),
                parallel.worker_of_rank(),
            ),
        )
    }

    /// Maps a global sample id to `(shard, index in shard)`.
    pub(crate) fn locate(&self, id: u64) -> Option<(usize, u64)> {
        let offs = &self.inner.shard_offsets;
        if id >= *offs.last()? {
            return None;
        }
        let shard = offs.partition_point(|&o| o <= id) - 1;
        Some((shard, id - offs[shard]))
    }

    /// Random access: sample `index` of the underlying samples (`-size..size`; negative
    /// counts from the end). Fetches the shard on demand. Blocking.
    pub fn get(&self, index: i64) -> Result<Sample> {
        let size = self.size();
        let size_i = i64::try_from(size).unwrap_or(i64::MAX);
        let id = if index < 0 { index + size_i } else { index };
        let (shard, idx) = u64::try_from(id)
            .ok()
            .and_then(|id| self.locate(id))
            .ok_or(Error::SampleOutOfRange { index, size })?;
        let cached = self
            .inner
            .last_get
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let open = match cached {
            Some(s) if s.id == shard => s,
            // Keep no pin between calls: an idle caller would hold the cache's room.
            _ if pins_are_scarce(&self.inner) => {
                let s = open_shard(&self.inner, shard)?;
                return s.get(usize::try_from(idx).unwrap_or(usize::MAX));
            }
            _ => {
                let s = Arc::new(open_shard(&self.inner, shard)?);
                *self
                    .inner
                    .last_get
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&s));
                s
            }
        };
        open.get(usize::try_from(idx).unwrap_or(usize::MAX))
    }
}

/// Makes shard `shard` local if needed and opens it. Blocking.
pub(crate) fn open_shard(inner: &Inner, shard: usize) -> Result<OpenShard> {
    let e = &inner.shards[shard];
    match &inner.streams[e.stream].source {
        Source::Remote { .. } => {
            // A shard deleted from `local` between its pin and its open (by hand, mid-epoch)
            // is filled again by the next `get`, as the reference fetches it again.
            let mut attempts = 0;
            loop {
                let pin = fill_pin(inner, shard)?;
                let path = pin.path().to_path_buf();
                match OpenShard::open_file(shard, e, &path) {
                    Err(err) if is_not_found(&err) && attempts < 3 => attempts += 1,
                    opened => return Ok(opened?.with_pin(pin)),
                }
            }
        }
        _ => open_uncached(inner, shard),
    }
}

/// Whether opening a shard failed because its file is gone.
fn is_not_found(err: &Error) -> bool {
    matches!(err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}

/// Opens shard `shard` only if that needs no fill of the cache (a cache hit, or a source
/// without a cache); `None` on a cache miss. Never waits for room or for a fill. Blocking.
pub(crate) fn open_shard_if_cached(inner: &Inner, shard: usize) -> Result<Option<OpenShard>> {
    let e = &inner.shards[shard];
    match &inner.streams[e.stream].source {
        Source::Remote { .. } => {
            let cache = cache_of(inner, shard)?;
            let Some(pin) = cache
                .pin(&e.basename, e.raw_bytes)
                .map_err(|err| cache_error(e, err))?
            else {
                return Ok(None);
            };
            let path = pin.path().to_path_buf();
            match OpenShard::open_file(shard, e, &path) {
                // deleted since the pin: a miss, which `open_shard` fills again
                Err(err) if is_not_found(&err) => Ok(None),
                opened => Ok(Some(opened?.with_pin(pin))),
            }
        }
        _ => open_uncached(inner, shard).map(Some),
    }
}

/// Whether the cache limits what this dataset's pins may hold. Then readers keep no shard
/// open (pinned) beyond an active read, so that no process waits for room held by pins that
/// only another, possibly idle, process's consumer would release.
pub(crate) fn pins_are_scarce(inner: &Inner) -> bool {
    inner.cfg.cache_limit_bytes.is_some()
}

fn cache_error(e: &ShardEntry, source: mds_cache::Error) -> Error {
    Error::Cache {
        stream: e.stream,
        shard: e.basename.clone(),
        source: Box::new(source),
    }
}

/// Opens a shard of a source without a cache (read in place, or copied on demand).
fn open_uncached(inner: &Inner, shard: usize) -> Result<OpenShard> {
    let e = &inner.shards[shard];
    let s = &inner.streams[e.stream];
    let split = s.split.as_deref();
    match &s.source {
        Source::Direct { root } => {
            let raw = shards::join(root, split, &e.basename);
            match &e.zip {
                Some((zip, _)) if !raw.exists() => {
                    let data = decompress(e, &shards::join(root, split, zip))?;
                    OpenShard::from_bytes(shard, e, data)
                }
                _ => OpenShard::open_file(shard, e, &raw),
            }
        }
        Source::Copy { remote, local } => {
            let raw = shards::join(local, split, &e.basename);
            if !raw.exists() {
                match &e.zip {
                    None => write_atomic(
                        &raw,
                        Content::CopyOf(&shards::join(remote, split, &e.basename)),
                    )?,
                    Some((zip, _)) => {
                        let data = decompress(e, &shards::join(remote, split, zip))?;
                        write_atomic(&raw, Content::Bytes(&data))?;
                        if s.keep_zip {
                            write_atomic(
                                &shards::join(local, split, zip),
                                Content::CopyOf(&shards::join(remote, split, zip)),
                            )?;
                        }
                    }
                }
            }
            OpenShard::open_file(shard, e, &raw)
        }
        Source::Remote { .. } => open_shard(inner, shard),
    }
}

/// The node-wide cache of shard `shard`'s stream, opened on first use.
fn cache_of(inner: &Inner, shard: usize) -> Result<&mds_cache::Cache> {
    let e = &inner.shards[shard];
    let s = &inner.streams[e.stream];
    let Source::Remote { local, cache, .. } = &s.source else {
        return Err(Error::param(
            "streams",
            "internal: a cache of a stream read in place",
        ));
    };
    if let Some(c) = cache.get() {
        return Ok(c);
    }
    let dir = s
        .split
        .as_deref()
        .filter(|s| !s.is_empty())
        .map_or_else(|| local.clone(), |s| local.join(s));
    let max_shard = inner
        .shards
        .iter()
        .map(|x| x.raw_bytes.max(x.zip.as_ref().map_or(0, |z| z.1)))
        .max()
        .unwrap_or(0);
    let config = mds_cache::CacheConfig {
        limit_bytes: inner.cfg.cache_limit_bytes,
        max_shard_bytes: max_shard,
        ..mds_cache::CacheConfig::default()
    };
    let c = mds_cache::Cache::open(&dir, config).map_err(|err| cache_error(e, err))?;
    Ok(cache.get_or_init(|| c))
}

/// Shard `shard` of a remote stream, pinned in the cache: downloaded (and decompressed)
/// into it first on a miss. Blocking.
fn fill_pin(inner: &Inner, shard: usize) -> Result<mds_cache::Pin> {
    let e = &inner.shards[shard];
    let s = &inner.streams[e.stream];
    let split = s.split.as_deref();
    let Source::Remote {
        fetcher,
        opts,
        runtime,
        ..
    } = &s.source
    else {
        return Err(Error::param(
            "streams",
            "internal: a fill of a stream read in place",
        ));
    };
    let cache = cache_of(inner, shard)?;
    let key_of = |name: &str| {
        split
            .filter(|s| !s.is_empty())
            .map_or_else(|| name.to_owned(), |s| format!("{s}/{name}"))
    };
    let algo = s.validate_hash.as_deref();
    let pin = cache
        .get(
            &e.basename,
            e.raw_bytes,
            |tmp: &Path| -> std::result::Result<(), mds_fetch::Error> {
                match (&e.zip, e.compression.as_deref()) {
                    (Some((zip, zip_bytes)), Some(comp)) => {
                        let hash = algo.and_then(|a| e.zip_hashes.get(a).map(|h| (a, h.as_str())));
                        let expected = mds_fetch::Expected {
                            size_bytes: Some(*zip_bytes),
                            hash,
                        };
                        let zip_tmp = tmp.with_extension("zip");
                        let to = mds_fetch::Decompress {
                            compression: comp,
                            zip_dest: &zip_tmp,
                            raw_dest: tmp,
                            keep_zip: false,
                            raw_size_bytes: Some(e.raw_bytes),
                        };
                        runtime
                            .block_on(mds_fetch::download_decompress(
                                fetcher.as_ref(),
                                &key_of(zip),
                                &to,
                                &expected,
                                opts,
                            ))
                            .map(drop)
                    }
                    _ => {
                        let hash = algo.and_then(|a| e.raw_hashes.get(a).map(|h| (a, h.as_str())));
                        let expected = mds_fetch::Expected {
                            size_bytes: Some(e.raw_bytes),
                            hash,
                        };
                        runtime
                            .block_on(mds_fetch::download(
                                fetcher.as_ref(),
                                &key_of(&e.basename),
                                tmp,
                                &expected,
                                opts,
                            ))
                            .map(drop)
                    }
                }
            },
        )
        .map_err(|err| cache_error(e, err))?;
    Ok(pin)
}

fn decompress(e: &ShardEntry, zip_path: &Path) -> Result<Bytes> {
    let io = |source| Error::Io {
        path: zip_path.display().to_string(),
        source,
    };
    let data = std::fs::read(zip_path).map_err(io)?;
    let spec = e.compression.clone().unwrap_or_default();
    let err = |source| Error::Decompress {
        stream: e.stream,
        shard: e.basename.clone(),
        compression: spec.clone(),
        source,
    };
    let codec = mds_format::compression::Compression::from_str(&spec).map_err(|x| {
        err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            x.to_string(),
        ))
    })?;
    // At most the raw size index.json records: a hostile file cannot exhaust memory.
    let mut out = Vec::with_capacity(usize::try_from(e.raw_bytes.min(1 << 30)).unwrap_or(0));
    codec
        .decoder(&data[..], e.raw_bytes)
        .and_then(|mut d| std::io::Read::read_to_end(&mut d, &mut out))
        .map_err(err)?;
    Ok(Bytes::from(out))
}
