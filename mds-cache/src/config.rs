//! Cache parameters and the reference's human-readable byte sizes.

use std::time::Duration;

use crate::error::{Error, Result};

/// Parameters of a [`Cache`](crate::Cache). Plain data: build it with struct syntax and
/// `..CacheConfig::default()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    /// Most bytes of shards the directory may hold (the reference's `cache_limit`); `None`
    /// means no limit and no eviction. Only shards obtained through the cache count (not
    /// `index.json` or other files). Fills in progress count with their declared size. The
    /// limit is exceeded by at most one shard, and only while every other cached shard is
    /// pinned (see the crate docs).
    pub limit_bytes: Option<u64>,
    /// Size of the largest shard the caller will ask for. [`Cache::open`](crate::Cache::open)
    /// fails with [`Error::LimitTooSmall`] when `limit_bytes` is below it, instead of hanging
    /// later. `0` skips the check (each `get` still rejects a shard larger than the limit).
    pub max_shard_bytes: u64,
    /// How long a `get` may wait for other processes (or threads) to release pins when the
    /// cache is full of pinned shards, before failing with [`Error::CacheFull`]. `Some(ZERO)`
    /// fails at once; `None` waits as long as it takes.
    pub space_wait_timeout: Option<Duration>,
}

impl Default for CacheConfig {
    /// No limit, no shard-size check, and a 10 minute wait for space.
    fn default() -> Self {
        CacheConfig {
            limit_bytes: None,
            max_shard_bytes: 0,
            space_wait_timeout: Some(Duration::from_secs(600)),
        }
    }
}

/// Byte-size suffixes and their powers of 1024, in the order the reference tries them.
const UNITS: [(&str, i32); 8] = [
    ("kb", 1),
    ("mb", 2),
    ("gb", 3),
    ("tb", 4),
    ("pb", 5),
    ("eb", 6),
    ("zb", 7),
    ("yb", 8),
];

/// Parses a byte count the way the reference's `streaming.base.util.bytes_to_int` parses a
/// string (spec/reference.md §18.3), e.g. for `cache_limit`.
///
/// The text is lower-cased and trimmed. `kb`, `mb`, `gb`, `tb`, `pb`, `eb`, `zb` and `yb`
/// multiply by 1024¹ … 1024⁸; the number before them may be fractional or use exponent,
/// underscore or `inf`/`nan` spellings as Python's `float()` reads them, and the product is
/// computed in `f64` and truncated toward zero, exactly as the reference does
/// (`"1.5kb"` = 1536, `"1.1gb"` = 1181116006). A bare `b` suffix needs a number made of
/// digits only (`"123b"`; `"1.5b"` is rejected), and a string of digits alone is bytes.
///
/// Differences, all of them rejections of what the reference would pass on to its caller:
/// negative results (the reference returns them and its callers then fail), values of 2⁶⁴ or
/// more, infinities and NaN. Only ASCII digits count as digits.
///
/// # Errors
/// [`Error::ParseBytes`] naming the text and the reason.
pub fn parse_bytes(text: &str) -> Result<u64> {
    let fail = |reason| Error::ParseBytes {
        value: text.to_owned(),
        reason,
    };
    let s = text.to_lowercase();
    let s = s.trim();
    for (suffix, power) in UNITS {
        if let Some(number) = s.strip_suffix(suffix) {
            let value =
                parse_py_float(number).ok_or_else(|| fail("not a number before the suffix"))?;
            // A power of two scales an f64 exactly, so this equals Python's float product.
            return float_to_bytes(value * 1024f64.powi(power)).map_err(fail);
        }
    }
    let digits = s.strip_suffix('b').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(fail(
            "expected digits, optionally followed by a size suffix",
        ));
    }
    digits
        .parse::<u64>()
        .map_err(|_| fail("2^64 bytes or more"))
}

/// Python's `float(text)` for ASCII input: surrounding whitespace and single underscores
/// between digits are allowed.
fn parse_py_float(text: &str) -> Option<f64> {
    let t = text.trim();
    let bytes = t.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'_' {
            let before = i.checked_sub(1).and_then(|j| bytes.get(j));
            let after = bytes.get(i + 1);
            if !(before.is_some_and(u8::is_ascii_digit) && after.is_some_and(u8::is_ascii_digit)) {
                return None;
            }
        }
    }
    t.replace('_', "").parse::<f64>().ok()
}

/// Python's `int(x)` for a float, restricted to what fits a `u64`.
fn float_to_bytes(x: f64) -> std::result::Result<u64, &'static str> {
    if x.is_nan() {
        return Err("not a number");
    }
    if x.is_infinite() {
        return Err("infinite");
    }
    let t = x.trunc();
    if t < 0.0 {
        return Err("negative");
    }
    if t >= 18_446_744_073_709_551_616.0 {
        return Err("2^64 bytes or more");
    }
    // Checked above: `t` is an integer in [0, 2^64), so the cast is exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(t as u64)
}
