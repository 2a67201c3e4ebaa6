//! The prefetch pipeline behind [`SampleIter`] and [`SampleStream`].
//!
//! A producer task walks the worker's sample list one *run* (consecutive samples of one
//! shard) at a time. It takes one permit of a `predownload`-sized semaphore per sample it
//! moves past, so it is never more than `predownload` samples ahead of the consumer, which
//! returns permits as it decodes. At the first sample of a run it starts preparing the
//! run's shard (fetch, decompress, open) on the blocking pool, sharing the preparation with
//! later runs of the same shard, and hands the run down a bounded channel. No loop sleeps:
//! every wait is on a semaphore, a channel or the preparation itself.

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use tokio::sync::{Semaphore, mpsc};

use crate::dataset::{EpochPlan, Inner, StreamingDataset, open_shard};
use crate::error::{Error, Result};
use crate::shards::{OpenShard, Sample};
use crate::world::World;

type Prepared = Shared<BoxFuture<'static, Result<Arc<OpenShard>, Arc<Error>>>>;

/// Samples decoded per step; also how often permits go back to the producer.
const PIECE: usize = 64;

struct Run {
    prepared: Prepared,
    /// Indices within the shard.
    idx: Vec<u32>,
}

/// What both iterators share: the receiving end of the pipeline.
struct Consumer {
    rx: mpsc::Receiver<Run>,
    sem: Arc<Semaphore>,
    task: tokio::task::JoinHandle<()>,
    current: Option<(Arc<OpenShard>, Vec<u32>, usize)>,
    buffer: VecDeque<Sample>,
    plan: Arc<EpochPlanInfo>,
    failed: bool,
}

#[derive(Debug)]
struct EpochPlanInfo {
    epoch: u64,
    sample_in_epoch: u64,
    total: usize,
}

impl Drop for Consumer {
    fn drop(&mut self) {
        self.sem.close();
        self.task.abort();
    }
}

impl Consumer {
    /// Decodes the next piece of the current run into the buffer; false if none is left.
    fn fill_from_current(&mut self) -> Result<bool> {
        let Some((shard, idx, pos)) = &mut self.current else {
            return Ok(false);
        };
        if *pos >= idx.len() {
            self.current = None;
            return Ok(false);
        }
        let end = (*pos + PIECE).min(idx.len());
        let piece = &idx[*pos..end];
        let buf = &mut self.buffer;
        shard.read_many(piece, &mut |s| buf.push_back(s))?;
        self.sem.add_permits(piece.len());
        *pos = end;
        Ok(true)
    }

    fn take_run(&mut self, run: Run, shard: Result<Arc<OpenShard>, Arc<Error>>) -> Result<()> {
        let shard = shard.map_err(Error::Prepare)?;
        self.current = Some((shard, run.idx, 0));
        Ok(())
    }

    fn next_blocking(&mut self) -> Option<Result<Sample>> {
        loop {
            if let Some(s) = self.buffer.pop_front() {
                return Some(Ok(s));
            }
            if self.failed {
                return None;
            }
            match self.fill_from_current() {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => return Some(Err(self.fail(e))),
            }
            let Some(run) = self.rx.blocking_recv() else {
                return self.finish_blocking();
            };
            let shard = futures::executor::block_on(run.prepared.clone());
            if let Err(e) = self.take_run(run, shard) {
                return Some(Err(self.fail(e)));
            }
        }
    }

    async fn next_async(&mut self) -> Option<Result<Sample>> {
        loop {
            if let Some(s) = self.buffer.pop_front() {
                return Some(Ok(s));
            }
            if self.failed {
                return None;
            }
            match self.fill_from_current() {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => return Some(Err(self.fail(e))),
            }
            let Some(run) = self.rx.recv().await else {
                return self.finish_async().await;
            };
            let shard = run.prepared.clone().await;
            if let Err(e) = self.take_run(run, shard) {
                return Some(Err(self.fail(e)));
            }
        }
    }

