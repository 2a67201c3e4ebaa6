//! Damaged datasets give typed errors naming the shard; nothing panics.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use mds_format::{Columns, Dataset, Error, Index, MdsShard};
use proptest::prelude::*;

use crate::util::{copy_fixture, fixture};

fn faults(dir: &Path) -> Vec<Error> {
    Dataset::open(dir).unwrap().verify(&mut |_| {})
}

#[test]
fn flipped_byte_fails_verify_naming_the_shard() {
    let dir = copy_fixture("all_encodings");
    let path = dir.path().join("shard.00003.mds");
    let mut data = fs::read(&path).unwrap();
    let at = data.len() / 2;
    data[at] ^= 0x40;
    fs::write(&path, data).unwrap();
    let found = faults(dir.path());
    assert!(!found.is_empty());
    for f in &found {
        assert_eq!(f.shard(), Some("shard.00003.mds"), "{f}");
        assert!(f.to_string().contains("shard.00003.mds"), "{f}");
    }
    assert!(
        found
            .iter()
            .any(|f| matches!(f, Error::HashMismatch { algorithm, .. } if algorithm == "sha1"))
    );
}

#[test]
fn flipped_byte_in_a_zstd_shard_is_caught() {
    let dir = copy_fixture("all_encodings_zstd");
    let path = dir.path().join("shard.00005.mds.zstd");
    let mut data = fs::read(&path).unwrap();
    let at = data.len() / 3;
    data[at] ^= 0x01;
    fs::write(&path, data).unwrap();
    let found = faults(dir.path());
    assert!(!found.is_empty());
    assert!(
        found
            .iter()
            .all(|f| f.to_string().contains("shard.00005.mds")),
        "{found:?}"
    );
}

#[test]
fn truncated_shard_is_an_error_naming_it() {
    let dir = copy_fixture("all_encodings");
    let path = dir.path().join("shard.00007.mds");
    let data = fs::read(&path).unwrap();
    fs::write(&path, &data[..data.len() - 100]).unwrap();
    let found = faults(dir.path());
    assert!(!found.is_empty());
    assert!(
        found
            .iter()
            .all(|f| f.to_string().contains("shard.00007.mds")),
        "{found:?}"
    );
    // Reading a sample of that shard fails too, naming it.
    let ds = Dataset::open(dir.path()).unwrap();
    let index = ds.index();
    let first: u64 = index.shards[..7].iter().map(|s| s.samples).sum();
    let err = ds.get(first).unwrap_err();
    assert_eq!(err.shard(), Some("shard.00007.mds"), "{err}");
    // Other shards still read.
    ds.get(0).unwrap();
    ds.get(999).unwrap();
}

#[test]
fn missing_shard_is_an_error_naming_it() {
    let dir = copy_fixture("all_encodings");
    fs::remove_file(dir.path().join("shard.00010.mds")).unwrap();
    let found = faults(dir.path());
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(matches!(&found[0], Error::MissingShard { shard, .. } if shard == "shard.00010.mds"));
    assert!(found[0].is_not_found());
}

#[test]
fn index_naming_a_shard_that_does_not_exist() {
    let dir = copy_fixture("all_encodings");
    let text = fs::read_to_string(dir.path().join("index.json")).unwrap();
    fs::write(
        dir.path().join("index.json"),
        text.replace("shard.00012.mds", "shard.99999.mds"),
    )
    .unwrap();
    let found = faults(dir.path());
    assert!(
        found
            .iter()
            .any(|f| f.to_string().contains("shard.99999.mds")),
        "{found:?}"
    );
}

