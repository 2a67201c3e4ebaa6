//! Retries, backoff and timeouts under paused tokio time (no real sleeps).

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use mds_fetch::{
    DownloadOptions, Error, Expected, Fetcher, ObjectStoreFetcher, RetryPolicy, download,
};
use tokio::time::Instant;

use crate::common::{dataset, seed};

/// What the scripted fetcher does on a failing call.
#[derive(Debug, Clone, Copy)]
enum Fault {
    Transient,
    Permanent,
    Stall,
    Truncate,
}

/// A fetcher (implemented outside the crate, as other crates may) that fails the first
/// `fail_first` read calls, then serves from `inner`.
#[derive(Debug)]
struct Scripted {
    inner: ObjectStoreFetcher,
    fault: Fault,
    fail_first: u32,
    calls: AtomicU32,
}

impl Scripted {
    async fn maybe_fail(&self, key: &str) -> Result<bool, Error> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if n >= self.fail_first {
            return Ok(false);
        }
        match self.fault {
            Fault::Transient => Err(Error::request(self.url(key), true, "503 slow down")),
            Fault::Permanent => Err(Error::request(self.url(key), false, "403 forbidden")),
            Fault::Stall => {
                std::future::pending::<()>().await;
                unreachable!()
            }
            Fault::Truncate => Ok(true),
        }
    }
}

#[async_trait::async_trait]
impl Fetcher for Scripted {
    fn url(&self, key: &str) -> String {
        format!("scripted://{key}")
    }
    async fn get_range(&self, key: &str, range: Range<u64>) -> mds_fetch::Result<Bytes> {
        let truncate = self.maybe_fail(key).await?;
        let b = self.inner.get_range(key, range).await?;
        Ok(if truncate { b.slice(..b.len() / 2) } else { b })
    }
    async fn size(&self, key: &str) -> mds_fetch::Result<u64> {
        self.maybe_fail(key).await?;
        self.inner.size(key).await
    }
}

async fn scripted(fault: Fault, fail_first: u32) -> Arc<Scripted> {
    let inner = ObjectStoreFetcher::memory();
    seed(&inner, &dataset()).await;
    Arc::new(Scripted {
        inner,
        fault,
        fail_first,
        calls: AtomicU32::new(0),
    })
}

fn policy(retries: u32) -> RetryPolicy {
    RetryPolicy {
        retries,
        initial_backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(30),
        max_jitter: Duration::from_millis(500),
        timeout: Duration::from_secs(60),
    }
}

fn opts(retries: u32) -> DownloadOptions {
    DownloadOptions {
        part_size_bytes: 1 << 30,
        parts_in_flight: 1,
        retry: policy(retries),
    }
}