    fn fail(&mut self, e: Error) -> Error {
        self.failed = true;
        self.sem.close();
        e
    }

    /// The channel closed: the producer either finished or died.
    fn finish_blocking(&mut self) -> Option<Result<Sample>> {
        self.failed = true;
        if self.task.is_finished() {
            let res = futures::executor::block_on(&mut self.task);
            return res.is_err().then(|| Err(Error::PrefetchStopped));
        }
        None
    }

    async fn finish_async(&mut self) -> Option<Result<Sample>> {
        self.failed = true;
        let res = (&mut self.task).await;
        res.is_err().then(|| Err(Error::PrefetchStopped))
    }
}

/// Runs of consecutive samples of one shard: `(shard, indices in shard)`.
fn runs(ds: &StreamingDataset, ids: &[u64]) -> Result<Vec<(usize, Vec<u32>)>> {
    let mut out: Vec<(usize, Vec<u32>)> = Vec::new();
    for &id in ids {
        let (shard, idx) = ds.locate(id).ok_or(Error::SampleOutOfRange {
            index: i64::try_from(id).unwrap_or(i64::MAX),
            size: ds.size(),
        })?;
        let idx = u32::try_from(idx).unwrap_or(u32::MAX);
        match out.last_mut() {
            Some((s, v)) if *s == shard => v.push(idx),
            _ => out.push((shard, vec![idx])),
        }
    }
    Ok(out)
}

fn prepare(inner: &Arc<Inner>, shard: usize) -> Prepared {
    let inner = Arc::clone(inner);
    let handle = tokio::task::spawn_blocking(move || open_shard(&inner, shard).map(Arc::new));
    async move {
        match handle.await {
            Ok(r) => r.map_err(Arc::new),
            Err(_) => Err(Arc::new(Error::PrefetchStopped)),
        }
    }
    .boxed()
    .shared()
}

async fn produce(
    inner: Arc<Inner>,
    runs: Vec<(usize, Vec<u32>)>,
    sem: Arc<Semaphore>,
    tx: mpsc::Sender<Run>,
    window: u32,
) {
    // Last run index of each shard, so the producer lets go of a shard after it.
    let mut last_use: HashMap<usize, usize> = HashMap::new();
    for (i, (shard, _)) in runs.iter().enumerate() {
        last_use.insert(*shard, i);
    }
    let mut open: HashMap<usize, Prepared> = HashMap::new();
    for (i, (shard, idx)) in runs.into_iter().enumerate() {
        let Ok(p) = sem.acquire().await else { return };
        p.forget();
        let prepared = open
            .entry(shard)
            .or_insert_with(|| prepare(&inner, shard))
            .clone();
        if last_use.get(&shard) == Some(&i) {
            open.remove(&shard);
        }
        let mut rest = u32::try_from(idx.len() - 1).unwrap_or(u32::MAX);
        if tx.send(Run { prepared, idx }).await.is_err() {
            return;
        }
        while rest > 0 {
            let k = rest.min(window);
            let Ok(p) = sem.acquire_many(k).await else {
                return;
            };
            p.forget();
            rest -= k;
        }
    }
}

fn start(
    ds: &StreamingDataset,
    plan: &EpochPlan,
    handle: &tokio::runtime::Handle,
) -> Result<Consumer> {
    let info = Arc::new(EpochPlanInfo {
        epoch: plan.epoch,
        sample_in_epoch: plan.sample_in_epoch,
        total: plan.sample_ids.len(),
    });
    let runs = runs(ds, &plan.sample_ids)?;
    let window = u32::try_from(ds.inner.cfg.predownload().max(1))
        .unwrap_or(u32::MAX >> 4)
        .min(1 << 28);
    let sem = Arc::new(Semaphore::new(window as usize));
    let (tx, rx) = mpsc::channel(usize::try_from(window).unwrap_or(1024).clamp(1, 1024));
    let task = handle.spawn(produce(
        Arc::clone(&ds.inner),
        runs,
        Arc::clone(&sem),
        tx,
        window,
    ));
    Ok(Consumer {
        rx,
        sem,
        task,
        current: None,
        buffer: VecDeque::new(),
        plan: info,
        failed: false,
    })
}

