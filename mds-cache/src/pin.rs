//! The guard that keeps a cached shard from eviction.

use std::fs::File;
use std::path::{Path, PathBuf};

/// A cached shard that no process can evict while this guard lives.
///
/// It holds a shared lock on the shard's lock file; eviction needs an exclusive one. Dropping
/// the guard (or the process dying) releases it. Any number of processes and threads can pin
/// one shard at once. The guard owns no reference to the [`Cache`](crate::Cache), so it can be
/// kept next to a memory map of [`Pin::path`] and moved across threads. A child forked while
/// the guard lives shares its lock: the shard stays pinned until both have dropped it (or
/// exited).
#[derive(Debug)]
pub struct Pin {
    pub(crate) path: PathBuf,
    pub(crate) name: String,
    pub(crate) size_bytes: u64,
    pub(crate) filled: bool,
    /// Closing this file releases the shared lock.
    pub(crate) _lock: File,
}

impl Pin {
    /// The shard's file: complete, `size_bytes` long, and in place until the guard drops.
    /// Open or memory-map it; don't write to it.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The shard's name (its path relative to the cache directory).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The shard's size in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// True if this call ran the fill callback (a miss), false if the shard was already cached
    /// or another process filled it while this one waited.
    pub fn filled(&self) -> bool {
        self.filled
    }
}
