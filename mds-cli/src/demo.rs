//! `mds demo`: write a synthetic dataset with mds-format's writer into a local directory,
//! then stream it shuffled through mds-dataset as if it were the remote.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use mds_dataset::format::encoding::Value;

/// Arguments of `mds demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Where to write the dataset (default: a directory under the system temp dir).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Samples to write.
    #[arg(long, default_value_t = 100_000)]
    samples: u64,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = args
        .dir
        .unwrap_or_else(|| std::env::temp_dir().join(format!("mds-demo-{}", std::process::id())));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    let t = std::time::Instant::now();
    // columns in sorted order, as the writer (like the reference's) stores them
    let mut w = mds_dataset::format::MdsWriter::builder(&dir)
        .with_columns(&[
            ("id", "int"),
            ("text", "str"),
            ("tokens", "ndarray:int32:256"),
        ])
        .with_size_limit(Some(8 << 20))
        .build_mds()?;
    let mut tokens = vec![0u8; 256 * 4];
    for i in 0..args.samples {
        for (k, c) in tokens.chunks_exact_mut(4).enumerate() {
            let v = u32::try_from((i * 31 + k as u64) % 50_000).unwrap_or(0);
            c.copy_from_slice(&v.to_le_bytes());
        }
        w.write(&[
            Value::Int(i64::try_from(i)?),
            Value::Str(mds_dataset::format::encoding::Text::from_utf8(
                bytes::Bytes::from(format!("sample number {i}")),
            )?),
            Value::Array {
                dtype: "int32".parse()?,
                shape: vec![256],
                data: bytes::Bytes::copy_from_slice(&tokens),
            },
        ])?;
    }
    w.finish()?;
    eprintln!(
        "wrote {} samples to {} in {:.2} s",
        args.samples,
        dir.display(),
        t.elapsed().as_secs_f64()
    );
    let expected: i128 = (0..i128::from(args.samples)).sum();
    eprintln!(
        "streaming it shuffled (remote = {}), expected checksum of `id`: {expected}",
        dir.display()
    );
    let cache_dir = dir.with_extension("cache");
    crate::stream::run(crate::stream::Args {
        remote: dir.display().to_string(),
        // A separate cache dir, so the run goes through fetch + cache like a real remote.
        local: Some(cache_dir),
        shuffle: true,
        seed: 9176,
        batch_size: 256,
        cache_limit: None,
        epochs: 1,
        state_out: None,
        resume: None,
        key: Some("id".into()),
        limit: None,
        print_keys: false,
        allow_unsafe_types: false,
    })
}
