//! The reference's shuffle algorithms (`streaming/base/shuffle/*.py`, spec §B), plus native
//! fast variants under their own names.
//!
//! Each algorithm maps per-shard sample counts (the dataset's *shuffle units*) to a permutation
//! of `0..N`: position `i` of the epoch reads sample `perm[i]`.

use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::{Rng, SeedableRng};

use crate::error::{Error, Result};
use crate::rng::Generator;

/// A shuffle algorithm.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ShuffleAlgo {
    /// `naive`: one global `permutation(N)` per epoch.
    Naive,
    /// `py1b`: fixed-size blocks within each canonical node (in the reference before 0.13,
    /// which dropped it; kept for old configurations, no reference vectors).
    Py1b,
    /// `py1br`: randomly sized, staggered blocks within each canonical node.
    Py1br,
    /// `py1e`: samples spread over an expanded window around their shard (the default).
    #[default]
    Py1e,
    /// `py1s`: shuffle shard order, then samples within each shard.
    Py1s,
    /// `py2s`: like py1s, but each shard's samples are pre-shuffled once per run.
    Py2s,
    /// Native (not in the reference, orders differ from every reference algorithm): py1s's
    /// shard placement, then one xoshiro256++ Fisher–Yates per canonical node. Fast and
    /// well mixed within a node; name `native-node`.
    NativeNode,
}

impl ShuffleAlgo {
    /// Every algorithm, reference names first.
    pub const ALL: [ShuffleAlgo; 7] = [
        Self::Naive,
        Self::Py1b,
        Self::Py1br,
        Self::Py1e,
        Self::Py1s,
        Self::Py2s,
        Self::NativeNode,
    ];

    /// The name (as the reference spells it, for the reference's algorithms).
    pub fn name(self) -> &'static str {
        match self {
            Self::Naive => "naive",
            Self::Py1b => "py1b",
            Self::Py1br => "py1br",
            Self::Py1e => "py1e",
            Self::Py1s => "py1s",
            Self::Py2s => "py2s",
            Self::NativeNode => "native-node",
        }
    }

    /// Parses a name as given to the reference's `shuffle_algo`.
    pub fn from_name(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| Error::UnknownAlgorithm {
                kind: "shuffle",
                name: name.to_owned(),
            })
    }

    /// The reference's default `num_canonical_nodes` for this algorithm: `64 * physical` for
    /// py1s and py2s, else `physical`.
    pub fn default_num_canonical_nodes(self, num_physical_nodes: u64) -> u64 {
        match self {
            Self::Py1s | Self::Py2s => num_physical_nodes.saturating_mul(64),
            _ => num_physical_nodes,
        }
    }
}

impl std::fmt::Display for ShuffleAlgo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The reference's default `shuffle_block_size`: `max(4_000_000 // num_canonical_nodes, 1 << 18)`.
pub fn default_shuffle_block_size(num_canonical_nodes: u64) -> u64 {
    (4_000_000 / num_canonical_nodes.max(1)).max(1 << 18)
}

/// Inputs of a shuffle besides the shard sizes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShuffleParams {
    /// Which algorithm.
    pub algo: ShuffleAlgo,
    /// Canonical nodes (the reference's `num_canonical_nodes`), at least 1.
    pub num_canonical_nodes: u64,
    /// Run seed (`shuffle_seed`).
    pub seed: u64,
    /// Epoch, added to the seed for the per-epoch generator.
    pub epoch: u64,
    /// `shuffle_block_size` (py1b, py1br, py1e).
    pub block_size: u64,
}

impl Default for ShuffleParams {
    fn default() -> Self {
        Self {
            algo: ShuffleAlgo::Py1e,
            num_canonical_nodes: 1,
            seed: 9176,
            epoch: 0,
            block_size: 1 << 18,
        }
    }
}

/// A permutation of `0..N`, stored in 4 bytes per entry when `N <= 2^32`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Permutation {
    /// Compact form (`N <= 2^32`).
    U32(Vec<u32>),
    /// Wide form.
    U64(Vec<u64>),
}

impl Permutation {
    /// Number of entries.
    pub fn len(&self) -> usize {
        match self {
            Self::U32(v) => v.len(),
            Self::U64(v) => v.len(),
        }
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entry `i`, or `None` past the end.
    #[inline]
    pub fn get(&self, i: usize) -> Option<u64> {
        match self {
            Self::U32(v) => v.get(i).map(|&x| u64::from(x)),
            Self::U64(v) => v.get(i).copied(),
        }
    }

    /// All entries widened to `u64`.
    pub fn to_u64_vec(&self) -> Vec<u64> {
        match self {
            Self::U32(v) => v.iter().map(|&x| u64::from(x)).collect(),
            Self::U64(v) => v.clone(),
        }
    }
}

/// Element type of an id buffer: `u32` or `u64`.
pub(crate) trait Id: Copy + Send + Sync + std::fmt::Debug + 'static {
    fn from_u64(v: u64) -> Self;
}

