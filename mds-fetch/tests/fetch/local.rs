//! Local and in-memory fetchers: downloads, ranges, hashes, decompression, uploads, errors.

use std::sync::Arc;

use mds_fetch::{
    Decompress, DownloadOptions, Error, Expected, Fetcher, ObjectStoreFetcher, RetryPolicy,
    download, download_decompress, fetch_bytes, from_url, hash, upload,
};

use crate::common::{dataset, pattern, seed};

fn small_parts() -> DownloadOptions {
    DownloadOptions {
        part_size_bytes: 256 * 1024,
        parts_in_flight: 3,
        retry: RetryPolicy {
            retries: 0,
            ..RetryPolicy::default()
        },
    }
}

/// Downloads every file of the dataset from `f` and compares bytes; returns nothing.
pub(crate) async fn check_roundtrip(f: &dyn Fetcher, opts: &DownloadOptions) {
    let dir = tempfile::tempdir().unwrap();
    for (i, (key, want)) in dataset().iter().enumerate() {
        // alternate between known and unknown sizes to cover both paths
        let size = (i % 2 == 0).then_some(want.len() as u64);
        let digest = hash::hex_digest("sha256", want).unwrap();
        let expected = Expected {
            size_bytes: size,
            hash: Some(("sha256", &digest)),
        };
        let dest = dir.path().join(format!("f{i}.tmp"));
        let n = download(f, key, &dest, &expected, opts).await.unwrap();
        assert_eq!(n, want.len() as u64, "{key}");
        assert!(
            std::fs::read(&dest).unwrap() == *want,
            "{key}: bytes differ"
        );
        assert!(
            fetch_bytes(f, key, &opts.retry).await.unwrap() == want[..],
            "{key}"
        );
        if want.len() > 10 {
            let r = 3..want.len() as u64 - 5;
            let got = f.get_range(key, r.clone()).await.unwrap();
            assert!(got[..] == want[3..want.len() - 5], "{key}: range");
        }
        assert_eq!(f.size(key).await.unwrap(), want.len() as u64);
    }
    let missing = f.size("no/such/shard.mds").await.unwrap_err();
    assert!(missing.is_not_found(), "{missing:?}");
    assert!(
        missing.to_string().contains("no/such/shard.mds"),
        "{missing}"
    );
    let dest = dir.path().join("missing.tmp");
    let err = download(f, "shard.99999.mds", &dest, &Expected::default(), opts)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert!(err.to_string().contains("shard.99999.mds"), "{err}");
}

#[tokio::test]
async fn memory_roundtrip() {
    let f = ObjectStoreFetcher::memory();
    seed(&f, &dataset()).await;
    check_roundtrip(&f, &small_parts()).await;
    check_roundtrip(&f, &DownloadOptions::default()).await;
    let keys = f.list("").await.unwrap();
    assert_eq!(keys.len(), dataset().len());
    assert_eq!(
        f.list("sub").await.unwrap(),
        vec!["sub/shard.00004.mds.zstd"]
    );
}

#[tokio::test]
async fn local_paths_and_file_urls() {
    let dir = tempfile::tempdir().unwrap();
    for (k, v) in dataset() {
        let p = dir.path().join(&k);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, v).unwrap();
    }
    let plain = from_url(dir.path().to_str().unwrap()).unwrap();
    check_roundtrip(plain.as_ref(), &small_parts()).await;
    let url = format!("file://{}", dir.path().display());
    let file = from_url(&url).unwrap();
    check_roundtrip(file.as_ref(), &small_parts()).await;
    assert_eq!(file.url("index.json"), format!("{url}/index.json"));
    let keys = plain.list("").await.unwrap();
    assert_eq!(keys.len(), dataset().len(), "{keys:?}");
}

