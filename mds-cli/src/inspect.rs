//! `mds inspect DIR`: a dataset's columns, encodings, shards, samples, bytes, compression and
//! hashes, from index.json (no shard is read).

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;
use mds_format::{Index, ShardFormat};

/// Arguments of `mds inspect`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The dataset: a directory holding index.json, or a remote root (`s3://…`, `gs://…`,
    /// `azure://…`, `http(s)://…`), whose files are fetched into a temporary directory.
    dir: String,
    /// List every shard (basename, samples, raw and compressed bytes).
    #[arg(long)]
    shards: bool,
}

fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut unit = 0;
    let mut whole = bytes;
    let mut frac = 0u64;
    while whole >= 1024 && unit + 1 < UNITS.len() {
        frac = (whole % 1024) * 10 / 1024;
        whole /= 1024;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{whole}.{frac} {}", UNITS[unit])
    }
}

/// Distinct values of `f` over the shards, in first-seen order, joined by " | ".
fn distinct(index: &Index, f: impl Fn(&mds_format::ShardMeta) -> String) -> String {
    let mut seen: Vec<String> = Vec::new();
    for s in &index.shards {
        let v = f(s);
        if !seen.contains(&v) {
            seen.push(v);
        }
    }
    if seen.is_empty() {
        "-".to_owned()
    } else {
        seen.join(" | ")
    }
}

#[allow(clippy::needless_pass_by_value)] // every subcommand's `run` takes its `Args` by value
#[allow(clippy::too_many_lines)] // one line of output after another
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = crate::remote::resolve(&args.dir, crate::remote::Needs::Index)?;
    let index = Index::load(dir.path())
        .with_context(|| format!("cannot read the index of {}", args.dir))?;
    let mut out = String::new();
    let raw: u64 = index
        .shards
        .iter()
        .map(|s| s.raw_data.bytes + s.raw_meta.as_ref().map_or(0, |m| m.bytes))
        .sum();
    let stored: u64 = index
        .shards
        .iter()
        .flat_map(|s| {
            [
                s.zip_data.as_ref().unwrap_or(&s.raw_data),
                s.zip_meta
                    .as_ref()
                    .or(s.raw_meta.as_ref())
                    .unwrap_or(&s.raw_data),
            ]
            .into_iter()
            .take(if s.format.is_split() { 2 } else { 1 })
        })
        .map(|f| f.bytes)
        .sum();
    let _ = writeln!(out, "dataset:     {}", args.dir);
    let _ = writeln!(
        out,
        "format:      {}",
        distinct(&index, |s| s.format.name().to_owned())
    );
    let _ = writeln!(out, "samples:     {}", index.num_samples());
    let _ = writeln!(out, "shards:      {}", index.shards.len());
    let _ = writeln!(
        out,
        "bytes:       {raw} raw ({}), {stored} stored ({})",
        human(raw),
        human(stored)
    );
    let _ = writeln!(
        out,
        "compression: {}",
        distinct(&index, |s| s
            .compression
            .as_ref()
            .map_or_else(|| "none".to_owned(), |c| c.spec().to_owned()))
    );
    let _ = writeln!(
        out,
        "hashes:      {}",
        distinct(&index, |s| if s.hashes.is_empty() {
            "none".to_owned()
        } else {
            s.hashes.join(", ")
        })
    );
    let _ = writeln!(
        out,
        "size_limit:  {}",
        distinct(&index, |s| s.size_limit.map_or_else(
            || "none".to_owned(),
            |l| format!("{l} ({})", human(l))
        ))
    );
    if let Some(first) = index.shards.first() {
        let _ = writeln!(out, "columns:");
        let names = first.names();
        let width = names.iter().map(|n| n.len()).max().unwrap_or(0);
        if first.format == ShardFormat::Json {
            for (name, enc) in &first.columns {
                let _ = writeln!(out, "  {name:<width$}  {enc}");
            }
        } else {
            for (i, name) in first.column_names.iter().enumerate() {
                let enc = first.column_encodings.get(i).map_or("?", String::as_str);
                let size = match first.column_sizes.get(i) {
                    Some(Some(n)) => format!("{n} bytes"),
                    Some(None) => "variable".to_owned(),
                    None => String::new(),
                };
                let _ = writeln!(out, "  {name:<width$}  {enc:<20}  {size}");
            }
        }
        let differing = index.shards.iter().filter(|s| s.names() != names).count();
        if differing > 0 {
            let _ = writeln!(out, "  ({differing} shards have other columns)");
        }
    }
    if !index.extra.is_empty() {
        let keys: Vec<&str> = index.extra.keys().map(String::as_str).collect();
        let _ = writeln!(out, "extra keys:  {}", keys.join(", "));
    }
    if args.shards {
        let _ = writeln!(out, "shards:");
        let width = index
            .shards
            .iter()
            .map(|s| s.raw_data.basename.len())
            .max()
            .unwrap_or(0);
        for s in &index.shards {
            let zip = s.zip_data.as_ref().map_or_else(String::new, |z| {
                format!("  {} ({} bytes)", z.basename, z.bytes)
            });
            let _ = writeln!(
                out,
                "  {:<width$}  {:>8} samples  {:>12} bytes{zip}",
                s.raw_data.basename, s.samples, s.raw_data.bytes
            );
        }
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}