impl Id for u32 {
    #[inline]
    fn from_u64(v: u64) -> Self {
        // Callers pick u32 only when every id is below 2^32.
        #[allow(clippy::cast_possible_truncation)]
        let x = v as u32;
        x
    }
}

impl Id for u64 {
    #[inline]
    fn from_u64(v: u64) -> Self {
        v
    }
}

/// Runs `params.algo` over `shard_sizes` and returns the epoch's permutation.
///
/// Errors are the reference's `ValueError`s: zero canonical nodes, a block size too small
/// for py1br/py1b, an empty canonical node in py1e.
pub fn shuffle(shard_sizes: &[u64], params: &ShuffleParams) -> Result<Permutation> {
    if params.num_canonical_nodes == 0 {
        return Err(Error::InvalidParam {
            name: "num_canonical_nodes",
            value: 0,
            reason: "must be at least 1",
        });
    }
    let mut total: u64 = 0;
    for &s in shard_sizes {
        total = total.checked_add(s).ok_or(Error::Overflow {
            what: "total sample count",
        })?;
    }
    if total > crate::MAX_SAMPLES {
        return Err(Error::TooLarge {
            name: "total samples (sum of shard sizes)",
            value: total,
            max: crate::MAX_SAMPLES,
        });
    }
    if params.num_canonical_nodes > crate::MAX_CANONICAL_NODES {
        return Err(Error::TooLarge {
            name: "num_canonical_nodes",
            value: params.num_canonical_nodes,
            max: crate::MAX_CANONICAL_NODES,
        });
    }
    if total <= 1 << 32 {
        Ok(Permutation::U32(shuffle_typed::<u32>(shard_sizes, params)?))
    } else {
        Ok(Permutation::U64(shuffle_typed::<u64>(shard_sizes, params)?))
    }
}

fn shuffle_typed<T: Id>(sizes: &[u64], p: &ShuffleParams) -> Result<Vec<T>> {
    match p.algo {
        ShuffleAlgo::Naive => naive(sizes, p),
        ShuffleAlgo::Py1b => py1b(sizes, p),
        ShuffleAlgo::Py1br => py1br(sizes, p),
        ShuffleAlgo::Py1e => py1e(sizes, p),
        ShuffleAlgo::Py1s => py1s(sizes, p),
        ShuffleAlgo::Py2s => py2s(sizes, p),
        ShuffleAlgo::NativeNode => native_node(sizes, p),
    }
}

fn epoch_seed(p: &ShuffleParams) -> u128 {
    u128::from(p.seed) + u128::from(p.epoch)
}

type Span = (u64, u64);

fn spans_of(sizes: &[u64]) -> (Vec<Span>, u64) {
    let mut n = 0;
    let spans = sizes
        .iter()
        .map(|&s| {
            let span = (n, n + s);
            n += s;
            span
        })
        .collect();
    (spans, n)
}

/// Cumulative end of part `part` when `n` samples split into `parts`.
#[inline]
fn part_end(n: u64, part: u64, parts: u64) -> u64 {
    // (n * (part+1)) // parts; u128 keeps the product exact.
    #[allow(clippy::cast_possible_truncation)] // the quotient is at most n
    let e = (u128::from(n) * u128::from(part + 1) / u128::from(parts)) as u64;
    e
}

/// `divide_spans`: cut the (shuffled) spans at the canonical node boundaries.
/// Returns the flat spans and, per part, the half-open range of its spans.
fn divide_spans(mut spans: Vec<Span>, n: u64, parts: u64) -> (Vec<Span>, Vec<(usize, usize)>) {
    let mut out = Vec::with_capacity(spans.len() + usize::try_from(parts).unwrap_or(0));
    let mut supers = Vec::new();
    let mut begin = 0;
    let mut idx = 0;
    let mut so_far = 0;
    for part in 0..parts {
        let end = part_end(n, part, parts);
        while idx < spans.len() {
            let (b, e) = spans[idx];
            let len = e - b;
            if end < so_far + len {
                if so_far < end {
                    let split = end - so_far;
                    out.push((b, b + split));
                    spans[idx] = (b + split, e);
                    so_far += split;
                }
                break;
            }
            out.push((b, e));
            idx += 1;
            so_far += len;
        }
        supers.push((begin, out.len()));
        begin = out.len();
    }
    (out, supers)
}