#[tokio::test]
async fn hash_mismatch_and_size_mismatch_are_errors() {
    let f = ObjectStoreFetcher::memory();
    seed(&f, &dataset()).await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x");
    let bad = "0".repeat(64);
    let err = download(
        &f,
        "shard.00002.mds",
        &dest,
        &Expected {
            size_bytes: None,
            hash: Some(("sha256", &bad)),
        },
        &small_parts(),
    )
    .await
    .unwrap_err();
    assert!(matches!(&err, Error::HashMismatch { url, .. } if url.ends_with("shard.00002.mds")));
    assert!(!err.is_retryable());
    let err = download(
        &f,
        "shard.00001.mds",
        &dest,
        &Expected {
            size_bytes: Some(5),
            hash: None,
        },
        &small_parts(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::SizeMismatch {
                expected: 5,
                actual: 70_000,
                ..
            }
        ),
        "{err:?}"
    );
    let err = download(
        &f,
        "shard.00001.mds",
        &dest,
        &Expected {
            size_bytes: None,
            hash: Some(("crc99", "00")),
        },
        &small_parts(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::UnknownHash { .. }), "{err:?}");
}

#[tokio::test]
#[allow(clippy::too_many_lines)] // one table of codecs and its error cases
async fn decompress_each_codec_with_and_without_keep_zip() {
    use std::io::Write;
    let raw = pattern(5, 200_000);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&raw).unwrap();
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    bz.write_all(&raw).unwrap();
    let mut br = Vec::new();
    brotli::BrotliCompress(
        &mut &raw[..],
        &mut br,
        &brotli::enc::BrotliEncoderParams::default(),
    )
    .unwrap();
    let codecs = [
        ("zstd", zstd::encode_all(&raw[..], 3).unwrap()),
        ("zstd:7", zstd::encode_all(&raw[..], 7).unwrap()),
        ("gz", gz.finish().unwrap()),
        ("bz2", bz.finish().unwrap()),
        ("br", br),
        (
            "snappy",
            snap::raw::Encoder::new().compress_vec(&raw).unwrap(),
        ),
    ];
    let f = ObjectStoreFetcher::memory();
    let dir = tempfile::tempdir().unwrap();
    for (i, (codec, zip)) in codecs.iter().enumerate() {
        let key = format!("s{i}.mds.{codec}");
        f.put(&key, zip.clone().into()).await.unwrap();
        let digest = hash::hex_digest("xxh64", zip).unwrap();
        for keep_zip in [false, true] {
            let zip_dest = dir.path().join(format!("{i}-{keep_zip}.zip.tmp"));
            let raw_dest = dir.path().join(format!("{i}-{keep_zip}.raw.tmp"));
            let to = Decompress {
                compression: codec,
                zip_dest: &zip_dest,
                raw_dest: &raw_dest,
                keep_zip,
                raw_size_bytes: Some(raw.len() as u64),
            };
            let expected = Expected {
                size_bytes: Some(zip.len() as u64),
                hash: Some(("xxh64", &digest)),
            };
            let n = download_decompress(&f, &key, &to, &expected, &small_parts())
                .await
                .unwrap();
            assert_eq!(n, raw.len() as u64, "{codec}");
            assert!(std::fs::read(&raw_dest).unwrap() == raw, "{codec}");
            assert_eq!(zip_dest.exists(), keep_zip, "{codec}");
        }
        // index.json recording a smaller raw size: refused before more reaches the disk
        let (zip_dest, raw_dest) = (dir.path().join("short.zip"), dir.path().join("short.raw"));
        let to = Decompress {
            compression: codec,
            zip_dest: &zip_dest,
            raw_dest: &raw_dest,
            keep_zip: false,
            raw_size_bytes: Some(raw.len() as u64 - 1),
        };
        let err = download_decompress(&f, &key, &to, &Expected::default(), &small_parts())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Decompress { path, source, .. }
                if *path == zip_dest && source.to_string().contains("more than")),
            "{codec}: {err:?}"
        );
    }
    // a corrupt body: a typed error naming the file
    f.put("bad.mds.zstd", b"not zstd at all".to_vec().into())
        .await
        .unwrap();
    let zip_dest = dir.path().join("bad.zip");
    let raw_dest = dir.path().join("bad.raw");
    let to = Decompress {
        compression: "zstd",
        zip_dest: &zip_dest,
        raw_dest: &raw_dest,
        keep_zip: false,
        raw_size_bytes: None,
    };
    let err = download_decompress(
        &f,
        "bad.mds.zstd",
        &to,
        &Expected::default(),
        &small_parts(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, Error::Decompress { path, .. } if *path == zip_dest),
        "{err:?}"
    );
    let to = Decompress {
        compression: "lz4",
        ..to
    };
    let err = download_decompress(
        &f,
        "bad.mds.zstd",
        &to,
        &Expected::default(),
        &small_parts(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::UnknownCompression { .. }), "{err:?}");
}

