//! Compatibility with the reference library's fixtures: reading, decoding, verifying and
//! rewriting them byte for byte.

use std::fs;
use std::sync::Arc;

use bytes::Bytes;
use mds_format::encoding::{self, Value};
use mds_format::{Dataset, Index, MdsShard, MdsWriter, Sample};

use crate::util::{FIXTURES, assert_same_files, expected, fixture};

fn all_samples(ds: &Dataset) -> Vec<Sample> {
    (0..ds.len()).map(|i| ds.get(i).unwrap()).collect()
}

#[test]
fn every_sample_has_the_stored_bytes_of_expected_json() {
    for name in FIXTURES {
        let ds = Dataset::open(&fixture(name)).unwrap();
        let exp = expected(name);
        let samples = exp["samples"].as_array().unwrap();
        assert_eq!(ds.len(), 1000, "{name}");
        assert_eq!(samples.len(), 1000, "{name}");
        for (i, want) in samples.iter().enumerate() {
            let got = ds.get(i as u64).unwrap();
            let raw = want["raw"].as_object().unwrap();
            assert_eq!(raw.len(), got.columns().len(), "{name} sample {i}");
            for (col, hex_want) in raw {
                let have = got
                    .raw(col)
                    .unwrap_or_else(|| panic!("{name}: no column {col}"));
                assert_eq!(
                    hex::encode(have),
                    hex_want.as_str().unwrap(),
                    "{name} sample {i} column {col}"
                );
            }
        }
    }
}

/// Columns whose expected.json value is a rendering mds does not produce by design (images
/// decoded to pixels by PIL, pickles unpickled): compared by their stored bytes above.
const PYTHON_DECODED: [&str; 6] = ["pil", "png", "jpeg", "list_png", "jpeg_array", "pkl"];

#[test]
fn every_sample_decodes_to_the_value_of_expected_json() {
    for name in ["all_encodings", "all_encodings_zstd"] {
        let ds = Dataset::open(&fixture(name)).unwrap();
        let exp = expected(name);
        for (i, want) in exp["samples"].as_array().unwrap().iter().enumerate() {
            let sample = ds.get(i as u64).unwrap();
            for (col, value) in sample.decode_all().unwrap() {
                if PYTHON_DECODED.contains(&col) {
                    continue;
                }
                let have = encoding::to_json(&value);
                let want = &want["value"][col];
                assert_eq!(&have, want, "{name} sample {i} column {col}");
            }
        }
    }
}

#[test]
fn fixtures_verify_clean() {
    for name in FIXTURES {
        let ds = Dataset::open(&fixture(name)).unwrap();
        let mut seen = 0;
        let faults = ds.verify(&mut |_| seen += 1);
        assert!(faults.is_empty(), "{name}: {faults:?}");
        assert_eq!(seen, ds.index().shards.len());
    }
}

#[test]
fn index_json_round_trips_byte_for_byte() {
    for name in FIXTURES {
        let text = fs::read_to_string(fixture(name).join("index.json")).unwrap();
        let index = Index::load(&fixture(name)).unwrap();
        assert_eq!(index.to_json_string(), text, "{name}");
    }
}

#[test]
fn shards_parse_from_their_own_header() {
    let dir = fixture("all_encodings");
    let index = Index::load(&dir).unwrap();
    for meta in &index.shards {
        let data = Bytes::from(fs::read(dir.join(&meta.raw_data.basename)).unwrap());
        let shard = MdsShard::parse_self_describing(&meta.raw_data.basename, data).unwrap();
        shard.check_meta(meta).unwrap();
        assert_eq!(shard.len() as u64, meta.samples);
        for i in 0..shard.len() {
            shard.sample(i).unwrap();
        }
    }
    // Shard 0 of the reference is empty: its first sample exceeds size_limit.
    assert_eq!(index.shards[0].samples, 0);
}

