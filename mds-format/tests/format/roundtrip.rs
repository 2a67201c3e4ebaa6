//! Writing then reading gives back what was written, in every format, codec and hash.

use std::fs;

use bytes::Bytes;
use mds_format::encoding::Value;
use mds_format::index::{merge_index, merge_index_files};
use mds_format::{Dataset, HashAlgorithm, Index, MdsWriter, ShardFormat, SplitWriter};
use proptest::prelude::*;

fn text(i: u64) -> String {
    format!("sample {i} é \u{1F600} {}", "x".repeat((i % 37) as usize))
}

#[test]
fn every_codec_and_hash_round_trips() {
    let all_hashes: Vec<&str> = HashAlgorithm::ALL.iter().map(|h| h.name()).collect();
    for codec in [
        None,
        Some("zstd"),
        Some("zstd:7"),
        Some("gz"),
        Some("gz:1"),
        Some("bz2"),
        Some("br:4"),
        Some("snappy"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut w = MdsWriter::builder(dir.path())
            .with_columns(&[("text", "str"), ("id", "int"), ("blob", "bytes")])
            .with_compression(codec)
            .with_hashes(&all_hashes)
            .with_size_limit(Some(4096))
            .build_mds()
            .unwrap();
        for i in 0..300u64 {
            let blob = Bytes::from(vec![(i % 251) as u8; (i % 50) as usize]);
            w.write(&[
                Value::Bytes(blob),
                Value::Int(i.cast_signed()),
                Value::Str(text(i).into()),
            ])
            .unwrap();
        }
        let index = w.finish().unwrap();
        assert!(index.shards.len() > 5, "{codec:?}");
        for s in &index.shards {
            assert!(s.raw_data.bytes <= 4096);
            assert_eq!(s.raw_data.hashes.len(), HashAlgorithm::ALL.len());
            assert_eq!(s.zip_data.is_some(), codec.is_some());
            if let (Some(z), Some(c)) = (&s.zip_data, codec) {
                let ext = c.split(':').next().unwrap();
                assert_eq!(z.basename, format!("{}.{ext}", s.raw_data.basename));
                assert!(
                    !dir.path().join(&s.raw_data.basename).exists(),
                    "only the compressed file is written"
                );
            }
        }
        let ds = Dataset::open(dir.path()).unwrap();
        assert_eq!(ds.len(), 300);
        for i in 0..300u64 {
            let s = ds.get(i).unwrap();
            assert_eq!(s.decode_named("id").unwrap(), Value::Int(i.cast_signed()));
            assert_eq!(s.decode_named("text").unwrap(), Value::Str(text(i).into()));
        }
        let faults = ds.verify(&mut |_| {});
        assert!(faults.is_empty(), "{codec:?}: {faults:?}");
    }
}

#[test]
fn rollover_matches_the_reference_rule() {
    // Header: 8 + len(config). Each sample of `bytes` costs 4 (size) + len + 4 (offset).
    let dir = tempfile::tempdir().unwrap();
    let mut w = MdsWriter::builder(dir.path())
        .with_columns(&[("b", "bytes")])
        .with_size_limit(Some(1000))
        .build_mds()
        .unwrap();
    for _ in 0..10 {
        w.write(&[Value::Bytes(Bytes::from(vec![7u8; 92]))])
            .unwrap();
    }
    let index = w.finish().unwrap();
    let header = 8 + fs::read(dir.path().join("shard.00000.mds")).unwrap().len() as u64
        - 4 * (index.shards[0].samples + 2)
        - 100 * index.shards[0].samples;
    let per_shard = (1000 - header) / 100;
    assert_eq!(index.shards[0].samples, per_shard);
    assert_eq!(index.num_samples(), 10);
    for s in &index.shards {
        assert!(s.raw_data.bytes <= 1000);
    }
}

#[test]
fn oversize_sample_gets_its_own_shard_and_no_empty_shard() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = MdsWriter::builder(dir.path())
        .with_columns(&[("b", "bytes")])
        .with_size_limit(Some(400))
        .build_mds()
        .unwrap();
    for n in [500usize, 10, 10, 900, 10] {
        w.write(&[Value::Bytes(Bytes::from(vec![1u8; n]))]).unwrap();
    }
    let index = w.finish().unwrap();
    let counts: Vec<u64> = index.shards.iter().map(|s| s.samples).collect();
    assert_eq!(counts, [1, 2, 1, 1]);
    let ds = Dataset::open(dir.path()).unwrap();
    assert_eq!(ds.get(3).unwrap().raw("b").unwrap().len(), 900);
}

