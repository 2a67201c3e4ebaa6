//! One process: hits, misses, failed fills, names, sizes, LRU order, pins, stale files.

use std::cell::Cell;
use std::fs;
use std::io;
use std::path::Path;
use std::time::Duration;

use mds_cache::{Cache, CacheConfig, Error};

use crate::util::{Shard, cached_files, check_content, content, make_source, temp_files};

/// A fill that copies `shard` from `src` and counts its calls.
fn copy_from<'a>(
    src: &'a Path,
    shard: &'a Shard,
    calls: &'a Cell<u32>,
) -> impl FnMut(&Path) -> io::Result<()> + 'a {
    move |tmp| {
        calls.set(calls.get() + 1);
        fs::copy(src.join(&shard.name), tmp).map(drop)
    }
}

fn limited(limit: u64) -> CacheConfig {
    CacheConfig {
        limit_bytes: Some(limit),
        space_wait_timeout: Some(Duration::ZERO),
        ..CacheConfig::default()
    }
}

#[test]
fn miss_fills_once_then_hits() {
    let t = tempfile::tempdir().unwrap();
    let shards = make_source(&t.path().join("src"), 1, 1000);
    let cache = Cache::open(&t.path().join("cache"), CacheConfig::default()).unwrap();
    let calls = Cell::new(0);
    let s = &shards[0];
    let pin = cache
        .get(&s.name, s.size, copy_from(&t.path().join("src"), s, &calls))
        .unwrap();
    assert!(pin.filled());
    assert_eq!(pin.path(), t.path().join("cache").join(&s.name));
    assert_eq!((pin.name(), pin.size_bytes()), (s.name.as_str(), s.size));
    check_content(pin.path(), s);
    let again = cache
        .get(&s.name, s.size, copy_from(&t.path().join("src"), s, &calls))
        .unwrap();
    assert!(!again.filled());
    assert_eq!(calls.get(), 1);
    assert!(cache.pin(&s.name, s.size).unwrap().is_some());
    assert!(cache.pin("other.mds", 5).unwrap().is_none());
    assert!(temp_files(cache.dir()).is_empty());
}

#[test]
fn shards_in_subdirectories() {
    let t = tempfile::tempdir().unwrap();
    let cache = Cache::open(t.path(), CacheConfig::default()).unwrap();
    let name = "part0/sub/shard.00000.mds";
    let pin = cache
        .get(name, 3, |tmp: &Path| fs::write(tmp, b"abc"))
        .unwrap();
    assert_eq!(fs::read(t.path().join(name)).unwrap(), b"abc");
    assert_eq!(pin.path(), t.path().join(name));
}

#[test]
fn failed_fill_leaves_nothing() {
    let t = tempfile::tempdir().unwrap();
    let cache = Cache::open(t.path(), CacheConfig::default()).unwrap();
    let err = cache
        .get("s.mds", 10, |tmp: &Path| {
            fs::write(tmp, b"part")?;
            Err(io::Error::other("network down"))
        })
        .unwrap_err();
    match &err {
        Error::Fill { shard, source } => {
            assert_eq!(shard, "s.mds");
            assert_eq!(source.to_string(), "network down");
        }
        other => panic!("{other:?}"),
    }
    assert!(cached_files(t.path()).is_empty());
    assert!(temp_files(t.path()).is_empty());
    // The next attempt is not blocked by the failed one.
    cache
        .get("s.mds", 4, |tmp: &Path| fs::write(tmp, b"full"))
        .unwrap();
}

