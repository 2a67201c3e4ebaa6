//! `mds._native.Dataset`: the Rust StreamingDataset behind `mds.StreamingDataset`.
//!
//! Python keeps the configuration (a plain dict) and the shared epoch state; this object is
//! rebuilt in every process from that dict. Every blocking call (index loading, shard
//! downloads, reads) runs with the GIL released.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use mds_dataset::{ResumeState, Sample, SampleStream, Stream, StreamingDataset, World};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::convert::Plans;
use crate::errors::PyMdsError;

fn get<'py, T: FromPyObjectOwned<'py>>(cfg: &Bound<'py, PyDict>, key: &str) -> PyResult<Option<T>> {
    match cfg.get_item(key)? {
        // The parameter's name in the message: pyo3's own says only "can't convert ...".
        Some(v) if !v.is_none() => v.extract::<T>().map(Some).map_err(|e| {
            let e: PyErr = e.into();
            PyValueError::new_err(format!("invalid `{key}` = {v}: {e}"))
        }),
        _ => Ok(None),
    }
}

fn parsed<T: std::str::FromStr<Err = mds_dataset::Error>>(text: &str) -> PyResult<T> {
    text.parse::<T>().map_err(|e| PyMdsError::from(e).into())
}

fn stream_from(cfg: &Bound<'_, PyDict>) -> PyResult<Stream> {
    let mut s = Stream::new();
    if let Some(r) = get::<String>(cfg, "remote")? {
        s = s.with_remote(&r);
    }
    if let Some(l) = get::<String>(cfg, "local")? {
        s = s.with_local(Path::new(&l));
    }
    if let Some(v) = get::<String>(cfg, "split")? {
        s = s.with_split(&v);
    }
    if let Some(v) = get::<f64>(cfg, "proportion")? {
        s = s.with_proportion(v);
    }
    if let Some(v) = get::<f64>(cfg, "repeat")? {
        s = s.with_repeat(v);
    }
    if let Some(v) = get::<u64>(cfg, "choose")? {
        s = s.with_choose(v);
    }
    if let Some(v) = get::<u32>(cfg, "download_retry")? {
        s = s.with_download_retry(v);
    }
    if let Some(v) = get::<f64>(cfg, "download_timeout")? {
        s = s.with_download_timeout(secs(v)?);
    }
    if let Some(v) = get::<String>(cfg, "validate_hash")? {
        s = s.with_validate_hash(&v);
    }
    if let Some(v) = get::<bool>(cfg, "keep_zip")? {
        s = s.with_keep_zip(v);
    }
    Ok(s)
}

fn secs(v: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(v)
        .map_err(|_| PyValueError::new_err(format!("`download_timeout` must be positive, got {v}")))
}

