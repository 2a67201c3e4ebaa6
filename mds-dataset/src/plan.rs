//! Epoch planning: stream weights, per-epoch resampling and the four batching methods
//! (reference.md §11, §15; shuffle.md §D). Pure functions of the inputs, no I/O.
#![allow(clippy::many_single_char_names, clippy::too_many_lines)] // the spec's notation (P, R, W, Q, B, G); one match arm per batching method

use crate::config::Weight;
use crate::error::{Error, Result};
use crate::order::{self, Generator};
use crate::params::{BatchingMethod, PartitionAlgo, SamplingMethod, ShuffleAlgo};

/// One stream's shard sizes and where its shards and samples start globally.
#[derive(Clone, Debug)]
pub(crate) struct StreamLayout {
    pub(crate) samples_per_shard: Vec<u64>,
    pub(crate) sample_offset: u64,
}

impl StreamLayout {
    pub(crate) fn num_samples(&self) -> u64 {
        self.samples_per_shard.iter().sum()
    }
}

/// Per-stream samples per epoch after weighting, and the derived (normalised) proportions.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Weights {
    pub(crate) choose: Vec<u64>,
    pub(crate) proportion: Vec<f64>,
    pub(crate) epoch_size: u64,
}

#[allow(clippy::cast_precision_loss)] // sample counts far below 2^53, as in the reference's float64 math
fn as_f64(v: u64) -> f64 {
    v as f64
}

/// Resolves stream weights into per-epoch sample counts as the reference's
/// `Stream.apply_weights` does (`streaming/base/stream.py`). A weight of 0 is given, not
/// unset: the stream takes no samples (but, with relative weights, may still get one of the
/// shortfall's random picks, as there).
pub(crate) fn apply_weights(
    weights: &[Option<Weight>],
    sizes: &[u64],
    epoch_size: Option<u64>,
    seed: u64,
) -> Result<Weights> {
    // A weight of 0 is a weight (the stream is left out, as the reference does), not "unset".
    let is_rel = |w: &Option<Weight>| matches!(w, Some(Weight::Proportion(_)));
    let relative = weights.first().is_some_and(is_rel);
    for (i, w) in weights.iter().enumerate() {
        if is_rel(w) != relative {
            return Err(Error::InvalidStream {
                stream: i,
                reason: "relative (`proportion`) and absolute (`repeat`, `choose`, none) stream weights are incompatible with each other".into(),
            });
        }
    }
    let unspecified = weights.iter().all(Option::is_none);
    let epoch_size = epoch_size.filter(|&e| e > 0);
    if relative || (unspecified && epoch_size.is_some()) {
        let e = epoch_size.unwrap_or_else(|| sizes.iter().sum());
        let props: Vec<f64> = if relative {
            weights
                .iter()
                .map(|w| {
                    if let Some(Weight::Proportion(p)) = w {
                        *p
                    } else {
                        0.0
                    }
                })
                .collect()
        } else {
            sizes.iter().map(|&s| as_f64(s)).collect()
        };
        let total = order::np_sum(&props);
        let proportion: Vec<f64> = props.iter().map(|p| p / total).collect();
        let mut choose: Vec<u64> = proportion
            .iter()
            .map(|p| crate::params::float_to_u64((as_f64(e) * p).trunc()).unwrap_or(0))
            .collect();
        let short = e.saturating_sub(choose.iter().sum());
        let mut rng = Generator::new(seed);
        let picks = rng
            .choice(choose.len() as u64, short)
            .map_err(|source| Error::Plan { epoch: 0, source })?;
        for i in picks {
            if let Some(c) = usize::try_from(i).ok().and_then(|i| choose.get_mut(i)) {
                *c += 1;
            }
        }
        Ok(Weights {
            choose,
            proportion,
            epoch_size: e,
        })
    } else {
        if let Some(e) = epoch_size {
            return Err(Error::param(
                "epoch_size",
                format!(
                    "epoch_size = {e} is only allowed when weighting streams relatively (`proportion`) or not at all"
                ),
            ));
        }
        let choose: Vec<u64> = weights
            .iter()
            .zip(sizes)
            .map(|(w, &s)| match *w {
                Some(Weight::Repeat(r)) => {
                    crate::params::float_to_u64((r * as_f64(s)).trunc()).unwrap_or(0)
                }
                Some(Weight::Choose(c)) => c,
                _ => s,
            })
            .collect();
        let e: u64 = choose.iter().sum();
        let proportion = choose.iter().map(|&c| as_f64(c) / as_f64(e)).collect();
        Ok(Weights {
            choose,
            proportion,
            epoch_size: e,
        })
    }
}

