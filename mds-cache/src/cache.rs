//! The cache: getting, pinning, filling and evicting shards.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::ThreadId;
use std::time::{Instant, SystemTime};

use crate::config::CacheConfig;
use crate::error::{BoxError, Error, Result};
use crate::layout::{self, Layout};
use crate::pin::Pin;

/// Pins and fills waited on at once when the cache is full.
const MAX_WAIT_TARGETS: usize = 4;

/// Fills running in this process: (shard fill lock file, filling thread). A `get` inside a
/// fill must not wait for that same fill to end.
static OWN_FILLS: Mutex<Option<HashSet<(PathBuf, ThreadId)>>> = Mutex::new(None);

/// Registers a fill of this thread in [`OWN_FILLS`] for its lifetime.
#[derive(Debug)]
struct OwnFill(PathBuf);

impl OwnFill {
    fn new(lock_path: &Path) -> OwnFill {
        let key = (lock_path.to_path_buf(), std::thread::current().id());
        OWN_FILLS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert_default()
            .insert(key);
        OwnFill(lock_path.to_path_buf())
    }

    /// Whether this thread is inside a fill of the shard with this lock file.
    fn is_mine(lock_path: &Path) -> bool {
        let key = (lock_path.to_path_buf(), std::thread::current().id());
        OWN_FILLS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|s| s.contains(&key))
    }
}

impl Drop for OwnFill {
    fn drop(&mut self) {
        let key = (std::mem::take(&mut self.0), std::thread::current().id());
        if let Some(s) = OWN_FILLS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
        {
            s.remove(&key);
        }
    }
}

/// The cache directory of one dataset on one node, shared by every process that opens it.
///
/// Cheap to clone (the clones share one path set). Holds no open file between calls, so it
/// is safe to use after `fork`. See the [crate docs](crate) for the design.
#[derive(Clone, Debug)]
pub struct Cache {
    layout: Arc<Layout>,
    config: CacheConfig,
}

/// What the cache directory holds, from [`Cache::usage`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Bytes of complete shards on disk.
    pub cached_bytes: u64,
    /// Number of complete shards on disk.
    pub cached_shards: usize,
    /// Bytes reserved by fills in progress (their declared sizes).
    pub filling_bytes: u64,
    /// Number of fills in progress.
    pub filling_shards: usize,
}

impl Usage {
    /// `cached_bytes + filling_bytes`: what the limit is checked against.
    pub fn total_bytes(&self) -> u64 {
        self.cached_bytes.saturating_add(self.filling_bytes)
    }
}

/// A complete shard found by a scan.
#[derive(Debug)]
struct Entry {
    name: String,
    size: u64,
    /// Last access: the modification time of its lock file.
    accessed: SystemTime,
}

/// Everything a scan of the directory found (taken under the global lock).
#[derive(Debug, Default)]
struct Scan {
    cached: Vec<Entry>,
    cached_bytes: u64,
    filling: Vec<String>,
    filling_bytes: u64,
}

/// The outcome of asking for room.
#[derive(Debug)]
enum Reserve {
    /// Room is reserved by this temporary file.
    Ready(TempFile),
    /// No room: wait until one of these lock files is released, then try again.
    Wait(Full),
}

/// Why there is no room, and what to wait for.
#[derive(Debug)]
struct Full {
    targets: Vec<WaitTarget>,
    used: u64,
    limit: u64,
    pinned: usize,
    filling: usize,
}

/// A lock file to wait on, and whether to wait for readers (pins) or for a fill to end.
#[derive(Debug)]
struct WaitTarget {
    path: PathBuf,
    unpinned: bool,
}

