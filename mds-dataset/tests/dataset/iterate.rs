//! Iteration, random access, async streaming and errors over real shard files.

use mds_dataset::{Error, StreamingDataset, World};

use crate::util::{id_of, write_stream};

fn build(dir: &std::path::Path, rt: &tokio::runtime::Runtime, shuffle: bool) -> StreamingDataset {
    StreamingDataset::builder()
        .with_local(dir)
        .with_shuffle(shuffle)
        .with_batch_size(4)
        .with_predownload(8)
        .with_world(World::default())
        .with_runtime(rt.handle().clone())
        .build()
        .unwrap()
}

#[test]
fn every_sample_once_and_random_access() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    write_stream(tmp.path(), &[10, 0, 33, 7], 0);
    let ds = build(tmp.path(), &rt, true);
    assert_eq!((ds.size(), ds.len(), ds.num_shards()), (50, 50, 4));
    let mut got: Vec<u64> = ds.iter().unwrap().map(|s| id_of(&s.unwrap())).collect();
    got.sort_unstable();
    assert_eq!(got, (0..50).collect::<Vec<_>>());
    assert_eq!(id_of(&ds.get(42).unwrap()), 42);
    assert_eq!(id_of(&ds.get(-1).unwrap()), 49);
    assert!(matches!(
        ds.get(50),
        Err(Error::SampleOutOfRange {
            index: 50,
            size: 50
        })
    ));
    assert!(matches!(ds.get(-51), Err(Error::SampleOutOfRange { .. })));
}

#[test]
fn async_stream_matches_iterator() {
    use futures::StreamExt;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    write_stream(tmp.path(), &[5, 9, 3], 0);
    let a = build(tmp.path(), &rt, true);
    let sync: Vec<u64> = a.iter().unwrap().map(|s| id_of(&s.unwrap())).collect();
    let b = build(tmp.path(), &rt, true);
    let asy: Vec<u64> = rt.block_on(async {
        b.stream()
            .unwrap()
            .map(|s| id_of(&s.unwrap()))
            .collect()
            .await
    });
    assert_eq!(sync, asy);
}

#[test]
fn corrupt_shard_is_an_error_naming_it() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    write_stream(tmp.path(), &[5, 5], 0);
    let f = tmp.path().join("shard.00001.mds");
    let len = std::fs::metadata(&f).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&f)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    let ds = build(tmp.path(), &rt, false);
    let res: Result<Vec<_>, _> = ds.iter().unwrap().collect();
    let err = res.unwrap_err();
    assert!(err.to_string().contains("shard.00001.mds"), "{err}");
}

#[test]
fn parameter_errors() {
    let tmp = tempfile::tempdir().unwrap();
    write_stream(tmp.path(), &[5], 0);
    let both = StreamingDataset::builder()
        .with_local(tmp.path())
        .with_streams(vec![mds_dataset::Stream::new().with_local(tmp.path())])
        .build();
    assert!(matches!(
        both,
        Err(Error::InvalidParameter {
            param: "streams",
            ..
        })
    ));
    let two = mds_dataset::Stream::new()
        .with_local(tmp.path())
        .with_proportion(1.0)
        .with_repeat(2.0);
    let r = StreamingDataset::builder().with_streams(vec![two]).build();
    assert!(matches!(r, Err(Error::InvalidStream { stream: 0, .. })));
    let r = StreamingDataset::builder()
        .with_local(tmp.path())
        .with_cache_limit("100b")
        .build();
    assert!(matches!(
        r,
        Err(Error::CacheLimitTooLow { .. } | Error::CacheLimitBelowIndex { .. })
    ));
    let r = StreamingDataset::builder()
        .with_local(tmp.path())
        .with_sampling_granularity(0)
        .build();
    assert!(matches!(
        r,
        Err(Error::InvalidParameter {
            param: "sampling_granularity",
            ..
        })
    ));
    let r = StreamingDataset::builder()
        .with_local(tmp.path())
        .with_epoch_size(3)
        .build();
    assert!(r.is_ok(), "epoch_size without weights is allowed");
    let ds = StreamingDataset::builder()
        .with_local(tmp.path())
        .with_world(World::default())
        .build()
        .unwrap();
    assert!(matches!(
        ds.begin_epoch(World::default()),
        Err(Error::MissingBatchSize)
    ));
    assert!(matches!(ds.iter(), Err(Error::NoRuntime)));
}