#[test]
fn fill_of_wrong_size_is_discarded() {
    let t = tempfile::tempdir().unwrap();
    let cache = Cache::open(t.path(), CacheConfig::default()).unwrap();
    let err = cache
        .get("s.mds", 10, |tmp: &Path| fs::write(tmp, b"short"))
        .unwrap_err();
    assert!(
        matches!(err, Error::FillSize { ref shard, expected_bytes: 10, actual_bytes: 5 } if shard == "s.mds"),
        "{err:?}"
    );
    let err = cache
        .get("s.mds", 10, |_: &Path| Ok::<_, io::Error>(()))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::FillSize {
                actual_bytes: 0,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(cached_files(t.path()).is_empty());
    assert!(temp_files(t.path()).is_empty());
}

#[test]
fn panicking_fill_leaves_no_temp_file() {
    let t = tempfile::tempdir().unwrap();
    let cache = Cache::open(t.path(), CacheConfig::default()).unwrap();
    let r = std::panic::catch_unwind(|| {
        cache.get("s.mds", 3, |tmp: &Path| -> io::Result<()> {
            fs::write(tmp, b"ab")?;
            panic!("fill panicked");
        })
    });
    assert!(r.is_err());
    assert!(temp_files(t.path()).is_empty());
    assert!(cached_files(t.path()).is_empty());
    cache
        .get("s.mds", 3, |tmp: &Path| fs::write(tmp, b"abc"))
        .unwrap();
}

#[test]
fn limit_below_largest_shard_is_an_error_at_open() {
    let t = tempfile::tempdir().unwrap();
    let config = CacheConfig {
        limit_bytes: Some(99),
        max_shard_bytes: 100,
        ..CacheConfig::default()
    };
    let err = Cache::open(t.path(), config).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LimitTooSmall {
                limit_bytes: 99,
                max_shard_bytes: 100
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("cache_limit"), "{err}");

    let cache = Cache::open(t.path(), limited(99)).unwrap();
    let err = cache
        .get("big.mds", 100, |tmp: &Path| fs::write(tmp, [0; 100]))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::ShardTooLarge {
                size_bytes: 100,
                limit_bytes: 99,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn bad_names_are_rejected() {
    let t = tempfile::tempdir().unwrap();
    let cache = Cache::open(&t.path().join("c"), CacheConfig::default()).unwrap();
    for bad in [
        "",
        "../escape.mds",
        "/etc/passwd",
        ".mds-cache/lock",
        "a/./b",
    ] {
        let err = cache
            .get(bad, 1, |tmp: &Path| fs::write(tmp, b"x"))
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidName { ref shard, .. } if shard == bad),
            "{bad:?}: {err:?}"
        );
    }
    assert!(!t.path().join("escape.mds").exists());
}

#[test]
fn stale_file_of_another_size_is_replaced_unless_pinned() {
    let t = tempfile::tempdir().unwrap();
    let cache = Cache::open(t.path(), CacheConfig::default()).unwrap();
    let old = cache
        .get("s.mds", 3, |tmp: &Path| fs::write(tmp, b"old"))
        .unwrap();
    let err = cache
        .get("s.mds", 5, |tmp: &Path| fs::write(tmp, b"newer"))
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::SizeMismatch {
                expected_bytes: 5,
                found_bytes: 3,
                ..
            }
        ),
        "{err:?}"
    );
    drop(old);
    let new = cache
        .get("s.mds", 5, |tmp: &Path| fs::write(tmp, b"newer"))
        .unwrap();
    assert!(new.filled());
    assert_eq!(fs::read(new.path()).unwrap(), b"newer");
}

#[test]
fn evicts_least_recently_used_unpinned() {
    let t = tempfile::tempdir().unwrap();
    let cache = Cache::open(t.path(), limited(300)).unwrap();
    let put = |name: &str| {
        cache
            .get(name, 100, |tmp: &Path| fs::write(tmp, [1; 100]))
            .unwrap()
    };
    drop(put("a"));
    drop(put("b"));
    drop(put("c"));
    drop(put("a")); // a hit: now b is the oldest
    drop(put("d"));
    let left: Vec<_> = ["a", "b", "c", "d"]
        .into_iter()
        .filter(|n| t.path().join(n).exists())
        .collect();
    assert_eq!(left, ["a", "c", "d"]);
    assert_eq!(cache.usage().unwrap().cached_bytes, 300);
}

#[test]
fn pinned_shard_is_never_evicted() {
    let t = tempfile::tempdir().unwrap();
    let cache = Cache::open(t.path(), limited(250)).unwrap();
    let put = |name: &str| cache.get(name, 100, |tmp: &Path| fs::write(tmp, [7; 100]));
    let a = put("a").unwrap();
    for i in 0..10 {
        drop(put(&format!("x{i}")).unwrap());
        assert!(a.path().exists(), "pinned shard evicted at step {i}");
        assert!(cache.usage().unwrap().total_bytes() <= 250);
    }
    assert!(!cache.evict("a").unwrap());
    assert!(cache.evict("x9").unwrap());
    assert!(!cache.evict("x9").unwrap());
    assert!(!cache.evict("never-seen").unwrap());
    drop(a);
    assert!(cache.evict("a").unwrap());
}