/// py1s steps 1–3: shard spans shuffled once per run, divided over canonical nodes, then
/// shuffled within each node per epoch. Returns the spans, node ranges and epoch generator.
fn node_spans(
    sizes: &[u64],
    p: &ShuffleParams,
) -> (Vec<Span>, Vec<(usize, usize)>, u64, Generator) {
    let (mut spans, n) = spans_of(sizes);
    Generator::new(u128::from(p.seed)).shuffle(&mut spans);
    let (mut spans, supers) = divide_spans(spans, n, p.num_canonical_nodes);
    let mut erng = Generator::new(epoch_seed(p));
    for &(b, e) in &supers {
        erng.shuffle(&mut spans[b..e]);
    }
    (spans, supers, n, erng)
}

fn naive<T: Id>(sizes: &[u64], p: &ShuffleParams) -> Result<Vec<T>> {
    let n: u64 = sizes.iter().sum();
    let mut ids: Vec<T> = alloc_ids(n)?;
    ids.extend((0..n).map(T::from_u64));
    Generator::new(epoch_seed(p)).shuffle(&mut ids);
    Ok(ids)
}

fn py1s<T: Id>(sizes: &[u64], p: &ShuffleParams) -> Result<Vec<T>> {
    let (spans, _, n, mut erng) = node_spans(sizes, p);
    let mut ids: Vec<T> = alloc_ids(n)?;
    for (b, e) in spans {
        let off = ids.len();
        ids.extend((b..e).map(T::from_u64));
        erng.shuffle(&mut ids[off..]);
    }
    Ok(ids)
}

fn py1b<T: Id>(sizes: &[u64], p: &ShuffleParams) -> Result<Vec<T>> {
    let bs = usize::try_from(p.block_size).unwrap_or(usize::MAX);
    if bs == 0 {
        return Err(Error::BlockSizeTooSmall {
            algo: "py1b",
            block_size: p.block_size,
        });
    }
    let (spans, supers, n, mut erng) = node_spans(sizes, p);
    let mut ids: Vec<T> = alloc_ids(n)?;
    for (sb, se) in supers {
        let node_start = ids.len();
        for &(b, e) in &spans[sb..se] {
            ids.extend((b..e).map(T::from_u64));
        }
        let node_end = ids.len();
        let mut start = node_start;
        while start < node_end {
            let stop = start.saturating_add(bs).min(node_end);
            erng.shuffle(&mut ids[start..stop]);
            start = stop;
        }
    }
    Ok(ids)
}

/// Largest `shuffle_block_size` whose `int(1.25 * bs)` fits numpy's int64 bounds.
const MAX_BLOCK_SIZE: u64 = 7_378_697_629_483_820_032;

/// `int(0.75 * bs)` and `int(1.25 * bs)` with the reference's float arithmetic.
///
/// Errors: `lo >= hi` (only `bs == 0`: numpy's empty range), or `1.25 * bs` past int64
/// (numpy: "high is out of bounds").
fn block_bounds(algo: &'static str, block_size: u64) -> Result<(i64, i64)> {
    if block_size > MAX_BLOCK_SIZE {
        return Err(Error::TooLarge {
            name: "shuffle_block_size",
            value: block_size,
            max: MAX_BLOCK_SIZE,
        });
    }
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
    // Python converts the int to float, multiplies and truncates; so do we.
    let f = |k: f64| (k * block_size as f64) as i64;
    let (lo, hi) = (f(0.75), f(1.25));
    if lo >= hi {
        return Err(Error::BlockSizeTooSmall { algo, block_size });
    }
    Ok((lo, hi))
}

/// An empty id buffer with room for `n` ids, or an error instead of an allocation abort.
fn alloc_ids<T>(n: u64) -> Result<Vec<T>> {
    let oom = || Error::OutOfMemory {
        what: "shuffle permutation",
        count: n,
    };
    let len = usize::try_from(n).map_err(|_| oom())?;
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| oom())?;
    Ok(v)
}