/// Everything that fixes an epoch's sample order, plus who is reading (parallel world).
#[derive(Clone, Debug)]
pub(crate) struct PlanInputs<'a> {
    pub(crate) streams: &'a [StreamLayout],
    pub(crate) weights: &'a Weights,
    pub(crate) seed: u64,
    pub(crate) sampling_method: SamplingMethod,
    pub(crate) granularity: u64,
    pub(crate) shuffle: bool,
    pub(crate) shuffle_algo: ShuffleAlgo,
    pub(crate) num_canonical_nodes: u32,
    pub(crate) shuffle_block_size: u64,
    pub(crate) partition_algo: PartitionAlgo,
    pub(crate) batching_method: BatchingMethod,
    pub(crate) nodes: u32,
    pub(crate) ranks_per_node: u32,
    pub(crate) workers_per_rank: u32,
    pub(crate) batch_size: u32,
    pub(crate) initial_physical_nodes: Option<u32>,
}

/// The epoch's work tensor `(nodes, ranks_per_node, workers_per_rank, batches, batch_size)`
/// of underlying global sample ids, −1 = padding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Work {
    pub(crate) shape: [usize; 5],
    pub(crate) ids: Vec<i64>,
}

impl Work {
    /// Worker `(node, rank, worker)`'s ids in order, padding included.
    pub(crate) fn slice(&self, node: usize, rank: usize, worker: usize) -> &[i64] {
        let [_, r, w, q, b] = self.shape;
        let len = q * b;
        let start = ((node * r + rank) * w + worker) * len;
        self.ids.get(start..start + len).unwrap_or(&[])
    }
}

/// Resampled shuffle units and the "small per big" map (shuffle.md §D.3).
pub(crate) fn resample(
    inp: &PlanInputs<'_>,
    epoch: u64,
    stream: Option<usize>,
) -> Result<(Vec<u64>, Vec<u64>)> {
    let plan_err = |source| Error::Plan { epoch, source };
    let balanced = inp.sampling_method == SamplingMethod::Balanced;
    let mut rng = Generator::new(if balanced { inp.seed + epoch } else { inp.seed });
    let use_epoch = inp.shuffle && balanced;
    let mut units = Vec::new();
    let mut small = Vec::new();
    let selected: Vec<usize> = stream.map_or_else(|| (0..inp.streams.len()).collect(), |s| vec![s]);
    for s in selected {
        let layout = &inp.streams[s];
        let choose = inp.weights.choose[s];
        let counts = order::sampling(
            &layout.samples_per_shard,
            choose,
            inp.granularity,
            inp.seed,
            epoch,
            use_epoch,
        )
        .map_err(plan_err)?;
        let mut offset = layout.sample_offset;
        for (&z, &c) in layout.samples_per_shard.iter().zip(&counts) {
            if let (Some(full), Some(rem)) = (c.checked_div(z), c.checked_rem(z)) {
                units.extend(std::iter::repeat_n(z, usize::try_from(full).unwrap_or(0)));
                if rem > 0 {
                    units.push(rem);
                }
                for _ in 0..full {
                    small.extend(offset..offset + z);
                }
                if rem > 0 {
                    let mut part = rng.choice(z, rem).map_err(plan_err)?;
                    part.sort_unstable();
                    small.extend(part.into_iter().map(|x| offset + x));
                }
            }
            offset += z;
        }
    }
    Ok((units, small))
}

/// Partition of `n` big ids, optionally shuffled, mapped to underlying ids.
fn partition_mapped(
    inp: &PlanInputs<'_>,
    epoch: u64,
    units: &[u64],
    small: &[u64],
    dims: (u32, u32),
    drop_first: u64,
    block: u64,
) -> Result<Work> {
    let plan_err = |source| Error::Plan { epoch, source };
    let (nodes, batch) = dims;
    let n = small.len() as u64;
    let mut work = order::partition(
        inp.partition_algo,
        n,
        inp.num_canonical_nodes,
        nodes,
        inp.ranks_per_node,
        inp.workers_per_rank,
        batch,
        drop_first,
        inp.initial_physical_nodes,
    )
    .map_err(plan_err)?;
    let perm = if inp.shuffle {
        Some(
            order::shuffle(
                inp.shuffle_algo,
                units,
                inp.num_canonical_nodes,
                inp.seed,
                epoch,
                block,
            )
            .map_err(plan_err)?,
        )
    } else {
        None
    };
    for x in &mut work.ids {
        if let Ok(i) = usize::try_from(*x) {
            let big = perm
                .as_ref()
                .map_or(Some(i), |p| p.get(i).and_then(|v| usize::try_from(v).ok()));
            *x = big
                .and_then(|b| small.get(b))
                .and_then(|&v| i64::try_from(v).ok())
                .unwrap_or(-1);
        }
    }
    Ok(work)
}