#[test]
fn full_of_pins_overshoots_by_one_shard_then_fails_clearly() {
    let t = tempfile::tempdir().unwrap();
    let cache = Cache::open(t.path(), limited(200)).unwrap();
    let put = |name: &str| cache.get(name, 100, |tmp: &Path| fs::write(tmp, [3; 100]));
    let _a = put("a").unwrap();
    let _b = put("b").unwrap();
    // Usage is at the limit and everything is pinned: one more shard is admitted...
    let _c = put("c").unwrap();
    assert_eq!(cache.usage().unwrap().total_bytes(), 300);
    // ...but not two.
    let err = put("d").unwrap_err();
    assert!(err.is_cache_full(), "{err:?}");
    match err {
        Error::CacheFull {
            shard,
            needed_bytes,
            used_bytes,
            limit_bytes,
            pinned_shards,
            ..
        } => {
            assert_eq!(
                (shard.as_str(), needed_bytes, used_bytes, limit_bytes),
                ("d", 100, 300, 200)
            );
            assert_eq!(pinned_shards, 3);
        }
        other => panic!("{other:?}"),
    }
    assert!(!t.path().join("d").exists());
    assert!(temp_files(t.path()).is_empty());
}

#[test]
fn waits_for_another_thread_to_release_a_pin() {
    let t = tempfile::tempdir().unwrap();
    let config = CacheConfig {
        limit_bytes: Some(200),
        space_wait_timeout: None,
        ..CacheConfig::default()
    };
    let cache = Cache::open(t.path(), config).unwrap();
    let put = |name: &str| cache.get(name, 100, |tmp: &Path| fs::write(tmp, [5; 100]));
    let pins = vec![put("a").unwrap(), put("b").unwrap(), put("c").unwrap()];
    std::thread::scope(|s| {
        let waiter = s.spawn(|| put("d").map(|p| p.filled()));
        // The waiter either already waits on a pin or has not started: both must succeed.
        drop(pins);
        assert!(waiter.join().unwrap().unwrap());
    });
    assert!(cache.usage().unwrap().total_bytes() <= 200);
}

#[test]
fn open_removes_temp_files_of_dead_fills() {
    let t = tempfile::tempdir().unwrap();
    drop(Cache::open(t.path(), CacheConfig::default()).unwrap());
    let meta = t.path().join(".mds-cache");
    // A dead fill: its shard's lock file exists but nobody holds it.
    fs::write(meta.join("shards/s.mds.lock"), b"").unwrap();
    fs::write(meta.join("tmp/s.mds~100~1~1.tmp"), [0; 40]).unwrap();
    // Junk, and a fill of a shard without a lock file.
    fs::write(meta.join("tmp/junk"), b"").unwrap();
    fs::write(meta.join("tmp/t.mds~5~1~1.tmp"), b"").unwrap();
    let cache = Cache::open(t.path(), CacheConfig::default()).unwrap();
    assert!(temp_files(t.path()).is_empty());
    assert_eq!(cache.usage().unwrap(), mds_cache::Usage::default());
}

#[test]
fn a_live_fill_is_counted_and_kept() {
    let t = tempfile::tempdir().unwrap();
    let cache = Cache::open(t.path(), limited(1000)).unwrap();
    cache
        .get("s.mds", 300, |tmp: &Path| {
            // Another handle on the same directory sees the fill in progress.
            let other = Cache::open(t.path(), CacheConfig::default()).unwrap();
            let u = other.usage().unwrap();
            assert_eq!(
                (u.filling_shards, u.filling_bytes, u.cached_shards),
                (1, 300, 0)
            );
            assert_eq!(temp_files(t.path()), [tmp.to_path_buf()]);
            fs::write(tmp, content("s.mds", 300))
        })
        .unwrap();
    let u = cache.usage().unwrap();
    assert_eq!(
        (u.filling_shards, u.cached_shards, u.cached_bytes),
        (0, 1, 300)
    );
}

