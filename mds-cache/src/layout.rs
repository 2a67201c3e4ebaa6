//! Where things live inside a cache directory, and the lock-file helpers.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// The cache's own subdirectory; shard names may not start with it.
pub(crate) const META_DIR: &str = ".mds-cache";

/// Paths of one cache directory.
#[derive(Debug)]
pub(crate) struct Layout {
    /// The cache directory: shards live at `dir/<name>`.
    pub(crate) dir: PathBuf,
    /// `dir/.mds-cache/shards`: one lock file per shard name ever requested.
    pub(crate) locks: PathBuf,
    /// `dir/.mds-cache/present`: a hard link `<name>~<size>` to the lock file of each shard
    /// that may be cached, so a scan touches only cached shards.
    pub(crate) present: PathBuf,
    /// `dir/.mds-cache/tmp`: fills in progress.
    pub(crate) tmp: PathBuf,
    /// `dir/.mds-cache/lock`: held while changing what the directory holds.
    pub(crate) global: PathBuf,
}

impl Layout {
    pub(crate) fn new(dir: &Path) -> Layout {
        let meta = dir.join(META_DIR);
        Layout {
            dir: dir.to_path_buf(),
            locks: meta.join("shards"),
            present: meta.join("present"),
            tmp: meta.join("tmp"),
            global: meta.join("lock"),
        }
    }

    pub(crate) fn final_path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The pin lock of `name`: shared by every pin, exclusive only in an eviction (tried,
    /// never waited for). Its modification time is the shard's last access.
    pub(crate) fn lock_path(&self, name: &str) -> PathBuf {
        let mut file = encode(name);
        file.push_str(".lock");
        self.locks.join(file)
    }

    /// The fill lock of `name`: exclusive while one process fills the shard. Separate from
    /// the pin lock so that waiting for a fill never waits for the pins taken after it.
    pub(crate) fn fill_lock_path(&self, name: &str) -> PathBuf {
        let mut file = encode(name);
        file.push_str(".fill");
        self.locks.join(file)
    }

    /// The entry of `name` (cached with `size` bytes) in the present index.
    pub(crate) fn present_path(&self, name: &str, size: u64) -> PathBuf {
        self.present.join(format!("{}~{size}", encode(name)))
    }

    /// A fresh temporary path for a fill of `name`, unique across processes and hosts that
    /// share the directory. The declared size is part of the name: it is the fill's
    /// reservation against the limit, whatever the callback writes.
    pub(crate) fn temp_path(&self, name: &str, size: u64) -> PathBuf {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        self.tmp
            .join(format!("{}~{size}~{pid}~{nanos:x}{n:x}.tmp", encode(name)))
    }
}

/// Checks that `name` is a relative path of plain components that stays inside the cache
/// directory and outside its metadata.
pub(crate) fn validate_name(name: &str) -> Result<()> {
    let fail = |reason| {
        Err(Error::InvalidName {
            shard: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return fail("empty");
    }
    if name.contains('\0') {
        return fail("contains a NUL byte");
    }
    if name.starts_with('/') {
        return fail("must be relative");
    }
    // Segment by segment, so that one file has exactly one name (and one lock file).
    for (i, segment) in name.split('/').enumerate() {
        match segment {
            "" => return fail("contains an empty path segment"),
            "." | ".." => return fail("contains a `.` or `..` segment"),
            META_DIR if i == 0 => return fail("is inside the cache's metadata directory"),
            _ => {}
        }
    }
    Ok(())
}

/// Flattens a shard name into one file name: `%`, `/` and `~` are percent-encoded, so the
/// result contains no `/` and no `~` (the temp-name separator).
pub(crate) fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '%' => out.push_str("%25"),
            '/' => out.push_str("%2F"),
            '~' => out.push_str("%7E"),
            c => out.push(c),
        }
    }
    out
}

/// Inverse of [`encode`]; `None` for text `encode` cannot produce.
pub(crate) fn decode(file: &str) -> Option<String> {
    let mut out = String::with_capacity(file.len());
    let mut rest = file;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let code = rest.get(i + 1..i + 3)?;
        out.push(match code {
            "25" => '%',
            "2F" => '/',
            "7E" => '~',
            _ => return None,
        });
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Some(out)
}

/// A file in the temporary directory: a fill's temporary file `<stem>.tmp`, or one of its
/// scratch files `<stem>.<anything else>` (`<stem>.tmp.zstd`, `<stem>.zip`, ...).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TempName {
    /// The shard being filled.
    pub(crate) shard: String,
    /// The room the fill reserved.
    pub(crate) size: u64,
    /// True for a scratch file, false for the temporary file itself.
    pub(crate) scratch: bool,
}

