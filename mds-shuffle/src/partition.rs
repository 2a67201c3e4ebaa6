//! The reference's sample partitions (`streaming/base/partition/{orig,relaxed}.py`, spec §C),
//! computed lazily: any element of the `(nodes, ranks, workers, batches, batch_size)` array is
//! an O(1) formula, so a 1e9-sample epoch needs no materialized array.
//!
//! Entries are *positions in the epoch order* (indices into the shuffle's permutation);
//! `None` is the reference's `-1` padding.

use crate::error::{Error, Result};

/// A partition algorithm.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PartitionAlgo {
    /// `orig`: canonical and physical node counts must divide one another.
    Orig,
    /// `relaxed` (the default): `orig`, except that resuming on a node count incompatible with
    /// the canonical one slices the partition built for the initial node count.
    #[default]
    Relaxed,
}

impl PartitionAlgo {
    /// The reference's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Orig => "orig",
            Self::Relaxed => "relaxed",
        }
    }

    /// Parses a name as given to the reference's `partition_algo`.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "orig" => Ok(Self::Orig),
            "relaxed" => Ok(Self::Relaxed),
            _ => Err(Error::UnknownAlgorithm {
                kind: "partition",
                name: name.to_owned(),
            }),
        }
    }
}

/// Inputs of a partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionParams {
    /// Which algorithm.
    pub algo: PartitionAlgo,
    /// Samples in the epoch.
    pub num_samples: u64,
    /// Canonical nodes.
    pub num_canonical_nodes: u64,
    /// Physical nodes now.
    pub num_physical_nodes: u64,
    /// Ranks (devices) per node.
    pub ranks_per_node: u64,
    /// DataLoader workers per rank.
    pub workers_per_rank: u64,
    /// Per-device batch size.
    pub batch_size: u64,
    /// Samples already seen this epoch (`sample_in_epoch` on resume).
    pub drop_first: u64,
    /// Physical nodes the run started with (`initial_physical_nodes`), if resuming.
    pub initial_physical_nodes: Option<u64>,
}

impl Default for PartitionParams {
    fn default() -> Self {
        Self {
            algo: PartitionAlgo::Relaxed,
            num_samples: 0,
            num_canonical_nodes: 1,
            num_physical_nodes: 1,
            ranks_per_node: 1,
            workers_per_rank: 1,
            batch_size: 1,
            drop_first: 0,
            initial_physical_nodes: None,
        }
    }
}

/// The `orig` layout for fixed `(N, C, P, R, W, B, drop)`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Orig {
    n: u64,
    c: u64,
    p: u64,
    r: u64,
    w: u64,
    b: u64,
    drop: u64,
    spc: u64,
    width: u64,
    pad: u64,
    /// Source columns of the padding (one entry = broadcast).
    pad_src: Vec<u64>,
    /// `N > C or (N == C and C >= P)`.
    rows_mode: bool,
    /// Samples per node after dropping (`S`).
    s: u64,
    /// Node row length after rank padding (`S'`).
    s2: u64,
    /// Rank padding: `Some(start)` = slice at `start`, `None` = cycle.
    rank_pad_from: Option<u64>,
    per_rank: u64,
    batches: u64,
    /// `row * N // C` for every row and `N` at the end (when `C` is small enough to tabulate).
    row_start: Vec<u64>,
}

/// Largest canonical node count whose row starts are tabulated (8 bytes each).
const ROW_TABLE_MAX: u64 = 1 << 22;

/// `a * b / c` without intermediate overflow (`a <= c`, so the result fits).
#[inline]
fn mul_div(a: u64, b: u64, c: u64) -> u64 {
    #[allow(clippy::cast_possible_truncation)] // a <= c makes the quotient <= b
    let q = (u128::from(a) * u128::from(b) / u128::from(c)) as u64;
    q
}

fn ceil_div(a: u64, b: u64) -> u64 {
    a.div_ceil(b)
}

