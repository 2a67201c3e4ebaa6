//! Shared helpers: a small MDS-like dataset and emulator discovery.
#![cfg_attr(
    not(all(feature = "s3", feature = "gcs", feature = "azure", feature = "http")),
    allow(
        unused_imports,
        dead_code,
        reason = "parts serve backends compiled out"
    )
)]

use mds_fetch::Fetcher;

/// Files of a small MDS-like dataset: an index, a few shards (one of several MiB) and a
/// compressed shard. Contents are deterministic.
pub(crate) fn dataset() -> Vec<(String, Vec<u8>)> {
    let mut files = vec![(
        "index.json".to_string(),
        br#"{"shards": [], "version": 2}"#.to_vec(),
    )];
    for (i, len) in [
        (0usize, 1000usize),
        (1, 70_000),
        (2, 5 * 1024 * 1024 + 17),
        (3, 0),
    ] {
        files.push((format!("shard.{i:05}.mds"), pattern(i as u64 + 1, len)));
    }
    let raw = pattern(9, 300_000);
    files.push((
        "sub/shard.00004.mds.zstd".to_string(),
        zstd::encode_all(&raw[..], 3).unwrap(),
    ));
    files
}

/// `len` pseudo-random bytes from `seed` (xorshift), incompressible enough to be realistic.
pub(crate) fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[3]
        })
        .collect()
}

/// The value of `var`, or `None` after explaining the skip; panics (fails the test) when
/// `MDS_TEST_REQUIRE_BACKENDS=1`.
pub(crate) fn endpoint(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            let required = std::env::var("MDS_TEST_REQUIRE_BACKENDS").is_ok_and(|v| v == "1");
            assert!(
                !required,
                "{var} is not set but MDS_TEST_REQUIRE_BACKENDS=1: start the emulators with \
                 scripts/emulators/start.sh DIR and export DIR/env"
            );
            eprintln!(
                "skipping: {var} not set (run scripts/emulators/start.sh and export its env)"
            );
            None
        }
    }
}

/// Bucket / container the emulator script created.
pub(crate) fn bucket() -> String {
    std::env::var("MDS_TEST_BUCKET").unwrap_or_else(|_| "mds-test".to_string())
}

/// A prefix no other test run uses.
pub(crate) fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}-{}-{nanos}", std::process::id())
}

/// Puts every file of `files` through `f`.
pub(crate) async fn seed(f: &dyn Fetcher, files: &[(String, Vec<u8>)]) {
    for (k, v) in files {
        f.put(k, v.clone().into()).await.unwrap();
    }
}

#[cfg(feature = "gcs")]
/// One raw HTTP/1.1 request to `base` (`http://host:port`); returns the status code.
pub(crate) async fn http_request(base: &str, method: &str, path: &str, body: &[u8]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\n\
         Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).await.unwrap();
    let line = String::from_utf8_lossy(&resp[..resp.len().min(64)]).to_string();
    line.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}