#[test]
fn fill_may_get_another_shard() {
    // The keep_zip flow: the raw shard's fill gets the compressed form through the cache.
    let t = tempfile::tempdir().unwrap();
    let cache = Cache::open(t.path(), limited(100)).unwrap();
    let raw = cache
        .get("s.mds", 6, |tmp: &Path| -> Result<(), mds_cache::Error> {
            let zip = cache.get("s.mds.zstd", 3, |z: &Path| fs::write(z, b"zip"))?;
            let packed = fs::read(zip.path()).unwrap();
            fs::write(tmp, [packed.as_slice(), b"raw"].concat()).unwrap();
            Ok(())
        })
        .unwrap();
    assert_eq!(fs::read(raw.path()).unwrap(), b"zipraw");
    assert!(t.path().join("s.mds.zstd").exists());
}

#[test]
fn scratch_files_count_while_filling_and_go_away() {
    // The decompression flow: download the compressed form to a scratch file next to the
    // temporary path, decompress into the temporary path, keep the zip through the cache.
    let t = tempfile::tempdir().unwrap();
    let cache = Cache::open(t.path(), limited(1000)).unwrap();
    let raw = cache
        .get("s.mds", 6, |tmp: &Path| -> Result<(), mds_cache::Error> {
            let zip = tmp.with_extension("zstd");
            fs::write(&zip, b"zip").unwrap();
            fs::write(format!("{}.part", tmp.display()), b"12345").unwrap();
            // A scan by another handle keeps the live scratch files and counts them.
            let u = Cache::open(t.path(), CacheConfig::default())
                .unwrap()
                .usage()
                .unwrap();
            assert_eq!((u.filling_shards, u.filling_bytes), (1, 6 + 3 + 5));
            assert!(zip.exists());
            fs::write(tmp, b"rawraw").unwrap();
            cache.get("s.mds.zstd", 3, |z: &Path| fs::rename(&zip, z))?;
            Ok(())
        })
        .unwrap();
    assert_eq!(fs::read(raw.path()).unwrap(), b"rawraw");
    assert_eq!(fs::read(t.path().join("s.mds.zstd")).unwrap(), b"zip");
    assert!(
        temp_files(t.path()).is_empty(),
        "{:?}",
        temp_files(t.path())
    );
    assert_eq!(cache.usage().unwrap().cached_bytes, 9);
}

#[test]
fn handles_move_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Cache>();
    send_sync::<mds_cache::Pin>();
    send_sync::<Error>();
}

#[test]
fn shards_found_in_place_are_adopted_and_evictable() {
    let t = tempfile::tempdir().unwrap();
    fs::write(t.path().join("old.mds"), [1; 100]).unwrap();
    let cache = Cache::open(t.path(), limited(150)).unwrap();
    let old = cache
        .get("old.mds", 100, |_: &Path| {
            Err(io::Error::other("must not fill"))
        })
        .unwrap();
    assert!(!old.filled());
    assert_eq!(cache.usage().unwrap().cached_bytes, 100);
    drop(old);
    // Counted, so it makes room for the next shard.
    cache
        .get("new.mds", 100, |tmp: &Path| fs::write(tmp, [2; 100]))
        .unwrap();
    assert!(!t.path().join("old.mds").exists());
    assert_eq!(cache.usage().unwrap().cached_bytes, 100);
}

#[test]
fn a_get_inside_a_fill_does_not_wait_for_that_fill() {
    // Fills nested two deep: the outer two reserve 100 + 100 of 150 bytes (the second is the
    // one shard of overshoot); the innermost cannot fit and could only wait for the fills it
    // is called from: a clear error at once, even with no wait timeout, not a stalled wait.
    let t = tempfile::tempdir().unwrap();
    let config = CacheConfig {
        limit_bytes: Some(150),
        space_wait_timeout: None,
        ..CacheConfig::default()
    };
    let cache = Cache::open(t.path(), config).unwrap();
    let err = cache
        .get("s.mds", 100, |_: &Path| -> Result<(), Error> {
            cache
                .get("a.mds", 100, |_: &Path| -> Result<(), Error> {
                    cache
                        .get("b.mds", 10, |z: &Path| fs::write(z, [0; 10]))
                        .map(drop)
                })
                .map(drop)
        })
        .unwrap_err();
    let Error::Fill { source, .. } = err else {
        panic!("{err:?}")
    };
    let Some(Error::Fill { source, .. }) = source.downcast_ref::<Error>() else {
        panic!("{source:?}")
    };
    let inner = source.downcast_ref::<Error>().unwrap();
    assert!(inner.is_cache_full(), "{inner:?}");
    assert!(temp_files(t.path()).is_empty());
}