/// Builds the Rust dataset from the dict `mds.StreamingDataset._config()` makes.
fn build(cfg: &Bound<'_, PyDict>) -> PyResult<StreamingDataset> {
    let mut b = StreamingDataset::builder();
    let streams: Vec<Stream> = match cfg.get_item("streams")? {
        Some(list) => list
            .cast::<PyList>()?
            .iter()
            .map(|s| stream_from(s.cast::<PyDict>()?))
            .collect::<PyResult<_>>()?,
        None => Vec::new(),
    };
    b = b.with_streams(streams);
    if let Some(v) = get::<String>(cfg, "split")? {
        b = b.with_split(&v);
    }
    if let Some(v) = get::<u32>(cfg, "download_retry")? {
        b = b.with_download_retry(v);
    }
    if let Some(v) = get::<f64>(cfg, "download_timeout")? {
        b = b.with_download_timeout(secs(v)?);
    }
    if let Some(v) = get::<String>(cfg, "validate_hash")? {
        b = b.with_validate_hash(&v);
    }
    if let Some(v) = get::<bool>(cfg, "keep_zip")? {
        b = b.with_keep_zip(v);
    }
    if let Some(v) = get::<u64>(cfg, "epoch_size")? {
        b = b.with_epoch_size(v);
    }
    if let Some(v) = get::<u64>(cfg, "predownload")? {
        b = b.with_predownload(v);
    }
    if let Some(v) = get::<u64>(cfg, "cache_limit")? {
        b = b.with_cache_limit_bytes(v);
    }
    if let Some(v) = get::<String>(cfg, "sampling_method")? {
        b = b.with_sampling_method(parsed(&v)?);
    }
    if let Some(v) = get::<u64>(cfg, "sampling_granularity")? {
        b = b.with_sampling_granularity(v);
    }
    if let Some(v) = get::<String>(cfg, "partition_algo")? {
        b = b.with_partition_algo(parsed(&v)?);
    }
    if let Some(v) = get::<u32>(cfg, "num_canonical_nodes")? {
        b = b.with_num_canonical_nodes(v);
    }
    if let Some(v) = get::<u32>(cfg, "batch_size")? {
        b = b.with_batch_size(v);
    }
    if let Some(v) = get::<bool>(cfg, "shuffle")? {
        b = b.with_shuffle(v);
    }
    if let Some(v) = get::<String>(cfg, "shuffle_algo")? {
        b = b.with_shuffle_algo(parsed(&v)?);
    }
    if let Some(v) = get::<u64>(cfg, "shuffle_seed")? {
        b = b.with_shuffle_seed(v);
    }
    if let Some(v) = get::<u64>(cfg, "shuffle_block_size")? {
        b = b.with_shuffle_block_size(v);
    }
    if let Some(v) = get::<String>(cfg, "batching_method")? {
        b = b.with_batching_method(parsed(&v)?);
    }
    if let Some(v) = get::<bool>(cfg, "allow_unsafe_types")? {
        b = b.with_allow_unsafe_types(v);
    }
    if let Some(v) = get::<u32>(cfg, "replication")? {
        b = b.with_replication(v);
    }
    b = b.with_runtime(crate::runtime::handle()?);
    let py = cfg.py();
    py.detach(|| b.build())
        .map_err(|e| PyMdsError::from(e).into())
}

fn resume_from(obj: Option<&Bound<'_, PyDict>>) -> PyResult<Option<ResumeState>> {
    let Some(d) = obj else { return Ok(None) };
    let json = d.py().import("json")?.call_method1("dumps", (d,))?;
    let text: String = json.extract()?;
    ResumeState::from_json(&text)
        .map(Some)
        .map_err(|e| PyMdsError::from(e).into())
}

fn world(worker_id: u32, num_workers: u32) -> PyResult<World> {
    World::from_env()
        .and_then(|w| w.with_worker(worker_id, num_workers))
        .map_err(|e| PyMdsError::from(e).into())
}

/// The Rust StreamingDataset (one per process; see `mds.StreamingDataset`).
#[pyclass(module = "mds._native", name = "Dataset")]
#[derive(Debug)]
pub struct PyDataset {
    inner: StreamingDataset,
    allow_pickle: bool,
    plans: Arc<Mutex<Plans>>,
}

#[pymethods]
impl PyDataset {
    /// Loads every stream's index (downloading it if needed). `config`: see
    /// `mds.StreamingDataset._config`.
    #[new]
    fn new(config: &Bound<'_, PyDict>) -> PyResult<Self> {
        let inner = build(config)?;
        Ok(Self {
            inner,
            allow_pickle: get::<bool>(config, "allow_unsafe_types")?.unwrap_or(false),
            plans: Arc::default(),
        })
    }

    /// Samples per epoch for this rank.
    fn len(&self) -> u64 {
        self.inner.len()
    }

    /// Underlying samples over all streams.
    fn size(&self) -> u64 {
        self.inner.size()
    }

    /// Samples per epoch over all ranks.
    fn epoch_size(&self) -> u64 {
        self.inner.epoch_size()
    }

    /// Shards over all streams.
    fn num_shards(&self) -> usize {
        self.inner.num_shards()
    }

