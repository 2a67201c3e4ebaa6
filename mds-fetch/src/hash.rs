//! Streaming hashes of downloaded files, as index.json records them (spec §7).
//!
//! Digests are lowercase hex of each algorithm's default output, as Python's `hashlib` and
//! `xxhash` print them: blake2b 64 bytes, blake2s 32 bytes, xxhash with seed 0 printed as the
//! canonical big-endian value. `xxh128` is the same function as `xxh3_128`.
//!
//! FIXME: move to `mds_format::hash` once that module lands (written in parallel); this copy
//! exists so that downloads can validate while streaming.

use sha2::Digest;

use crate::error::{Error, Result};

/// The algorithm names accepted (the reference's list, spec §7).
pub const ALGORITHMS: &[&str] = &[
    "blake2b", "blake2s", "md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_224",
    "sha3_256", "sha3_384", "sha3_512", "xxh32", "xxh64", "xxh3_64", "xxh128", "xxh3_128",
];

/// An incremental hasher for one of [`ALGORITHMS`].
#[derive(Clone)]
pub struct Hasher(Inner);

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Hasher").finish_non_exhaustive()
    }
}

#[derive(Clone)]
enum Inner {
    Blake2b(Box<blake2::Blake2b512>),
    Blake2s(Box<blake2::Blake2s256>),
    Md5(md5::Md5),
    Sha1(sha1::Sha1),
    Sha224(sha2::Sha224),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
    Sha3_224(Box<sha3::Sha3_224>),
    Sha3_256(Box<sha3::Sha3_256>),
    Sha3_384(Box<sha3::Sha3_384>),
    Sha3_512(Box<sha3::Sha3_512>),
    Xxh32(xxhash_rust::xxh32::Xxh32),
    Xxh64(xxhash_rust::xxh64::Xxh64),
    Xxh3_64(Box<xxhash_rust::xxh3::Xxh3>),
    Xxh3_128(Box<xxhash_rust::xxh3::Xxh3>),
}

impl Hasher {
    /// A hasher for `algorithm` (one of [`ALGORITHMS`]), or [`Error::UnknownHash`].
    pub fn new(algorithm: &str) -> Result<Self> {
        use xxhash_rust::{xxh3::Xxh3, xxh32::Xxh32, xxh64::Xxh64};
        let inner = match algorithm {
            "blake2b" => Inner::Blake2b(Box::default()),
            "blake2s" => Inner::Blake2s(Box::default()),
            "md5" => Inner::Md5(md5::Md5::new()),
            "sha1" => Inner::Sha1(sha1::Sha1::new()),
            "sha224" => Inner::Sha224(sha2::Sha224::new()),
            "sha256" => Inner::Sha256(sha2::Sha256::new()),
            "sha384" => Inner::Sha384(sha2::Sha384::new()),
            "sha512" => Inner::Sha512(sha2::Sha512::new()),
            "sha3_224" => Inner::Sha3_224(Box::default()),
            "sha3_256" => Inner::Sha3_256(Box::default()),
            "sha3_384" => Inner::Sha3_384(Box::default()),
            "sha3_512" => Inner::Sha3_512(Box::default()),
            "xxh32" => Inner::Xxh32(Xxh32::new(0)),
            "xxh64" => Inner::Xxh64(Xxh64::new(0)),
            "xxh3_64" => Inner::Xxh3_64(Box::new(Xxh3::new())),
            "xxh128" | "xxh3_128" => Inner::Xxh3_128(Box::new(Xxh3::new())),
            _ => {
                return Err(Error::UnknownHash {
                    algorithm: algorithm.to_string(),
                });
            }
        };
        Ok(Self(inner))
    }

    /// Feeds `data`.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.0 {
            Inner::Blake2b(h) => h.update(data),
            Inner::Blake2s(h) => h.update(data),
            Inner::Md5(h) => h.update(data),
            Inner::Sha1(h) => h.update(data),
            Inner::Sha224(h) => h.update(data),
            Inner::Sha256(h) => h.update(data),
            Inner::Sha384(h) => h.update(data),
            Inner::Sha512(h) => h.update(data),
            Inner::Sha3_224(h) => h.update(data),
            Inner::Sha3_256(h) => h.update(data),
            Inner::Sha3_384(h) => h.update(data),
            Inner::Sha3_512(h) => h.update(data),
            Inner::Xxh32(h) => h.update(data),
            Inner::Xxh64(h) => h.update(data),
            Inner::Xxh3_64(h) | Inner::Xxh3_128(h) => h.update(data),
        }
    }

    /// The digest as lowercase hex.
    pub fn finish_hex(self) -> String {
        match self.0 {
            Inner::Blake2b(h) => hex::encode(h.finalize()),
            Inner::Blake2s(h) => hex::encode(h.finalize()),
            Inner::Md5(h) => hex::encode(h.finalize()),
            Inner::Sha1(h) => hex::encode(h.finalize()),
            Inner::Sha224(h) => hex::encode(h.finalize()),
            Inner::Sha256(h) => hex::encode(h.finalize()),
            Inner::Sha384(h) => hex::encode(h.finalize()),
            Inner::Sha512(h) => hex::encode(h.finalize()),
            Inner::Sha3_224(h) => hex::encode(h.finalize()),
            Inner::Sha3_256(h) => hex::encode(h.finalize()),
            Inner::Sha3_384(h) => hex::encode(h.finalize()),
            Inner::Sha3_512(h) => hex::encode(h.finalize()),
            Inner::Xxh32(h) => format!("{:08x}", h.digest()),
            Inner::Xxh64(h) => format!("{:016x}", h.digest()),
            Inner::Xxh3_64(h) => format!("{:016x}", h.digest()),
            Inner::Xxh3_128(h) => format!("{:032x}", h.digest128()),
        }
    }
}

/// The digest of `data` under `algorithm`, as lowercase hex.
pub fn hex_digest(algorithm: &str, data: &[u8]) -> Result<String> {
    let mut h = Hasher::new(algorithm)?;
    h.update(data);
    Ok(h.finish_hex())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests_of_abc() {
        // values from Python: hashlib.<algo>(b"abc").hexdigest(), xxhash.<algo>_hexdigest(b"abc")
        let cases = [
            ("md5", "900150983cd24fb0d6963f7d28e17f72"),
            ("sha1", "a9993e364706816aba3e25717850c26c9cd0d89d"),
            (
                "sha256",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            ("xxh32", "32d153ff"),
            ("xxh64", "44bc2cf5ad770999"),
            ("xxh3_64", "78af5f94892f3950"),
            ("xxh128", "06b05ab6733a618578af5f94892f3950"),
            ("xxh3_128", "06b05ab6733a618578af5f94892f3950"),
        ];
        let prefixes = [
            ("blake2b", "ba80a53f981c4d0d"),
            ("blake2s", "508c5e8c327c14e2"),
            ("sha3_256", "3a985da74fe225b2"),
        ];
        for (algo, want) in prefixes {
            assert!(
                hex_digest(algo, b"abc").unwrap().starts_with(want),
                "{algo}"
            );
        }
        for (algo, want) in cases {
            assert_eq!(hex_digest(algo, b"abc").unwrap(), want, "{algo}");
        }
        for algo in ALGORITHMS {
            assert!(hex_digest(algo, b"abc").is_ok(), "{algo}");
        }
        assert!(matches!(
            hex_digest("crc32", b""),
            Err(Error::UnknownHash { .. })
        ));
    }
}