#[tokio::test(start_paused = true)]
async fn transient_faults_are_retried_with_exponential_backoff() {
    let f = scripted(Fault::Transient, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let start = Instant::now();
    // size (HEAD) fails 3 times, then succeeds; then one ranged GET
    let n = download(
        f.as_ref(),
        "shard.00001.mds",
        &dir.path().join("x"),
        &Expected::default(),
        &opts(3),
    )
    .await
    .unwrap();
    assert_eq!(n, 70_000);
    assert_eq!(f.calls.load(Ordering::SeqCst), 5);
    // backoffs 1 + 2 + 4 s, each plus jitter in [0, 0.5)
    let waited = start.elapsed();
    assert!(waited >= Duration::from_secs(7), "{waited:?}");
    assert!(waited < Duration::from_millis(8500), "{waited:?}");
}

#[tokio::test(start_paused = true)]
async fn persistent_fault_names_the_object_after_all_attempts() {
    let f = scripted(Fault::Transient, u32::MAX).await;
    let dir = tempfile::tempdir().unwrap();
    let err = download(
        f.as_ref(),
        "shard.00002.mds",
        &dir.path().join("x"),
        &Expected::default(),
        &opts(2),
    )
    .await
    .unwrap_err();
    match &err {
        Error::RetriesExhausted {
            url,
            attempts,
            source,
        } => {
            assert_eq!(url, "scripted://shard.00002.mds");
            assert_eq!(*attempts, 3);
            assert!(source.is_retryable());
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("shard.00002.mds"), "{err}");
    assert!(err.to_string().contains("3 attempts"), "{err}");
    assert!(!err.is_retryable());
    assert_eq!(f.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn zero_retries_means_one_attempt() {
    let f = scripted(Fault::Transient, u32::MAX).await;
    let dir = tempfile::tempdir().unwrap();
    let err = download(
        f.as_ref(),
        "index.json",
        &dir.path().join("x"),
        &Expected::default(),
        &opts(0),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, Error::RetriesExhausted { attempts: 1, .. }),
        "{err:?}"
    );
    assert_eq!(f.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn permanent_errors_are_not_retried() {
    let f = scripted(Fault::Permanent, u32::MAX).await;
    let dir = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let err = download(
        f.as_ref(),
        "index.json",
        &dir.path().join("x"),
        &Expected::default(),
        &opts(5),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Request {
                retryable: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(f.calls.load(Ordering::SeqCst), 1);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn stalled_requests_time_out_and_are_retried() {
    let f = scripted(Fault::Stall, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(2);
    o.retry.timeout = Duration::from_secs(10);
    let start = Instant::now();
    let n = download(
        f.as_ref(),
        "shard.00000.mds",
        &dir.path().join("x"),
        &Expected::default(),
        &o,
    )
    .await
    .unwrap();
    assert_eq!(n, 1000);
    // two 10 s timeouts, backoffs 1 s and 2 s (+ jitter)
    assert!(
        start.elapsed() >= Duration::from_secs(23),
        "{:?}",
        start.elapsed()
    );

    let f = scripted(Fault::Stall, u32::MAX).await;
    let err = download(
        f.as_ref(),
        "shard.00000.mds",
        &dir.path().join("y"),
        &Expected::default(),
        &o,
    )
    .await
    .unwrap_err();
    match err {
        Error::RetriesExhausted {
            source,
            attempts: 3,
            ..
        } => {
            assert!(
                matches!(*source, Error::Timeout { after, .. } if after == Duration::from_secs(10))
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn truncated_parts_are_refetched() {
    // every part of a multi-part download: the first 4 calls after HEAD return half the bytes
    let f = scripted(Fault::Truncate, 4).await;
    let dir = tempfile::tempdir().unwrap();
    let o = DownloadOptions {
        part_size_bytes: 1 << 20,
        parts_in_flight: 4,
        retry: policy(2),
    };
    let dest = dir.path().join("x");
    let want = &dataset()[3].1;
    let n = download(
        f.as_ref(),
        "shard.00002.mds",
        &dest,
        &Expected {
            size_bytes: Some(want.len() as u64),
            hash: None,
        },
        &o,
    )
    .await
    .unwrap();
    assert_eq!(n, want.len() as u64);
    assert!(std::fs::read(&dest).unwrap() == *want);
}

#[cfg(feature = "testing")]
#[tokio::test(start_paused = true)]
async fn flaky_fetcher_from_the_testing_feature() {
    let inner = ObjectStoreFetcher::memory();
    seed(&inner, &dataset()).await;
    let f = mds_fetch::testing::FlakyFetcher::new(Arc::new(inner), 3, Duration::from_millis(5));
    let dir = tempfile::tempdir().unwrap();
    let o = DownloadOptions {
        part_size_bytes: 300_000,
        parts_in_flight: 3,
        retry: policy(3),
    };
    for (i, (k, v)) in dataset().iter().enumerate() {
        let dest = dir.path().join(format!("{i}"));
        download(&f, k, &dest, &Expected::default(), &o)
            .await
            .unwrap();
        assert!(std::fs::read(&dest).unwrap() == *v, "{k}");
    }
    assert!(f.faults() > 0);
}

/// Serves bodies in 10 000-byte chunks; the first body breaks after `break_after` bytes.
/// Records the range of every request.
#[derive(Debug)]
struct BreaksMidBody {
    inner: ObjectStoreFetcher,
    break_after: u64,
    requests: std::sync::Mutex<Vec<Option<Range<u64>>>>,
}

#[async_trait::async_trait]
impl Fetcher for BreaksMidBody {
    fn url(&self, key: &str) -> String {
        format!("breaks://{key}")
    }
    async fn get_range(&self, key: &str, range: Range<u64>) -> mds_fetch::Result<Bytes> {
        self.inner.get_range(key, range).await
    }
    async fn size(&self, key: &str) -> mds_fetch::Result<u64> {
        self.inner.size(key).await
    }
    async fn get_stream(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> mds_fetch::Result<(Option<u64>, mds_fetch::ByteStream)> {
        use futures::StreamExt;
        let first = {
            let mut r = self.requests.lock().unwrap();
            r.push(range.clone());
            r.len() == 1
        };
        let size = self.inner.size(key).await?;
        let r = range.unwrap_or(0..size);
        let data = self.inner.get_range(key, r).await?;
        let mut chunks: Vec<mds_fetch::Result<Bytes>> = (0..data.len())
            .step_by(10_000)
            .map(|i| Ok(data.slice(i..(i + 10_000).min(data.len()))))
            .collect();
        if first {
            let keep = usize::try_from(self.break_after / 10_000).unwrap();
            chunks.truncate(keep);
            chunks.push(Err(Error::request(self.url(key), true, "connection reset")));
        }
        Ok((Some(size), futures::stream::iter(chunks).boxed()))
    }
}

#[tokio::test(start_paused = true)]
async fn a_body_broken_midway_resumes_after_the_bytes_written_and_hashes_once() {
    let inner = ObjectStoreFetcher::memory();
    let files = dataset();
    seed(&inner, &files).await;
    let (key, want) = &files[2];
    assert_eq!(want.len(), 70_000);
    let digest = mds_fetch::hash::hex_digest("sha1", want).unwrap();
    let f = BreaksMidBody {
        inner,
        break_after: 30_000,
        requests: std::sync::Mutex::new(Vec::new()),
    };
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x");
    // Small write chunks are not configurable; 30 000 bytes arrive before the reset, and
    // every one of them reaches the file before the retry.
    let n = download(
        &f,
        key,
        &dest,
        &Expected {
            size_bytes: Some(want.len() as u64),
            hash: Some(("sha1", &digest)),
        },
        &opts(2),
    )
    .await
    .unwrap();
    assert_eq!(n, want.len() as u64);
    assert!(std::fs::read(&dest).unwrap() == *want);
    let requests = f.requests.lock().unwrap().clone();
    assert_eq!(
        requests,
        vec![None, Some(30_000..want.len() as u64)],
        "a whole GET first, then the rest from the first byte not written"
    );
}
