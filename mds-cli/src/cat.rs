//! `mds cat`: print samples as JSON lines, one object (column -> value) per sample, in the
//! representation of the fixtures' `expected.json` (`mds_format::encoding::JsonView`).

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use anyhow::Context as _;
use mds_format::Dataset;
use mds_format::encoding::{Value, sample_json_line};

/// Arguments of `mds cat`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The dataset: a directory holding index.json, or a remote root (`s3://…`, `gs://…`,
    /// `azure://…`, `http(s)://…`), whose files are fetched into a temporary directory.
    dir: String,
    /// First sample to print (global index, 0-based).
    #[arg(long, default_value_t = 0)]
    start: u64,
    /// Sample to stop before (exclusive); default: the end of the dataset.
    #[arg(long)]
    end: Option<u64>,
}

#[allow(clippy::needless_pass_by_value)] // every subcommand's `run` takes its `Args` by value
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = crate::remote::resolve(&args.dir, crate::remote::Needs::Everything)?;
    let dataset = Dataset::open(dir.path())
        .with_context(|| format!("cannot open the dataset in {}", args.dir))?;
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
    match write_samples(&dataset, args.start..end, &mut out).and_then(|()| Ok(out.flush()?)) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(err) => match err.downcast_ref::<std::io::Error>() {
            // `mds cat DIR | head` closes the pipe early: a normal end, not an error.
            Some(io) if io.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
            _ => Err(err),
        },
    }
}

/// Writes samples `range` of `dataset` to `out`, one JSON object per line.
fn write_samples(
    dataset: &Dataset,
    range: std::ops::Range<u64>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    for i in range {
        let sample = dataset.get(i).with_context(|| format!("sample {i}"))?;
        let values = sample.decode_all().with_context(|| format!("sample {i}"))?;
        let pairs: Vec<(&str, &Value)> = values.iter().map(|(n, v)| (*n, v)).collect();
        let line = sample_json_line(&pairs).with_context(|| format!("sample {i}"))?;
        writeln!(out, "{line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::Value as Json;

    use super::*;

    /// Every line `mds cat` prints for the three reference fixtures (plain, many shards, zstd)
    /// matches the fixture's expected values (pickles, PNG and JPEG show their stored bytes
    /// instead of the unpickled object / decoded pixels: checked against the stored bytes).
    #[test]
    fn cat_prints_the_fixture_values() {
        let root =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../mds-format/tests/fixtures/reference");
        for name in [
            "all_encodings",
            "all_encodings_zstd",
            "all_encodings_1shard",
        ] {
            let dir = root.join(name);
            let expected: Json =
                serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
            let dataset = Dataset::open(&dir).unwrap();
            let mut out = Vec::new();
            write_samples(&dataset, 0..dataset.len(), &mut out).unwrap();
            let lines: Vec<&str> = std::str::from_utf8(&out).unwrap().lines().collect();
            let samples = expected["samples"].as_array().unwrap();
            assert_eq!(lines.len(), samples.len(), "{name}");
            for (i, (line, sample)) in lines.iter().zip(samples).enumerate() {
                let got: Json = serde_json::from_str(line).unwrap();
                let columns = expected["columns"].as_object().unwrap();
                assert_eq!(got.as_object().unwrap().len(), columns.len());
                for (col, enc) in columns {
                    let (g, w, raw) = (&got[col], &sample["value"][col], &sample["raw"][col]);
                    let ctx = format!("{name} sample {i} column {col}");
                    match enc.as_str().unwrap() {
                        "pkl" | "png" | "jpeg" => assert_eq!(&g["hex"], raw, "{ctx}"),
                        "list[png]" | "jpeg_array" => {
                            assert_eq!(
                                g.as_array().unwrap().len(),
                                w.as_array().unwrap().len(),
                                "{ctx}"
                            );
                        }
                        _ => assert_eq!(g, w, "{ctx}"),
                    }
                }
            }
        }
    }

    #[test]
    fn a_range_past_the_end_is_an_error() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../mds-format/tests/fixtures/reference/all_encodings_1shard");
        let err = run(Args {
            dir: dir.display().to_string(),
            start: 2000,
            end: None,
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("--start 2000"), "{err:#}");
    }
}