#[test]
fn header_disagreeing_with_index_is_caught() {
    let dir = copy_fixture("all_encodings_1shard");
    let index_path = dir.path().join("index.json");
    let text = fs::read_to_string(&index_path).unwrap();
    fs::write(
        &index_path,
        text.replace("\"samples\": 1000", "\"samples\": 999"),
    )
    .unwrap();
    let ds = Dataset::open(dir.path()).unwrap();
    let err = ds.get(0).unwrap_err();
    assert!(
        matches!(
            err,
            Error::HeaderMismatch {
                field: "samples",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("shard.00000.mds"));
}

#[test]
fn hostile_basenames_are_rejected() {
    let text = fs::read_to_string(fixture("all_encodings_1shard").join("index.json")).unwrap();
    for bad in [
        "../../etc/passwd",
        "/etc/passwd",
        "a/../../b",
        "..",
        "x\\\\y",
    ] {
        let hostile = text.replace("shard.00000.mds", bad);
        let err = Index::from_slice(Path::new("index.json"), hostile.as_bytes()).unwrap_err();
        assert!(
            matches!(err, Error::UnsafeBasename { shard: 0, .. }),
            "{bad}: {err}"
        );
    }
}

#[test]
fn bad_index_json_is_a_typed_error() {
    let cases: [(&str, &str); 5] = [
        ("not json", "not valid JSON"),
        (r#"{"version": 3, "shards": []}"#, "version"),
        (r#"{"version": 2}"#, "shards"),
        (
            r#"{"version": 2, "shards": [{"version": 2, "format": "mds"}]}"#,
            "shard 0",
        ),
        (r#"{"version": 2, "shards": [1]}"#, "shard 0"),
    ];
    for (text, needle) in cases {
        let err = Index::from_slice(Path::new("dir/index.json"), text.as_bytes()).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("dir/index.json") && msg.contains(needle),
            "{text}: {msg}"
        );
    }
}

#[test]
fn unknown_encoding_is_a_typed_error() {
    let dir = copy_fixture("all_encodings_1shard");
    let index_path = dir.path().join("index.json");
    let text = fs::read_to_string(&index_path).unwrap();
    fs::write(
        &index_path,
        text.replacen(
            "\"str_decimal\", \"str_float\"",
            "\"str_decimal\", \"float128\"",
            1,
        ),
    )
    .unwrap();
    let err = Dataset::open(dir.path()).unwrap().get(0).unwrap_err();
    assert!(
        matches!(&err, Error::ColumnSpec { column, .. } if column == "str_float"),
        "{err}"
    );
}

fn small_shard() -> (Bytes, Arc<Columns>) {
    let dir = fixture("all_encodings");
    let index = Index::load(&dir).unwrap();
    let meta = &index.shards[2];
    let data = Bytes::from(fs::read(dir.join(&meta.raw_data.basename)).unwrap());
    (data, Arc::new(Columns::from_meta(meta).unwrap()))
}

/// Parses a shard and decodes everything; any outcome but a panic is fine.
fn exercise(data: Bytes, columns: &Arc<Columns>) {
    if let Ok(shard) = MdsShard::parse("fuzz", data.clone(), columns.clone()) {
        for i in 0..shard.len().min(64) {
            if let Ok(s) = shard.sample(i) {
                let _ = s.decode_all();
            }
        }
    }
    if let Ok(shard) = MdsShard::parse_self_describing("fuzz", data) {
        for i in 0..shard.len().min(64) {
            if let Ok(s) = shard.sample(i) {
                let _ = s.decode_all();
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn mutated_shards_never_panic(muts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
                                  cut in any::<prop::sample::Index>(), truncate in any::<bool>()) {
        let (data, columns) = small_shard();
        let mut bytes = data.to_vec();
        for (at, byte) in muts {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if truncate {
            let n = cut.index(bytes.len());
            bytes.truncate(n);
        }
        exercise(Bytes::from(bytes), &columns);
    }

    #[test]
    fn mutated_headers_never_panic(muts in proptest::collection::vec((0usize..64, any::<u8>()), 1..8)) {
        let (data, columns) = small_shard();
        let mut bytes = data.to_vec();
        for (at, byte) in muts {
            let i = at.min(bytes.len() - 1);
            bytes[i] = byte;
        }
        exercise(Bytes::from(bytes), &columns);
    }

    #[test]
    fn mutated_index_json_never_panics(muts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut text = fs::read(fixture("all_encodings_1shard").join("index.json")).unwrap();
        for (at, byte) in muts {
            let i = at.index(text.len());
            text[i] = byte;
        }
        let _ = Index::from_slice(Path::new("index.json"), &text);
    }
}