/// Splits a name made by [`Layout::temp_path`] (or a scratch name derived from one).
pub(crate) fn parse_temp(file: &str) -> Option<TempName> {
    let mut parts = file.splitn(4, '~');
    let shard = decode(parts.next()?)?;
    let size = parts.next()?.parse().ok()?;
    parts.next()?.parse::<u32>().ok()?;
    let (nonce, ext) = parts.next()?.split_once('.')?;
    if nonce.is_empty() || ext.is_empty() || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let scratch = ext != "tmp";
    Some(TempName {
        shard,
        size,
        scratch,
    })
}

/// Splits an entry name of the present index into shard name and size.
pub(crate) fn parse_present(file: &str) -> Option<(String, u64)> {
    let (enc, size) = file.rsplit_once('~')?;
    Some((decode(enc)?, size.parse().ok()?))
}

/// Opens (creating if needed) a lock file for reading and writing; writing is needed to
/// record access times on it.
pub(crate) fn open_lock(path: &Path) -> Result<File> {
    Ok(open_lock_new(path)?.0)
}

/// [`open_lock`], also saying whether this call created the file (the shard's first use).
pub(crate) fn open_lock_new(path: &Path) -> Result<(File, bool)> {
    let mut options = OpenOptions::new();
    options.read(true).write(true);
    match options.open(path) {
        Ok(f) => return Ok((f, false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io("open lock file", path)(e)),
    }
    let f = options
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(Error::io("open lock file", path))?;
    Ok((f, true))
}

/// Takes an exclusive lock if no one holds any lock on the file: `Ok(false)` if someone does.
pub(crate) fn try_exclusive(file: &File, path: &Path) -> Result<bool> {
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(e)) => Err(Error::io("lock", path)(e)),
    }
}

/// Takes a shared lock if no one holds an exclusive one: `Ok(false)` if someone does.
pub(crate) fn try_shared(file: &File, path: &Path) -> Result<bool> {
    match file.try_lock_shared() {
        Ok(()) => Ok(true),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(e)) => Err(Error::io("lock", path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_round_trips() {
        for name in ["shard.00000.mds", "a/b/c.mds", "100%~x/y", "%2F", "~"] {
            let e = encode(name);
            assert!(!e.contains('/') && !e.contains('~'), "{e}");
            assert_eq!(decode(&e).as_deref(), Some(name));
        }
        assert_eq!(decode("bad%zz"), None);
        assert_eq!(decode("cut%2"), None);
    }

    #[test]
    fn temp_names_parse() {
        let layout = Layout::new(Path::new("/c"));
        let p = layout.temp_path("d/x~y.mds", 42);
        let file = p.file_name().unwrap().to_str().unwrap();
        let name = |scratch| {
            Some(TempName {
                shard: "d/x~y.mds".to_owned(),
                size: 42,
                scratch,
            })
        };
        assert_eq!(parse_temp(file), name(false));
        assert_eq!(parse_temp(&format!("{file}.zstd")), name(true));
        assert_eq!(parse_temp(&format!("{file}.a~b")), name(true));
        assert_eq!(parse_temp("junk"), None);
        let entry = layout.present_path("d/x~y.mds", 7);
        let file = entry.file_name().unwrap().to_str().unwrap();
        assert_eq!(parse_present(file), Some(("d/x~y.mds".to_owned(), 7)));
        assert_eq!(parse_present("x~y"), None);
        assert_eq!(parse_temp("a~zz~1~2.tmp"), None);
        assert_eq!(parse_temp("a~1~x~2.tmp"), None);
        assert_eq!(parse_temp("a~1~1~2.tmpx").map(|t| t.scratch), Some(true));
        assert_eq!(parse_temp("a~1~1~2g.tmp"), None);
        assert_eq!(parse_temp("a~1~1~.tmp"), None);
        assert_eq!(parse_temp("a~1~1~2."), None);
        let zip = p.with_extension("zip");
        assert_eq!(
            parse_temp(zip.file_name().unwrap().to_str().unwrap()),
            name(true)
        );
    }

    #[test]
    fn names_are_validated() {
        for ok in ["s.mds", "part/s.mds", ".hidden", "a/.mds-cache"] {
            validate_name(ok).unwrap();
        }
        for bad in [
            "",
            "/abs",
            "../up",
            "a/../b",
            "./a",
            ".mds-cache/lock",
            "a/",
            "a\0b",
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }
}
