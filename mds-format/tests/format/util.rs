//! Shared helpers: fixture paths, temp copies, directory comparison.

use std::fs;
use std::path::{Path, PathBuf};

/// The reference fixtures (written by mosaicml-streaming 0.13.0), committed in the repo.
pub(crate) const FIXTURES: [&str; 3] = [
    "all_encodings",
    "all_encodings_1shard",
    "all_encodings_zstd",
];

pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/reference")
        .join(name)
}

pub(crate) fn expected(name: &str) -> serde_json::Value {
    let text = fs::read(fixture(name).join("expected.json")).unwrap();
    serde_json::from_slice(&text).unwrap()
}

/// Copies a fixture's index.json and shards (not expected.json/orders.json) into a new temp dir.
pub(crate) fn copy_fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in fs::read_dir(fixture(name)).unwrap() {
        let entry = entry.unwrap();
        let file = entry.file_name().to_string_lossy().into_owned();
        if file == "index.json" || file.starts_with("shard.") {
            fs::copy(entry.path(), dir.path().join(&file)).unwrap();
        }
    }
    dir
}

/// The dataset files (index.json and shard.*) of a directory, sorted.
pub(crate) fn dataset_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n == "index.json" || n.starts_with("shard."))
        .collect();
    names.sort();
    names
}

#[track_caller]
pub(crate) fn assert_same_files(expected: &Path, actual: &Path) {
    let want = dataset_files(expected);
    assert_eq!(dataset_files(actual), want, "file lists differ");
    for name in want {
        let a = fs::read(expected.join(&name)).unwrap();
        let b = fs::read(actual.join(&name)).unwrap();
        assert!(a == b, "{name} differs ({} vs {} bytes)", a.len(), b.len());
    }
}
