//! `mds`: the command line of the mds workspace.
//!
//! Each subcommand lives in its own module with a clap `Args` struct and a `run` function that
//! returns the process exit code; errors are printed once, here, with their source chain.
#![allow(clippy::print_stdout)] // a CLI writes to stdout by design

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench_read;
mod cat;
mod convert;
mod demo;
mod inspect;
mod plan;
mod remote;
mod stream;
mod verify;

/// Stream, inspect and convert MDS datasets (the shard format of mosaicml-streaming).
#[derive(Debug, Parser)]
#[command(name = "mds", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show a dataset's columns, encodings, shards, samples, bytes, compression and hashes.
    Inspect(inspect::Args),
    /// Print samples as JSON lines (column -> value).
    Cat(cat::Args),
    /// Check sizes and stored hashes and decode every sample; non-zero exit on any fault.
    Verify(verify::Args),
    /// Convert jsonl, csv or parquet into an MDS dataset.
    Convert(convert::Args),
    /// Print the sample ids each (node, rank, worker) reads in an epoch.
    Plan(plan::Args),
    /// Stream a dataset (remote or local) end to end.
    Stream(stream::Args),
    /// Write a synthetic dataset to a local directory and stream it shuffled.
    Demo(demo::Args),
    /// Reader command of the benchmark harness (prints one `RESULT {json}` line).
    BenchRead(bench_read::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect(a) => inspect::run(a),
        Command::Cat(a) => cat::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Convert(a) => convert::run(a),
        Command::Plan(a) => plan::run(a),
        Command::Stream(a) => stream::run(a),
        Command::Demo(a) => demo::run(a),
        Command::BenchRead(a) => bench_read::run(a),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("mds: error: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, `outer: inner: innermost`, each cause once: an
/// object store's error repeats its server's reply in every layer, over several lines.
fn one_line(err: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() || msg.contains(&text) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&text);
    }
    msg
}