#[tokio::test]
async fn upload_with_limit_then_list() {
    let src = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (i, (k, v)) in dataset().into_iter().enumerate() {
        let p = src.path().join(format!("local{i}"));
        std::fs::write(&p, &v).unwrap();
        files.push((p, k));
    }
    let out = tempfile::tempdir().unwrap();
    let dest = from_url(out.path().join("new/dataset").to_str().unwrap()).unwrap();
    upload(dest.as_ref(), &files, 2, &RetryPolicy::default())
        .await
        .unwrap();
    for (k, v) in dataset() {
        assert!(std::fs::read(out.path().join("new/dataset").join(&k)).unwrap() == v);
    }
    let mut want: Vec<String> = dataset().into_iter().map(|(k, _)| k).collect();
    want.sort();
    assert_eq!(dest.list("").await.unwrap(), want);
    // a missing local file names the file
    let err = upload(
        dest.as_ref(),
        &[(src.path().join("nope"), "x".to_string())],
        2,
        &RetryPolicy::default(),
    )
    .await
    .unwrap_err();
    assert!(
        err.is_not_found() && err.to_string().contains("nope"),
        "{err}"
    );
}

#[test]
fn schemes_resolve_or_fail_clearly() {
    for url in [
        "dbfs:/Volumes/a/b/c",
        "sftp://u@h/p",
        "alipan:///x",
        "ftp://h/x",
    ] {
        let err = from_url(url).unwrap_err();
        assert!(
            matches!(err, Error::UnsupportedScheme { .. }),
            "{url}: {err:?}"
        );
        assert!(err.to_string().contains("unsupported scheme"), "{err}");
    }
    let err = from_url("oci://bucket@ns/x").unwrap_err();
    assert!(matches!(
        err,
        Error::UnsupportedScheme { .. } | Error::FeatureDisabled { .. }
    ));
    let mem = from_url("memory://").unwrap();
    assert_eq!(mem.url("a/b"), "memory://a/b");
    #[cfg(feature = "s3")]
    {
        let f = mds_fetch::FetcherBuilder::new("s3://bucket/some/prefix/")
            .with_option("aws_endpoint", "http://127.0.0.1:9")
            .with_option("aws_region", "us-east-1")
            .build()
            .unwrap();
        assert_eq!(f.url("index.json"), "s3://bucket/some/prefix/index.json");
        let err = mds_fetch::FetcherBuilder::new("s3://bucket/p")
            .with_option("no_such_option", "1")
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{err:?}");
    }
    #[cfg(feature = "http")]
    {
        let f = from_url("hf://datasets/org/repo@v1/data/train").unwrap();
        assert_eq!(
            f.url("index.json"),
            "hf://datasets/org/repo@v1/data/train/index.json"
        );
        assert!(from_url("hf://models/x").is_err());
    }
    #[cfg(feature = "azure")]
    {
        for url in [
            "az://container/prefix",
            "azure://devstoreaccount1.blob.core.windows.net/container/prefix",
            "abfss://container@acct.dfs.core.windows.net/prefix",
        ] {
            let f = mds_fetch::FetcherBuilder::new(url)
                .with_option("azure_storage_use_emulator", "true")
                .build()
                .unwrap();
            assert!(f.url("k").ends_with("/prefix/k"), "{url}");
        }
    }
    let _ = Arc::new(());
}

#[test]
fn retry_policy_from_reference() {
    let p = RetryPolicy::from_reference(0, 2.5);
    assert_eq!(p.retries, 0);
    assert_eq!(p.timeout, std::time::Duration::from_millis(2500));
    assert_eq!(
        RetryPolicy::from_reference(2, -1.0).timeout,
        std::time::Duration::from_secs(60)
    );
    let d = RetryPolicy::default();
    assert_eq!(d.backoff(0), std::time::Duration::from_secs(1));
    assert_eq!(d.backoff(3), std::time::Duration::from_secs(8));
    assert_eq!(d.backoff(40), d.max_backoff);
}
