//! `mds cat`: print samples as JSON lines, one object (column -> value) per sample, in the
//! representation of the fixtures' `expected.json` (`mds_format::encoding::JsonView`).

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use mds_format::Dataset;
use mds_format::encoding::{Value, sample_json_line};

/// Arguments of `mds cat`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The dataset directory (the one holding index.json).
    dir: PathBuf,
    /// First sample to print (global index, 0-based).
    #[arg(long, default_value_t = 0)]
    start: u64,
    /// Sample to stop before (exclusive); default: the end of the dataset.
    #[arg(long)]
    end: Option<u64>,
}

#[allow(clippy::needless_pass_by_value)] // every subcommand's `run` takes its `Args` by value
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dataset = Dataset::open(&args.dir)
        .with_context(|| format!("cannot open the dataset in {}", args.dir.display()))?;
    let len = dataset.len();
    let end = args.end.unwrap_or(len).min(len);
    if args.start > end {
        anyhow::bail!(
            "--start {} is past the end ({end}; the dataset has {len} samples)",
            args.start
        );
    }
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for i in args.start..end {
        let sample = dataset.get(i).with_context(|| format!("sample {i}"))?;
        let values = sample.decode_all().with_context(|| format!("sample {i}"))?;
        let pairs: Vec<(&str, &Value)> = values.iter().map(|(n, v)| (*n, v)).collect();
        let line = sample_json_line(&pairs).with_context(|| format!("sample {i}"))?;
        if let Err(err) = writeln!(out, "{line}") {
            return broken_pipe_ok(err);
        }
    }
    if let Err(err) = out.flush() {
        return broken_pipe_ok(err);
    }
    Ok(ExitCode::SUCCESS)
}

/// `mds cat DIR | head` closes the pipe early: that is a normal end, not an error.
fn broken_pipe_ok(err: std::io::Error) -> anyhow::Result<ExitCode> {
    if err.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(anyhow::Error::new(err).context("cannot write to stdout"))
    }
}