#[allow(clippy::many_single_char_names)] // the spec's notation
fn py1br<T: Id>(sizes: &[u64], p: &ShuffleParams) -> Result<Vec<T>> {
    let (spans, supers, n, mut erng) = node_spans(sizes, p);
    let (lo, hi) = block_bounds("py1br", p.block_size)?;
    let c = usize::try_from(p.num_canonical_nodes).map_err(|_| Error::Overflow {
        what: "num_canonical_nodes",
    })?;
    let too_small = |_| Error::BlockSizeTooSmall {
        algo: "py1br",
        block_size: p.block_size,
    };
    let stagger = erng.integers(0, lo, c, false).map_err(too_small)?;
    let mut ids: Vec<T> = alloc_ids(n)?;
    let mut ranges = Vec::new();
    for (node, (sb, se)) in supers.into_iter().enumerate() {
        let node_start = ids.len();
        for &(b, e) in &spans[sb..se] {
            ids.extend((b..e).map(T::from_u64));
        }
        let node_stop = ids.len();
        let (ns, ne) = (to_i128(node_start), to_i128(node_stop));
        let st = i128::from(stagger[node]);
        ranges.clear();
        let mut blocks_end = ns;
        while blocks_end < ne {
            let rbs = i128::from(erng.integer(lo, hi).map_err(too_small)?);
            let start = (blocks_end - st).max(ns);
            let stop = (blocks_end + rbs - st).min(ne);
            ranges.push((start, stop));
            blocks_end += stop - start;
        }
        for &(start, stop) in &ranges {
            let (a, b) = (from_i128(start), from_i128(stop.max(start)));
            erng.shuffle(&mut ids[a..b]);
        }
    }
    Ok(ids)
}

fn to_i128(v: usize) -> i128 {
    i128::try_from(v).unwrap_or(i128::MAX)
}

fn from_i128(v: i128) -> usize {
    usize::try_from(v).unwrap_or(0)
}

fn py2s<T: Id>(sizes: &[u64], p: &ShuffleParams) -> Result<Vec<T>> {
    let (spans, total) = spans_of(sizes);
    // Reserve the output first: if the epoch cannot fit, fail before building the shards.
    let mut out = alloc_ids(total)?;
    let mut shards: Vec<Vec<T>> = spans
        .iter()
        .map(|&(b, e)| (b..e).map(T::from_u64).collect())
        .collect();
    let mut fixed = Generator::new(u128::from(p.seed));
    fixed.shuffle(&mut shards);
    for s in &mut shards {
        fixed.shuffle(s);
    }
    let parts_n = p.num_canonical_nodes;
    let mut parts: Vec<Vec<Vec<T>>> = Vec::new();
    let mut idx = 0;
    let mut so_far = 0u64;
    for part in 0..parts_n {
        let end = part_end(total, part, parts_n);
        let mut new = Vec::new();
        while idx < shards.len() {
            let len = shards[idx].len() as u64;
            if end < so_far + len {
                if so_far < end {
                    let split = usize::try_from(end - so_far).unwrap_or(0);
                    let rest = shards[idx].split_off(split);
                    new.push(std::mem::replace(&mut shards[idx], rest));
                    so_far = end;
                }
                break;
            }
            new.push(std::mem::take(&mut shards[idx]));
            idx += 1;
            so_far += len;
        }
        parts.push(new);
    }
    let mut erng = Generator::new(epoch_seed(p));
    for mut part in parts {
        erng.shuffle(&mut part);
        for s in &mut part {
            erng.shuffle(s);
        }
        for s in part {
            out.extend(s);
        }
    }
    Ok(out)
}

/// Most threads one py1e plan uses.
const MAX_PLAN_THREADS: usize = 8;

fn py1e<T: Id>(sizes: &[u64], p: &ShuffleParams) -> Result<Vec<T>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(MAX_PLAN_THREADS);
    py1e_with(sizes, p, threads)
}

