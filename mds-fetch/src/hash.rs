//! Hashes of downloaded files, as index.json records them (spec §7): the algorithms and digests
//! are `mds_format::hash`'s; this module only maps its errors to this crate's.

use std::str::FromStr;

use mds_format::hash::HashAlgorithm;
pub use mds_format::hash::Hasher;

use crate::error::{Error, Result};

/// An incremental hasher for `algorithm` (a name of [`HashAlgorithm::ALL`], as index.json
/// spells it), or [`Error::UnknownHash`].
pub fn hasher(algorithm: &str) -> Result<Hasher> {
    HashAlgorithm::from_str(algorithm)
        .map(HashAlgorithm::hasher)
        .map_err(|_| Error::UnknownHash {
            algorithm: algorithm.to_string(),
        })
}

/// The digest of `data` under `algorithm`, as lowercase hex.
///
/// # Errors
/// [`Error::UnknownHash`].
pub fn hex_digest(algorithm: &str, data: &[u8]) -> Result<String> {
    let mut h = hasher(algorithm)?;
    h.update(data);
    Ok(h.finish_hex())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_mds_format_and_unknown_ones_are_errors() {
        // Python: hashlib.sha1(b"abc").hexdigest(), xxhash.xxh64_hexdigest(b"abc")
        assert_eq!(
            hex_digest("sha1", b"abc").unwrap(),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(hex_digest("xxh64", b"abc").unwrap(), "44bc2cf5ad770999");
        for algo in HashAlgorithm::ALL {
            assert!(hex_digest(algo.name(), b"abc").is_ok(), "{algo}");
        }
        assert!(matches!(
            hex_digest("crc32", b""),
            Err(Error::UnknownHash { algorithm }) if algorithm == "crc32"
        ));
    }
}