    /// Every shard as index.json describes it: dicts with `stream`, `basename`, `bytes`,
    /// `hashes`, `zip` (`(basename, bytes, hashes)` or None), `compression`, `samples`,
    /// `column_names`, `column_encodings`, `column_sizes`, `hash_names`, `size_limit`.
    fn shard_infos<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let mut out = Vec::with_capacity(self.inner.num_shards());
        for i in 0..self.inner.num_shards() {
            let Some(s) = self.inner.shard_info(i) else {
                break;
            };
            let d = PyDict::new(py);
            d.set_item("stream", s.stream)?;
            d.set_item("basename", s.basename)?;
            d.set_item("bytes", s.bytes)?;
            d.set_item("hashes", s.hashes)?;
            d.set_item("zip", s.zip)?;
            d.set_item("compression", s.compression)?;
            d.set_item("samples", s.samples)?;
            d.set_item("column_names", s.column_names)?;
            d.set_item("column_encodings", s.column_encodings)?;
            d.set_item("column_sizes", s.column_sizes)?;
            d.set_item("hash_names", s.hash_names)?;
            d.set_item("size_limit", s.size_limit)?;
            out.push(d);
        }
        Ok(out)
    }

    /// Downloads shard `shard_id` into the cache (blocking, without the GIL).
    fn prepare_shard(&self, py: Python<'_>, shard_id: usize) -> PyResult<()> {
        py.detach(|| self.inner.prepare_shard(shard_id))
            .map_err(|e| PyMdsError::from(e).into())
    }

    /// Removes shard `shard_id` from the cache unless it is being read; whether it was.
    fn evict_shard(&self, py: Python<'_>, shard_id: usize) -> PyResult<bool> {
        py.detach(|| self.inner.evict_shard(shard_id))
            .map_err(|e| PyMdsError::from(e).into())
    }

    /// The reference's warnings for these settings (`mds.StreamingDataset` warns each).
    fn config_warnings(&self) -> Vec<String> {
        self.inner.config_warnings()
    }

    /// Each stream's derived `(proportion, repeat, choose)`.
    fn stream_weights(&self) -> Vec<(f64, f64, u64)> {
        self.inner.stream_weights()
    }

    /// Sample `index` (negative counts from the end) as a dict; fetches its shard if needed.
    fn get<'py>(&self, py: Python<'py>, index: i64) -> PyResult<Bound<'py, PyDict>> {
        let sample = py
            .detach(|| self.inner.get(index))
            .map_err(PyMdsError::from)?;
        let plan = self
            .plans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(py, sample.names(), sample.encodings(), self.allow_pickle)?;
        plan.to_dict(py, sample.into_values(), true)
    }

    /// Starts `epoch` for DataLoader worker `worker_id` of `num_workers` (resuming `resume`
    /// when given) and returns the iterator over this worker's samples: with `prefetch`, fed
    /// by the prefetch pipeline (`predownload` samples ahead); without, reading each sample
    /// on demand (what subclasses that override `get_item` use, through `sample_ids`).
    ///
    /// `in_worker`: this process is a DataLoader worker. Its waits for samples then end with
    /// an error once its parent (the training process) is gone, so that a killed job leaves
    /// no worker behind waiting on a download.
    #[pyo3(signature = (epoch, resume, worker_id, num_workers, prefetch = true, in_worker = false))]
    #[allow(clippy::too_many_arguments)] // one per piece of the worker's identity
    fn begin_epoch(
        &self,
        py: Python<'_>,
        epoch: u64,
        resume: Option<&Bound<'_, PyDict>>,
        worker_id: u32,
        num_workers: u32,
        prefetch: bool,
        in_worker: bool,
    ) -> PyResult<SampleIter> {
        let resume = resume_from(resume)?;
        let world = world(worker_id, num_workers)?;
        self.inner.set_next_epoch(epoch);
        if let Some(r) = resume {
            self.inner.load_state_dict(r);
        }
        let handle = crate::runtime::handle()?;
        let source = if prefetch {
            let inner = &self.inner;
            let stream = py
                .detach(|| {
                    let _entered = handle.enter();
                    inner.stream_for(world)
                })
                .map_err(PyMdsError::from)?;
            Source::Stream(Mutex::new(stream))
        } else {
            let plan = py
                .detach(|| self.inner.begin_epoch(world))
                .map_err(PyMdsError::from)?;
            Source::Ids(plan.sample_ids, 0)
        };
        Ok(SampleIter {
            inner: self.inner.clone(),
            source,
            handle,
            allow_pickle: self.allow_pickle,
            plans: Arc::clone(&self.plans),
            parent: in_worker.then(std::os::unix::process::parent_id),
        })
    }

    /// The reference's `state_dict(num_samples, from_beginning)` given the shared epoch state.
    fn state_dict<'py>(
        &self,
        py: Python<'py>,
        num_samples: u64,
        from_beginning: bool,
        next_epoch: u64,
        resume: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.inner.set_next_epoch(next_epoch);
        if let Some(r) = resume_from(resume)? {
            self.inner.load_state_dict(r);
        }
        let state = self.inner.state_dict(num_samples, from_beginning);
        py.import("json")?.call_method1("loads", (state.to_json(),))
    }
}