fn overflow(what: &'static str) -> Error {
    Error::Overflow { what }
}

fn nonzero(name: &'static str, value: u64) -> Result<()> {
    if value == 0 {
        return Err(Error::InvalidParam {
            name,
            value,
            reason: "must be at least 1",
        });
    }
    Ok(())
}

fn at_most(name: &'static str, value: u64, max: u64) -> Result<()> {
    if value > max {
        return Err(Error::TooLarge { name, value, max });
    }
    Ok(())
}

/// Python slice `[start:stop]` on a length-`len` axis (negative indices from the end):
/// the resolved `(start, stop)`, `stop >= start`.
fn py_slice(len: u64, start: i128, stop: i128) -> (u64, u64) {
    let l = i128::from(len);
    let fix = |i: i128| if i < 0 { (l + i).max(0) } else { i.min(l) };
    let (a, b) = (fix(start), fix(stop));
    let a = u64::try_from(a).unwrap_or(0);
    let b = u64::try_from(b).unwrap_or(0);
    (a, b.max(a))
}

impl Orig {
    #[allow(clippy::too_many_arguments, clippy::many_single_char_names)]
    fn new(n: u64, c: u64, p: u64, r: u64, w: u64, b: u64, drop_first: u64) -> Result<Self> {
        if (c < p && !p.is_multiple_of(c)) || (p < c && !c.is_multiple_of(p)) {
            return Err(Error::IndivisibleNodes {
                canonical: c,
                physical: p,
            });
        }
        let drop = drop_first - drop_first % p;
        let spc = ceil_div(n, c);
        let (node_ratio, pad) = if c < p {
            let nr = p / c;
            (nr, (nr - spc % nr) % nr)
        } else {
            (0, 0)
        };
        let width = spc + pad;
        let rows_mode = n > c || (n == c && c >= p);
        let mut pad_src = Vec::new();
        if pad > 0 && rows_mode {
            let (pi, ri) = (i128::from(pad), i128::from(node_ratio));
            let (a, z) = py_slice(width, -2 * pi - ri + 1, -pi - ri + 1);
            let len = z - a;
            if len != pad && len != 1 {
                return Err(Error::PaddingBroadcast {
                    padding: pad,
                    source_len: len,
                });
            }
            pad_src = (a..z).collect();
        }
        let total = c
            .checked_mul(width)
            .ok_or_else(|| overflow("partition size"))?;
        let remaining = total.saturating_sub(drop);
        if remaining % p != 0 {
            return Err(Error::Reshape {
                remaining,
                physical: p,
            });
        }
        let s = remaining / p;
        let mut s2 = s;
        let mut rank_pad_from = None;
        let of = s % r;
        if of != 0 {
            let under = r - of;
            // r, under <= MAX_SAMPLES (checked in `Partition::new`): no overflow.
            if r + under - 1 <= s {
                let (a, _) = py_slice(
                    s,
                    -i128::from(r) - i128::from(under) + 1,
                    -i128::from(r) + 1,
                );
                rank_pad_from = Some(a);
            }
            s2 = s
                .checked_add(under)
                .ok_or_else(|| overflow("rank-padded node size"))?;
        }
        let per_rank = s2 / r;
        let wb = w
            .checked_mul(b)
            .ok_or_else(|| overflow("workers_per_rank * batch_size"))?;
        let batches = ceil_div(per_rank, wb);
        let row_start = if rows_mode && c <= ROW_TABLE_MAX {
            (0..=c).map(|row| mul_div(row, n, c)).collect()
        } else {
            Vec::new()
        };
        Ok(Self {
            n,
            c,
            p,
            r,
            w,
            b,
            drop,
            spc,
            width,
            pad,
            pad_src,
            rows_mode,
            s,
            s2,
            rank_pad_from,
            per_rank,
            batches,
            row_start,
        })
    }

