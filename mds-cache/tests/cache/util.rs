//! Shared helpers: a source dataset with checkable content, fills, child processes.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

/// Names the role a re-executed test binary plays.
pub(crate) const CHILD_ENV: &str = "MDS_CACHE_TEST_CHILD";

/// A shard of the source dataset.
#[derive(Clone, Debug)]
pub(crate) struct Shard {
    pub(crate) name: String,
    pub(crate) size: u64,
}

/// The deterministic content of shard `name` with `size` bytes (xorshift seeded by the name).
pub(crate) fn content(name: &str, size: u64) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for b in name.bytes() {
        x = (x ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// Writes `n` shards of varying sizes (`base` to about `2 * base` bytes) into `dir`.
pub(crate) fn make_source(dir: &Path, n: usize, base: u64) -> Vec<Shard> {
    fs::create_dir_all(dir).unwrap();
    (0..n)
        .map(|i| {
            let name = format!("shard.{i:05}.mds");
            let size = base + (i as u64 * 7919) % base;
            fs::write(dir.join(&name), content(&name, size)).unwrap();
            Shard { name, size }
        })
        .collect()
}

/// Reads the file at `path` and checks that it is shard `shard`, byte for byte.
#[track_caller]
pub(crate) fn check_content(path: &Path, shard: &Shard) {
    let bytes = fs::read(path).unwrap();
    assert!(
        bytes == content(&shard.name, shard.size),
        "{} is corrupt",
        path.display()
    );
}

/// Starts this test binary as a child playing `role`, with `envs`, stdin and stdout piped.
pub(crate) fn spawn_child(role: &str, envs: &[(&str, String)]) -> Child {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args(["child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, role)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// Reads the child's stdout until a line starting with `marker`; returns the rest of it.
pub(crate) fn wait_for_line(out: &mut BufReader<ChildStdout>, marker: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        let n = out.read_line(&mut line).unwrap();
        assert!(n > 0, "child exited before printing {marker}");
        // libtest may have printed `test child ... ` on the same line first.
        if let Some(at) = line.find(marker) {
            return line[at + marker.len()..].trim().to_owned();
        }
    }
}

/// Waits for a child and asserts it succeeded.
#[track_caller]
pub(crate) fn assert_success(child: &mut Child, what: &str) {
    let status = child.wait().unwrap();
    assert!(status.success(), "{what} failed: {status}");
}

/// Every file under `dir` except the cache's metadata, as (path, size).
pub(crate) fn cached_files(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_name() == ".mds-cache" {
            continue;
        }
        let m = e.metadata().unwrap();
        if m.is_dir() {
            out.extend(cached_files(&e.path()));
        } else {
            out.push((e.path(), m.len()));
        }
    }
    out
}

/// Files in the cache's temporary directory.
pub(crate) fn temp_files(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir.join(".mds-cache/tmp"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

/// Writes `n` shards of exactly `size` bytes into `dir`.
pub(crate) fn make_uniform_source(dir: &Path, n: usize, size: u64) -> Vec<Shard> {
    fs::create_dir_all(dir).unwrap();
    (0..n)
        .map(|i| {
            let name = format!("shard.{i:05}.mds");
            fs::write(dir.join(&name), content(&name, size)).unwrap();
            Shard { name, size }
        })
        .collect()
}

/// The shards of a source directory, sorted by name.
pub(crate) fn read_source(dir: &Path) -> Vec<Shard> {
    let mut shards: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            Shard {
                name: e.file_name().into_string().unwrap(),
                size: e.metadata().unwrap().len(),
            }
        })
        .collect();
    shards.sort_by(|a, b| a.name.cmp(&b.name));
    shards
}
