//! Stream weighting and per-epoch resampling (`Stream.apply_weights`,
//! `StreamingDataset.resample_streams`, `get_sampling`; spec §D.2–D.3).

use crate::error::{Error, Result};
use crate::rng::{Generator, np_sum_f64};

/// How one stream is weighted (the reference's `proportion` / `repeat` / `choose`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum StreamWeight {
    /// No weight given: every sample once (or proportional to size when `epoch_size` is set).
    #[default]
    Unspecified,
    /// Relative weight; all streams must then be relative.
    Proportion(f64),
    /// Absolute: `trunc(repeat * samples)` samples per epoch.
    Repeat(f64),
    /// Absolute: exactly this many samples per epoch.
    Choose(u64),
}

/// Which generator seeds the per-epoch resampling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SamplingMethod {
    /// `balanced` (default): `seed + epoch`, so each epoch resamples differently.
    #[default]
    Balanced,
    /// `fixed`: `seed`, the same samples every epoch.
    Fixed,
}

impl SamplingMethod {
    /// Parses the reference's name.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "balanced" => Ok(Self::Balanced),
            "fixed" => Ok(Self::Fixed),
            _ => Err(Error::UnknownAlgorithm {
                kind: "sampling",
                name: name.to_owned(),
            }),
        }
    }
}

#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
fn trunc_u64(x: f64) -> u64 {
    // Python's int() of a non-negative float; weights are non-negative.
    x.max(0.0) as u64
}

/// Samples each stream contributes per epoch and the epoch size (`apply_weights`).
///
/// `epoch_size` of `None` or `Some(0)` means absent, as in the reference. Randomness (the
/// rounding shortfall) uses `default_rng(seed)`.
pub fn apply_weights(
    samples_per_stream: &[u64],
    weights: &[StreamWeight],
    epoch_size: Option<u64>,
    seed: u64,
) -> Result<(Vec<u64>, u64)> {
    let epoch_size = epoch_size.filter(|&e| e > 0);
    let is_rel = |w: &StreamWeight| matches!(w, StreamWeight::Proportion(_));
    let relative = weights.first().is_some_and(is_rel);
    if let Some(stream) = weights.iter().position(|w| is_rel(w) != relative) {
        return Err(Error::MixedWeights { stream });
    }
    let unspecified = weights
        .iter()
        .all(|w| matches!(w, StreamWeight::Unspecified));
    if relative || (unspecified && epoch_size.is_some()) {
        let total_samples = checked_sum(samples_per_stream)?;
        let e = epoch_size.unwrap_or(total_samples);
        #[allow(clippy::cast_precision_loss)]
        let props: Vec<f64> = if relative {
            weights
                .iter()
                .map(|w| {
                    if let StreamWeight::Proportion(p) = w {
                        *p
                    } else {
                        0.0
                    }
                })
                .collect()
        } else {
            samples_per_stream.iter().map(|&n| n as f64).collect()
        };
        let total = np_sum_f64(&props);
        #[allow(clippy::cast_precision_loss)]
        let ef = e as f64;
        let mut choose: Vec<u64> = props.iter().map(|&p| trunc_u64(ef * (p / total))).collect();
        let sum: u128 = choose.iter().map(|&c| u128::from(c)).sum();
        let short = u64::try_from(
            u128::from(e)
                .checked_sub(sum)
                .ok_or(Error::ChoiceTooLarge {
                    population: weights.len() as u64,
                    size: 0,
                })?,
        )
        .map_err(|_| Error::Overflow { what: "epoch size" })?;
        let idx = Generator::new(u128::from(seed)).choice(weights.len() as u64, short)?;
        for i in idx {
            #[allow(clippy::cast_possible_truncation)] // i < weights.len()
            let i = i as usize;
            choose[i] += 1;
        }
        return Ok((choose, e));
    }
    if let Some(e) = epoch_size {
        return Err(Error::EpochSizeWithAbsoluteWeights { epoch_size: e });
    }
    #[allow(clippy::cast_precision_loss)]
    let choose: Vec<u64> = samples_per_stream
        .iter()
        .enumerate()
        .map(
            |(i, &n)| match weights.get(i).copied().unwrap_or_default() {
                StreamWeight::Repeat(r) => trunc_u64(r * n as f64),
                StreamWeight::Choose(c) => c,
                _ => n,
            },
        )
        .collect();
    let e = checked_sum(&choose)?;
    Ok((choose, e))
}

