//! The [`Fetcher`] trait and its object_store implementation.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};

/// A body as a stream of chunks (see [`Fetcher::get_stream`]).
pub type ByteStream = futures::stream::BoxStream<'static, Result<Bytes>>;
use object_store::ObjectStore;
use object_store::ObjectStoreExt;
use object_store::path::Path as StorePath;

use crate::error::{Error, Result, from_store};

/// Read (and optionally write) access to the objects under one remote root (a dataset
/// directory such as `s3://bucket/train`).
///
/// Keys are `/`-separated paths relative to that root (`index.json`, `shard.00000.mds.zstd`).
/// Implementations do one request per call and no retries: the helpers in this crate
/// ([`crate::download`], [`crate::fetch_bytes`], [`crate::upload`]) add retries, timeouts and
/// concurrency. To add a backend, implement the three required methods; `get`, `put` and
/// `list` have defaults.
#[async_trait::async_trait]
pub trait Fetcher: fmt::Debug + Send + Sync + 'static {
    /// The URL of `key`, used in error messages (e.g. `s3://bucket/train/index.json`).
    fn url(&self, key: &str) -> String;

    /// Bytes `range` (half-open, in bytes) of object `key`. Implementations should return
    /// exactly `range.end - range.start` bytes; the download helpers check and retry otherwise.
    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes>;

    /// Size of object `key` in bytes. A missing object gives an error with `is_not_found()`.
    async fn size(&self, key: &str) -> Result<u64>;

    /// The whole object `key`. The default asks for the size, then for the full range.
    async fn get(&self, key: &str) -> Result<Bytes> {
        let len = self.size(key).await?;
        if len == 0 {
            return Ok(Bytes::new());
        }
        self.get_range(key, 0..len).await
    }

    /// Object `key` as a stream of chunks (all of it with `range` `None`, else bytes
    /// `range.start..range.end`), and the object's total size in bytes when the backend
    /// reports it. Downloads use this so that memory stays bounded; the default fetches the
    /// bytes with [`Fetcher::get`] / [`Fetcher::get_range`] as one chunk.
    ///
    /// # Errors
    /// As [`Fetcher::get`]; errors in the middle of the body come through the stream.
    async fn get_stream(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<(Option<u64>, ByteStream)> {
        let (size, data) = match range {
            None => {
                let data = self.get(key).await?;
                (Some(data.len() as u64), data)
            }
            Some(r) => (None, self.get_range(key, r).await?),
        };
        Ok((size, futures::stream::once(async { Ok(data) }).boxed()))
    }

    /// Writes object `key` (replacing it). Default: [`Error::Unsupported`].
    async fn put(&self, key: &str, data: Bytes) -> Result<()> {
        let _ = data;
        Err(Error::Unsupported {
            url: self.url(key),
            operation: "put",
        })
    }

    /// Keys (relative to the root) of the objects under `prefix` (`""` for all), sorted.
    /// Default: [`Error::Unsupported`].
    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        Err(Error::Unsupported {
            url: self.url(prefix),
            operation: "list",
        })
    }
}

/// A [`Fetcher`] over any `object_store::ObjectStore` (S3, GCS, Azure, HTTP, local, memory),
/// rooted at a prefix inside the store. Built by [`crate::FetcherBuilder`]; construct it
/// directly only to plug in a store configured by hand.
#[derive(Clone)]
pub struct ObjectStoreFetcher {
    store: Arc<dyn ObjectStore>,
    prefix: StorePath,
    base_url: String,
}

impl fmt::Debug for ObjectStoreFetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStoreFetcher")
            .field("base_url", &self.base_url)
            .field("store", &self.store.to_string())
            .field("prefix", &self.prefix.as_ref())
            .finish()
    }
}

impl ObjectStoreFetcher {
    /// Wraps `store`; keys are resolved under `prefix` (a `/`-separated path inside the store,
    /// `""` for its root). `base_url` is only used to name objects in errors.
    ///
    /// This is the escape hatch that lets a caller pass an object_store it configured itself.
    pub fn from_object_store(
        store: Arc<dyn ObjectStore>,
        prefix: &str,
        base_url: &str,
    ) -> Result<Self> {
        let prefix = StorePath::parse(prefix.trim_matches('/')).map_err(|e| Error::InvalidUrl {
            url: base_url.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            store,
            prefix,
            base_url: trim_base(base_url),
        })
    }

    #[cfg(feature = "local")]
    pub(crate) fn with_path(
        store: Arc<dyn ObjectStore>,
        prefix: StorePath,
        base_url: &str,
    ) -> Self {
        Self {
            store,
            prefix,
            base_url: trim_base(base_url),
        }
    }

    /// The underlying store.
    pub fn store(&self) -> Arc<dyn ObjectStore> {
        Arc::clone(&self.store)
    }

    /// An empty in-memory store, for tests.
    pub fn memory() -> Self {
        Self {
            store: Arc::new(object_store::memory::InMemory::new()),
            prefix: StorePath::default(),
            base_url: "memory://".to_string(),
        }
    }