/// Traversal order (batch, worker, node, rank, j) of a work tensor, flattened.
fn traversal(work: &Work) -> Vec<i64> {
    let [p, r, w, q, b] = work.shape;
    let mut out = Vec::with_capacity(work.ids.len());
    for qi in 0..q {
        for wi in 0..w {
            for pi in 0..p {
                for ri in 0..r {
                    let start = ((((pi * r + ri) * w + wi) * q) + qi) * b;
                    out.extend_from_slice(&work.ids[start..start + b]);
                }
            }
        }
    }
    out
}

/// Drops resumed global batches, pads with −1 batches, and reshapes rows of `g` ids
/// (consumption order) into the work tensor (reference §15 "final reshape").
fn finish(inp: &PlanInputs<'_>, mut rows: Vec<i64>, g: usize, sample_in_epoch: u64) -> Work {
    let (p, r, w, b) = (
        inp.nodes as usize,
        inp.ranks_per_node as usize,
        inp.workers_per_rank as usize,
        inp.batch_size as usize,
    );
    let skip = usize::try_from(sample_in_epoch).unwrap_or(usize::MAX) / g;
    rows.drain(..(skip * g).min(rows.len()));
    let unit = p * r * w * b;
    if !rows.len().is_multiple_of(unit) {
        let need = unit - rows.len() % unit;
        rows.extend(std::iter::repeat_n(-1, need));
    }
    let q = rows.len() / unit;
    let mut ids = vec![-1; rows.len()];
    // flat index of (q, w, p, r, b) in `rows` -> (p, r, w, q, b) in the output
    for qi in 0..q {
        for wi in 0..w {
            for pi in 0..p {
                for ri in 0..r {
                    let src = (((qi * w + wi) * p + pi) * r + ri) * b;
                    let dst = (((pi * r + ri) * w + wi) * q + qi) * b;
                    ids[dst..dst + b].copy_from_slice(&rows[src..src + b]);
                }
            }
        }
    }
    Work {
        shape: [p, r, w, q, b],
        ids,
    }
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // trunc of a small non-negative product, as int() in Python
fn trunc_mul(a: u64, f: f64) -> u64 {
    crate::params::float_to_u64((as_f64(a) * f).trunc()).unwrap_or(0)
}

/// Plans epoch `epoch` for every worker, resuming after `sample_in_epoch` global samples.
pub(crate) fn plan_epoch(inp: &PlanInputs<'_>, epoch: u64, sample_in_epoch: u64) -> Result<Work> {
    let b = inp.batch_size;
    let g = b as usize * inp.ranks_per_node as usize * inp.nodes as usize;
    let epoch_seed = if inp.shuffle && inp.sampling_method == SamplingMethod::Balanced {
        inp.seed + epoch
    } else {
        inp.seed
    };
    match inp.batching_method {
        BatchingMethod::Random => {
            let (units, small) = resample(inp, epoch, None)?;
            partition_mapped(
                inp,
                epoch,
                &units,
                &small,
                (inp.nodes, b),
                sample_in_epoch,
                inp.shuffle_block_size,
            )
        }
        BatchingMethod::Stratified => {
            let method = "stratified";
            let mut parts = Vec::new();
            let mut portion = Vec::new();
            for s in 0..inp.streams.len() {
                let prop = inp.weights.proportion[s];
                portion.push(trunc_mul(g as u64, prop));
                let (units, small) = resample(inp, epoch, Some(s))?;
                let block = trunc_mul(inp.shuffle_block_size, prop);
                parts.push(partition_mapped(
                    inp,
                    epoch,
                    &units,
                    &small,
                    (1, 1),
                    0,
                    block,
                )?);
            }
            let sum: u64 = portion.iter().sum();
            if sum != g as u64 {
                let missing = usize::try_from((g as u64).saturating_sub(sum)).unwrap_or(0);
                let mut order: Vec<(f64, usize)> = (0..portion.len())
                    .map(|i| {
                        (
                            as_f64(g as u64) * inp.weights.proportion[i] - as_f64(portion[i]),
                            i,
                        )
                    })
                    .collect();
                order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                for &(_, i) in order.iter().rev().take(missing) {
                    portion[i] += 1;
                }
            }
            if let Some(i) = portion.iter().position(|&p| p == 0) {
                return Err(Error::Batching {
                    method,
                    reason: format!(
                        "Number of samples for stream {i} is 0 because the portion of this stream in the global batch, which is of size {g}, is too low. Please increase the global batch size or increase the proportion of total samples that come from stream {i}."
                    ),
                });
            }
            let mut rows_per_stream = Vec::new();
            let mut min_full = usize::MAX;
            for (work, &pn) in parts.iter().zip(&portion) {
                let pn = usize::try_from(pn).unwrap_or(usize::MAX);
                let mut flat = traversal(work);
                if !flat.len().is_multiple_of(pn) {
                    flat.extend(std::iter::repeat_n(-1, pn - flat.len() % pn));
                }
                let full = flat
                    .chunks(pn)
                    .filter(|c| c.iter().all(|&x| x >= 0))
                    .count();
                min_full = min_full.min(full);
                rows_per_stream.push((flat, pn));
            }
            let mut rows = Vec::with_capacity(min_full * g);
            for k in 0..min_full {
                for (flat, pn) in &rows_per_stream {
                    rows.extend_from_slice(&flat[k * pn..(k + 1) * pn]);
                }
            }
            Ok(finish(inp, rows, g, sample_in_epoch))
        }
        BatchingMethod::PerStream => {
            let method = "per_stream";
            let mut batches: Vec<Vec<i64>> = Vec::new();
            let mut per_stream = Vec::new();
            for s in 0..inp.streams.len() {
                let (units, small) = resample(inp, epoch, Some(s))?;
                let block = trunc_mul(inp.shuffle_block_size, inp.weights.proportion[s]);
                let work = partition_mapped(inp, epoch, &units, &small, (inp.nodes, b), 0, block)?;
                let flat = traversal(&work);
                let full = flat
                    .chunks(g)
                    .filter(|c| c.len() == g && c.iter().all(|&x| x >= 0))
                    .count();
                if full == 0 {
                    return Err(Error::Batching {
                        method,
                        reason: format!(
                            "stream with index {s} does not have an adequate number of samples to construct a complete global batch"
                        ),
                    });
                }
                per_stream.push(full);
                batches.push(flat[..full * g].to_vec());
            }
            let rows = interleave(&batches, &per_stream, g, &mut Generator::new(epoch_seed));
            Ok(finish(inp, rows, g, sample_in_epoch))
        }
        BatchingMethod::DevicePerStream => {
            let method = "device_per_stream";
            let ncn = inp.num_canonical_nodes;
            if !ncn.is_multiple_of(inp.nodes) {
                return Err(Error::Batching {
                    method,
                    reason: format!(
                        "num_canonical_nodes must be divisible by physical nodes; got {ncn} canonical nodes and {} physical nodes",
                        inp.nodes
                    ),
                });
            }
            let mut parts = Vec::new();
            for s in 0..inp.streams.len() {
                let (units, small) = resample(inp, epoch, Some(s))?;
                let block = trunc_mul(inp.shuffle_block_size, inp.weights.proportion[s]);
                if inp.shuffle && block == 0 {
                    return Err(Error::Batching {
                        method,
                        reason: format!(
                            "samples from stream {s} are not being used; increase `shuffle_block_size` or the stream's proportion"
                        ),
                    });
                }
                parts.push(partition_mapped(
                    inp,
                    epoch,
                    &units,
                    &small,
                    (ncn, 1),
                    0,
                    block,
                )?);
            }
            let bs = b as usize;
            let k = (ncn / inp.nodes) as usize;
            let mut node_lists = Vec::new();
            let mut node_counts = Vec::new();
            for node in 0..inp.nodes as usize {
                let mut lists = Vec::new();
                let mut counts = Vec::new();
                for (s, work) in parts.iter().enumerate() {
                    let [_, r, w, q, one] = work.shape;
                    let per_cn = r * w * q * one;
                    let sub = Work {
                        shape: [k, r, w, q, one],
                        ids: work.ids[node * k * per_cn..(node + 1) * k * per_cn].to_vec(),
                    };
                    let mut flat = traversal(&sub);
                    flat.extend(std::iter::repeat_n(-1, bs - flat.len() % bs));
                    let full = flat
                        .chunks(bs)
                        .filter(|c| c.iter().all(|&x| x >= 0))
                        .count();
                    if full == 0 {
                        return Err(Error::Batching {
                            method,
                            reason: format!(
                                "stream with index {s} does not have an adequate number of samples to construct even a single device batch of size {bs}"
                            ),
                        });
                    }
                    flat.truncate(full * bs);
                    lists.push(flat);
                    counts.push(full);
                }
                node_lists.push(lists);
                node_counts.push(counts);
            }
            let devices = inp.nodes as usize * inp.ranks_per_node as usize;
            let mut m = node_counts
                .iter()
                .map(|c| c.iter().sum::<usize>())
                .max()
                .unwrap_or(0);
            m += devices - m % devices;
            let mut rng = Generator::new(epoch_seed);
            let mut per_node = Vec::new();
            for (lists, counts) in node_lists.iter().zip(&node_counts) {
                let mut rows = interleave(lists, counts, bs, &mut rng);
                rows.resize(m * bs, -1);
                per_node.push(rows);
            }
            let mut rows = Vec::with_capacity(m * bs * per_node.len());
            for j in 0..m {
                for node in &per_node {
                    rows.extend_from_slice(&node[j * bs..(j + 1) * bs]);
                }
            }
            Ok(finish(inp, rows, g, sample_in_epoch))
        }
    }
}

/// One worker's underlying sample ids for `epoch` (padding removed). The `random` method
/// evaluates only this worker's slice of the partition; the others build the whole epoch.
pub(crate) fn plan_worker(
    inp: &PlanInputs<'_>,
    epoch: u64,
    sample_in_epoch: u64,
    who: (u32, u32, u32),
) -> Result<Vec<u64>> {
    let (node, rank, worker) = who;
    if inp.batching_method != BatchingMethod::Random {
        let work = plan_epoch(inp, epoch, sample_in_epoch)?;
        return Ok(work
            .slice(node as usize, rank as usize, worker as usize)
            .iter()
            .filter_map(|&x| u64::try_from(x).ok())
            .collect());
    }
    let plan_err = |source| Error::Plan { epoch, source };
    let (units, small) = resample(inp, epoch, None)?;
    let part = order::partition_lazy(
        inp.partition_algo,
        small.len() as u64,
        inp.num_canonical_nodes,
        inp.nodes,
        inp.ranks_per_node,
        inp.workers_per_rank,
        inp.batch_size,
        sample_in_epoch,
        inp.initial_physical_nodes,
    )
    .map_err(plan_err)?;
    let perm = if inp.shuffle {
        Some(
            order::shuffle(
                inp.shuffle_algo,
                &units,
                inp.num_canonical_nodes,
                inp.seed,
                epoch,
                inp.shuffle_block_size,
            )
            .map_err(plan_err)?,
        )
    } else {
        None
    };
    // Without resampling every big id is its own sample id: skip a lookup at a random
    // place per sample (a cache miss each, most of the time to the first sample).
    let identity = small.iter().zip(0u64..).all(|(&x, i)| x == i);
    Ok(part
        .worker(u64::from(node), u64::from(rank), u64::from(worker))
        .flatten()
        .filter_map(|pos| {
            let big = match &perm {
                Some(p) => p.get(usize::try_from(pos).ok()?)?,
                None => pos,
            };
            if identity {
                return Some(big);
            }
            small.get(usize::try_from(big).ok()?).copied()
        })
        .collect())
}

/// Shuffles stream origins (one entry per batch) and takes each stream's batches in order.
fn interleave(batches: &[Vec<i64>], counts: &[usize], len: usize, rng: &mut Generator) -> Vec<i64> {
    let mut origins: Vec<usize> = counts
        .iter()
        .enumerate()
        .flat_map(|(i, &n)| std::iter::repeat_n(i, n))
        .collect();
    rng.shuffle(&mut origins);
    let mut next = vec![0usize; counts.len()];
    let mut rows = Vec::with_capacity(origins.len() * len);
    for s in origins {
        let k = next[s];
        next[s] += 1;
        rows.extend_from_slice(&batches[s][k * len..(k + 1) * len]);
    }
    rows
}
