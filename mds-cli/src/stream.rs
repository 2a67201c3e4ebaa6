//! `mds stream`: read a dataset end to end through `mds-dataset`, with a progress bar and a
//! summary (samples, key checksum, first-sample latency, throughput, peak RSS).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use mds_dataset::format::encoding::Value;
use mds_dataset::{ResumeState, Sample, StreamingDataset, World};

/// Arguments of `mds stream`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Remote root (URL or local path).
    pub(crate) remote: String,
    /// Local cache directory (default: read a local remote in place).
    #[arg(long)]
    pub(crate) local: Option<PathBuf>,
    /// Shuffle (py1e, as the reference's default).
    #[arg(long)]
    pub(crate) shuffle: bool,
    /// Shuffle seed.
    #[arg(long, default_value_t = 9176)]
    pub(crate) seed: u64,
    /// Per-device batch size (sets the default predownload, 8 × batch size).
    #[arg(long, default_value_t = 256)]
    pub(crate) batch_size: u32,
    /// Cache limit (bytes or "10gb").
    #[arg(long)]
    pub(crate) cache_limit: Option<String>,
    /// Epochs to read.
    #[arg(long, default_value_t = 1)]
    pub(crate) epochs: u64,
    /// Write the resumption state (the reference's state_dict JSON) here at the end.
    #[arg(long)]
    pub(crate) state_out: Option<PathBuf>,
    /// Resume from a state written by --state-out (or by the Python library).
    #[arg(long)]
    pub(crate) resume: Option<PathBuf>,
    /// Integer column summed as a checksum.
    #[arg(long)]
    pub(crate) key: Option<String>,
    /// Stop after this many samples (this process).
    #[arg(long)]
    pub(crate) limit: Option<u64>,
    /// Print each sample's key value on stdout, one per line.
    #[arg(long)]
    pub(crate) print_keys: bool,
    /// Read datasets with pickle (`pkl`) columns. mds never unpickles them (they come back as
    /// their stored bytes); the flag exists because the reference refuses such datasets without it.
    #[arg(long)]
    pub(crate) allow_unsafe_types: bool,
}

/// Bytes of a decoded value's payload.
pub(crate) fn value_bytes(v: &Value) -> usize {
    match v {
        Value::Bytes(b) | Value::Pickle(b) => b.len(),
        Value::Str(t) | Value::BigInt(t) | Value::Decimal(t) | Value::Json(t) => t.as_str().len(),
        Value::Array { data, .. } => data.len(),
        Value::Image { bytes, .. } => bytes.len(),
        Value::List(l) => l.iter().map(value_bytes).sum(),
        _ => 8,
    }
}

/// The integer value of column `key`, if it is an integer.
pub(crate) fn key_value(s: &Sample, key: &str) -> Option<i128> {
    match s.get(key)? {
        Value::Int(i) => Some(i128::from(*i)),
        Value::UInt(u) => Some(i128::from(*u)),
        Value::Array { data, .. } if data.len() == 8 => {
            Some(i128::from(i64::from_le_bytes(data[..8].try_into().ok()?)))
        }
        _ => None,
    }
}

/// Peak resident set size of this process in KiB (VmHWM).
pub(crate) fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// The runtime that remote fetches run on: two worker threads are enough to keep many
/// requests in flight (they wait on the network), and leave the cores to decoding.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")
}

#[allow(clippy::needless_pass_by_value)] // every subcommand's run takes its Args by value
#[allow(clippy::cast_precision_loss)] // rates and sizes are for display only
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = runtime()?;
    let t0 = Instant::now();
    let mut b = StreamingDataset::builder()
        .with_remote(&args.remote)
        .with_shuffle(args.shuffle)
        .with_shuffle_seed(args.seed)
        .with_batch_size(args.batch_size)
        .with_allow_unsafe_types(args.allow_unsafe_types)
        .with_world(World::from_env()?)
        .with_runtime(rt.handle().clone());
    if let Some(l) = &args.local {
        b = b.with_local(l);
    }
    if let Some(c) = &args.cache_limit {
        b = b.with_cache_limit(c);
    }
    let ds = b.build()?;
    if let Some(p) = &args.resume {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
        ds.load_state_dict(ResumeState::from_json(&text)?);
    }
    let bar = indicatif::ProgressBar::new(ds.len() * args.epochs);
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(4));
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{wide_bar}] {pos}/{len} samples {per_sec} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut samples = 0u64;
    let mut bytes = 0u64;
    let mut checksum: i128 = 0;
    let mut first: Option<Duration> = None;
    let mut this_epoch = 0u64;
    let mut out = std::io::stdout().lock();
    'epochs: for _ in 0..args.epochs {
        this_epoch = 0;
        let it = ds.iter()?;
        for s in it {
            let s = s?;
            first.get_or_insert_with(|| t0.elapsed());
            samples += 1;
            this_epoch += 1;
            bytes += s.values().iter().map(value_bytes).sum::<usize>() as u64;
            if let Some(k) = &args.key {
                let v = key_value(&s, k)
                    .with_context(|| format!("column {k:?} is missing or not an integer"))?;
                checksum += v;
                if args.print_keys {
                    use std::io::Write as _;
                    writeln!(out, "{v}")?;
                }
            }
            if samples.is_multiple_of(4096) {
                let secs = t0.elapsed().as_secs_f64().max(1e-9);
                #[allow(clippy::cast_precision_loss)] // display only
                bar.set_message(format!("{:.1} MB/s", bytes as f64 / 1e6 / secs));
                bar.set_position(samples);
            }
            if args.limit.is_some_and(|l| samples >= l) {
                break 'epochs;
            }
        }
    }
    bar.finish_and_clear();
    let secs = t0.elapsed().as_secs_f64();
    if let Some(p) = &args.state_out {
        let ranks = u64::from(ds.world().num_ranks());
        let state = ds.state_dict(this_epoch * ranks, false);
        std::fs::write(p, state.to_json())
            .with_context(|| format!("cannot write {}", p.display()))?;
    }
    let (sps, mbs) = (samples as f64 / secs, bytes as f64 / 1e6 / secs);
    eprintln!(
        "samples {samples}  checksum {checksum}  first sample {:.1} ms  {:.2} s  {sps:.0} samples/s  {mbs:.1} MB/s  peak RSS {:.1} MiB",
        first.unwrap_or_default().as_secs_f64() * 1e3,
        secs,
        peak_rss_kb() as f64 / 1024.0
    );
    Ok(ExitCode::SUCCESS)
}