/// [`py1e`] on up to `threads` threads: with several canonical nodes, nodes in parallel;
/// with one, its sort beside the drawing of its positions; with one thread, all inline.
/// Every way gives the same order (tested).
fn py1e_with<T: Id>(sizes: &[u64], p: &ShuffleParams, threads: usize) -> Result<Vec<T>> {
    let (spans, supers, n, mut erng) = node_spans(sizes, p);
    let (lo, hi) = block_bounds("py1e", p.block_size)?;
    let mut ids: Vec<T> = alloc_ids(n)?;
    let mut node_sizes = Vec::with_capacity(supers.len());
    for (node, &(cb, ce)) in supers.iter().enumerate() {
        let m: u64 = spans[cb..ce].iter().map(|&(b, e)| e - b).sum();
        if m == 0 {
            return Err(Error::EmptyCanonicalNode {
                node: node as u64,
                num_canonical_nodes: p.num_canonical_nodes,
                num_samples: n,
            });
        }
        node_sizes.push(m);
    }
    // n fits usize (alloc_ids checked), and so does every node size, a part of it.
    ids.resize(usize::try_from(n).unwrap_or(0), T::from_u64(0));
    let window = u64::try_from(hi.max(0)).unwrap_or(0) / 2 + 2;
    let mut nodes = Vec::with_capacity(supers.len());
    let mut rest: &mut [T] = &mut ids;
    for (&(cb, ce), &m) in supers.iter().zip(&node_sizes) {
        let (node_ids, tail) =
            std::mem::take(&mut rest).split_at_mut(usize::try_from(m).unwrap_or(usize::MAX));
        rest = tail;
        nodes.push(NodeJob {
            ids: node_ids,
            spans: &spans[cb..ce],
            m,
        });
    }
    if threads >= 2 && nodes.len() >= 2 {
        // The nodes draw from one generator in turn, so each node's starting state is found
        // by making its draws without their work (shuffle draws, then a jump over its
        // positions), and the nodes then run in parallel.
        let mut jobs = Vec::with_capacity(nodes.len());
        for job in nodes {
            let start = erng.clone();
            for &(b, e) in job.spans {
                erng.skip_shuffle(usize::try_from(e - b).unwrap_or(usize::MAX));
            }
            for &(b, e) in job.spans {
                erng.integer(lo, hi)?;
                erng.bit_generator().skip_u64(u128::from(e - b));
            }
            jobs.push((start, job));
        }
        let queue = std::sync::Mutex::new(jobs.into_iter());
        let work = || -> Result<()> {
            loop {
                let next = match queue.lock() {
                    Ok(mut q) => q.next(),
                    // Another thread panicked holding it; the scope re-raises that panic.
                    Err(_) => None,
                };
                let Some((mut rng, job)) = next else {
                    return Ok(());
                };
                let mut sorter = Sorter::Inline(Box::new(WindowSort::new(window)));
                py1e_node(job.ids, job.spans, job.m, (lo, hi), &mut rng, &mut sorter)?;
            }
        };
        let work = &work;
        std::thread::scope(|scope| {
            let helpers: Vec<_> = (1..threads.min(supers.len()))
                .filter_map(|_| {
                    std::thread::Builder::new()
                        .name("mds-py1e-node".into())
                        .spawn_scoped(scope, work)
                        .ok()
                })
                .collect();
            let mut result = work();
            for h in helpers {
                match h.join() {
                    Ok(r) => result = result.and(r),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            result
        })?;
    } else {
        std::thread::scope(|scope| {
            let mut sorter = Sorter::start(scope, window, threads >= 2);
            for job in nodes {
                py1e_node(job.ids, job.spans, job.m, (lo, hi), &mut erng, &mut sorter)?;
            }
            Ok(())
        })?;
    }
    Ok(ids)
}

/// One canonical node of a py1e plan: its slots, spans and size.
struct NodeJob<'a, T> {
    ids: &'a mut [T],
    spans: &'a [Span],
    m: u64,
}

/// py1e for one canonical node, in the reference's draw order: every span's ids shuffled,
/// then each span's block size and its positions, which `sorter` turns into the order.
fn py1e_node<'s, 'v: 's, T: Id>(
    node_ids: &'v mut [T],
    spans: &[Span],
    m: u64,
    (lo, hi): (i64, i64),
    erng: &mut Generator,
    sorter: &mut Sorter<'s, 'v, T>,
) -> Result<()> {
    let mut at = 0usize;
    for &(b, e) in spans {
        let span = &mut node_ids[at..][..usize::try_from(e - b).unwrap_or(usize::MAX)];
        for (slot, id) in span.iter_mut().zip(b..e) {
            *slot = T::from_u64(id);
        }
        erng.shuffle(span);
        at += span.len();
    }
    sorter.begin(node_ids);
    let mut positions = PosGen::new(spans, m, lo, hi);
    let mut chunk = sorter.chunk();
    let mut k = 0u64;
    while positions.open_span(erng)? {
        let (low, range) = (positions.low, positions.range);
        for _ in 0..positions.left {
            #[allow(clippy::cast_precision_loss)] // exact below 2^53 samples per node
            chunk.push(k as f64 + (low + range * erng.next_double()));
            k += 1;
            if chunk.len() == CHUNK {
                sorter.positions(chunk);
                chunk = sorter.chunk();
            }
        }
    }
    sorter.positions(chunk);
    sorter.end();
    Ok(())
}

/// Streams py1e's float positions `k + shift_k` of one canonical node, drawing from the epoch
/// generator in exactly the reference's order (per span: one block size, then its shifts).
struct PosGen<'a> {
    spans: &'a [Span],
    next_span: usize,
    m: u64,
    lo: i64,
    hi: i64,
    off: u64,
    left: u64,
    low: f64,
    range: f64,
}

impl<'a> PosGen<'a> {
    fn new(spans: &'a [Span], m: u64, lo: i64, hi: i64) -> Self {
        Self {
            spans,
            next_span: 0,
            m,
            lo,
            hi,
            off: 0,
            left: 0,
            low: 0.0,
            range: 0.0,
        }
    }