    /// `ids[row][col]` of the canonical matrix.
    #[inline]
    fn cell(&self, row: u64, col: u64) -> u64 {
        if !self.rows_mode {
            return (row * self.width + col) % self.n;
        }
        let (start, stop) = self.row_bounds(row);
        self.cell_in_row(col, start, stop)
    }

    /// `(row * N // C, (row + 1) * N // C)`: where canonical row `row` starts and ends.
    #[inline]
    fn row_bounds(&self, row: u64) -> (u64, u64) {
        let at = usize::try_from(row).unwrap_or(usize::MAX);
        match (
            self.row_start.get(at),
            self.row_start.get(at.wrapping_add(1)),
        ) {
            (Some(&a), Some(&z)) => (a, z),
            _ => (
                mul_div(row, self.n, self.c),
                mul_div(row + 1, self.n, self.c),
            ),
        }
    }

    /// [`Self::cell`] in rows mode, given the row's [`Self::row_bounds`].
    #[inline]
    fn cell_in_row(&self, col: u64, start: u64, stop: u64) -> u64 {
        let col = if col >= self.spc {
            let k = usize::try_from(col - self.spc).unwrap_or(0);
            if self.pad_src.len() == 1 {
                self.pad_src[0]
            } else {
                self.pad_src[k]
            }
        } else {
            col
        };
        let mut v = start + col;
        if stop - start < self.spc && col == self.spc - 1 {
            v -= 1;
        }
        v
    }

    /// Element `k` of physical node `node`'s row (before rank padding).
    #[inline]
    fn node_elem(&self, node: u64, k: u64) -> u64 {
        let j = self.drop + k * self.p + node;
        self.cell(j % self.c, j / self.c)
    }

    /// Element `k < S'` of the rank-padded node row.
    #[inline]
    fn node_elem_padded(&self, node: u64, k: u64) -> u64 {
        if k < self.s {
            return self.node_elem(node, k);
        }
        let e = k - self.s;
        match self.rank_pad_from {
            Some(a) => self.node_elem(node, a + e),
            None => self.node_elem(node, e % self.s),
        }
    }

