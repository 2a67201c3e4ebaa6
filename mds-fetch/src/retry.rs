//! Retries with exponential backoff and jitter, and a per-request timeout.

use std::future::Future;
use std::hash::BuildHasher;
use std::time::Duration;

use crate::error::{Error, Result};

/// How requests are retried and timed out.
///
/// After failed attempt `i` (0-based) that is not the last, the helper sleeps
/// `min(initial_backoff · 2^i, max_backoff) + U[0, max_jitter)`, the schedule of the reference's
/// `retry` helper (spec §9.5: 1 s initial, 0.5 s jitter). Only errors with
/// [`Error::is_retryable`] are retried; anything else is returned at once.
///
/// Unlike the reference, where `download_retry` counts *attempts* (so 0 fails every download),
/// `retries` counts re-tries after the first attempt: `retries = 0` means one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Re-tries after the first attempt (the reference's `download_retry`, default 2).
    pub retries: u32,
    /// Backoff before the first retry.
    pub initial_backoff: Duration,
    /// Upper bound of the exponential part of the backoff.
    pub max_backoff: Duration,
    /// Upper bound (exclusive) of the uniform random jitter added to each backoff.
    pub max_jitter: Duration,
    /// Deadline of one request, body included (the reference's `download_timeout`, 60 s).
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            retries: 2,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            max_jitter: Duration::from_millis(500),
            timeout: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The policy for the reference's `download_retry` and `download_timeout` (seconds; values
    /// that are not positive and finite fall back to 60 s).
    pub fn from_reference(download_retry: u32, download_timeout_secs: f64) -> Self {
        let timeout = Duration::try_from_secs_f64(download_timeout_secs)
            .ok()
            .filter(|d| !d.is_zero())
            .unwrap_or(Duration::from_secs(60));
        Self {
            retries: download_retry,
            timeout,
            ..Self::default()
        }
    }

    /// The sleep after failed attempt `attempt` (0-based), without jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(31));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    fn jitter(&self, attempt: u32) -> Duration {
        if self.max_jitter.is_zero() {
            return Duration::ZERO;
        }
        // a fresh RandomState is randomly keyed: a cheap uniform sample without an RNG crate
        let r = std::collections::hash_map::RandomState::new().hash_one(attempt);
        #[expect(
            clippy::cast_precision_loss,
            reason = "53 bits of randomness are plenty for jitter"
        )]
        let frac = (r >> 11) as f64 / (1u64 << 53) as f64;
        self.max_jitter.mul_f64(frac)
    }

    /// Runs `op` until it succeeds, fails with a non-retryable error, or `retries + 1` attempts
    /// have failed (then [`Error::RetriesExhausted`] naming `url`). Each attempt is bounded by
    /// `timeout` ([`Error::Timeout`], retryable).
    pub async fn run<T, F, Fut>(&self, url: &(dyn Fn() -> String + Sync), mut op: F) -> Result<T>
    where
        F: FnMut() -> Fut + Send,
        Fut: Future<Output = Result<T>> + Send,
        T: Send,
    {
        let attempts = self.retries.saturating_add(1);
        let mut attempt = 0u32;
        loop {
            let err = match tokio::time::timeout(self.timeout, op()).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) => e,
                Err(_) => Error::Timeout {
                    url: url(),
                    after: self.timeout,
                },
            };
            if !err.is_retryable() {
                return Err(err);
            }
            attempt += 1;
            if attempt >= attempts {
                return Err(Error::RetriesExhausted {
                    url: url(),
                    attempts,
                    source: Box::new(err),
                });
            }
            tracing::debug!(url = %url(), attempt, error = %err, "retrying");
            let sleep = self.backoff(attempt - 1) + self.jitter(attempt);
            tokio::time::sleep(sleep).await;
        }
    }
}