    /// Starts the next span: draws its block size and fixes its shift range.
    fn open_span(&mut self, erng: &mut Generator) -> Result<bool> {
        let Some(&(b, e)) = self.spans.get(self.next_span) else {
            return Ok(false);
        };
        if self.next_span > 0 {
            let (pb, pe) = self.spans[self.next_span - 1];
            self.off += pe - pb;
        }
        self.next_span += 1;
        let z = e - b;
        let r = erng.integer(self.lo, self.hi)?;
        #[allow(clippy::cast_precision_loss)] // exact below 2^53 samples per node
        let (zf, mf, of) = (z as f64, self.m as f64, self.off as f64);
        #[allow(clippy::cast_precision_loss)]
        let mut cut = (i128::from(r) - i128::from(z)) as f64 / 2.0;
        if cut < 0.0 {
            cut = 0.0;
        }
        let low = if -cut >= -of { -cut } else { -of };
        let up_bound = mf - of - zf;
        let up = if cut <= up_bound { cut } else { up_bound };
        self.range = Generator::uniform_range(low, up)?;
        self.low = low;
        self.left = z;
        Ok(true)
    }
}

/// Bin width (in position units) of py1e's windowed sort: 2^16 keeps a bin's counters and
/// scratch in L2.
const BIN_SHIFT: u32 = 16;

/// Positions handed from the drawing thread to the sorting one at a time (512 KiB).
const CHUNK: usize = 1 << 16;

/// A bin of `(position, id)` items, in index order.
type Bin<T> = Vec<(f64, T)>;

/// Sorts one canonical node by `(position, index)` in a sliding window.
///
/// Every position lies within `window` of its index, so after reading index `k` every
/// position below `k + 1 - window` is final. Items are appended, in index order, to bins of
/// `2^BIN_SHIFT` position units; a bin that can receive nothing more is sorted into the next
/// slots of the node (their values were read already: an item's rank is at most the number
/// of items read). Memory is O(window), not O(node).
struct WindowSort<'v, T> {
    window: u64,
    bins: std::collections::VecDeque<Bin<T>>,
    spare: Vec<Bin<T>>,
    sort: BinSort,
    /// The node's slots not yet written: `vals[done..]` of the node being sorted.
    rest: &'v mut [T],
    done: usize,
    /// Items read so far (the index of the next position).
    k: usize,
    base_bin: u64,
}

impl<'v, T: Id> WindowSort<'v, T> {
    fn new(window: u64) -> Self {
        Self {
            window,
            bins: std::collections::VecDeque::new(),
            spare: Vec::new(),
            sort: BinSort::new(),
            rest: &mut [],
            done: 0,
            k: 0,
            base_bin: 0,
        }
    }

    /// Starts a node whose shuffled ids are `vals`; they are replaced by their sorted order.
    fn begin(&mut self, vals: &'v mut [T]) {
        self.rest = vals;
        self.done = 0;
        self.k = 0;
        self.base_bin = 0;
    }

    /// Takes the positions of the next items, in index order.
    fn positions(&mut self, positions: &[f64]) {
        // The drawing side stops at the node's size, so `k` stays within it.
        for &pos in positions {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            // pos >= 0 (see PosGen), so truncation is floor
            let bin = (pos as u64) >> BIN_SHIFT;
            // bin >= base_bin: only bins below k + 1 - window have been retired.
            let rel = usize::try_from(bin.saturating_sub(self.base_bin)).unwrap_or(usize::MAX);
            while self.bins.len() <= rel {
                self.bins.push_back(self.spare.pop().unwrap_or_default());
            }
            let Some(&v) = self.rest.get(self.k - self.done) else {
                return;
            };
            self.bins[rel].push((pos, v));
            self.k += 1;
            let limit = (self.k as u64).saturating_sub(self.window);
            while !self.bins.is_empty() && (self.base_bin + 1) << BIN_SHIFT <= limit {
                self.retire_front();
            }
        }
    }

    /// Sorts the bins left once the node's last position is in.
    fn end(&mut self) {
        while !self.bins.is_empty() {
            self.retire_front();
        }
    }

    fn retire_front(&mut self) {
        let Some(mut bin) = self.bins.pop_front() else {
            return;
        };
        let (out, rest) = std::mem::take(&mut self.rest).split_at_mut(bin.len());
        self.rest = rest;
        self.done += bin.len();
        self.sort.run(&bin, self.base_bin << BIN_SHIFT, out);
        self.base_bin += 1;
        bin.clear();
        self.spare.push(bin);
    }
}