#[test]
fn reference_quirk_empty_shard_zero_is_186_bytes() {
    // reference.md §3 worked example: {b: bytes, i: int}, size limit 200, first sample oversize.
    let dir = tempfile::tempdir().unwrap();
    let mut w = MdsWriter::builder(dir.path())
        .with_columns(&[("i", "int"), ("b", "bytes")])
        .with_size_limit(Some(200))
        .with_reference_empty_first_shard(true)
        .build_mds()
        .unwrap();
    w.write(&[Value::Bytes(Bytes::from(vec![0u8; 300])), Value::Int(1)])
        .unwrap();
    let index = w.finish().unwrap();
    assert_eq!(index.shards[0].samples, 0);
    let shard0 = fs::read(dir.path().join("shard.00000.mds")).unwrap();
    assert_eq!(shard0.len(), 186);
    assert_eq!(&shard0[..8], &[0, 0, 0, 0, 0xba, 0, 0, 0]);
    assert!(shard0[8..].starts_with(br#"{"column_encodings": ["bytes", "int"], "#));
    let ds = Dataset::open(dir.path()).unwrap();
    assert_eq!(ds.len(), 1);
    assert_eq!(ds.get(0).unwrap().decode_named("i").unwrap(), Value::Int(1));
    assert!(ds.verify(&mut |_| {}).is_empty());
}

#[test]
fn empty_writer_writes_an_empty_index() {
    let dir = tempfile::tempdir().unwrap();
    let w = MdsWriter::builder(dir.path())
        .with_columns(&[("x", "int")])
        .build_mds()
        .unwrap();
    w.finish().unwrap();
    assert_eq!(
        fs::read_to_string(dir.path().join("index.json")).unwrap(),
        r#"{"shards": [], "version": 2}"#
    );
}

#[test]
fn writer_refuses_bad_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let b = || {
        MdsWriter::builder(dir.path())
            .with_columns(&[("x", "int")])
            .with_exist_ok(true)
    };
    assert!(b().with_compression(Some("zstd:0")).build_mds().is_err());
    assert!(b().with_hashes(&["sha1", "crc32"]).build_mds().is_err());
    assert!(b().with_size_limit(Some(1 << 32)).build_mds().is_err());
    assert!(b().with_columns(&[("x", "float128")]).build_mds().is_err());
    fs::write(dir.path().join("junk"), b"x").unwrap();
    assert!(
        MdsWriter::builder(dir.path())
            .with_columns(&[("x", "int")])
            .build_mds()
            .is_err()
    );
    let mut w = b().build_mds().unwrap();
    assert!(w.write(&[]).is_err());
    assert!(w.write_encoded(&[&[1, 2, 3]]).is_err(), "int is 8 bytes");
    assert!(w.write(&[Value::Str("no".into())]).is_err());
    w.write(&[Value::Int(3)]).unwrap();
    assert_eq!(w.finish().unwrap().num_samples(), 1);
}

fn split_values(i: u64) -> Vec<Value> {
    // Sorted column order: f, n, s.
    vec![
        Value::Float64(f64::from(u32::try_from(i).unwrap()) / 4.0),
        Value::Int(i.cast_signed() - 50),
        Value::Str(format!("row {i} é").into()),
    ]
}

#[test]
fn split_formats_round_trip() {
    for (format, codec) in [
        (ShardFormat::Json, None),
        (ShardFormat::Json, Some("gz")),
        (ShardFormat::Csv, None),
        (ShardFormat::Tsv, Some("zstd")),
        (ShardFormat::Xsv, Some("snappy")),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SplitWriter::builder(dir.path(), format)
            .with_columns(&[("s", "str"), ("n", "int"), ("f", "float")])
            .with_separator("|")
            .with_compression(codec)
            .with_hashes(&["md5", "xxh3_64"])
            .with_size_limit(Some(500))
            .build_split()
            .unwrap();
        for i in 0..100 {
            w.write(&split_values(i)).unwrap();
        }
        let index = w.finish().unwrap();
        assert!(index.shards.len() > 3);
        let again = Index::load(dir.path()).unwrap();
        assert_eq!(index, again);
        let ds = Dataset::open(dir.path()).unwrap();
        assert_eq!(ds.len(), 100);
        for i in 0..100 {
            let got: Vec<Value> = ds
                .get(i)
                .unwrap()
                .decode_all()
                .unwrap()
                .into_iter()
                .map(|(_, v)| v)
                .collect();
            assert_eq!(got, split_values(i), "{format:?} {i}");
        }
        assert!(ds.verify(&mut |_| {}).is_empty());
    }
}

#[test]
fn json_shard_bytes_match_the_reference_example() {
    // reference.md §5.2: JSONWriter(columns={'b':'int','a':'str'}) writing {'a':'é','b':1}.
    let dir = tempfile::tempdir().unwrap();
    let mut w = SplitWriter::builder(dir.path(), ShardFormat::Json)
        .with_columns(&[("b", "int"), ("a", "str")])
        .build_split()
        .unwrap();
    w.write(&[Value::Str("é".into()), Value::Int(1)]).unwrap();
    w.finish().unwrap();
    assert_eq!(
        fs::read(dir.path().join("shard.00000.json")).unwrap(),
        b"{\"a\": \"\\u00e9\", \"b\": 1}\n"
    );
    let meta = fs::read(dir.path().join("shard.00000.json.meta")).unwrap();
    let mut want = vec![1, 0, 0, 0, 0, 0, 0, 0, 0x18, 0, 0, 0];
    want.extend_from_slice(br#"{"columns": {"a": "str", "b": "int"}, "compression": null, "format": "json", "hashes": [], "newline": "\n", "size_limit": 67108864, "version": 2}"#);
    assert_eq!(meta, want);
}

#[test]
fn csv_refuses_separator_in_values() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = SplitWriter::builder(dir.path(), ShardFormat::Csv)
        .with_columns(&[("s", "str")])
        .build_split()
        .unwrap();
    assert!(w.write(&[Value::Str("a,b".into())]).is_err());
    assert!(w.write(&[Value::Str("a\nb".into())]).is_err());
    w.write(&[Value::Str("ab".into())]).unwrap();
}

fn write_part(dir: &std::path::Path, offset: i64) {
    let mut w = MdsWriter::builder(dir)
        .with_columns(&[("x", "int")])
        .with_size_limit(Some(200))
        .build_mds()
        .unwrap();
    for i in 0..20 {
        w.write(&[Value::Int(offset + i)]).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn merge_index_of_subdirectories() {
    let root = tempfile::tempdir().unwrap();
    write_part(&root.path().join("part-1"), 100);
    write_part(&root.path().join("part-0"), 0);
    let merged = merge_index(root.path()).unwrap();
    assert_eq!(merged.num_samples(), 40);
    assert!(merged.shards[0].raw_data.basename.starts_with("part-0/"));
    let text = fs::read_to_string(root.path().join("index.json")).unwrap();
    assert!(
        text.starts_with(r#"{"version": 2, "shards": [{"column_encodings""#),
        "{}",
        &text[..60]
    );
    let ds = Dataset::open(root.path()).unwrap();
    let xs: Vec<Value> = (0..40)
        .map(|i| ds.get(i).unwrap().decode_named("x").unwrap())
        .collect();
    let want: Vec<Value> = (0..20).chain(100..120).map(Value::Int).collect();
    assert_eq!(xs, want);
    assert!(ds.verify(&mut |_| {}).is_empty());
    // Idempotent, unlike the reference.
    let files = [
        root.path().join("part-0/index.json"),
        root.path().join("part-1/index.json"),
    ];
    assert_eq!(merge_index_files(&files, root.path()).unwrap(), merged);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn arbitrary_columns_round_trip(rows in proptest::collection::vec(
        (proptest::collection::vec(any::<u8>(), 0..300), ".{0,40}", any::<i64>(), any::<u16>()), 0..60),
        limit in 300u64..3000)
    {
        let dir = tempfile::tempdir().unwrap();
        let mut w = MdsWriter::builder(dir.path())
            .with_columns(&[("b", "bytes"), ("s", "str"), ("i", "int"), ("u", "uint16")])
            .with_size_limit(Some(limit))
            .build_mds()
            .unwrap();
        for (b, s, i, u) in &rows {
            w.write(&[Value::Bytes(Bytes::from(b.clone())), Value::Int(*i), Value::Str(s.as_str().into()), Value::UInt(u64::from(*u))]).unwrap();
        }
        w.finish().unwrap();
        let ds = Dataset::open(dir.path()).unwrap();
        prop_assert_eq!(ds.len(), rows.len() as u64);
        for (k, (b, s, i, u)) in rows.iter().enumerate() {
            let got = ds.get(k as u64).unwrap();
            prop_assert_eq!(&got.raw("b").unwrap()[..], &b[..]);
            prop_assert_eq!(got.decode_named("s").unwrap(), Value::Str(s.as_str().into()));
            prop_assert_eq!(got.decode_named("i").unwrap(), Value::Int(*i));
            prop_assert_eq!(got.decode_named("u").unwrap(), Value::UInt(u64::from(*u)));
        }
    }
}