/// Runs `f` on a thread and fails the test if it has not returned within `secs`, instead of
/// hanging the suite.
fn within<T: Send + 'static>(secs: u64, what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .unwrap_or_else(|e| panic!("{what}: still blocked after {secs} s ({e})"))
}

#[test]
fn a_get_never_waits_for_pins_of_a_shard_it_must_fill() {
    // A pinned shard whose file is gone (deleted by hand from `local` mid-epoch) must be
    // filled again at once: waiting for the pin would wait for a reader that may be idle.
    let t = tempfile::tempdir().unwrap();
    let cache = Cache::open(t.path(), CacheConfig::default()).unwrap();
    let put = |c: &Cache| c.get("a", 100, |tmp: &Path| fs::write(tmp, [7; 100]));
    let held = put(&cache).unwrap();
    fs::remove_file(held.path()).unwrap();
    let c = cache.clone();
    let again = within(20, "get of a deleted, pinned shard", move || {
        put(&c).map(|p| (p.filled(), fs::read(p.path()).unwrap()))
    })
    .unwrap();
    assert_eq!(again, (true, vec![7; 100]));
    drop(held);
    assert_eq!(cache.usage().unwrap().cached_shards, 1);
}

#[test]
fn a_waiter_for_a_fill_does_not_wait_for_the_fillers_pin() {
    // Two readers of one shard: the first fills it and keeps it pinned (its consumer idle);
    // the second, queued behind the fill, gets the shard as soon as the fill is done.
    let t = tempfile::tempdir().unwrap();
    let cache = Cache::open(t.path(), CacheConfig::default()).unwrap();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let c = cache.clone();
    let filler = std::thread::spawn(move || {
        c.get("a", 100, |tmp: &Path| {
            let _ = started_tx.send(());
            let _ = go_rx.recv();
            fs::write(tmp, [3; 100])
        })
    });
    started_rx.recv().unwrap();
    let c = cache.clone();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(c.get("a", 100, |_: &Path| -> io::Result<()> {
            panic!("the second reader must not fill")
        }));
    });
    std::thread::sleep(Duration::from_millis(100)); // let it queue behind the fill
    drop(go_tx);
    let first = filler.join().unwrap().unwrap();
    let second = done_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the second reader waited for the first one's pin")
        .unwrap();
    assert!(first.filled() && !second.filled());
    drop((first, second));
}

#[test]
fn a_directory_serves_one_source_at_a_time() {
    use mds_cache::Claim;
    let t = tempfile::tempdir().unwrap();
    let a1 = Claim::acquire(t.path(), "s3://bucket/a").unwrap();
    let a2 = Claim::acquire(t.path(), "s3://bucket/a").unwrap();
    let err = Claim::acquire(t.path(), "s3://bucket/b").unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Claimed { .. }), "{err:?}");
    assert!(
        text.starts_with("Reused local directory") && text.contains("s3://bucket/a"),
        "{text}"
    );
    drop((a1, a2));
    let _b = Claim::acquire(t.path(), "s3://bucket/b").unwrap();
    assert!(Claim::acquire(t.path(), "s3://bucket/a").is_err());
}

#[test]
fn a_directory_that_served_another_source_is_cleared_once() {
    use mds_cache::Claim;
    let t = tempfile::tempdir().unwrap();
    let cache = Cache::open(t.path(), CacheConfig::default()).unwrap();
    drop(
        cache
            .get("shard.00000.mds", 10, |tmp: &Path| fs::write(tmp, [1; 10]))
            .unwrap(),
    );
    let calls = std::cell::RefCell::new(Vec::new());
    let clear = |prev: &str| {
        calls.borrow_mut().push(prev.to_owned());
        cache.clear().map(drop)
    };
    drop(Claim::acquire_with(t.path(), "s3://b/a", clear).unwrap()); // first use: nothing to clear
    drop(Claim::acquire_with(t.path(), "s3://b/a", clear).unwrap()); // same source
    assert!(calls.borrow().is_empty());
    assert_eq!(cache.usage().unwrap().cached_shards, 1);
    drop(Claim::acquire_with(t.path(), "s3://b/other", clear).unwrap());
    assert_eq!(*calls.borrow(), ["s3://b/a"]);
    assert_eq!(cache.usage().unwrap().cached_shards, 0);
    assert!(!t.path().join("shard.00000.mds").exists());
}
