//! Parameter enums and the reference's human-readable number formats (reference §10.2, §18.3).

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

macro_rules! name_enum {
    ($(#[$m:meta])* $name:ident, $param:literal, { $($(#[$vm:meta])* $var:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $var),+ }

        impl $name {
            /// The reference's spelling.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$var => $s),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                match s {
                    $($s => Ok(Self::$var),)+
                    _ => Err(Error::param($param, format!(
                        "invalid {}: {s:?} (expected one of: {})", $param, [$($s),+].join(", ")))),
                }
            }
        }
    };
}

name_enum!(
    /// How per-stream sample counts are drawn each epoch (reference §11.3).
    SamplingMethod, "sampling_method", {
        /// Redraw partial repeats every epoch (the default).
        Balanced => "balanced",
        /// Keep the same sub-sample every epoch.
        Fixed => "fixed",
    }
);

name_enum!(
    /// How samples of different streams are grouped into batches (reference §15).
    BatchingMethod, "batching_method", {
        /// Batches mix streams at random in proportion to their sizes (the default).
        Random => "random",
        /// Every global batch holds a fixed number of samples from each stream.
        Stratified => "stratified",
        /// Every global batch comes from one stream.
        PerStream => "per_stream",
        /// Every device batch comes from one stream.
        DevicePerStream => "device_per_stream",
    }
);

name_enum!(
    /// Partition algorithm (shuffle.md §C).
    PartitionAlgo, "partition_algo", {
        /// Physical and canonical node counts must divide one another.
        Orig => "orig",
        /// `orig`, plus elastic resumption onto incompatible node counts (the default).
        Relaxed => "relaxed",
    }
);

name_enum!(
    /// Shuffle algorithm (shuffle.md §B).
    ShuffleAlgo, "shuffle_algo", {
        /// One global permutation.
        Naive => "naive",
        /// Fixed-size blocks within each canonical node.
        Py1b => "py1b",
        /// Shard shuffle then per-shard sample shuffle.
        Py1s => "py1s",
        /// Two-level shard shuffle with fixed per-shard order.
        Py2s => "py2s",
        /// Blocks of random size within each canonical node.
        Py1br => "py1br",
        /// Expanded windows within each canonical node (the default).
        Py1e => "py1e",
    }
);

/// Parses a byte count the way the reference's `bytes_to_int` does: a plain integer, or a
/// number with a binary suffix `kb`…`yb` (1024-based, fraction truncated), or digits with `b`.
/// The parser is [`mds_cache::parse_bytes`]'s (one implementation for the workspace).
///
/// Errors name `param` and say what was wrong with `text`.
pub fn parse_bytes(param: &'static str, text: &str) -> Result<u64> {
    mds_cache::parse_bytes(text).map_err(|e| Error::param(param, e.to_string()))
}

/// Parses a sample count the way the reference's `number_abbrev_to_int` does: digits, or a
/// number with `k` (10³), `m` (10⁶), `b` (10⁹) or `t` (10¹²), fraction truncated.
pub fn parse_count(param: &'static str, text: &str) -> Result<u64> {
    let s = text.trim().to_ascii_lowercase();
    let err = || {
        Error::param(
            param,
            format!("unsupported value {text:?}; use digits or a k/m/b/t suffix"),
        )
    };
    if s.starts_with('-') {
        return Err(Error::param(
            param,
            format!("cannot be negative, received {text}"),
        ));
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<u64>().map_err(|_| err());
    }
    let (num, mult) = match s.chars().last() {
        Some('k') => (&s[..s.len() - 1], 1e3),
        Some('m') => (&s[..s.len() - 1], 1e6),
        Some('b') => (&s[..s.len() - 1], 1e9),
        Some('t') => (&s[..s.len() - 1], 1e12),
        _ => return Err(err()),
    };
    let v: f64 = num.trim().parse().map_err(|_| err())?;
    if !v.is_finite() || v < 0.0 {
        return Err(err());
    }
    float_to_u64((v * mult).trunc()).ok_or_else(err)
}

/// `f` as u64 when it is a finite, non-negative whole number that fits.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)] // range checked first
pub(crate) fn float_to_u64(f: f64) -> Option<u64> {
    (0.0..18_446_744_073_709_551_616.0)
        .contains(&f)
        .then_some(f as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_numbers() {
        assert_eq!(parse_bytes("cache_limit", "10gb").unwrap(), 10 << 30);
        assert_eq!(parse_bytes("cache_limit", "1.5kb").unwrap(), 1536);
        assert_eq!(parse_bytes("cache_limit", "123").unwrap(), 123);
        assert_eq!(parse_bytes("cache_limit", "123b").unwrap(), 123);
        assert!(parse_bytes("cache_limit", "1.5b").is_err());
        assert!(parse_bytes("cache_limit", "-5kb").is_err());
        assert_eq!(parse_count("epoch_size", "1.5b").unwrap(), 1_500_000_000);
        assert_eq!(parse_count("epoch_size", "100k").unwrap(), 100_000);
        assert!(parse_count("epoch_size", "-3").is_err());
        assert_eq!(
            "per_stream".parse::<BatchingMethod>().unwrap(),
            BatchingMethod::PerStream
        );
        assert!("nope".parse::<SamplingMethod>().is_err());
    }
}
