//! `mds bench-read`: the reader command of `../shared/bench` (contract in its README).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use mds_dataset::{StreamingDataset, World};

use crate::stream::{key_value, peak_rss_kb};

/// Arguments of `mds bench-read`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Local directory (the dataset, or the cache when --remote is given).
    #[arg(long)]
    local: PathBuf,
    /// Remote URL.
    #[arg(long)]
    remote: Option<String>,
    /// seq1, shuffle1, seq, shuffle, dl, dl_shuffle.
    #[arg(long)]
    mode: String,
    /// Integer column summed as a checksum.
    #[arg(long)]
    key: String,
    /// Stop after this many samples (0 = full epoch).
    #[arg(long, default_value_t = 0)]
    limit: u64,
}

fn cpu_times() -> (f64, f64) {
    // /proc/self/stat fields 14 and 15 (utime, stime) in clock ticks (100 Hz on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / 100.0;
    (tick(11), tick(12))
}

#[allow(clippy::needless_pass_by_value)] // every subcommand's run takes its Args by value
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (shuffle, batch, workers) = match args.mode.as_str() {
        "seq1" => (false, 1, 1),
        "shuffle1" => (true, 1, 1),
        "seq" => (false, 256, 1),
        "shuffle" => (true, 256, 1),
        "dl" => (false, 256, 2),
        "dl_shuffle" => (true, 256, 2),
        m => anyhow::bail!("unknown mode {m:?}"),
    };
    let rt = crate::stream::runtime()?;
    let t1 = Instant::now();
    let build = || {
        let mut b = StreamingDataset::builder()
            .with_local(&args.local)
            .with_shuffle(shuffle)
            .with_batch_size(batch)
            .with_world(World::default())
            .with_runtime(rt.handle().clone());
        if let Some(r) = &args.remote {
            b = b.with_remote(r);
        }
        b.build()
    };
    let ds = build()?;
    let init_s = t1.elapsed().as_secs_f64();
    let key = args.key.as_str();
    let limit = args.limit;
    // `dl`: DataLoader-like, two worker *threads*, each reading its own partition.
    let results: Vec<anyhow::Result<(u64, i128, f64)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let ds = if w == 0 { Ok(ds.clone()) } else { build() };
                scope.spawn(move || -> anyhow::Result<(u64, i128, f64)> {
                    let ds = ds?;
                    let world = World::default().with_worker(w, workers)?;
                    let mut n = 0u64;
                    let mut sum: i128 = 0;
                    let mut first = 0.0;
                    for s in ds.iter_for(world)? {
                        let s = s?;
                        if n == 0 {
                            first = t1.elapsed().as_secs_f64();
                        }
                        n += 1;
                        sum += key_value(&s, key)
                            .with_context(|| format!("column {key:?} is not an integer"))?;
                        if limit > 0 && n >= limit.div_ceil(u64::from(workers)) {
                            break;
                        }
                    }
                    Ok((n, sum, first))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("reader thread panicked")))
            })
            .collect()
    });
    let mut samples = 0;
    let mut checksum: i128 = 0;
    let mut first = f64::MAX;
    for r in results {
        let (n, s, f) = r?;
        samples += n;
        checksum += s;
        first = first.min(f);
    }
    let epoch_s = t1.elapsed().as_secs_f64();
    let (user, sys) = cpu_times();
    let out = serde_json::json!({
        "impl": format!("mds {}", env!("CARGO_PKG_VERSION")),
        "mode": args.mode,
        "workers": if workers > 1 { "threads" } else { "in-process" },
        "samples": samples,
        "dataset_len": ds.len(),
        "checksum": i64::try_from(checksum).unwrap_or(i64::MAX),
        "import_s": 0.0,
        "init_s": init_s,
        "first_sample_s": first,
        "epoch_s": epoch_s,
        "cpu_user_s": user,
        "cpu_sys_s": sys,
        "peak_rss_kb": peak_rss_kb(),
        "worker_peak_rss_kb": 0,
        "limit": args.limit,
    });
    println!("RESULT {out}");
    Ok(ExitCode::SUCCESS)
}