/// A temporary file that is removed on drop unless it was renamed into place.
#[derive(Debug)]
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // Best effort: a leftover is removed by the next fill of this shard or by a scan.
        if self.armed {
            let _ = fs::remove_file(&self.path);
        }
        // Scratch files (`<stem>.<ext>`) end with the fill, whatever its outcome.
        let (Some(dir), Some(stem)) = (
            self.path.parent(),
            self.path.file_stem().and_then(|f| f.to_str()),
        ) else {
            return;
        };
        let prefix = format!("{stem}.");
        if let Ok(entries) = fs::read_dir(dir) {
            for e in entries.flatten() {
                if e.file_name()
                    .to_str()
                    .is_some_and(|f| f.starts_with(&prefix))
                {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
    }
}

impl Cache {
    /// Opens (creating it if needed) the cache directory `dir` with `config`.
    ///
    /// Removes temporary files left by processes that died mid-fill. Processes may open the
    /// same directory with different configs; each enforces its own `limit_bytes` on the
    /// shards it adds.
    ///
    /// # Errors
    /// [`Error::LimitTooSmall`] if `config.limit_bytes < config.max_shard_bytes`;
    /// [`Error::Io`] if the directory cannot be created or locked.
    pub fn open(dir: &Path, config: CacheConfig) -> Result<Cache> {
        if let Some(limit_bytes) = config.limit_bytes
            && limit_bytes < config.max_shard_bytes
        {
            return Err(Error::LimitTooSmall {
                limit_bytes,
                max_shard_bytes: config.max_shard_bytes,
            });
        }
        let layout = Layout::new(dir);
        for d in [&layout.locks, &layout.present, &layout.tmp] {
            fs::create_dir_all(d).map_err(Error::io("create directory", d))?;
        }
        let cache = Cache {
            layout: Arc::new(layout),
            config,
        };
        let _global = cache.lock_global()?;
        cache.live_fills()?;
        Ok(cache)
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.layout.dir
    }

    /// The config the cache was opened with.
    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    /// Returns shard `name` pinned, filling it first if it is not cached.
    ///
    /// `name` is the shard's path relative to the cache directory (`shard.00000.mds`,
    /// `part0/shard.00000.mds`); `size_bytes` is its exact size (the index's `bytes`). A
    /// cached file of another size is stale and is replaced.
    ///
    /// On a miss exactly one process of the node runs `fill` for a given shard; the others
    /// block on the shard's lock until it is done and then pin the result without filling.
    /// `fill` gets a fresh temporary path inside the cache directory and must leave the
    /// complete shard there (`size_bytes` long; it may create, truncate or replace the file).
    /// It may also create scratch files whose names only change or extend the path's
    /// extension (`tmp.with_extension("zip")`, or `<tmp>.zstd`: a compressed download to
    /// decompress from, say); they count toward usage while they exist and are deleted when
    /// the fill ends, so move any you want to keep (into the cache with another `get`, for
    /// `keep_zip`) before returning. No other file may be created in that directory. The cache
    /// then fsyncs the shard and renames it to its final name, so a final name never holds a
    /// partial file. Room is made first by evicting the least recently used shards that no
    /// process pins; if every cached shard is pinned, see the crate docs' eviction policy.
    /// `fill` runs without any cache-wide lock held, so fills of different shards proceed in
    /// parallel. It may be called again if other processes evict the shard before it could be
    /// pinned. It must not `get` the same shard; it may `get` others (a compressed form).
    ///
    /// This call blocks (file locks, the fill, waiting for room); from async code run it in
    /// `spawn_blocking`, where the fill may drive an async download with
    /// `tokio::runtime::Handle::block_on` (never call `block_on` on a runtime worker thread).
    ///
    /// # Errors
    /// [`Error::InvalidName`], [`Error::ShardTooLarge`], [`Error::Fill`] (the callback's error,
    /// boxed), [`Error::FillSize`], [`Error::SizeMismatch`], [`Error::CacheFull`],
    /// [`Error::Io`]. After an error nothing of the attempt remains.
    pub fn get<F, E>(&self, name: &str, size_bytes: u64, mut fill: F) -> Result<Pin>
    where
        F: FnMut(&Path) -> Result<(), E>,
        E: Into<BoxError>,
    {
        self.get_dyn(name, size_bytes, &mut |path| fill(path).map_err(Into::into))
    }

    /// Pins shard `name` if it is cached with size `size_bytes`; `None` if it is not (also
    /// while another process is still filling it). Never fills, and never waits for a fill;
    /// waits only while an eviction of that shard holds its pin lock (a few syscalls).
    pub fn pin(&self, name: &str, size_bytes: u64) -> Result<Option<Pin>> {
        layout::validate_name(name)?;
        let lock_path = self.layout.lock_path(name);
        let (lock, new) = layout::open_lock_new(&lock_path)?;
        lock.lock_shared().map_err(Error::io("lock", &lock_path))?;
        let final_path = self.layout.final_path(name);
        if file_size(name, &final_path)? == Some(size_bytes) {
            if new {
                self.adopt(name, size_bytes)?;
            }
            touch(&lock);
            return Ok(Some(Pin {
                path: final_path,
                name: name.to_owned(),
                size_bytes,
                filled: false,
                _lock: lock,
            }));
        }
        Ok(None)
    }

    /// Removes shard `name` if it is cached and no process pins or fills it. Returns whether
    /// it was removed.
    pub fn evict(&self, name: &str) -> Result<bool> {
        layout::validate_name(name)?;
        let _global = self.lock_global()?;
        if !self.layout.lock_path(name).exists() {
            return Ok(false);
        }
        Ok(self.evict_locked(name, None)? == Some(true))
    }

    /// Evicts every cached shard that no process pins or fills; returns how many were
    /// removed. For a directory whose files belong to another source (see
    /// [`Claim::acquire_with`](crate::Claim::acquire_with)).
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn clear(&self) -> Result<usize> {
        let _global = self.lock_global()?;
        let scan = self.scan(None)?;
        let mut removed = 0;
        for c in scan.cached {
            if self.evict_locked(&c.name, Some(c.size))? == Some(true) {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Measures what the directory holds: complete shards obtained through the cache, and
    /// fills in progress. Takes the cache-wide lock, so it is a consistent snapshot.
    pub fn usage(&self) -> Result<Usage> {
        let _global = self.lock_global()?;
        let scan = self.scan(None)?;
        Ok(Usage {
            cached_bytes: scan.cached_bytes,
            cached_shards: scan.cached.len(),
            filling_bytes: scan.filling_bytes,
            filling_shards: scan.filling.len(),
        })
    }

    fn get_dyn(
        &self,
        name: &str,
        size: u64,
        fill: &mut dyn FnMut(&Path) -> Result<(), BoxError>,
    ) -> Result<Pin> {
        layout::validate_name(name)?;
        if let Some(limit_bytes) = self.config.limit_bytes
            && size > limit_bytes
        {
            return Err(Error::ShardTooLarge {
                shard: name.to_owned(),
                size_bytes: size,
                limit_bytes,
            });
        }
        let fill_path = self.layout.fill_lock_path(name);
        let final_path = self.layout.final_path(name);
        let started = Instant::now();
        loop {
            if let Some(pin) = self.pin(name, size)? {
                return Ok(pin);
            }
            // One filler per shard; the others queue on the fill lock. No pin ever holds it,
            // so a queued process waits for the fill alone, never for readers of the result
            // (which may be idle processes that only their own consumer would wake).
            let fill_lock = layout::open_lock(&fill_path)?;
            fill_lock.lock().map_err(Error::io("lock", &fill_path))?;
            if let Some(pin) = self.pin(name, size)? {
                return Ok(pin); // someone filled it while we queued
            }
            if let Some(found_bytes) = file_size(name, &final_path)? {
                self.remove_stale(name, size, found_bytes)?;
            }
            // Holding the fill lock, every temporary file of this shard is a dead fill's.
            self.remove_fills_of(name)?;
            match self.reserve(name, size, started)? {
                Reserve::Ready(temp) => {
                    let _mine = OwnFill::new(&fill_path);
                    return self.fill_into(name, size, temp, &final_path, fill);
                }
                Reserve::Wait(no_room) => {
                    drop(fill_lock);
                    self.wait_for_any(name, size, no_room, started)?;
                }
            }
        }
    }

    /// Removes the cached file of `name` whose size (`found_bytes`) is not the requested one,
    /// unless someone pins it ([`Error::SizeMismatch`] then: waiting could be waiting on a
    /// pin of our own). The caller holds the shard's fill lock.
    fn remove_stale(&self, name: &str, size: u64, found_bytes: u64) -> Result<()> {
        let lock_path = self.layout.lock_path(name);
        let lock = layout::open_lock(&lock_path)?;
        if !layout::try_exclusive(&lock, &lock_path)? {
            return Err(Error::SizeMismatch {
                shard: name.to_owned(),
                expected_bytes: size,
                found_bytes,
            });
        }
        let final_path = self.layout.final_path(name);
        let _global = self.lock_global()?;
        fs::remove_file(&final_path).map_err(Error::io("remove stale shard", &final_path))?;
        remove_if_present(&self.layout.present_path(name, found_bytes))
    }

    /// Makes room for `size` bytes of `name` and creates its temporary file, or says what to
    /// wait for. The caller holds the shard's fill lock.
    fn reserve(&self, name: &str, size: u64, started: Instant) -> Result<Reserve> {
        let _global = self.lock_global()?;
        let Some(limit) = self.config.limit_bytes else {
            return Ok(Reserve::Ready(self.create_temp(name, size)?));
        };
        let scan = self.scan(Some(name))?;
        let mut used = scan.cached_bytes.saturating_add(scan.filling_bytes);
        let mut pinned = Vec::new();
        if used.saturating_add(size) > limit {
            let mut candidates = scan.cached;
            for c in &mut candidates {
                // The index entry is a hard link to the lock file: its mtime is the last pin.
                let entry = self.layout.present_path(&c.name, c.size);
                if let Ok(t) = fs::metadata(&entry).and_then(|m| m.modified()) {
                    c.accessed = t;
                }
            }
            candidates.sort_by(|a, b| (a.accessed, &a.name).cmp(&(b.accessed, &b.name)));
            for c in candidates {
                if used.saturating_add(size) <= limit {
                    break;
                }
                match self.evict_locked(&c.name, Some(c.size))? {
                    Some(true) | None => used = used.saturating_sub(c.size),
                    Some(false) => pinned.push(c.name),
                }
            }
        }
        // Over the limit by at most this one shard: admitted only while not over it already.
        if used.saturating_add(size) <= limit || used <= limit {
            return Ok(Reserve::Ready(self.create_temp(name, size)?));
        }
        // Fills this thread is inside of (a `get` from a fill) end only after this call.
        let fills: Vec<_> = scan
            .filling
            .iter()
            .map(|n| self.layout.fill_lock_path(n))
            .filter(|p| !OwnFill::is_mine(p))
            .collect();
        let waited = started.elapsed();
        let out_of_time = self.config.space_wait_timeout.is_some_and(|t| waited >= t);
        if out_of_time || (pinned.is_empty() && fills.is_empty()) {
            return Err(Error::CacheFull {
                shard: name.to_owned(),
                needed_bytes: size,
                used_bytes: used,
                limit_bytes: limit,
                pinned_shards: pinned.len(),
                filling_shards: scan.filling.len(),
                waited,
            });
        }
        let unpin = pinned
            .iter()
            .take(MAX_WAIT_TARGETS)
            .map(|n| (self.layout.lock_path(n), true));
        let ends = fills.into_iter().take(MAX_WAIT_TARGETS).map(|p| (p, false));
        let targets = unpin
            .chain(ends)
            .map(|(path, unpinned)| WaitTarget { path, unpinned })
            .collect();
        Ok(Reserve::Wait(Full {
            targets,
            used,
            limit,
            pinned: pinned.len(),
            filling: scan.filling.len(),
        }))
    }

    /// Blocks until one target's lock is released (a pinned shard has no pin left, or a fill
    /// ended), or until the wait timeout, without polling: one thread per target blocks on
    /// its lock. A thread whose target outlives the timeout stays blocked until it is
    /// released (or the process exits), then exits.
    fn wait_for_any(&self, name: &str, size: u64, full: Full, started: Instant) -> Result<()> {
        let (tx, rx) = mpsc::channel();
        for target in full.targets {
            let tx = tx.clone();
            let path = target.path.clone();
            std::thread::Builder::new()
                .name("mds-cache-wait".to_owned())
                .spawn(move || {
                    if let Ok(f) = File::options().read(true).write(true).open(&target.path) {
                        // Either result ends the wait; the caller re-checks everything.
                        let _ = if target.unpinned {
                            f.lock()
                        } else {
                            f.lock_shared()
                        };
                    }
                    let _ = tx.send(());
                })
                .map_err(Error::io("start a thread to wait on", path))?;
        }
        drop(tx);
        let ended = match self.config.space_wait_timeout {
            None => rx.recv().is_ok(),
            Some(t) => rx.recv_timeout(t.saturating_sub(started.elapsed())).is_ok(),
        };
        if ended {
            return Ok(());
        }
        Err(Error::CacheFull {
            shard: name.to_owned(),
            needed_bytes: size,
            used_bytes: full.used,
            limit_bytes: full.limit,
            pinned_shards: full.pinned,
            filling_shards: full.filling,
            waited: started.elapsed(),
        })
    }

    /// Runs `fill` into `temp`, checks the size, fsyncs and renames it to `final_path`, and
    /// returns it pinned. The caller holds the shard's fill lock.
    fn fill_into(
        &self,
        name: &str,
        size: u64,
        mut temp: TempFile,
        final_path: &Path,
        fill: &mut dyn FnMut(&Path) -> Result<(), BoxError>,
    ) -> Result<Pin> {
        fill(&temp.path).map_err(|source| Error::Fill {
            shard: name.to_owned(),
            source,
        })?;
        let actual = match fs::metadata(&temp.path) {
            Ok(m) if m.is_file() => m.len(),
            Ok(_) => 0,
            Err(e) if e.kind() == ErrorKind::NotFound => 0,
            Err(e) => return Err(Error::io("stat", &temp.path)(e)),
        };
        if actual != size {
            return Err(Error::FillSize {
                shard: name.to_owned(),
                expected_bytes: size,
                actual_bytes: actual,
            });
        }
        File::open(&temp.path)
            .and_then(|f| f.sync_all())
            .map_err(Error::io("fsync", &temp.path))?;
        let parent = final_path.parent().unwrap_or(&self.layout.dir);
        // The present entry is a hard link to the pin lock, which must exist first.
        let lock_path = self.layout.lock_path(name);
        let lock = layout::open_lock(&lock_path)?;
        {
            // Under the global lock so that `usage` never sees a shard twice or not at all.
            // Index entry first, then the file: a crash in between leaves an entry without a
            // file (counted until evicted), never a file that no scan sees.
            let _global = self.lock_global()?;
            self.mark_present(name, size)?;
            fs::create_dir_all(parent).map_err(Error::io("create directory", parent))?;
            fs::rename(&temp.path, final_path)
                .map_err(Error::io("rename into place", final_path))?;
            temp.armed = false;
            // Pinned before the global lock drops, so no eviction can come in between. This
            // never blocks: the pin lock is taken exclusive only by evictions (which hold the
            // global lock) and by stale-file removal (which holds the fill lock, as we do).
            lock.lock_shared().map_err(Error::io("lock", &lock_path))?;
        }
        touch(&lock);
        File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(Error::io("fsync directory", parent))?;
        Ok(Pin {
            path: final_path.to_path_buf(),
            name: name.to_owned(),
            size_bytes: size,
            filled: true,
            _lock: lock,
        })
    }

    /// Creates the temporary file that reserves `size` bytes for `name`. The caller holds the
    /// global lock, so scans see the reservation as soon as the limit check passed.
    fn create_temp(&self, name: &str, size: u64) -> Result<TempFile> {
        let path = self.layout.temp_path(name, size);
        File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(Error::io("create temporary file", &path))?;
        Ok(TempFile { path, armed: true })
    }

    /// Removes every temporary file of `name`. The caller holds the shard's fill lock, so
    /// none of them belongs to a live fill.
    fn remove_fills_of(&self, name: &str) -> Result<()> {
        for entry in read_dir(&self.layout.tmp)? {
            let file = entry.file_name();
            if let Some(temp) = file.to_str().and_then(layout::parse_temp)
                && temp.shard == name
            {
                remove_if_present(&entry.path())?;
            }
        }
        Ok(())
    }

    /// Lists live fills (shard, bytes) and removes dead ones: a fill is live while its
    /// shard's fill lock is held, which the kernel drops when the filler dies. A fill's
    /// bytes are its reservation plus the actual size of its scratch files. The caller holds
    /// the global lock.
    fn live_fills(&self) -> Result<Vec<(String, u64)>> {
        let mut live: Vec<(String, u64)> = Vec::new();
        for entry in read_dir(&self.layout.tmp)? {
            let path = entry.path();
            let Some(temp) = entry.file_name().to_str().and_then(layout::parse_temp) else {
                // Not a name this crate (or a fill's scratch) makes: nothing can be using it.
                remove_if_present(&path)?;
                continue;
            };
            let lock_path = self.layout.fill_lock_path(&temp.shard);
            let lock = match File::options().read(true).write(true).open(&lock_path) {
                Ok(f) => Some(f),
                Err(e) if e.kind() == ErrorKind::NotFound => None,
                Err(e) => return Err(Error::io("open lock file", &lock_path)(e)),
            };
            let dead = match &lock {
                Some(lock) => layout::try_shared(lock, &lock_path)?,
                None => true,
            };
            if dead {
                remove_if_present(&path)?;
            } else if temp.scratch {
                // Scratch space is not reserved in advance; count what is there.
                let bytes = entry.metadata().map_or(0, |m| m.len());
                live.push((String::new(), bytes));
            } else {
                live.push((temp.shard, temp.size));
            }
        }
        Ok(live)
    }

    /// Lists cached shards (from the present index) and fills in progress, skipping `skip`.
    /// The caller holds the global lock.
    fn scan(&self, skip: Option<&str>) -> Result<Scan> {
        let mut scan = Scan::default();
        for entry in read_dir(&self.layout.present)? {
            let file = entry.file_name();
            let Some((name, size)) = file.to_str().and_then(layout::parse_present) else {
                continue;
            };
            if skip == Some(name.as_str()) {
                continue;
            }
            // Read only when eviction needs the order (see `reserve`).
            let accessed = SystemTime::UNIX_EPOCH;
            scan.cached_bytes = scan.cached_bytes.saturating_add(size);
            scan.cached.push(Entry {
                name,
                size,
                accessed,
            });
        }
        for (shard, bytes) in self.live_fills()? {
            scan.filling_bytes = scan.filling_bytes.saturating_add(bytes);
            if !shard.is_empty() {
                scan.filling.push(shard);
            }
        }
        Ok(scan)
    }

    /// Evicts `name` if nobody pins or fills it: `Some(true)` if removed, `Some(false)` if in
    /// use, `None` if it was not there. Removes its present-index entries: the one of the
    /// file's actual size and the one `listed` (by a scan). The caller holds the global lock.
    fn evict_locked(&self, name: &str, listed: Option<u64>) -> Result<Option<bool>> {
        let lock_path = self.layout.lock_path(name);
        let lock = layout::open_lock(&lock_path)?;
        if !layout::try_exclusive(&lock, &lock_path)? {
            return Ok(Some(false));
        }
        let final_path = self.layout.final_path(name);
        let actual = file_size(name, &final_path)?;
        // File first, then index entry: see `fill_into`.
        if let Some(n) = actual {
            fs::remove_file(&final_path).map_err(Error::io("evict", &final_path))?;
            remove_if_present(&self.layout.present_path(name, n))?;
        }
        if let Some(n) = listed {
            remove_if_present(&self.layout.present_path(name, n))?;
        }
        Ok(actual.map(|_| true))
    }

    /// Adds `name` to the present index. The caller holds the global lock.
    fn mark_present(&self, name: &str, size: u64) -> Result<()> {
        let entry = self.layout.present_path(name, size);
        match fs::hard_link(self.layout.lock_path(name), &entry) {
            Err(e) if e.kind() != ErrorKind::AlreadyExists => Err(Error::io("link", &entry)(e)),
            _ => Ok(()),
        }
    }

    /// Counts a shard found in place on its first use (copied there by hand, or left by an
    /// older cache) toward the limit, so that it can be evicted.
    fn adopt(&self, name: &str, size: u64) -> Result<()> {
        let _global = self.lock_global()?;
        self.mark_present(name, size)
    }

    /// Takes the cache-wide lock; it is released when the returned file drops. Opened per call
    /// so that a forked child never shares the lock's open file with its parent.
    fn lock_global(&self) -> Result<File> {
        let path = &self.layout.global;
        let file = layout::open_lock(path)?;
        file.lock().map_err(Error::io("lock", path))?;
        Ok(file)
    }
}

/// The size of the regular file at `path` (shard `name`), `None` if nothing is there.
fn file_size(name: &str, path: &Path) -> Result<Option<u64>> {
    match fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(Some(m.len())),
        Ok(_) => Err(Error::InvalidName {
            shard: name.to_owned(),
            reason: "the cache directory holds something other than a file at this name",
        }),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("stat", path)(e)),
    }
}

/// Records an access for LRU order: the lock file's modification time. Best effort: a
/// failure only makes the shard look older.
fn touch(lock: &File) {
    let _ = lock.set_modified(SystemTime::now());
}

fn read_dir(dir: &Path) -> Result<Vec<fs::DirEntry>> {
    fs::read_dir(dir)
        .and_then(Iterator::collect)
        .map_err(Error::io("list", dir))
}

fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(Error::io("remove", path)(e)),
        _ => Ok(()),
    }
}