    #[inline]
    fn get(&self, node: u64, rank: u64, worker: u64, batch: u64, slot: u64) -> Option<u64> {
        let i = (batch * self.w + worker) * self.b + slot;
        if i >= self.per_rank {
            return None;
        }
        Some(self.node_elem_padded(node, i * self.r + rank))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Layout {
    Orig(Orig),
    /// Elastic: the initial-node-count partition read in `(batch, worker, node, rank, slot)`
    /// order and re-cut for the current world.
    Sliced {
        inner: Orig,
        p: u64,
        r: u64,
        w: u64,
        b: u64,
    },
}

/// A lazily evaluated partition of shape `(nodes, ranks, workers, batches, batch_size)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    layout: Layout,
    shape: [u64; 5],
}

impl Partition {
    /// Validates the parameters and fixes the layout, as `get_partitions` does.
    #[allow(clippy::many_single_char_names)] // the spec's notation: N, C, P, R, W, B
    pub fn new(params: &PartitionParams) -> Result<Self> {
        let &PartitionParams {
            algo,
            num_samples: n,
            num_canonical_nodes: c,
            num_physical_nodes: p,
            ranks_per_node: r,
            workers_per_rank: w,
            batch_size: b,
            drop_first,
            initial_physical_nodes,
        } = params;
        nonzero("num_canonical_nodes", c)?;
        nonzero("num_physical_nodes", p)?;
        nonzero("ranks_per_node", r)?;
        nonzero("workers_per_rank", w)?;
        nonzero("batch_size", b)?;
        at_most("num_canonical_nodes", c, crate::MAX_CANONICAL_NODES)?;
        at_most("num_physical_nodes", p, crate::MAX_SAMPLES)?;
        at_most("ranks_per_node", r, crate::MAX_SAMPLES)?;
        at_most("workers_per_rank", w, crate::MAX_SAMPLES)?;
        at_most("batch_size", b, crate::MAX_SAMPLES)?;
        at_most("num_samples", n, crate::MAX_SAMPLES)?;
        let world = r.checked_mul(p).ok_or_else(|| overflow("world size"))?;
        let limit = u128::from(n) + u128::from(world - n % world);
        if limit < u128::from(drop_first) {
            return Err(Error::ResumeBeyondEpoch {
                drop_first,
                num_samples: n,
            });
        }
        let compatible = (p <= c && c.is_multiple_of(p)) || (p > c && p.is_multiple_of(c));
        let initial = match (algo, initial_physical_nodes) {
            (PartitionAlgo::Relaxed, Some(ip)) if !compatible => Some(ip),
            _ => None,
        };
        let layout = if let Some(ip) = initial {
            nonzero("initial_physical_nodes", ip)?;
            let gb = world
                .checked_mul(b)
                .ok_or_else(|| overflow("global batch"))?;
            let init_dev = ip
                .checked_mul(r)
                .ok_or_else(|| overflow("initial devices"))?;
            if gb % init_dev != 0 {
                return Err(Error::GlobalBatchIndivisible {
                    global_batch: gb,
                    initial_devices: init_dev,
                });
            }
            let inner = Orig::new(n, c, ip, r, w, gb / init_dev, drop_first)?;
            Layout::Sliced { inner, p, r, w, b }
        } else {
            Layout::Orig(Orig::new(n, c, p, r, w, b, drop_first)?)
        };
        let batches = match &layout {
            Layout::Orig(o) | Layout::Sliced { inner: o, .. } => o.batches,
        };
        let shape = [p, r, w, batches, b];
        // Bound the walk too when there are no batches (every loop over the shape ends).
        let entries = shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d.max(1)))
            .filter(|&e| e <= crate::MAX_SAMPLES);
        let Some(entries) = entries else {
            return Err(Error::PartitionTooLarge {
                shape,
                max: crate::MAX_SAMPLES,
            });
        };
        let padding = entries.saturating_sub(n);
        if padding > crate::MAX_PADDING {
            return Err(Error::PaddingTooLarge {
                shape,
                num_samples: n,
                padding,
                max: crate::MAX_PADDING,
            });
        }
        Ok(Self { layout, shape })
    }

    /// `[nodes, ranks_per_node, workers_per_rank, batches_per_worker, batch_size]`.
    pub fn shape(&self) -> [u64; 5] {
        self.shape
    }

    /// Total elements, padding included.
    pub fn len(&self) -> u64 {
        self.shape.iter().product()
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `[node][rank][worker][batch][slot]`: a position in the epoch order, or `None`
    /// for padding (the reference's `-1`). Indices must be within [`Self::shape`].
    #[inline]
    pub fn get(&self, node: u64, rank: u64, worker: u64, batch: u64, slot: u64) -> Option<u64> {
        match &self.layout {
            Layout::Orig(o) => o.get(node, rank, worker, batch, slot),
            Layout::Sliced { inner, p, r, w, b } => {
                let t = (((batch * w + worker) * p + node) * r + rank) * b + slot;
                let b0 = inner.b;
                let slot0 = t % b0;
                let t = t / b0;
                let rank0 = t % r;
                let t = t / r;
                let node0 = t % inner.p;
                let t = t / inner.p;
                let worker0 = t % w;
                let batch0 = t / w;
                inner.get(node0, rank0, worker0, batch0, slot0)
            }
        }
    }

    /// What worker `(node, rank, worker)` reads, batch-major, padding included.
    ///
    /// Within a batch the canonical-matrix cell advances by a constant step, so this walks it
    /// without divisions (the plain [`Self::get`] formula runs once per batch).
    pub fn worker(&self, node: u64, rank: u64, worker: u64) -> WorkerIter<'_> {
        // Cell advance for the next slot of a batch (k += R, so j += R*P) and for the jump
        // to the next batch of this worker (i += (W-1)*B + 1).
        let (step, jump) = match &self.layout {
            Layout::Orig(o) => {
                let dj = o.r.saturating_mul(o.p);
                let di = (o.w - 1).saturating_mul(o.b).saturating_add(1);
                let dj2 = di.saturating_mul(dj);
                ((dj / o.c, dj % o.c), (dj2 / o.c, dj2 % o.c))
            }
            Layout::Sliced { .. } => ((0, 0), (0, 0)),
        };
        WorkerIter {
            part: self,
            node,
            rank,
            worker,
            batch: 0,
            slot: 0,
            started: false,
            row: 0,
            col: 0,
            step,
            jump,
            bounds_row: u64::MAX,
            bounds: (0, 0),
        }
    }

    /// The whole array, row-major, `-1` for padding (for small epochs and tests).
    pub fn to_vec(&self) -> Vec<i64> {
        let [p, r, w, _, _] = self.shape;
        let mut out = Vec::with_capacity(usize::try_from(self.len()).unwrap_or(0));
        for node in 0..p {
            for rank in 0..r {
                for worker in 0..w {
                    out.extend(
                        self.worker(node, rank, worker)
                            .map(|x| x.map_or(-1, |v| i64::try_from(v).unwrap_or(-1))),
                    );
                }
            }
        }
        out
    }
}