/// How long one wait for a sample lasts before Python signals are checked (Ctrl-C).
const TICK: Duration = Duration::from_millis(100);

/// Where an iterator's samples come from.
enum Source {
    /// The prefetch pipeline of mds-dataset.
    Stream(Mutex<SampleStream>),
    /// Sample ids read on demand, and the position reached.
    Ids(Vec<u64>, usize),
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Stream(s) => f.debug_tuple("Stream").field(s).finish(),
            Source::Ids(ids, pos) => write!(f, "Ids({} of {})", pos, ids.len()),
        }
    }
}

/// Iterator over one worker's samples of one epoch (yields dicts).
///
/// Waits for the next sample with the GIL released, in slices of 100 ms between which
/// Python signals are checked, so Ctrl-C interrupts a training loop stuck on a slow bucket.
#[pyclass(module = "mds._native", name = "SampleIter")]
#[derive(Debug)]
pub struct SampleIter {
    inner: StreamingDataset,
    source: Source,
    handle: tokio::runtime::Handle,
    allow_pickle: bool,
    plans: Arc<Mutex<Plans>>,
    /// In a DataLoader worker: the parent's pid when the epoch began.
    parent: Option<u32>,
}

impl SampleIter {
    fn next_sample(&mut self, py: Python<'_>) -> PyResult<Option<Sample>> {
        match &mut self.source {
            Source::Ids(ids, pos) => {
                let Some(&id) = ids.get(*pos) else {
                    return Ok(None);
                };
                *pos += 1;
                let index =
                    i64::try_from(id).map_err(|_| PyValueError::new_err("sample id too large"))?;
                let inner = &self.inner;
                let sample = py.detach(|| inner.get(index)).map_err(PyMdsError::from)?;
                Ok(Some(sample))
            }
            Source::Stream(stream) => {
                let stream = stream.get_mut().unwrap_or_else(PoisonError::into_inner);
                // A ready sample costs one poll; only a real wait goes through the timer.
                if let Some(item) = stream.next().now_or_never() {
                    return item.transpose().map_err(|e| PyMdsError::from(e).into());
                }
                let handle = &self.handle;
                loop {
                    let step = py.detach(|| {
                        handle.block_on(async { tokio::time::timeout(TICK, stream.next()).await })
                    });
                    match step {
                        Ok(item) => {
                            return item.transpose().map_err(|e| PyMdsError::from(e).into());
                        }
                        Err(_elapsed) => {
                            py.check_signals()?;
                            if let Some(p) = self.parent
                                && std::os::unix::process::parent_id() != p
                            {
                                return Err(PyRuntimeError::new_err(format!(
                                    "the DataLoader's main process (pid {p}) exited: this worker stops waiting for samples"
                                )));
                            }
                        }
                    }
                }
            }
        }
    }
}

#[pymethods]
impl SampleIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(sample) = self.next_sample(py)? else {
            return Ok(None);
        };
        let plan = self
            .plans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(py, sample.names(), sample.encodings(), self.allow_pickle)?;
        plan.to_dict(py, sample.into_values(), true).map(Some)
    }

    /// Samples left to yield.
    fn __len__(&self) -> usize {
        match &self.source {
            Source::Stream(s) => s
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .num_samples(),
            Source::Ids(ids, pos) => ids.len() - pos,
        }
    }

    /// The global sample ids this iterator yields (empty for a prefetching iterator).
    fn sample_ids(&self) -> Vec<u64> {
        match &self.source {
            Source::Stream(_) => Vec::new(),
            Source::Ids(ids, _) => ids.clone(),
        }
    }
}
