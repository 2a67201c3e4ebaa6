//! Node-wide shard cache shared by processes, with a size limit and LRU eviction, safe under kill -9.
//!
//! A [`Cache`] is the local directory of one dataset on one node. Every process that uses the
//! dataset there (all ranks, all DataLoader workers, Rust or Python through the bindings, and
//! other jobs reading the same dataset) opens the same directory and coordinates with the
//! others through advisory file locks only: no shared memory, no daemon, no state that a
//! dead process can leave behind in a blocking or inconsistent form.
//!
//! ```no_run
//! use mds_cache::{parse_bytes, Cache, CacheConfig};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = CacheConfig {
//!     limit_bytes: Some(parse_bytes("10gb")?),
//!     max_shard_bytes: 64 << 20, // the largest shard in index.json
//!     ..CacheConfig::default()
//! };
//! let cache = Cache::open("/nvme/cache/train".as_ref(), config)?;
//! let pin = cache.get("shard.00000.mds", 67_108_864, |tmp: &std::path::Path| {
//!     // download (and decompress) the shard into `tmp`
//!     std::fs::copy("/data/train/shard.00000.mds", tmp).map(drop)
//! })?;
//! let bytes = std::fs::read(pin.path())?; // or memory-map it; it stays until `pin` drops
//! # drop(bytes); Ok(()) }
//! ```
//!
//! # Files
//!
//! Inside the cache directory `dir`:
//!
//! | path | what |
//! |---|---|
//! | `dir/<name>` | a complete shard, under the name the caller gives (`shard.00000.mds`, `part0/shard.00000.mds`) |
//! | `dir/.mds-cache/claims/<hash>.claim` | one per source (remote) that datasets read into this directory, shared-locked while one is open ([`Claim`]) |
//! | `dir/.mds-cache/lock` | the cache-wide lock, held briefly while the set of files changes |
//! | `dir/.mds-cache/shards/<name>.lock` | one empty pin lock file per shard (`/`, `%`, `~` percent-encoded); its modification time is the shard's last access |
//! | `dir/.mds-cache/shards/<name>.fill` | one empty fill lock file per shard |
//! | `dir/.mds-cache/present/<name>~<bytes>` | a hard link to that lock file for each cached shard: the index a scan reads, so its cost grows with the shards cached, not the shards ever seen |
//! | `dir/.mds-cache/tmp/<name>~<bytes>~<pid>~<nonce>.tmp` | a fill in progress; `<bytes>` is the room it reserves |
//! | `dir/.mds-cache/tmp/<name>~<bytes>~<pid>~<nonce>.<ext>` | a fill's scratch file (a compressed download before decompression) |
//!
//! Lock files are never deleted (deleting a lock file that another process has open breaks
//! locking); they are empty, one per shard name. `index.json` and other files in `dir` are
//! not managed and don't count toward the limit. A shard file found in place on its first
//! `get` (copied there by hand, say) is adopted: counted, and evictable like any other.
//!
//! # Locks
//!
//! All locks are `flock(2)` locks taken through std's `File::lock` family: the kernel
//! releases them when the process dies, however it dies. Each shard has two lock files:
//!
//! - the **pin lock**, taken **shared** by a [`Pin`] (the shard is being read; any number of
//!   pins coexist), and **exclusive** only by an eviction or the removal of a stale file,
//!   which only ever *try* it, so a pinned shard is skipped, never waited for;
//! - the **fill lock**, taken **exclusive** by the one process filling the shard.
//!
//! [`Cache::get`] first takes the pin lock shared; if the file is there with the expected
//! size it is pinned (a hit: one `open`, one `flock`, one `stat`, one `futimens`). Otherwise
//! it queues for the fill lock, which makes exactly one process per shard the filler while
//! the others sleep in the kernel (no polling); the filler renames the result into place and
//! pins it, and the others then find it and pin it. Because no pin holds the fill lock, a
//! process waiting for a shard waits for its download alone, never for readers of it: a
//! reader may be an idle DataLoader worker that nothing will wake. The filler takes the
//! cache-wide lock only to reserve room (evicting if needed and creating its temporary file)
//! and to rename the result into place; the download itself runs without it. Lock order is
//! always fill lock, then pin lock or cache-wide lock, then only non-blocking tries on other
//! shards' pin locks, so there is no lock cycle.
//!
//! # Eviction policy
//!
//! Usage is the sum of the sizes of the cached shards plus the declared sizes of fills in
//! progress (and the actual sizes of their scratch files), read from the directory itself
//! under the cache-wide lock: the present index and the temporary directory. Before a fill,
//! while usage plus the new shard exceeds `limit_bytes`, the least recently used shard (by
//! its lock file's modification time, set on every pin; ties by name) that no process pins
//! is deleted. A pinned shard is never evicted. If every remaining shard is pinned:
//!
//! 1. if usage is still within the limit, the fill goes ahead anyway, so the cache exceeds
//!    the limit by at most this one shard (this lets a reader that pins its current shard
//!    prefetch the next one);
//! 2. otherwise `get` waits (blocked on the locks of up to four pinned shards and four
//!    fills in progress, in helper threads, without polling) until one is released, then
//!    tries again; after [`CacheConfig::space_wait_timeout`] it fails with
//!    [`Error::CacheFull`], which names the numbers. So the cache never holds more than
//!    `limit_bytes` plus one shard, and never hangs silently: a wait that could only end
//!    when the caller's own pins are dropped ends in that error at the timeout, and a `get`
//!    from inside a fill never waits for the fills it is called from.
//!
//! A hit never evicts, so after an overshoot the cache stays one shard over until the next
//! miss. Pins may be moved to and dropped on any thread.
//!
//! A limit below the largest shard is rejected by [`Cache::open`] ([`Error::LimitTooSmall`],
//! given [`CacheConfig::max_shard_bytes`]) and by `get` ([`Error::ShardTooLarge`]).
//!
//! # Why kill -9 is safe
//!
//! The state is the directory and the kernel's locks, nothing else:
//!
//! - A final name only ever appears by `rename` of a complete, fsynced file, so it never
//!   holds a partial shard; the directory is fsynced after the rename.
//! - A filler killed mid-download leaves a temporary file whose fill lock is no longer
//!   held. The next filler of that shard deletes it (it holds the fill lock, so no live
//!   fill can exist), and every scan and every [`Cache::open`] deletes temporary files
//!   whose fill lock can be taken shared.
//! - A process killed holding pins, or a fill lock, or the cache-wide lock mid-eviction,
//!   loses the locks with its file descriptors.
//! - A shard file deleted by hand while pinned is simply filled again by the next `get`
//!   (the pins keep reading the deleted inode).
//! - The present index is written under the cache-wide lock, entry before file on a fill
//!   and file before entry on an eviction, so a crash can leave an entry without a file
//!   (counted until it is chosen for eviction, which then just drops the entry) but never a
//!   cached file that scans don't see.
//! - Nothing needs a cleanup step and nothing records a PID that could be reused.
//!
//! Two jobs may share a directory: they are just more processes. Two different datasets
//! must not share one, as shard names would clash; a cached file whose size differs from
//! the requested size is treated as stale and replaced (or [`Error::SizeMismatch`] if it is
//! pinned).
//!
//! # Platform
//!
//! Linux (and other Unix systems with `flock`) on a local file system. `flock` on NFS is
//! emulated with byte-range locks and is only as reliable as the NFS lock manager.
#![warn(missing_docs)]
#![doc(test(attr(deny(warnings))))]
#![forbid(unsafe_code)]

mod cache;
mod claim;
mod config;
mod error;
mod layout;
mod pin;

pub use cache::{Cache, Usage};
pub use claim::Claim;
pub use config::{CacheConfig, parse_bytes};
pub use error::{BoxError, Error, Result};
pub use pin::Pin;
