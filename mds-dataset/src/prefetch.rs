//! The prefetch pipeline behind [`SampleIter`] and [`SampleStream`].
//!
//! A producer task walks the worker's sample list one *run* (consecutive samples of one
//! shard) at a time. It takes one permit of a `predownload`-sized semaphore per sample it
//! moves past, so it is never more than `predownload` samples ahead of the consumer, which
//! returns permits as it decodes. At the first sample of a run it starts preparing the
//! run's shard (fetch, decompress, open) on the blocking pool, sharing the preparation with
//! later runs of the same shard. Runs go down a bounded channel in batches of about
//! [`PIECE`] samples (a shuffle makes most runs one sample long, and one channel hand-off
//! per sample would cost more than reading it); a batch is sent early whenever the producer
//! is about to wait for permits, since the consumer returns them only for samples it has.
//! No loop sleeps: every wait is on a semaphore, a channel or the preparation itself.
//!
//! With a cache limit, room in the cache is scarce and shared by every process of the node,
//! so nothing may stay pinned while its reader is idle (an idle DataLoader worker would hold
//! room that a busy one waits for, and a shuffled epoch would pin its whole dataset). Then the
//! producer hands pieces of about [`PIECE`] samples to reading tasks on the blocking pool,
//! which pin each shard only while they copy its samples out ([`read_piece`]); the consumer
//! gets samples that reference no shard, and a shard evicted between two reads is fetched
//! again when it is next needed. Memory then holds up to `predownload` samples.

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use tokio::sync::{Semaphore, mpsc};

use crate::dataset::{
    EpochPlan, Inner, StreamingDataset, open_shard, open_shard_if_cached, pins_are_scarce,
};
use crate::error::{Error, Result};
use crate::shards::{OpenShard, Releaser, Sample};
use crate::world::World;

type Prepared = Shared<BoxFuture<'static, Result<Arc<OpenShard>, Arc<Error>>>>;

/// Samples decoded per step; also how often permits go back to the producer.
const PIECE: usize = 64;

/// Shards open (being fetched, or read) at once when there is no cache limit, however far
/// ahead of the sample window: enough concurrent downloads to reach what the store serves.
const SHARDS_AHEAD: usize = 6;

/// What the producer hands the consumer.
enum Run {
    /// Samples of an open (pinned) shard, decoded by the consumer.
    Open {
        prepared: Prepared,
        /// Indices within the shard.
        idx: Vec<u32>,
    },
    /// Samples copied out by a reading task: they pin nothing.
    Read(tokio::task::JoinHandle<Result<Vec<Sample>>>),
}