/// Sum of sample counts, or [`Error::Overflow`].
fn checked_sum(counts: &[u64]) -> Result<u64> {
    counts
        .iter()
        .try_fold(0u64, |acc, &n| acc.checked_add(n))
        .ok_or(Error::Overflow {
            what: "epoch size (sum of stream samples)",
        })
}

/// Samples chosen from each shard of one stream (`get_sampling`): whole copies first, then
/// the remainder spread over `granularity`-sized picks in a random order.
pub fn get_sampling(
    samples_per_shard: &[u64],
    choose: u64,
    granularity: u64,
    seed: u64,
    epoch: u64,
    use_epoch: bool,
) -> Result<Vec<u64>> {
    let num_samples: u64 = samples_per_shard.iter().sum();
    if num_samples == 0 {
        return Err(Error::InvalidParam {
            name: "samples",
            value: 0,
            reason: "a stream needs samples to choose from",
        });
    }
    let whole = choose / num_samples;
    let mut out: Vec<u64> = samples_per_shard.iter().map(|&s| s * whole).collect();
    let mut rem = choose % num_samples;
    if rem == 0 {
        return Ok(out);
    }
    if granularity == 0 {
        return Err(Error::InvalidParam {
            name: "sampling_granularity",
            value: 0,
            reason: "must be at least 1",
        });
    }
    // Pick j is the j-th granularity-sized piece, shard after shard.
    let mut pick_start = Vec::with_capacity(samples_per_shard.len() + 1);
    let mut picks = 0u64;
    for &s in samples_per_shard {
        pick_start.push(picks);
        picks += s.div_ceil(granularity);
    }
    pick_start.push(picks);
    let seed = if use_epoch {
        u128::from(seed) + u128::from(epoch)
    } else {
        u128::from(seed)
    };
    let order = Generator::new(seed).permutation(picks);
    for pick in order {
        let shard = pick_start.partition_point(|&p| p <= pick) - 1;
        let k = pick_start[shard + 1] - pick_start[shard];
        let j = pick - pick_start[shard];
        let size = if j + 1 < k {
            granularity
        } else {
            samples_per_shard[shard] - (k - 1) * granularity
        };
        let n = rem.min(size);
        out[shard] += n;
        rem -= n;
        if rem == 0 {
            break;
        }
    }
    Ok(out)
}

/// Maps positions of the resampled epoch ("big" ids) to underlying sample ids ("small" ids).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SampleMap {
    /// No resampling: big id == small id, for this many samples.
    Identity(u64),
    /// Explicit table, compact.
    U32(Vec<u32>),
    /// Explicit table.
    U64(Vec<u64>),
}

impl SampleMap {
    /// Number of big ids.
    pub fn len(&self) -> u64 {
        match self {
            Self::Identity(n) => *n,
            Self::U32(v) => v.len() as u64,
            Self::U64(v) => v.len() as u64,
        }
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The small id of big id `big`, or `None` out of range.
    #[inline]
    pub fn get(&self, big: u64) -> Option<u64> {
        match self {
            Self::Identity(n) => (big < *n).then_some(big),
            Self::U32(v) => usize::try_from(big)
                .ok()
                .and_then(|i| v.get(i))
                .map(|&x| u64::from(x)),
            Self::U64(v) => usize::try_from(big).ok().and_then(|i| v.get(i)).copied(),
        }
    }

    /// All small ids in big-id order.
    pub fn to_vec(&self) -> Vec<u64> {
        match self {
            Self::Identity(n) => (0..*n).collect(),
            Self::U32(v) => v.iter().map(|&x| u64::from(x)).collect(),
            Self::U64(v) => v.clone(),
        }
    }
}

/// Inputs of [`resample_streams`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResampleParams {
    /// Samples in each shard, all streams concatenated.
    pub samples_per_shard: Vec<u64>,
    /// Shards of each stream, in order (sums to `samples_per_shard.len()`).
    pub shards_per_stream: Vec<u64>,
    /// Samples each stream contributes this epoch (from [`apply_weights`]).
    pub choose_per_stream: Vec<u64>,
    /// Run seed.
    pub seed: u64,
    /// Epoch.
    pub epoch: u64,
    /// Resampling seed policy.
    pub sampling_method: SamplingMethod,
    /// `sampling_granularity`.
    pub granularity: u64,
    /// Whether the dataset shuffles (the pick order then changes per epoch).
    pub shuffle: bool,
}