/// Iterator over one worker's positions; see [`Partition::worker`].
#[derive(Clone, Debug)]
pub struct WorkerIter<'a> {
    part: &'a Partition,
    node: u64,
    rank: u64,
    worker: u64,
    batch: u64,
    slot: u64,
    /// Whether `row`/`col` hold the cell of the previous element (fast path only).
    started: bool,
    row: u64,
    col: u64,
    /// `(columns, rows)` advanced per slot within a batch.
    step: (u64, u64),
    /// `(columns, rows)` advanced from a batch's last slot to the next batch's first.
    jump: (u64, u64),
    /// The row whose bounds `bounds` holds (`u64::MAX`: none yet).
    bounds_row: u64,
    bounds: (u64, u64),
}

impl WorkerIter<'_> {
    #[inline]
    fn fast(&mut self, o: &Orig) -> Option<u64> {
        let i = (self.batch * o.w + self.worker) * o.b + self.slot;
        if i >= o.per_rank {
            return None;
        }
        let k = i * o.r + self.rank;
        if k >= o.s || !o.rows_mode {
            return Some(o.node_elem_padded(self.node, k));
        }
        if self.started {
            // Consecutive elements of this worker are a constant distance apart in the
            // column-major sequence, so (row, col) advance without dividing.
            let (dq, dr) = if self.slot == 0 { self.jump } else { self.step };
            self.row += dr;
            self.col += dq;
            if self.row >= o.c {
                self.row -= o.c;
                self.col += 1;
            }
        } else {
            let j = o.drop + k * o.p + self.node;
            self.row = j % o.c;
            self.col = j / o.c;
            self.started = true;
        }
        // A worker stays on few rows (one when C divides P): look their bounds up once.
        if self.row != self.bounds_row {
            self.bounds = o.row_bounds(self.row);
            self.bounds_row = self.row;
        }
        Some(o.cell_in_row(self.col, self.bounds.0, self.bounds.1))
    }
}

impl Iterator for WorkerIter<'_> {
    type Item = Option<u64>;

    #[inline]
    fn next(&mut self) -> Option<Option<u64>> {
        let [_, _, _, batches, batch_size] = self.part.shape;
        if self.batch >= batches {
            return None;
        }
        let v = match &self.part.layout {
            Layout::Orig(o) => self.fast(o),
            Layout::Sliced { .. } => {
                self.part
                    .get(self.node, self.rank, self.worker, self.batch, self.slot)
            }
        };
        self.slot += 1;
        if self.slot == batch_size {
            self.slot = 0;
            self.batch += 1;
        }
        Some(v)
    }
}