/// What the drawing thread sends the sorting one.
enum Msg<'v, T> {
    Begin(&'v mut [T]),
    Positions(Vec<f64>),
    End,
}

/// py1e's sort of each canonical node: on a second thread when one can be started, so that
/// sorting overlaps drawing the positions (sequential: one generator), else inline.
enum Sorter<'s, 'v, T> {
    Thread {
        tx: Option<std::sync::mpsc::SyncSender<Msg<'v, T>>>,
        /// Position buffers given back.
        chunks: std::sync::mpsc::Receiver<Vec<f64>>,
        handle: Option<std::thread::ScopedJoinHandle<'s, ()>>,
    },
    Inline(Box<WindowSort<'v, T>>),
}

impl<'s, 'v: 's, T: Id> Sorter<'s, 'v, T> {
    fn start(scope: &'s std::thread::Scope<'s, '_>, window: u64, threaded: bool) -> Self {
        if !threaded {
            return Self::Inline(Box::new(WindowSort::new(window)));
        }
        // A few chunks in flight absorb jitter between the two sides.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Msg<'v, T>>(4);
        let (give_back, chunks) = std::sync::mpsc::channel::<Vec<f64>>();
        let spawned = std::thread::Builder::new()
            .name("mds-py1e-sort".into())
            .spawn_scoped(scope, move || {
                let mut sort = WindowSort::new(window);
                for msg in rx {
                    match msg {
                        Msg::Begin(vals) => sort.begin(vals),
                        Msg::Positions(mut chunk) => {
                            sort.positions(&chunk);
                            chunk.clear();
                            // Fails only once the drawing side is done: then drop it.
                            let _ = give_back.send(chunk);
                        }
                        Msg::End => sort.end(),
                    }
                }
            });
        match spawned {
            Ok(handle) => Self::Thread {
                tx: Some(tx),
                chunks,
                handle: Some(handle),
            },
            Err(_) => Self::Inline(Box::new(WindowSort::new(window))),
        }
    }

    fn send(&mut self, msg: Msg<'v, T>) {
        if let Self::Thread { tx: Some(tx), .. } = self {
            // The thread ends only when `tx` is dropped, short of a panic, which the scope
            // re-raises.
            let _ = tx.send(msg);
        }
    }

    fn begin(&mut self, vals: &'v mut [T]) {
        match self {
            Self::Inline(sort) => sort.begin(vals),
            Self::Thread { .. } => self.send(Msg::Begin(vals)),
        }
    }

    /// An empty position buffer of capacity [`CHUNK`].
    fn chunk(&mut self) -> Vec<f64> {
        let reused = match self {
            Self::Thread { chunks, .. } => chunks.try_recv().ok(),
            Self::Inline(_) => None,
        };
        reused.unwrap_or_else(|| Vec::with_capacity(CHUNK))
    }

    fn positions(&mut self, mut chunk: Vec<f64>) {
        match self {
            Self::Inline(sort) => {
                sort.positions(&chunk);
                chunk.clear();
            }
            Self::Thread { .. } => self.send(Msg::Positions(chunk)),
        }
    }

    fn end(&mut self) {
        match self {
            Self::Inline(sort) => sort.end(),
            Self::Thread { .. } => self.send(Msg::End),
        }
    }
}

impl<T> Drop for Sorter<'_, '_, T> {
    fn drop(&mut self) {
        if let Self::Thread { tx, handle, .. } = self {
            // Closing the channel ends the thread once it has handled every message.
            drop(tx.take());
            if let Some(h) = handle.take() {
                // A panic there is re-raised by the scope.
                let _ = h.join();
            }
        }
    }
}

/// Counting sort of one bin by `floor(position)` (stable, so ties keep index order) straight
/// into the output slots, positions beside them, then one insertion pass by position.
struct BinSort {
    counts: Vec<u32>,
    /// `positions[i]` is the position of the value in output slot `i`.
    positions: Vec<f64>,
}

impl BinSort {
    fn new() -> Self {
        Self {
            counts: vec![0; (1 << BIN_SHIFT) + 1],
            positions: Vec::new(),
        }
    }