/// A local directory used as the remote goes through the cache, where `validate_hash` applies:
/// a shard whose bytes disagree with index.json is an error naming it, never wrong data.
#[test]
fn local_remote_validates_hashes_through_the_cache() {
    use mds_dataset::format::hash::HashAlgorithm;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let remote = tempfile::tempdir().unwrap();
    let local = tempfile::tempdir().unwrap();
    write_stream(remote.path(), &[5, 5], 0);
    let index_path = remote.path().join("index.json");
    let mut index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&index_path).unwrap()).unwrap();
    for (k, shard) in index["shards"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        let name = format!("shard.{k:05}.mds");
        let data = std::fs::read(remote.path().join(&name)).unwrap();
        let mut digest = HashAlgorithm::Sha1.hex_digest(&data);
        if k == 1 {
            digest = "0".repeat(digest.len()); // the stored shard no longer matches
        }
        shard["hashes"] = serde_json::json!(["sha1"]);
        shard["raw_data"]["hashes"] = serde_json::json!({ "sha1": digest });
    }
    std::fs::write(&index_path, index.to_string()).unwrap();
    let ds = StreamingDataset::builder()
        .with_remote(remote.path().to_str().unwrap())
        .with_local(local.path())
        .with_validate_hash("sha1")
        .with_world(World::default())
        .with_runtime(rt.handle().clone())
        .build()
        .unwrap();
    assert_eq!(id_of(&ds.get(0).unwrap()), 0);
    let err = ds.get(7).unwrap_err();
    assert!(err.to_string().contains("shard.00001.mds"), "{err}");
    assert!(local.path().join("shard.00000.mds").exists());
    assert!(!local.path().join("shard.00001.mds").exists());
}

#[test]
fn unknown_validate_hash_is_a_parameter_error() {
    let tmp = tempfile::tempdir().unwrap();
    write_stream(tmp.path(), &[3], 0);
    let err = StreamingDataset::builder()
        .with_local(tmp.path())
        .with_validate_hash("bogus")
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidParameter {
                param: "validate_hash",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("\"bogus\""), "{err}");
}

/// Every codec of the reference is read from a local dataset that holds only compressed
/// shards (mds-dataset used to read zstd only), in both read orders.
#[test]
fn local_compressed_shards_of_every_codec() {
    use std::str::FromStr;
    let rt = tokio::runtime::Runtime::new().unwrap();
    for spec in ["zstd", "zstd:7", "gz", "bz2", "br:5", "snappy"] {
        let tmp = tempfile::tempdir().unwrap();
        write_stream(tmp.path(), &[10, 0, 33], 0);
        let codec = mds_dataset::format::compression::Compression::from_str(spec).unwrap();
        let index_path = tmp.path().join("index.json");
        let mut index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
        for shard in index["shards"].as_array_mut().unwrap() {
            let raw_name = shard["raw_data"]["basename"].as_str().unwrap().to_owned();
            let raw = std::fs::read(tmp.path().join(&raw_name)).unwrap();
            let zip = codec.compress(&raw).unwrap();
            let zip_name = format!("{raw_name}.{}", codec.extension());
            std::fs::write(tmp.path().join(&zip_name), &zip).unwrap();
            std::fs::remove_file(tmp.path().join(&raw_name)).unwrap();
            shard["compression"] = spec.into();
            shard["zip_data"] =
                serde_json::json!({"basename": zip_name, "bytes": zip.len(), "hashes": {}});
        }
        std::fs::write(&index_path, index.to_string()).unwrap();
        for shuffle in [false, true] {
            let ds = build(tmp.path(), &rt, shuffle);
            let mut got: Vec<u64> = ds.iter().unwrap().map(|s| id_of(&s.unwrap())).collect();
            got.sort_unstable();
            assert_eq!(got, (0..43).collect::<Vec<_>>(), "{spec} shuffle={shuffle}");
        }
    }
}