    fn path(&self, key: &str) -> Result<StorePath> {
        let key = key.trim_start_matches('/');
        let parsed = StorePath::parse(key).map_err(|e| Error::InvalidUrl {
            url: self.url(key),
            reason: e.to_string(),
        })?;
        Ok(self.prefix.parts().chain(parsed.parts()).collect())
    }

    fn err(&self, key: &str, e: object_store::Error) -> Error {
        from_store(self.url(key), e)
    }
}

/// `base_url` without trailing slashes, except the one of a bare `scheme://`.
fn trim_base(base_url: &str) -> String {
    let t = base_url.trim_end_matches('/');
    if base_url.ends_with("://") || t.ends_with(':') {
        base_url.to_string()
    } else {
        t.to_string()
    }
}

#[async_trait::async_trait]
impl Fetcher for ObjectStoreFetcher {
    fn url(&self, key: &str) -> String {
        let key = key.trim_start_matches('/');
        if self.base_url.ends_with("://") {
            format!("{}{key}", self.base_url)
        } else {
            format!("{}/{key}", self.base_url)
        }
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes> {
        let path = self.path(key)?;
        if range.start >= range.end {
            return Ok(Bytes::new());
        }
        self.store
            .get_range(&path, range)
            .await
            .map_err(|e| self.err(key, e))
    }

    async fn size(&self, key: &str) -> Result<u64> {
        let path = self.path(key)?;
        let meta = self.store.head(&path).await.map_err(|e| self.err(key, e))?;
        Ok(meta.size)
    }

    async fn get(&self, key: &str) -> Result<Bytes> {
        let path = self.path(key)?;
        let res = self.store.get(&path).await.map_err(|e| self.err(key, e))?;
        let expected = res.meta.size;
        let data = res.bytes().await.map_err(|e| self.err(key, e))?;
        let actual = data.len() as u64;
        if actual != expected {
            return Err(Error::Truncated {
                url: self.url(key),
                start: 0,
                expected,
                actual,
            });
        }
        Ok(data)
    }

    async fn get_stream(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<(Option<u64>, ByteStream)> {
        let path = self.path(key)?;
        if let Some(r) = &range
            && r.start >= r.end
        {
            return Ok((None, futures::stream::empty().boxed()));
        }
        let opts = object_store::GetOptions {
            range: range.map(Into::into),
            ..object_store::GetOptions::default()
        };
        let res = self
            .store
            .get_opts(&path, opts)
            .await
            .map_err(|e| self.err(key, e))?;
        let size = res.meta.size;
        let url = self.url(key);
        let body = res
            .into_stream()
            .map_err(move |e| from_store(url.clone(), e))
            .boxed();
        Ok((Some(size), body))
    }

    async fn put(&self, key: &str, data: Bytes) -> Result<()> {
        let path = self.path(key)?;
        self.store
            .put(&path, data.into())
            .await
            .map_err(|e| self.err(key, e))?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let full = self.path(prefix)?;
        let skip = self.prefix.parts().count();
        let list_prefix = if full.parts().count() == 0 {
            None
        } else {
            Some(&full)
        };
        let metas: Vec<_> = self
            .store
            .list(list_prefix)
            .try_collect()
            .await
            .map_err(|e| self.err(prefix, e))?;
        let mut keys: Vec<String> = metas
            .into_iter()
            .map(|m| {
                m.location
                    .parts()
                    .skip(skip)
                    .map(|p| p.as_ref().to_string())
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .collect();
        keys.sort();
        Ok(keys)
    }
}

/// Limits how many requests one fetcher has in flight at a time (node-wide download limit).
#[derive(Debug)]
pub struct LimitFetcher {
    inner: Arc<dyn Fetcher>,
    permits: tokio::sync::Semaphore,
}

impl LimitFetcher {
    /// Wraps `inner` so that at most `max_requests` calls run at once (0 is treated as 1).
    pub fn new(inner: Arc<dyn Fetcher>, max_requests: usize) -> Self {
        Self {
            inner,
            permits: tokio::sync::Semaphore::new(max_requests.max(1)),
        }
    }

    async fn permit(&self) -> tokio::sync::SemaphorePermit<'_> {
        self.permits
            .acquire()
            .await
            .expect("the semaphore is owned by self and never closed")
    }
}

#[async_trait::async_trait]
impl Fetcher for LimitFetcher {
    fn url(&self, key: &str) -> String {
        self.inner.url(key)
    }
    async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes> {
        let _p = self.permit().await;
        self.inner.get_range(key, range).await
    }
    async fn size(&self, key: &str) -> Result<u64> {
        let _p = self.permit().await;
        self.inner.size(key).await
    }
    async fn get(&self, key: &str) -> Result<Bytes> {
        let _p = self.permit().await;
        self.inner.get(key).await
    }
    async fn put(&self, key: &str, data: Bytes) -> Result<()> {
        let _p = self.permit().await;
        self.inner.put(key, data).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let _p = self.permit().await;
        self.inner.list(prefix).await
    }
}