    /// Writes the values of `bin` (whose positions are `lo..lo + 2^BIN_SHIFT`) to `out`
    /// (as long as `bin`) in `(position, index)` order.
    fn run<T: Copy>(&mut self, bin: &[(f64, T)], lo: u64, out: &mut [T]) {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let bucket =
            |pos: f64| ((pos as u64).saturating_sub(lo) as usize).min((1 << BIN_SHIFT) - 1);
        self.counts.fill(0);
        for &(pos, _) in bin {
            self.counts[bucket(pos) + 1] += 1;
        }
        // Running total in a register: summing in place would wait on each store.
        let mut total = 0u32;
        for c in &mut self.counts {
            total += *c;
            *c = total;
        }
        self.positions.clear();
        self.positions.resize(bin.len(), 0.0);
        for &(pos, v) in bin {
            let b = bucket(pos);
            let at = self.counts[b] as usize;
            self.counts[b] += 1;
            self.positions[at] = pos;
            out[at] = v;
        }
        // Sorted by floor(position) now, and stable; items sharing a floor (about one in
        // four) are put in order by one insertion pass, which moves few items.
        let pos = &mut self.positions;
        for i in 1..pos.len() {
            let (p, v) = (pos[i], out[i]);
            let mut j = i;
            while j > 0 && pos[j - 1] > p {
                pos[j] = pos[j - 1];
                out[j] = out[j - 1];
                j -= 1;
            }
            pos[j] = p;
            out[j] = v;
        }
    }
}

fn native_node<T: Id>(sizes: &[u64], p: &ShuffleParams) -> Result<Vec<T>> {
    let (spans, supers, n, _) = node_spans(sizes, p);
    let mut ids: Vec<T> = alloc_ids(n)?;
    let seed = u64::try_from(epoch_seed(p) & u128::from(u64::MAX)).unwrap_or(0);
    for (node, (sb, se)) in supers.into_iter().enumerate() {
        let start = ids.len();
        for &(b, e) in &spans[sb..se] {
            ids.extend((b..e).map(T::from_u64));
        }
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(
            seed ^ (node as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        );
        let part = &mut ids[start..];
        for i in (1..part.len()).rev() {
            // Lemire's nearly-divisionless bounded draw; bias below 2^-32 for node sizes < 2^32.
            let r = u128::from(rng.next_u64()) * (i as u128 + 1);
            #[allow(clippy::cast_possible_truncation)]
            let j = (r >> 64) as usize;
            part.swap(i, j);
        }
    }
    Ok(ids)
}

#[cfg(test)]
#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_wrap,
    clippy::cast_possible_truncation,
    clippy::many_single_char_names
)] // small test data
mod tests {
    use super::*;

    /// py1e as the model writes it: materialize every position, then sort by (pos, index).
    fn py1e_full_sort(sizes: &[u64], p: &ShuffleParams) -> Vec<u64> {
        let (spans, supers, _, mut erng) = node_spans(sizes, p);
        let (lo, hi) = block_bounds("py1e", p.block_size).unwrap();
        let mut ids = Vec::new();
        for (cb, ce) in supers {
            let cn = &spans[cb..ce];
            let m: u64 = cn.iter().map(|&(b, e)| e - b).sum();
            let mut samples = Vec::new();
            for &(b, e) in cn {
                let mut seg: Vec<u64> = (b..e).collect();
                erng.shuffle(&mut seg);
                samples.extend(seg);
            }
            let mut pos: Vec<f64> = (0..m).map(|k| k as f64).collect();
            let mut off = 0u64;
            for &(b, e) in cn {
                let z = e - b;
                let r = erng.integer(lo, hi).unwrap();
                let cut = (((r - z as i64) as f64) / 2.0).max(0.0);
                let low = (-cut).max(-(off as f64));
                let up = cut.min((m - off - z) as f64);
                let shifts = erng.uniform(low, up, z as usize).unwrap();
                for (k, s) in shifts.into_iter().enumerate() {
                    let i = off as usize + k;
                    pos[i] += s;
                }
                off += z;
            }
            let mut order: Vec<usize> = (0..pos.len()).collect();
            order.sort_by(|&a, &b| pos[a].total_cmp(&pos[b]).then(a.cmp(&b)));
            ids.extend(order.into_iter().map(|i| samples[i]));
        }
        ids
    }

    #[test]
    fn windowed_py1e_equals_full_sort_across_many_bins() {
        let sizes: Vec<u64> = (0..60).map(|i| 3000 + (i * 7919) % 5000).collect();
        for (c, bs) in [(1, 20_000), (2, 150_000), (3, 1 << 18), (1, 7)] {
            let p = ShuffleParams {
                algo: ShuffleAlgo::Py1e,
                num_canonical_nodes: c,
                seed: 5,
                epoch: 1,
                block_size: bs,
            };
            let want = py1e_full_sort(&sizes, &p);
            for threads in [1, 2, 3, 8] {
                let got = py1e_with::<u32>(&sizes, &p, threads).unwrap();
                let got: Vec<u64> = got.into_iter().map(u64::from).collect();
                assert_eq!(got, want, "c {c} bs {bs} threads {threads}");
            }
        }
    }
}
