//! Real processes sharing one cache directory: limits, one fill per shard, kill -9.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use mds_cache::{Cache, CacheConfig};

use crate::util::{
    Shard, assert_success, cached_files, check_content, make_source, make_uniform_source,
    read_source, spawn_child, temp_files, wait_for_line,
};

fn env(key: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| panic!("child needs {key}"))
}

fn env_u64(key: &str) -> u64 {
    env(key).parse().unwrap()
}

/// The cache as children open it: `MDS_T_LIMIT` (0 = none), `MDS_T_MAX`.
fn child_cache() -> Cache {
    let limit = env_u64("MDS_T_LIMIT");
    let config = CacheConfig {
        limit_bytes: (limit > 0).then_some(limit),
        max_shard_bytes: env_u64("MDS_T_MAX"),
        // Generous: only a bug makes a child wait this long, and then it fails loudly.
        space_wait_timeout: Some(Duration::from_secs(300)),
    };
    Cache::open(env("MDS_T_DIR").as_ref(), config).unwrap()
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").unwrap();
    out.flush().unwrap();
}

fn block_until_stdin_closes() {
    let mut sink = Vec::new();
    std::io::stdin().read_to_end(&mut sink).unwrap();
}

fn find(shards: &[Shard], name: &str) -> Shard {
    shards.iter().find(|s| s.name == name).unwrap().clone()
}

/// Runs the child role `role` (see each arm).
pub(crate) fn run_child(role: &str) {
    let src = PathBuf::from(env("MDS_T_SRC"));
    let shards = read_source(&src);
    let cache = child_cache();
    match role {
        // Reads every shard once, starting at MDS_T_START, checking the limit and fills.
        "reader" => reader(&cache, &src, &shards, env_u64("MDS_T_START")),
        // Fills MDS_T_SHARD half way, says `@@FILLING <temp path>`, then waits for stdin to
        // close before finishing (the parent may kill it instead).
        "blocked-fill" => {
            let s = find(&shards, &env("MDS_T_SHARD"));
            let pin = cache
                .get(&s.name, s.size, |tmp: &Path| {
                    let bytes = fs::read(src.join(&s.name))?;
                    let mut f = File::create(tmp)?;
                    f.write_all(&bytes[..bytes.len() / 2])?;
                    f.flush()?;
                    say(&format!("@@FILLING {}", tmp.display()));
                    block_until_stdin_closes();
                    f.write_all(&bytes[bytes.len() / 2..])
                })
                .unwrap();
            check_content(pin.path(), &s);
            say(&format!("@@DONE {}", pin.filled()));
        }
        // Gets MDS_T_SHARD (filling it from the source if needed) and says `@@GOT <filled>`.
        "getter" => {
            let s = find(&shards, &env("MDS_T_SHARD"));
            let pin = cache
                .get(&s.name, s.size, |tmp: &Path| {
                    fs::copy(src.join(&s.name), tmp).map(drop)
                })
                .unwrap();
            check_content(pin.path(), &s);
            say(&format!("@@GOT {}", pin.filled()));
        }
        // Gets MDS_T_SHARD, says `@@PINNED`, and holds the pin until stdin closes.
        "pinner" => {
            let s = find(&shards, &env("MDS_T_SHARD"));
            let pin = cache
                .get(&s.name, s.size, |tmp: &Path| {
                    fs::copy(src.join(&s.name), tmp).map(drop)
                })
                .unwrap();
            say("@@PINNED");
            block_until_stdin_closes();
            drop(pin);
        }
        // Reads the shards round and round (a small limit makes it evict all the time),
        // saying `@@READ` after each, until killed.
        "churn" => loop {
            for s in &shards {
                let pin = cache
                    .get(&s.name, s.size, |tmp: &Path| {
                        fs::copy(src.join(&s.name), tmp).map(drop)
                    })
                    .unwrap();
                check_content(pin.path(), s);
                drop(pin);
                say("@@READ");
            }
        },
        other => panic!("unknown child role {other}"),
    }
}

fn reader(cache: &Cache, src: &Path, shards: &[Shard], start: u64) {
    let limit = cache.config().limit_bytes.unwrap_or(u64::MAX);
    let slack = cache.config().max_shard_bytes;
    let log = PathBuf::from(env("MDS_T_LOG"));
    let start = usize::try_from(start).unwrap();
    let mut read = 0;
    for i in 0..shards.len() {
        let s = &shards[(start + i) % shards.len()];
        let final_path = cache.dir().join(&s.name);
        let pin = cache
            .get(&s.name, s.size, |tmp: &Path| -> std::io::Result<()> {
                // A fill happens only while the shard is not cached, and never twice at once.
                assert!(!final_path.exists(), "{} filled while cached", s.name);
                let marker = log.join("inflight").join(&s.name);
                File::create_new(&marker)
                    .unwrap_or_else(|e| panic!("{} filled twice at once: {e}", s.name));
                fs::copy(src.join(&s.name), tmp)?;
                let used = cache.usage().unwrap().total_bytes();
                assert!(
                    used <= limit + slack,
                    "usage {used} > limit {limit} + one shard {slack}"
                );
                let mut f = OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(log.join("fills.log"))?;
                f.write_all(format!("{}\n", s.name).as_bytes())?;
                fs::remove_file(marker)
            })
            .unwrap();
        check_content(pin.path(), s);
        let used = cache.usage().unwrap().total_bytes();
        assert!(
            used <= limit + slack,
            "usage {used} > limit {limit} + one shard {slack}"
        );
        read += 1;
        drop(pin);
    }
    assert_eq!(read, shards.len());
}