fn rewrite(name: &str, from_values: bool) {
    let src = fixture(name);
    let ds = Dataset::open(&src).unwrap();
    let exp = expected(name);
    let columns: Vec<(String, String)> = exp["columns"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    let columns: Vec<(&str, &str)> = columns
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let hashes: Vec<&str> = exp["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    let out = tempfile::tempdir().unwrap();
    let mut w = MdsWriter::builder(out.path())
        .with_columns(&columns)
        .with_compression(exp["compression"].as_str())
        .with_hashes(&hashes)
        .with_size_limit(exp["size_limit"].as_u64())
        .with_exist_ok(true)
        .with_reference_empty_first_shard(true)
        .build_mds()
        .unwrap();
    for sample in all_samples(&ds) {
        if from_values {
            let values: Vec<Value> = sample
                .decode_all()
                .unwrap()
                .into_iter()
                .map(|(_, v)| v)
                .collect();
            w.write(&values).unwrap();
        } else {
            let raw: Vec<&[u8]> = sample.raw_values().iter().map(|b| &b[..]).collect();
            w.write_encoded(&raw).unwrap();
        }
    }
    let index = w.finish().unwrap();
    assert_eq!(index, Index::load(&src).unwrap());
    assert_same_files(&src, out.path());
}

#[test]
fn rewriting_stored_bytes_gives_identical_files() {
    for name in FIXTURES {
        rewrite(name, false);
    }
}

#[test]
fn rewriting_decoded_values_gives_identical_files() {
    rewrite("all_encodings", true);
}

#[test]
fn without_the_quirk_no_empty_first_shard() {
    let src = fixture("all_encodings");
    let ds = Dataset::open(&src).unwrap();
    let index = Index::load(&src).unwrap();
    let s0 = &index.shards[0];
    let columns: Vec<(&str, &str)> = s0
        .column_names
        .iter()
        .zip(&s0.column_encodings)
        .map(|(n, e)| (n.as_str(), e.as_str()))
        .collect();
    let out = tempfile::tempdir().unwrap();
    let mut w = MdsWriter::builder(out.path())
        .with_columns(&columns)
        .with_size_limit(Some(1 << 16))
        .with_hashes(&["sha1", "xxh64"])
        .build_mds()
        .unwrap();
    for s in all_samples(&ds) {
        let raw: Vec<&[u8]> = s.raw_values().iter().map(|b| &b[..]).collect();
        w.write_encoded(&raw).unwrap();
    }
    let ours = w.finish().unwrap();
    assert_eq!(ours.shards.len(), index.shards.len() - 1);
    assert!(ours.shards.iter().all(|s| s.samples > 0));
    assert_eq!(ours.num_samples(), 1000);
    // Same boundaries otherwise: shard k+1 of the reference holds what our shard k holds.
    for (a, b) in ours.shards.iter().zip(&index.shards[1..]) {
        assert_eq!(a.samples, b.samples);
        assert_eq!(a.raw_data.bytes, b.raw_data.bytes);
        assert_eq!(a.raw_data.hashes, b.raw_data.hashes);
    }
    let back = Dataset::open(out.path()).unwrap();
    for i in [0, 1, 500, 999] {
        assert_eq!(
            back.get(i).unwrap().raw_values(),
            ds.get(i).unwrap().raw_values()
        );
    }
}

#[cfg(unix)]
#[test]
fn compressed_fixture_reads_from_a_read_only_directory_without_writing() {
    use std::os::unix::fs::PermissionsExt;
    let dir = crate::util::copy_fixture("all_encodings_zstd");
    let before = crate::util::dataset_files(dir.path());
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o555)).unwrap();
    let ds = Dataset::open(dir.path()).unwrap();
    let plain = Dataset::open(&fixture("all_encodings")).unwrap();
    for i in 0..ds.len() {
        assert_eq!(
            ds.get(i).unwrap().raw_values(),
            plain.get(i).unwrap().raw_values()
        );
    }
    assert!(ds.verify(&mut |_| {}).is_empty());
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(crate::util::dataset_files(dir.path()), before);
}

#[test]
fn samples_are_views_of_the_shard() {
    let ds = Dataset::open(&fixture("all_encodings_1shard")).unwrap();
    let shard = ds.shard(0).unwrap();
    let mds_format::Shard::Mds(mds) = &*shard else {
        panic!("an MDS shard")
    };
    let whole = mds.bytes().as_ptr_range();
    let sample = ds.get(10).unwrap();
    for v in sample.raw_values() {
        let r = v.as_ptr_range();
        assert!(v.is_empty() || (whole.start <= r.start && r.end <= whole.end));
    }
    assert!(Arc::ptr_eq(sample.columns(), mds.columns()));
}