/// Per-epoch resampling (`resample_streams`): the shuffle units (sample counts to shuffle)
/// and the map from epoch positions to underlying sample ids.
pub fn resample_streams(p: &ResampleParams) -> Result<(Vec<u64>, SampleMap)> {
    let balanced = p.sampling_method == SamplingMethod::Balanced;
    let use_epoch = p.shuffle && balanced;
    let mut offsets = Vec::with_capacity(p.samples_per_shard.len());
    let mut acc = 0u64;
    for &n in &p.samples_per_shard {
        offsets.push(acc);
        acc = acc.checked_add(n).ok_or(Error::Overflow {
            what: "sample count",
        })?;
    }
    let mut chooses = Vec::with_capacity(p.samples_per_shard.len());
    let mut first = 0usize;
    for (stream, &nshards) in p.shards_per_stream.iter().enumerate() {
        let n = usize::try_from(nshards).map_err(|_| Error::Overflow {
            what: "shards_per_stream",
        })?;
        let last = first
            .checked_add(n)
            .filter(|&l| l <= p.samples_per_shard.len())
            .ok_or(Error::InvalidParam {
                name: "shards_per_stream",
                value: nshards,
                reason: "more shards than given",
            })?;
        let sizes = &p.samples_per_shard[first..last];
        let choose = p.choose_per_stream.get(stream).copied().unwrap_or(0);
        let c = get_sampling(sizes, choose, p.granularity, p.seed, p.epoch, use_epoch)
            .map_err(|_| Error::EmptyStream { stream })?;
        chooses.extend(c);
        first = last;
    }
    if first != p.samples_per_shard.len() {
        return Err(Error::InvalidParam {
            name: "shards_per_stream",
            value: first as u64,
            reason: "does not cover every shard",
        });
    }
    let identity = chooses
        .iter()
        .zip(&p.samples_per_shard)
        .all(|(c, z)| c == z);
    if identity {
        let units = p
            .samples_per_shard
            .iter()
            .copied()
            .filter(|&z| z > 0)
            .collect();
        return Ok((units, SampleMap::Identity(acc)));
    }
    let seed = if balanced {
        u128::from(p.seed) + u128::from(p.epoch)
    } else {
        u128::from(p.seed)
    };
    let mut rng = Generator::new(seed);
    let mut units = Vec::new();
    let count = checked_sum(&chooses)?;
    let mut small: Vec<u64> = Vec::new();
    usize::try_from(count)
        .ok()
        .and_then(|n| small.try_reserve_exact(n).ok())
        .ok_or(Error::OutOfMemory {
            what: "resampling map",
            count,
        })?;
    for ((&z, &ch), &off) in p.samples_per_shard.iter().zip(&chooses).zip(&offsets) {
        if z == 0 {
            continue;
        }
        let copies = ch / z;
        let part = ch % z;
        units.extend(std::iter::repeat_n(z, usize::try_from(copies).unwrap_or(0)));
        if part > 0 {
            units.push(part);
        }
        for _ in 0..copies {
            small.extend(off..off + z);
        }
        if part > 0 {
            let mut chosen = rng.choice(z, part)?;
            chosen.sort_unstable();
            small.extend(chosen.into_iter().map(|x| off + x));
        }
    }
    let map = if acc <= 1 << 32 {
        #[allow(clippy::cast_possible_truncation)] // every id < acc <= 2^32
        SampleMap::U32(small.into_iter().map(|x| x as u32).collect())
    } else {
        SampleMap::U64(small)
    };
    Ok((units, map))
}