/// Environment for children: cache `dir`, source `src`, limit (0 = none), largest shard.
fn envs(dir: &Path, src: &Path, limit: u64, max: u64) -> Vec<(&'static str, String)> {
    vec![
        ("MDS_T_DIR", dir.display().to_string()),
        ("MDS_T_SRC", src.display().to_string()),
        ("MDS_T_LIMIT", limit.to_string()),
        ("MDS_T_MAX", max.to_string()),
    ]
}

fn with(
    mut envs: Vec<(&'static str, String)>,
    key: &'static str,
    value: &dyn std::fmt::Display,
) -> Vec<(&'static str, String)> {
    envs.push((key, value.to_string()));
    envs
}

#[test]
fn four_processes_share_a_cache_a_third_of_the_dataset() {
    let t = tempfile::tempdir().unwrap();
    let (src, dir, log) = (
        t.path().join("src"),
        t.path().join("cache"),
        t.path().join("log"),
    );
    fs::create_dir_all(log.join("inflight")).unwrap();
    let shards = make_source(&src, 12, 20_000);
    let total: u64 = shards.iter().map(|s| s.size).sum();
    let max = shards.iter().map(|s| s.size).max().unwrap();
    let limit = total / 3;
    assert!(limit >= max);
    let base = with(envs(&dir, &src, limit, max), "MDS_T_LOG", &log.display());
    let mut children: Vec<_> = (0..4)
        .map(|k| spawn_child("reader", &with(base.clone(), "MDS_T_START", &(k * 3))))
        .collect();
    for (k, c) in children.iter_mut().enumerate() {
        assert_success(c, &format!("reader {k}"));
    }
    // Every shard was filled at least once; each fill happened while it was not cached.
    let fills = fs::read_to_string(log.join("fills.log")).unwrap();
    for s in &shards {
        assert!(
            fills.lines().any(|l| l == s.name),
            "{} never filled",
            s.name
        );
    }
    assert!(fills.lines().count() <= 4 * shards.len());
    // What is left is within the limit (plus one shard) and intact.
    let left = cached_files(&dir);
    assert!(left.iter().map(|(_, n)| n).sum::<u64>() <= limit + max);
    for (path, _) in &left {
        let name = path.file_name().unwrap().to_str().unwrap();
        check_content(path, shards.iter().find(|s| s.name == name).unwrap());
    }
    assert!(temp_files(&dir).is_empty());
}

#[test]
fn one_process_fills_while_others_wait() {
    let t = tempfile::tempdir().unwrap();
    let (src, dir) = (t.path().join("src"), t.path().join("cache"));
    let shards = make_source(&src, 2, 50_000);
    let base = with(envs(&dir, &src, 0, 0), "MDS_T_SHARD", &shards[0].name);
    let mut filler = spawn_child("blocked-fill", &base);
    let mut out = BufReader::new(filler.stdout.take().unwrap());
    wait_for_line(&mut out, "@@FILLING");
    let mut getters: Vec<_> = (0..2).map(|_| spawn_child("getter", &base)).collect();
    // Let the fill finish: the getters find the shard cached (whether or not they had
    // started waiting yet) and never fill it themselves.
    drop(filler.stdin.take());
    assert_eq!(wait_for_line(&mut out, "@@DONE"), "true");
    assert_success(&mut filler, "filler");
    for g in &mut getters {
        let mut out = BufReader::new(g.stdout.take().unwrap());
        assert_eq!(wait_for_line(&mut out, "@@GOT"), "false");
        assert_success(g, "getter");
    }
}

#[test]
fn kill_9_mid_fill_then_a_waiter_and_a_rerun_complete() {
    let t = tempfile::tempdir().unwrap();
    let (src, dir, log) = (
        t.path().join("src"),
        t.path().join("cache"),
        t.path().join("log"),
    );
    fs::create_dir_all(log.join("inflight")).unwrap();
    let shards = make_source(&src, 6, 30_000);
    let max = shards.iter().map(|s| s.size).max().unwrap();
    let limit = 3 * max;
    let base = envs(&dir, &src, limit, max);
    let mut filler = spawn_child(
        "blocked-fill",
        &with(base.clone(), "MDS_T_SHARD", &shards[0].name),
    );
    let mut out = BufReader::new(filler.stdout.take().unwrap());
    let temp = PathBuf::from(wait_for_line(&mut out, "@@FILLING"));
    assert!(temp.exists());
    let mut waiter = spawn_child(
        "getter",
        &with(base.clone(), "MDS_T_SHARD", &shards[0].name),
    );
    filler.kill().unwrap(); // SIGKILL, with half the shard written
    filler.wait().unwrap();
    // The partial file never got the final name; the waiter takes over the fill.
    let mut wout = BufReader::new(waiter.stdout.take().unwrap());
    assert_eq!(wait_for_line(&mut wout, "@@GOT"), "true");
    assert_success(&mut waiter, "waiter");
    assert!(
        !temp.exists(),
        "the dead fill's temporary file is still there"
    );
    check_content(&dir.join(&shards[0].name), &shards[0]);

    // Kill another fill with nobody waiting; a rerun reads everything with no cleanup step.
    let mut filler = spawn_child(
        "blocked-fill",
        &with(base.clone(), "MDS_T_SHARD", &shards[1].name),
    );
    let mut out = BufReader::new(filler.stdout.take().unwrap());
    let temp = PathBuf::from(wait_for_line(&mut out, "@@FILLING"));
    filler.kill().unwrap();
    filler.wait().unwrap();
    assert!(temp.exists() && !dir.join(&shards[1].name).exists());
    let mut rerun = spawn_child(
        "reader",
        &with(with(base, "MDS_T_LOG", &log.display()), "MDS_T_START", &1),
    );
    assert_success(&mut rerun, "rerun");
    assert!(temp_files(&dir).is_empty());
    for (path, _) in cached_files(&dir) {
        let name = path.file_name().unwrap().to_str().unwrap();
        check_content(&path, shards.iter().find(|s| s.name == name).unwrap());
    }
}

#[test]
fn pins_of_another_process_hold_until_it_is_killed() {
    let t = tempfile::tempdir().unwrap();
    let (src, dir) = (t.path().join("src"), t.path().join("cache"));
    let shards = make_uniform_source(&src, 5, 1000);
    let mut pinner = spawn_child(
        "pinner",
        &with(envs(&dir, &src, 0, 0), "MDS_T_SHARD", &shards[0].name),
    );
    let mut out = BufReader::new(pinner.stdout.take().unwrap());
    wait_for_line(&mut out, "@@PINNED");
    let config = CacheConfig {
        limit_bytes: Some(2000),
        max_shard_bytes: 1000,
        space_wait_timeout: Some(Duration::ZERO),
    };
    let cache = Cache::open(&dir, config).unwrap();
    let get = |s: &Shard| {
        cache.get(&s.name, s.size, |tmp: &Path| {
            fs::copy(src.join(&s.name), tmp).map(drop)
        })
    };
    let held_there = dir.join(&shards[0].name);
    for s in &shards[1..] {
        drop(get(s).unwrap());
        check_content(&held_there, &shards[0]);
    }
    // Shard 0 pinned over there, 1 and 2 here: 2 is the one shard of overshoot, 3 has no room.
    let _one = get(&shards[1]).unwrap();
    let _two = get(&shards[2]).unwrap();
    let err = get(&shards[3]).unwrap_err();
    assert!(err.is_cache_full(), "{err:?}");
    check_content(&held_there, &shards[0]);
    // kill -9 drops the pin: shard 0 becomes the one to evict.
    pinner.kill().unwrap();
    pinner.wait().unwrap();
    let three = get(&shards[3]).unwrap();
    check_content(three.path(), &shards[3]);
    assert!(!held_there.exists());
}

#[test]
fn kill_9_at_arbitrary_moments_of_churn_then_a_rerun_completes() {
    // Two processes read round and round with room for two shards, so every get evicts and
    // fills; one is killed after a varying number of reads, landing anywhere in a get
    // (scan, eviction, fill, rename, pin). The survivor keeps going; a rerun completes.
    let t = tempfile::tempdir().unwrap();
    let (src, dir, log) = (
        t.path().join("src"),
        t.path().join("cache"),
        t.path().join("log"),
    );
    fs::create_dir_all(log.join("inflight")).unwrap();
    let shards = make_source(&src, 5, 8_000);
    let max = shards.iter().map(|s| s.size).max().unwrap();
    let base = envs(&dir, &src, 2 * max, max);
    let mut survivor = spawn_child("churn", &base);
    let mut sout = BufReader::new(survivor.stdout.take().unwrap());
    for round in 0..6 {
        let mut victim = spawn_child("churn", &base);
        let mut out = BufReader::new(victim.stdout.take().unwrap());
        for _ in 0..=(round * 3) {
            wait_for_line(&mut out, "@@READ");
        }
        victim.kill().unwrap();
        victim.wait().unwrap();
        // The survivor is not blocked by anything the victim left.
        for _ in 0..shards.len() {
            wait_for_line(&mut sout, "@@READ");
        }
    }
    survivor.kill().unwrap();
    survivor.wait().unwrap();
    let mut rerun = spawn_child(
        "reader",
        &with(with(base, "MDS_T_LOG", &log.display()), "MDS_T_START", &0),
    );
    assert_success(&mut rerun, "rerun");
    assert!(temp_files(&dir).is_empty());
    for (path, _) in cached_files(&dir) {
        let name = path.file_name().unwrap().to_str().unwrap();
        check_content(&path, shards.iter().find(|s| s.name == name).unwrap());
    }
}
