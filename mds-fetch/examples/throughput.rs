//! Cold-download throughput from an S3 server: mds-fetch's `download` (to files, fsynced)
//! against plain concurrent whole-object GETs with object_store (to memory), side by side in
//! one run, alternating order each round.
//!
//! ```text
//! scripts/emulators/start.sh /tmp/emu && set -a && . /tmp/emu/env && set +a
//! cargo run --release -p mds-fetch --features s3 --example throughput
//! ```
//!
//! Settings (env): `MDS_TEST_S3_ENDPOINT` (required), `MDS_TEST_BUCKET` (`mds-test`),
//! `BENCH_OBJECTS` (24), `BENCH_OBJECT_MIB` (16), `BENCH_CONCURRENCY` (8), `BENCH_ROUNDS` (3),
//! `BENCH_PART_MIB` (64, mds-fetch's ranged-GET part size), `BENCH_DIR` (temp dir for files).
#![allow(clippy::print_stdout, reason = "a benchmark prints its figures")]
#![allow(
    clippy::too_many_lines,
    clippy::cast_precision_loss,
    reason = "a linear benchmark script; byte counts far below 2^52"
)]

use std::sync::Arc;
use std::time::Instant;

use futures::{StreamExt, TryStreamExt};
use mds_fetch::{DownloadOptions, Expected, Fetcher, FetcherBuilder};
use object_store::ObjectStoreExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as StorePath;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn var(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> Res<()> {
    let endpoint = std::env::var("MDS_TEST_S3_ENDPOINT")
        .map_err(|_| "set MDS_TEST_S3_ENDPOINT (scripts/emulators/start.sh writes it)")?;
    let bucket = std::env::var("MDS_TEST_BUCKET").unwrap_or_else(|_| "mds-test".into());
    let objects = var("BENCH_OBJECTS", 24);
    let mib = var("BENCH_OBJECT_MIB", 16);
    let conc = var("BENCH_CONCURRENCY", 8);
    let rounds = var("BENCH_ROUNDS", 3);
    let part_mib = var("BENCH_PART_MIB", 64);
    let prefix = format!("bench-{}", std::process::id());

    let store = Arc::new(
        AmazonS3Builder::new()
            .with_endpoint(&endpoint)
            .with_allow_http(true)
            .with_bucket_name(&bucket)
            .with_region("us-east-1")
            .with_access_key_id("test")
            .with_secret_access_key("test")
            .build()?,
    );
    let fetcher: Arc<dyn Fetcher> = FetcherBuilder::new(&format!("s3://{bucket}/{prefix}"))
        .with_option("aws_endpoint", &endpoint)
        .with_option("aws_access_key_id", "test")
        .with_option("aws_secret_access_key", "test")
        .with_option("aws_region", "us-east-1")
        .build()?;

    let size = mib << 20;
    let keys: Vec<String> = (0..objects).map(|i| format!("shard.{i:05}.mds")).collect();
    println!("seeding {objects} objects of {mib} MiB under s3://{bucket}/{prefix} ...");
    futures::stream::iter(keys.iter().enumerate())
        .map(|(i, k)| {
            let f = Arc::clone(&fetcher);
            let data: Vec<u8> = (0..size)
                .map(|j| u8::try_from((j * 31 + i * 7) % 251).unwrap_or(0))
                .collect();
            async move { f.put(k, data.into()).await }
        })
        .buffer_unordered(4)
        .try_collect::<()>()
        .await?;

    let dir = match std::env::var("BENCH_DIR") {
        Ok(d) => tempfile::tempdir_in(d)?,
        Err(_) => tempfile::tempdir()?,
    };
    let opts = DownloadOptions {
        part_size_bytes: (part_mib as u64) << 20,
        ..DownloadOptions::default()
    };
    let total = (objects * size) as f64;
    let mut ratios = Vec::new();
    println!(
        "objects={objects} size={mib}MiB concurrency={conc} part={part_mib}MiB rounds={rounds}"
    );
    for round in 0..rounds {
        let mut plain_s = 0.0;
        let mut ours_s = 0.0;
        let mut mem_s = 0.0;
        for which in if round % 2 == 0 { [0, 1, 2] } else { [2, 1, 0] } {
            let t = Instant::now();
            if which == 0 {
                futures::stream::iter(&keys)
                    .map(|k| {
                        let store = Arc::clone(&store);
                        let path = StorePath::from(format!("{prefix}/{k}"));
                        async move {
                            let b = store.get(&path).await?.bytes().await?;
                            Ok::<usize, object_store::Error>(b.len())
                        }
                    })
                    .buffer_unordered(conc)
                    .try_for_each(|n| {
                        assert_eq!(n, size);
                        async { Ok(()) }
                    })
                    .await?;
                plain_s = t.elapsed().as_secs_f64();
            } else if which == 2 {
                // mds-fetch to memory: the fetcher and retry layer without the local file
                futures::stream::iter(&keys)
                    .map(|k| {
                        let (f, opts) = (Arc::clone(&fetcher), &opts);
                        async move { mds_fetch::fetch_bytes(f.as_ref(), k, &opts.retry).await }
                    })
                    .buffer_unordered(conc)
                    .try_for_each(|b| {
                        assert_eq!(b.len(), size);
                        async { Ok(()) }
                    })
                    .await?;
                mem_s = t.elapsed().as_secs_f64();
            } else {
                futures::stream::iter(keys.iter().enumerate())
                    .map(|(i, k)| {
                        let (f, dest, opts) = (
                            Arc::clone(&fetcher),
                            dir.path().join(format!("{i}.tmp")),
                            &opts,
                        );
                        async move {
                            let exp = Expected {
                                size_bytes: Some(size as u64),
                                hash: None,
                            };
                            let n = mds_fetch::download(f.as_ref(), k, &dest, &exp, opts).await?;
                            tokio::fs::remove_file(&dest).await.ok();
                            Ok::<u64, mds_fetch::Error>(n)
                        }
                    })
                    .buffer_unordered(conc)
                    .try_collect::<Vec<_>>()
                    .await?;
                ours_s = t.elapsed().as_secs_f64();
            }
        }
        let (p, o, m) = (
            total / plain_s / 1e6,
            total / ours_s / 1e6,
            total / mem_s / 1e6,
        );
        ratios.push(o / p);
        println!(
            "round {round}: plain GETs {p:6.1} MB/s | mds-fetch download to files {o:6.1} MB/s \
             (ratio {:.2}) | mds-fetch to memory {m:6.1} MB/s (ratio {:.2})",
            o / p,
            m / p
        );
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "median ratio mds-fetch / plain: {:.2}",
        ratios[ratios.len() / 2]
    );
    Ok(())
}