/// What both iterators share: the receiving end of the pipeline.
struct Consumer {
    rx: mpsc::Receiver<Result<Vec<Run>>>,
    /// Runs received and not started yet.
    runs: VecDeque<Run>,
    sem: Arc<Semaphore>,
    task: tokio::task::JoinHandle<()>,
    current: Option<(Arc<OpenShard>, Vec<u32>, usize)>,
    buffer: VecDeque<Sample>,
    /// Gives back mapped pages of samples already yielded.
    releaser: Releaser,
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
        shard.read_many(piece, Some(&mut self.releaser), &mut |s| buf.push_back(s))?;
        self.sem.add_permits(piece.len());
        *pos = end;
        Ok(true)
    }

    fn take_run(&mut self, idx: Vec<u32>, shard: Result<Arc<OpenShard>, Arc<Error>>) -> Result<()> {
        let shard = shard.map_err(Error::Prepare)?;
        self.current = Some((shard, idx, 0));
        Ok(())
    }

    /// Takes the samples of a reading task, and gives their permits back.
    fn take_read(
        &mut self,
        read: std::result::Result<Result<Vec<Sample>>, tokio::task::JoinError>,
    ) -> Result<()> {
        let samples = read.map_err(|_| Error::PrefetchStopped)??;
        self.sem.add_permits(samples.len());
        self.buffer.extend(samples);
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
            let Some(run) = self.runs.pop_front() else {
                match self.rx.blocking_recv() {
                    Some(Ok(batch)) => self.runs.extend(batch),
                    Some(Err(e)) => return Some(Err(self.fail(e))),
                    None => return self.finish_blocking(),
                }
                continue;
            };
            let taken = match run {
                // Most shards are ready by the time their runs arrive: no waker needed then.
                Run::Open { prepared, idx } => {
                    let shard = match prepared.peek() {
                        Some(r) => r.clone(),
                        None => futures::executor::block_on(prepared),
                    };
                    self.take_run(idx, shard)
                }
                Run::Read(task) => {
                    let read = futures::executor::block_on(task);
                    self.take_read(read)
                }
            };
            if let Err(e) = taken {
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
            let Some(run) = self.runs.pop_front() else {
                match self.rx.recv().await {
                    Some(Ok(batch)) => self.runs.extend(batch),
                    Some(Err(e)) => return Some(Err(self.fail(e))),
                    None => return self.finish_async().await,
                }
                continue;
            };
            let taken = match run {
                Run::Open { prepared, idx } => {
                    let shard = match prepared.peek() {
                        Some(r) => r.clone(),
                        None => prepared.await,
                    };
                    self.take_run(idx, shard)
                }
                Run::Read(task) => {
                    let read = task.await;
                    self.take_read(read)
                }
            };
            if let Err(e) = taken {
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

/// Shard and index within it of underlying sample `id`, as
/// [`StreamingDataset::locate`] computes it.
fn locate(offsets: &[u64], id: u64) -> Option<(usize, u32)> {
    if id >= *offsets.last()? {
        return None;
    }
    let shard = offsets.partition_point(|&o| o <= id) - 1;
    Some((shard, u32::try_from(id - offsets[shard]).ok()?))
}

/// Runs ready to send and the samples they hold.
#[derive(Default)]
struct Batch {
    runs: Vec<Run>,
    samples: usize,
}

impl Batch {
    /// Sends the batch if it holds anything; false if the consumer is gone.
    async fn flush(&mut self, tx: &mpsc::Sender<Result<Vec<Run>>>) -> bool {
        if self.runs.is_empty() {
            return true;
        }
        self.samples = 0;
        tx.send(Ok(std::mem::take(&mut self.runs))).await.is_ok()
    }
}

/// Takes `n` permits, sending `batch` first if that means waiting (the consumer gives
/// permits back only for samples it has received). False if the pipeline is shutting down.
async fn permits(
    sem: &Semaphore,
    n: u32,
    batch: &mut Batch,
    tx: &mpsc::Sender<Result<Vec<Run>>>,
) -> bool {
    match sem.try_acquire_many(n) {
        Ok(p) => {
            p.forget();
            true
        }
        Err(tokio::sync::TryAcquireError::Closed) => false,
        Err(tokio::sync::TryAcquireError::NoPermits) => {
            if !batch.flush(tx).await {
                return false;
            }
            match sem.acquire_many(n).await {
                Ok(p) => {
                    p.forget();
                    true
                }
                Err(_) => false,
            }
        }
    }
}

/// Samples of each shard among `ids` (blocking; run off the producer's path).
fn count_per_shard(offsets: &[u64], ids: &[u64]) -> Vec<u64> {
    let mut n = vec![0u64; offsets.len().saturating_sub(1)];
    for &id in ids {
        if let Some((shard, _)) = locate(offsets, id) {
            n[shard] += 1;
        }
    }
    n
}

async fn produce(
    inner: Arc<Inner>,
    ids: Arc<Vec<u64>>,
    sem: Arc<Semaphore>,
    tx: mpsc::Sender<Result<Vec<Run>>>,
    window: u32,
) {
    let offsets = &inner.shard_offsets;
    // The producer lets go of a shard after its last run (the consumer then closes it when
    // done with it, which unpins it in the cache). Counting every shard's samples takes a
    // pass over the whole list, so it runs beside the first runs instead of before them;
    // until it is known, shards stay open.
    let mut counting = {
        let (o, i) = (offsets.clone(), Arc::clone(&ids));
        Some(tokio::task::spawn_blocking(move || count_per_shard(&o, &i)))
    };
    let mut left: Option<Vec<u64>> = None;
    let mut sent = vec![0u64; offsets.len().saturating_sub(1)];
    let mut open: HashMap<usize, Prepared> = HashMap::new();
    let mut batch = Batch::default();
    // Without a cache limit, shards are also fetched ahead of the sample window until
    // SHARDS_AHEAD are open, so that downloads overlap (a window of 2048 samples is less
    // than one shard of 8 KiB samples). With a limit, pins of shards fetched ahead could
    // hold the space that the consumer's next shard needs, so only the window applies.
    let ahead = if inner.cfg.cache_limit_bytes.is_none() {
        SHARDS_AHEAD
    } else {
        0
    };
    let mut scan = 0;
    let mut i = 0;
    while i < ids.len() {
        // the next run: samples of one shard in a row
        let Some((shard, first)) = locate(offsets, ids[i]) else {
            let _ = batch.flush(&tx).await;
            let _ = tx
                .send(Err(Error::SampleOutOfRange {
                    index: i64::try_from(ids[i]).unwrap_or(i64::MAX),
                    size: offsets.last().copied().unwrap_or(0),
                }))
                .await;
            return;
        };
        let mut idx = vec![first];
        i += 1;
        while let Some((s, k)) = ids.get(i).and_then(|&id| locate(offsets, id)) {
            if s != shard {
                break;
            }
            idx.push(k);
            i += 1;
        }
        if !permits(&sem, 1, &mut batch, &tx).await {
            return;
        }
        if let Some(h) = counting.as_mut()
            && let Some(done) = h.now_or_never()
        {
            counting = None;
            let Ok(totals) = done else { return };
            let rest: Vec<u64> = totals.iter().zip(&sent).map(|(t, s)| t - s).collect();
            open.retain(|s, _| rest.get(*s).is_some_and(|&n| n > 0));
            left = Some(rest);
        }
        let prepared = open
            .entry(shard)
            .or_insert_with(|| prepare(&inner, shard))
            .clone();
        if let Some(left) = &left {
            scan = scan.max(i);
            while open.len() < ahead && scan < ids.len() {
                if let Some((s, _)) = locate(offsets, ids[scan])
                    && left[s] > 0
                {
                    open.entry(s).or_insert_with(|| prepare(&inner, s));
                }
                scan += 1;
            }
        }
        let n = idx.len() as u64;
        match left.as_mut() {
            Some(left) => {
                left[shard] -= n;
                if left[shard] == 0 {
                    open.remove(&shard);
                }
            }
            None => sent[shard] += n,
        }
        let mut rest = u32::try_from(idx.len() - 1).unwrap_or(u32::MAX);
        batch.samples += idx.len();
        batch.runs.push(Run::Open { prepared, idx });
        if batch.samples >= PIECE && !batch.flush(&tx).await {
            return;
        }
        while rest > 0 {
            let k = rest.min(window);
            if !permits(&sem, k, &mut batch, &tx).await {
                return;
            }
            rest -= k;
        }
    }
    batch.flush(&tx).await;
}

/// Reads `piece` (runs of `(shard, indices within it)`) into owned samples, holding each
/// shard's pin only while this call runs. Blocking.
///
/// Shards already in the cache are kept open for the rest of the piece. Before a shard must
/// be filled, every shard this call holds is closed first: the fill may have to wait for
/// room, and must not wait for pins of its own.
fn read_piece(inner: &Inner, piece: &[(usize, Vec<u32>)]) -> Result<Vec<Sample>> {
    let mut out = Vec::with_capacity(piece.iter().map(|(_, idx)| idx.len()).sum());
    let mut open: Vec<(usize, OpenShard)> = Vec::new();
    for (shard, idx) in piece {
        let at = if let Some(at) = open.iter().position(|(s, _)| s == shard) {
            at
        } else {
            let opened = if let Some(s) = open_shard_if_cached(inner, *shard)? {
                s
            } else {
                open.clear();
                open_shard(inner, *shard)?
            };
            open.push((*shard, opened));
            open.len() - 1
        };
        // No releaser: every sample is copied, so none references the shard's mapping.
        open[at].1.read_many(idx, None, &mut |x| out.push(x))?;
    }
    Ok(out)
}

/// The producer when pins are scarce (see the module docs): one permit per sample, and
/// pieces of about [`PIECE`] samples read by tasks that pin nothing once they end.
async fn produce_read(
    inner: Arc<Inner>,
    ids: Arc<Vec<u64>>,
    sem: Arc<Semaphore>,
    tx: mpsc::Sender<Result<Vec<Run>>>,
) {
    let offsets = &inner.shard_offsets;
    let mut piece: Vec<(usize, Vec<u32>)> = Vec::new();
    let mut samples = 0usize;
    // Hands the piece to a reading task and sends its handle; false if the consumer is gone.
    let flush = |piece: &mut Vec<(usize, Vec<u32>)>, samples: &mut usize| {
        let taken = std::mem::take(piece);
        *samples = 0;
        let inner = Arc::clone(&inner);
        let tx = tx.clone();
        async move {
            if taken.is_empty() {
                return true;
            }
            let task = tokio::task::spawn_blocking(move || read_piece(&inner, &taken));
            tx.send(Ok(vec![Run::Read(task)])).await.is_ok()
        }
    };
    for &id in ids.iter() {
        let Some((shard, k)) = locate(offsets, id) else {
            let _ = flush(&mut piece, &mut samples).await;
            let _ = tx
                .send(Err(Error::SampleOutOfRange {
                    index: i64::try_from(id).unwrap_or(i64::MAX),
                    size: offsets.last().copied().unwrap_or(0),
                }))
                .await;
            return;
        };
        match sem.try_acquire() {
            Ok(p) => p.forget(),
            Err(tokio::sync::TryAcquireError::Closed) => return,
            Err(tokio::sync::TryAcquireError::NoPermits) => {
                // The consumer gives permits back only for samples it has: send them first.
                if !flush(&mut piece, &mut samples).await {
                    return;
                }
                match sem.acquire().await {
                    Ok(p) => p.forget(),
                    Err(_) => return,
                }
            }
        }
        match piece.last_mut() {
            Some((s, idx)) if *s == shard => idx.push(k),
            _ => piece.push((shard, vec![k])),
        }
        samples += 1;
        if samples >= PIECE && !flush(&mut piece, &mut samples).await {
            return;
        }
    }
    let _ = flush(&mut piece, &mut samples).await;
}

fn start(ds: &StreamingDataset, plan: EpochPlan, handle: &tokio::runtime::Handle) -> Consumer {
    let info = Arc::new(EpochPlanInfo {
        epoch: plan.epoch,
        sample_in_epoch: plan.sample_in_epoch,
        total: plan.sample_ids.len(),
    });
    let window = u32::try_from(ds.inner.cfg.predownload().max(1))
        .unwrap_or(u32::MAX >> 4)
        .min(1 << 28);
    let sem = Arc::new(Semaphore::new(window as usize));
    // Batches of about PIECE samples: room for `window` samples' worth, at least two.
    let slots = usize::try_from(window).unwrap_or(usize::MAX) / PIECE;
    let (tx, rx) = mpsc::channel(slots.clamp(2, 1024));
    let ids = Arc::new(plan.sample_ids);
    let task = if pins_are_scarce(&ds.inner) {
        handle.spawn(produce_read(
            Arc::clone(&ds.inner),
            ids,
            Arc::clone(&sem),
            tx,
        ))
    } else {
        handle.spawn(produce(
            Arc::clone(&ds.inner),
            ids,
            Arc::clone(&sem),
            tx,
            window,
        ))
    };
    Consumer {
        rx,
        runs: VecDeque::new(),
        sem,
        task,
        current: None,
        buffer: VecDeque::new(),
        releaser: Releaser::default(),
        plan: info,
        failed: false,
    }
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
            consumer: start(self, plan, &handle),
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
        let consumer = start(self, plan, &tokio::runtime::Handle::current());
        let info = Arc::clone(&consumer.plan);
        // Fused: polled again after its end (a Python iterator's next() after
        // StopIteration, say) it stays ended instead of panicking.
        let inner =
            futures::StreamExt::fuse(futures::stream::unfold(consumer, |mut c| async move {
                c.next_async().await.map(|r| (r, c))
            }));
        Ok(SampleStream {
            inner: Box::pin(inner),
            plan: info,
        })
    }
}