/// Synchronous iterator over one worker's samples of one epoch.
///
/// Created by [`StreamingDataset::iter`]. `next` blocks the calling thread while a shard is
/// prepared, so it must not be called from inside an async runtime.
pub struct SampleIter {
    consumer: Consumer,
    yielded: u64,
}

impl std::fmt::Debug for SampleIter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SampleIter")
            .field("plan", &self.consumer.plan)
            .field("yielded", &self.yielded)
            .finish_non_exhaustive()
    }
}

impl SampleIter {
    /// The epoch being read.
    pub fn epoch(&self) -> u64 {
        self.consumer.plan.epoch
    }
    /// Global samples skipped at the start because of a resumption.
    pub fn sample_in_epoch(&self) -> u64 {
        self.consumer.plan.sample_in_epoch
    }
    /// Samples this worker yields in this epoch (padding excluded).
    pub fn num_samples(&self) -> usize {
        self.consumer.plan.total
    }
    /// Samples yielded so far.
    pub fn yielded(&self) -> u64 {
        self.yielded
    }
}

impl Iterator for SampleIter {
    type Item = Result<Sample>;
    fn next(&mut self) -> Option<Self::Item> {
        let r = self.consumer.next_blocking();
        if matches!(r, Some(Ok(_))) {
            self.yielded += 1;
        }
        r
    }
}

/// Asynchronous stream over one worker's samples of one epoch; see [`StreamingDataset::stream`].
pub struct SampleStream {
    inner: Pin<Box<dyn futures::Stream<Item = Result<Sample>> + Send>>,
    plan: Arc<EpochPlanInfo>,
}

impl std::fmt::Debug for SampleStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SampleStream")
            .field("plan", &self.plan)
            .finish_non_exhaustive()
    }
}

impl SampleStream {
    /// The epoch being read.
    pub fn epoch(&self) -> u64 {
        self.plan.epoch
    }
    /// Samples this worker yields in this epoch.
    pub fn num_samples(&self) -> usize {
        self.plan.total
    }
}

impl futures::Stream for SampleStream {
    type Item = Result<Sample>;
    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl StreamingDataset {
    /// Iterates the next epoch for this dataset's world (one worker per rank).
    ///
    /// Needs the runtime given to the builder's `with_runtime`; blocking, so call it from a
    /// plain thread, never from inside an async runtime.
    #[allow(clippy::iter_not_returning_iterator)] // fallible: the Ok value is the iterator
    pub fn iter(&self) -> Result<SampleIter> {
        self.iter_for(self.inner.world)
    }

    /// Iterates the next epoch as `world` (a rank with its DataLoader worker set).
    pub fn iter_for(&self, world: World) -> Result<SampleIter> {
        let handle = self.inner.runtime.clone().ok_or(Error::NoRuntime)?;
        let plan = self.begin_epoch(world)?;
        Ok(SampleIter {
            consumer: start(self, &plan, &handle)?,
            yielded: 0,
        })
    }

    /// Streams the next epoch for this dataset's world on the current tokio runtime.
    ///
    /// # Panics
    /// When called outside a tokio runtime.
    pub fn stream(&self) -> Result<SampleStream> {
        self.stream_for(self.inner.world)
    }

    /// Streams the next epoch as `world` on the current tokio runtime.
    ///
    /// # Panics
    /// When called outside a tokio runtime.
    pub fn stream_for(&self, world: World) -> Result<SampleStream> {
        let plan = self.begin_epoch(world)?;
        let consumer = start(self, &plan, &tokio::runtime::Handle::current())?;
        let info = Arc::clone(&consumer.plan);
        let inner = futures::stream::unfold(consumer, |mut c| async move {
            c.next_async().await.map(|r| (r, c))
        });
        Ok(SampleStream {
            inner: Box::pin(inner),
            plan: info,
        })
    }
}
