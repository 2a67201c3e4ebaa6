//! `mds stream` from the S3 emulator and the HTTP server that `cargo xtask test` starts: the
//! installed binary reads every backend, and gives the same checksum as a local read.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

/// `MDS_TEST_*` variable `var`, or `None` (test skipped) unless `MDS_TEST_REQUIRE_BACKENDS=1`.
fn endpoint(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            let required = std::env::var("MDS_TEST_REQUIRE_BACKENDS").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "{var} is not set but MDS_TEST_REQUIRE_BACKENDS=1"
            );
            eprintln!("skipping: {var} not set (scripts/emulators/start.sh writes it)");
            None
        }
    }
}

fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("cli-{name}-{}-{nanos}", std::process::id())
}

/// `n` samples of one `int` column `id` = 0..n, written by mds-format's writer in shards of
/// at most `size_limit` bytes; returns the sum of the ids.
fn write_dataset(dir: &Path, n: i64, size_limit: u64) -> u64 {
    let mut w = mds_format::MdsWriter::builder(dir)
        .with_columns(&[("id", "int")])
        .with_size_limit(Some(size_limit))
        .build_mds()
        .unwrap();
    for id in 0..n {
        w.write(&[mds_format::encoding::Value::Int(id)]).unwrap();
    }
    w.finish().unwrap();
    u64::try_from(n * (n - 1) / 2).unwrap()
}

/// Every file under `dir`, as (key relative to `dir` with `/`, path).
fn files(dir: &Path) -> Vec<(String, std::path::PathBuf)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if path.is_dir() {
            out.extend(
                files(&path)
                    .into_iter()
                    .map(|(k, p)| (format!("{name}/{k}"), p)),
            );
        } else {
            out.push((name, path));
        }
    }
    out
}

/// Uploads every file under `dir` to the object store at `url`, keys relative to `dir`.
fn upload(dir: &Path, url: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let f = mds_fetch::from_url(url).unwrap();
        for (key, path) in files(dir) {
            let data = bytes::Bytes::from(std::fs::read(&path).unwrap());
            f.put(&key, data).await.unwrap();
        }
    });
}

/// Runs `mds stream REMOTE --local <fresh dir> --shuffle --key id` and returns the checksum.
fn stream(remote: &str) -> u64 {
    let cache = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mds"))
        .args(["stream", remote, "--local"])
        .arg(cache.path())
        .args(["--shuffle", "--key", "id"])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "mds stream {remote}: {text}");
    let after = text
        .split("checksum ")
        .nth(1)
        .unwrap_or_else(|| panic!("{text}"));
    after.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn stream_from_s3_and_http_gives_the_local_checksum() {
    let src = tempfile::tempdir().unwrap();
    let want = write_dataset(src.path(), 567, 4096);
    assert_eq!(stream(&src.path().display().to_string()), want);

    if let Some(_endpoint) = endpoint("MDS_TEST_S3_ENDPOINT") {
        let bucket = std::env::var("MDS_TEST_BUCKET").unwrap_or_else(|_| "mds-test".into());
        let url = format!("s3://{bucket}/{}", unique("s3"));
        upload(src.path(), &url);
        assert_eq!(stream(&url), want, "{url}");
    }

    if let (Some(http), Ok(root)) = (
        endpoint("MDS_TEST_HTTP_ENDPOINT"),
        std::env::var("MDS_TEST_HTTP_ROOT"),
    ) {
        let name = unique("http");
        let dir = Path::new(&root).join(&name);
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(src.path()).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
        let url = format!("{}/{name}", http.trim_end_matches('/'));
        assert_eq!(stream(&url), want, "{url}");
    }
}

/// A dataset whose index.json `merge_index` wrote over two subdirectories
/// (`part-0/shard.00000.mds`, …) streams from S3 through the cache.
#[test]
fn a_merged_index_of_subdirectories_streams_from_s3() {
    let Some(_endpoint) = endpoint("MDS_TEST_S3_ENDPOINT") else {
        return;
    };
    let src = tempfile::tempdir().unwrap();
    let want = write_dataset(&src.path().join("part-0"), 47, 512)
        + write_dataset(&src.path().join("part-1"), 25, 512);
    let merged = mds_format::index::merge_index(src.path()).unwrap();
    assert!(merged.shards.len() > 2, "{} shards", merged.shards.len());
    assert!(merged.shards[0].raw_data.basename.starts_with("part-0/"));
    assert!(
        merged
            .shards
            .iter()
            .any(|s| s.raw_data.basename == "part-1/shard.00000.mds")
    );
    let bucket = std::env::var("MDS_TEST_BUCKET").unwrap_or_else(|_| "mds-test".into());
    let url = format!("s3://{bucket}/{}", unique("merged"));
    upload(src.path(), &url);
    assert_eq!(stream(&url), want, "{url}");
}

/// `mds inspect`, `cat` and `verify` take a remote root as they take a directory: the same
/// output for an S3 copy (compressed and hashed) as for the local dataset.
#[test]
fn inspect_cat_and_verify_read_an_s3_remote() {
    let Some(_endpoint) = endpoint("MDS_TEST_S3_ENDPOINT") else {
        return;
    };
    let src = tempfile::tempdir().unwrap();
    let mut w = mds_format::MdsWriter::builder(src.path())
        .with_columns(&[("id", "int")])
        .with_size_limit(Some(2048))
        .with_compression(Some("zstd"))
        .with_hashes(&["sha1"])
        .build_mds()
        .unwrap();
    for id in 0..300 {
        w.write(&[mds_format::encoding::Value::Int(id)]).unwrap();
    }
    w.finish().unwrap();
    let bucket = std::env::var("MDS_TEST_BUCKET").unwrap_or_else(|_| "mds-test".into());
    let url = format!("s3://{bucket}/{}", unique("inspect"));
    upload(src.path(), &url);
    let mds = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_mds"))
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "mds {args:?}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    };
    let local = src.path().display().to_string();
    assert_eq!(mds(&["cat", &url]), mds(&["cat", &local]));
    assert_eq!(
        mds(&["cat", &url, "--start", "10", "--end", "12"])
            .lines()
            .count(),
        2
    );
    let inspect_remote = mds(&["inspect", &url, "--shards"]);
    let inspect_local = mds(&["inspect", &local, "--shards"]);
    assert_eq!(
        inspect_remote.replace(&url, "DATASET"),
        inspect_local.replace(&local, "DATASET")
    );
    mds(&["verify", &url, "--quiet"]);
    let missing = Command::new(env!("CARGO_BIN_EXE_mds"))
        .args(["inspect", &format!("{url}-missing")])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(
        !missing.status.success() && err.contains("index.json"),
        "{err}"
    );
}
