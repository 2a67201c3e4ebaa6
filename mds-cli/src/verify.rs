//! `mds verify DIR`: checks every shard's files against index.json (sizes, every stored hash,
//! raw and compressed), the shard headers, and decodes every sample. Prints one line per
//! fault, each naming its shard, and exits non-zero if there is any.

use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use mds_format::Dataset;

/// Arguments of `mds verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The dataset: a directory holding index.json, or a remote root (`s3://…`, `gs://…`,
    /// `azure://…`, `http(s)://…`), whose files are fetched into a temporary directory.
    dir: String,
    /// Worker threads (default: the number of CPUs).
    #[arg(long)]
    jobs: Option<usize>,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

/// An error and its sources on one line: `outer: inner: innermost`.
fn one_line(err: &dyn std::error::Error) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        line.push_str(": ");
        line.push_str(&s.to_string());
        source = s.source();
    }
    line.replace('\n', " ")
}

#[allow(clippy::needless_pass_by_value)] // every subcommand's `run` takes its `Args` by value
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = crate::remote::resolve(&args.dir, crate::remote::Needs::Everything)?;
    let ds = Dataset::open(dir.path())
        .with_context(|| format!("cannot open the dataset in {}", args.dir))?;
    let shards = ds.index().shards.len();
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
        .clamp(1, shards.max(1));
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(shards as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} verifying [{bar:40}] {pos}/{len} shards {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let next = AtomicUsize::new(0);
    let faults: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= shards {
                        break;
                    }
                    let found = ds.verify_shard(k);
                    if !found.is_empty() {
                        let mut all = faults
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        all.extend(found.iter().map(|e| (k, one_line(e))));
                    }
                    bar.inc(1);
                }
            });
        }
    });
    bar.finish_and_clear();
    let mut faults = faults
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    faults.sort_by_key(|(k, _)| *k);
    for (_, line) in &faults {
        println!("FAULT {line}");
    }
    if faults.is_empty() {
        eprintln!(
            "ok: {shards} shards, {} samples verified in {}",
            ds.len(),
            args.dir
        );
        Ok(ExitCode::SUCCESS)
    } else {
        let n = faults.len();
        let noun = if n == 1 { "fault" } else { "faults" };
        eprintln!("{n} {noun} in {}", args.dir);
        Ok(ExitCode::FAILURE)
    }
}