/// Large samples are read as slices of the mapping (and their pages given back as the
/// iterator moves on), small ones copied: both give the stored bytes, in every order, also
/// when samples are kept after the iterator has moved past them.
#[test]
fn large_and_small_samples_read_back_exactly() {
    use mds_dataset::format::MdsWriter;
    use mds_dataset::format::encoding::Value;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let payload = |id: u64| -> Vec<u8> {
        // 40 KiB for even ids (mapped), 3 KiB for odd ones (copied)
        let len = if id.is_multiple_of(2) {
            40 << 10
        } else {
            3 << 10
        };
        (0..len).map(|k| ((id * 31 + k) % 251) as u8).collect()
    };
    let mut w = MdsWriter::builder(tmp.path())
        .with_columns(&[("id", "int"), ("data", "bytes")])
        .with_size_limit(Some(1 << 20))
        .build_mds()
        .unwrap();
    for id in 0..400u64 {
        // the writer orders columns by name, as the reference does
        w.write(&[
            Value::Bytes(payload(id).into()),
            Value::Int(i64::try_from(id).unwrap()),
        ])
        .unwrap();
    }
    w.finish().unwrap();
    for shuffle in [false, true] {
        let ds = build(tmp.path(), &rt, shuffle);
        assert!(ds.num_shards() > 5);
        let kept: Vec<_> = ds.iter().unwrap().map(Result::unwrap).collect();
        let mut seen: Vec<u64> = Vec::new();
        for s in &kept {
            let id = id_of(s);
            match s.get("data") {
                Some(Value::Bytes(b)) => assert!(b[..] == payload(id)[..], "sample {id}"),
                other => panic!("sample {id}: {other:?}"),
            }
            seen.push(id);
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..400).collect::<Vec<_>>(), "shuffle={shuffle}");
    }
}

#[test]
fn a_merged_index_of_subdirectories_streams_direct_and_through_a_copy() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let root = tempfile::tempdir().unwrap();
    write_stream(&root.path().join("part-0"), &[3, 4], 0);
    write_stream(&root.path().join("part-1"), &[5], 7);
    let merged = mds_dataset::format::index::merge_index(root.path()).unwrap();
    assert_eq!(merged.shards[2].raw_data.basename, "part-1/shard.00000.mds");
    let ids = |ds: &StreamingDataset| {
        let mut ids: Vec<u64> = ds.iter().unwrap().map(|s| id_of(&s.unwrap())).collect();
        ids.sort_unstable();
        ids
    };
    let direct = build(root.path(), &rt, true);
    assert_eq!(ids(&direct), (0..12).collect::<Vec<_>>());
    let local = tempfile::tempdir().unwrap();
    let copied = StreamingDataset::builder()
        .with_remote(root.path().to_str().unwrap())
        .with_local(local.path())
        .with_batch_size(4)
        .with_world(World::default())
        .with_runtime(rt.handle().clone())
        .build()
        .unwrap();
    assert_eq!(ids(&copied), (0..12).collect::<Vec<_>>());
    assert!(local.path().join("part-1/shard.00000.mds").is_file());
}

#[test]
fn a_basename_leaving_the_dataset_is_an_error_naming_it() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for bad in [
        "../shard.00000.mds",
        "/etc/passwd",
        "a//b.mds",
        "a/./b.mds",
        "c:\\x.mds",
        "",
    ] {
        let dir = tempfile::tempdir().unwrap();
        write_stream(dir.path(), &[2], 0);
        let path = dir.path().join("index.json");
        let mut index: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        index["shards"][0]["raw_data"]["basename"] = serde_json::json!(bad);
        std::fs::write(&path, index.to_string()).unwrap();
        let err = StreamingDataset::builder()
            .with_local(dir.path())
            .with_batch_size(1)
            .with_world(World::default())
            .with_runtime(rt.handle().clone())
            .build()
            .map(|_| ())
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidStream { .. })
                && err.to_string().contains("unsafe shard basename"),
            "{bad:?}: {err}"
        );
    }
}
