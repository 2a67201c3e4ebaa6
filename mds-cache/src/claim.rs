//! Claims: which source a cache directory holds the shards of, while datasets use it.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::error::{Error, Result};
use crate::layout::{self, META_DIR};

/// A live claim of a cache directory for one source (a remote URL), held by a dataset for as
/// long as it is open: one shared `flock` on `dir/.mds-cache/claims/<hash of source>.claim`,
/// which records the source's text. The kernel drops it when the process dies.
///
/// Shard names of two different remotes clash (both have `shard.00000.mds`), so a directory
/// must not serve two sources at once; any number of datasets, ranks and DataLoader workers
/// reading the *same* source share it, which is safe.
#[derive(Debug)]
pub struct Claim {
    _file: File,
}

impl Claim {
    /// Claims `dir` for `source`.
    ///
    /// # Errors
    /// [`Error::Claimed`] if a live claim of `dir` names another source (a dataset of this or
    /// another process still using it); [`Error::Io`] if the claim files cannot be used.
    pub fn acquire(dir: &Path, source: &str) -> Result<Claim> {
        Self::acquire_with(dir, source, |_| Ok(()))
    }

    /// [`acquire`](Self::acquire), and if the directory last served another source (its
    /// files, index.json included, are that source's), calls `changed(previous)` first, while
    /// every other process claiming `dir` waits: the place to clear what the directory holds
    /// (see [`Cache::clear`](crate::Cache::clear)). The directory then records `source`.
    ///
    /// # Errors
    /// As [`acquire`](Self::acquire), and `changed`'s error.
    pub fn acquire_with(
        dir: &Path,
        source: &str,
        changed: impl FnOnce(&str) -> Result<()>,
    ) -> Result<Claim> {
        let claims = dir.join(META_DIR).join("claims");
        fs::create_dir_all(&claims).map_err(Error::io("create directory", &claims))?;
        let ours = claims.join(format!("{:016x}.claim", fnv1a(source.as_bytes())));
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&ours)
            .map_err(Error::io("open claim", &ours))?;
        file.lock_shared().map_err(Error::io("lock", &ours))?;
        if file.metadata().map_err(Error::io("stat", &ours))?.len() == 0 {
            // Best effort: the text only serves error messages of others.
            let _ = file.write_all(source.as_bytes());
        }
        for entry in fs::read_dir(&claims).map_err(Error::io("list", &claims))? {
            let path = entry.map_err(Error::io("list", &claims))?.path();
            if path == ours || path.extension().is_none_or(|e| e != "claim") {
                continue;
            }
            let Ok(mut other) = File::options().read(true).write(true).open(&path) else {
                continue;
            };
            // Held by someone (a live dataset) if it cannot be taken exclusive.
            if layout::try_exclusive(&other, &path)? {
                continue; // stale: its holders are gone (the lock drops with `other`)
            }
            let mut text = String::new();
            let _ = other.read_to_string(&mut text);
            if text == source {
                continue; // a hash collision of the same text cannot happen; be safe anyway
            }
            return Err(Error::Claimed {
                dir: dir.to_path_buf(),
                wanted: source.to_owned(),
                other: if text.is_empty() {
                    format!("another source (claim {})", path.display())
                } else {
                    text
                },
            });
        }
        // Which source the directory's files belong to, changed under its own lock.
        let current_path = claims.join("current");
        let mut current = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&current_path)
            .map_err(Error::io("open", &current_path))?;
        current.lock().map_err(Error::io("lock", &current_path))?;
        let mut previous = String::new();
        current
            .read_to_string(&mut previous)
            .map_err(Error::io("read", &current_path))?;
        if previous != source {
            if !previous.is_empty() {
                changed(&previous)?;
            }
            current
                .set_len(0)
                .and_then(|()| current.seek(SeekFrom::Start(0)))
                .and_then(|_| current.write_all(source.as_bytes()))
                .and_then(|()| current.sync_all())
                .map_err(Error::io("write", &current_path))?;
        }
        Ok(Claim { _file: file })
    }
}

/// FNV-1a, 64 bits: a stable file name for a source of any length.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}
