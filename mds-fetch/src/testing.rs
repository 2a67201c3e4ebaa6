//! Test helpers (feature `testing`): a fetcher wrapper that injects faults.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::fetcher::Fetcher;

/// Wraps a fetcher and makes every `fail_every`-th read call (1-based count over `get_range`,
/// `size` and `get`) fail with a retryable error, or return a truncated body, alternately;
/// with `fail_every == 1` every call fails. `delay` is awaited before each call (use it under
/// `tokio::time::pause` to model latency without real sleeps).
#[derive(Debug)]
pub struct FlakyFetcher {
    inner: Arc<dyn Fetcher>,
    fail_every: u64,
    delay: Duration,
    calls: AtomicU64,
    faults: AtomicU64,
}

impl FlakyFetcher {
    /// Wraps `inner`; `fail_every == 0` injects no faults.
    pub fn new(inner: Arc<dyn Fetcher>, fail_every: u64, delay: Duration) -> Self {
        Self {
            inner,
            fail_every,
            delay,
            calls: AtomicU64::new(0),
            faults: AtomicU64::new(0),
        }
    }

    /// Read calls made so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Faults injected so far.
    pub fn faults(&self) -> u64 {
        self.faults.load(Ordering::Relaxed)
    }

    /// `Some(truncate)` when this call should fail.
    async fn fault(&self) -> Option<bool> {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let n = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        if self.fail_every == 0 || !n.is_multiple_of(self.fail_every) {
            return None;
        }
        let f = self.faults.fetch_add(1, Ordering::Relaxed);
        Some(f % 2 == 1)
    }

    fn injected(&self, key: &str) -> Error {
        Error::request(self.inner.url(key), true, "injected fault")
    }
}

#[async_trait::async_trait]
impl Fetcher for FlakyFetcher {
    fn url(&self, key: &str) -> String {
        self.inner.url(key)
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes> {
        match self.fault().await {
            None => self.inner.get_range(key, range).await,
            Some(true) => {
                let data = self.inner.get_range(key, range).await?;
                Ok(data.slice(..data.len() / 2))
            }
            Some(false) => Err(self.injected(key)),
        }
    }

    async fn size(&self, key: &str) -> Result<u64> {
        match self.fault().await {
            None => self.inner.size(key).await,
            Some(_) => Err(self.injected(key)),
        }
    }

    async fn get(&self, key: &str) -> Result<Bytes> {
        match self.fault().await {
            None => self.inner.get(key).await,
            Some(_) => Err(self.injected(key)),
        }
    }

    async fn put(&self, key: &str, data: Bytes) -> Result<()> {
        self.inner.put(key, data).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        self.inner.list(prefix).await
    }
}
